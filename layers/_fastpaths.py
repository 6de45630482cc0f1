"""Executors for ``EquivariantLinear``: how to apply ``W = theta[orbit_index]`` to a batch.

Every executor is a small module with ``forward(theta_pad, x) -> y`` where

* ``theta_pad`` is ``(out_channels, in_channels, dim + 1)``: the layer's parameters with a
  trailing zero slot, so that id ``-1`` (outside a support mask) reads a zero weight;
* ``x`` is ``(N, in_channels, q)`` and ``y`` is ``(N, out_channels, p)`` for the executor's
  ``(p, q)`` table;
* ``bias`` is None or the invariant bias, ``(out_channels, p)`` or ``(out_channels, 1)`` when
  the output action is transitive; executors fuse it where they can.

The planner (:func:`plan`) inspects the orbit table once, at construction, and picks the
cheapest executor that reproduces the generic gather exactly:

``generic``
    ``W`` gathered in one indexing op, then one matmul (``x @ W.T``).
``conv`` / ``fft``
    The table is *circulant* on a grid: ``T[i, j]`` depends only on
    ``(coord(i) - coord(j)) mod shape``. That is the regular action of a translation group
    (``cyclic(d)``, ``grid_translations(shape)``), with or without a support mask. ``conv``
    runs a circular ``conv1d/2d/3d`` over the bounding window of the kernel's support; ``fft``
    multiplies in Fourier space (cheaper when the kernel is wide).
``deepsets``
    ``T`` has one id on the diagonal and one off it ("identity + all-ones", the S_d case):
    ``y = (a - b) x + b sum(x)``.
``const``
    One id for the whole table: ``y = theta_k @ sum(x)`` broadcast over the outputs.
``blocks``
    Intransitive actions: one sub-executor per (output orbit, input orbit) block, each planned
    the same way (blocks with no orbit inside the support are skipped).
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

_CHECK_CHUNK = 1 << 22  # table entries examined at once by the circulant test
_BLOCK_LIMIT = 256  # never plan more blocks than this (Python loop in forward)
_BLOCK_OVERHEAD = 4096  # fixed per-block cost (in multiply-adds per sample)
_FFT_MIN_WINDOW = 12
_FFT_SMALL_KERNEL_PENALTY = 1e3
_TYPICAL_BATCH = 8  # samples per forward assumed when weighing per-forward work  # kernels with fewer taps than this run as convolutions


# -- executors -------------------------------------------------------------------------------
class Generic(nn.Module):
    """Gather ``W`` in ``(out, p, q, in)`` layout, one matmul over ``(q * in)``."""

    def __init__(self, table: np.ndarray):
        super().__init__()
        self.register_buffer("index", torch.as_tensor(np.ascontiguousarray(table), dtype=torch.long), persistent=False)
        self.p, self.q = table.shape

    def forward(self, theta_pad: torch.Tensor, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        o, c = theta_pad.shape[0], theta_pad.shape[1]
        # (O, E+1, C)[:, idx] -> (O, p, q, C): rows of the matmul are (o, i), columns (j, c)
        weight = theta_pad.transpose(1, 2)[:, self.index].reshape(o * self.p, self.q * c)
        flat = x.transpose(1, 2).reshape(x.shape[0], self.q * c)
        if bias is not None:
            y = F.linear(flat, weight, bias.expand(o, self.p).reshape(o * self.p))
        else:
            y = F.linear(flat, weight)
        return y.reshape(x.shape[0], o, self.p)

    def describe(self) -> str:
        return "generic"


class Circulant(nn.Module):
    """Circular convolution on a grid ``shape`` (1 to 3 axes for ``conv``, any for ``fft``)."""

    def __init__(self, kernel: np.ndarray, shape: Tuple[int, ...], mode: str):
        super().__init__()
        shape = tuple(int(s) for s in shape)
        self.shape: List[int] = list(shape)
        self.ndim = len(shape)
        self.mode = mode
        self.d = int(np.prod(shape))
        full = kernel.reshape(shape)
        # signed offsets of the support, per axis
        support = np.argwhere(full >= 0)
        signed = np.where(support <= np.array(shape) // 2, support, support - np.array(shape))
        lo = np.minimum(signed.min(axis=0), 0) if len(signed) else np.zeros(len(shape), int)
        hi = np.maximum(signed.max(axis=0), 0) if len(signed) else np.zeros(len(shape), int)
        window = tuple(int(h - l + 1) for h, l in zip(hi, lo))
        # conv tap t = hi - s along each axis
        taps = np.full(window, -1, dtype=np.int64)
        offsets = np.indices(window).reshape(len(shape), -1)  # tap coordinates
        s = hi[:, None] - offsets
        taps.reshape(-1)[:] = full[tuple(s % np.array(shape)[:, None])]
        self.window: List[int] = list(window)
        pads: List[int] = []
        for axis in reversed(range(len(shape))):  # F.pad lists the last axis first
            pads += [int(hi[axis]), int(-lo[axis])]
        self.pads = pads
        self.register_buffer("taps", torch.as_tensor(taps), persistent=False)
        self.register_buffer("full", torch.as_tensor(np.ascontiguousarray(full)), persistent=False)

    def forward(self, theta_pad: torch.Tensor, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        n, c = x.shape[0], x.shape[1]
        o = theta_pad.shape[0]
        grid = x.reshape([n, c] + self.shape)
        exact = x.dtype in (torch.float32, torch.float64)
        if (self.mode == "fft" and exact) or self.ndim > 3:
            # torch.fft has no half-precision CPU kernels: transform in float32 then
            dims = list(range(2, 2 + self.ndim))
            work = grid if exact else grid.float()
            kappa = theta_pad[:, :, self.full].to(work.dtype)  # (O, C, *shape)
            xf = torch.fft.rfftn(work, dim=dims)
            kf = torch.fft.rfftn(kappa, dim=dims)
            # per frequency an (N, C) @ (C, O) product
            yf = torch.einsum("nc...,oc...->no...", xf, kf)
            y = torch.fft.irfftn(yf, s=self.shape, dim=dims).reshape(n, o, self.d).to(x.dtype)
            return y if bias is None else y + bias
        kernel = theta_pad[:, :, self.taps]  # (O, C, *window)
        padded = F.pad(grid, self.pads, mode="circular")
        fused: Optional[torch.Tensor] = None
        if bias is not None and bias.shape[-1] == 1:
            fused = bias[:, 0]
        if self.ndim == 1:
            y = F.conv1d(padded, kernel, fused)
        elif self.ndim == 2:
            y = F.conv2d(padded, kernel, fused)
        else:
            y = F.conv3d(padded, kernel, fused)
        y = y.reshape(n, o, self.d)
        if bias is not None and fused is None:
            y = y + bias
        return y

    def describe(self) -> str:
        grid = "x".join(str(s) for s in self.shape)
        if self.mode == "fft":
            return f"fft({grid})"
        return f"conv({grid}, kernel {'x'.join(str(w) for w in self.window)})"


class DeepSets(nn.Module):
    """``T = a on the diagonal, b off it``: ``y = (theta_a - theta_b) x + theta_b sum_j x_j``."""

    def __init__(self, diag: int, off: int, d: int):
        super().__init__()
        self.diag = int(diag)
        self.off = int(off)
        self.d = int(d)

    def forward(self, theta_pad: torch.Tensor, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        a = theta_pad[:, :, self.diag]
        b = theta_pad[:, :, self.off]
        pooled = F.linear(x.sum(-1), b).unsqueeze(-1)  # (N, O, 1)
        if bias is not None:
            pooled = pooled + bias
        lam = (a - b).expand(x.shape[0], a.shape[0], a.shape[1])
        return torch.baddbmm(pooled.expand(x.shape[0], a.shape[0], self.d), lam, x)

    def describe(self) -> str:
        return "deepsets"


class Constant(nn.Module):
    """One id for the whole ``p x q`` table: a sum over the inputs, broadcast to the outputs."""

    def __init__(self, k: int, p: int):
        super().__init__()
        self.k = int(k)
        self.p = int(p)

    def forward(self, theta_pad: torch.Tensor, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        pooled = F.linear(x.sum(-1), theta_pad[:, :, self.k]).unsqueeze(-1)  # (N, O, 1)
        if bias is not None:
            pooled = pooled + bias
        return pooled.expand(x.shape[0], theta_pad.shape[0], self.p)

    def describe(self) -> str:
        return "const"


class Block(nn.Module):
    """One (output orbit, input orbit) block: gather the inputs, scatter-add the outputs."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, inner: nn.Module):
        super().__init__()
        self.register_buffer("rows", torch.as_tensor(rows, dtype=torch.long), persistent=False)
        self.register_buffer("cols", torch.as_tensor(cols, dtype=torch.long), persistent=False)
        self.inner = inner

    def forward(self, theta_pad: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        part = self.inner(theta_pad, x.index_select(-1, self.cols), None)
        return y.index_add(-1, self.rows, part)


class Blocks(nn.Module):
    """Intransitive actions: a sum of planned blocks."""

    def __init__(self, blocks: List[Block], p: int, summary: str):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.p = int(p)
        self.summary = summary

    def forward(self, theta_pad: torch.Tensor, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        y = x.new_zeros(x.shape[0], theta_pad.shape[0], self.p)
        if bias is not None:
            y = y + bias
        for block in self.blocks:
            y = block(theta_pad, x, y)
        return y

    def describe(self) -> str:
        return f"blocks[{self.summary}]"


# -- planning --------------------------------------------------------------------------------
class Candidate:
    """A way to run a table: its name, estimated cost per sample and a builder."""

    def __init__(self, name: str, cost: float, build):
        self.name = name
        self.cost = float(cost)
        self.build = build


def circulant_kernel(table: np.ndarray, shape: Tuple[int, ...]) -> Optional[np.ndarray]:
    """``K`` with ``table[i, j] == K[ravel((coord(i) - coord(j)) mod shape)]``, or None.

    Points are numbered row-major on ``shape``. Checked row chunk by row chunk, so the extra
    memory stays bounded for large tables.
    """
    d = table.shape[0]
    if table.shape != (d, d) or int(np.prod(shape)) != d or d == 0:
        return None
    shape_arr = np.array(shape)[:, None, None]
    coords = np.stack(np.unravel_index(np.arange(d), shape))  # (k, d)
    kernel = np.ascontiguousarray(table[:, 0]).astype(np.int64)  # coord(j=0) = 0: K[i] = T[i, 0]
    probe = np.unique(np.linspace(0, d - 1, num=min(d, 8)).astype(np.int64))  # reject early
    delta = (coords[:, probe, None] - coords[:, None, :]) % shape_arr
    if not np.array_equal(kernel[np.ravel_multi_index(tuple(delta), shape)], table[probe]):
        return None
    rows = max(1, _CHECK_CHUNK // d)
    for start in range(0, d, rows):
        stop = min(d, start + rows)
        delta = (coords[:, start:stop, None] - coords[:, None, :]) % shape_arr
        flat = np.ravel_multi_index(tuple(delta), shape)
        if not np.array_equal(kernel[flat], table[start:stop]):
            return None
    return kernel


def deepsets_ids(table: np.ndarray) -> Optional[Tuple[int, int]]:
    """``(a, b)`` when the table is ``a`` on the diagonal and ``b`` everywhere else."""
    p, q = table.shape
    if p != q or p < 2:
        return None
    diag = np.diagonal(table)
    if not (diag == diag[0]).all():
        return None
    off = table[0, 1]
    mask = ~np.eye(p, dtype=bool)
    if not (table[mask] == off).all() or off == diag[0]:
        return None
    return int(diag[0]), int(off)


def grid_shapes(d: int, known=()) -> List[Tuple[int, ...]]:
    """Grids to try for a circulant table on ``d`` points: ``known`` ones first, then ``(d,)``
    and every factorisation into 2 or 3 sides > 1 (the regular action of Z_a x Z_b (x Z_c)
    in row-major order, e.g. ``product_action(cyclic(a), cyclic(b))``)."""
    shapes: List[Tuple[int, ...]] = [tuple(int(s) for s in k) for k in known]
    shapes.append((d,))
    for a in range(2, d):
        if d % a == 0 and d // a > 1:
            shapes.append((a, d // a))
            rest = d // a
            for b in range(2, rest):
                if rest % b == 0 and rest // b > 1:
                    shapes.append((a, b, rest // b))
    seen = set()
    return [s for s in shapes if not (s in seen or seen.add(s))]


def _window_taps(kernel: np.ndarray, shape: Tuple[int, ...]) -> int:
    full = kernel.reshape(shape)
    support = np.argwhere(full >= 0)
    if not len(support):
        return 1
    shp = np.array(shape)
    signed = np.where(support <= shp // 2, support, support - shp)
    lo = np.minimum(signed.min(axis=0), 0)
    hi = np.maximum(signed.max(axis=0), 0)
    return int(np.prod(hi - lo + 1))


def candidates(table: np.ndarray, c_in: int, c_out: int, shapes, out_labels=None, in_labels=None,
               allow_blocks: bool = True) -> List[Candidate]:
    """Every executor that reproduces ``table`` exactly, with an estimated cost per sample."""
    p, q = table.shape
    work = float(c_in) * float(c_out)
    # the gather of W and its scatter-add in backward, amortised over a typical batch
    found = [Candidate("generic", work * p * q * (1.0 + 1.0 / _TYPICAL_BATCH) + 1, lambda: Generic(table))]
    ids = np.unique(table)
    if ids.size == 1:
        k = int(ids[0])
        found.append(Candidate("const", work + c_in * q + c_out * p, lambda: Constant(k, p)))
    pair = deepsets_ids(table)
    if pair is not None:
        found.append(Candidate("deepsets", work * (p + 1) + c_in * q, lambda: DeepSets(pair[0], pair[1], p)))
    if p == q and len(ids[ids >= 0]) <= p:  # a circulant table has at most p ids
        tried = set()
        for shape in shapes:
            shape = tuple(int(s) for s in shape)
            if shape in tried or int(np.prod(shape)) != p:
                continue
            tried.add(shape)
            kernel = circulant_kernel(table, shape)
            if kernel is None:
                continue
            taps = _window_taps(kernel, shape)
            if len(shape) <= 3:
                found.append(Candidate("conv", work * p * taps + (c_in + c_out) * p,
                                       lambda k=kernel, s=shape: Circulant(k, s, "conv")))
            # complex multiply-add ~ 4 real ones on p/2 + 1 frequencies, plus the transforms
            fft_cost = work * 2.0 * (p + 2) + 5.0 * (c_in + c_out) * p * max(1.0, math.log2(p))
            if taps < _FFT_MIN_WINDOW and len(shape) <= 3:
                # measured: below ~12 taps a direct convolution beats the transforms by 1.3-2x,
                # whatever the flop count says; keep fft for explicit requests only
                fft_cost *= _FFT_SMALL_KERNEL_PENALTY
            found.append(Candidate("fft", fft_cost, lambda k=kernel, s=shape: Circulant(k, s, "fft")))
            break
    if allow_blocks and out_labels is not None and in_labels is not None:
        blocks = _blocks_candidate(table, c_in, c_out, out_labels, in_labels)
        if blocks is not None:
            found.append(blocks)
    return found


def _blocks_candidate(table, c_in, c_out, out_labels, in_labels) -> Optional[Candidate]:
    n_out = int(out_labels.max()) + 1 if out_labels.size else 0
    n_in = int(in_labels.max()) + 1 if in_labels.size else 0
    if n_out * n_in <= 1 or n_out * n_in > _BLOCK_LIMIT:
        return None
    out_sets = [np.flatnonzero(out_labels == a) for a in range(n_out)]
    in_sets = [np.flatnonzero(in_labels == b) for b in range(n_in)]
    plans = []
    cost = 0.0
    for a, rows in enumerate(out_sets):
        for b, cols in enumerate(in_sets):
            sub = table[np.ix_(rows, cols)]
            if (sub < 0).all():
                plans.append((a, b, None, "0"))
                continue
            # inside a block: 1-D circulant in local order, deepsets, const or generic
            options = candidates(sub, c_in, c_out, [(len(rows),)], allow_blocks=False)
            best = min(options, key=lambda cand: cand.cost)
            cost += best.cost + _BLOCK_OVERHEAD + c_in * len(cols) + c_out * len(rows)
            plans.append((a, b, best, best.name))

    def build():
        built = [Block(out_sets[a], in_sets[b], best.build()) for a, b, best, _ in plans if best is not None]
        return Blocks(built, table.shape[0], summary)

    names = [name for *_, name in plans]
    if len(names) <= 8:
        summary = f"{n_out}x{n_in}: " + ", ".join(names)
    else:  # long lists: count each kind
        kinds = sorted(set(names), key=names.index)
        summary = f"{n_out}x{n_in}: " + ", ".join(f"{names.count(k)} {k}" for k in kinds)
    return Candidate("blocks", cost, build)


def plan(table: np.ndarray, c_in: int, c_out: int, shapes, out_labels, in_labels, path: str = "auto",
         extra=()):
    """Pick (and build) the executor for ``path`` ('auto' = cheapest); None if not applicable.
    ``extra``: candidates found outside this module (the ``patterns`` path)."""
    options = candidates(table, c_in, c_out, shapes, out_labels, in_labels) + list(extra)
    if path == "auto":
        return min(options, key=lambda cand: cand.cost).build(), [c.name for c in options]
    for cand in options:
        if cand.name == path:
            return cand.build(), [c.name for c in options]
    return None, [c.name for c in options]
