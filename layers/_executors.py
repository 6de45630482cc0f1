"""Executors for ``EquivariantLinear``: how to apply ``W = theta[orbit_index]`` to a batch.

Every executor is a small module with ``forward(theta_pad, x, bias) -> y`` where

* ``theta_pad`` is ``(out_channels, in_channels, dim + 1)``: the layer's parameters with a
  trailing zero slot, so that id ``-1`` (outside a support mask) reads a zero weight;
* ``x`` is ``(N, in_channels, q)`` and ``y`` is ``(N, out_channels, p)`` for the executor's
  ``(p, q)`` table;
* ``bias`` is None or the invariant bias, ``(out_channels, p)`` or ``(out_channels, 1)`` when
  the output action is transitive.

Executors keep only what they run on: kernel-sized tap ids (``conv``), ``O(d)`` ids
(``fft``, ``blocks``), two ids (``deepsets``, ``const``); only :class:`Generic` holds a
``p x q`` gather index, built on first use on the layer's device. None of these buffers is
persistent: they follow from the basis, which the layer's fingerprint identifies.

>>> import torch, eqsolve; from eqsolve import layers
>>> lin = layers.EquivariantLinear(eqsolve.solve(eqsolve.groups.symmetric(4)), 1, 1)
>>> type(lin.kernel).__name__, [b.numel() for b in lin.kernel.buffers()]
('DeepSets', [])
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def index_tensor(ids: np.ndarray, device=None) -> torch.Tensor:
    """Ids as an int32 tensor where they fit (gathers accept both), else int64."""
    ids = np.ascontiguousarray(ids)
    small = ids.size == 0 or (ids.min() >= -(2**31) and ids.max() < 2**31 - 1)
    return torch.as_tensor(ids.astype(np.int32 if small else np.int64, copy=False), device=device)


class RowSource:
    """Rows of a (restricted) orbit table on demand: ``basis.rows(rows[idx])[:, cols]``.

    Shared, never copied: ``deepcopy`` of a layer keeps pointing at the same immutable basis.
    """

    def __init__(self, basis, rows: Optional[np.ndarray] = None, cols: Optional[np.ndarray] = None):
        self.basis = basis
        self.row_map = rows
        self.col_map = cols
        d_out, d_in = basis.shape
        self.shape = (d_out if rows is None else len(rows), d_in if cols is None else len(cols))

    def __call__(self, idx) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        got = self.basis.rows(idx if self.row_map is None else self.row_map[idx])
        return got if self.col_map is None else got[:, self.col_map]

    def sub(self, rows: np.ndarray, cols: np.ndarray) -> "RowSource":
        """The block ``rows x cols`` (local numbers) of this table."""
        r = rows if self.row_map is None else self.row_map[rows]
        c = cols if self.col_map is None else self.col_map[cols]
        return RowSource(self.basis, r, c)

    def table(self, what: str = "the orbit table") -> np.ndarray:
        """All rows (memory-checked)."""
        from eqsolve._memory import require_memory

        p, q = self.shape
        require_memory(p * q * 8, f"{what} ({p} x {q})")
        return self(np.arange(p))

    def __deepcopy__(self, memo):
        return self


# -- generic ---------------------------------------------------------------------------------
class Generic(nn.Module):
    """Gather ``W`` in ``(out, p, q, in)`` layout, one matmul over ``(q * in)``.

    The ``p x q`` index is built on first use, on the device of the parameters (int32 where
    it fits), after a memory check; :func:`materialize` builds it ahead (export does).
    """

    def __init__(self, source: RowSource):
        super().__init__()
        self.source = source
        self.p, self.q = (int(s) for s in source.shape)
        self.register_buffer("index", torch.zeros(0, dtype=torch.int32), persistent=False)

    def __prepare_scriptable__(self):
        if self.index.numel() != self.p * self.q:  # torch.jit.script cannot run the builder
            self.build(self.index)
        return self

    @torch.jit.unused
    def build(self, like):
        """Build the gather index on the device of ``like`` (memory-checked)."""
        from eqsolve._memory import require_memory

        device = like.device
        entries = self.p * self.q
        width = 4 if entries < 2**31 else 8
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            require_memory(entries * width, f"the generic path's {self.p} x {self.q} gather index on {device}", free)
        table = self.source.table("the generic path's gather index")
        self.index = index_tensor(table, device)

    def forward(self, theta_pad: torch.Tensor, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        if self.index.numel() != self.p * self.q:
            self.build(theta_pad)
        o, c = theta_pad.shape[0], theta_pad.shape[1]
        index = self.index.reshape(self.p, self.q)
        # (O, E+1, C)[:, idx] -> (O, p, q, C): rows of the matmul are (o, i), columns (j, c)
        weight = theta_pad.transpose(1, 2)[:, index].reshape(o * self.p, self.q * c)
        flat = x.transpose(1, 2).reshape(x.shape[0], self.q * c)
        if bias is not None:
            y = F.linear(flat, weight, bias.expand(o, self.p).reshape(o * self.p))
        else:
            y = F.linear(flat, weight)
        return y.reshape(x.shape[0], o, self.p)

    def describe(self) -> str:
        return "generic"


# -- translations: (strided, transposed) circular convolutions -------------------------------
def _negation(grid: np.ndarray) -> np.ndarray:
    """Flat index of ``-m mod grid`` for every flat ``m`` (row-major)."""
    neg = (-np.indices(tuple(grid)).reshape(len(grid), -1)) % np.asarray(grid)[:, None]
    return np.ravel_multi_index(tuple(neg), tuple(int(g) for g in grid))


def _signed(offsets: np.ndarray, shape: np.ndarray) -> np.ndarray:
    return np.where(offsets <= shape // 2, offsets, offsets - shape)


class Translation(nn.Module):
    """Maps between two translation actions of one grid group, as convolutions or FFTs.

    ``coarse`` is the grid of the transitive side, ``stride`` the factor per axis to the
    other side's grid (``fine = stride * coarse``; all ones for the square case).

    * ``down`` (output on ``coarse``): ``y[i] = sum_delta w[delta] x[stride * i + delta]`` with
      ``w[delta] = theta[R[delta]]``, ``R`` the table's row 0: a strided circular convolution.
    * ``up`` (input on ``coarse``, output on ``fine``): for each residue ``r`` in
      ``[0, stride)``, ``y[stride * q + r] = sum_delta w_r[delta] x[q + delta]`` with ``w_r`` from
      the row of point ``r``: one convolution with ``out_channels * prod(stride)`` channels,
      then the residues are interleaved (a transposed convolution, sub-pixel form).

    ``roots`` are those rows: ``(n_residues, d_fine or d_coarse)`` ids on the input grid.
    ``conv`` keeps the tap ids of the bounding window of the support; ``fft`` keeps one id per
    input point and residue (``O(d)``).
    """

    def __init__(self, roots: np.ndarray, coarse, stride, direction: str, mode: str):
        super().__init__()
        self.coarse: List[int] = [int(s) for s in coarse]
        self.stride: List[int] = [int(s) for s in stride]
        self.fine: List[int] = [c * s for c, s in zip(self.coarse, self.stride)]
        self.ndim = len(self.coarse)
        self.direction = direction
        self.mode = mode
        self.n_res = int(np.prod(self.stride)) if direction == "up" else 1
        in_grid = np.array(self.fine if direction == "down" else self.coarse)
        self.in_grid: List[int] = [int(s) for s in in_grid]
        self.d_in = int(np.prod(in_grid))
        self.d_out = int(np.prod(self.fine if direction == "up" else self.coarse))
        roots = np.asarray(roots, dtype=np.int64).reshape((self.n_res,) + tuple(in_grid))
        support = np.argwhere((roots >= 0).any(axis=0))
        signed = _signed(support, in_grid) if len(support) else np.zeros((0, self.ndim), int)
        lo = np.minimum(signed.min(axis=0), 0) if len(signed) else np.zeros(self.ndim, int)
        hi = np.maximum(signed.max(axis=0), 0) if len(signed) else np.zeros(self.ndim, int)
        self.window: List[int] = [int(h - l + 1) for h, l in zip(hi, lo)]
        step = np.array(self.stride) if direction == "down" else np.ones(self.ndim, int)
        pads: List[int] = []
        for axis in reversed(range(self.ndim)):  # F.pad lists the last axis first
            pads += [int(-lo[axis]), int(max(hi[axis] + 1 - step[axis], 0))]
        self.pads = pads
        self.conv_stride: List[int] = [int(s) for s in step]
        self.split: List[int] = [int(v) for pair in zip(self.coarse, self.stride) for v in pair]
        if mode == "conv":
            offsets = np.indices(self.window).reshape(self.ndim, -1) + lo[:, None]  # tap t <-> delta = lo + t
            flat = np.ravel_multi_index(tuple(offsets % in_grid[:, None]), tuple(in_grid))
            taps = roots.reshape(self.n_res, -1)[:, flat].reshape([self.n_res] + self.window)
            self.register_buffer("ids", index_tensor(taps), persistent=False)
        else:
            # kappa_r[m] = R_r[-m]: z = kappa * x (a circular convolution) equals the correlation
            full = roots.reshape(self.n_res, -1)[:, _negation(in_grid)].reshape([self.n_res] + self.in_grid)
            self.register_buffer("ids", index_tensor(full), persistent=False)

    def as_conv(self) -> "Translation":
        """The same map run as a convolution (ONNX has no complex FFT)."""
        if self.mode == "conv":
            return self
        ids = self.ids.cpu().numpy().reshape(self.n_res, -1).astype(np.int64)
        roots = ids[:, _negation(np.array(self.in_grid))]  # negation is its own inverse
        return Translation(roots, self.coarse, self.stride, self.direction, "conv").to(self.ids.device)

    def _interleave(self, y: torch.Tensor, o: int) -> torch.Tensor:
        """``(N, O * n_res, *coarse)`` -> ``(N, O, d_fine)``: residue r of cell q goes to stride*q + r."""
        n = y.shape[0]
        y = y.reshape([n, o] + self.stride + self.coarse)
        order: List[int] = [0, 1]
        for axis in range(self.ndim):
            order += [2 + self.ndim + axis, 2 + axis]
        return y.permute(order).reshape(n, o, self.d_out)

    def forward(self, theta_pad: torch.Tensor, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        n, c = x.shape[0], x.shape[1]
        o = theta_pad.shape[0]
        grid = x.reshape([n, c] + self.in_grid)
        exact = x.dtype in (torch.float32, torch.float64)
        if self.mode == "fft" or self.ndim > 3:
            # torch.fft has no half-precision CPU kernels: transform in float32 then
            dims = list(range(2, 2 + self.ndim))
            work = grid if exact else grid.float()
            kappa = theta_pad[:, :, self.ids].to(work.dtype)  # (O, C, n_res, *in_grid)
            xf = torch.fft.rfftn(work, dim=dims)
            kf = torch.fft.rfftn(kappa, dim=[d + 1 for d in dims])
            yf = torch.einsum("nc...,ocr...->nor...", xf, kf)  # per frequency an (N, C) @ (C, O)
            z = torch.fft.irfftn(yf, s=self.in_grid, dim=[d + 1 for d in dims]).to(x.dtype)
            if self.direction == "up":
                y = self._interleave(z, o)
            else:  # keep every stride-th point of the full-resolution correlation
                z = z.reshape([n, o] + self.split)
                for axis in range(self.ndim):
                    z = z.select(3 + axis, 0)
                y = z.reshape(n, o, self.d_out)
            return y if bias is None else y + bias
        kernel = theta_pad[:, :, self.ids]  # (O, C, n_res, *window)
        if self.n_res > 1:
            kernel = kernel.transpose(1, 2)
        kernel = kernel.reshape([o * self.n_res, c] + self.window)
        padded = F.pad(grid, self.pads, mode="circular")
        fused: Optional[torch.Tensor] = None
        if bias is not None and bias.shape[-1] == 1 and self.n_res == 1:
            fused = bias[:, 0]
        if self.ndim == 1:
            y = F.conv1d(padded, kernel, fused, stride=self.conv_stride)
        elif self.ndim == 2:
            y = F.conv2d(padded, kernel, fused, stride=self.conv_stride)
        else:
            y = F.conv3d(padded, kernel, fused, stride=self.conv_stride)
        if self.n_res > 1:
            y = self._interleave(y, o)
        else:
            y = y.reshape(n, o, self.d_out)
        if bias is not None and fused is None:
            y = y + bias
        return y

    def describe(self) -> str:
        grid = lambda s: "x".join(str(v) for v in s)
        step = str(self.stride[0]) if len(set(self.stride)) == 1 else grid(self.stride)
        if self.direction == "down" and all(s == 1 for s in self.stride):
            head = grid(self.coarse)
        elif self.direction == "down":
            head = f"{grid(self.fine)} -> {grid(self.coarse)}, stride {step}"
        else:
            head = f"{grid(self.coarse)} -> {grid(self.fine)}, transposed stride {step}"
        if self.mode == "fft":
            return f"fft({head})"
        return f"conv({head}, kernel {grid(self.window)})"


# -- identity + all-ones, constants, blocks --------------------------------------------------
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
        self.register_buffer("rows", index_tensor(rows).long(), persistent=False)
        self.register_buffer("cols", index_tensor(cols).long(), persistent=False)
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


def materialize(module: nn.Module) -> nn.Module:
    """Build every lazy gather index of ``module`` now, on its parameters' device.

    Export and scripting need it (they cannot run numpy inside ``forward``).
    """
    for sub in module.modules():
        if isinstance(sub, Generic) and sub.index.numel() != sub.p * sub.q:
            owner = next((p for p in module.parameters()), None)
            sub.build(sub.index if owner is None else owner)
    return module
