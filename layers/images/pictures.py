"""PNG grids of test examples: input set, prediction, target and the trivial predictor's output.

One figure per task, a few sets each, so that a reader sees what the numbers mean:

* ``colors``: per set four rows of six tiles: the inputs (one channel each), the network's
  colourings, the targets, the grey copies (trivial);
* ``quality``: per set the 20 degraded copies in two rows, the chosen copy framed red, the
  best copy (target) framed green (a correct choice shows only green), then the clean crop;
* ``deblur``: per set one row: the burst, the network's merge, the clean crop, the median.

The files are written atomically (temporary file + rename). Needs matplotlib (the ``plot``
extra).

>>> import torch
>>> from eqsolve.layers.images import sets
>>> data = sets.burst_sets(2, size=16, split="test", rng=0)
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "ex.png")
>>> write_grid("deblur", data, sets.trivial("deblur", data), path) == path
True
"""

from __future__ import annotations

import os
from typing import List, Optional

import numpy as np
import torch

from eqsolve import EqsolveError

__all__ = ["write_grid"]

_GAP = 2


def _tile(flat: torch.Tensor, size: int) -> np.ndarray:
    """``(3, size * size)`` in [0, 1] -> ``(size, size, 3)``."""
    return flat.detach().double().clamp(0, 1).reshape(3, size, size).permute(1, 2, 0).cpu().numpy()


def _frame(tile: np.ndarray, colour) -> np.ndarray:
    out = tile.copy()
    w = max(1, tile.shape[0] // 16)
    for side in (slice(0, w), slice(-w, None)):
        out[side, :] = colour
        out[:, side] = colour
    return out


def _rows_to_image(rows: List[List[np.ndarray]], size: int) -> np.ndarray:
    width = max(len(r) for r in rows)
    canvas = np.ones((len(rows) * (size + _GAP) - _GAP, width * (size + _GAP) - _GAP, 3))
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            if tile is not None:
                top, left = i * (size + _GAP), j * (size + _GAP)
                canvas[top:top + size, left:left + size] = tile
    return canvas


def _layout(task: str, data, prediction: torch.Tensor, trivial: torch.Tensor, count: int):
    size = int(data.size)
    rows: List[List[Optional[np.ndarray]]] = []
    labels: List[str] = []
    for k in range(min(count, len(data))):
        x = data.x[k]
        if task == "colors":
            rows += [[_tile(e, size) for e in x], [_tile(e, size) for e in prediction[k]],
                     [_tile(e, size) for e in data.y[k]], [_tile(e, size) for e in trivial[k]]]
            labels += ["input set", "prediction", "target", "trivial (grey)"]
        elif task == "quality":
            chosen = int(prediction[k].argmax())
            best = int(data.y[k])
            tiles = []
            for j, e in enumerate(x):
                tile = _tile(e, size)
                if j == chosen and j != best:
                    tile = _frame(tile, (1.0, 0.0, 0.0))
                if j == best:
                    tile = _frame(tile, (0.0, 0.8, 0.0))
                tiles.append(tile)
            half = (len(tiles) + 1) // 2
            rows += [tiles[:half], tiles[half:] + [None, _tile(data.clean[k], size)]]
            labels += ["copies (red: chosen,", "green: best) | clean"]
        elif task == "deblur":
            rows.append([_tile(e, size) for e in x] + [None, _tile(prediction[k], size), _tile(data.y[k], size),
                                                       _tile(trivial[k], size)])
            labels.append("burst | merged, clean, median")
        else:
            raise EqsolveError(f"unknown image task {task!r}")
    return rows, labels, size


def write_grid(task: str, data, prediction: torch.Tensor, path: str, trivial: Optional[torch.Tensor] = None,
               count: int = 2, scale: int = 2, title: str = "") -> str:
    """Write the example grid of ``task`` for the first ``count`` sets of ``data`` to ``path``.

    ``prediction`` is the model's output on ``data.x`` (scores for ``quality``); ``trivial``
    the trivial predictor's (default: computed). ``scale`` enlarges each pixel (nearest).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .sets import trivial as trivial_of

    if trivial is None:
        trivial = trivial_of(task, data)
    rows, labels, size = _layout(task, data, prediction, trivial, count)
    image = _rows_to_image(rows, size)
    image = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    label_px = 200
    dpi = 100
    fig = plt.figure(figsize=((image.shape[1] + label_px) / dpi, (image.shape[0] + 24) / dpi), dpi=dpi)
    ax = fig.add_axes([label_px / (image.shape[1] + label_px), 0, image.shape[1] / (image.shape[1] + label_px),
                       image.shape[0] / (image.shape[0] + 24)])
    ax.imshow(image, interpolation="nearest")
    ax.set_axis_off()
    step = (size + _GAP) * scale
    for i, label in enumerate(labels):
        per = len(rows) // len(labels)
        y = (i * per + per / 2) * step
        ax.text(-6, y, label, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9, y=0.995)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp{os.getpid()}.png")
    try:
        fig.savefig(tmp, dpi=dpi)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
