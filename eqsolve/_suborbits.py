"""Root rows of the orbit table from point stabilizers, without the table.

Row ``r`` of the orbit table (``r`` the root of an output orbit ``O``) labels
the input points by the orbits of the stabilizer ``G_r`` ("suborbits"). The
group acts on the output and input points at once (the disjoint union, or one
set when both actions are the same); with ``N`` its order:

* ``|O| = 1``: ``G_r = G``, the row is the orbits of ``G`` on the input points;
* ``|O| = N``: ``G_r = 1``, every input point is its own suborbit;
* ``G`` contains ``A_m`` on its ``m >= 8`` moved points (by its order, or by Jordan's
  theorem as in :func:`eqsolve._chain.find_giant`): ``G_r`` is transitive on the other
  moved points;
* otherwise a stabilizer chain with first base point ``r`` is grown from
  product-replacement random elements until the product of its orbit sizes is
  ``N`` (a Las Vegas algorithm: once the order is reached the chain is complete,
  so its second level generates ``G_r`` exactly); if that takes too long, the
  deterministic Schreier-Sims verification of :mod:`eqsolve._chain` finishes it.

The cost is about ``(depth of a shallow tree) x (degree)`` per random element and
``k x d_in`` per root: nothing of size ``d_out x d_in``.

>>> import numpy as np
>>> from eqsolve import groups
>>> H = groups.dihedral(5)
>>> rows, n = root_rows(H.action(), H.action(), np.array([0]))
>>> rows.tolist(), n
([[0, 1, 2, 2, 1]], 3)
"""

from __future__ import annotations

import math

import numpy as np

from ._group import point_orbit_labels

_RANDOM_LIMIT = 300  # random elements without progress before the deterministic verification
_SEED = 20200712
GIANT_SEARCH_POINTS = 1 << 17  # find_giant's random search beyond the order certificate, up to this degree
WORK_LIMIT = 10**11  # about b^2 x degree steps of a stabilizer chain (b = log2 of the stabilizer's order)


def root_rows(out, inp, roots: np.ndarray, orbit_sizes: np.ndarray | None = None, dtype=np.int64):
    """Canonical rows of the orbit table at ``roots`` (sorted; one per output orbit) and the number of ids."""
    d_out, d_in = out.degree, inp.degree
    roots = np.asarray(roots, dtype=np.int64)
    rows = np.empty((roots.size, d_in), dtype=dtype)
    if orbit_sizes is None:
        labels = point_orbit_labels(out.images, d_out)
        orbit_sizes = np.bincount(labels)[labels[roots]]
    work = _Combined(out, inp)
    offset = 0
    for index, (r, size) in enumerate(zip(roots.tolist(), np.asarray(orbit_sizes).tolist())):
        labels = work.suborbits(int(r), int(size))
        rows[index] = labels + offset
        offset += int(labels.max()) + 1 if labels.size else 0
    return rows, offset


def precheck(out, inp) -> None:
    """Refuse, before any O(d) work, a problem whose stabilizers are surely too long to compute.

    Every output orbit has at most ``d_out`` points, so every stabilizer has order at
    least ``|G| / d_out`` (giants, certified later, are exempt: same natural action).
    """
    work = _Combined(out, inp)
    if work.same and work.natural():
        return
    work._check_work(-1, out.degree, what="an output point")


class _Combined:
    """The group acting on output and input points together, with what the roots share."""

    def __init__(self, out, inp):
        self.out, self.inp = out, inp
        self.d_out, self.d_in = out.degree, inp.degree
        self.same = out.images.shape == inp.images.shape and np.array_equal(out.images, inp.images)
        if self.same:
            self.images, self.offset = np.asarray(out.images, dtype=np.int64), 0
        else:
            self.images = np.concatenate([out.images, inp.images + self.d_out], axis=1).astype(np.int64)
            self.offset = self.d_out
        self.degree = self.images.shape[1]
        self._order = self._giant = self._in_orbits = None
        self._giant_tried = False

    def natural(self) -> bool:
        """True if one of the actions is the group's own (faithful) action."""
        gens = self.out.group.generators
        return any(a.images.shape == gens.shape and np.array_equal(a.images, gens) for a in (self.out, self.inp))

    def order(self) -> int:
        """Order of the group generated on the combined points."""
        if self._order is None:
            if self.natural():  # a faithful action: the group itself
                self._order = int(self.out.group.order())
            else:
                from ._chain import stabilizer_chain

                self._order = int(stabilizer_chain(self.images, self.degree).order)
        return self._order

    def giant(self):
        """``(support)`` if the group is S_m or A_m on its ``m >= 8`` moved points, else None.

        Certified by the order when one action is the group's own and both are the
        same (a transitive group of order >= m!/2 on m points contains A_m; the next
        possible order is m times smaller, so a float log2 decides), else by
        :func:`eqsolve._chain.find_giant` on up to ``GIANT_SEARCH_POINTS`` points.
        """
        if not self._giant_tried:
            self._giant_tried = True
            gens = self.images
            moved = np.flatnonzero(np.any(gens != np.arange(self.degree), axis=0)) if len(gens) else np.arange(0)
            m = moved.size
            if m < 8:
                return None
            if self.same and self.natural():
                labels = point_orbit_labels(gens, self.degree)
                if np.unique(labels[moved]).size == 1:
                    log2_half = math.lgamma(m + 1) / math.log(2) - 1
                    if self.out.group.log2_order() >= log2_half - 0.5:
                        self._giant = moved
            elif self.degree <= GIANT_SEARCH_POINTS:
                from ._chain import find_giant

                found = find_giant(gens, self.degree)
                self._giant = None if found is None else found.support
        return self._giant

    def _check_work(self, r: int, size: int, what: str = "") -> None:
        """Refuse a stabilizer chain that would be far too long (before building it).

        The stabilizer of ``r`` has order at most ``|G| / |O|``; a chain for it has up
        to ``b = log2`` of that many levels, and each random element sifts through
        them over all ``D`` points: about ``b^2 D`` steps.
        """
        from ._errors import ProblemTooLargeError
        from ._memory import format_bytes

        bits = max(0, math.ceil(self.out.group.log2_order() - math.log2(max(size, 1))))
        work = bits * bits * self.degree
        if work > WORK_LIMIT:
            dense = self.d_out * self.d_in * 4
            raise ProblemTooLargeError(
                f"the stabilizer of {what or f'output point {r}'} has order of about 2^{bits}: finding its orbits on the "
                f"{self.d_in} input points would take about {work:.2e} steps (the limit is {WORK_LIMIT:.0e}), "
                f"and the dense table instead would need {dense} bytes ({format_bytes(dense)})"
            )

    def in_orbits(self) -> np.ndarray:
        if self._in_orbits is None and self.same:
            labels = point_orbit_labels(self.images, self.degree)
            self._in_orbits = labels
        if self._in_orbits is None:
            self._in_orbits = point_orbit_labels(np.asarray(self.inp.images), self.d_in)
        return self._in_orbits

    def suborbits(self, r: int, size: int) -> np.ndarray:
        """Canonical labels of the orbits of the stabilizer of output point ``r`` on the input points."""
        if self.d_in == 0:
            return np.zeros(0, dtype=np.int64)
        if size == 1:
            return self.in_orbits()
        close = self.out.group.log2_order() - math.log2(size) < 0.5
        if close and self.natural() and self.order() == size:  # regular: trivial stabilizer
            return np.arange(self.d_in, dtype=np.int64)
        giant = self.giant()
        if giant is not None:
            labels = np.arange(self.degree, dtype=np.int64)
            rest = giant[giant != r]
            labels[rest] = rest[0]
            return _canonical(labels[self.offset:self.offset + self.d_in])
        self._check_work(r, size)
        if self.order() == size:
            return np.arange(self.d_in, dtype=np.int64)
        gens = _stabilizer_generators(self.images, self.degree, r, self.order())
        if not len(gens):
            return np.arange(self.d_in, dtype=np.int64)
        part = gens[:, self.offset:self.offset + self.d_in] - self.offset
        return point_orbit_labels(part, self.d_in)


def _stabilizer_generators(images: np.ndarray, degree: int, r: int, order: int) -> np.ndarray:
    """Generators of the stabilizer of ``r`` in ``<images>`` (of known ``order``), exactly."""
    from ._chain import _TABLE_TOTAL, StabilizerChain, _clean, _ProductReplacement

    gens = _clean(images, degree).astype(np.int32)
    chain = StabilizerChain.__new__(StabilizerChain)
    chain.degree = degree
    chain._levels = []
    chain._budget = [_TABLE_TOTAL]
    chain._levels.append(chain._new_level(r, gens))
    rng = np.random.default_rng(_SEED)
    source = _ProductReplacement(gens, rng)
    identity = np.arange(degree)
    wide = np.asarray(gens, dtype=np.int64)

    def random_element():
        # product replacement times a random subproduct of all generators: a small pool alone
        # can stay inside a proper subgroup when there are more generators than pool slots
        g = source.next().copy()
        for index in rng.permutation(len(wide)):
            if rng.integers(2):
                g = wide[index][g]
        return g

    idle = 0
    while math.prod(level.size for level in chain._levels) < order:
        if idle >= _RANDOM_LIMIT:
            chain._verify()  # deterministic: exact whatever the random phase found
            break
        H, drop = chain._sift(random_element()[None])
        if drop[0] == len(chain._levels) and np.array_equal(H[0], identity):
            idle += 1
            continue
        idle = 0
        chain._add(H[0], 1, int(drop[0]))
    if len(chain._levels) < 2:
        return np.zeros((0, degree), dtype=np.int64)
    return np.asarray(chain._levels[1].gens, dtype=np.int64)


def _canonical(labels: np.ndarray) -> np.ndarray:
    from ._group import canonical_labels

    return canonical_labels(labels)
