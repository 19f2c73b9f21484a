"""Shim of the original system's `core.schemas` package."""
