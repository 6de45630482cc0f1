"""``InvariantPool``: reduce each orbit of points to one number per channel."""

from __future__ import annotations

from typing import List

import numpy as np
import torch
from torch import nn

import eqsolve
from eqsolve import EqsolveError

from ._checks import check_choice, point_labels

REDUCTIONS = ("sum", "mean", "max")


def orbit_labels(source, what: str = "InvariantPool") -> np.ndarray:
    """Orbit label of each point from a Basis (its input points), an Action, a group or labels."""
    if isinstance(source, eqsolve.Basis):
        if source.in_orbit_index is not None:
            return np.asarray(source.in_orbit_index, dtype=np.int64)
        if getattr(source, "inp", None) is not None:
            return point_labels(source.inp, what)
        raise EqsolveError(f"{what}: this basis carries no input orbits (in_orbit_index is None)")
    return point_labels(source, what)


class InvariantPool(nn.Module):
    """Pool each orbit of the points: ``(..., c, d) -> (..., c, n_orbits)``.

    Invariant to the group (it only permutes points inside orbits). Orbits are numbered by
    their smallest point.

    Parameters
    ----------
    basis_or_action_orbits:
        A :class:`eqsolve.Basis` (pools its *input* points, ``in_orbit_index``), an
        :class:`eqsolve.Action`, a :class:`eqsolve.PermutationGroup` (natural action) or a 1-D
        array of orbit labels.
    reduce:
        ``"sum"``, ``"mean"`` or ``"max"``.

    Examples
    --------
    >>> import torch, eqsolve; from eqsolve import layers
    >>> H = eqsolve.PermutationGroup.parse("(0 1 2); (3 4)", degree=5)
    >>> pool = layers.InvariantPool(eqsolve.solve(H), reduce="mean")
    >>> pool(torch.tensor([[1., 2., 3., 10., 20.]]))
    tensor([[ 2., 15.]])
    """

    def __init__(self, basis_or_action_orbits, reduce: str = "sum"):
        super().__init__()
        self.reduce = check_choice(reduce, REDUCTIONS, "reduce")
        labels = orbit_labels(basis_or_action_orbits)
        self.d = int(labels.size)
        self.n_orbits = int(labels.max()) + 1 if labels.size else 0
        counts = np.bincount(labels, minlength=self.n_orbits)
        self.register_buffer("labels", torch.from_numpy(np.array(labels, dtype=np.int64)))
        self.register_buffer("counts", torch.as_tensor(counts, dtype=torch.float64), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 1 or x.shape[-1] != self.d:
            raise EqsolveError(
                f"InvariantPool expects input of shape (..., d={self.d}), got {list(x.shape)}"
            )
        if self.n_orbits == 1:
            if self.reduce == "sum":
                return x.sum(-1, keepdim=True)
            if self.reduce == "mean":
                return x.mean(-1, keepdim=True)
            return x.amax(-1, keepdim=True)
        shape: List[int] = list(x.shape[:-1]) + [self.n_orbits]
        if self.reduce == "max":
            index = self.labels.expand(x.shape)
            return x.new_zeros(shape).scatter_reduce(-1, index, x, "amax", include_self=False)
        total = x.new_zeros(shape).index_add(-1, self.labels, x)
        if self.reduce == "mean":
            total = total / self.counts.to(x.dtype)
        return total

    def extra_repr(self) -> str:
        return f"d={self.d}, n_orbits={self.n_orbits}, reduce={self.reduce!r}"
