"""Numerical verification of the dimension theorems (see docs/theory.md)."""

__all__: list[str] = []
