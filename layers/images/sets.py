"""The three image tasks of the paper (sections 6.2-6.4): data, trivial predictors and metrics.

Every generator takes an ``np.random.Generator`` (or a seed) and the split, and is
deterministic for a given seed; it never touches a network. Images are float32 in [0, 1],
stored as ``(N, n, 3, size * size)`` (points of the grid in row-major order, the layout of
``eqsolve.groups.grid_translations((size, size))``).

============ ============================================ ============================ ==========================
task         a set                                         target                       trivial predictor
============ ============================================ ============================ ==========================
``colors``   6 images: 2 crops, each split into its 3      the full-colour crop of      the one channel copied
             channels (the other two set to 0), shuffled  every element (N, 6, 3, d)   into all three (grey)
``quality``  20 copies of one crop, each blurred (random  index of the copy closest     the first element (the
             sigma) and degraded (noise or occlusion)     to the crop in L1 (N,)        sets are shuffled: chance)
``deblur``   5 copies of one crop, each with its own      the clean crop (N, 3, d)      the pixelwise median of
             random motion blur, plus Gaussian noise                                    the burst
============ ============================================ ============================ ==========================

Metrics: :func:`mae255` (mean absolute error per pixel and channel on the [0, 255] scale,
predictions clipped to [0, 1] first) for ``colors`` and ``deblur``; :func:`accuracy` (percent)
for ``quality``.

>>> data = color_sets(4, size=16, split="test", rng=0)
>>> data.x.shape, data.y.shape
(torch.Size([4, 6, 3, 256]), torch.Size([4, 6, 3, 256]))
>>> round(mae255(trivial("colors", data), data.y), 1) > 0
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch

from eqsolve import EqsolveError

from ..train import SetData
from . import photos

TASKS = ("colors", "quality", "deblur")
SET_SIZES = {"colors": 6, "quality": 20, "deblur": 5}
NOISE_KINDS = ("gaussian", "occlusion", "blackout")

__all__ = [
    "TASKS", "SET_SIZES", "ImageSets", "parse_noise", "color_sets", "quality_sets", "burst_sets",
    "make", "concat", "trivial", "closest_to_mean", "match_channels", "mae255", "accuracy", "metric_name",
]


@dataclass
class ImageSets(SetData):
    """:class:`layers.train.SetData` of images with their grid ``size`` and, for ``quality``,
    the clean crop of every set (``clean``, ``(N, 3, d)``; used by the example pictures)."""

    size: int = 0
    clean: Optional[torch.Tensor] = None

    def subset(self, index) -> "ImageSets":
        mask = None if self.mask is None else self.mask[index]
        clean = None if self.clean is None else self.clean[index]
        return ImageSets(self.x[index], self.y[index], mask, self.size, clean)


def concat(parts: List[ImageSets]) -> ImageSets:
    """The sets of ``parts`` one after the other (same task and size).

    >>> a = burst_sets(2, size=8, split="test", rng=0, short_side=64)
    >>> len(concat([a, a])), concat([a, a]).size
    (4, 8)
    """
    if not parts or len({p.size for p in parts}) != 1:
        raise EqsolveError("concat needs at least one ImageSets, all of one image size")

    def joined(name):
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else torch.cat(values)

    return ImageSets(joined("x"), joined("y"), joined("mask"), parts[0].size, joined("clean"))


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _check_counts(n_sets, size) -> None:
    for value, name, low in ((n_sets, "n_sets", 1), (size, "size", 4)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise EqsolveError(f"{name} must be an integer >= {low}, got {value!r}")


def parse_noise(spec) -> Tuple[str, float]:
    """``"gaussian:30"`` -> ``("gaussian", 30.0)`` (sigma on the [0, 255] scale);
    ``"occlusion:30"`` -> ``("occlusion", 30.0)`` (percent of the image covered);
    ``"blackout:30"``: the same squares, black instead of a random colour (a control).

    >>> parse_noise("occlusion:10")
    ('occlusion', 10.0)
    """
    if isinstance(spec, tuple) and len(spec) == 2:
        kind, level = spec
    else:
        text = str(spec)
        kind, sep, level = text.partition(":")
        if not sep:
            raise EqsolveError(f"noise must look like 'gaussian:30', 'occlusion:30' or 'blackout:30', got {spec!r}")
    if kind not in NOISE_KINDS:
        raise EqsolveError(f"unknown noise kind {kind!r}; expected one of {', '.join(NOISE_KINDS)}")
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise EqsolveError(f"noise level must be a number, got {level!r} in {spec!r}") from None
    high = 255.0 if kind == "gaussian" else 90.0
    if not (0.0 <= value <= high) or not math.isfinite(value):
        raise EqsolveError(f"{kind} level must lie in [0, {high:g}], got {value:g}")
    return kind, value


def _flat(images: np.ndarray) -> torch.Tensor:
    """``(..., 3, s, s)`` -> float32 tensor ``(..., 3, s * s)``."""
    return torch.from_numpy(np.ascontiguousarray(images.reshape(images.shape[:-2] + (-1,)), dtype=np.float32))


# -- colour-channel matching ----------------------------------------------------------------
def color_sets(n_sets: int, size: int = 64, split: str = "train", rng=None,
               short_side: int = photos.SHORT_SIDE, shuffle_channels: bool = False) -> ImageSets:
    """Sets of 6 single-channel images from 2 colour crops; targets are the colour crops.

    ``shuffle_channels`` permutes the R, G, B channels of every crop at random (input and
    target alike): an augmentation for the training photographs, so that a network cannot
    learn their few palettes ("a texture like this in red means the retina photograph, so
    green is ...") instead of matching the channels of a set by their structure.
    """
    _check_counts(n_sets, size)
    rng = _rng(rng)
    crops = photos.random_crops(photos.load(split, short_side), 2 * n_sets, size, rng)
    if shuffle_channels:
        channel_order = np.argsort(rng.random((2 * n_sets, 3)), axis=1)
        crops = crops[np.arange(2 * n_sets)[:, None], channel_order]
    crops = crops.reshape(n_sets, 2, 3, size, size)
    x = np.zeros((n_sets, 6, 3, size, size), dtype=np.float32)
    y = np.empty_like(x)
    for k in range(6):
        source, channel = divmod(k, 3)
        x[:, k, channel] = crops[:, source, channel]
        y[:, k] = crops[:, source]
    order = np.argsort(rng.random((n_sets, 6)), axis=1)  # a random permutation per set
    pick = np.arange(n_sets)[:, None]
    return ImageSets(_flat(x[pick, order]), _flat(y[pick, order]), None, size)


# -- degradations ----------------------------------------------------------------------------
def _gaussian_blur(images: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Circular Gaussian blur of ``(m, 3, s, s)`` with one sigma per image (FFT; sigma 0 = copy)."""
    s = images.shape[-1]
    freq = np.fft.fftfreq(s)
    radius2 = freq[:, None] ** 2 + freq[None, :] ** 2
    transfer = np.exp(-2.0 * np.pi ** 2 * sigmas[:, None, None, None] ** 2 * radius2)
    return np.fft.ifft2(np.fft.fft2(images) * transfer).real


def _motion_kernels(m: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` random motion-blur kernels ``(m, k, k)``: a random walk with momentum from the centre,
    visits counted, normalised to sum 1 (a shaky hand-held exposure)."""
    kernels = np.zeros((m, k, k))
    steps = 3 * k
    for j in range(m):
        pos = np.array([k // 2, k // 2], dtype=float)
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(steps):
            angle += rng.normal(0, 0.6)
            pos = np.clip(pos + 0.5 * np.array([np.sin(angle), np.cos(angle)]), 0, k - 1)
            r, c = np.rint(pos).astype(int)
            kernels[j, r, c] += 1.0
    return kernels / kernels.sum(axis=(1, 2), keepdims=True)


def _circular_filter(images: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Circular convolution of ``(m, 3, s, s)`` with kernels ``(m, k, k)`` centred at the origin."""
    s = images.shape[-1]
    k = kernels.shape[-1]
    padded = np.zeros((kernels.shape[0], s, s))
    padded[:, :k, :k] = kernels
    padded = np.roll(padded, (-(k // 2), -(k // 2)), axis=(1, 2))
    return np.fft.ifft2(np.fft.fft2(images) * np.fft.fft2(padded)[:, None]).real


def _occlude(images: np.ndarray, percent: float, rng: np.random.Generator, black: bool = False) -> np.ndarray:
    """Cover ``percent`` % of each image with a square of one random colour (wrapping around);
    ``black``: the same squares in black (the colours are drawn all the same, so the positions
    and everything drawn after them do not change)."""
    m, _, s, _ = images.shape
    side = int(round(s * math.sqrt(percent / 100.0)))
    if side == 0:
        return images
    out = images.copy()
    rows = (rng.integers(0, s, size=m)[:, None] + np.arange(side)) % s
    cols = (rng.integers(0, s, size=m)[:, None] + np.arange(side)) % s
    colours = rng.random((m, 3))
    if black:
        colours[:] = 0.0
    for j in range(m):
        out[j][:, rows[j][:, None], cols[j][None, :]] = colours[j][:, None, None]
    return out


# -- highest-quality image selection --------------------------------------------------------
def quality_sets(n_sets: int, size: int = 64, split: str = "train", rng=None, noise="gaussian:30",
                 n: int = 20, max_blur: float = 1.5, short_side: int = photos.SHORT_SIDE) -> ImageSets:
    """Sets of ``n`` degraded copies of one crop; target = index of the copy closest in L1.

    Each copy is blurred (circular Gaussian, sigma uniform in ``[0, max_blur]`` pixels, drawn
    per copy) and then degraded by ``noise``: ``"gaussian:S"`` adds N(0, (S/255)^2) per pixel,
    ``"occlusion:P"`` covers P % of it with a square of a random colour, ``"blackout:P"`` with
    the same square in black. Values are clipped to [0, 1].
    """
    _check_counts(n_sets, size)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise EqsolveError(f"n must be an integer >= 2, got {n!r}")
    kind, level = parse_noise(noise)
    rng = _rng(rng)
    clean = photos.random_crops(photos.load(split, short_side), n_sets, size, rng).astype(np.float64)
    copies = np.repeat(clean, n, axis=0)  # (n_sets * n, 3, s, s)
    copies = _gaussian_blur(copies, rng.uniform(0.0, max_blur, size=n_sets * n))
    if kind == "gaussian":
        copies = copies + rng.normal(0.0, level / 255.0, size=copies.shape)
    else:
        copies = _occlude(copies, level, rng, black=kind == "blackout")
    copies = np.clip(copies, 0.0, 1.0).astype(np.float32).reshape(n_sets, n, 3, size, size)
    distance = np.abs(copies - clean[:, None].astype(np.float32)).sum(axis=(2, 3, 4))
    target = distance.argmin(axis=1)
    return ImageSets(_flat(copies), torch.from_numpy(target.astype(np.int64)), None, size,
                     _flat(clean.astype(np.float32)))


# -- burst deblurring -----------------------------------------------------------------------
def burst_sets(n_sets: int, size: int = 64, split: str = "train", rng=None, n: int = 5,
               kernel: int = 7, noise: Tuple[float, float] = (2.0, 10.0),
               short_side: int = photos.SHORT_SIDE) -> ImageSets:
    """Bursts of ``n`` copies of one crop, each with its own random motion blur (a ``kernel x
    kernel`` random walk) and Gaussian noise (sigma uniform in ``noise`` on the [0, 255]
    scale, drawn per burst); target = the clean crop ``(N, 3, d)``."""
    _check_counts(n_sets, size)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise EqsolveError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(kernel, bool) or not isinstance(kernel, (int, np.integer)) or not 1 <= kernel <= size:
        raise EqsolveError(f"kernel must be an integer in [1, size={size}], got {kernel!r}")
    rng = _rng(rng)
    clean = photos.random_crops(photos.load(split, short_side), n_sets, size, rng).astype(np.float64)
    copies = np.repeat(clean, n, axis=0)
    copies = _circular_filter(copies, _motion_kernels(n_sets * n, kernel, rng))
    sigma = np.repeat(rng.uniform(noise[0], noise[1], size=n_sets), n) / 255.0
    copies = copies + sigma[:, None, None, None] * rng.standard_normal(copies.shape)
    copies = np.clip(copies, 0.0, 1.0).astype(np.float32).reshape(n_sets, n, 3, size, size)
    return ImageSets(_flat(copies), _flat(clean.astype(np.float32)), None, size)


def make(task: str, n_sets: int, size: int, split: str, rng=None, noise="gaussian:30",
         short_side: int = photos.SHORT_SIDE, kernel: int = 7, augment: bool = False) -> ImageSets:
    """The generator of ``task`` (``noise`` applies to ``quality`` only, ``kernel`` to
    ``deblur``, ``augment`` (channel shuffling) to ``colors``); crops of ``size`` from the
    photographs of ``split`` resized to ``short_side``."""
    if task == "colors":
        return color_sets(n_sets, size, split, rng, short_side=short_side, shuffle_channels=augment)
    if task == "quality":
        return quality_sets(n_sets, size, split, rng, noise=noise, short_side=short_side)
    if task == "deblur":
        return burst_sets(n_sets, size, split, rng, kernel=kernel, short_side=short_side)
    raise EqsolveError(f"unknown image task {task!r}; expected one of {', '.join(TASKS)}")


# -- trivial predictors and metrics ---------------------------------------------------------
def trivial(task: str, data: SetData) -> torch.Tensor:
    """The trivial predictor of ``task`` on ``data.x`` (same layout as a model's output):
    ``colors``: grey copies (the one non-zero channel in all three); ``quality``: scores that
    pick the first element; ``deblur``: the pixelwise median of the burst."""
    x = data.x
    if task == "colors":
        return x.sum(-2, keepdim=True).expand_as(x).clone()
    if task == "quality":
        scores = torch.zeros(x.shape[:2], dtype=x.dtype)
        scores[:, 0] = 1.0
        return scores
    if task == "deblur":
        return x.median(dim=1).values
    raise EqsolveError(f"unknown image task {task!r}; expected one of {', '.join(TASKS)}")


def closest_to_mean(data: SetData) -> torch.Tensor:
    """Scores of a fixed (not learnt) early-aggregation rule for ``quality``: minus the L1
    distance of every copy to the pixelwise mean of its set, so the copy closest to the set
    mean wins. The mean of 20 copies averages the noise away, so it stands in for the unseen
    clean crop; a network that compares each element with the set pixel by pixel can learn it.

    >>> data = quality_sets(8, size=8, split="test", rng=0, short_side=64)
    >>> closest_to_mean(data).shape
    torch.Size([8, 20])
    """
    x = data.x.double()
    return -(x - x.mean(1, keepdim=True)).abs().sum((-2, -1))


def match_channels(data: SetData) -> torch.Tensor:
    """Colourings by a fixed (not learnt) early-aggregation rule for ``colors``: of the four ways
    to split a set's six single-channel elements into two triples (one R, one G, one B each),
    take the one whose within-triple channels are most alike (sum of the Pearson correlations
    of their pixel values) and colour every element with its triple. Same layout as ``data.y``.

    It compares elements pixel by pixel, which is what a DSS layer can learn and a Siamese
    network cannot; when it picks the right split its output is the target exactly.

    >>> data = color_sets(8, size=16, split="test", rng=0, short_side=64)
    >>> match_channels(data).shape
    torch.Size([8, 6, 3, 256])
    """
    x = data.x
    if x.dim() != 4 or x.shape[1] != 6 or x.shape[2] != 3:
        raise EqsolveError(f"match_channels takes colour sets (N, 6, 3, d), got {list(x.shape)}")
    xd = x.double()
    channel = _element_channels(xd.abs().sum(-1))
    v = xd.sum(2)
    v = v - v.mean(-1, keepdim=True)
    v = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    corr = v @ v.transpose(1, 2)  # (N, 6, 6)
    # elements sorted as R, R, G, G, B, B; the four splits pair R0 with G_a and B_b
    order = torch.argsort(channel * 6 + torch.arange(6), dim=1)
    r, g, b = order[:, 0:2], order[:, 2:4], order[:, 4:6]
    rows = torch.arange(x.shape[0])
    splits = torch.stack([torch.stack([torch.stack([r[:, 0], g[:, ga], b[:, bb]], 1),
                                       torch.stack([r[:, 1], g[:, 1 - ga], b[:, 1 - bb]], 1)], 1)
                          for ga in (0, 1) for bb in (0, 1)], 1)  # (N, 4 splits, 2 triples, 3 elements)
    pairs = corr[rows[:, None, None, None], splits[..., [0, 0, 1]], splits[..., [1, 2, 2]]]  # (N, 4, 2, 3)
    best = pairs.sum((2, 3)).argmax(1)  # first of equal scores
    triples = splits[rows, best]  # (N, 2, 3)
    # each element holds only its own channel, so a triple's sum is the colour image
    colours = xd[rows[:, None, None], triples].sum(2)  # (N, 2, 3, d)
    out = torch.empty_like(xd)
    out[rows[:, None, None], triples] = colours[:, :, None].expand(-1, -1, 3, -1, -1)
    return out.to(x.dtype)


def _element_channels(energy: torch.Tensor) -> torch.Tensor:
    """The channel of each element of colour sets from ``energy`` ``(N, 6, 3)`` (absolute sums
    per channel): the non-zero one; an all-zero element (a black crop channel) takes the channel
    its set lacks. Refuses sets that are not two elements of each channel."""
    channel = energy.argmax(-1)
    blank = energy.sum(-1) == 0
    for n in torch.nonzero(blank.any(1)).flatten().tolist():
        missing = [c for c in range(3) for _ in range(2 - int((channel[n][~blank[n]] == c).sum()))]
        if len(missing) != int(blank[n].sum()):
            break
        channel[n, blank[n]] = torch.tensor(missing, dtype=channel.dtype)
    counts = torch.stack([(channel == c).sum(1) for c in range(3)], 1)
    if ((energy > 0).sum(-1) > 1).any() or not bool((counts == 2).all()):
        raise EqsolveError("match_channels takes colour sets: six elements, each non-zero in one channel only, "
                           "two of each channel (as color_sets makes them)")
    return channel


def mae255(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean absolute error per pixel and channel on the [0, 255] scale (prediction clipped to [0, 1])."""
    if prediction.shape != target.shape:
        raise EqsolveError(f"prediction {list(prediction.shape)} and target {list(target.shape)} differ in shape")
    diff = (prediction.detach().double().clamp(0.0, 1.0) - target.double()).abs()
    return float(diff.mean()) * 255.0


def accuracy(scores: torch.Tensor, target: torch.Tensor) -> float:
    """Percent of sets whose highest score is the target element."""
    if scores.dim() != 2 or scores.shape[0] != target.shape[0]:
        raise EqsolveError(f"scores must be (N, n) for {target.shape[0]} targets, got {list(scores.shape)}")
    return 100.0 * float((scores.argmax(-1).cpu() == target.cpu()).double().mean())


def metric_name(task: str) -> str:
    """``"mae255"`` (lower is better) or ``"accuracy"`` (percent, higher is better)."""
    return "accuracy" if task == "quality" else "mae255"
