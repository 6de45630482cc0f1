"""One registry of model names: ``layers.build(name, basis, task, ...)``.

The CLI (``eqsolve export``) and your code name models the same way:

============== ==============================================================================
name           model
============== ==============================================================================
dss            :func:`layers.models.build` (``aggregation=`` picks the DSS variant)
dss-sum, ...   the same with the aggregation in the name: ``dss-sum``, ``dss-mean``,
               ``dss-max``, ``dss-aittala``, ``dss-sridhar``
dss-invariant, ``dss`` for the task in the name (``dss-selection``, ``dss-merging``,
...            ``dss-equivariant``): the names ``eqsolve export --model`` takes
mlp, deepsets, the baselines of :mod:`layers.baselines`; with ``width=None`` their width is
siamese,       searched so that their parameter count matches the DSS model of ``channels``
siamese-ds
============== ==============================================================================

>>> import eqsolve; from eqsolve import layers
>>> B = eqsolve.solve(eqsolve.groups.cyclic(8))
>>> layers.build("dss-max", B, "invariant", channels=[1, 8]).config["aggregation"]
'max'
>>> layers.build("deepsets", B, "invariant", channels=[1, 8]).name
'deepsets'
"""

from typing import Dict, Optional, Sequence

from eqsolve import EqsolveError

from . import baselines, models
from .blocks import TASKS, SetNet, count_parameters
from .dss import AGGREGATIONS

__all__ = ["MODELS", "build"]

MODELS: Dict[str, str] = {
    "dss": "DSS network (aggregation=...)",
    **{f"dss-{a}": f"DSS network with {a!r} aggregation" for a in AGGREGATIONS},
    **{f"dss-{t}": f"DSS network for the {t} task" for t in TASKS},
    "mlp": "fully connected network on the flattened set (fixed set size n)",
    "deepsets": "DeepSets on the flattened elements (ignores H)",
    "siamese": "the same H-equivariant network on every element, late aggregation",
    "siamese-ds": "Siamese H-equivariant layers, then DeepSets (alias siamese+ds)",
}
"""Every model name :func:`build` takes, with a one-line description."""


def build(name: str, basis, task: str = "invariant", channels: Sequence[int] = (1, 64, 64), *,
          n: Optional[int] = None, width: Optional[int] = None, n_classes: int = 3, out_channels: int = 1,
          aggregation: str = "sum", norm: Optional[str] = None, pool: str = "mean", device=None,
          dtype=None) -> SetNet:
    """Model ``name`` (a key of :data:`MODELS`) for ``basis`` and ``task``.

    ``channels``: input channels then layer widths (DSS models; the baselines take their depth
    and, without ``width``, their parameter budget from it). ``n``: the set size (MLP only).
    ``device`` / ``dtype``: torch's factory arguments.
    """
    if name == "siamese+ds":
        name = "siamese-ds"
    if name not in MODELS:
        raise EqsolveError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}")
    if name.startswith("dss"):
        suffix = name[len("dss-"):] if name != "dss" else ""
        if suffix in TASKS:
            task = suffix
        elif suffix:
            aggregation = suffix
        if width is not None:
            raise EqsolveError("width applies to the baselines; DSS models take channels")
        model = models.build(basis, task, channels, n_classes=n_classes, out_channels=out_channels,
                             aggregation=aggregation, norm=norm, pool=pool)
    else:
        base = "siamese+ds" if name == "siamese-ds" else name
        channels = models.check_channel_list(channels)
        kwargs = dict(n=n, in_channels=channels[0], n_classes=n_classes, out_channels=out_channels, pool=pool,
                      aggregation=aggregation)
        depth = len(channels) - 1
        if width is not None:
            model = baselines.build(base, basis, task, width, depth, **kwargs)
        else:
            reference = models.build(basis, task, channels, n_classes=n_classes, out_channels=out_channels,
                                     aggregation=aggregation, norm=norm, pool=pool)
            model = baselines.matched(base, basis, task, count_parameters(reference), depth, **kwargs)
    if device is not None or dtype is not None:
        model.to(device=device, dtype=dtype)
    return model
