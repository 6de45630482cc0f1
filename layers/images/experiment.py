"""What ``eqsolve train colors|quality|deblur`` needs from the image tasks: data splits, models,
loss, metric, trivial predictor, presets and example pictures.

Presets (identical protocol for every model of a task):

========= ===== ========== ================== ====== ===== ===== ====== ========= ==========
preset    crop  photo side widths (dss-sum)   train  val   test  epochs batch, lr blur kernel
========= ===== ========== ================== ====== ===== ===== ====== ========= ==========
tiny      16    64         4, 6               16     8     8     1      8, 2e-3   5 x 5
small     16    64         8, 16, 16          512    64    128   8      16, 2e-3  5 x 5
paper     64    256        50, 100, 150, 200  20000  1000  1000  50     32, 1e-3  9 x 9
========= ===== ========== ================== ====== ===== ===== ====== ========= ==========

``tiny`` is a smoke test (seconds; the test suite runs it). ``photo side`` is the shorter side the photographs are resized to before cropping: ``small``
is the ``paper`` setting at a quarter of the resolution (crop / photo side = 1/4 in both), so
a crop shows the same share of a scene. The other models get widths scaled by one factor
so that their parameter count matches ``dss-sum`` (:func:`parameter_table`).

The test sets come from the test photographs (``chelsea``, ``rocket``) with a fixed seed, the
same for every training seed; the training pool and the validation sets come from the
training photographs, drawn from ``seed``.

>>> splits = make_splits("deblur", seed=0, preset="small", train_size=8, val_size=4, test_size=4)
>>> splits["train"].x.shape, splits["test"].y.shape
(torch.Size([8, 5, 3, 256]), torch.Size([4, 3, 256]))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from eqsolve import EqsolveError
from eqsolve._budget import require_memory

from . import nets, photos, pictures, sets

TEST_SEED = 2020  # the test sets are the same for every training seed
CHUNK_VALUES = 1 << 26  # pixel values generated from one random stream (float64 working copies: 0.5 GiB)


@dataclass(frozen=True)
class ImagePreset:
    """Sizes and optimisation of one preset."""

    size: int
    short_side: int
    widths: Tuple[int, ...]
    train_size: int
    val_size: int
    test_size: int
    epochs: int
    batch_size: int
    lr: float
    blur_kernel: int


PRESETS: Dict[str, ImagePreset] = {
    "tiny": ImagePreset(16, 64, (4, 6), 16, 8, 8, 1, 8, 2e-3, 5),
    "small": ImagePreset(16, 64, (8, 16, 16), 512, 64, 128, 8, 16, 2e-3, 5),
    "paper": ImagePreset(64, 256, (50, 100, 150, 200), 20000, 1000, 1000, 50, 32, 1e-3, 9),
}

#: Widths of every model, scaled from the preset's dss-sum widths so that the parameter counts
#: match (computed by :func:`nets.matched_widths`; a slow test re-matches the ``tiny`` ones).
WIDTHS: Dict[str, Dict[str, Dict[str, Tuple[int, ...]]]] = {
    "tiny": {
        "colors": {"dss-sum": (4, 6), "dss-max": (4, 6), "dss-aittala": (8, 12), "dss-sridhar": (6, 8), "siamese-ds": (6, 8)},
        "quality": {"dss-sum": (4, 6), "dss-max": (4, 6), "dss-aittala": (8, 10), "dss-sridhar": (6, 8), "siamese-ds": (6, 8)},
        "deblur": {"dss-sum": (4, 6), "dss-max": (4, 6), "dss-aittala": (8, 10), "dss-sridhar": (6, 8), "siamese-ds": (6, 8)},
    },
    "small": {
        "colors": {"dss-sum": (8, 16, 16), "dss-max": (8, 16, 16), "dss-aittala": (16, 30, 30), "dss-sridhar": (12, 22, 22), "siamese-ds": (12, 22, 22)},
        "quality": {"dss-sum": (8, 16, 16), "dss-max": (8, 16, 16), "dss-aittala": (14, 30, 30), "dss-sridhar": (12, 22, 22), "siamese-ds": (12, 22, 22)},
        "deblur": {"dss-sum": (8, 16, 16), "dss-max": (8, 16, 16), "dss-aittala": (16, 30, 30), "dss-sridhar": (12, 22, 22), "siamese-ds": (12, 22, 22)},
    },
    "paper": {
        "colors": {"dss-sum": (50, 100, 150, 200), "dss-max": (50, 100, 150, 200), "dss-aittala": (96, 192, 288, 386), "dss-sridhar": (70, 140, 210, 278), "siamese-ds": (70, 140, 210, 278)},
        "quality": {"dss-sum": (50, 100, 150, 200), "dss-max": (50, 100, 150, 200), "dss-aittala": (92, 182, 274, 366), "dss-sridhar": (68, 136, 206, 274), "siamese-ds": (68, 136, 206, 274)},
        "deblur": {"dss-sum": (50, 100, 150, 200), "dss-max": (50, 100, 150, 200), "dss-aittala": (96, 192, 288, 382), "dss-sridhar": (70, 140, 210, 278), "siamese-ds": (70, 140, 210, 278)},
    },
}

#: Parameter counts of the models of :data:`WIDTHS` (a test builds every one and counts).
PARAMETERS: Dict[str, Dict[str, Dict[str, int]]] = {
    "tiny": {
        "colors": {"dss-sum": 4253, "dss-max": 4253, "dss-aittala": 4589, "dss-sridhar": 4181, "siamese-ds": 4181},
        "quality": {"dss-sum": 1847, "dss-max": 1847, "dss-aittala": 1727, "dss-sridhar": 1859, "siamese-ds": 1859},
        "deblur": {"dss-sum": 4389, "dss-max": 4389, "dss-aittala": 4240, "dss-sridhar": 4511, "siamese-ds": 4511},
    },
    "small": {
        "colors": {"dss-sum": 47259, "dss-max": 47259, "dss-aittala": 44857, "dss-sridhar": 46539, "siamese-ds": 46539},
        "quality": {"dss-sum": 19185, "dss-max": 19185, "dss-aittala": 19172, "dss-sridhar": 19403, "siamese-ds": 19403},
        "deblur": {"dss-sum": 47819, "dss-max": 47819, "dss-aittala": 47177, "dss-sridhar": 47847, "siamese-ds": 47847},
    },
    "paper": {
        "colors": {"dss-sum": 6023303, "dss-max": 6023303, "dss-aittala": 6025196, "dss-sridhar": 6015905, "siamese-ds": 6015905},
        "quality": {"dss-sum": 2418301, "dss-max": 2418301, "dss-aittala": 2421557, "dss-sridhar": 2416127, "siamese-ds": 2416127},
        "deblur": {"dss-sum": 6045703, "dss-max": 6045703, "dss-aittala": 6044070, "dss-sridhar": 6060075, "siamese-ds": 6060075},
    },
}

SUMMARY = {
    "colors": "colour-channel matching (Table 3): 6 single-channel images of 2 crops -> their colours",
    "quality": "highest-quality image selection (Table 2): 20 degraded copies -> the best one",
    "deblur": "burst deblurring (Table 3): 5 blurred, noisy copies -> the clean image",
}

__all__ = ["ImagePreset", "PRESETS", "SUMMARY", "make_splits", "chunk_size", "data_bytes", "build_model", "loss", "metric", "baseline",
           "write_examples", "parameter_table", "check_preset", "COLORS", "QUALITY", "DEBLUR"]


def check_preset(preset: str) -> ImagePreset:
    if preset not in PRESETS:
        raise EqsolveError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    return PRESETS[preset]


def _check_task(task: str) -> str:
    if task not in sets.TASKS:
        raise EqsolveError(f"unknown image task {task!r}; expected one of {', '.join(sets.TASKS)}")
    return task


def chunk_size(task: str, preset: str) -> int:
    """Sets drawn from one random stream: a split of more sets is generated in chunks of this
    many (about :data:`CHUNK_VALUES` pixel values each, so generation never holds more).

    >>> chunk_size("quality", "small"), chunk_size("quality", "paper")
    (4369, 273)
    """
    p = check_preset(preset)
    return max(1, CHUNK_VALUES // (sets.SET_SIZES[_check_task(task)] * 3 * p.size * p.size))


def data_bytes(task: str, preset: str, counts) -> int:
    """Bytes of the float32 tensors of ``counts`` sets (inputs, targets and, for ``quality``, the
    clean crops) plus the working memory of generating one chunk: checked before generating."""
    p = check_preset(preset)
    n, pixels = sets.SET_SIZES[_check_task(task)], 3 * p.size * p.size
    per_set = {"colors": 2 * n * pixels, "quality": (n + 1) * pixels, "deblur": (n + 1) * pixels}[task]
    return 4 * per_set * int(sum(counts)) + 48 * min(CHUNK_VALUES, n * pixels * int(max(counts)))


def _generate(task: str, count: int, stream: List[int], p: ImagePreset, chunk: int, **kwargs) -> sets.ImageSets:
    """``count`` sets: one stream ``stream`` when ``count <= chunk`` (every ``small`` split),
    else whole chunks of ``chunk`` sets, chunk ``c`` from stream ``stream + [c]``, cut to
    ``count``: so the first sets of a large split do not depend on how many are drawn."""
    if count <= chunk:
        return sets.make(task, count, p.size, rng=np.random.default_rng(stream), short_side=p.short_side,
                         kernel=p.blur_kernel, **kwargs)
    parts = [sets.make(task, chunk, p.size, rng=np.random.default_rng(stream + [c]), short_side=p.short_side,
                       kernel=p.blur_kernel, **kwargs)
             for c in range(-(-count // chunk))]
    return sets.concat(parts).subset(slice(0, count))


def make_splits(task: str, seed: int = 0, preset: str = "small", train_size: Optional[int] = None,
                val_size: Optional[int] = None, test_size: Optional[int] = None,
                noise: str = "gaussian:30", augment: bool = False) -> Dict[str, object]:
    """``{"train", "val", "test"}`` :class:`sets.ImageSets` and ``"info"`` for ``task``.

    Deterministic in ``seed`` (train and validation) and in :data:`TEST_SEED` (test).
    ``augment`` (``colors`` only) shuffles the R, G, B channels of every training crop
    (:func:`sets.color_sets`); validation and test sets are never augmented. Splits of more
    than :func:`chunk_size` sets are drawn in chunks (``paper``): their first sets are the
    same whatever their size. The memory the splits need is checked first
    (:class:`eqsolve.ProblemTooLargeError` names it and the fix).
    """
    _check_task(task)
    p = check_preset(preset)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise EqsolveError(f"seed must be an integer >= 0, got {seed!r}")
    sizes = {"train": train_size or p.train_size, "val": val_size or p.val_size, "test": test_size or p.test_size}
    for split, count in sizes.items():
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise EqsolveError(f"{split} size must be an integer >= 1, got {count!r}")
    require_memory(data_bytes(task, preset, sizes.values()),
                   f"the {task} data of preset {preset} ({sizes['train']} training, {sizes['val']} validation and "
                   f"{sizes['test']} test sets of {sets.SET_SIZES[task]} images of {p.size} x {p.size}; "
                   "--train-size, --val-size and --test-size make it smaller)")
    out: Dict[str, object] = {}
    streams = {"train": [int(seed), 0], "val": [int(seed), 1], "test": [TEST_SEED, 2]}
    chunk = chunk_size(task, preset)
    for split, count in sizes.items():
        source = "test" if split == "test" else "train"
        out[split] = _generate(task, int(count), streams[split], p, chunk, split=source, noise=noise,
                               augment=augment and split == "train")
    out["info"] = {"task": task, "preset": preset, "size": p.size, "short_side": p.short_side,
                   "set_size": sets.SET_SIZES[task], "noise": noise if task == "quality" else None,
                   "train_sources": list(photos.SPLITS["train"]), "test_sources": list(photos.SPLITS["test"])}
    return out


def build_model(task: str, model: str, preset: str = "small", residual=True) -> torch.nn.Module:
    """Model ``model`` for ``task`` at the preset's parameter-matched widths; the U-nets add the
    trivial predictor to their output (``residual``; ``"mean"`` for ``deblur`` starts at the
    burst mean, see :class:`nets.UNet`)."""
    p = check_preset(preset)
    nets._check_model(model)
    table = WIDTHS.get(preset, {}).get(_check_task(task), {})
    widths = table.get(model) or nets.matched_widths(task, model, p.widths)["widths"]
    return nets.build(task, model, p.size, widths, residual=residual)


def loss(task: str):
    """L1 for ``colors`` and ``deblur`` (the metric's own loss), cross-entropy over the set for ``quality``."""
    return F.cross_entropy if _check_task(task) == "quality" else F.l1_loss


def metric(task: str):
    """Per-set scores ``(batch,)``: mean absolute error on [0, 255] or 100 x (choice correct)."""
    _check_task(task)

    def per_set(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if task == "quality":
            return 100.0 * (output.argmax(-1) == target).to(torch.float32)
        diff = (output.detach().float().clamp(0.0, 1.0) - target.float()).abs()
        return 255.0 * diff.reshape(diff.shape[0], -1).mean(-1)

    return per_set


def baseline(task: str, data) -> float:
    """The trivial predictor's metric on ``data`` (grey copy, first element, burst median)."""
    guess = sets.trivial(_check_task(task), data)
    return float(metric(task)(guess, data.y).mean())


@torch.no_grad()
def write_examples(task: str, model: torch.nn.Module, data, folder: str, count: int = 2) -> List[str]:
    """``examples.png`` in ``folder``: the first ``count`` sets of ``data`` with the model's output."""
    first = next(iter(model.parameters()))
    was = model.training
    model.eval()
    x = data.x[:count].to(device=first.device, dtype=first.dtype)
    prediction = model(x).float().cpu()
    model.train(was)
    path = os.path.join(folder, "examples.png")
    title = f"{task}: {getattr(model, 'model', type(model).__name__)}"
    return [pictures.write_grid(task, data.subset(slice(0, count)), prediction, path, count=count, title=title)]


def parameter_table(preset: str = "small") -> List[Dict[str, object]]:
    """Widths and parameter counts of every model of every task at ``preset``."""
    p = check_preset(preset)
    rows = []
    for task in sets.TASKS:
        for model in nets.MODELS:
            m = nets.matched_widths(task, model, p.widths)
            rows.append({"task": task, "model": model, "widths": m["widths"], "parameters": m["parameters"],
                         "dss_sum_parameters": m["reference_parameters"]})
    return rows


# -- the eqsolve train tasks ----------------------------------------------------------------
#: Where the deblurring U-net starts (``eqsolve train deblur --start``): the burst median (the
#: trivial predictor) or the burst mean, which only a sum aggregation can rebuild from the median.
STARTS = ("median", "mean")


def _check_start(start) -> str:
    if start not in STARTS:
        raise EqsolveError(f"unknown deblurring start {start!r}; expected one of {', '.join(STARTS)}")
    return start


def _pool_size(task: str, preset: str, wanted: Optional[int], preset_size: int) -> int:
    """The sets ``eqsolve train`` draws for a split of which it uses the first ``wanted``: the
    preset's ``preset_size`` (or ``wanted`` if larger) when that is one stream, so a ``small``
    run uses the first sets of the same split whatever its ``--train-size``; only ``wanted``
    when the split is chunked (``paper``), whose first sets do not depend on its size."""
    pool = max(preset_size, wanted or 0)
    return pool if pool <= chunk_size(task, preset) or wanted is None else int(wanted)


def _task(task: str):
    from ..train import tasks as registry

    def make_data(seed: int = 0, preset: str = "small", test_size: Optional[int] = None,
                  train_size: Optional[int] = None, val_size: Optional[int] = None, start: Optional[str] = None,
                  **options):
        p = check_preset(preset)
        parts = make_splits(task, seed=seed, preset=preset, train_size=_pool_size(task, preset, train_size, p.train_size),
                            val_size=_pool_size(task, preset, val_size, p.val_size), test_size=test_size, **options)
        info = dict(parts["info"])
        if task == "deblur":
            info["start"] = _check_start(start or "median")  # read by build(): the network's starting point
        return registry.Splits(parts["train"], parts["val"], parts["test"], info)

    def build(name: str, preset: str = "small", splits=None):
        start = (splits.info.get("start") if splits is not None else None) or "median"
        return build_model(task, name, preset, residual="mean" if start == "mean" else True)

    presets = {
        name: registry.Preset(p.epochs, p.batch_size, p.lr, note=f"{p.size} x {p.size} crops, widths {list(p.widths)}",
                              sizes=(p.train_size,))
        for name, p in PRESETS.items()
    }
    quality = task == "quality"
    return registry.Task(
        name=task, summary=SUMMARY[task], make_data=make_data, build_model=build, models=nets.MODELS,
        loss=loss(task), metric=metric(task), baseline=lambda splits: baseline(task, splits.test),
        presets=presets, sizes=(PRESETS["small"].train_size,),
        metric_name="accuracy_percent" if quality else "mae255", higher_is_better=quality,
        write_examples=lambda model, splits, folder: write_examples(task, model, splits.test, folder),
        default_model="dss-sum",
        options={"noise": "gaussian:30"} if quality else {"start": "median"} if task == "deblur" else {},
    )


COLORS = _task("colors")
QUALITY = _task("quality")
DEBLUR = _task("deblur")
