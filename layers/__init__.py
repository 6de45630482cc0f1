"""PyTorch layers built from a solved :class:`eqsolve.Basis` (see docs/layers.md)."""

__all__: list[str] = []
