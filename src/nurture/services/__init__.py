"""Use cases: each takes its unit of work and adapters as keyword arguments."""
