"""Test support: a throwaway PostgreSQL, stand-in servers, fakes."""
