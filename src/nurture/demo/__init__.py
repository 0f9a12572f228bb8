"""``nurture demo``: the product end to end on embedded defaults and local stand-ins."""
