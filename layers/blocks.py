"""Building blocks of the set networks in :mod:`layers.models` and :mod:`layers.baselines`.

Every block is an ``nn.Module`` with ``forward(x, mask=None)``: ``x`` is a batch of sets
``(batch, n, channels, d)`` (or what the previous block made of it) and ``mask`` an optional
``(batch, n)`` bool tensor marking the real elements of padded sets. A :class:`SetNet` is a
list of blocks; the factories are a few lines each, and so is a network of your own:

================= ======================================================= =============================
block             maps                                                    notes
================= ======================================================= =============================
:class:`DSSBlock` ``(b, n, c_in, d_in) -> (b, n, c_out, d_out)``          ``DSSLinear`` + norm + ReLU;
                                                                          any basis, square or not
:class:`SiameseBlock` same, no interaction between elements               ``EquivariantLinear`` per element
:class:`OrbitPool` ``(b, n, c, d) -> (b, n, c * n_orbits)``                sum / mean / max per orbit
:class:`SetReduce` ``(b, n, ...) -> (b, ...)``                            sum / mean / max over the set
:class:`MLP`      ``(..., f) -> (..., f_out)``                             ``[Linear, (norm), ReLU] * k, Linear``
:class:`DeepSetsBlock` ``(b, n, f) -> (b, n, f')``                         ``x_i W1 + reduce_j x_j W2``
================= ======================================================= =============================

Normalisation (``norm=``): ``None``, ``"set"`` (:class:`layers.SetNorm`: per set, identical in
training and evaluation, independent of the batch) or ``"batch"``
(:class:`layers.EquivariantBatchNorm`). A block's norm is built from the orbits of its
*output* points (``basis.bias_index``), so a norm after a strided layer (a basis of shape
``(50, 100)``) normalises the 50 output points.

>>> import torch, eqsolve; from eqsolve import layers
>>> from eqsolve.layers.blocks import DSSBlock, OrbitPool, SetReduce, MLP, SetNet
>>> B = eqsolve.solve(eqsolve.groups.cyclic(8))
>>> net = SetNet([DSSBlock(B, 1, 4, norm="set"), OrbitPool(B, 4, "sum"), SetReduce("sum"), MLP([4, 3])],
...              task="invariant", name="mine", in_channels=1, d=8, n_classes=3)
>>> net(torch.randn(2, 5, 1, 8)).shape
torch.Size([2, 3])
"""


from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

import eqsolve
from eqsolve import EqsolveError

from ._checks import check_channels, check_choice, check_like, check_tensor, renamed
from .dss import DSSLinear
from .linear import EquivariantLinear
from .norm import EquivariantBatchNorm, SetNorm
from .pool import InvariantPool

TASKS = ("invariant", "selection", "merging", "equivariant")
NORMS = (None, "set", "batch")
REDUCTIONS = ("sum", "mean", "max")

__all__ = [
    "TASKS",
    "NORMS",
    "REDUCTIONS",
    "count_parameters",
    "output_orbits",
    "DSSBlock",
    "SiameseBlock",
    "OrbitPool",
    "SetReduce",
    "MLP",
    "EquivariantHead",
    "DeepSetsBlock",
    "FlattenElements",
    "FlattenSet",
    "ScoreMask",
    "SetNet",
]


# -- helpers -----------------------------------------------------------------------------------
def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameter entries of ``module``.

    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only))


def output_orbits(basis) -> np.ndarray:
    """Orbit label of each *output* point of ``basis`` (its ``bias_index``), or labels as given.

    Blocks after a layer normalise and pool the points that layer produced: for a strided
    basis ``(d_out, d_in) = (50, 100)`` these are the 50 output points.
    """
    if isinstance(basis, eqsolve.Basis):
        return np.asarray(basis.bias_index, dtype=np.int64)
    return np.asarray(basis)


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


def norm_layer(norm: Optional[str], basis, channels: int) -> Optional[nn.Module]:
    """The equivariant norm ``norm`` on the output points of ``basis`` (see the module docstring)."""
    check_choice(norm, NORMS, "norm")
    if norm is None:
        return None
    labels = output_orbits(basis)
    return SetNorm(labels, channels) if norm == "set" else EquivariantBatchNorm(labels, channels)


class FeatureNorm(nn.Module):
    """Norm of plain feature vectors ``(..., f)``: ``"batch"`` (``BatchNorm1d`` over every leading
    axis, the baselines' norm in the paper) or ``"set"`` (per set over its elements: input
    ``(batch, n, f)``). Padded elements are excluded from ``"set"`` statistics only."""

    def __init__(self, features: int, norm: str):
        super().__init__()
        self.kind = check_choice(norm, ("set", "batch"), "norm")
        self.features = int(features)
        if norm == "batch":
            self.batch: Optional[nn.BatchNorm1d] = nn.BatchNorm1d(self.features)
            self.set: Optional[SetNorm] = None
        else:
            self.batch = None
            self.set = SetNorm(np.zeros(1, dtype=np.int64), self.features)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        batch = self.batch
        if batch is not None:
            return batch(x.reshape(-1, self.features)).reshape(x.shape)
        norm = self.set
        assert norm is not None
        if x.dim() != 3:
            raise EqsolveError(f"a 'set' norm of feature vectors needs sets (batch, n, f), got {list(x.shape)}")
        return norm(x.unsqueeze(-1), mask).squeeze(-1)


# -- stages: every stage is forward(x, mask) -------------------------------------------------
class _NormThenReLU(nn.Module):
    """The tail DSS, Siamese and DeepSets blocks share: optional ``self.norm`` (with the mask),
    then ReLU if ``self.activation``."""

    def _finish(self, y: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        norm = self.norm
        if norm is not None:
            y = norm(y, mask)
        if self.activation:
            y = torch.relu(y)
        return y


class DSSBlock(_NormThenReLU):
    """``DSSLinear`` + optional normalisation + optional ReLU.

    ``(batch, n, c_in, d_in) -> (batch, n, c_out, d_out)`` for a basis of shape
    ``(d_out, d_in)`` (square or not, e.g. a strided convolution); padded elements stay 0.
    ``norm``: ``None``, ``"set"`` or ``"batch"``, on the output points (see the module docstring).

    >>> import torch, eqsolve
    >>> B = eqsolve.solve(eqsolve.groups.cyclic(6))
    >>> DSSBlock(B, 2, 3, norm="batch")(torch.randn(4, 5, 2, 6)).shape
    torch.Size([4, 5, 3, 6])
    """

    def __init__(self, basis, in_channels: int, out_channels: int, aggregation: str = "sum",
                 norm: Optional[str] = None, activation: bool = True, support=None):
        super().__init__()
        self.linear = DSSLinear(basis, in_channels, out_channels, aggregation=aggregation, support=support)
        self.norm = norm_layer(norm, basis, out_channels)
        self.activation = bool(activation)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self._finish(self.linear(x, mask), mask)


class SiameseBlock(_NormThenReLU):
    """The same ``H``-equivariant linear map on every element (no interaction between elements)
    + optional norm + optional ReLU. ``(batch, n, c_in, d_in) -> (batch, n, c_out, d_out)``."""

    def __init__(self, basis, in_channels: int, out_channels: int, activation: bool = True,
                 norm: Optional[str] = None, support=None):
        super().__init__()
        self.linear = EquivariantLinear(basis, in_channels, out_channels, support=support)
        self.norm = norm_layer(norm, basis, out_channels)
        self.activation = bool(activation)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return zero_padded(self._finish(zero_padded(self.linear(x), mask), mask), mask)


class OrbitPool(nn.Module):
    """Pool each orbit of points and flatten: ``(batch, n, c, d) -> (batch, n, c * n_orbits)``.

    ``basis``: the basis of the layer that produced the features (its output orbits are
    pooled) or 1-D orbit labels. ``aggregation``: ``"sum"``, ``"mean"`` or ``"max"``
    (``reduce=`` is its deprecated name).
    """

    def __init__(self, basis, channels: int, aggregation: Optional[str] = None, *, reduce: Optional[str] = None):
        super().__init__()
        aggregation = renamed(aggregation, reduce, "aggregation", "reduce", "mean", "OrbitPool")
        self.pool = InvariantPool(output_orbits(basis), aggregation=aggregation)
        self.features = int(channels) * self.pool.n_orbits

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.pool(x).flatten(-2)


class SetReduce(nn.Module):
    """Sum / mean / max over the real elements: ``(batch, n, ...) -> (batch, ...)``
    (``aggregation``; ``reduce=`` is its deprecated name)."""

    def __init__(self, aggregation: Optional[str] = None, *, reduce: Optional[str] = None):
        super().__init__()
        aggregation = renamed(aggregation, reduce, "aggregation", "reduce", "mean", "SetReduce")
        self.aggregation = check_choice(aggregation, REDUCTIONS, "set aggregation")

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return set_reduce(x, mask, self.aggregation)

    def extra_repr(self) -> str:
        return f"aggregation={self.aggregation!r}"


class MLP(nn.Module):
    """``Linear -> (norm) -> ReLU -> ... -> Linear`` on the last axis, output reshaped to ``out_shape``.

    ``MLP([80, 3])`` is a single linear head. ``norm="batch"`` puts a ``BatchNorm1d`` after
    every hidden linear layer. With ``per_element`` the input is ``(batch, n, features)`` and
    padded elements of the output are 0 (or ``-inf`` with ``scores``); otherwise the mask is
    ignored (the set is already reduced)."""

    out_shape: List[int]

    def __init__(self, sizes: Sequence[int], out_shape: Sequence[int] = (), per_element: bool = False,
                 scores: bool = False, norm: Optional[str] = None):
        super().__init__()
        sizes = [int(s) for s in sizes]
        check_choice(norm, (None, "batch"), "MLP norm")
        layers: List[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                if norm == "batch":
                    layers.append(_Flat(nn.BatchNorm1d(sizes[i + 1])))
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


class _Flat(nn.Module):
    """Apply a ``(N, f)`` module to ``(..., f)``."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.reshape(-1, x.shape[-1])).reshape(x.shape)


class EquivariantHead(nn.Module):
    """``H``-equivariant readout of a reduced set: ``(batch, c, d) -> (batch, c_out, d)``,
    two :class:`EquivariantLinear` layers with a ReLU between them."""

    def __init__(self, basis, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.first = EquivariantLinear(basis, in_channels, hidden)
        self.second = EquivariantLinear(basis, hidden, out_channels)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.second(torch.relu(self.first(x)))


class DeepSetsBlock(_NormThenReLU):
    """A DeepSets layer (Zaheer et al. 2017) on vectors: ``x_i W1 + reduce_j(x_j) W2 + b``
    (+ optional norm, + ReLU).

    ``(batch, n, f_in) -> (batch, n, f_out)``; padded elements stay 0."""

    def __init__(self, in_features: int, out_features: int, aggregation: Optional[str] = None,
                 activation: bool = True, norm: Optional[str] = None, *, reduce: Optional[str] = None):
        super().__init__()
        aggregation = renamed(aggregation, reduce, "aggregation", "reduce", "sum", "DeepSetsBlock")
        self.single = nn.Linear(in_features, out_features)
        self.shared = nn.Linear(in_features, out_features, bias=False)
        self.aggregation = check_choice(aggregation, REDUCTIONS, "aggregation")
        self.norm = None if norm is None else FeatureNorm(out_features, norm)
        self.activation = bool(activation)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        pooled = set_reduce(x, mask, self.aggregation)
        return zero_padded(self._finish(zero_padded(self.single(x) + self.shared(pooled).unsqueeze(1), mask), mask), mask)


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

    A sequence of stages, each ``stage(x, mask)``. Built by the factories of
    :mod:`layers.models` and :mod:`layers.baselines`, or by hand from the blocks above.

    Attributes
    ----------
    task:
        One of :data:`TASKS`.
    name:
        A label: ``"dss"``, ``"mlp"``, ``"deepsets"``, ``"siamese"``, ``"siamese+ds"``, ...
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
        check_tensor("model", x)
        if not torch.jit.is_scripting():
            _check_model_input(self, x)
        if mask is not None:
            check_tensor("model mask", mask)
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
        d_out = int(self.config.get("d_out", self.d))
        if self.task == "merging":
            return (batch, int(self.out_channels), d_out)
        return (batch, n, int(self.out_channels), d_out)

    def describe(self) -> Dict[str, object]:
        """A JSON-friendly summary: name, task, parameters, input / output layout."""
        n = "n" if self.fixed_n < 0 else str(self.fixed_n)
        d_out = self.config.get("d_out", self.d)
        outputs = {
            "invariant": f"(batch, {self.n_classes})",
            "selection": f"(batch, {n})",
            "merging": f"(batch, {self.out_channels}, {d_out})",
            "equivariant": f"(batch, {n}, {self.out_channels}, {d_out})",
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


@torch.jit.unused
def _check_model_input(model: nn.Module, x: torch.Tensor) -> None:
    """The input's dtype and device against the model's first parameter (an EqsolveError, not torch's)."""
    first = next(model.parameters(), None)
    if first is not None:
        check_like(f"{model.name} {model.task} model", x, first)
