"""Baselines of Maron et al. (ICML 2020), section 6, for the same four task types as :mod:`layers.models`.

=============== ======================================================================= ==================
name            architecture                                                            symmetry it uses
=============== ======================================================================= ==================
``mlp``         the whole set flattened (``n * c * d``), fully connected layers          none (fixed ``n``)
``deepsets``    each element flattened to ``c * d``, DeepSets layers, then the readout   ``S_n`` only
``siamese``     the same ``H``-equivariant network on every element, late aggregation    ``H``, ``S_n`` at the end
``siamese+ds``  Siamese ``H``-equivariant layers, then DeepSets on the orbit-pooled       ``H``, ``S_n`` late
                features (invariant / selection) or one DSS layer (merging / equivariant)
=============== ======================================================================= ==================

Every baseline has one width ``width`` (hidden size of all its layers) and a depth; the
paper compares architectures at *comparable parameter counts*, so :func:`matched` picks the
width whose count is closest to a target and :func:`comparable` builds every baseline next to a
DSS model. :func:`parameter_table` prints the counts.

The outputs follow :mod:`layers.models` (``invariant`` logits ``(batch, n_classes)``,
``selection`` scores ``(batch, n)`` with ``-inf`` at padded elements, ``merging``
``(batch, out_channels, d)``, ``equivariant`` ``(batch, n, out_channels, d)``) and every model
is a :class:`layers.models.SetNet` taking ``(x, mask=None)``. Padding never changes the outputs
of the set-based baselines; the MLP is built for one set size and zeroes padded elements
before flattening (its outputs do depend on where the padding sits).

Examples
--------
>>> import eqsolve; from eqsolve import layers
>>> B = eqsolve.solve(eqsolve.groups.cyclic(16))
>>> dss = layers.models.invariant(B, channels=[1, 32, 32], n_classes=3)
>>> nets = layers.baselines.comparable(dss, B, n=10)
>>> sorted(nets)
['deepsets', 'dss', 'mlp', 'siamese', 'siamese+ds']
>>> all(abs(layers.count_parameters(m) / layers.count_parameters(dss) - 1) < 0.2 for m in nets.values())
True
"""

from typing import Callable, Dict, List, Optional, Sequence

from torch import nn

from eqsolve import EqsolveError

from ._checks import check_channels, check_choice
from .models import (
    REDUCTIONS,
    TASKS,
    DeepSetsBlock,
    DSSBlock,
    EquivariantHead,
    FlattenElements,
    FlattenSet,
    MLP,
    OrbitPool,
    SetNet,
    SetReduce,
    SiameseBlock,
    _task_sizes,
    check_square,
    count_parameters,
    equivariant_readout,
)

BASELINES = ("mlp", "deepsets", "siamese", "siamese+ds")
MAX_WIDTH = 1 << 14

__all__ = [
    "BASELINES",
    "mlp",
    "deepsets",
    "siamese",
    "siamese_ds",
    "build",
    "matched",
    "comparable",
    "parameter_table",
]


def _depth(depth) -> int:
    return check_channels(depth, "depth")


def mlp(task: str, n: int, in_channels: int, d: int, width: int = 256, depth: int = 2, n_classes: int = 3,
        out_channels: int = 1) -> SetNet:
    """Fully connected network on the flattened set ``(batch, n * in_channels * d)``.

    ``depth`` hidden layers of ``width`` units with ReLU. Built for sets of exactly ``n``
    elements; padded elements are zeroed before flattening.

    >>> import torch
    >>> mlp("merging", n=4, in_channels=1, d=6, width=16, out_channels=2)(torch.randn(3, 4, 1, 6)).shape
    torch.Size([3, 2, 6])
    """
    check_choice(task, TASKS, "task")
    n = check_channels(n, "n")
    in_channels, d = check_channels(in_channels, "in_channels"), check_channels(d, "d")
    width, depth = check_channels(width, "width"), _depth(depth)
    n_classes, out_channels = _task_sizes(task, n_classes, out_channels)
    hidden = [n * in_channels * d] + [width] * depth
    if task == "invariant":
        head = MLP(hidden + [n_classes])
    elif task == "selection":
        head = MLP(hidden + [n], out_shape=[n], per_element=True, scores=True)
    elif task == "merging":
        head = MLP(hidden + [out_channels * d], out_shape=[out_channels, d])
    else:
        head = MLP(hidden + [n * out_channels * d], out_shape=[n, out_channels, d], per_element=True)
    return SetNet([FlattenSet(), head], task, "mlp", in_channels, d, n=n,
                  n_classes=n_classes if task == "invariant" else None,
                  out_channels=out_channels if task in ("merging", "equivariant") else None,
                  config={"width": width, "depth": depth})


def deepsets(task: str, in_channels: int, d: int, width: int = 256, depth: int = 2, n_classes: int = 3,
             out_channels: int = 1, reduce: str = "sum", pool: str = "mean") -> SetNet:
    """DeepSets (Zaheer et al. 2017) on elements flattened to ``in_channels * d`` vectors: uses
    the set symmetry ``S_n`` and ignores ``H``.

    ``depth`` :class:`~layers.models.DeepSetsBlock` layers of ``width`` (aggregation ``reduce``),
    then: invariant: ``pool`` over the set + MLP head; selection: per-element MLP score;
    merging: ``pool`` over the set + MLP to ``out_channels * d``; equivariant: per-element
    linear map to ``out_channels * d``.

    >>> import torch
    >>> deepsets("selection", in_channels=1, d=6, width=16)(torch.randn(3, 4, 1, 6)).shape
    torch.Size([3, 4])
    """
    check_choice(task, TASKS, "task")
    in_channels, d = check_channels(in_channels, "in_channels"), check_channels(d, "d")
    width, depth = check_channels(width, "width"), _depth(depth)
    check_choice(reduce, REDUCTIONS, "reduce")
    check_choice(pool, REDUCTIONS, "pool")
    n_classes, out_channels = _task_sizes(task, n_classes, out_channels)
    sizes = [in_channels * d] + [width] * depth
    stages: List[nn.Module] = [FlattenElements()]
    stages += [DeepSetsBlock(sizes[i], sizes[i + 1], aggregation=reduce) for i in range(depth)]
    if task == "invariant":
        stages += [SetReduce(pool), MLP([width, width, n_classes])]
    elif task == "selection":
        stages += [MLP([width, width, 1], per_element=True, scores=True)]
    elif task == "merging":
        stages += [SetReduce(pool), MLP([width, width, out_channels * d], out_shape=[out_channels, d])]
    else:
        stages += [MLP([width, out_channels * d], out_shape=[out_channels, d], per_element=True)]
    return SetNet(stages, task, "deepsets", in_channels, d,
                  n_classes=n_classes if task == "invariant" else None,
                  out_channels=out_channels if task in ("merging", "equivariant") else None,
                  config={"width": width, "depth": depth, "reduce": reduce, "pool": pool})


def _siamese_args(basis, task, channels, n_classes, out_channels, pool, hidden):
    """The checked arguments every Siamese builder shares: (basis, channels, n_classes, out_channels, hidden)."""
    from .models import check_channel_list

    basis = check_square(basis)
    channels = check_channel_list(channels)
    check_choice(task, TASKS, "task")
    check_choice(pool, REDUCTIONS, "pool")
    n_classes, out_channels = _task_sizes(task, n_classes, out_channels)
    hidden = channels[-1] if hidden is None else check_channels(hidden, "hidden")
    return basis, channels, n_classes, out_channels, hidden


def siamese(basis, task: str, channels: Sequence[int] = (1, 64, 64), n_classes: int = 3, out_channels: int = 1,
            pool: str = "mean", hidden: Optional[int] = None) -> SetNet:
    """The same ``H``-equivariant network on every element (one :class:`EquivariantLinear` + ReLU
    per entry of ``channels[1:]``), the elements meeting only in the readout (late aggregation):
    invariant: orbit pooling, set pooling, MLP head; selection: per-element orbit pooling and MLP
    score (no interaction at all); merging: set pooling then two ``H``-equivariant layers;
    equivariant: a final per-element ``H``-equivariant layer.

    >>> import torch, eqsolve
    >>> net = siamese(eqsolve.solve(eqsolve.groups.cyclic(6)), "invariant", [1, 8])
    >>> net(torch.randn(3, 4, 1, 6)).shape
    torch.Size([3, 3])
    """
    basis, channels, n_classes, out_channels, hidden = _siamese_args(basis, task, channels, n_classes, out_channels,
                                                                     pool, hidden)
    stages: List[nn.Module] = [SiameseBlock(basis, channels[i], channels[i + 1]) for i in range(len(channels) - 1)]
    if task == "equivariant":
        stages.append(SiameseBlock(basis, channels[-1], out_channels, activation=False))
    else:
        stages += equivariant_readout(basis, channels[-1], task, n_classes, out_channels, hidden, pool)
    return SetNet(stages, task, "siamese", channels[0], basis.shape[0],
                  n_classes=n_classes if task == "invariant" else None,
                  out_channels=out_channels if task in ("merging", "equivariant") else None,
                  config={"channels": channels, "pool": pool, "hidden": hidden})


def siamese_ds(basis, task: str, channels: Sequence[int] = (1, 64, 64), n_classes: int = 3, out_channels: int = 1,
               pool: str = "mean", hidden: Optional[int] = None, ds_width: Optional[int] = None,
               aggregation: str = "sum") -> SetNet:
    """Siamese + DeepSets: ``H``-equivariant layers on every element, then the set interaction.

    invariant / selection: orbit pooling per element, one DeepSets layer of ``ds_width``
    (default ``channels[-1]``) on those ``H``-invariant vectors, then the readout (set pooling
    + MLP head, or a per-element MLP score). merging / equivariant: one ``DSSLinear`` layer
    (``aggregation``) after the Siamese layers, then the readout of :mod:`layers.models`.

    >>> import torch, eqsolve
    >>> net = siamese_ds(eqsolve.solve(eqsolve.groups.cyclic(6)), "selection", [1, 8])
    >>> net(torch.randn(3, 4, 1, 6)).shape
    torch.Size([3, 4])
    """
    basis, channels, n_classes, out_channels, hidden = _siamese_args(basis, task, channels, n_classes, out_channels,
                                                                     pool, hidden)
    ds_width = channels[-1] if ds_width is None else check_channels(ds_width, "ds_width")
    c = channels[-1]
    stages: List[nn.Module] = [SiameseBlock(basis, channels[i], channels[i + 1]) for i in range(len(channels) - 1)]
    if task in ("invariant", "selection"):
        orbit = OrbitPool(basis, c, pool)
        stages += [orbit, DeepSetsBlock(orbit.features, ds_width)]
        if task == "invariant":
            stages += [SetReduce(pool), MLP([ds_width, hidden, n_classes])]
        else:
            stages += [MLP([ds_width, hidden, 1], per_element=True, scores=True)]
    elif task == "merging":
        stages += [DSSBlock(basis, c, ds_width, aggregation=aggregation), SetReduce(pool),
                   EquivariantHead(basis, ds_width, hidden, out_channels)]
    else:
        stages += equivariant_readout(basis, c, task, n_classes, out_channels, hidden, pool, aggregation)
    return SetNet(stages, task, "siamese+ds", channels[0], basis.shape[0],
                  n_classes=n_classes if task == "invariant" else None,
                  out_channels=out_channels if task in ("merging", "equivariant") else None,
                  config={"channels": channels, "pool": pool, "hidden": hidden, "ds_width": ds_width,
                          "aggregation": aggregation})


def build(name: str, basis, task: str, width: int, depth: int = 2, *, n: Optional[int] = None, in_channels: int = 1,
          n_classes: int = 3, out_channels: int = 1, pool: str = "mean", aggregation: str = "sum") -> SetNet:
    """Baseline ``name`` (one of :data:`BASELINES`) with every hidden size equal to ``width``.

    ``n`` (the set size) is needed by ``"mlp"`` only; ``basis`` gives ``d`` (and ``H`` to the
    Siamese networks).
    """
    check_choice(name, BASELINES, "baseline")
    basis = check_square(basis)
    d = basis.shape[0]
    width, depth = check_channels(width, "width"), _depth(depth)
    if name == "mlp":
        if n is None:
            raise EqsolveError("the MLP baseline is built for one set size: pass n=")
        return mlp(task, n, in_channels, d, width, depth, n_classes, out_channels)
    if name == "deepsets":
        return deepsets(task, in_channels, d, width, depth, n_classes, out_channels, pool=pool)
    channels = [in_channels] + [width] * depth
    if name == "siamese":
        model = siamese(basis, task, channels, n_classes, out_channels, pool=pool)
    else:
        model = siamese_ds(basis, task, channels, n_classes, out_channels, pool=pool, aggregation=aggregation)
    model.config["width"] = width
    return model


def matched(name: str, basis, task: str, target: int, depth: int = 2, **kwargs) -> SetNet:
    """Baseline ``name`` whose width makes its parameter count closest to ``target``.

    Binary search over the width (counts grow with it); ``kwargs`` go to :func:`build`.

    >>> import eqsolve
    >>> net = matched("deepsets", eqsolve.solve(eqsolve.groups.cyclic(8)), "invariant", target=5000)
    >>> abs(count_parameters(net) - 5000) < 500
    True
    """
    if isinstance(target, bool) or not isinstance(target, int) or target < 1:
        raise EqsolveError(f"target parameter count must be an integer >= 1, got {target!r}")
    make: Callable[[int], SetNet] = lambda w: build(name, basis, task, w, depth, **kwargs)
    lo, hi = 1, 1
    while count_parameters(make(hi)) < target and hi < MAX_WIDTH:
        lo, hi = hi, min(2 * hi, MAX_WIDTH)
    while hi - lo > 1:  # count(lo) < target <= count(hi), or the ends
        mid = (lo + hi) // 2
        if count_parameters(make(mid)) < target:
            lo = mid
        else:
            hi = mid
    best = min((make(w) for w in {lo, hi}), key=lambda m: abs(count_parameters(m) - target))
    return best


def comparable(reference: SetNet, basis, n: Optional[int] = None, names: Sequence[str] = BASELINES,
               depth: Optional[int] = None) -> Dict[str, SetNet]:
    """The baselines ``names`` sized to the parameter count of the DSS model ``reference``.

    Same task, input channels, classes / output channels and depth (default: the number of
    DSS layers of ``reference``) as ``reference``; ``n`` (the set size) is needed for the MLP.
    Returns ``{"dss": reference, name: model, ...}``.
    """
    if not isinstance(reference, SetNet):
        raise EqsolveError(f"reference must be a model from layers.models, got {type(reference).__name__}")
    for name in names:
        check_choice(name, BASELINES, "baseline")
    if "mlp" in names and n is None:
        raise EqsolveError("the MLP baseline is built for one set size: pass n=")
    if depth is None:
        channels = reference.config.get("channels")
        depth = len(channels) - 1 if isinstance(channels, list) else 2
    target = count_parameters(reference)
    kwargs = dict(n=n, in_channels=reference.in_channels, n_classes=reference.n_classes or 3,
                  out_channels=reference.out_channels or 1)
    result: Dict[str, SetNet] = {"dss": reference}
    for name in names:
        result[name] = matched(name, basis, reference.task, target, depth, **kwargs)
    return result


def parameter_table(models: Dict[str, nn.Module], reference: Optional[str] = "dss") -> str:
    """A plain-text table: model, parameters, ratio to ``models[reference]`` and width.

    >>> import eqsolve
    >>> B = eqsolve.solve(eqsolve.groups.cyclic(8))
    >>> print(parameter_table({"a": deepsets("invariant", 1, 8, width=4)}, reference=None))
    model  parameters  width
    a             139  4
    """
    if reference is not None and reference not in models:
        raise EqsolveError(f"reference {reference!r} is not one of the models {sorted(models)}")
    base = count_parameters(models[reference]) if reference is not None else None
    header = ["model", "parameters"] + (["ratio"] if base else []) + ["width"]
    rows = []
    for name, model in models.items():
        count = count_parameters(model)
        config = getattr(model, "config", {}) or {}
        width = config.get("width", config.get("channels", ""))
        row = [name, str(count)] + ([f"{count / base:.3f}"] if base else []) + [str(width)]
        rows.append(row)
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    lines = []
    for row in [header] + rows:
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, len(row) - 1)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
