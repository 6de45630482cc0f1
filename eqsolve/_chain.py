"""Stabilizer chains (base and strong generating set) for order, membership,
uniform random elements and enumeration.

Two backends behind one interface:

* giants: a transitive group on n >= 8 points that contains an element with a
  cycle of prime length p, n/2 < p <= n - 3, contains A_n (Jordan's theorem; the
  transitive group is then primitive). Found by product-replacement random
  elements, this is a proof; the group is S_n if a generator is odd, else A_n.
  Order, uniform sampling and membership are then closed formulas.
* everything else: sympy's Schreier–Sims (exact; its transversals are Python
  lists, so it is slow beyond a few thousand points: see docs/groups.md).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


class StabilizerChain:
    """Base and transversals of a permutation group given by array-form generators.

    >>> import numpy as np
    >>> chain = stabilizer_chain(np.array([[1, 2, 0], [1, 0, 2]]), 3)
    >>> chain.order
    6
    """

    def __init__(self, generators: np.ndarray, degree: int):
        from sympy.combinatorics import Permutation, PermutationGroup

        self.degree = degree
        gens = [Permutation(list(map(int, g)), size=degree) for g in generators]
        if not gens:
            gens = [Permutation(list(range(degree)), size=degree)]
        group = PermutationGroup(gens) if degree else None
        if group is None:
            self.base, self.transversals = [], []
        else:
            group.schreier_sims()
            self.base = list(group.base)
            # transversals[i]: array (t_i, degree), row 0 the identity
            self.transversals = []
            for level in group.basic_transversals:
                rows = sorted(level.items(), key=lambda kv: kv[0] != self.base[len(self.transversals)])
                self.transversals.append(np.array([p.array_form for _, p in rows], dtype=np.int64))
        self.order = int(np.prod([len(t) for t in self.transversals], dtype=object)) if self.transversals else 1

    def random_element(self, rng: np.random.Generator) -> np.ndarray:
        """Uniform random element: a product of uniform transversal elements."""
        g = np.arange(self.degree, dtype=np.int64)
        for level in self.transversals:
            g = g[level[rng.integers(len(level))]]  # g o u: u_1 u_2 ... u_b
        return g

    def contains(self, perm: np.ndarray) -> bool:
        """Sift ``perm`` through the chain."""
        g = np.asarray(perm, dtype=np.int64)
        for point, level in zip(self.base, self.transversals):
            image = g[point]
            hits = np.flatnonzero(level[:, point] == image)
            if not hits.size:
                return False
            u = level[hits[0]]
            inv = np.empty_like(u)
            inv[u] = np.arange(self.degree)
            g = inv[g]
        return bool(np.all(g == np.arange(self.degree)))

    def iter_elements(self, batch: int = 1 << 16) -> Iterator[np.ndarray]:
        """All elements, in stacks of at most about ``batch`` rows."""
        yield from _products(self.transversals, np.arange(self.degree, dtype=np.int64)[None, :], batch)


def _products(levels, prefix: np.ndarray, batch: int):
    if not levels:
        yield prefix
        return
    first, rest = levels[0], levels[1:]
    # every element is u_1 u_2 ... u_b (u_b applied first), once each
    stacked = prefix[:, first].reshape(-1, prefix.shape[-1])
    if stacked.shape[0] <= batch or not rest:
        yield from _products(rest, stacked, batch)
    else:
        for row in range(prefix.shape[0]):
            yield from _products(levels, prefix[row:row + 1], batch)


class GiantChain:
    """S_n or A_n, recognised by :func:`find_giant`; same interface as StabilizerChain."""

    def __init__(self, degree: int, alternating: bool):
        import math

        self.degree = degree
        self.alternating = alternating
        self.base = list(range(degree - 2 if alternating else degree - 1))
        self.order = math.factorial(degree) // (2 if alternating else 1)

    def random_element(self, rng: np.random.Generator) -> np.ndarray:
        g = rng.permutation(self.degree)
        if self.alternating and _parity(g):
            g[[0, 1]] = g[[1, 0]]  # a bijection odd -> even keeps the distribution uniform
        return g

    def contains(self, perm: np.ndarray) -> bool:
        return not (self.alternating and _parity(np.asarray(perm)))

    def iter_elements(self, batch: int = 1 << 16) -> Iterator[np.ndarray]:
        from itertools import islice, permutations

        source = (p for p in permutations(range(self.degree)) if not (self.alternating and _parity(np.array(p))))
        while True:
            rows = list(islice(source, batch))
            if not rows:
                return
            yield np.array(rows, dtype=np.int64)


GIANT_MIN_DEGREE = 8
GIANT_TRIES = 300


def find_giant(generators: np.ndarray, degree: int, rng=None) -> GiantChain | None:
    """A proof that ``<generators>`` contains A_n, as a chain; None if none was found.

    One-sided: None does not mean "not a giant"; the caller then builds a
    general chain.

    >>> from eqsolve import groups
    >>> find_giant(groups.symmetric(40).generators, 40).order == groups.symmetric(40).order()
    True
    >>> find_giant(groups.dihedral(40).generators, 40) is None
    True
    """
    from ._group import point_orbit_labels

    n = degree
    if n < GIANT_MIN_DEGREE or len(generators) == 0:
        return None
    if point_orbit_labels(generators, n).max() != 0:
        return None  # not transitive
    primes = [p for p in range(n // 2 + 1, n - 2) if _is_prime(p)]
    if not primes:
        return None
    wanted = set(primes)
    rng = np.random.default_rng(rng if rng is not None else 0)
    # product replacement: a pool of words in the generators
    pool = [np.asarray(generators[i % len(generators)], dtype=np.int64) for i in range(max(10, len(generators)))]
    for step in range(GIANT_TRIES + 50):
        i, j = rng.choice(len(pool), size=2, replace=False)
        pool[i] = pool[i][pool[j]] if rng.integers(2) else pool[j][pool[i]]
        if step < 50:
            continue  # let the pool mix first
        if wanted.intersection(_cycle_lengths(pool[i])):
            odd = any(_parity(g) for g in generators)
            return GiantChain(n, alternating=not odd)
    return None


def _is_prime(p: int) -> bool:
    return p >= 2 and all(p % q for q in range(2, int(p**0.5) + 1))


def _cycle_lengths(perm: np.ndarray) -> set[int]:
    p = perm.tolist()
    seen = bytearray(len(p))
    lengths = set()
    for start in range(len(p)):
        if seen[start]:
            continue
        n, i = 0, start
        while not seen[i]:
            seen[i] = 1
            i = p[i]
            n += 1
        lengths.add(n)
    return lengths


def _parity(perm: np.ndarray) -> int:
    p = np.asarray(perm).tolist()
    seen = bytearray(len(p))
    swaps = 0
    for start in range(len(p)):
        n, i = 0, start
        while not seen[i]:
            seen[i] = 1
            i = p[i]
            n += 1
        swaps += max(n - 1, 0)
    return swaps % 2


def stabilizer_chain(generators: np.ndarray, degree: int):
    """Build the chain for ``<generators>`` on ``degree`` points (giant test first)."""
    giant = find_giant(np.asarray(generators), degree)
    return giant if giant is not None else StabilizerChain(generators, degree)
