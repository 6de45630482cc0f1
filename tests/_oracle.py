"""Brute-force oracles for small permutation groups, independent of eqsolve's algorithms.

Nothing here uses Schreier trees, stabilizer chains, sympy's group code or
eqsolve's solver and counting: a group is enumerated by closure (breadth-first
search over products with the generators), orbits on pairs are found by
applying every element, and the basis is rebuilt from those orbits. The cost
is |G| * d_out * d_in, so keep |G| small (degree <= 7, or a small image group).

Conventions match eqsolve: a permutation ``p`` maps ``i`` to ``p[i]``; an
action is given by the images of the group's generators, row s for generator s.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

ELEMENT_LIMIT = 50_000


def closure(gens, degree: int, limit: int = ELEMENT_LIMIT) -> np.ndarray:
    """All elements of ``<gens>`` as an ``(n, degree)`` int64 array (identity first).

    Breadth-first search from the identity, multiplying by every generator;
    a finite group is closed under products, so this reaches every element.
    """
    arr = np.asarray(gens, dtype=np.int64)
    arr = arr.reshape(len(arr) if arr.ndim == 2 else 0, degree) if arr.size == 0 else arr.reshape(-1, degree)
    gens = [tuple(int(x) for x in g) for g in arr]
    start = tuple(range(degree))
    seen = {start}
    order = [start]
    frontier = [start]
    while frontier:
        nxt = []
        for h in frontier:
            for g in gens:
                gh = tuple(g[x] for x in h)  # apply h, then g
                if gh not in seen:
                    seen.add(gh)
                    order.append(gh)
                    nxt.append(gh)
                    if len(seen) > limit:
                        raise RuntimeError(f"oracle: more than {limit} elements; group too large")
        frontier = nxt
    return np.array(order, dtype=np.int64).reshape(len(order), degree)


def joint_elements(out_images, in_images) -> tuple[np.ndarray, np.ndarray]:
    """Matching images ``(g_out, g_in)`` of every element of the group, in two actions.

    The group is enumerated on the disjoint union of the two point sets (its
    image there); row t of both arrays belongs to the same element.
    """
    out_images = np.asarray(out_images, dtype=np.int64)
    in_images = np.asarray(in_images, dtype=np.int64)
    d_out, d_in = out_images.shape[1], in_images.shape[1]
    joint = np.concatenate([out_images, in_images + d_out], axis=1)
    elements = closure(joint, d_out + d_in)
    return elements[:, :d_out], elements[:, d_out:] - d_out


def pair_orbit_table(out_images, in_images) -> tuple[np.ndarray, int]:
    """Orbit id of every pair (i, j) and the number of orbits, ids in row-major first appearance.

    The orbit of (i, j) is {(g_out(i), g_in(j)) : g in G}: the first unlabelled
    pair in row-major order opens the next id and every element moves it.
    """
    g_out, g_in = joint_elements(out_images, in_images)
    d_out, d_in = g_out.shape[1], g_in.shape[1]
    table = np.full((d_out, d_in), -1, dtype=np.int64)
    next_id = 0
    for i in range(d_out):
        for j in range(d_in):
            if table[i, j] < 0:
                table[g_out[:, i], g_in[:, j]] = next_id
                next_id += 1
    return table, next_id


def count_pair_orbits_unionfind(out_images, in_images) -> int:
    """Number of orbits on pairs by union-find: join (i, j) with (g(i), g(j)) for every element g."""
    g_out, g_in = joint_elements(out_images, in_images)
    d_out, d_in = g_out.shape[1], g_in.shape[1]
    n = d_out * d_in
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    src = np.arange(n)
    i, j = np.divmod(src, d_in) if d_in else (src, src)
    for a, b in zip(g_out, g_in):
        dst = a[i] * d_in + b[j]
        for x, y in set(zip(src.tolist(), dst.tolist())):
            rx, ry = find(x), find(y)
            if rx != ry:
                parent[max(rx, ry)] = min(rx, ry)
    return len({find(x) for x in range(n)})


def burnside(out_images, in_images) -> Fraction:
    """(1/|G|) sum_g fix_out(g) fix_in(g) over the enumerated elements (Lemma 1)."""
    g_out, g_in = joint_elements(out_images, in_images)
    fix_out = (g_out == np.arange(g_out.shape[1])).sum(axis=1)
    fix_in = (g_in == np.arange(g_in.shape[1])).sum(axis=1)
    return Fraction(int(np.dot(fix_out, fix_in)), len(g_out))


def reynolds_basis(out_images, in_images) -> list[np.ndarray]:
    """The basis by averaging: project every unit matrix E_ij onto the fixed space.

    ``R(E_ij) = (1/|G|) sum_g P_out(g) E_ij P_in(g)^T`` is constant on the orbit of
    (i, j) and zero elsewhere; its distinct supports (first appearance in
    row-major order) are the 0/1 basis matrices.
    """
    g_out, g_in = joint_elements(out_images, in_images)
    d_out, d_in = g_out.shape[1], g_in.shape[1]
    basis, covered = [], np.zeros((d_out, d_in), dtype=bool)
    for i in range(d_out):
        for j in range(d_in):
            if covered[i, j]:
                continue
            avg = np.zeros((d_out, d_in))
            np.add.at(avg, (g_out[:, i], g_in[:, j]), 1.0)
            support = avg > 0
            basis.append(support.astype(np.int64))
            covered |= support
    return basis


def is_invariant(matrix, out_images, in_images) -> bool:
    """True when ``L[g(i), g(j)] == L[i, j]`` for every generator image pair."""
    matrix = np.asarray(matrix)
    for a, b in zip(np.asarray(out_images), np.asarray(in_images)):
        moved = np.empty_like(matrix)
        moved[np.ix_(a, b)] = matrix
        if not np.array_equal(moved, matrix):
            return False
    return True


def same_partition(a, b) -> bool:
    """True when two label arrays group the same entries together (labels may differ)."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if a.shape != b.shape:
        return False
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def bell(n: int) -> int:
    """Bell number B(n) by the Bell triangle."""
    row = [1]
    for _ in range(n):
        nxt = [row[-1]]
        for x in row:
            nxt.append(nxt[-1] + x)
        row = nxt
    return row[0]
