"""The equality-pattern executor: S_m acting on k-tuples, k-subsets and direct sums of these.

When the group is the full symmetric group ``S_m`` on its ``m`` points and an action is
``rho.tensor(k)`` (``k <= 3``), ``rho.subsets(k)`` or a disjoint union of these (node
features + adjacency, ``rho + rho.tensor(2)``), the orbits of ``S_m`` on pairs (output
tuple, input tuple) are the *equality patterns*: the set partitions of the ``k_out + k_in``
index positions (at most ``m`` blocks). Every basis matrix is therefore a fixed
reduce-then-broadcast, and a layer costs ``O(m^max(k_out, k_in))`` per channel pair instead of
the ``m^(k_out + k_in)`` of the dense gather.

How it runs (one :class:`Patterns` module):

* The orbit basis ``B_p`` ("the pattern of (i, j) is exactly p") is rewritten in the
  *at-least* basis ``A_q`` ("the equalities of q hold"): ``A_q = sum_{p coarser than q} B_p``,
  so ``theta_A = Z^{-1} theta_B`` with the zeta matrix ``Z`` of the partition lattice (an
  integer unitriangular matrix; ``Z^{-1}`` holds the Moebius function). This is one small
  ``(dim + 1) x n_q`` matrix product on the parameters per forward.
* ``A_q x`` splits into a *reduction* of the input (take the diagonal of the input positions
  that ``q`` ties together, sum over the input blocks not tied to an output) and a
  *placement* into the output (broadcast over the free output blocks, write onto the
  diagonal the output positions share). Reductions of the same order ``r`` are stacked on
  the channel axis and mixed by one matmul per (output piece, r); the results are added into
  the output in place, through strided diagonal views.
* ``k``-subsets are lifted to ``k``-tensors (the value of a subset at each of its ``k!``
  orderings, zero on repeated indices) and read back at the sorted tuples; the lift
  multiplies each input by ``k!``, so the pattern weights of a subset input are divided by it.

Recognition uses only the group and the actions (:func:`recognise`): the group's order must be
``m!`` and each action's generator images must equal, piece by piece, those of
``tensor(k)`` / ``subsets(k)`` of the natural action. The basis ids of the patterns are read
from a few rows of the orbit table (one row per output pattern, ``B.rows``), never the whole
table.

>>> import torch, eqsolve; from eqsolve import layers
>>> rho = eqsolve.groups.symmetric(6).action()
>>> B = eqsolve.solve(out=rho.tensor(2), inp=rho.tensor(2))
>>> lin = layers.EquivariantLinear(B, 2, 3)
>>> lin.path, B.dim
('patterns[t2<-t2]', 15)
>>> lin(torch.randn(4, 2, 36)).shape
torch.Size([4, 3, 36])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from eqsolve._patterns import (MAX_GROUP_DEGREE, MAX_ORDER, MAX_PIECES, Piece, sorted_subsets,  # noqa: F401
                                split_action, subset_rank)
from eqsolve._patterns import recognise as _recognise_actions


# -- recognition -----------------------------------------------------------------------------
def recognise(out_action, in_action) -> Optional[Tuple[int, List[Piece], List[Piece]]]:
    """``(m, out_pieces, in_pieces)`` when both actions are direct sums of ``tensor(k)`` /
    ``subsets(k)`` (``k <= 3``) of the natural action of the full symmetric group ``S_m``
    (:func:`eqsolve._patterns.recognise`, shared with the solver).

    Uses the generator images and the group's order only. Returns None for anything else,
    and for actions made only of ``tensor(0)`` / ``tensor(1)`` (the ``deepsets`` / ``const`` /
    ``blocks`` paths already run those in O(m)).

    >>> import eqsolve
    >>> rho = eqsolve.groups.symmetric(4).action()
    >>> m, out, inp = recognise(rho + rho.tensor(2), rho.subsets(2))
    >>> m, [p.label() for p in out], [p.label() for p in inp]
    (4, ['t1', 't2'], ['s2'])
    """
    return _recognise_actions(out_action, in_action, points_only=False)


# -- set partitions ----------------------------------------------------------------------------
@lru_cache(maxsize=None)
def partitions(n: int) -> Tuple[Tuple[int, ...], ...]:
    """Set partitions of ``n`` positions as restricted growth strings (block labels by first
    appearance).

    >>> partitions(3)
    ((0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1), (0, 1, 2))
    """
    result: List[Tuple[int, ...]] = []

    def grow(prefix, top):
        if len(prefix) == n:
            result.append(tuple(prefix))
            return
        for label in range(top + 2):
            grow(prefix + [label], max(top, label))

    grow([], -1)
    return tuple(result)


@lru_cache(maxsize=None)
def moebius(n: int) -> np.ndarray:
    """``Z^{-1}`` for the zeta matrix ``Z[p, q] = 1`` if ``q`` refines ``p`` (integer entries).

    ``theta_B[p] = sum_{q refines p} theta_A[q]``, hence ``theta_A = Z^{-1} theta_B``.
    """
    parts = np.array(partitions(n), dtype=np.int64).reshape(-1, n)
    count = len(parts)
    # q refines p  <=>  q[i] == q[j] implies p[i] == p[j] for all i, j
    same = parts[:, :, None] == parts[:, None, :]  # (P, n, n)
    zeta = np.all(~same[None, :, :, :] | same[:, None, :, :], axis=(2, 3)).astype(np.int64)  # [p, q]
    inv = np.rint(np.linalg.inv(zeta.astype(np.float64))).astype(np.int64)
    assert np.array_equal(zeta @ inv, np.eye(count, dtype=np.int64))
    return inv


def _canonical(labels: Sequence[int]) -> Tuple[int, ...]:
    seen: Dict[int, int] = {}
    return tuple(seen.setdefault(a, len(seen)) for a in labels)


# -- the executor --------------------------------------------------------------------------------
class Patterns(nn.Module):
    """Reduce-then-broadcast over equality patterns (see the module docstring).

    ``forward(theta_pad, x, bias)`` as every executor of ``EquivariantLinear``.
    """

    def __init__(self, m: int, out_pieces: List[Piece], in_pieces: List[Piece], coeff: np.ndarray,
                 reductions, groups_, p: int, q: int):
        super().__init__()
        self.m = int(m)
        self.p, self.q = int(p), int(q)
        self.out_pieces = list(out_pieces)
        self.in_pieces = list(in_pieces)
        self.register_buffer("coeff", torch.as_tensor(coeff, dtype=torch.float64), persistent=False)
        # reductions: list of (in piece index, einsum equation, source reduction or -1, axes to sum)
        self.reductions = reductions
        # groups_: per output piece a list of (r, [(reduction id, permutation)], qidx (T, R), targets)
        self.groups = groups_
        for a, piece in enumerate(self.out_pieces):
            for g, (_, _, qidx, _) in enumerate(self.groups[a]):
                # (dim + 1, T * R): theta_pad times this is the group's matmul weight, in one product
                padded = np.concatenate([coeff, np.zeros((coeff.shape[0], 1))], axis=1)
                self.register_buffer(f"mix_{a}_{g}", torch.as_tensor(padded[:, qidx.reshape(-1)], dtype=torch.float64),
                                     persistent=False)
        for b, piece in enumerate(self.in_pieces):
            if piece.kind == "subsets":
                self.register_buffer(f"lift_{b}", torch.as_tensor(_lift_index(self.m, piece.k)), persistent=False)
        for a, piece in enumerate(self.out_pieces):
            if piece.kind == "subsets":
                self.register_buffer(f"restrict_{a}", torch.as_tensor(_restrict_index(self.m, piece.k)),
                                     persistent=False)

    def theta_at_least(self, theta_pad: torch.Tensor) -> torch.Tensor:
        """Weights of the at-least basis ``A_q``: ``(out, in, n_q)``."""
        return torch.matmul(theta_pad, self.coeff.to(theta_pad.dtype))

    def forward(self, theta_pad: torch.Tensor, x: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
        n, c = x.shape[0], x.shape[1]
        o = theta_pad.shape[0]
        m = self.m
        tensors: List[torch.Tensor] = []
        for b, piece in enumerate(self.in_pieces):
            part = x[:, :, piece.offset:piece.offset + piece.size]
            if piece.kind == "subsets":
                part = F.pad(part, (0, 1))[:, :, getattr(self, f"lift_{b}")]
            tensors.append(part.reshape([n, c] + [m] * piece.k))
        reduced: List[torch.Tensor] = []
        for b, equation, source, axes in self.reductions:
            if source >= 0:
                reduced.append(reduced[source].sum(dim=axes) if axes else reduced[source])
            else:
                reduced.append(_reduce(tensors[b], equation))
        outputs: List[torch.Tensor] = []
        for a, piece in enumerate(self.out_pieces):
            k = piece.k
            values: List[torch.Tensor] = []  # one per target, in self.placements[a] order
            for g, (r, features, _, targets) in enumerate(self.groups[a]):
                stack = [reduced[i].permute([0, 1] + [2 + ax for ax in perm]) for i, perm in features]
                feat = stack[0] if len(stack) == 1 else torch.cat(stack, dim=1)
                t_count, r_count = len(targets), len(features)
                mix = getattr(self, f"mix_{a}_{g}")
                weight = torch.matmul(theta_pad, mix.to(theta_pad.dtype)).reshape(o, c, t_count, r_count)
                weight = weight.permute(2, 0, 3, 1).reshape(t_count * o, r_count * c)
                z = torch.matmul(weight, feat.reshape(n, r_count * c, m ** r))  # (N, T*O, m^r)
                for t in range(t_count):
                    values.append(z[:, t * o:(t + 1) * o].reshape([n, o] + [m] * r))
            y: Optional[torch.Tensor] = None
            # small targets first: each is added into a bigger one on the same diagonal when
            # there is one (a pass over a small tensor), else into the output
            for t, into, shape, blocks, full in self.placements[a]:
                v = values[t]
                if full:
                    y = v if y is None else y + v
                elif into >= 0:
                    values[into] = values[into] + v.reshape([n, o] + shape)
                else:
                    if y is None:
                        y = x.new_zeros([n, o] + [m] * k)
                    _diagonal(y, blocks, m).add_(v.reshape([n, o] + shape))
            if y is None:
                y = x.new_zeros([n, o] + [m] * k)
            flat = y.reshape(n, o, m ** k)
            if piece.kind == "subsets":
                flat = flat[:, :, getattr(self, f"restrict_{a}")]
            outputs.append(flat)
        out = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
        return out if bias is None else out + bias

    def describe(self) -> str:
        return ("patterns[" + "+".join(p.label() for p in self.out_pieces) + "<-"
                + "+".join(p.label() for p in self.in_pieces) + "]")


def _reduce(t: torch.Tensor, equation: str) -> torch.Tensor:
    """``torch.einsum(equation, t)``, with the common cases as plain views and sums."""
    lhs, rhs = equation.split("->")
    if lhs == rhs:
        return t
    if len(set(lhs)) == len(lhs):  # no diagonal: a sum over the dropped axes
        if all(ch in lhs for ch in rhs) and "".join(ch for ch in lhs if ch in rhs) == rhs:
            return t.sum(dim=[i for i, ch in enumerate(lhs) if ch not in rhs])
    return torch.einsum(equation, t)


def _placements(k: int, targets: List, m: int) -> List[Tuple[int, int, List[int], Tuple, bool]]:
    """How to place each target: ``(target, into, shape, blocks, full)`` in execution order.

    Smaller targets are folded into a target on the same diagonal that keeps one more block
    (``into``; ``shape`` then broadcasts into it); the rest are added onto their diagonal view
    of the output (``into = -1``; ``shape`` over the diagonal's blocks); ``full`` marks the
    target that is the whole output."""
    order = sorted(range(len(targets)), key=lambda t: len(targets[t][1]))
    plan = []
    for t in order:
        blocks, kept = targets[t]
        full = len(blocks) == k and len(kept) == k
        into = -1
        if not full:
            for t2, (blocks2, kept2) in enumerate(targets):
                if blocks2 == blocks and len(kept2) == len(kept) + 1 and set(kept) <= set(kept2):
                    into = t2
                    break
        if into >= 0:
            shape = [m if blk in kept else 1 for blk in targets[into][1]]
        else:
            shape = [m if blk in kept else 1 for blk in range(len(blocks))]
        plan.append((t, into, shape, blocks, full))
    # folds first (small to big), then the whole output, then the diagonal adds into it
    return ([step for step in plan if step[1] >= 0] + [step for step in plan if step[4]]
            + [step for step in plan if step[1] < 0 and not step[4]])


def _diagonal(y: torch.Tensor, blocks: Tuple[Tuple[int, ...], ...], m: int) -> torch.Tensor:
    """View of ``y`` ``(N, O, m, ..., m)`` on the diagonal where the output positions of each
    block are equal: ``(N, O, m, ..., m)`` with one axis per block."""
    stride = list(y.stride())
    k = y.dim() - 2
    if all(len(b) == 1 for b in blocks) and k == len(blocks):
        return y
    sizes = [y.shape[0], y.shape[1]] + [m] * len(blocks)
    strides = stride[:2] + [sum(stride[2 + pos] for pos in block) for block in blocks]
    return y.as_strided(sizes, strides, y.storage_offset())


def _lift_index(m: int, k: int) -> np.ndarray:
    """For each k-tuple (row-major), the rank of its set if its entries differ, else C(m, k)."""
    tuples = np.indices((m,) * k).reshape(k, -1).T
    distinct = np.ones(len(tuples), dtype=bool)
    for i in range(k):
        for j in range(i + 1, k):
            distinct &= tuples[:, i] != tuples[:, j]
    index = np.full(len(tuples), math.comb(m, k), dtype=np.int64)
    index[distinct] = subset_rank(np.sort(tuples[distinct], axis=1), m)
    return index


def _restrict_index(m: int, k: int) -> np.ndarray:
    """Row-major position of each sorted k-subset in the k-tensor."""
    subsets = sorted_subsets(m, k)
    return np.ravel_multi_index(tuple(subsets.T), (m,) * k) if k else np.zeros(1, dtype=np.int64)


# -- planning --------------------------------------------------------------------------------------
_LETTERS = "ijklmpqrst"  # not n or c (batch, channel)


def _point(piece: Piece, labels: Sequence[int], m: int) -> Optional[int]:
    """Global index of the tuple ``labels`` in ``piece`` (None if a subset has a repeat)."""
    if piece.kind == "tensor":
        idx = 0
        for a in labels:
            idx = idx * m + a
        return piece.offset + idx
    if len(set(labels)) < len(labels):
        return None
    return piece.offset + int(subset_rank(np.sort(np.array([labels])), m)[0])


def build(m: int, out_pieces: List[Piece], in_pieces: List[Piece], read_rows: Callable,
          dim: int, p: int, q: int, complete: bool = True) -> Optional[Patterns]:
    """The :class:`Patterns` executor, with the basis ids read through ``read_rows(idx)`` (rows
    of the orbit table); None if the ids do not form the expected pattern structure.

    ``dim`` is the number of ids of the layer's parameters; with ``complete`` the table must use
    all of them; without, it is a block of a larger table (e.g. one piece pair inside
    ``blocks``) and uses some."""
    # 1. one representative pair per (output piece, input piece, pattern)
    requests = []  # (a, b, partition, out point, in point)
    for a, po in enumerate(out_pieces):
        for b, pi in enumerate(in_pieces):
            n = po.k + pi.k
            for part in partitions(n):
                if max(part, default=-1) + 1 > m:
                    continue  # needs more distinct points than there are
                i = _point(po, part[:po.k], m)
                j = _point(pi, part[po.k:], m)
                if i is None or j is None:
                    continue
                requests.append((a, b, part, i, j))
    rows_needed = sorted({i for *_, i, _ in requests})
    table_rows = np.asarray(read_rows(np.array(rows_needed, dtype=np.int64)))
    row_of = {i: r for r, i in enumerate(rows_needed)}
    ids: Dict[Tuple[int, int, Tuple[int, ...]], int] = {}
    owner: Dict[int, Tuple[int, int]] = {}
    for a, b, part, i, j in requests:
        k = int(table_rows[row_of[i], j])
        ids[(a, b, part)] = k
        if k >= 0 and owner.setdefault(k, (a, b)) != (a, b):
            return None
    met = {k for k in ids.values() if k >= 0}
    if (len(met) != dim) if complete else (max(met, default=-1) >= dim):
        return None  # the table has ids we did not meet: not the structure we assumed

    # 2. at-least weights: theta_A[q] = sum_p Z^{-1}[q, p] theta_B[p] for the present patterns
    columns: List[Tuple[int, int, Tuple[int, ...]]] = []
    coeff_cols: List[np.ndarray] = []
    for a, po in enumerate(out_pieces):
        for b, pi in enumerate(in_pieces):
            n = po.k + pi.k
            parts = partitions(n)
            inv = moebius(n)
            scale = 1.0 / math.factorial(pi.k) if pi.kind == "subsets" else 1.0
            present = [(s, ids[(a, b, part)]) for s, part in enumerate(parts)
                       if ids.get((a, b, part), -1) >= 0]
            if not present:
                continue
            for t, qpart in enumerate(parts):
                if po.kind == "subsets" and len(set(qpart[:po.k])) < po.k:
                    continue  # writes only onto diagonals, which the subset output never reads
                if pi.kind == "subsets" and len(set(qpart[po.k:])) < pi.k:
                    continue  # reads only diagonals, where the lifted subset input is zero
                col = np.zeros(dim + 1)
                for s, k in present:
                    col[k] += inv[t, s] * scale
                if np.any(col):
                    columns.append((a, b, qpart))
                    coeff_cols.append(col)
    coeff = np.stack(coeff_cols, axis=1) if coeff_cols else np.zeros((dim + 1, 0))

    # 3. split each at-least term into a reduction of its input and a placement in its output
    reductions: List[Tuple[int, str, int, List[int]]] = []
    red_sets: Dict[Tuple[int, Tuple[int, ...], Tuple[int, ...]], int] = {}  # (b, pi_in, kept sorted) -> id

    def reduction(b: int, pi_in: Tuple[int, ...], kept: Tuple[int, ...]) -> int:
        key = (b, pi_in, kept)
        if key in red_sets:
            return red_sets[key]
        blocks_in = max(pi_in, default=-1) + 1
        # sum a reduction that keeps one more block, when it exists (cheaper than the input)
        for extra in range(blocks_in):
            if extra in kept:
                continue
            bigger = tuple(sorted(kept + (extra,)))
            if (b, pi_in, bigger) in red_sets:
                axis = bigger.index(extra)
                reductions.append((b, "", red_sets[(b, pi_in, bigger)], [2 + axis]))
                red_sets[key] = len(reductions) - 1
                return red_sets[key]
        equation = "nc" + "".join(_LETTERS[x] for x in pi_in) + "->nc" + "".join(_LETTERS[x] for x in kept)
        reductions.append((b, equation, -1, []))
        red_sets[key] = len(reductions) - 1
        return red_sets[key]

    per_out: List[Dict[int, Dict]] = [dict() for _ in out_pieces]
    decomposed = []
    for col, (a, b, qpart) in enumerate(columns):
        ko = out_pieces[a].k
        out_labels, in_labels = qpart[:ko], qpart[ko:]
        pi_out = _canonical(out_labels)
        pi_in = _canonical(in_labels)
        out_block_of = {lab: pi_out[out_labels.index(lab)] for lab in set(out_labels)}
        in_block_of = {lab: pi_in[in_labels.index(lab)] for lab in set(in_labels)}
        mixed = sorted((out_block_of[lab], in_block_of[lab]) for lab in set(out_labels) & set(in_labels))
        kept_out = tuple(ob for ob, _ in mixed)
        kept_in_ordered = tuple(ib for _, ib in mixed)
        decomposed.append((col, a, b, pi_out, kept_out, pi_in, kept_in_ordered))
    # reductions in decreasing order so that smaller ones are sums of bigger ones
    for col, a, b, pi_out, kept_out, pi_in, kept_in in sorted(decomposed, key=lambda d: -len(d[6])):
        red = reduction(b, pi_in, tuple(sorted(kept_in)))
        perm = tuple(sorted(kept_in).index(ib) for ib in kept_in)
        r = len(kept_out)
        slot = per_out[a].setdefault(r, {"features": [], "targets": [], "cells": []})
        feature = (red, perm)
        if feature not in slot["features"]:
            slot["features"].append(feature)
        blocks = tuple(tuple(pos for pos, lab in enumerate(pi_out) if lab == blk) for blk in range(max(pi_out, default=-1) + 1))
        target = (blocks, kept_out)
        if target not in slot["targets"]:
            slot["targets"].append(target)
        slot["cells"].append((slot["targets"].index(target), slot["features"].index(feature), col))
    groups_ = []
    placements = []
    ncols = len(columns)
    for a in range(len(out_pieces)):
        entries = []
        for r in sorted(per_out[a], reverse=True):
            slot = per_out[a][r]
            # the full output target first, so that the output starts from it
            order = sorted(range(len(slot["targets"])), key=lambda t: -len(slot["targets"][t][1]) - len(slot["targets"][t][0]))
            rank = {t: i for i, t in enumerate(order)}
            qidx = np.full((len(order), len(slot["features"])), ncols, dtype=np.int64)
            for t, f, col in slot["cells"]:
                qidx[rank[t], f] = col
            entries.append((r, slot["features"], qidx, [slot["targets"][t] for t in order]))
        groups_.append(entries)
        placements.append(_placements(out_pieces[a].k, [t for *_, targets in entries for t in targets], m))
    executor = Patterns(m, out_pieces, in_pieces, coeff, reductions, groups_, p, q)
    executor.placements = placements
    executor.columns = columns  # (out piece, in piece, at-least partition) of each theta_A column
    return executor


def cost(m: int, out_pieces: List[Piece], in_pieces: List[Piece], c_in: int, c_out: int) -> float:
    """Multiply-adds per sample, roughly: the matmuls at each order plus a pass per placement."""
    total = 0.0
    for po in out_pieces:
        for pi in in_pieces:
            r_max = min(po.k, pi.k)
            total += c_in * c_out * 2.0 * m ** r_max * math.factorial(r_max)
            total += (c_in * m ** pi.k) * 3 + (c_out * m ** po.k) * 3
    return total


def candidate(basis, read_rows: Callable, dim: int, p: int, q: int, c_in: int, c_out: int):
    """``(cost, builder)`` for the pattern executor of ``basis``, or None if it does not apply.

    ``read_rows(idx)`` returns rows of the (possibly masked) orbit table whose ids the layer's
    parameters use.
    """
    found = recognise(getattr(basis, "out", None), getattr(basis, "inp", None))
    if found is None:
        return None
    m, out_pieces, in_pieces = found
    if sum(x.size for x in out_pieces) != p or sum(x.size for x in in_pieces) != q:
        return None
    executor = build(m, out_pieces, in_pieces, read_rows, dim, p, q)
    if executor is None:
        return None
    return cost(m, out_pieces, in_pieces, c_in, c_out), lambda: executor


def _recognise(spec) -> list:
    """The registry entry (``layers._fastpaths``): the whole table of a basis with actions."""
    from ._fastpaths import Candidate

    source = spec.rows
    if source.row_map is not None or source.col_map is not None:
        return []  # a block of a larger table: its actions are not tensor / subset actions
    found = candidate(source.basis, source, source.basis.dim, spec.p, spec.q, spec.c_in, spec.c_out)
    return [] if found is None else [Candidate("patterns", *found)]


def _register() -> None:
    from ._fastpaths import FastPath, register

    register(FastPath("patterns", ("patterns",), _recognise, in_blocks=False,
                      doc="S_m on tensors / subsets: equality patterns"), before="blocks")


_register()
