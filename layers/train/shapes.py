"""The ``shapes`` task of ``eqsolve train``: select the centre frame of 7 shuffled frames of a
deforming surface (the paper's Table 1), on the data of :mod:`layers.shapes`.

One data set serves both versions of the paper: ``x`` is the graph form ``(N, 7, 3, m + m^2)``
(coordinates on the node part, edge vectors on the adjacency part, raw: not normalised).
Point-cloud models (``dss-sum``, ..., ``siamese-ds``) read the node part only (``H = S_m`` on
the vertices); graph models (``graph-dss-sum``, ..., ``graph-siamese-ds``) read all of it
(``H = S_m`` on node features + adjacency, the ``patterns`` path). Every model first
standardises each set by its own mean and standard deviation (:func:`layers.shapes.standardise`,
invariant to both symmetries); the DSS models normalise per set (:data:`layers.shapes.NORM`),
so training and evaluation compute the same function. The trivial predictor of the results is the paper's mean-shape
baseline (:func:`layers.shapes.mean_shape_choice`), not chance.

>>> from eqsolve.layers.train import tasks
>>> task = tasks.get("shapes")
>>> task.default_model, len(task.models)
('dss-sum', 10)
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .. import shapes
from .data import SetData
from .loop import accuracy
from .tasks import Preset, Splits, Task

M = 32  # vertices of every mesh (the graph form grows as m^2)
TRAIN, VAL, TEST = 500, 100, 400
SIZES = (100, 200, 500)
WIDTHS = {"small": {"points": 16, "graphs": 4}, "paper": {"points": 128, "graphs": 32}}
PRESETS = {
    "small": Preset(epochs=30, batch_size=32, lr=3e-3,
                    note="widths 16 (points) / 4 (graphs), m = 32, per-set norm; CPU-sized"),
    "paper": Preset(epochs=40, batch_size=32, lr=1e-3, note="the paper's width 128 (points) / 32 (graphs)"),
}
MODELS = shapes.MODELS + tuple("graph-" + name for name in shapes.MODELS)


class Prepared(nn.Module):
    """Standardise each set, keep the node part for point-cloud models, then the model."""

    def __init__(self, net: nn.Module, m: int, points: bool):
        super().__init__()
        self.net = net
        self.m = int(m)
        self.points = bool(points)
        self.task = "selection"

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.points:
            x = x[..., :self.m]
        return self.net(shapes.standardise(x), mask)


def make_data(seed: int = 0, test_size: int = TEST, preset: Optional[str] = None) -> Splits:
    """Training pool, validation and test sets (independent seeds derived from ``seed``)."""
    parts = [shapes.make_sets(size, seed=3 * int(seed) + k, m=M, version="graphs")
             for k, size in enumerate((TRAIN, VAL, test_size))]
    return Splits(*(SetData(p.x, p.y) for p in parts), info={"m": M})


def build(name: str, preset: str = "small", splits: Optional[Splits] = None) -> nn.Module:
    """Model ``name`` of :data:`MODELS` for ``preset`` (sizes matched within each version)."""
    TASK.check_model(name)
    TASK.check_preset(preset)
    version = "graphs" if name.startswith("graph-") else "points"
    base = name[len("graph-"):] if version == "graphs" else name
    net = shapes.build_model(base, shapes.basis_for(version, M), width=WIDTHS[preset][version],
                             search_basis=shapes.basis_for(version, 6))
    return Prepared(net, M, version == "points")


def _baseline(splits: Splits) -> float:
    """The mean-shape baseline on the test set (the node part of x is the coordinates)."""
    coords = splits.test.x[..., :M].transpose(-1, -2).numpy()
    return float((shapes.mean_shape_choice(coords) == splits.test.y.numpy()).mean())


TASK = Task(
    name="shapes",
    summary="select the centre frame of 7 shuffled frames of a deforming sphere / ellipsoid / torus "
            "(point clouds and graphs, H = S_32; the paper's Table 1 on generated data)",
    make_data=make_data,
    build_model=lambda name, preset, splits=None: build(name, preset, splits),
    models=MODELS,
    loss=F.cross_entropy,
    metric=accuracy,
    baseline=_baseline,
    presets=PRESETS,
    sizes=SIZES,
    metric_name="accuracy",
    default_model="dss-sum",
    max_train_size=TRAIN,
)
