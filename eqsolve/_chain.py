"""Stabilizer chains (base and strong generating set) for order, membership,
uniform random elements and enumeration, in numpy.

Every element of the group is written uniquely as ``u_1 u_2 ... u_b`` (``u_b``
applied first) with ``u_i`` in the transversal of level ``i``: the coset
representatives of the stabilizer of ``b_1..b_i`` in the stabilizer of
``b_1..b_{i-1}``. Two backends sit behind one interface (``.order``,
``.base``, ``.random_element(rng)``, ``.contains(perm)``,
``.iter_elements(batch)``):

* :class:`GiantChain`: a group that is transitive on the m >= 8 points it moves
  and contains an element with a cycle of prime length p, m/2 < p < m - 2,
  contains A_m (Jordan's theorem; such a group is primitive). Found among
  product-replacement random elements, this is a proof; the group is S_m if a
  generator is odd, A_m otherwise. Order, sampling (``rng.permutation``) and
  membership (parity) are then formulas.
* :class:`StabilizerChain`: a deterministic Schreier–Sims on int arrays. Each
  level keeps its orbit with a breadth-first Schreier tree (parent and
  generator label per orbit point, made shallow by adding tree elements) and,
  when it fits a memory budget, the full transversal as an int32 table. A
  randomized phase (sifting product-replacement elements) proposes the strong
  generators; a deterministic phase then sifts every Schreier generator of
  every level, bottom up, in vectorized batches, so the result is exact whatever
  the random phase found. A level whose group is regular on its orbit and moves
  nothing else (tested in O(r k^2) with centralizer elements built from the
  tree) needs no Schreier generators at all: this makes large translation
  groups cheap.

All randomness in the construction uses a fixed seed, so chains are
reproducible. Measurements against sympy are in docs/groups.md.

>>> import numpy as np
>>> chain = stabilizer_chain(np.array([[1, 2, 3, 0], [1, 0, 2, 3]]), 4)
>>> chain.order, len(chain.base)
(24, 3)
>>> chain.contains(np.array([3, 2, 1, 0]))
True
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from ._perm import compose, cycle_lengths, inverse, parity, point_orbit_labels

__all__ = ["stabilizer_chain", "StabilizerChain", "GiantChain", "find_giant"]

_TABLE_LEVEL = 1 << 25  # a level stores its transversal and inverses (int32) if 2 * orbit * degree <= this
_TABLE_TOTAL = 1 << 26  # ... and all tables of a chain stay below this many entries (256 MiB)
_BATCH = 1 << 21  # entries per vectorized batch of permutations
_RANDOM_SIFTS = 30  # consecutive random elements sifting to 1 that end the random phase
_POOL = 10  # product-replacement pool size
_WARMUP = 40  # product-replacement steps before the first random element is used
_SEED = 20200712  # fixed: chains are reproducible
_BULK = 32  # requests of this many transversal elements build the level's table (if it fits)
_REGULAR_MIN_ORBIT = 64  # smaller orbits are checked directly (cheap)
_IDX = np.int32  # degrees are capped at 2**26 points (eqsolve._group.MAX_POINTS)

GIANT_MIN_DEGREE = 8
GIANT_TRIES = 300
_GIANT_LONG_CYCLE_TRIES = 40


# --------------------------------------------------------------------------------------
# public entry point


def stabilizer_chain(generators: np.ndarray, degree: int):
    """Build the chain of ``<generators>`` on ``degree`` points.

    Parameters
    ----------
    generators:
        ``(k, degree)`` integer array of array forms (validated permutations).
    degree:
        Number of points.

    Returns
    -------
    GiantChain or StabilizerChain
        A giant when Jordan's theorem proves ``A_m <= G``, otherwise a
        Schreier–Sims chain.

    Examples
    --------
    >>> import numpy as np
    >>> stabilizer_chain(np.array([[1, 2, 0]]), 3).order
    3
    >>> from eqsolve import groups
    >>> type(stabilizer_chain(groups.symmetric(50).generators, 50)).__name__
    'GiantChain'
    """
    gens = _clean(generators, degree)
    giant = find_giant(gens, degree)
    if giant is not None:
        return giant
    return StabilizerChain(gens, degree)


def _clean(generators, degree: int) -> np.ndarray:
    """Distinct non-identity generators as an int64 ``(k, degree)`` array."""
    gens = np.asarray(generators, dtype=np.int64)
    if gens.size == 0 or degree == 0:
        return np.zeros((0, degree), dtype=np.int64)
    gens = gens.reshape(-1, degree)
    gens = np.ascontiguousarray(gens[np.any(gens != np.arange(degree), axis=1)])
    if len(gens) > 1:
        first: dict[bytes, int] = {}
        for index, row in enumerate(gens):
            first.setdefault(row.tobytes(), index)
        gens = gens[sorted(first.values())]
    return gens


# --------------------------------------------------------------------------------------
# small helpers (the permutation kernels live in eqsolve._perm)


def _is_prime(p: int) -> bool:
    return p >= 2 and all(p % q for q in range(2, math.isqrt(p) + 1))


class _ProductReplacement:
    """Product-replacement random elements with an accumulator ("rattle")."""

    def __init__(self, gens: np.ndarray, rng: np.random.Generator, warmup: int = _WARMUP):
        self.rng = rng
        gens = np.asarray(gens, dtype=np.int64)
        # the pool holds every generator (cycled up to _POOL rows): product replacement never
        # leaves the subgroup its pool generates, so a pool of a few random subproducts of many
        # generators (C_3^30 needs 30) would sample a proper subgroup
        size = max(_POOL, len(gens))
        self.pool = np.array([gens[i % len(gens)] for i in range(size)], dtype=np.int64)
        self.acc = np.arange(gens.shape[1], dtype=np.int64)
        for _ in range(warmup):
            self.next()

    def next(self) -> np.ndarray:
        rng, pool = self.rng, self.pool
        i, j = rng.choice(len(pool), size=2, replace=False)
        other = pool[j] if rng.integers(2) else inverse(pool[j])
        pool[i] = pool[i][other] if rng.integers(2) else other[pool[i]]
        self.acc = self.acc[pool[i]]
        return self.acc


# --------------------------------------------------------------------------------------
# giants


class GiantChain:
    """S_m or A_m on the ``support`` points (the others fixed), recognised by :func:`find_giant`.

    Same interface as :class:`StabilizerChain`; order, uniform sampling and
    membership are formulas, and ``iter_elements`` uses the transversals of
    transpositions (with a fixed second transposition for A_m).

    >>> from eqsolve import groups
    >>> chain = find_giant(groups.alternating(9).generators, 9)
    >>> chain.order, chain.alternating
    (181440, True)
    """

    backend = "giant"

    def __init__(self, degree: int, alternating: bool, support: np.ndarray | None = None):
        self.degree = degree
        self.alternating = alternating
        self.support = np.arange(degree) if support is None else np.asarray(support, dtype=np.int64)
        m = len(self.support)
        self.base = [int(p) for p in self.support[: max(m - (2 if alternating else 1), 0)]]
        self._m = m
        self._order = None
        #: log2 of the order, known without computing m! (which is slow for m of 10^5 and more)
        self.log2_order = math.lgamma(m + 1) / math.log(2) - (1 if alternating and m >= 2 else 0)

    @property
    def order(self) -> int:
        if self._order is None:
            self._order = math.factorial(self._m) // (2 if self.alternating and self._m >= 2 else 1)
        return self._order

    def random_element(self, rng: np.random.Generator) -> np.ndarray:
        """Uniform element: a random permutation of the support (parity-fixed for A_m)."""
        g = np.arange(self.degree, dtype=np.int64)
        M = self.support
        g[M] = M[rng.permutation(len(M))]
        if self.alternating and parity(g):
            # composing with a fixed transposition maps odd bijectively onto even: still uniform
            g[[M[0], M[1]]] = g[[M[1], M[0]]]
        return g

    def contains(self, perm: np.ndarray) -> bool:
        """Fixes every point outside the support (and is even, for A_m)."""
        g = np.asarray(perm, dtype=np.int64)
        if g.shape != (self.degree,):
            return False
        outside = np.ones(self.degree, dtype=bool)
        outside[self.support] = False
        if np.any(g[outside] != np.flatnonzero(outside)):
            return False
        return not (self.alternating and parity(g))

    def iter_elements(self, batch: int = 1 << 16) -> Iterator[np.ndarray]:
        """All elements (feasible for small m only), in stacks of about ``batch`` rows."""
        levels = [_GiantLevel(self, i) for i in range(len(self.base))]
        yield from _enumerate(levels, self.degree, batch)


class _GiantLevel:
    """Level i of S_m / A_m: transversal (s_i s_j) [o (s_{m-2} s_{m-1}) for A_m], computed on demand."""

    def __init__(self, chain: GiantChain, i: int):
        self.chain, self.i = chain, i
        self.size = len(chain.support) - i

    def rows(self, positions: np.ndarray) -> np.ndarray:
        M, d, i = self.chain.support, self.chain.degree, self.i
        positions = np.asarray(positions, dtype=np.int64)
        out = np.tile(np.arange(d, dtype=np.int64), (len(positions), 1))
        r = np.arange(len(positions))
        if self.chain.alternating:
            moved = positions > 0
            a, b = M[-2], M[-1]
            out[r[moved], a], out[r[moved], b] = b, a
        # then the transposition (M[i] M[i + j]) applied after it: swap the values M[i] and M[i+j]
        hi = M[i + positions]
        lo = M[i]
        vals = out.copy()
        out[vals == lo] = -1
        rows_hi, cols_hi = np.nonzero(vals == hi[:, None])
        out[rows_hi, cols_hi] = lo
        rows_lo, cols_lo = np.nonzero(out == -1)
        out[rows_lo, cols_lo] = hi[rows_lo]
        return out


def find_giant(generators: np.ndarray, degree: int, rng=None) -> GiantChain | None:
    """A proof that ``<generators>`` contains A_m on its m moved points, as a chain; None if none was found.

    One-sided: None does not mean "not a giant" (the caller then builds a
    general chain). The group must be transitive on the points it moves
    (m >= 8); product-replacement elements are searched for a cycle of prime
    length p, m/2 < p < m - 2. Searching stops early when 40 elements show no
    cycle longer than m/2 at all (a giant shows one with probability ~0.69
    each time).

    >>> from eqsolve import groups
    >>> find_giant(groups.symmetric(40).generators, 40).order == groups.symmetric(40).order()
    True
    >>> find_giant(groups.dihedral(40).generators, 40) is None
    True
    """
    gens = _clean(generators, degree)
    if len(gens) == 0:
        return None
    moved = np.flatnonzero(np.any(gens != np.arange(degree), axis=0))
    m = moved.size
    if m < GIANT_MIN_DEGREE:
        return None
    labels = point_orbit_labels(gens, degree)
    if np.unique(labels[moved]).size != 1:
        return None  # not transitive on its support
    primes = np.array([p for p in range(m // 2 + 1, m - 2) if _is_prime(p)], dtype=np.int64)
    if not primes.size:
        return None
    rng = np.random.default_rng(_SEED if rng is None else rng)
    restricted = gens[:, moved]
    # relabel the support to 0..m-1 so the cycle test sees only moved points
    relabel = np.full(degree, -1, dtype=np.int64)
    relabel[moved] = np.arange(m)
    local = relabel[restricted]
    source = _ProductReplacement(local, rng)
    long_seen = False
    for attempt in range(GIANT_TRIES):
        lengths = cycle_lengths(source.next())
        if np.isin(lengths, primes).any():
            odd = any(parity(g) for g in local)
            return GiantChain(degree, alternating=not odd, support=moved)
        long_seen = long_seen or bool(np.any((lengths > m // 2) & (lengths < m - 2)))
        if attempt + 1 >= _GIANT_LONG_CYCLE_TRIES and not long_seen:
            return None
    return None


# --------------------------------------------------------------------------------------
# Schreier–Sims


class _Level:
    """Base point, strong generators fixing the earlier base points, orbit, Schreier tree, transversal.

    Arrays are int32 (degrees stay below 2**26). The transversal element of an
    orbit point is computed by walking the tree (``depth`` gathers), or read
    from a table of all of them (and of their inverses), built on first bulk
    use when it fits the chain's memory budget.
    """

    def __init__(self, point: int, gens: np.ndarray, degree: int, budget: list):
        self.point = int(point)
        self.gens = np.ascontiguousarray(gens, dtype=_IDX)  # (k, degree): the level's own generators
        self.degree = degree
        self.budget = budget  # [entries left], shared by the levels of one chain
        self.table = self.table_inv = None
        self.verified = False
        self.progress = 0  # orbit positions whose Schreier generators are known to sift

    # -- building ---------------------------------------------------------------
    def build(self) -> None:
        """(Re)compute orbit and a shallow Schreier tree; drop any stored table."""
        self._drop_table()
        inverses = inverse(self.gens)
        keep = np.any(inverses != self.gens, axis=1)  # involutions are their own inverse
        self.tree_gens = np.concatenate([self.gens, inverses[keep]])
        limit = max(8, 2 * math.ceil(math.log2(max(self.degree, 2))))
        if not self._bfs(max_layers=limit + 1):
            # deep: add powers g^2, g^4, ... of the generators (cyclic structure), then single jumps
            extra = []
            for g in self.gens:
                p = g
                for _ in range(max(1, math.ceil(math.log2(max(self.degree, 2))))):
                    p = p[p]
                    if not np.any(p != np.arange(self.degree)):
                        break
                    extra += [p, inverse(p)]
            if extra:
                self.tree_gens = _clean(np.concatenate([self.tree_gens, np.array(extra)]), self.degree).astype(_IDX)
            self._bfs()
        limit = max(8, 2 * math.ceil(math.log2(max(self.size, 2))))
        for _ in range(16):
            if self.depth <= limit:
                break
            deep = self._walk_rows(np.array([self.size - 1]))[0]
            self.tree_gens = np.concatenate([self.tree_gens, deep[None], inverse(deep)[None]])
            self._bfs()
        self.tree_inv = inverse(self.tree_gens)
        self.tree_label = np.arange(len(self.gens))  # tree_gens[tree_label[j]] is gens[j]
        self.verified = False
        self.progress = 0

    def add_generator(self, h: np.ndarray) -> None:
        """Append a generator; the tree is rebuilt only if the orbit grows."""
        self.gens = np.concatenate([self.gens, h[None]])
        if np.all(self.pos[h[self.orbit]] >= 0):
            self.tree_label = np.append(self.tree_label, -1)  # not a tree label: (x, h) is never a tree edge
            self.verified = False
            self.progress = 0
        else:
            self.build()

    def _bfs(self, max_layers: int | None = None) -> bool:
        """Breadth-first Schreier tree over ``tree_gens``; False (tree unusable) if deeper than ``max_layers``."""
        d, tg = self.degree, self.tree_gens
        pos = np.full(d, -1, dtype=_IDX)
        pos[self.point] = 0
        frontier = np.array([self.point], dtype=_IDX)
        points, parents, labels = [frontier], [np.array([-1], dtype=_IDX)], [np.array([-1], dtype=_IDX)]
        layers = [0, 1]
        n = 1
        while True:
            fpos = pos[frontier]
            new_p, new_par, new_lab = [], [], []
            for s in range(len(tg)):
                img = tg[s][frontier]
                fresh = pos[img] < 0
                if fresh.any():
                    img = img[fresh]
                    pos[img] = np.arange(n, n + img.size)
                    n += img.size
                    new_p.append(img)
                    new_par.append(fpos[fresh])
                    new_lab.append(np.full(img.size, s, dtype=_IDX))
            if not new_p:
                break
            frontier = np.concatenate(new_p)
            points.append(frontier)
            parents.append(np.concatenate(new_par))
            labels.append(np.concatenate(new_lab))
            layers.append(n)
            if max_layers is not None and len(layers) - 1 > max_layers:
                return False
        self.orbit = np.concatenate(points)
        self.parent = np.concatenate(parents)
        self.label = np.concatenate(labels)
        self.pos = pos
        self.layers = layers
        self.size = n
        self.depth = len(layers) - 2
        return True

    def _drop_table(self) -> None:
        if self.table is not None:
            self.budget[0] += 2 * self.table.size
        self.table = self.table_inv = None

    def _want_table(self) -> bool:
        """Build the tables (transversal and inverses) if they fit the budget; True if present."""
        if self.table is not None:
            return True
        entries = 2 * self.size * self.degree
        if self.size < 2 or entries > min(_TABLE_LEVEL, self.budget[0]):
            return False
        d = self.degree
        table = np.empty((self.size, d), dtype=_IDX)
        table_inv = np.empty((self.size, d), dtype=_IDX)
        table[0] = table_inv[0] = np.arange(d)
        step = max(1, _BATCH // max(d, 1))
        for a, b in zip(self.layers[1:-1], self.layers[2:]):
            for lo in range(a, b, step):
                hi = min(b, lo + step)
                parent, label = self.parent[lo:hi], self.label[lo:hi]
                # u_child = g o u_parent and u_child^-1 = u_parent^-1 o g^-1
                table[lo:hi] = compose(self.tree_gens[label], table[parent])
                table_inv[lo:hi] = compose(table_inv[parent], self.tree_inv[label])
        self.table, self.table_inv = table, table_inv
        self.budget[0] -= entries
        return True

    # -- transversal elements ------------------------------------------------------
    def _walk_rows(self, positions: np.ndarray) -> np.ndarray:
        """u_x for orbit positions by walking the tree: u_x = A_1 A_2 ... (A_1 labels x's edge)."""
        out = np.tile(np.arange(self.degree, dtype=_IDX), (len(positions), 1))
        cur = np.array(positions, dtype=_IDX)
        active = np.flatnonzero(self.label[cur] >= 0)
        while active.size:
            g = self.tree_gens[self.label[cur[active]]]
            out[active] = compose(out[active], g)
            cur[active] = self.parent[cur[active]]
            active = active[self.label[cur[active]] >= 0]
        return out

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """Transversal elements (int32 array forms) for orbit positions."""
        if self.table is not None or (len(positions) >= _BULK and self._want_table()):
            return self.table[positions]
        return self._walk_rows(positions)

    def strip(self, positions: np.ndarray, H: np.ndarray) -> np.ndarray:
        """``u_x^{-1} o h`` row by row, for orbit positions of the images of the base point."""
        if self.table is not None or (len(positions) >= _BULK and self._want_table()):
            return self.table_inv[np.asarray(positions)[:, None], H]
        H = H.copy()
        cur = np.array(positions, dtype=_IDX)
        active = np.flatnonzero(self.label[cur] >= 0)
        while active.size:
            ginv = self.tree_inv[self.label[cur[active]]]
            H[active] = compose(ginv, H[active])
            cur[active] = self.parent[cur[active]]
            active = active[self.label[cur[active]] >= 0]
        return H

    # -- regularity ----------------------------------------------------------------------
    def is_regular(self) -> bool:
        """True if the group of the level's generators acts regularly on the orbit O.

        For each generator s, the map c(u_x(b)) = u_x(s(b)) is built along the
        tree. If every such c is a bijection of O commuting with the generators,
        it centralizes the group; if the c's are transitive on O, the stabilizer
        of b fixes every point c(b) of O, so it acts trivially on O. Cost
        O(r k^2) for an orbit of r points and k generators.
        """
        d, O = self.degree, self.orbit
        cs = []
        for s in self.gens:
            value = np.empty(self.size, dtype=np.int64)  # value[k] = c(orbit[k])
            value[0] = s[self.point]
            for a, b in zip(self.layers[1:-1], self.layers[2:]):
                value[a:b] = self.tree_gens[self.label[a:b], value[self.parent[a:b]]]
            if np.bincount(value, minlength=d).max() > 1:
                return False
            c = np.arange(d, dtype=np.int64)
            c[O] = value
            for t in self.gens:
                if np.any(c[t[O]] != t[value]):
                    return False
            cs.append(c)
        labels = point_orbit_labels(np.array(cs), d)
        return bool(np.all(labels[O] == labels[self.point]))


class StabilizerChain:
    """Deterministic Schreier–Sims chain of ``<generators>`` (array forms) on ``degree`` points.

    Attributes
    ----------
    order : int
        Exact group order (product of the orbit sizes).
    base : list of int
        Base points b_1, ..., b_k.
    strong_generators : ndarray
        Every generator used by some level (input generators and sifted residues).

    Examples
    --------
    >>> import numpy as np
    >>> chain = StabilizerChain(np.array([[1, 2, 0], [1, 0, 2]]), 3)
    >>> chain.order, chain.base
    (6, [0, 1])
    >>> sorted(tuple(g) for batch in chain.iter_elements() for g in batch.tolist())[:2]
    [(0, 1, 2), (0, 2, 1)]
    """

    backend = "schreier-sims"

    def __init__(self, generators: np.ndarray, degree: int):
        self.degree = degree
        gens = _clean(generators, degree).astype(_IDX)
        self._levels: list[_Level] = []
        self._budget = [_TABLE_TOTAL]
        if len(gens):
            self._initial_levels(gens)
            self._random_phase(gens)
            self._verify()
        self.base = [L.point for L in self._levels]
        self.order = math.prod(L.size for L in self._levels)
        self.log2_order = sum(math.log2(L.size) for L in self._levels)
        strong = [L.gens for L in self._levels]
        self.strong_generators = (
            _clean(np.concatenate(strong), degree) if strong else np.zeros((0, degree), dtype=np.int64)
        )

    # -- construction ---------------------------------------------------------------
    def _new_level(self, point: int, gens: np.ndarray) -> _Level:
        level = _Level(point, gens, self.degree, self._budget)
        level.build()
        return level

    def _initial_levels(self, gens: np.ndarray) -> None:
        fixed = np.ones(len(gens), dtype=bool)
        level_gens = gens
        ar = np.arange(self.degree)
        while len(level_gens):
            moved = np.flatnonzero(np.any(level_gens != ar, axis=0))
            point = int(moved[0])
            self._levels.append(self._new_level(point, level_gens))
            fixed &= gens[:, point] == point
            level_gens = gens[fixed]

    def _add(self, h: np.ndarray, first: int, drop: int) -> int:
        """Add the residue ``h`` (it dropped out at level ``drop``) to levels first..drop; return drop.

        ``h`` fixes the base points of the levels before ``drop``; if it passed
        every level (``drop == len(levels)``) it gets a new level of its own.
        """
        h = h.astype(_IDX)
        for i in range(first, min(drop, len(self._levels) - 1) + 1):
            self._levels[i].add_generator(h)
        if drop == len(self._levels):
            point = int(np.flatnonzero(h != np.arange(self.degree))[0])
            self._levels.append(self._new_level(point, h[None]))
        return drop

    def _sift(self, H: np.ndarray, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Sift rows of ``H`` from level ``start``: (residues, level where each dropped out; len = passed)."""
        H = np.array(H, dtype=_IDX)
        drop = np.full(len(H), len(self._levels), dtype=np.int64)
        alive = np.arange(len(H))
        for index in range(start, len(self._levels)):
            if not alive.size:
                break
            L = self._levels[index]
            p = L.pos[H[alive, L.point]]
            out = p < 0
            if out.any():
                drop[alive[out]] = index
                alive, p = alive[~out], p[~out]
            if alive.size:
                H[alive] = L.strip(p, H[alive])
        return H, drop

    def _random_phase(self, gens: np.ndarray) -> None:
        source = _ProductReplacement(gens, np.random.default_rng(_SEED))
        ar = np.arange(self.degree)
        quiet = 0
        while quiet < _RANDOM_SIFTS:
            H, drop = self._sift(source.next()[None])
            if drop[0] == len(self._levels) and np.array_equal(H[0], ar):
                quiet += 1
                continue
            quiet = 0
            self._add(H[0], 1, int(drop[0]))

    def _verify(self) -> None:
        """Deterministic phase: every level's stabilizer is generated by the next level (bottom up)."""
        ar = np.arange(self.degree)
        i = len(self._levels) - 1
        while i >= 0:
            L = self._levels[i]
            if L.verified:
                i -= 1
                continue
            found = None
            if L.progress == 0:
                found = self._regular_normal(i)
                if found is True:
                    L.verified = True
                    i -= 1
                    continue
            if found is None or found is False:
                found = self._check_level(i, ar)
            if found is None:
                L.verified = True
                i -= 1
                continue
            h, drop = found
            i = self._add(h, i + 1, drop)  # re-verify from the deepest level that changed

    def _regular_normal(self, i: int):
        """Shortcut for a level K = <S> with a regular normal subgroup R = <S_R> on its orbit O.

        Then K = R K_b with R and K_b meeting trivially, so K_b is isomorphic to K/R and is
        generated by k_s = u_{s(b)}^{-1} s for s in S outside S_R (u from R's transversal).
        R is regular if it moves only points of O and passes :meth:`_Level.is_regular`;
        it is normal if s t s^{-1} is in R for s in S, t in S_R (an element of a regular
        group is determined by the image of b). Tried with R generated by all
        generators supported in O, then by a greedy commuting subset of them (a
        transitive abelian group is regular). Returns True (level verified), a
        residue ``(h, drop)`` of some k_s that does not sift, or False (no such R).
        """
        L = self._levels[i]
        d = self.degree
        if L.size < _REGULAR_MIN_ORBIT:
            return False
        in_orbit = np.zeros(d, dtype=bool)
        in_orbit[L.orbit] = True
        inside = np.flatnonzero(~np.any((L.gens != np.arange(d)) & ~in_orbit, axis=1))
        if not inside.size:
            return False
        commuting: list[int] = []
        for j in inside:
            g = L.gens[j]
            if all(np.array_equal(g[L.gens[c]], L.gens[c][g]) for c in commuting):
                commuting.append(int(j))
        tried = set()
        for chosen in (list(inside), commuting):
            key = tuple(chosen)
            if key in tried:
                continue
            tried.add(key)
            R = _Level(L.point, L.gens[chosen], d, [0])
            R.build()
            if R.size != L.size or not R.is_regular():
                continue
            others = [j for j in range(len(L.gens)) if j not in set(chosen)]
            ks, normal = [], True
            for j in others:
                s = L.gens[j]
                s_inv = inverse(s)
                for t in R.gens:
                    x = s[t[s_inv]]
                    p = R.pos[x[L.point]]
                    if p < 0 or not np.array_equal(R.rows(np.array([p]))[0], x):
                        normal = False
                        break
                if not normal:
                    break
                ks.append(R.strip(np.array([R.pos[s[L.point]]]), s[None])[0])
            if not normal:
                continue
            if ks:
                H, drop = self._sift(np.array(ks), start=i + 1)
                bad = np.flatnonzero((drop < len(self._levels)) | np.any(H != np.arange(d), axis=1))
                if bad.size:
                    return H[bad[0]], int(drop[bad[0]])
            return True
        return False

    def _check_level(self, i: int, ar: np.ndarray):
        """First Schreier generator u_{sx}^{-1} s u_x of level i that does not sift, or None."""
        L = self._levels[i]
        k = len(L.gens)
        step = max(1, _BATCH // max(self.degree * k, 1))
        for lo in range(L.progress, L.size, step):
            hi = min(L.size, lo + step)
            positions = np.arange(lo, hi)
            U = L.rows(positions)
            for s_index, s in enumerate(L.gens):
                child = L.pos[s[L.orbit[lo:hi]]]
                # tree edges give the identity by construction
                nontree = (L.parent[child] != positions) | (L.label[child] != L.tree_label[s_index])
                if not nontree.any():
                    continue
                H, drop = self._sift(s[U[nontree]], start=i)
                bad = (drop < len(self._levels)) | np.any(H != ar, axis=1)
                if bad.any():
                    first = int(np.flatnonzero(bad)[0])
                    L.progress = lo
                    return H[first], int(drop[first])
            L.progress = hi
        return None

    # -- queries ------------------------------------------------------------------------
    def random_element(self, rng: np.random.Generator) -> np.ndarray:
        """Uniform random element ``u_1 u_2 ... u_b`` with each ``u_i`` uniform in its transversal."""
        g = np.arange(self.degree, dtype=np.int64)
        for L in self._levels:
            u = L.rows(np.array([rng.integers(L.size)]))[0]
            g = g[u]
        return g

    def contains(self, perm: np.ndarray) -> bool:
        """Membership by sifting through the chain."""
        g = np.asarray(perm, dtype=np.int64)
        if g.shape != (self.degree,):
            return False
        H, drop = self._sift(g[None])
        return bool(drop[0] == len(self._levels) and np.array_equal(H[0], np.arange(self.degree)))

    def iter_elements(self, batch: int = 1 << 16) -> Iterator[np.ndarray]:
        """All elements, once each, in stacks of at most about ``batch`` rows."""
        yield from _enumerate(self._levels, self.degree, batch)


def _enumerate(levels, degree: int, batch: int) -> Iterator[np.ndarray]:
    """Products u_1 ... u_b over the levels' transversals, in stacks of <= max(batch, 1) rows.

    The bottom levels are multiplied out once (a "suffix" stack of at most
    ``batch`` rows); the top levels are enumerated in blocks and each block is
    composed with the whole suffix in one gather.
    """
    batch = max(int(batch), 1)
    identity = np.arange(degree, dtype=np.int64)[None]
    if degree == 0 or not levels:
        yield identity
        return
    suffix, cut = identity, len(levels)
    while cut > 0 and suffix.shape[0] * levels[cut - 1].size <= batch:
        L = levels[cut - 1]
        U = L.rows(np.arange(L.size))
        suffix = U[:, suffix].reshape(-1, degree)
        cut -= 1
    block = max(1, batch // suffix.shape[0])

    def prefixes(index: int, P: np.ndarray):
        if index == cut:
            yield P
            return
        L = levels[index]
        step = max(1, block // P.shape[0])
        for lo in range(0, L.size, step):
            U = L.rows(np.arange(lo, min(L.size, lo + step)))
            yield from prefixes(index + 1, P[:, U].reshape(-1, degree))

    for P in prefixes(0, identity):
        yield P[:, suffix].reshape(-1, degree)
