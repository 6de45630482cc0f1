"""Kernels on permutations in array form.

Convention, stated once: a permutation ``p`` maps point ``i`` to ``p[i]``;
``compose(p, q)`` applies ``q`` first, then ``p``, so
``compose(p, q)[i] == p[q[i]]``.

>>> import numpy as np
>>> p, q = np.array([1, 0, 2]), np.array([0, 2, 1])
>>> compose(p, q).tolist()   # i -> q -> p
[1, 2, 0]
>>> inverse(np.array([1, 2, 0])).tolist()
[2, 0, 1]
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ._errors import NotABijectionError, PointOutOfRangeError

INDEX_DTYPE = np.int64


def compose(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Return ``p o q`` (apply ``q``, then ``p``); works row-wise on stacks."""
    return np.take_along_axis(p, q, axis=-1) if p.ndim > 1 else p[q]


def inverse(p: np.ndarray) -> np.ndarray:
    """Inverse of a permutation, or row-wise inverse of a stack of them."""
    p = np.asarray(p)
    inv = np.empty_like(p)
    if p.ndim == 1:
        inv[p] = np.arange(p.shape[-1], dtype=p.dtype)
    else:
        rows = np.arange(p.shape[0])[:, None]
        inv[rows, p] = np.arange(p.shape[-1], dtype=p.dtype)[None, :]
    return inv


def identity(d: int) -> np.ndarray:
    """The identity permutation on ``d`` points."""
    return np.arange(d, dtype=INDEX_DTYPE)


def check_array_form(values: Sequence[int] | np.ndarray, label: str = "generator") -> np.ndarray:
    """Validate one array form and return it as a read-only int64 array.

    Raises :class:`NotABijectionError` or :class:`PointOutOfRangeError`
    naming ``label`` and the offending point.
    """
    arr = as_array(values, label)
    original = arr  # quoted in messages; formatting it is costly, so only on failure
    if arr.ndim != 1:
        raise NotABijectionError(f"{label} must be a flat list of points, got shape {arr.shape}: {_short(original)}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(INDEX_DTYPE)
        else:
            raise NotABijectionError(f"{label} must contain integers, got {_short(original)}")
    arr = arr.astype(INDEX_DTYPE, copy=True)
    d = arr.size
    if d:
        bad = np.flatnonzero((arr < 0) | (arr >= d))
        if bad.size:
            raise PointOutOfRangeError(
                f"{label} maps to point {int(arr[bad[0]])}, outside 0..{d - 1} (degree {d}): {_short(original)}"
            )
        counts = np.bincount(arr, minlength=d)
        twice = np.flatnonzero(counts > 1)
        if twice.size:
            raise NotABijectionError(
                f"{label} is not a bijection: point {int(twice[0])} appears twice in {_short(original)}"
            )
    arr.setflags(write=False)
    return arr


def as_array(values, label: str = "value", dtype=None) -> np.ndarray:
    """``np.asarray`` that turns numpy's errors on ragged or odd input into an EqsolveError.

    >>> as_array([[0, 1], [2]], "mask")
    Traceback (most recent call last):
    ...
    eqsolve._errors.NotABijectionError: mask must be a rectangular array of numbers, not a ragged nested list: [[0, 1], [2]]
    """
    try:
        arr = np.asarray(values, dtype=dtype)
    except (ValueError, TypeError, OverflowError, RecursionError) as err:
        shown = repr(values)
        shown = shown if len(shown) <= 80 else shown[:80] + "..."
        if "inhomogeneous" in str(err) or "sequence" in str(err):
            what = "a rectangular array of numbers, not a ragged nested list"
        else:
            what = f"an array of numbers ({' '.join(str(err).split())[:80]})"
        raise NotABijectionError(f"{label} must be {what}: {shown}") from None
    if arr.dtype == object:
        shown = repr(values)
        shown = shown if len(shown) <= 80 else shown[:80] + "..."
        raise NotABijectionError(f"{label} must contain numbers, got {shown}")
    return arr


def cycle_type(p: np.ndarray) -> list[int]:
    """Sorted cycle lengths of ``p`` (fixed points included)."""
    seen = np.zeros(p.size, dtype=bool)
    lengths = []
    for start in range(p.size):
        if seen[start]:
            continue
        n, i = 0, start
        while not seen[i]:
            seen[i] = True
            i = p[i]
            n += 1
        lengths.append(n)
    return sorted(lengths)


def cycle_labels(p: np.ndarray) -> np.ndarray:
    """Smallest point of the cycle through each point, by pointer doubling (O(d log d), vectorized).

    >>> cycle_labels(np.array([1, 0, 3, 4, 2])).tolist()
    [0, 0, 2, 2, 2]
    """
    p = np.asarray(p, dtype=np.int64)
    label = np.arange(p.size)
    step = 1
    while step < p.size:
        label = np.minimum(label, label[p])
        p = p[p]
        step *= 2
    return label


def cycle_lengths(p: np.ndarray) -> np.ndarray:
    """Length of the cycle through each point."""
    label = cycle_labels(p)
    return np.bincount(label, minlength=label.size)[label]


def parity(p: np.ndarray) -> int:
    """0 for even permutations, 1 for odd ones: (points - cycles) mod 2.

    >>> parity(np.array([1, 0, 2])), parity(np.array([1, 2, 0]))
    (1, 0)
    """
    p = np.asarray(p)
    if p.size == 0:
        return 0
    cycles = int(np.count_nonzero(cycle_labels(p) == np.arange(p.size)))
    return (p.size - cycles) % 2


def orbit_labels(images: np.ndarray, degree: int) -> np.ndarray:
    """Orbit label of every point under the permutations ``images`` (rows), orbits numbered by
    their smallest point.

    >>> orbit_labels(np.array([[1, 0, 2, 4, 3]]), 5).tolist()
    [0, 0, 1, 2, 2]
    """
    if degree == 0:
        return np.zeros(0, dtype=np.int64)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    images = np.asarray(images).reshape(-1, degree)
    k = images.shape[0]
    rows = np.tile(np.arange(degree), k)
    graph = coo_matrix((np.ones(k * degree, dtype=np.int8), (rows, images.ravel())), shape=(degree, degree))
    _, labels = connected_components(graph, directed=True, connection="weak")
    return canonical_labels(labels)


point_orbit_labels = orbit_labels  # the name the solver and the basis use


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber labels 0, 1, ... in order of first appearance.

    >>> canonical_labels(np.array([7, 3, 7, 5])).tolist()
    [0, 1, 0, 2]
    """
    if labels.size == 0:
        return labels.astype(np.int64)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]


def product_images(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Images of the product action on [da] x [db] (row-major), stacked over generators.

    >>> product_images(np.array([[1, 0]]), np.array([[0, 1]])).tolist()
    [[2, 3, 0, 1]]
    """
    db = b.shape[1]
    return (a[:, :, None] * db + b[:, None, :]).reshape(a.shape[0], a.shape[1] * db)


def perm_order(p: np.ndarray) -> int:
    """Order of a permutation (lcm of its cycle lengths)."""
    return math.lcm(*cycle_type(np.asarray(p))) if len(p) else 1


def _short(values, limit: int = 20) -> str:
    items = list(np.asarray(values).ravel().tolist()) if np.asarray(values).ndim else [values]
    if len(items) > limit:
        return "[" + ", ".join(map(str, items[:limit])) + f", ... ({len(items)} entries)]"
    return "[" + ", ".join(map(str, items)) + "]"
