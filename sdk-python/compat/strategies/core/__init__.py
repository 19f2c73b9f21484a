"""Shim of the original system's `strategies.core` package."""
