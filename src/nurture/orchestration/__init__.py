"""Prefect flows and the run phases they call (thin: no business decision here)."""
