"""Shim of the original system's `strategies` package (see sdk-python/compat/README.md)."""
