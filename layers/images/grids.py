"""Bases of the image layers, all solved by eqsolve on translation groups of the pixel grid.

Three kinds of map, each exactly equivariant to its own translation group:

* :func:`conv_basis` ``(size)``: ``grid_translations((size, size))`` on itself with a ``k x k``
  support, i.e. a circular ``k x k`` convolution;
* :func:`down_basis` ``(size)``: from the ``size x size`` grid to the ``size/2 x size/2`` grid, for
  the group ``T = grid_translations((size/2, size/2))`` acting on the coarse grid by shifts of
  one and on the fine grid by shifts of two (``eqsolve.groups.finer_grid(T, 2)``); the ``3 x 3`` support around ``2 * (coarse point)``
  makes it a stride-2 circular convolution;
* :func:`up_basis` ``(size)``: the transpose (coarse -> fine), a stride-2 transposed convolution.

A U-net of these layers is therefore equivariant to the translations that every layer
respects: shifts of the input grid by multiples of ``2 ** depth`` (:func:`net_shift`).

>>> B = down_basis(8)
>>> B.shape, B.dim
((16, 64), 9)
>>> conv_basis(8).dim, up_basis(8).shape
(9, (64, 16))
"""

from __future__ import annotations

import functools

import numpy as np

import eqsolve
from eqsolve import EqsolveError

__all__ = ["conv_basis", "down_basis", "up_basis", "one_orbit"]


def _check_size(size, even: bool = False) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1 or (even and size % 2):
        raise EqsolveError(f"grid size must be {'an even' if even else 'an'} integer >= {2 if even else 1}, got {size!r}")
    return int(size)


def _window(out_size: int, out_step: int, in_size: int, in_step: int, side: int, radius: int) -> np.ndarray:
    """``mask[i, j]`` for row-major grids of ``out_size^2`` and ``in_size^2`` points at
    coordinates ``step * index`` on a circle of ``side``: the offset of input ``j`` from output
    ``i`` is within ``radius`` on both axes. It is one 1-D window per axis, so it is built as
    their product (a 64 x 64 grid: 16 M entries, not a 268 MB table of offsets)."""
    delta = (in_step * np.arange(in_size)[None, :] - out_step * np.arange(out_size)[:, None]) % side
    line = np.abs(np.where(delta > side // 2, delta - side, delta)) <= radius  # (out_size, in_size)
    return (line[:, None, :, None] & line[None, :, None, :]).reshape(out_size * out_size, in_size * in_size)


@functools.lru_cache(maxsize=None)
def conv_basis(size: int, kernel: int = 3) -> eqsolve.Basis:
    """``k x k`` circular convolution on a ``size x size`` grid (``kernel`` odd; 1 = pointwise)."""
    size = _check_size(size)
    if isinstance(kernel, bool) or not isinstance(kernel, (int, np.integer)) or kernel < 1 or kernel % 2 == 0:
        raise EqsolveError(f"kernel must be an odd integer >= 1, got {kernel!r}")
    group = eqsolve.groups.grid_translations((size, size))
    radius = min(kernel // 2, (size - 1) // 2)
    return eqsolve.solve(group, support=_window(size, 1, size, 1, size, radius))


@functools.lru_cache(maxsize=None)
def down_basis(size: int) -> eqsolve.Basis:
    """Stride-2 ``3 x 3`` circular convolution ``size x size -> size/2 x size/2``."""
    size = _check_size(size, even=True)
    coarse = eqsolve.groups.grid_translations((size // 2, size // 2))
    mask = _window(size // 2, 2, size, 1, size, 1)
    return eqsolve.solve(out=coarse.action(), inp=eqsolve.groups.finer_grid(coarse, 2), support=mask)


@functools.lru_cache(maxsize=None)
def up_basis(size: int) -> eqsolve.Basis:
    """Stride-2 ``3 x 3`` transposed circular convolution ``size/2 x size/2 -> size x size``."""
    size = _check_size(size, even=True)
    coarse = eqsolve.groups.grid_translations((size // 2, size // 2))
    mask = _window(size, 1, size // 2, 2, size, 1)
    return eqsolve.solve(out=eqsolve.groups.finer_grid(coarse, 2), inp=coarse.action(), support=mask)


def one_orbit(size: int) -> np.ndarray:
    """Orbit labels for normalisation and pooling on a ``size x size`` grid: one orbit (the
    translations are transitive), so statistics are per channel over all pixels."""
    return np.zeros(_check_size(size) ** 2, dtype=np.int64)
