"""A tiny synthetic task from the paper's 1D-signal setting and a plain training loop.

:func:`synthetic_signal_sets` draws sets of noisy, randomly (cyclically) shifted copies of one
base signal per set; the label is the *kind* of base signal (sine, square, sawtooth, triangle).
Each element alone is ambiguous under the noise; the set as a whole is not, and the symmetry
of the task is exactly ``S_n x C_d`` (reordering the set, shifting any element). A DSS model for
``eqsolve.groups.cyclic(d)`` learns it in a few seconds on a CPU (1000 sets of 8 signals of
length 32, channels ``[1, 16, 16]``, 20 epochs: about 90% test accuracy in 2-3 s):

>>> import torch, eqsolve; from eqsolve import layers
>>> _ = torch.manual_seed(0)
>>> data = layers.train.synthetic_signal_sets(128, n=8, d=16, rng=0)
>>> data.x.shape, data.y.shape
(torch.Size([128, 8, 1, 16]), torch.Size([128]))
>>> net = layers.models.invariant(eqsolve.solve(eqsolve.groups.cyclic(16)), [1, 8, 8], n_classes=3)
>>> history = layers.train.fit(net, data, epochs=4, lr=1e-2, seed=0)
>>> history[-1] < history[0]
True

:func:`fit` picks the loss from the model's task (cross-entropy for ``invariant`` and
``selection``, mean squared error for ``merging`` and ``equivariant``), shows a progress bar
only when stderr is a terminal, and returns the mean training loss of every epoch.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from eqsolve import EqsolveError

SIGNALS = ("sine", "square", "sawtooth", "triangle")

__all__ = ["SIGNALS", "SetData", "synthetic_signal_sets", "fit", "evaluate", "default_loss"]


@dataclass
class SetData:
    """Sets ``x`` ``(N, n, c, d)``, targets ``y`` (``(N,)`` labels or any per-set target) and an
    optional ``mask`` ``(N, n)`` bool marking the real elements."""

    x: torch.Tensor
    y: torch.Tensor
    mask: Optional[torch.Tensor] = None

    def __post_init__(self):
        if not isinstance(self.x, torch.Tensor) or self.x.dim() != 4:
            raise EqsolveError(f"SetData.x must be a tensor (N, n, c, d), got {getattr(self.x, 'shape', self.x)!r}")
        if not isinstance(self.y, torch.Tensor) or self.y.shape[:1] != self.x.shape[:1]:
            raise EqsolveError(
                f"SetData.y must be a tensor with one target per set ({self.x.shape[0]}), got "
                f"{list(getattr(self.y, 'shape', [])) or type(self.y).__name__}"
            )
        if self.mask is not None and (self.mask.dtype != torch.bool or list(self.mask.shape) != list(self.x.shape[:2])):
            raise EqsolveError(f"SetData.mask must be bool of shape {list(self.x.shape[:2])}, got {list(self.mask.shape)}")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, index) -> "SetData":
        return SetData(self.x[index], self.y[index], None if self.mask is None else self.mask[index])

    def split(self, fraction: float = 0.8) -> "tuple[SetData, SetData]":
        """The first ``fraction`` of the sets and the rest (the sets are already shuffled)."""
        if not 0.0 < fraction < 1.0:
            raise EqsolveError(f"split fraction must lie in (0, 1), got {fraction}")
        cut = int(round(len(self) * fraction))
        return self.subset(slice(0, cut)), self.subset(slice(cut, None))


def _base_signal(kind: str, d: int, cycles: int) -> np.ndarray:
    phase = (np.arange(d) * cycles / d) % 1.0
    if kind == "sine":
        return np.sin(2 * np.pi * phase)
    if kind == "square":
        return np.where(phase < 0.5, 1.0, -1.0)
    if kind == "sawtooth":
        return 2.0 * phase - 1.0
    return 1.0 - 4.0 * np.abs(phase - 0.5)  # triangle


def synthetic_signal_sets(n_sets: int, n: int, d: int, rng=None, n_classes: int = 3, noise: float = 0.5,
                          min_n: Optional[int] = None, dtype: torch.dtype = torch.float32) -> SetData:
    """Sets of noisy shifted copies of a random periodic signal; label = the kind of signal.

    For each set: a kind ``y`` among the first ``n_classes`` of :data:`SIGNALS`, a frequency
    (1 to 3 periods over the ``d`` samples) and an amplitude in ``[0.5, 1.5]``; each of its ``n``
    elements is that signal cyclically shifted by a uniform random offset, plus Gaussian noise
    of standard deviation ``noise``.

    Parameters
    ----------
    n_sets, n, d:
        Number of sets, elements per set, samples per signal.
    rng:
        ``np.random.Generator`` or seed.
    n_classes:
        2 to 4 kinds of signal.
    noise:
        Noise standard deviation (the signals have amplitude 0.5 to 1.5).
    min_n:
        If given, each set has a uniform random size in ``[min_n, n]``; the rest is zero
        padding and ``mask`` marks the real elements.
    dtype:
        Of ``x``.

    Returns
    -------
    SetData
        ``x`` ``(n_sets, n, 1, d)``, ``y`` ``(n_sets,)`` int64, ``mask`` (``None`` unless ``min_n``).
    """
    rng = np.random.default_rng(rng)
    for value, name, low in ((n_sets, "n_sets", 1), (n, "n", 1), (d, "d", 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise EqsolveError(f"{name} must be an integer >= {low}, got {value!r}")
    if not isinstance(n_classes, (int, np.integer)) or not 2 <= n_classes <= len(SIGNALS):
        raise EqsolveError(f"n_classes must be 2 to {len(SIGNALS)}, got {n_classes!r}")
    if not (isinstance(noise, (int, float)) and noise >= 0 and math.isfinite(noise)):
        raise EqsolveError(f"noise must be a finite number >= 0, got {noise!r}")
    if min_n is not None and not (isinstance(min_n, (int, np.integer)) and 1 <= min_n <= n):
        raise EqsolveError(f"min_n must be an integer in [1, n={n}], got {min_n!r}")
    labels = rng.integers(0, n_classes, size=n_sets)
    cycles = rng.integers(1, 4, size=n_sets)
    amplitude = rng.uniform(0.5, 1.5, size=n_sets)
    shifts = rng.integers(0, d, size=(n_sets, n))
    bases = np.stack([_base_signal(SIGNALS[k], d, c) for k, c in zip(labels, cycles)]) * amplitude[:, None]
    index = (np.arange(d)[None, None, :] - shifts[:, :, None]) % d  # element j: base shifted by shifts[j]
    x = np.take_along_axis(np.broadcast_to(bases[:, None, :], (n_sets, n, d)), index, axis=2)
    x = x + noise * rng.standard_normal((n_sets, n, d))
    mask = None
    if min_n is not None:
        sizes = rng.integers(min_n, n + 1, size=n_sets)
        keep = np.arange(n)[None, :] < sizes[:, None]
        x = np.where(keep[:, :, None], x, 0.0)
        mask = torch.from_numpy(keep)
    return SetData(torch.from_numpy(x[:, :, None, :].copy()).to(dtype), torch.from_numpy(labels.astype(np.int64)), mask)


def default_loss(model: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Cross-entropy for ``invariant`` / ``selection`` models, mean squared error otherwise."""
    task = getattr(model, "task", "invariant")
    if task in ("invariant", "selection"):
        return F.cross_entropy
    return F.mse_loss


def _dtype_of(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def fit(model: nn.Module, data: SetData, epochs: int = 10, lr: float = 1e-3, device=None, batch_size: int = 32,
        loss: Optional[Callable] = None, seed: int = 0, progress: Optional[bool] = None,
        weight_decay: float = 0.0) -> List[float]:
    """Train ``model`` on ``data`` with Adam; returns the mean training loss of each epoch.

    Parameters
    ----------
    model:
        Called as ``model(x, mask)`` (or ``model(x)`` when ``data.mask`` is None).
    data:
        A :class:`SetData`.
    epochs, lr, batch_size, weight_decay:
        The usual; every epoch visits every set once in a fresh random order.
    device:
        Where to train (default: where the model's parameters are); the model is moved there.
    loss:
        ``loss(output, target)``; default :func:`default_loss` of the model's task.
    seed:
        Seeds the batch order (a private ``torch.Generator``; the global RNG is untouched).
    progress:
        Show a progress bar on stderr; default: only when stderr is a terminal.
    """
    if not isinstance(data, SetData):
        raise EqsolveError(f"fit takes a layers.train.SetData, got {type(data).__name__}")
    for value, name in ((epochs, "epochs"), (batch_size, "batch_size")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise EqsolveError(f"{name} must be an integer >= 1, got {value!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise EqsolveError(f"lr must be > 0, got {lr!r}")
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    device = torch.device(device)
    model.to(device)
    dtype = _dtype_of(model)
    loss_fn = loss or default_loss(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(int(seed))
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = _Progress(epochs * math.ceil(len(data) / batch_size)) if show else None
    history: List[float] = []
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(data), generator=generator)
        total, count = 0.0, 0
        for start in range(0, len(data), batch_size):
            index = order[start:start + batch_size]
            x = data.x[index].to(device=device, dtype=dtype)
            y = data.y[index].to(device)
            if y.is_floating_point():
                y = y.to(dtype)
            mask = None if data.mask is None else data.mask[index].to(device)
            out = model(x) if mask is None else model(x, mask)
            value = loss_fn(out, y)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            total += float(value.detach()) * len(index)
            count += len(index)
            if bar is not None:
                bar.step(f"epoch {epoch + 1}/{epochs} loss {total / count:.4f}")
        history.append(total / max(count, 1))
    if bar is not None:
        bar.close()
    model.eval()
    return history


@torch.no_grad()
def evaluate(model: nn.Module, data: SetData, device=None, batch_size: int = 256) -> float:
    """Accuracy of ``argmax(model(x))`` against integer labels ``data.y`` (classification tasks)."""
    if not isinstance(data, SetData):
        raise EqsolveError(f"evaluate takes a layers.train.SetData, got {type(data).__name__}")
    if data.y.is_floating_point():
        raise EqsolveError("evaluate computes an accuracy: data.y must hold integer labels")
    first = next(iter(model.parameters()), None)
    device = torch.device(device) if device is not None else (first.device if first is not None else torch.device("cpu"))
    dtype = _dtype_of(model)
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        part = data.subset(slice(start, start + batch_size))
        x = part.x.to(device=device, dtype=dtype)
        out = model(x) if part.mask is None else model(x, part.mask.to(device))
        correct += int((out.argmax(-1).cpu() == part.y).sum())
    model.train(was_training)
    return correct / max(len(data), 1)


class _Progress:
    """A one-line progress bar on stderr (used only when it is a terminal)."""

    def __init__(self, total: int, width: int = 30):
        self.total = max(int(total), 1)
        self.done = 0
        self.width = width
        self.start = time.perf_counter()

    def step(self, text: str) -> None:
        self.done += 1
        filled = int(self.width * self.done / self.total)
        seconds = time.perf_counter() - self.start
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {text} ({seconds:.1f} s)")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()
