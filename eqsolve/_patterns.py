"""S_m on k-tuples and k-subsets: recognition, and the root rows straight from equality patterns.

When the group is the full symmetric group ``S_m`` on its ``m`` points and both actions are
disjoint unions of ``rho.tensor(k)`` (``k <= 3``) and ``rho.subsets(k)`` of the natural action
``rho``, the orbits on pairs (output point, input point) are known in closed form, so the
solver needs no stabilizer chain and no table: the stabilizer of an output root is

* the pointwise stabilizer of the root tuple's values (a ``tensor(k)`` root), or
* the setwise stabilizer ``S_k x S_{m-k}`` of the root subset (a ``subsets(k)`` root),

and its orbits on the input points are read off each input tuple: which of the root's values
each position holds and the equality pattern of the rest (tensor input), or which root values
the subset contains / how many (subset input). That is ``O(k^2)`` per input point and root:
:func:`root_rows` gives the same canonical rows as the general solver, in time linear in the
number of points (``S_128`` on ``tensor(2)``: 16,384 points, well under a second).

The layer executor (``eqsolve.layers._patterns``) uses the same recognition.

>>> from eqsolve import groups
>>> rho = groups.symmetric(4).action()
>>> m, out, inp = recognise(rho + rho.tensor(2), rho.subsets(2))
>>> m, [p.label() for p in out], [p.label() for p in inp]
(4, ['t1', 't2'], ['s2'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from ._perm import canonical_labels, orbit_labels

MAX_ORDER = 3  # tensor(k) and subsets(k) for k <= 3
MAX_PIECES = 8  # summands of a direct sum that we try to match
MAX_GROUP_DEGREE = 1 << 16


@dataclass(frozen=True)
class Piece:
    """One summand of an action of ``S_m``: ``kind`` ("tensor" or "subsets"), order ``k``,
    its first point ``offset`` and number of points ``size``."""

    kind: str
    k: int
    offset: int
    size: int

    def label(self) -> str:
        return ("t" if self.kind == "tensor" else "s") + str(self.k)


def _kinds(m: int) -> List[Tuple[str, int, int]]:
    kinds = [("tensor", k, m ** k) for k in range(MAX_ORDER + 1)]
    kinds += [("subsets", k, math.comb(m, k)) for k in range(2, min(MAX_ORDER, m) + 1)]
    return kinds


def subset_rank(tuples: np.ndarray, m: int) -> np.ndarray:
    """Lexicographic rank of sorted k-subsets (rows of ``tuples``) among ``combinations(range(m), k)``.

    >>> subset_rank(np.array([[0, 1], [0, 3], [2, 3]]), 4).tolist()
    [0, 2, 5]
    """
    tuples = np.asarray(tuples, dtype=np.int64)
    k = tuples.shape[1]
    rank = np.zeros(tuples.shape[0], dtype=np.int64)
    prev = np.full(tuples.shape[0], -1, dtype=np.int64)
    for pos in range(k):
        left = k - pos - 1  # elements still to place after this one
        # subsets that put a value in (prev, a) at this position come first
        # count = sum_{v = prev+1}^{a-1} C(m - 1 - v, left) = C(m - 1 - prev, left + 1) - C(m - a, left + 1)
        rank += _comb(m - 1 - prev, left + 1) - _comb(m - tuples[:, pos], left + 1)
        prev = tuples[:, pos]
    return rank


def _comb(n: np.ndarray, k: int) -> np.ndarray:
    n = np.asarray(n, dtype=np.int64)
    out = np.ones_like(n)
    for i in range(k):
        out = out * (n - i)
    return np.where(n >= k, out // math.factorial(k), 0)


def sorted_subsets(m: int, k: int) -> np.ndarray:
    """All k-subsets of ``range(m)`` as sorted rows, in lexicographic order."""
    if k == 0:
        return np.zeros((1, 0), dtype=np.int64)
    grids = np.indices((m,) * k).reshape(k, -1).T
    keep = np.all(np.diff(grids, axis=1) > 0, axis=1) if k > 1 else np.ones(len(grids), bool)
    return grids[keep]


def images(gens: np.ndarray, kind: str, k: int, m: int) -> np.ndarray:
    """Generator images of ``tensor(k)`` / ``subsets(k)`` of the natural action (points in the
    order eqsolve's ``Action.tensor`` / ``Action.subsets`` use)."""
    ngens = gens.shape[0]
    if kind == "tensor":
        if k == 0:
            return np.zeros((ngens, 1), dtype=np.int64)
        result = gens
        for _ in range(k - 1):
            result = (result[:, :, None] * m + gens[:, None, :]).reshape(ngens, -1)
        return result
    subsets = sorted_subsets(m, k)
    out = np.empty((ngens, len(subsets)), dtype=np.int64)
    for s, g in enumerate(gens):
        out[s] = subset_rank(np.sort(g[subsets], axis=1), m)
    return out


def split_action(action_images: np.ndarray, gens: np.ndarray, m: int) -> Optional[List[Piece]]:
    """Pieces whose generator images, side by side, are exactly ``action_images``; None if
    there are none (depth-first over the summands, at most :data:`MAX_PIECES`)."""
    degree = action_images.shape[1]
    kinds = _kinds(m)
    cache: Dict[Tuple[str, int], np.ndarray] = {}

    def matches(kind, k, offset, size):
        if (kind, k) not in cache:
            cache[(kind, k)] = images(gens, kind, k, m)
        return np.array_equal(action_images[:, offset:offset + size] - offset, cache[(kind, k)])

    def search(offset, depth):
        if offset == degree:
            return []
        if depth == MAX_PIECES:
            return None
        for kind, k, size in kinds:
            if size == 0 or offset + size > degree:
                continue
            # cheap rejection first: the block must map into itself
            block = action_images[:, offset:offset + size]
            if block.size and (block.min() < offset or block.max() >= offset + size):
                continue
            if matches(kind, k, offset, size):
                rest = search(offset + size, depth + 1)
                if rest is not None:
                    return [Piece(kind, k, offset, size)] + rest
        return None

    return search(0, 0)


def _sizes_fit(degree: int, m: int) -> bool:
    sizes = sorted({s for _, _, s in _kinds(m) if s > 0})
    reachable = {0}
    for _ in range(MAX_PIECES):
        reachable |= {r + s for r in reachable for s in sizes if r + s <= degree}
        if degree in reachable:
            return True
    return degree in reachable


def recognise(out_action, in_action, points_only: bool = True) -> Optional[Tuple[int, List[Piece], List[Piece]]]:
    """``(m, out_pieces, in_pieces)`` when both actions are direct sums of ``tensor(k)`` /
    ``subsets(k)`` (``k <= 3``) of the natural action of the full symmetric group ``S_m``.

    Uses the generator images and the group's order only (the order last: it is the one
    check that may cost more than a pass over the images). None for anything else, and,
    unless ``points_only``, for actions made only of ``tensor(0)`` / ``tensor(1)`` (the
    general solver and the O(m) layer paths already handle those).
    """
    if out_action is None or in_action is None:
        return None
    group = getattr(out_action, "group", None)
    if group is None or getattr(in_action, "group", None) is not group and in_action.group != group:
        return None
    m = int(group.degree)
    if m < 1 or m > MAX_GROUP_DEGREE:
        return None
    if not (_sizes_fit(out_action.degree, m) and _sizes_fit(in_action.degree, m)):
        return None
    gens = np.asarray(group.generators, dtype=np.int64).reshape(-1, m)
    out_pieces = split_action(np.asarray(out_action.images), gens, m)
    if out_pieces is None:
        return None
    in_pieces = split_action(np.asarray(in_action.images), gens, m)
    if in_pieces is None:
        return None
    if not points_only and all(p.kind == "tensor" and p.k <= 1 for p in out_pieces + in_pieces):
        return None
    if not _may_be_symmetric(gens, m):
        return None
    if group.log2_order() < math.lgamma(m + 1) / math.log(2) - 0.5 or group.order() != math.factorial(m):
        return None
    return m, out_pieces, in_pieces


# -- root rows from equality patterns -----------------------------------------------------------
def _tuples(piece: Piece, m: int, ranks: Optional[np.ndarray] = None) -> np.ndarray:
    """``(n, k)`` index tuples of the points ``ranks`` (local; default all) of ``piece``."""
    if piece.kind == "tensor":
        local = np.arange(piece.size) if ranks is None else np.asarray(ranks, dtype=np.int64)
        if piece.k == 0:
            return np.zeros((local.size, 0), dtype=np.int64)
        dtype = np.int16 if m < 2 ** 15 else np.int32
        return np.stack(np.unravel_index(local, (m,) * piece.k), axis=1).astype(dtype)
    subsets = sorted_subsets(m, piece.k)
    return subsets if ranks is None else subsets[np.asarray(ranks, dtype=np.int64)]


def _key(root: np.ndarray, root_kind: str, inp: Piece, tuples: np.ndarray, m: int) -> np.ndarray:
    """A key per input tuple that is equal exactly when two input points lie in one orbit of
    the stabilizer of ``root`` (see the module docstring)."""
    n, k = tuples.shape
    key = np.zeros(n, dtype=np.int64)
    if root_kind == "tensor":
        label = np.full(m, -1, dtype=np.int64)
        for v in root.tolist():
            if label[v] < 0:
                label[v] = int(label.max()) + 1
        blocks = int(label.max()) + 1
        if inp.kind == "subsets":  # which root values the subset holds (as a set)
            for t in range(k):
                lab = label[tuples[:, t]]
                key += np.where(lab >= 0, np.left_shift(1, np.maximum(lab, 0)), 0)
            return key
        base = blocks + k
        for t in range(k):
            lab = label[tuples[:, t]]
            first = np.full(n, t, dtype=np.int64)
            for s in range(t - 1, -1, -1):
                first = np.where(tuples[:, s] == tuples[:, t], s, first)
            key = key * base + np.where(lab >= 0, lab, blocks + first)
        return key
    inside = np.zeros(m, dtype=bool)
    inside[root] = True
    if inp.kind == "subsets":  # the size of the intersection
        for t in range(k):
            key += inside[tuples[:, t]]
        return key
    for t in range(k):
        first = np.full(n, t, dtype=np.int64)
        for s in range(t - 1, -1, -1):
            first = np.where(tuples[:, s] == tuples[:, t], s, first)
        key = key * (2 * k) + 2 * first + inside[tuples[:, t]]
    return key


def root_rows(m: int, out_pieces: List[Piece], in_pieces: List[Piece], roots: np.ndarray,
              dtype=np.int64, d: int = 1) -> Tuple[np.ndarray, int]:
    """Canonical rows of the orbit table at ``roots`` (increasing) and the number of ids: the
    same as the general solver's, from equality patterns (``O(k^2)`` per entry).

    With ``d > 1`` the group is ``S_m x T`` (:func:`recognise_product`): point ``u * d + p``,
    the roots are ``u * d`` and an orbit on pairs is (pattern of the ``S`` parts, offset ``p'``).

    >>> from eqsolve import groups
    >>> rho = groups.symmetric(3).action()
    >>> _, out, inp = recognise(rho.tensor(2), rho)
    >>> rows, dim = root_rows(3, out, inp, np.array([0, 1]))
    >>> rows.tolist(), dim
    ([[0, 1, 1], [2, 3, 4]], 5)
    """
    roots = np.asarray(roots, dtype=np.int64)
    d_in = sum(p.size for p in in_pieces) * d
    rows = np.empty((roots.size, d_in), dtype=dtype)
    inputs = [_tuples(p, m) for p in in_pieces]
    starts = np.array([p.offset for p in out_pieces])
    offset = 0
    for index, r in enumerate(roots.tolist()):
        r, p = divmod(r, d)
        assert p == 0, "the roots of S_m x T are the points (u, 0)"
        po = out_pieces[int(np.searchsorted(starts, r, side="right")) - 1]
        root = _tuples(po, m, np.array([r - po.offset]))[0].astype(np.int64)
        keys = []
        shift = 0
        for pi, tuples in zip(in_pieces, inputs):
            key = _key(root, po.kind, pi, tuples, m)
            keys.append(key + shift)
            shift += int(key.max()) + 1 if key.size else 0
        if keys and d > 1:
            keys = [(key[:, None] * d + np.arange(d)[None, :]).ravel() for key in keys]
        labels = canonical_labels(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
        rows[index] = labels + offset
        offset += int(labels.max()) + 1 if labels.size else 0
    return rows, offset


# -- S_m x T: equality patterns times grid translations -----------------------------------------
MAX_GRID = 4096  # grids up to this many points are tried as the T factor


def _divisors(n: int) -> List[int]:
    """Divisors ``a`` of ``n`` with ``2 <= a <= min(n / 2, MAX_GRID)``, increasing."""
    return [a for a in range(2, min(n // 2, MAX_GRID) + 1) if n % a == 0]


def split_generators(images: np.ndarray, d: int):
    """Per generator (rows of ``images`` on ``P * d`` points, point ``u * d + p``): whether it
    is ``g x id`` and its ``g`` (on ``P`` points), whether it is ``id x t`` and its ``t`` (on
    ``d`` points)."""
    k, n = images.shape
    p = n // d
    grid = images.reshape(k, p, d)
    left = grid[:, :, 0] // d
    is_left = (grid == left[:, :, None] * d + np.arange(d)).all(axis=(1, 2))
    right = grid[:, 0, :]
    is_right = (grid == np.arange(p)[None, :, None] * d + right[:, None, :]).all(axis=(1, 2))
    return is_left, left, is_right, right


def _grid_shape(right: np.ndarray, d: int) -> Optional[Tuple[int, ...]]:
    """A grid on ``d`` points of which every ``right`` generator is a translation, transitively."""
    from .groups import translation_vectors

    if int(orbit_labels(right, d).max()) != 0:
        return None
    for shape in [(d,)] + [(a, d // a) for a in _divisors(d)]:
        if translation_vectors(right, shape)[1].all():
            return shape
    return None


def _may_be_symmetric(gens: np.ndarray, m: int) -> bool:
    """Cheap necessary conditions for ``<gens> = S_m`` (before any stabilizer chain): transitive
    on the ``m`` points, and not abelian when ``m >= 3``."""
    if m <= 1:
        return True
    if not len(gens) or (m >= 3 and _abelian(gens)):
        return False
    return int(orbit_labels(gens, m).max()) == 0


def _abelian(gens: np.ndarray) -> bool:
    return all(np.array_equal(a[b], b[a]) for i, a in enumerate(gens) for b in gens[i + 1:])


def _factorings(group):
    """Every ``(m, d, S generators mask, their images on m points, grid shape)`` that passes the
    cheap checks of :func:`factor` (not the order of the S part), by increasing ``d``."""
    gens = np.asarray(group.generators, dtype=np.int64)
    n = int(group.degree)
    if len(gens) < 3 or n < 6 or _abelian(gens):  # S_m (m >= 3) needs 2 generators, T one more
        return
    first = gens[:, 0]
    for d in _divisors(n):
        # a first look at two points per generator: g x id keeps (u, 0), (u, 1) together,
        # id x t moves (0, p) and (1, p) alike; the full check below only runs on survivors
        may_left = (first % d == 0) & (gens[:, 1] == first + 1)
        may_right = gens[:, d] == first + d
        if not (may_left | may_right).all():
            continue
        is_left, left, is_right, right = split_generators(gens, d)
        if not (is_left | is_right).all():
            continue
        s_part, t_part = is_left & ~is_right, is_right & ~is_left  # identities count as neither
        if not s_part.any() or not t_part.any():
            continue
        shape = _grid_shape(right[t_part], d)
        if shape is None:
            continue
        m = n // d
        if _may_be_symmetric(left[s_part], m):
            yield m, d, s_part, left[s_part], shape


def factor(group):
    """``(m, d, S generators mask, their images on m points, grid shape)`` when ``group`` is
    ``product_action(S_m, T)`` (``T`` transitive translations of a ``d``-point grid), else None.

    >>> from eqsolve import groups
    >>> factor(groups.product_action(groups.symmetric(4), groups.cyclic(5)))[:2]
    (4, 5)
    """
    from ._group import PermutationGroup

    for found in _factorings(group):
        m = found[0]
        S = PermutationGroup(found[3], degree=m)
        if S.log2_order() >= math.lgamma(m + 1) / math.log(2) - 0.5 and S.order() == math.factorial(m):
            return found
    return None


def recognise_product(out_action, in_action, points_only: bool = True):
    """``(m, d, shape, out_pieces, in_pieces, s_out, s_in)`` when the group is
    ``product_action(S_m, T)`` and both actions are ``X x (T's own action)`` with ``X`` a sum of
    ``tensor(k)`` / ``subsets(k)`` of S_m (``groups.product_of_actions``); ``s_out`` / ``s_in``
    are the ``X`` parts, actions of a group of order m! on m points. Else None."""
    if out_action is None or in_action is None:
        return None
    group = out_action.group
    if in_action.group is not group and in_action.group != group:
        return None
    for candidate in _factorings(group):
        found = _sides(out_action, in_action, candidate, points_only)
        if found is not None:
            return found
    return None


def _sides(out_action, in_action, candidate, points_only):
    m, d, s_part, s_gens, shape = candidate
    group_right = split_generators(np.asarray(out_action.group.generators, dtype=np.int64), d)[3]
    from ._group import Action, PermutationGroup

    S = PermutationGroup(s_gens, degree=m)  # recognise() checks its order last
    sides = []
    for action in (out_action, in_action):
        images = np.asarray(action.images, dtype=np.int64)
        if images.shape[1] % d:
            return None
        is_left, left, is_right, right = split_generators(images, d)
        if not (is_left[s_part].all() and is_right[~s_part].all()):
            return None
        if not np.array_equal(right[~s_part], group_right[~s_part]):
            return None  # the grid side must be T's own action
        sides.append(Action(S, left[s_part], check=False))  # a factor of an action: an action
    found = recognise(sides[0], sides[1], points_only=points_only)
    if found is None:
        return None
    return m, d, shape, found[1], found[2], sides[0], sides[1]
