"""Equality patterns times translations: ``S_m x T`` with ``T`` a cyclic or grid translation group.

The group is ``groups.product_action(S, T)`` (``S`` the full symmetric group on ``m`` points,
``T`` the translations of a ``d``-point grid) and each action is ``X x (natural action of T)``
(``groups.product_of_actions``) with ``X`` a sum of ``tensor(k)`` / ``subsets(k)`` (``k <= 3``)
of ``S``'s natural action: e.g. an adjacency matrix of length-``d`` signals, ``m^2 d`` points,
point ``u * d + p``. The orbits on pairs are products: (equality pattern ``s`` of the ``S``
parts) x (grid offset ``p' - p``), so ``W[(u, p), (v, p')] = theta[F[s(u, v), p' - p]]``.

It runs as the :class:`~eqsolve.layers._patterns.Patterns` executor of the ``S`` part with the
grid folded into the channels: the weight of each pattern is the block-circulant
``(out * d) x (in * d)`` matrix of its kernel. Cost per sample ``O(m^k c d + m^r c_in c_out d^2)``
(``r`` the order of the reduced tensors), against ``m^(k_out + k_in) d^2`` for ``generic``;
the reductions and placements never see the grid.

Recognised from the group's generators and the actions' images (never the table): the
generators split into ``g x id`` (their ``m``-point parts generate a group of order ``m!``)
and ``id x t`` (translations of a grid, transitive); the actions split the same way. The ids
``F`` are read from one table row per root of the ``S`` part.

>>> import torch, eqsolve; from eqsolve import groups, layers
>>> S, C = groups.symmetric(5), groups.cyclic(4)
>>> G = groups.product_action(S, C)
>>> rho = groups.product_of_actions(G, S.action().tensor(2), C.action())
>>> B = eqsolve.solve(out=rho, inp=rho)
>>> lin = layers.EquivariantLinear(B, 2, 3)
>>> lin.path, B.dim
('patterns[t2<-t2] x grid(4)', 60)
>>> lin(torch.randn(6, 2, 100)).shape
torch.Size([6, 3, 100])
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import _patterns

from eqsolve._patterns import factor  # noqa: F401  (re-exported for tests)
from eqsolve._patterns import recognise_product


def recognise(out_action, in_action):
    """``(m, d, shape, out_pieces, in_pieces, s_out, s_in)`` or None (see the module doc);
    actions made only of ``tensor(0)`` / ``tensor(1)`` are left to the translation path."""
    return recognise_product(out_action, in_action, points_only=False)


def _offsets(shape: Tuple[int, ...]) -> np.ndarray:
    """``D[p, p']``: the flat index of ``p' - p`` on the grid (per axis, circularly)."""
    coords = np.indices(shape).reshape(len(shape), -1)
    delta = (coords[:, None, :] - coords[:, :, None]) % np.array(shape)[:, None, None]
    return np.ravel_multi_index(tuple(delta), shape)


class PatternGrid(nn.Module):
    """The ``S`` part's :class:`Patterns` executor on ``(N, c * d, P)``, with block-circulant
    weights ``theta[F[s, D[p, p']]]`` per pattern ``s``."""

    def __init__(self, inner: nn.Module, ids: np.ndarray, d: int, shape, p_out: int, p_in: int):
        super().__init__()
        self.inner = inner
        self.d = int(d)
        self.shape = tuple(int(s) for s in shape)
        self.p_out, self.p_in = int(p_out), int(p_in)
        self.dim_s = int(ids.shape[0])
        # (dim_S, d, d): the parameter id of pattern s between grid points p and p'
        self.register_buffer("gather", torch.as_tensor(ids[:, _offsets(self.shape)], dtype=torch.long),
                             persistent=False)

    def forward(self, theta_pad: torch.Tensor, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        n, c = x.shape[0], x.shape[1]
        o, d = theta_pad.shape[0], self.d
        w = theta_pad[:, :, self.gather]  # (O, C, S, d, d)
        w = w.permute(0, 3, 1, 4, 2).reshape(o * d, c * d, self.dim_s)
        folded = x.reshape(n, c, self.p_in, d).transpose(2, 3).reshape(n, c * d, self.p_in)
        y = self.inner(F.pad(w, (0, 1)), folded, None)
        y = y.reshape(n, o, d, self.p_out).transpose(2, 3).reshape(n, o, self.p_out * d)
        return y if bias is None else y + bias

    def describe(self) -> str:
        return f"{self.inner.describe()} x grid({'x'.join(map(str, self.shape))})"


def candidate(basis, read_rows, dim: int, p: int, q: int, c_in: int, c_out: int):
    """``(cost, builder)`` or None."""
    found = recognise(getattr(basis, "out", None), getattr(basis, "inp", None))
    if found is None:
        return None
    m, d, shape, out_pieces, in_pieces, s_out, s_in = found
    p_out, p_in = s_out.degree, s_in.degree
    if p_out * d != p or p_in * d != q:
        return None
    import eqsolve

    inner_basis = eqsolve.solve(out=s_out, inp=s_in)
    roots = np.asarray(inner_basis.roots, dtype=np.int64)
    root_rows = np.asarray(inner_basis.rows(roots))
    rows = np.asarray(read_rows(roots * d))  # the product rows (u, 0), u a root of the S part
    ids = np.full((inner_basis.dim, d), -1, dtype=np.int64)
    for a in range(len(roots)):
        labels, first = np.unique(root_rows[a], return_index=True)
        cols = first[:, None] * d + np.arange(d)[None, :]
        ids[labels] = rows[a][cols]
    met = ids[ids >= 0]
    if len(np.unique(met)) != met.size or met.size != dim:
        return None  # not the product structure (each (pattern, offset) its own id, all met)
    inner = _patterns.build(m, out_pieces, in_pieces, inner_basis.rows, inner_basis.dim, p_out, p_in)
    if inner is None:
        return None
    ids = np.where(ids >= 0, ids, dim)  # the zero slot of theta_pad
    cost = _patterns.cost(m, out_pieces, in_pieces, c_in * d, c_out * d) + c_in * c_out * d * d * inner_basis.dim
    return cost, lambda: PatternGrid(inner, ids, d, shape, p_out, p_in)


def _recognise(spec) -> list:
    from ._fastpaths import Candidate

    source = spec.rows
    if source.row_map is not None or source.col_map is not None:
        return []
    found = candidate(source.basis, source, source.basis.dim, spec.p, spec.q, spec.c_in, spec.c_out)
    return [] if found is None else [Candidate("patterns", *found)]


def _register() -> None:
    from ._fastpaths import FastPath, register

    register(FastPath("patterns-grid", ("patterns",), _recognise, in_blocks=False,
                      doc="S_m on tensors / subsets x grid translations: patterns with circulant weights"),
             before="blocks")


_register()
