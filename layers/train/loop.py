"""The training loop under ``eqsolve train``, and the plain Python API :func:`fit`.

:func:`train_model` trains one model on one :class:`SetData` with Adam and keeps the state of
the epoch with the best validation metric. It runs the same way on CPU, on CUDA (data moved to
the device once, no host synchronisation per step), with bfloat16 autocast (``amp``), with
``torch.compile``, and in several processes (``torch.distributed`` initialised, e.g. by
``torchrun``): the model is wrapped in ``DistributedDataParallel`` and every process takes its
share of each global batch through a ``DistributedSampler``, so ``batch_size`` is the global
batch and a 2-process run follows the 1-process loss trajectory. Checkpoints (atomic, rank 0
only) after every epoch make a run resumable: resuming gives the same numbers as an
uninterrupted run on CPU.

>>> import torch, eqsolve; from eqsolve import layers
>>> data = layers.train.synthetic_signal_sets(96, n=4, d=8, rng=0)
>>> net = layers.models.invariant(eqsolve.solve(eqsolve.groups.cyclic(8)), [1, 4], n_classes=3)
>>> h = layers.train.train_model(net, data, val=data, epochs=2, lr=1e-2, seed=0, progress=False)
>>> len(h.losses), h.best_epoch in (1, 2)
(2, True)
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from eqsolve import EqsolveError

from .data import SetData

__all__ = ["History", "train_model", "fit", "evaluate", "evaluate_metric", "default_loss", "accuracy",
           "CHECKPOINT_FORMAT", "load_checkpoint", "save_atomic", "world"]

CHECKPOINT_FORMAT = "eqsolve.train.checkpoint/1"


def default_loss(model: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Cross-entropy for ``invariant`` / ``selection`` models, mean squared error otherwise."""
    task = getattr(model, "task", "invariant")
    if task in ("invariant", "selection"):
        return F.cross_entropy
    return F.mse_loss


def accuracy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-set 0/1 scores of ``argmax(output) == target``."""
    return (output.argmax(-1) == target).to(torch.float32)


def _dtype_of(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def world() -> tuple:
    """``(rank, world_size)`` of the running process group, ``(0, 1)`` without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def save_atomic(obj, path: str) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_checkpoint(path: str, fingerprint: Optional[Dict[str, object]] = None) -> Dict[str, object]:
    """Read a checkpoint written by :func:`train_model` (``weights_only``: never unpickles code).

    Raises ``EqsolveError`` if the file is not a readable checkpoint, or if it was written for
    another run (its ``fingerprint`` differs from the one given).
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types on a damaged file
        raise EqsolveError(f"checkpoint {path} is damaged or not a checkpoint ({type(err).__name__}: {err})"[:400]) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise EqsolveError(f"{path} is not an eqsolve training checkpoint (format {CHECKPOINT_FORMAT})")
    if fingerprint is not None and state.get("fingerprint") != fingerprint:
        raise EqsolveError(
            f"checkpoint {path} belongs to another run: it was written for {state.get('fingerprint')}, "
            f"this run is {fingerprint}"
        )
    return state


@dataclass
class History:
    """What :func:`train_model` returns: per-epoch training loss, validation metric and time,
    the best epoch (1-based) and its validation metric, and the best model state (CPU)."""

    losses: List[float] = field(default_factory=list)
    val: List[float] = field(default_factory=list)
    seconds: List[float] = field(default_factory=list)
    best_epoch: int = 0
    best_val: float = float("nan")
    best_state: Optional[Dict[str, torch.Tensor]] = None

    def to_dict(self) -> Dict[str, object]:
        return {"losses": self.losses, "val": self.val, "seconds": self.seconds,
                "best_epoch": self.best_epoch, "best_val": self.best_val}


def _cpu_copy(state: Dict[str, object]) -> Dict[str, object]:
    """A CPU copy of a ``state_dict`` (tensors copied; extra state such as the layers' basis
    fingerprints deep-copied)."""
    import copy

    return {k: v.detach().to("cpu", copy=True) if isinstance(v, torch.Tensor) else copy.deepcopy(v)
            for k, v in state.items()}


def _to_device(data: SetData, device: torch.device, dtype: torch.dtype) -> SetData:
    x = data.x.to(dtype)
    y, mask = data.y, data.mask
    if y.is_floating_point():
        y = y.to(dtype)
    if device.type == "cuda":
        x, y = x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
        mask = None if mask is None else mask.pin_memory().to(device, non_blocking=True)
    else:
        x, y = x.to(device), y.to(device)
        mask = None if mask is None else mask.to(device)
    return SetData(x, y, mask)


def _check_device(device) -> torch.device:
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise EqsolveError(f"unknown device {device!r} ({err})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EqsolveError(f"device {device} requested but CUDA is not available (torch {torch.__version__}, "
                           f"built with CUDA {torch.version.cuda}); train on the CPU (device='cpu', "
                           "--device cpu), or install a CUDA build of torch on a machine with a GPU")
    if device.type not in ("cpu", "cuda"):
        raise EqsolveError(f"device must be cpu or cuda, got {device}")
    return device


def _call(model, x, mask):
    return model(x) if mask is None else model(x, mask)


@torch.no_grad()
def evaluate_metric(model: nn.Module, data: SetData, metric: Callable = accuracy, device=None,
                    batch_size: int = 256, amp: bool = False) -> float:
    """Mean of ``metric(model(x), y)`` over ``data`` (evaluation mode, no gradients)."""
    first = next(iter(model.parameters()), None)
    device = torch.device(device) if device is not None else (first.device if first is not None else torch.device("cpu"))
    dtype = _dtype_of(model)
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    for start in range(0, len(data), batch_size):
        part = data.subset(slice(start, start + batch_size))
        x = part.x.to(device=device, dtype=dtype)
        y = part.y.to(device)
        mask = None if part.mask is None else part.mask.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = _call(model, x, mask)
        total += metric(out.float(), y).sum().to(torch.float64)
    model.train(was_training)
    return float(total) / max(len(data), 1)


def evaluate(model: nn.Module, data: SetData, device=None, batch_size: int = 256) -> float:
    """Accuracy of ``argmax(model(x))`` against integer labels ``data.y`` (classification tasks)."""
    if not isinstance(data, SetData):
        raise EqsolveError(f"evaluate takes a layers.train.SetData, got {type(data).__name__}")
    if data.y.is_floating_point():
        raise EqsolveError("evaluate computes an accuracy: data.y must hold integer labels")
    return evaluate_metric(model, data, accuracy, device=device, batch_size=batch_size)


def _check_labels(y: torch.Tensor, name: str) -> None:
    """Cross-entropy needs one integer class per set; say so before torch does, deep in the loss.

    >>> _check_labels(torch.tensor([0.0, 1.0]), "data")
    Traceback (most recent call last):
    ...
    eqsolve._errors.EqsolveError: data.y holds torch.float32 values; a classifier's targets are integer class labels of shape (sets,): pass y.long() (or give loss= for soft targets)
    """
    if y.dim() != 1 or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise EqsolveError(f"{name}.y holds {y.dtype} values" + (f" of shape {list(y.shape)}" if y.dim() != 1 else "")
                           + "; a classifier's targets are integer class labels of shape (sets,): pass y.long() "
                           "(or give loss= for soft targets)")
    if y.numel() and int(y.min()) < 0:
        raise EqsolveError(f"{name}.y has a negative class label ({int(y.min())}); labels are 0 .. classes-1")


def _check_int(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise EqsolveError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def train_model(model: nn.Module, data: SetData, *, val: Optional[SetData] = None, epochs: int = 10,
                lr: float = 1e-3, batch_size: int = 32, weight_decay: float = 0.0, loss: Optional[Callable] = None,
                metric: Callable = accuracy, higher_is_better: bool = True, seed: int = 0, device=None,
                amp: bool = False, compile: bool = False, compile_backend: str = "inductor",
                checkpoint: Optional[str] = None, fingerprint: Optional[Dict[str, object]] = None,
                progress: Optional[bool] = None, desc: str = "train",
                callback: Optional[Callable[[int, "History"], None]] = None) -> History:
    """Train ``model`` on ``data`` with Adam; keep the epoch with the best ``val`` metric.

    Parameters
    ----------
    model:
        Called as ``model(x, mask)`` (or ``model(x)`` when ``data.mask`` is None); moved to
        ``device`` (default: where its parameters are).
    data, val:
        :class:`SetData`; without ``val`` the best epoch is the last one.
    epochs, lr, batch_size, weight_decay:
        ``batch_size`` is the *global* batch: with ``W`` processes each takes ``batch_size / W``
        sets per step (it must divide).
    loss, metric, higher_is_better:
        ``loss(out, y)`` (default :func:`default_loss` of the model's task); ``metric(out, y)``
        per-set scores, averaged on ``val``.
    seed:
        Seeds the batch order (``DistributedSampler(seed=seed)``, reshuffled every epoch).
        The model's initial weights are the caller's business (build it under a seed).
    device, amp, compile, compile_backend:
        ``amp``: bfloat16 autocast; ``compile``: ``torch.compile(model, backend=...)``.
    checkpoint, fingerprint:
        Path of this run's checkpoint: written (rank 0, atomically) after every epoch, and
        resumed from when it exists (it must carry the same ``fingerprint``).
    progress:
        tqdm bar on stderr; default: only when stderr is a terminal (and on rank 0).
    callback:
        ``callback(epoch, history)`` after each epoch's checkpoint (e.g. to stop early).
    """
    from torch.utils.data.distributed import DistributedSampler

    if not isinstance(data, SetData) or (val is not None and not isinstance(val, SetData)):
        raise EqsolveError("train_model takes layers.train.SetData for data and val")
    _check_int(epochs, "epochs")
    _check_int(batch_size, "batch_size")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise EqsolveError(f"lr must be a finite number > 0, got {lr!r}")
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    device = _check_device(device)
    rank, size = world()
    if batch_size % size:
        raise EqsolveError(f"batch_size {batch_size} must be divisible by the number of processes {size}")
    local_batch = batch_size // size
    model.to(device)
    dtype = _dtype_of(model)
    loss_fn = loss or default_loss(model)
    if loss is None and loss_fn is F.cross_entropy:
        for name, split in (("data", data), ("val", val)):
            if split is not None:
                _check_labels(split.y, name)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = History()
    start_epoch = 0
    if checkpoint is not None and os.path.exists(checkpoint):
        state = load_checkpoint(checkpoint, fingerprint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        h = state["history"]
        history = History(list(h["losses"]), list(h["val"]), list(h["seconds"]), int(h["best_epoch"]),
                          float(h["best_val"]), state.get("best_state"))
        start_epoch = len(history.losses)
    train_data = _to_device(data, device, dtype)
    val_data = None if val is None else _to_device(val, device, dtype)
    net: nn.Module = model
    if size > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if compile:
        net = torch.compile(net, backend=compile_backend)
    sampler = DistributedSampler(range(len(data)), num_replicas=size, rank=rank, shuffle=True, seed=int(seed))
    steps = math.ceil(sampler.num_samples / local_batch)
    show = (sys.stderr.isatty() if progress is None else bool(progress)) and rank == 0
    bar = None
    if show and start_epoch < epochs:
        from tqdm.auto import tqdm

        bar = tqdm(total=(epochs - start_epoch) * steps, desc=desc, leave=True, file=sys.stderr)
    for epoch in range(start_epoch, epochs):
        began = time.perf_counter()
        sampler.set_epoch(epoch)
        order = torch.tensor(list(iter(sampler)), dtype=torch.long).to(device)
        net.train()
        total = torch.zeros((), dtype=torch.float64, device=device)
        for step in range(steps):
            index = order[step * local_batch:(step + 1) * local_batch]
            x, y = train_data.x[index], train_data.y[index]
            mask = None if train_data.mask is None else train_data.mask[index]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                out = _call(net, x, mask)
            value = loss_fn(out.float(), y)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            total += value.detach().to(torch.float64) * index.numel()
            if bar is not None:
                bar.update(1)
        if size > 1:
            import torch.distributed as dist

            dist.all_reduce(total)
        mean_loss = float(total) / max(size * sampler.num_samples, 1)
        history.losses.append(mean_loss)
        if val_data is not None:
            score = evaluate_metric(model, val_data, metric, device=device, amp=amp)
        else:
            score = -mean_loss if higher_is_better else mean_loss
        history.val.append(score)
        history.seconds.append(time.perf_counter() - began)
        better = (history.best_epoch == 0 or (score > history.best_val if higher_is_better else score < history.best_val))
        if better:
            history.best_epoch, history.best_val = epoch + 1, score
            history.best_state = _cpu_copy(model.state_dict())
        if bar is not None:
            shown = "" if val_data is None else f" val {score:.3f}"
            bar.set_postfix_str(f"epoch {epoch + 1}/{epochs} loss {mean_loss:.4f}{shown}")
        if checkpoint is not None and rank == 0:
            save_atomic({"format": CHECKPOINT_FORMAT, "fingerprint": fingerprint, "epoch": epoch + 1,
                         "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "history": history.to_dict(), "best_state": history.best_state}, checkpoint)
        if size > 1:
            import torch.distributed as dist

            dist.barrier()
        if callback is not None:
            callback(epoch + 1, history)
    if bar is not None:
        bar.close()
    model.eval()
    return history


def fit(model: nn.Module, data: SetData, epochs: int = 10, lr: float = 1e-3, device=None, batch_size: int = 32,
        loss: Optional[Callable] = None, seed: int = 0, progress: Optional[bool] = None,
        weight_decay: float = 0.0) -> List[float]:
    """Train ``model`` on ``data`` with Adam; returns the mean training loss of each epoch.

    The plain API over :func:`train_model` (no validation, no checkpoint).

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
        Seeds the batch order (the global RNG is untouched).
    progress:
        Show a progress bar on stderr; default: only when stderr is a terminal.
    """
    if not isinstance(data, SetData):
        raise EqsolveError(f"fit takes a layers.train.SetData, got {type(data).__name__}")
    history = train_model(model, data, epochs=epochs, lr=lr, device=device, batch_size=batch_size, loss=loss,
                          seed=seed, progress=progress, weight_decay=weight_decay, desc="fit")
    return history.losses
