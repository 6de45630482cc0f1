"""Layer speed: eqsolve layers against hand-written PyTorch equivalents (forward + backward).

Each row times our layer and a hand-written module computing the same map (weights copied
from ours and outputs checked equal first), interleaved in one run; the ratio is
ours / hand-written on the best of ``--reps`` repetitions. Targets from issues 4 and 13.

    python benchmarks/layers.py                 # CPU, 1 thread
    python benchmarks/layers.py --threads 2
    python benchmarks/layers.py --device cuda
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import eqsolve  # noqa: E402
from eqsolve import layers  # noqa: E402
from eqsolve import groups  # noqa: E402


# -- hand-written baselines -------------------------------------------------------------------
class CircularConv1d(nn.Module):
    """Circular Conv1d with a full-length kernel: the general cyclic-equivariant map."""

    def __init__(self, c_in, c_out, d):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, d, padding=0)
        self.left, self.right = d // 2, d - 1 - d // 2

    def forward(self, x):
        n = x.shape[:-2]
        x = x.reshape(-1, *x.shape[-2:])
        y = self.conv(F.pad(x, (self.left, self.right), mode="circular"))
        return y.reshape(*n, *y.shape[-2:])


class HandDSS(nn.Module):
    """Hand-written DSS layer: conv1(x_i) + conv2(sum_j x_j) with circular full-length convs."""

    def __init__(self, c_in, c_out, d):
        super().__init__()
        self.conv1 = CircularConv1d(c_in, c_out, d)
        self.conv2 = CircularConv1d(c_in, c_out, d)
        self.conv2.conv.bias = None

    def forward(self, x):  # (B, n, C, d)
        return self.conv1(x) + self.conv2(x.sum(1)).unsqueeze(1)


class HandDeepSets(nn.Module):
    """Hand-written DeepSets layer (Zaheer et al.) on (N, C, d): Lambda x + Gamma sum(x) + b."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.lam = nn.Conv1d(c_in, c_out, 1)
        self.gam = nn.Linear(c_in, c_out, bias=False)

    def forward(self, x):
        return self.lam(x) + self.gam(x.sum(-1)).unsqueeze(-1)


class CircularConv2d(nn.Module):
    def __init__(self, c_in, c_out, side):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="circular")
        self.side = side

    def forward(self, x):  # (N, C, side*side)
        n, c = x.shape[0], x.shape[1]
        return self.conv(x.reshape(n, c, self.side, self.side)).reshape(n, -1, self.side * self.side)


class HandFFT(nn.Module):
    """Hand-written FFT circular convolution (information only: the fastest plain-torch way)."""

    def __init__(self, c_in, c_out, d):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, d) / (c_in * d) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(c_out, 1))
        self.d = d

    def convolve(self, x):
        yf = torch.einsum("...cf,ocf->...of", torch.fft.rfft(x), torch.fft.rfft(self.weight))
        return torch.fft.irfft(yf, n=self.d)

    def forward(self, x):
        return self.convolve(x) + self.bias


class HandFFTDSS(nn.Module):
    """Hand-written DSS layer with two rFFT circular convolutions (information only)."""

    def __init__(self, c_in, c_out, d):
        super().__init__()
        self.one = HandFFT(c_in, c_out, d)
        self.two = HandFFT(c_in, c_out, d)

    def forward(self, x):  # (B, n, C, d)
        return self.one(x) + self.two.convolve(x.sum(1)).unsqueeze(1)


# -- weight copies: the baselines compute exactly our map ---------------------------------------
def row_weight(lin: layers.EquivariantLinear, points) -> torch.Tensor:
    """``W[:, :, points, :]`` ``(out, in, len(points), d_in)`` from rows of the basis (never the
    whole table): what a hand-written layer needs to copy our weights."""
    ids = torch.as_tensor(lin.basis.rows(np.asarray(points, dtype=np.int64)), dtype=torch.long)
    return F.pad(lin.weight, (0, 1))[:, :, ids]


def kernel_taps(lin: layers.EquivariantLinear, side: int, size: int = 3) -> torch.Tensor:
    """Conv2d taps ``k[t] = W[0, t - size // 2]`` (row 0, on a ``side x side`` input grid)."""
    w0 = row_weight(lin, [0])[:, :, 0].reshape(lin.out_channels, lin.in_channels, side, side)
    t = (torch.arange(size) - size // 2) % side
    return w0[:, :, t][:, :, :, t]


def copy_conv1d(conv: CircularConv1d, lin: layers.EquivariantLinear, bias=True):
    """Our kernel as conv taps: ``CircularConv1d`` pads ``d // 2`` on the left, so tap ``t``
    reads offset ``t - d // 2`` of row 0 (``W[i, j]`` depends on ``j - i`` only)."""
    d = lin.d_in
    w0 = row_weight(lin, [0])[:, :, 0]
    conv.conv.weight.data.copy_(w0[:, :, (torch.arange(d) - d // 2) % d])
    if bias:
        conv.conv.bias.data.copy_(lin.bias[:, 0])


def fft_kernel(lin: layers.EquivariantLinear) -> torch.Tensor:
    """``kappa[m] = W[m, 0] = W[0, -m]``: the kernel of ``y = kappa * x``."""
    d = lin.d_in
    return row_weight(lin, [0])[:, :, 0][:, :, (-torch.arange(d)) % d]


def setup_cyclic(n_sets, set_size, c, d, device, dtype):
    B = eqsolve.solve(groups.cyclic(d))
    ours = layers.EquivariantLinear(B, c, c)
    base = CircularConv1d(c, c, d)
    copy_conv1d(base, ours)
    x = torch.randn(n_sets * set_size, c, d)
    return ours, base, x


def setup_fft(n_sets, set_size, c, d, device, dtype):
    B = eqsolve.solve(groups.cyclic(d))
    ours = layers.EquivariantLinear(B, c, c)
    base = HandFFT(c, c, d)
    with torch.no_grad():
        base.weight.copy_(fft_kernel(ours))
        base.bias.copy_(ours.bias)
    return ours, base, torch.randn(n_sets * set_size, c, d)


def setup_fft_dss(n_sets, set_size, c, d, device, dtype):
    B = eqsolve.solve(groups.cyclic(d))
    ours = layers.DSSLinear(B, c, c, aggregation="sum")
    base = HandFFTDSS(c, c, d)
    with torch.no_grad():
        for lin, hand in ((ours.single, base.one), (ours.shared, base.two)):
            hand.weight.copy_(fft_kernel(lin))
        base.one.bias.copy_(ours.single.bias)
    return ours, base, torch.randn(n_sets, set_size, c, d)


def setup_dss(n_sets, set_size, c, d, device, dtype):
    B = eqsolve.solve(groups.cyclic(d))
    ours = layers.DSSLinear(B, c, c, aggregation="sum")
    base = HandDSS(c, c, d)
    copy_conv1d(base.conv1, ours.single)
    copy_conv1d(base.conv2, ours.shared, bias=False)
    return ours, base, torch.randn(n_sets, set_size, c, d)


def setup_symmetric(n, c, d, device, dtype):
    B = eqsolve.solve(groups.symmetric(d))
    ours = layers.EquivariantLinear(B, c, c)
    base = HandDeepSets(c, c)
    a, b = (int(v) for v in B.rows([0])[0, :2])  # the diagonal id and the off-diagonal one
    with torch.no_grad():
        base.lam.weight.copy_((ours.weight[:, :, a] - ours.weight[:, :, b]).unsqueeze(-1))
        base.lam.bias.copy_(ours.bias[:, 0])
        base.gam.weight.copy_(ours.weight[:, :, b])
    return ours, base, torch.randn(n, c, d)


def setup_grid(n, c, side, device, dtype):
    G = groups.grid_translations((side, side))
    coords = np.indices((side, side)).reshape(2, -1)
    delta = (coords[:, :, None] - coords[:, None, :]) % side
    near = ((delta <= 1) | (delta >= side - 1)).all(axis=0)  # torus offset in {-1, 0, 1}^2
    B = eqsolve.solve(G, support=near)
    ours = layers.EquivariantLinear(B, c, c)
    base = CircularConv2d(c, c, side)
    with torch.no_grad():
        base.conv.weight.copy_(kernel_taps(ours, side))
        base.conv.bias.copy_(ours.bias[:, 0])
    return ours, base, torch.randn(n, c, side * side)


class DenseLinear(nn.Module):
    """nn.Linear on the flattened (channels x points) signal, with our expanded W (information)."""

    def __init__(self, lin: layers.EquivariantLinear):
        super().__init__()
        o, c, p, q = lin.dense_weight().shape
        self.linear = nn.Linear(c * q, o * p)
        with torch.no_grad():
            self.linear.weight.copy_(lin.dense_weight().permute(0, 2, 1, 3).reshape(o * p, c * q))
            self.linear.bias.copy_(lin.dense_bias().reshape(-1))
        self.shape = (o, p)

    def forward(self, x):
        return self.linear(x.reshape(x.shape[0], -1)).reshape(x.shape[0], *self.shape)


def setup_generic(n, c, device, dtype):
    B = eqsolve.solve(groups.subsets(groups.symmetric(16), 2))  # Johnson scheme: no fast path
    ours = layers.EquivariantLinear(B, c, c)
    return ours, DenseLinear(ours), torch.randn(n, c, B.shape[1])


class Skip(Exception):
    """A row that cannot run with this eqsolve (printed, not counted as a failure)."""


# -- hand-written graph layers (S_m on node features and adjacency) -----------------------------
# Each op is named by its "at-least" equality pattern on (output positions, input positions):
# (0, 1, 0, 2) = y[i, j] += sum_k x[i, k] (row sums broadcast along rows), and so on.
OPS_22 = [(0, 1, 0, 1), (0, 1, 1, 0),                                # x, x^T
          (0, 1, 0, 0), (0, 1, 0, 2), (0, 1, 2, 0),                  # diag, row, col sums -> rows
          (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 1),                  # ... -> columns
          (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 0),                  # ... -> diagonal
          (0, 1, 2, 2), (0, 1, 2, 3),                                # trace, total -> all
          (0, 0, 1, 1), (0, 0, 1, 2)]                                # trace, total -> diagonal
OPS_11 = [(0, 0), (0, 1)]
OPS_12 = [(0, 1, 0), (0, 1, 1), (0, 0, 0), (0, 1, 2), (0, 0, 1)]      # x -> rows, cols, diag; sum -> all, diag
OPS_21 = [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1), (0, 1, 2)]      # diag, row, col sums; trace, total


class HandGraph22(nn.Module):
    """The 15 reduce-and-broadcast operations of an adjacency -> adjacency layer, written out
    (Maron et al. 2019), mixing channels on the reduced tensors before broadcasting."""

    def __init__(self, c_in, c_out, m):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, 15) / (15 * c_in) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(c_out, m * m))
        self.m = m

    def forward(self, x):  # (N, C, m*m)
        n, c, m = x.shape[0], x.shape[1], self.m
        o = self.weight.shape[0]
        w = self.weight
        a = x.reshape(n, c, m, m)
        diag = a.diagonal(dim1=-2, dim2=-1)
        rows, cols = a.sum(-1), a.sum(-2)
        trace, total = diag.sum(-1), rows.sum(-1)
        full = torch.cat([a, a.transpose(-1, -2)], 1).reshape(n, 2 * c, m * m)
        y = torch.matmul(torch.cat([w[:, :, 0], w[:, :, 1]], 1), full).reshape(n, o, m, m)
        vec = torch.cat([diag, rows, cols], 1)  # (N, 3C, m)
        wv = torch.cat([torch.cat([w[:, :, 2 + 3 * t + s] for s in range(3)], 1) for t in range(3)], 0)
        v = torch.matmul(wv, vec)  # (N, 3O, m): to rows, to columns, to the diagonal
        sc = torch.cat([trace, total], 1)  # (N, 2C)
        ws = torch.cat([torch.cat([w[:, :, 11 + 2 * t + s] for s in range(2)], 1) for t in range(2)], 0)
        s = F.linear(sc, ws)  # (N, 2O): to all, to the diagonal
        y = y + (v[:, :o] + s[:, :o, None]).unsqueeze(-1) + v[:, o:2 * o].unsqueeze(-2)
        y.diagonal(dim1=-2, dim2=-1).add_(v[:, 2 * o:] + s[:, o:, None])
        return y.reshape(n, o, m * m) + self.bias


class HandNodeGraph(nn.Module):
    """Node features + adjacency -> node features + adjacency: the 2 + 5 + 5 + 15 operations."""

    def __init__(self, c_in, c_out, m):
        super().__init__()
        self.adj = HandGraph22(c_in, c_out, m)
        self.w11 = nn.Parameter(torch.randn(c_out, c_in, 2) / (2 * c_in) ** 0.5)
        self.w12 = nn.Parameter(torch.randn(c_out, c_in, 5) / (5 * c_in) ** 0.5)
        self.w21 = nn.Parameter(torch.randn(c_out, c_in, 5) / (5 * c_in) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(c_out, m))
        self.m = m

    def forward(self, x):  # (N, C, m + m*m)
        n, c, m = x.shape[0], x.shape[1], self.m
        o = self.w11.shape[0]
        h, a = x[:, :, :m], x[:, :, m:].reshape(n, c, m, m)
        hs = h.sum(-1)
        diag = a.diagonal(dim1=-2, dim2=-1)
        rows, cols = a.sum(-1), a.sum(-2)
        trace, total = diag.sum(-1), rows.sum(-1)
        # -> nodes: h, diag, row sums, col sums (per node); sum h, trace, total (broadcast)
        node_vec = torch.matmul(torch.cat([self.w11[:, :, 0], self.w21[:, :, 0], self.w21[:, :, 1],
                                           self.w21[:, :, 2]], 1), torch.cat([h, diag, rows, cols], 1))
        node_sc = F.linear(torch.cat([hs, trace, total], 1),
                           torch.cat([self.w11[:, :, 1], self.w21[:, :, 3], self.w21[:, :, 4]], 1))
        nodes = node_vec + node_sc.unsqueeze(-1) + self.bias
        # -> adjacency: the 15 ops plus node features to rows, columns, diagonal and sums to all, diagonal
        y = self.adj(x[:, :, m:]).reshape(n, o, m, m)
        hv = torch.matmul(torch.cat([self.w12[:, :, t] for t in range(3)], 0), h)  # (N, 3O, m)
        hsc = F.linear(hs, torch.cat([self.w12[:, :, 3], self.w12[:, :, 4]], 0))  # (N, 2O)
        y = y + (hv[:, :o] + hsc[:, :o, None]).unsqueeze(-1) + hv[:, o:2 * o].unsqueeze(-2)
        y.diagonal(dim1=-2, dim2=-1).add_(hv[:, 2 * o:] + hsc[:, o:, None])
        return torch.cat([nodes, y.reshape(n, o, m * m)], -1)


def copy_patterns(hand, lin):
    """Our at-least weights into the hand-written layer, op by op (matched by pattern)."""
    executor = lin.kernel
    theta = executor.theta_at_least(F.pad(lin.weight, (0, 1))).detach()
    column = {(a, b, q): i for i, (a, b, q) in enumerate(executor.columns)}

    def fill(param, a, b, ops):
        for t, q in enumerate(ops):
            param.data[:, :, t] = theta[:, :, column[(a, b, q)]] if (a, b, q) in column else 0.0

    with torch.no_grad():
        if isinstance(hand, HandGraph22):
            fill(hand.weight, 0, 0, OPS_22)
            hand.bias.copy_(lin.dense_bias())
        else:
            fill(hand.w11, 0, 0, OPS_11)
            fill(hand.w21, 0, 1, OPS_21)
            fill(hand.w12, 1, 0, OPS_12)
            fill(hand.adj.weight, 1, 1, OPS_22)
            bias = lin.dense_bias()
            hand.bias.copy_(bias[:, :hand.m])
            hand.adj.bias.copy_(bias[:, hand.m:])


def setup_graph(n, c, m, device, dtype, nodes=False):
    if m ** 4 > 1 << 26 and not getattr(eqsolve.Basis, "is_compact", None):
        raise Skip(f"m = {m}: this eqsolve builds the dense m^4 orbit table (no compact Basis)")
    rho = groups.symmetric(m).action()
    act = rho + rho.tensor(2) if nodes else rho.tensor(2)
    B = eqsolve.solve(out=act, inp=act)
    ours = layers.EquivariantLinear(B, c, c)
    base = HandNodeGraph(c, c, m) if nodes else HandGraph22(c, c, m)
    copy_patterns(base, ours)
    return ours, base, torch.randn(n, c, act.degree)


# -- images: 256 x 256 DSS, stride-2 and transposed layers (issue 7) -------------------------------
def near(out_grid, in_grid, stride, radius=1) -> np.ndarray:
    """``(d_out, d_in)`` mask: per axis, circularly, ``|j - stride * i| <= radius`` (down) or
    ``|i - stride * j| <= radius`` (up, when the output grid is the finer one)."""
    out_c = np.indices(out_grid).reshape(len(out_grid), -1)
    in_c = np.indices(in_grid).reshape(len(in_grid), -1)
    s = np.array(stride)[:, None, None]
    if int(np.prod(out_grid)) > int(np.prod(in_grid)):
        delta, side = out_c[:, :, None] - s * in_c[:, None, :], np.array(out_grid)[:, None, None]
    else:
        delta, side = in_c[:, None, :] - s * out_c[:, :, None], np.array(in_grid)[:, None, None]
    delta %= side
    return ((delta <= radius) | (delta >= side - radius)).all(axis=0)


def grid_basis(side: int) -> eqsolve.Basis:
    """The 3 x 3 circular convolutions on a ``side x side`` grid. Up to 64 x 64 through
    ``solve(support=mask)``; beyond, the dense mask alone has side^4 entries, so the compact
    basis of the whole grid is restricted on its one root row (a translation group: every
    orbit on pairs meets row 0, and the transversal is unchanged)."""
    G = groups.grid_translations((side, side))
    if side <= 64:
        return eqsolve.solve(G, support=near((side, side), (side, side), (1, 1)))
    if not hasattr(eqsolve.Basis, "compact"):
        raise Skip(f"{side} x {side}: this eqsolve has no compact Basis (the dense table has side^4 entries)")
    full = eqsolve.solve(G)
    row = full.rows([0])[0]
    keep = _window_row(side)
    ids, first = np.unique(row[keep], return_index=True)
    relabel = np.full(full.dim, -1, dtype=np.int64)
    order = np.argsort(np.flatnonzero(keep)[first], kind="stable")
    relabel[ids[order]] = np.arange(len(ids))
    root = np.where(keep, relabel[row], -1).astype(row.dtype)
    return eqsolve.Basis.compact(root[None], full._tree, len(ids), full.bias_index, out=full.out, inp=full.inp)


def _window_row(side: int) -> np.ndarray:
    """Row 0 of the 3 x 3 window mask: input points within one step of point 0, circularly."""
    c = np.indices((side, side)).reshape(2, -1)
    return ((c <= 1) | (c >= side - 1)).all(axis=0)


class HandDSS2d(nn.Module):
    """Hand-written DSS layer on images: conv1(x_i) + conv2(sum_j x_j), circular 3 x 3."""

    def __init__(self, c_in, c_out, side):
        super().__init__()
        self.one = CircularConv2d(c_in, c_out, side)
        self.two = CircularConv2d(c_in, c_out, side)
        self.two.conv.bias = None

    def forward(self, x):  # (B, n, C, side * side)
        b, n = x.shape[0], x.shape[1]
        y = self.one(x.reshape(b * n, *x.shape[2:])).reshape(b, n, -1, x.shape[-1])
        return y + self.two(x.sum(1)).unsqueeze(1)


def setup_dss_grid(n_sets, set_size, c, side, device, dtype):
    B = grid_basis(side)
    ours = layers.DSSLinear(B, c, c, aggregation="sum")
    base = HandDSS2d(c, c, side)
    with torch.no_grad():
        base.one.conv.weight.copy_(kernel_taps(ours.single, side))
        base.one.conv.bias.copy_(ours.single.bias[:, 0])
        base.two.conv.weight.copy_(kernel_taps(ours.shared, side))
    return ours, base, torch.randn(n_sets, set_size, c, side * side)


class StridedConv2d(nn.Module):
    """``nn.Conv2d(3, stride=2, padding=1, padding_mode="circular")`` on flattened images."""

    def __init__(self, c_in, c_out, side):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, padding_mode="circular")
        self.side = side

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        return self.conv(x.reshape(n, c, self.side, self.side)).reshape(n, -1, (self.side // 2) ** 2)


class CircularConvTranspose2d(nn.Module):
    """``nn.ConvTranspose2d(3, stride=2)`` with its border folded back: the circular transpose."""

    def __init__(self, c_in, c_out, side):
        super().__init__()
        self.conv = nn.ConvTranspose2d(c_in, c_out, 3, stride=2, bias=False)
        self.side = side  # of the input

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        full = self.conv(x.reshape(n, c, self.side, self.side))  # (N, O, 2s + 1, 2s + 1): output m' = m + 1
        y = full[:, :, 1:, 1:].clone()
        y[:, :, -1, :] += full[:, :, 0, 1:]
        y[:, :, :, -1] += full[:, :, 1:, 0]
        y[:, :, -1, -1] += full[:, :, 0, 0]
        return y.reshape(n, y.shape[1], -1)


def setup_strided(n, c, side, device, dtype, transpose=False):
    """``side x side`` -> ``side/2 x side/2`` with a 3 x 3 window at stride 2, or its transpose."""
    G = groups.grid_translations((side // 2, side // 2))
    fine = groups.finer_grid(G, 2)
    if not transpose:
        B = eqsolve.solve(out=G.action(), inp=fine, support=near((side // 2,) * 2, (side,) * 2, (2, 2)))
        ours = layers.EquivariantLinear(B, c, c)
        base = StridedConv2d(c, c, side)
        with torch.no_grad():
            base.conv.weight.copy_(kernel_taps(ours, side))
            base.conv.bias.copy_(ours.bias[:, 0])
        return ours, base, torch.randn(n, c, side * side)
    B = eqsolve.solve(out=fine, inp=G.action(), support=near((side,) * 2, (side // 2,) * 2, (2, 2)))
    ours = layers.EquivariantLinear(B, c, c, bias=False)  # our bias is per residue; ConvTranspose2d's is not
    base = CircularConvTranspose2d(c, c, side // 2)
    t = (torch.arange(3) - 1) % side
    points = (t[:, None] * side + t[None, :]).reshape(-1).numpy()  # output point t - 1, input point 0
    column = row_weight(ours, points)[:, :, :, 0].reshape(c, c, 3, 3)  # W[o, c, t - 1, 0]
    with torch.no_grad():
        base.conv.weight.copy_(column.transpose(0, 1))
    return ours, base, torch.randn(n, c, (side // 2) ** 2)


# -- build time and stored bytes (issue 7) ---------------------------------------------------------
def stored_bytes(module, example, tmp: Path) -> Dict[str, Optional[int]]:
    """Bytes of the state_dict (torch.save), the .pt2 and the ONNX file of ``module``."""
    import io

    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    sizes: Dict[str, Optional[int]] = {"state_dict": len(buffer.getvalue())}
    for fmt, suffix in (("pt2", ".pt2"), ("onnx", ".onnx")):
        try:
            sizes[fmt] = layers.export(module, example, tmp / f"m{suffix}", check=False).bytes
        except eqsolve.EqsolveError:
            sizes[fmt] = None  # e.g. no onnx package
    return sizes


def build_rows(reps: int) -> int:
    """Build time of a 64 x 64 layer and what a fast-path layer stores, against the targets."""
    import tempfile

    failed = 0
    B = eqsolve.solve(groups.grid_translations((64, 64)))
    masked = grid_basis(64)
    G = groups.grid_translations((32, 32))
    down = eqsolve.solve(out=G.action(), inp=groups.finer_grid(G, 2), support=near((32, 32), (64, 64), (2, 2)))
    print("\n| build (basis solved before) | ms, best of %d | target | result |" % reps)
    print("|---|---:|---:|---|")
    for name, make in (("EquivariantLinear(grid 64x64, 3, 8)", lambda: layers.EquivariantLinear(B, 3, 8)),
                       ("DSSLinear(grid 64x64, 8, 8)", lambda: layers.DSSLinear(B, 8, 8)),
                       ("EquivariantLinear(grid 64x64 3x3, 8, 8)", lambda: layers.EquivariantLinear(masked, 8, 8))):
        best = float("inf")
        for _ in range(reps):
            start = time.perf_counter()
            make()
            best = min(best, time.perf_counter() - start)
        verdict = "PASS" if best <= 0.05 else "FAIL"
        failed += verdict == "FAIL"
        print(f"| {name} | {best * 1e3:.1f} | 50 | {verdict} |", flush=True)
    print("\n| stored (float32) | path | parameters B | state_dict B | .pt2 B | ONNX B | budget 1.5 P + 16 d | result |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    cases = (("grid 64x64, 3->8, full kernel", B, 3, 8), ("grid 64x64, 8->8, 3x3", masked, 8, 8),
             ("64x64 -> 32x32 stride 2, 8->8, 3x3", down, 8, 8))
    with tempfile.TemporaryDirectory() as tmp:
        for name, basis, c_in, c_out in cases:
            lin = layers.EquivariantLinear(basis, c_in, c_out)
            params = sum(p.numel() * p.element_size() for p in lin.parameters())
            sizes = stored_bytes(lin, torch.randn(2, c_in, basis.shape[1]), Path(tmp))
            budget = 1.5 * params + 16 * max(basis.shape)
            ok = all(v is None or v <= budget for v in sizes.values())
            failed += not ok
            fmt = lambda v: "-" if v is None else str(v)
            print(f"| {name} | {lin.path} | {params} | {fmt(sizes['state_dict'])} | {fmt(sizes['pt2'])} | "
                  f"{fmt(sizes['onnx'])} | {budget:.0f} | {'PASS' if ok else 'FAIL'} |", flush=True)
    return failed


# -- timing ------------------------------------------------------------------------------------
def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def step(module, x):
    for p in module.parameters():
        p.grad = None
    x.grad = None
    y = module(x)
    y.backward(torch.ones_like(y))


def compare(ours, base, x, reps, device):
    """Best-of-``reps`` seconds of forward + backward for both, interleaved."""
    times = {"ours": [], "base": []}
    for _ in range(1):  # warm-up
        step(ours, x)
        step(base, x)
    sync(device)
    for _ in range(reps):
        for name, module in (("ours", ours), ("base", base)):
            sync(device)
            start = time.perf_counter()
            step(module, x)
            sync(device)
            times[name].append(time.perf_counter() - start)
    return min(times["ours"]), min(times["base"])


ROWS = [
    # name, baseline description, setup, target ratio (None: information only)
    ("cyclic(100) EquivariantLinear 64->64, 64 sets x 25", "circular Conv1d, kernel 100",
     lambda dev, dt: setup_cyclic(64, 25, 64, 100, dev, dt), 1.5),
    ("DSSLinear(sum) cyclic(100) 64->64, 64 sets x 25", "2 circular Conv1d + set sum",
     lambda dev, dt: setup_dss(64, 25, 64, 100, dev, dt), 1.3),
    ("symmetric(1000) EquivariantLinear 64->64, 64 signals", "DeepSets layer",
     lambda dev, dt: setup_symmetric(64, 64, 1000, dev, dt), 1.5),
    ("grid(32,32) 3x3 support 64->64, 64 images", "circular Conv2d 3x3",
     lambda dev, dt: setup_grid(64, 64, 32, dev, dt), 1.5),
    ("cyclic(100) EquivariantLinear (same as row 1)", "hand-written rFFT conv",
     lambda dev, dt: setup_fft(64, 25, 64, 100, dev, dt), None),
    ("DSSLinear(sum) (same as row 2)", "2 hand-written rFFT convs + sum",
     lambda dev, dt: setup_fft_dss(64, 25, 64, 100, dev, dt), None),
    ("subsets(S_16, 2) (d=120) EquivariantLinear 16->16", "nn.Linear with the same dense W",
     lambda dev, dt: setup_generic(64, 16, dev, dt), None),
] + [
    (f"S_{m} adjacency->adjacency 8->8, 8 graphs", "15 hand-written ops",
     lambda dev, dt, m=m: setup_graph(8, 8, m, dev, dt), 1.5 if m in (32, 128) else None)
    for m in (16, 32, 64, 128)
] + [
    (f"S_{m} nodes+adjacency 8->8, 8 graphs", "27 hand-written ops",
     lambda dev, dt, m=m: setup_graph(8, 8, m, dev, dt, nodes=True), None)
    for m in (16, 32, 64, 128)
] + [
    ("DSSLinear(sum) grid 256x256 3x3 8->8, 2 sets x 4", "2 circular Conv2d 3x3 + set sum",
     lambda dev, dt: setup_dss_grid(2, 4, 8, 256, dev, dt), 1.5),
    ("stride 2, 64x64 -> 32x32, 3x3, 16->16, 16 images", "Conv2d(3, stride=2), circular",
     lambda dev, dt: setup_strided(16, 16, 64, dev, dt), 1.5),
    ("transposed, 32x32 -> 64x64, 3x3, 16->16, 16 images", "ConvTranspose2d(3, stride=2), folded",
     lambda dev, dt: setup_strided(16, 16, 64, dev, dt, transpose=True), 1.5),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads on CPU (default 1)")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions per layer (best is kept)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64", "bfloat16"])
    parser.add_argument("--only", type=int, nargs="*", help="row numbers to run (1-based)")
    parser.add_argument("--no-build", action="store_true", help="skip the build-time and stored-bytes tables")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available on this machine; run without --device cuda", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dtype = getattr(torch, args.dtype)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"# eqsolve layer benchmark: device={device} ({where}), threads={torch.get_num_threads()}, "
          f"dtype={args.dtype}, torch {torch.__version__}, forward+backward, best of {args.reps}")
    header = f"| {'layer':<52} | {'hand-written':<32} | {'path':<24} | {'ours ms':>8} | {'hand ms':>8} | {'ratio':>6} | {'target':>6} | result |"
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    failed = 0
    for number, (name, base_name, setup, target) in enumerate(ROWS, 1):
        if args.only and number not in args.only:
            continue
        try:
            ours, base, x = setup(device, dtype)
        except Skip as why:
            print(f"| {name:<52} | skipped: {why}")
            continue
        ours, base = ours.to(device=device, dtype=dtype), base.to(device=device, dtype=dtype)
        x = x.to(device=device, dtype=dtype).requires_grad_(True)
        with torch.no_grad():
            y_ours, y_base = ours(x), base(x)
            scale = y_base.abs().max().item()
            err = (y_ours - y_base).abs().max().item() / max(scale, 1e-30)
        tol = 1e-4 if dtype != torch.bfloat16 else 5e-2
        if not err <= tol:
            print(f"| {name:<52} | baseline disagrees with our layer: relative error {err:.2e}")
            failed += 1
            continue
        t_ours, t_base = compare(ours, base, x, args.reps, device)
        ratio = t_ours / t_base
        path = getattr(ours, "path", "")
        if target is None:
            verdict, target_text = "info", "-"
        else:
            verdict, target_text = ("PASS" if ratio <= target else "FAIL"), f"{target:.1f}x"
            failed += verdict == "FAIL"
        print(f"| {name:<52} | {base_name:<32} | {path:<24} | {t_ours * 1e3:8.1f} | {t_base * 1e3:8.1f} | "
              f"{ratio:5.2f}x | {target_text:>6} | {verdict:<6} |", flush=True)
    if not args.no_build and device.type == "cpu":
        failed += build_rows(args.reps)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
