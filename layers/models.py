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
from .blocks import (  # noqa: F401  (re-exported: the blocks used to live here)
    MLP,
    NORMS,
    REDUCTIONS,
    TASKS,
    DeepSetsBlock,
    DSSBlock,
    EquivariantHead,
    FlattenElements,
    FlattenSet,
    OrbitPool,
    ScoreMask,
    SetNet,
    SetReduce,
    SiameseBlock,
    count_parameters,
    output_orbits,
    set_reduce,
    zero_padded,
)
from .dss import AGGREGATIONS

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
            f"got shape (d_out, d_in) = ({d_out}, {d_in}); for strided / non-square layers pass one "
            f"basis per layer to layers.models.network(bases=[...])"
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
          hidden: Optional[int] = None, device=None, dtype=None) -> SetNet:
    """A DSS model for ``task`` (one of :data:`TASKS`); see :func:`invariant` for the parameters
    (``device`` / ``dtype``: torch's factory arguments)."""
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
    model = SetNet(stages, task, "dss", channels[0], basis.shape[0],
                   n_classes=n_classes if task == "invariant" else None,
                   out_channels=out_channels if task in ("merging", "equivariant") else None, config=config)
    if device is not None or dtype is not None:
        model.to(device=device, dtype=dtype)
    return model


def invariant(basis, channels: Sequence[int] = (1, 64, 64), n_classes: int = 3, aggregation: str = "sum",
              norm: Optional[str] = None, pool: str = "mean", hidden: Optional[int] = None, device=None,
              dtype=None) -> SetNet:
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
    device, dtype:
        Factory arguments, as for torch's own layers.

    Examples
    --------
    >>> import torch, eqsolve; from eqsolve import layers
    >>> net = layers.models.invariant(eqsolve.solve(eqsolve.groups.dihedral(6)), [2, 8], n_classes=4)
    >>> net(torch.randn(3, 7, 2, 6)).shape
    torch.Size([3, 4])
    """
    return build(basis, "invariant", channels, n_classes=n_classes, aggregation=aggregation, norm=norm,
                 pool=pool, hidden=hidden, device=device, dtype=dtype)


def selection(basis, channels: Sequence[int] = (1, 64, 64), aggregation: str = "sum", norm: Optional[str] = None,
              pool: str = "mean", hidden: Optional[int] = None, device=None, dtype=None) -> SetNet:
    """Sets ``(batch, n, c, d) -> (batch, n)`` scores, one per element: they permute with the set
    and are invariant to ``H``. Padded elements score ``-inf`` (ready for a softmax over the set).

    >>> import torch, eqsolve; from eqsolve import layers
    >>> net = layers.models.selection(eqsolve.solve(eqsolve.groups.cyclic(5)), [1, 8])
    >>> net(torch.randn(2, 6, 1, 5)).shape
    torch.Size([2, 6])
    """
    return build(basis, "selection", channels, aggregation=aggregation, norm=norm, pool=pool, hidden=hidden,
                 device=device, dtype=dtype)


def merging(basis, channels: Sequence[int] = (1, 64, 64), out_channels: int = 1, aggregation: str = "sum",
            norm: Optional[str] = None, pool: str = "mean", hidden: Optional[int] = None, device=None,
            dtype=None) -> SetNet:
    """Sets ``(batch, n, c, d) -> (batch, out_channels, d)``: ``H``-equivariant, ``S_n``-invariant
    (e.g. merging a burst of images into one).

    >>> import torch, eqsolve; from eqsolve import layers
    >>> net = layers.models.merging(eqsolve.solve(eqsolve.groups.grid_translations((3, 3))), [1, 4], 2)
    >>> net(torch.randn(2, 5, 1, 9)).shape
    torch.Size([2, 2, 9])
    """
    return build(basis, "merging", channels, out_channels=out_channels, aggregation=aggregation, norm=norm,
                 pool=pool, hidden=hidden, device=device, dtype=dtype)


def equivariant(basis, channels: Sequence[int] = (1, 64, 64), out_channels: int = 1, aggregation: str = "sum",
                norm: Optional[str] = None, pool: str = "mean", hidden: Optional[int] = None, device=None,
                dtype=None) -> SetNet:
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
                 pool=pool, hidden=hidden, device=device, dtype=dtype)


# -- networks with one basis per layer (strided / non-square layers, the paper's nets) ----------
NORM_AT = ("hidden", "all")
HEADS = ("mlp", "linear")
INITS = ("default", "xavier")


def network(bases, channels: Sequence[int], task: str = "invariant", *, aggregation: str = "sum",
            siamese: bool = False, norm: Optional[str] = None, norm_at: str = "hidden", pool: str = "mean",
            set_pool: Optional[str] = None, head: str = "mlp", hidden: Optional[int] = None, n_classes: int = 3,
            out_channels: int = 1, init: str = "default", supports=None, device=None, dtype=None) -> SetNet:
    """A set network with its own basis (and support) per layer: strided maps, kernels that
    change width, the paper's published networks.

    Parameters
    ----------
    bases:
        One :class:`eqsolve.Basis` per layer, ``len(channels) - 1`` of them; consecutive bases
        must chain (``bases[i].shape[1] == bases[i - 1].shape[0]``). Non-square bases (e.g. a
        stride-2 circular convolution, ``solve(out=..., inp=...)``, see :func:`strided_cyclic`)
        are fine. A single basis is used for every layer (it must then be square).
    channels:
        ``[in_channels, width_1, ..., width_k]``.
    task:
        One of :data:`TASKS`; merging / equivariant need a square last basis.
    aggregation:
        Of every ``DSSLinear`` (``"sum"``, ``"mean"``, ``"max"``, ``"aittala"``, ``"sridhar"``).
    siamese:
        Use :class:`SiameseBlock` (no interaction between elements) instead of :class:`DSSBlock`.
    norm, norm_at:
        ``None``, ``"set"`` or ``"batch"``, after the linear map of every layer but the last
        (``norm_at="hidden"``) or of every layer (``"all"``, as the paper's networks); always on
        the layer's output points.
    pool, set_pool:
        Reduction over each orbit of the last layer's output points and over the set
        (``set_pool`` defaults to ``pool``).
    head:
        ``"mlp"`` (``features -> hidden -> n_classes``) or ``"linear"`` (one ``nn.Linear``).
    init:
        ``"default"`` (uniform in ``+-1/sqrt(fan_in)``) or ``"xavier"`` (see :func:`init_weights`).
    supports:
        Optional support mask per layer (local kernels), ``None`` entries for full ones.
    device, dtype:
        Factory arguments, as for torch's own layers.

    Examples
    --------
    The published DSS(sum) network of the paper's signal experiment (section 6.1), with the
    last stride-2 layer (25 -> 13 points, no shift symmetry) replaced by a stride-1 circular
    convolution with the same 25 taps:

    >>> import eqsolve; from eqsolve import layers
    >>> bases = [layers.models.strided_cyclic(100), layers.models.strided_cyclic(50),
    ...          eqsolve.solve(eqsolve.groups.cyclic(25))]
    >>> net = layers.models.network(bases, [1, 160, 160, 80], norm="batch", norm_at="all",
    ...                             pool="sum", head="linear", n_classes=3, init="xavier")
    >>> layers.count_parameters(net)
    3233443
    """
    if isinstance(bases, eqsolve.Basis):
        channels = check_channel_list(channels)
        bases = [check_square(bases)] * (len(channels) - 1)
    if isinstance(bases, (str, bytes)) or not isinstance(bases, Sequence):
        raise EqsolveError(f"bases must be a list of eqsolve.Basis (one per layer), got {type(bases).__name__}")
    channels = check_channel_list(channels)
    bases = [check_basis(b) for b in bases]
    if len(bases) != len(channels) - 1:
        raise EqsolveError(
            f"one basis per layer: channels {channels} make {len(channels) - 1} layers, got {len(bases)} bases"
        )
    for i in range(1, len(bases)):
        if bases[i].shape[1] != bases[i - 1].shape[0]:
            raise EqsolveError(
                f"bases do not chain: layer {i - 1} outputs {bases[i - 1].shape[0]} points, layer {i} takes "
                f"{bases[i].shape[1]} (basis shapes {[tuple(b.shape) for b in bases]})"
            )
    if supports is None:
        supports = [None] * len(bases)
    if len(supports) != len(bases):
        raise EqsolveError(f"supports: one entry (or None) per layer, {len(bases)} layers, got {len(supports)}")
    check_choice(task, TASKS, "task")
    check_choice(aggregation, AGGREGATIONS, "aggregation")
    check_choice(norm, NORMS, "norm")
    check_choice(norm_at, NORM_AT, "norm_at")
    check_choice(pool, REDUCTIONS, "pool")
    set_pool = pool if set_pool is None else check_choice(set_pool, REDUCTIONS, "set_pool")
    check_choice(head, HEADS, "head")
    check_choice(init, INITS, "init")
    n_classes, out_channels = _task_sizes(task, n_classes, out_channels)
    hidden = channels[-1] if hidden is None else check_channels(hidden, "hidden")
    depth = len(bases)
    stages: List[nn.Module] = []
    for i, (basis, support) in enumerate(zip(bases, supports)):
        layer_norm = norm if (norm_at == "all" or i < depth - 1) else None
        if siamese:
            stages.append(SiameseBlock(basis, channels[i], channels[i + 1], norm=layer_norm, support=support))
        else:
            stages.append(DSSBlock(basis, channels[i], channels[i + 1], aggregation=aggregation, norm=layer_norm,
                                   support=support))
    last = bases[-1]
    c = channels[-1]
    if task in ("invariant", "selection"):
        orbit = OrbitPool(last, c, pool)
        sizes = [orbit.features, n_classes if task == "invariant" else 1]
        if head == "mlp":
            sizes.insert(1, hidden)
        if task == "invariant":
            stages += [orbit, SetReduce(set_pool), MLP(sizes)]
        else:
            stages += [orbit, MLP(sizes, per_element=True, scores=True)]
    else:
        if last.shape[0] != last.shape[1]:
            raise EqsolveError(f"{task} models need a square last basis, got shape {tuple(last.shape)}")
        stages += equivariant_readout(last, c, task, n_classes, out_channels, hidden, set_pool, aggregation)
    config = {"channels": list(channels), "bases": [list(map(int, b.shape)) for b in bases],
              "aggregation": aggregation, "siamese": bool(siamese), "norm": norm, "norm_at": norm_at,
              "pool": pool, "set_pool": set_pool, "head": head, "hidden": hidden, "init": init,
              "d_out": int(last.shape[0])}
    model = SetNet(stages, task, "siamese" if siamese else "dss", channels[0], bases[0].shape[1],
                   n_classes=n_classes if task == "invariant" else None,
                   out_channels=out_channels if task in ("merging", "equivariant") else None, config=config)
    init_weights(model, init)
    if device is not None or dtype is not None:
        model.to(device=device, dtype=dtype)
    return model


def strided_cyclic(d: int, stride: int = 2) -> "eqsolve.Basis":
    """Basis of the circular convolutions with stride ``stride`` from ``d`` points to ``d / stride``.

    The group is ``C_{d/stride}``, acting on the input by shifts of ``stride`` points and on
    the output by shifts of one point; ``eqsolve.solve(out=..., inp=...)`` returns the
    equivariant maps between the two actions: ``stride`` circulant blocks, one per input
    residue class, so ``d`` taps per channel pair, as a full-width ``Conv1d(kernel_size=d,
    stride=stride, padding_mode="circular")``.

    >>> B = strided_cyclic(100)
    >>> B.shape, B.dim
    ((50, 100), 100)
    """
    d = check_channels(d, "d")
    stride = check_channels(stride, "stride")
    if d % stride:
        raise EqsolveError(f"a stride-{stride} circular convolution needs d divisible by {stride}, got d={d}")
    h = d // stride
    shift = ((np.arange(d) + stride) % d).tolist()
    group = eqsolve.PermutationGroup([shift], degree=d)
    out = eqsolve.Action(group, [((np.arange(h) + 1) % h).tolist()],
                         recipe=lambda g: (np.arange(h) + int(g[0]) // stride) % h, name=f"shift/{stride}")
    return eqsolve.solve(out=out, inp=group.action())


def init_weights(model: nn.Module, scheme: str = "xavier") -> nn.Module:
    """Re-initialise ``model``'s weights: ``"default"`` leaves them, ``"xavier"`` draws every
    equivariant layer's weights uniformly in ``+-sqrt(6 / (fan_in + fan_out))`` with
    ``fan = channels * taps`` (``taps``: nonzeros per row of the basis, as ``Conv1d``'s kernel
    size) and every ``nn.Linear`` by ``xavier_uniform_`` (the paper's init); biases stay.

    >>> import eqsolve; from eqsolve import layers
    >>> net = init_weights(layers.models.invariant(eqsolve.solve(eqsolve.groups.cyclic(4)), [1, 2]))
    """
    from .linear import EquivariantLinear

    check_choice(scheme, INITS, "init")
    if scheme == "default":
        return model
    import math

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, EquivariantLinear):
                taps = module._fan_in / module.in_channels
                bound = math.sqrt(6.0 / (taps * (module.in_channels + module.out_channels)))
                module.weight.uniform_(-bound, bound)
            elif isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
    return model
