"""Stabilizer chains (base and strong generating set) for order, membership,
uniform random elements and enumeration.

This first version delegates to ``sympy.combinatorics``; the interface is what
the rest of eqsolve relies on.
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


def stabilizer_chain(generators: np.ndarray, degree: int) -> StabilizerChain:
    """Build the chain for ``<generators>`` on ``degree`` points."""
    return StabilizerChain(generators, degree)
