"""Shim of the original system's `core` package (see sdk-python/compat/README.md)."""
