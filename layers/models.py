"""DSS networks for the four task types of Maron et al. (ICML 2020), built from :class:`DSSLinear`.

Every model is a :class:`SetNet`: input ``x`` of shape ``(batch, n, in_channels, d)`` (a set of
``n`` elements, each a ``(channels, d)`` signal on the ``d`` points that ``H`` permutes) and an
optional boolean ``mask`` ``(batch, n)`` marking the real elements of padded sets. Padding never
changes the outputs on the real elements.

============== ========================================= =====================================
factory        output                                    symmetry
============== ========================================= =====================================
invariant      ``(batch, n_classes)`` logits             invariant to ``S_n x H``
selection      ``(batch, n)`` scores (``-inf`` padded)    permutes with the set, ``H``-invariant
merging        ``(batch, out_channels, d)``              ``H``-equivariant, ``S_n``-invariant
equivariant    ``(batch, n, out_channels, d)``           ``S_n x H``-equivariant
============== ========================================= =====================================

A model is a stack of :class:`DSSBlock` (``DSSLinear`` + optional equivariant normalisation +
ReLU), one per entry of ``channels[1:]``, followed by a task readout:

* invariant: mean over each orbit of points (:class:`InvariantPool`), mean over the set,
  then an MLP head ``c * n_orbits -> hidden -> n_classes``;
* selection: orbit pooling per element, then a per-element MLP ``-> 1``;
* merging: mean over the set, then two ``H``-equivariant linear layers ``-> out_channels``;
* equivariant: one more ``DSSLinear`` ``-> out_channels`` (no activation).

The baselines in :mod:`layers.baselines` reuse the same stages. All modules are device- and
dtype-agnostic (``model.to("cuda", torch.float64)``), scriptable and exportable
(:func:`layers.export`).

Examples
--------
>>> import torch, eqsolve; from eqsolve import layers
>>> B = eqsolve.solve(eqsolve.groups.cyclic(8))
>>> net = layers.models.invariant(B, channels=[1, 16, 16], n_classes=3)
>>> net(torch.randn(4, 5, 1, 8)).shape
torch.Size([4, 3])
>>> layers.models.selection(B, channels=[1, 8])(torch.randn(4, 5, 1, 8)).shape
torch.Size([4, 5])
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

import eqsolve
from eqsolve import EqsolveError

from ._checks import check_basis, check_channels, check_choice
from .dss import AGGREGATIONS, DSSLinear
from .linear import EquivariantLinear
from .norm import EquivariantBatchNorm, SetNorm
from .pool import InvariantPool

TASKS = ("invariant", "selection", "merging", "equivariant")
NORMS = (None, "set", "batch")
REDUCTIONS = ("sum", "mean", "max")

__all__ = [
    "TASKS",
    "SetNet",
    "invariant",
    "selection",
    "merging",
    "equivariant",
    "build",
    "count_parameters",
]


# -- helpers -----------------------------------------------------------------------------------
def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameter entries of ``module``.

    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only))


def set_reduce(x: torch.Tensor, mask: Optional[torch.Tensor], reduce: str) -> torch.Tensor:
    """Reduce axis 1 (the set) of ``x`` ``(batch, n, ...)`` over the real elements.

    An empty set (mask all False) gives 0 for every reduction.
    """
    if mask is None:
        if reduce == "sum":
            return x.sum(1)
        if reduce == "mean":
            return x.mean(1)
        return x.amax(1)
    keep = mask.reshape(list(mask.shape) + [1] * (x.dim() - 2))
    if reduce == "max":
        pooled = x.masked_fill(~keep, float("-inf")).amax(1)
        return torch.where(keep.any(1), pooled, torch.zeros_like(pooled))
    total = x.masked_fill(~keep, 0.0).sum(1)
    if reduce == "sum":
        return total
    count = keep.sum(1).to(x.dtype).clamp(min=1.0)
    return total / count


def zero_padded(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Set the padded elements (axis 1) of ``x`` ``(batch, n, ...)`` to 0."""
    if mask is None:
        return x
    return x.masked_fill(~mask.reshape(list(mask.shape) + [1] * (x.dim() - 2)), 0.0)


def check_channel_list(channels, name: str = "channels") -> List[int]:
    """``channels = [in_channels, hidden_1, ...]``: at least two integers >= 1."""
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence) or len(channels) < 2:
        raise EqsolveError(
            f"{name} must list the input channels and at least one layer width, e.g. [1, 64, 64]; got {channels!r}"
        )
    return [check_channels(c, f"{name}[{i}]") for i, c in enumerate(channels)]


def check_square(basis) -> "eqsolve.Basis":
    """Models stack layers, so the basis must map one action to itself (``d_out == d_in``)."""
    basis = check_basis(basis)
    d_out, d_in = basis.shape
    if d_out != d_in:
        raise EqsolveError(
            f"models stack layers and need a basis of maps R^d -> R^d (eqsolve.solve(H)); "
            f"got shape (d_out, d_in) = ({d_out}, {d_in})"
        )
    if basis.in_orbit_index is not None and not np.array_equal(
        _canonical(basis.in_orbit_index), _canonical(basis.bias_index)
    ):
        raise EqsolveError("models need a basis whose input and output actions agree (eqsolve.solve(H))")
    return basis


def _canonical(labels) -> np.ndarray:
    labels = np.asarray(labels)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.reshape(-1)]


def _norm_layer(norm: Optional[str], basis, channels: int) -> Optional[nn.Module]:
    check_choice(norm, NORMS, "norm")
    if norm == "set":
        return SetNorm(basis, channels)
    if norm == "batch":
        return EquivariantBatchNorm(basis, channels)
    return None


# -- stages: every stage is forward(x, mask) -------------------------------------------------
class DSSBlock(nn.Module):
    """``DSSLinear`` + optional normalisation (``"set"``: SetNorm, ``"batch"``: EquivariantBatchNorm)
    + optional ReLU. ``(batch, n, c_in, d) -> (batch, n, c_out, d)``; padded elements stay 0."""

    def __init__(self, basis, in_channels: int, out_channels: int, aggregation: str = "sum",
                 norm: Optional[str] = None, activation: bool = True):
        super().__init__()
        self.linear = DSSLinear(basis, in_channels, out_channels, aggregation=aggregation)
        self.norm = _norm_layer(norm, basis, out_channels)
        self.activation = bool(activation)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        y = self.linear(x, mask)
        norm = self.norm
        if norm is not None:
            y = norm(y, mask)
        if self.activation:
            y = torch.relu(y)
        return y


class SiameseBlock(nn.Module):
    """The same ``H``-equivariant linear map on every element (no interaction between elements)
    + optional ReLU. ``(batch, n, c_in, d) -> (batch, n, c_out, d)``."""

    def __init__(self, basis, in_channels: int, out_channels: int, activation: bool = True):
        super().__init__()
        self.linear = EquivariantLinear(basis, in_channels, out_channels)
        self.activation = bool(activation)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        y = self.linear(x)
        if self.activation:
            y = torch.relu(y)
        return zero_padded(y, mask)


class OrbitPool(nn.Module):
    """Pool each orbit of points and flatten: ``(batch, n, c, d) -> (batch, n, c * n_orbits)``."""

    def __init__(self, basis, channels: int, reduce: str = "mean"):
        super().__init__()
        self.pool = InvariantPool(basis, reduce=reduce)
        self.features = int(channels) * self.pool.n_orbits

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.pool(x).flatten(-2)


class SetReduce(nn.Module):
    """Sum / mean / max over the real elements: ``(batch, n, ...) -> (batch, ...)``."""

    def __init__(self, reduce: str = "mean"):
        super().__init__()
        self.reduce = check_choice(reduce, REDUCTIONS, "set reduction")

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return set_reduce(x, mask, self.reduce)

    def extra_repr(self) -> str:
        return f"reduce={self.reduce!r}"


class MLP(nn.Module):
    """``Linear -> ReLU -> ... -> Linear`` on the last axis, output reshaped to ``out_shape``.

    With ``per_element`` the input is ``(batch, n, features)`` and padded elements of the output
    are 0 (or ``-inf`` with ``scores``); otherwise the mask is ignored (the set is already
    reduced)."""

    out_shape: List[int]

    def __init__(self, sizes: Sequence[int], out_shape: Sequence[int] = (), per_element: bool = False,
                 scores: bool = False):
        super().__init__()
        sizes = [int(s) for s in sizes]
        layers: List[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)
        self.out_shape: List[int] = [int(s) for s in out_shape]
        self.per_element = bool(per_element)
        self.scores = bool(scores)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        y = self.net(x)
        if len(self.out_shape) > 0:
            y = y.reshape(list(y.shape[:-1]) + self.out_shape)
        elif self.scores:
            y = y.squeeze(-1)
        if self.per_element and mask is not None:
            if self.scores:
                y = y.masked_fill(~mask, float("-inf"))
            else:
                y = zero_padded(y, mask)
        return y


class EquivariantHead(nn.Module):
    """``H``-equivariant readout of a reduced set: ``(batch, c, d) -> (batch, c_out, d)``,
    two :class:`EquivariantLinear` layers with a ReLU between them."""

    def __init__(self, basis, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.first = EquivariantLinear(basis, in_channels, hidden)
        self.second = EquivariantLinear(basis, hidden, out_channels)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.second(torch.relu(self.first(x)))


class DeepSetsBlock(nn.Module):
    """A DeepSets layer (Zaheer et al. 2017) on vectors: ``x_i W1 + reduce_j(x_j) W2 + b`` (+ ReLU).

    ``(batch, n, f_in) -> (batch, n, f_out)``; padded elements stay 0."""

    def __init__(self, in_features: int, out_features: int, reduce: str = "sum", activation: bool = True):
        super().__init__()
        self.single = nn.Linear(in_features, out_features)
        self.shared = nn.Linear(in_features, out_features, bias=False)
        self.reduce = check_choice(reduce, REDUCTIONS, "reduce")
        self.activation = bool(activation)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        pooled = set_reduce(x, mask, self.reduce)
        y = self.single(x) + self.shared(pooled).unsqueeze(1)
        if self.activation:
            y = torch.relu(y)
        return zero_padded(y, mask)


class FlattenElements(nn.Module):
    """``(batch, n, c, d) -> (batch, n, c * d)``: forget the points' structure (DeepSets baseline)."""

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return zero_padded(x.flatten(-2), mask)


class FlattenSet(nn.Module):
    """``(batch, n, c, d) -> (batch, n * c * d)`` with padded elements zeroed (MLP baseline)."""

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return zero_padded(x, mask).flatten(1)


class ScoreMask(nn.Module):
    """``-inf`` at padded positions of per-element scores ``(batch, n)``."""

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if mask is None:
            return x
        return x.masked_fill(~mask, float("-inf"))


# -- the model ----------------------------------------------------------------------------------
class SetNet(nn.Module):
    """A network on sets ``(batch, n, in_channels, d)`` with an optional ``(batch, n)`` bool mask.

    A sequence of stages, each ``stage(x, mask)``. Built by :func:`invariant`, :func:`selection`,
    :func:`merging`, :func:`equivariant` and the factories of :mod:`layers.baselines`.

    Attributes
    ----------
    task:
        One of :data:`TASKS`.
    name:
        ``"dss"``, ``"mlp"``, ``"deepsets"``, ``"siamese"`` or ``"siamese+ds"``.
    in_channels, d:
        Trailing dimensions of the input.
    n:
        The set size the model is fixed to (MLP baseline), else None (any set size).
    out_channels, n_classes:
        Output size of the task (``None`` where it does not apply).
    """

    def __init__(self, stages: Sequence[nn.Module], task: str, name: str, in_channels: int, d: int,
                 n: Optional[int] = None, n_classes: Optional[int] = None, out_channels: Optional[int] = None,
                 config: Optional[Dict[str, object]] = None):
        super().__init__()
        self.task = check_choice(task, TASKS, "task")
        self.name = name
        self.stages = nn.ModuleList(stages)
        self.in_channels = int(in_channels)
        self.d = int(d)
        self.fixed_n = -1 if n is None else int(n)
        self.n_classes = n_classes
        self.out_channels = out_channels
        self.config: Dict[str, object] = dict(config or {})

    @property
    def n(self) -> Optional[int]:
        return None if self.fixed_n < 0 else self.fixed_n

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[2] != self.in_channels or x.shape[3] != self.d:
            raise EqsolveError(
                f"{self.name} {self.task} model expects input of shape (batch, n, in_channels={self.in_channels}, "
                f"d={self.d}), got {list(x.shape)}"
            )
        if self.fixed_n >= 0 and x.shape[1] != self.fixed_n:
            raise EqsolveError(
                f"{self.name} {self.task} model is built for sets of n={self.fixed_n} elements, got input "
                f"of shape {list(x.shape)}"
            )
        if mask is not None:
            if mask.dim() != 2 or mask.shape[0] != x.shape[0] or mask.shape[1] != x.shape[1]:
                raise EqsolveError(
                    f"mask must have shape (batch, n) = {list(x.shape[:2])}, got {list(mask.shape)}"
                )
            if mask.dtype != torch.bool:
                raise EqsolveError(f"mask must be a bool tensor, got {mask.dtype}")
        for stage in self.stages:
            x = stage(x, mask)
        return x

    def output_shape(self, batch: int, n: int) -> Tuple[int, ...]:
        """Shape of the output for an input ``(batch, n, in_channels, d)``."""
        if self.task == "invariant":
            return (batch, int(self.n_classes))
        if self.task == "selection":
            return (batch, n)
        if self.task == "merging":
            return (batch, int(self.out_channels), self.d)
        return (batch, n, int(self.out_channels), self.d)

    def describe(self) -> Dict[str, object]:
        """A JSON-friendly summary: name, task, parameters, input / output layout."""
        n = "n" if self.fixed_n < 0 else str(self.fixed_n)
        outputs = {
            "invariant": f"(batch, {self.n_classes})",
            "selection": f"(batch, {n})",
            "merging": f"(batch, {self.out_channels}, {self.d})",
            "equivariant": f"(batch, {n}, {self.out_channels}, {self.d})",
        }
        return {
            "model": self.name,
            "task": self.task,
            "parameters": count_parameters(self),
            "input": f"(batch, {n}, {self.in_channels}, {self.d})",
            "output": outputs[self.task],
            **self.config,
        }

    def extra_repr(self) -> str:
        return f"name={self.name!r}, task={self.task!r}, in_channels={self.in_channels}, d={self.d}"


# -- readouts shared with the baselines --------------------------------------------------------
def equivariant_readout(basis, channels: int, task: str, n_classes: int, out_channels: int,
                        hidden: int, pool: str, aggregation: str = "sum") -> List[nn.Module]:
    """Stages after a trunk producing ``(batch, n, channels, d)`` ``H``-equivariant features."""
    if task == "invariant":
        orbit = OrbitPool(basis, channels, pool)
        return [orbit, SetReduce(pool), MLP([orbit.features, hidden, n_classes])]
    if task == "selection":
        orbit = OrbitPool(basis, channels, pool)
        return [orbit, MLP([orbit.features, hidden, 1], per_element=True, scores=True)]
    if task == "merging":
        return [SetReduce(pool), EquivariantHead(basis, channels, hidden, out_channels)]
    if aggregation == "aittala" and out_channels % 2:
        aggregation = "sum"  # "aittala" concatenates two halves: needs an even width
    return [DSSBlock(basis, channels, out_channels, aggregation=aggregation, activation=False)]


def _task_sizes(task: str, n_classes, out_channels) -> Tuple[int, int]:
    check_choice(task, TASKS, "task")
    n_classes = check_channels(n_classes, "n_classes") if task == "invariant" else 1
    out_channels = check_channels(out_channels, "out_channels") if task in ("merging", "equivariant") else 1
    return n_classes, out_channels


def build(basis, task: str, channels: Sequence[int] = (1, 64, 64), n_classes: int = 3, out_channels: int = 1,
          aggregation: str = "sum", norm: Optional[str] = None, pool: str = "mean",
          hidden: Optional[int] = None) -> SetNet:
    """A DSS model for ``task`` (one of :data:`TASKS`); see :func:`invariant` for the parameters."""
    basis = check_square(basis)
    channels = check_channel_list(channels)
    check_choice(aggregation, AGGREGATIONS, "aggregation")
    check_choice(pool, REDUCTIONS, "pool")
    check_choice(norm, NORMS, "norm")
    n_classes, out_channels = _task_sizes(task, n_classes, out_channels)
    hidden = channels[-1] if hidden is None else check_channels(hidden, "hidden")
    depth = len(channels) - 1
    stages: List[nn.Module] = [
        DSSBlock(basis, channels[i], channels[i + 1], aggregation=aggregation, norm=norm if i < depth - 1 else None)
        for i in range(depth)
    ]
    stages += equivariant_readout(basis, channels[-1], task, n_classes, out_channels, hidden, pool, aggregation)
    config = {"channels": list(channels), "aggregation": aggregation, "norm": norm, "pool": pool, "hidden": hidden}
    return SetNet(stages, task, "dss", channels[0], basis.shape[0],
                  n_classes=n_classes if task == "invariant" else None,
                  out_channels=out_channels if task in ("merging", "equivariant") else None, config=config)


def invariant(basis, channels: Sequence[int] = (1, 64, 64), n_classes: int = 3, aggregation: str = "sum",
              norm: Optional[str] = None, pool: str = "mean", hidden: Optional[int] = None) -> SetNet:
    """Sets ``(batch, n, c, d) -> (batch, n_classes)`` logits, invariant to ``S_n x H``.

    Parameters
    ----------
    basis:
        ``eqsolve.solve(H)`` for the element symmetry ``H`` on ``d`` points.
    channels:
        ``[in_channels, width_1, ..., width_k]``: one :class:`DSSBlock` per width.
    n_classes:
        Number of logits.
    aggregation:
        Of every ``DSSLinear``: ``"sum"``, ``"mean"``, ``"max"``, ``"aittala"``, ``"sridhar"``.
    norm:
        None, ``"set"`` (:class:`layers.SetNorm`) or ``"batch"`` (:class:`layers.EquivariantBatchNorm`)
        after each ``DSSLinear`` but the last: normalising right before the orbit / set mean
        would make the pooled features (nearly) constant.
    pool:
        Reduction over each orbit of points and over the set (``"mean"``, ``"sum"``, ``"max"``).
    hidden:
        Width of the MLP head (default ``channels[-1]``).

    Examples
    --------
    >>> import torch, eqsolve; from eqsolve import layers
    >>> net = layers.models.invariant(eqsolve.solve(eqsolve.groups.dihedral(6)), [2, 8], n_classes=4)
    >>> net(torch.randn(3, 7, 2, 6)).shape
    torch.Size([3, 4])
    """
    return build(basis, "invariant", channels, n_classes=n_classes, aggregation=aggregation, norm=norm,
                 pool=pool, hidden=hidden)


def selection(basis, channels: Sequence[int] = (1, 64, 64), aggregation: str = "sum", norm: Optional[str] = None,
              pool: str = "mean", hidden: Optional[int] = None) -> SetNet:
    """Sets ``(batch, n, c, d) -> (batch, n)`` scores, one per element: they permute with the set
    and are invariant to ``H``. Padded elements score ``-inf`` (ready for a softmax over the set).

    >>> import torch, eqsolve; from eqsolve import layers
    >>> net = layers.models.selection(eqsolve.solve(eqsolve.groups.cyclic(5)), [1, 8])
    >>> net(torch.randn(2, 6, 1, 5)).shape
    torch.Size([2, 6])
    """
    return build(basis, "selection", channels, aggregation=aggregation, norm=norm, pool=pool, hidden=hidden)


def merging(basis, channels: Sequence[int] = (1, 64, 64), out_channels: int = 1, aggregation: str = "sum",
            norm: Optional[str] = None, pool: str = "mean", hidden: Optional[int] = None) -> SetNet:
    """Sets ``(batch, n, c, d) -> (batch, out_channels, d)``: ``H``-equivariant, ``S_n``-invariant
    (e.g. merging a burst of images into one).

    >>> import torch, eqsolve; from eqsolve import layers
    >>> net = layers.models.merging(eqsolve.solve(eqsolve.groups.grid_translations((3, 3))), [1, 4], 2)
    >>> net(torch.randn(2, 5, 1, 9)).shape
    torch.Size([2, 2, 9])
    """
    return build(basis, "merging", channels, out_channels=out_channels, aggregation=aggregation, norm=norm,
                 pool=pool, hidden=hidden)


def equivariant(basis, channels: Sequence[int] = (1, 64, 64), out_channels: int = 1, aggregation: str = "sum",
                norm: Optional[str] = None, pool: str = "mean", hidden: Optional[int] = None) -> SetNet:
    """Sets ``(batch, n, c, d) -> (batch, n, out_channels, d)``, equivariant to ``S_n x H``.

    The last stage is a ``DSSLinear`` to ``out_channels`` without activation (with
    ``aggregation="aittala"``, which splits the output channels in two halves, an odd
    ``out_channels`` makes that last layer use ``"sum"``).

    >>> import torch, eqsolve; from eqsolve import layers
    >>> net = layers.models.equivariant(eqsolve.solve(eqsolve.groups.symmetric(4)), [1, 8], 3)
    >>> net(torch.randn(2, 5, 1, 4)).shape
    torch.Size([2, 5, 3, 4])
    """
    return build(basis, "equivariant", channels, out_channels=out_channels, aggregation=aggregation, norm=norm,
                 pool=pool, hidden=hidden)
