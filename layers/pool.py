"""``InvariantPool``: reduce each orbit of points to one number per channel."""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch
from torch import nn

from eqsolve import EqsolveError

from ._checks import check_choice, check_tensor, factory_kwargs, point_labels, renamed
from ._state import Fingerprinted, describe_labels, fingerprint_labels

#: how a pool combines the points of an orbit (the ``aggregation=`` choices)
AGGREGATIONS = ("sum", "mean", "max")
REDUCTIONS = AGGREGATIONS  # the earlier name, kept for one release


def orbit_labels(source, what: str = "InvariantPool") -> np.ndarray:
    """Orbit label of each point from a Basis (its input points), an Action, a group or labels."""
    return point_labels(source, what)


class InvariantPool(Fingerprinted, nn.Module):
    """Pool each orbit of the points: ``(..., c, d) -> (..., c, n_orbits)``.

    Invariant to the group (it only permutes points inside orbits). Orbits are numbered by
    their smallest point.

    Parameters
    ----------
    basis_or_action_orbits:
        A :class:`eqsolve.Basis` (pools its *input* points, ``in_orbit_index``), an
        :class:`eqsolve.Action`, a :class:`eqsolve.PermutationGroup` (natural action) or a 1-D
        array of orbit labels.
    aggregation:
        ``"sum"`` (default), ``"mean"`` or ``"max"`` over the points of each orbit. (``reduce=``
        is its deprecated name, accepted with a ``DeprecationWarning`` for one release.)
    device, dtype:
        Factory arguments as in torch's layers (the pool has no parameters; ``device`` places
        its label buffers, ``dtype`` is checked and accepted for uniformity).

    Examples
    --------
    >>> import torch, eqsolve; from eqsolve import layers
    >>> H = eqsolve.PermutationGroup.parse("(0 1 2); (3 4)", degree=5)
    >>> pool = layers.InvariantPool(eqsolve.solve(H), aggregation="mean")
    >>> pool(torch.tensor([[1., 2., 3., 10., 20.]]))
    tensor([[ 2., 15.]])
    """

    __jit_unused_properties__ = ["reduce"]

    def __init__(self, basis_or_action_orbits, aggregation: Optional[str] = None, *, reduce: Optional[str] = None,
                 device=None, dtype=None):
        super().__init__()
        factory = factory_kwargs(device, dtype)
        aggregation = renamed(aggregation, reduce, "aggregation", "reduce", "sum", "InvariantPool")
        self.aggregation = check_choice(aggregation, AGGREGATIONS, "aggregation")
        labels = orbit_labels(basis_or_action_orbits)
        self.d = int(labels.size)
        self.n_orbits = int(labels.max()) + 1 if labels.size else 0
        counts = np.bincount(labels, minlength=self.n_orbits)
        self.register_buffer("labels", torch.tensor(labels, dtype=torch.int64, device=factory["device"]),
                             persistent=False)
        self.register_buffer("counts", torch.as_tensor(counts, dtype=torch.float64, device=factory["device"]),
                             persistent=False)
        self._set_fingerprint(describe_labels(labels), fingerprint_labels(labels))

    @property
    def reduce(self) -> str:
        """Deprecated name of :attr:`aggregation`."""
        return self.aggregation

    def _legacy_fingerprint(self, state_dict, prefix):
        labels = state_dict.pop(prefix + "labels", None)  # a persistent buffer before
        return None if labels is None else fingerprint_labels(labels.cpu().numpy())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("InvariantPool", x)
        if x.dim() < 1 or x.shape[-1] != self.d:
            raise EqsolveError(
                f"InvariantPool expects input of shape (..., d={self.d}), got {list(x.shape)}"
            )
        if self.n_orbits == 1:
            if self.aggregation == "sum":
                return x.sum(-1, keepdim=True)
            if self.aggregation == "mean":
                return x.mean(-1, keepdim=True)
            return x.amax(-1, keepdim=True)
        shape: List[int] = list(x.shape[:-1]) + [self.n_orbits]
        if self.aggregation == "max":
            index = self.labels.expand(x.shape)
            return x.new_zeros(shape).scatter_reduce(-1, index, x, "amax", include_self=False)
        total = x.new_zeros(shape).index_add(-1, self.labels, x)
        if self.aggregation == "mean":
            total = total / self.counts.to(x.dtype)
        return total

    def extra_repr(self) -> str:
        return f"d={self.d}, n_orbits={self.n_orbits}, aggregation={self.aggregation!r}"
