"""Do generator images define an action of the group?

An :class:`eqsolve.Action` is given by one image per generator; those images define an
action (a homomorphism G -> S_m) only if every relation of the generators in G also holds
for the images. Images that break a relation generate a larger group than G, and the
solved basis silently collapses to the orbits of that larger group.

Two checks, both one-sided (they raise only with a proof):

* **exact** for small groups (``|G| * ngens * (base + orbits of the images)`` at most
  :data:`EXACT_WORK`): a breadth-first walk over G, each element identified by the image of
  a base of G, carrying the images of one point per orbit of the action. Two words that
  reach the same element of G with different images prove that the images break a
  relation; a walk without conflict proves that they define an action (the orbit of
  (base, representatives) has |G| elements exactly when the kernel of the free group's
  action on the base fixes every representative, hence every point).
* **relator orders** for every group: for each generator, each product of two generators
  and a few fixed pseudo-random short words ``w``, the order of the image of ``w`` must
  divide the order of ``w`` in G (``w^order`` is a relation). One cycle decomposition per
  word, O(words * (d log d + m log m)), within :data:`RELATOR_WORK`; beyond it (about a
  million points) only the generators' orders, checked on the cycles through 64 sampled
  points of the action (walked up to 2^14 steps).

>>> import eqsolve
>>> H = eqsolve.groups.cyclic(4)
>>> eqsolve.Action(H, [[1, 2, 0]])
Traceback (most recent call last):
...
eqsolve._errors.NotAnActionError: the images do not define an action of cyclic(4): generator 0 has order 4 in the group but its image has order 3 (an image's order must divide it)
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._errors import NotAnActionError
from ._perm import compose, cycle_lengths, orbit_labels

__all__ = ["check_action", "EXACT_WORK"]

EXACT_WORK = 1 << 21  # element-steps of the exact walk (|G| * ngens * tuple width)
_CHAIN_DEGREE = 64  # custom groups of larger degree get only the relator orders (no chain built here)
_PAIRS = 8  # products s_i s_j of the first _PAIRS generators
_WORDS = 12  # pseudo-random words of length 3..6
_SEED = 20200712
RELATOR_WORK = 1 << 25  # element-steps of the relator-order check (cycle decompositions)
_SAMPLE = 64  # points whose cycles are walked when the images are too large to decompose
_WALK = 1 << 14  # longest cycle walked


def check_action(group, images: np.ndarray) -> str:
    """Raise :class:`NotAnActionError` if ``images`` (one row per generator) provably do not
    define an action of ``group``; return ``"exact"`` or ``"relator orders"`` (what was checked).

    >>> import eqsolve, numpy as np
    >>> H = eqsolve.groups.dihedral(4)
    >>> check_action(H, H.action().tensor(2).images)
    'exact'
    """
    gens = np.asarray(group.generators, dtype=np.int64)
    images = np.asarray(images, dtype=np.int64)
    if not len(gens) or images.shape[1] == 0:
        return "exact"
    what = group.name or "the group"
    _relator_orders(gens, images, what)
    if _exact_affordable(group, images):
        _walk(group, gens, images, what)
        return "exact"
    return "relator orders"


def _order(p: np.ndarray) -> int:
    return math.lcm(*np.unique(cycle_lengths(p)).tolist()) if p.size else 1


def _words(k: int) -> list[tuple[int, ...]]:
    words = [(i,) for i in range(k)]
    words += [(i, j) for i in range(min(k, _PAIRS)) for j in range(min(k, _PAIRS)) if i < j]
    rng = np.random.default_rng(_SEED)
    if k > 1:
        words += [tuple(rng.integers(0, k, size=int(rng.integers(3, 7))).tolist()) for _ in range(_WORDS)]
    return words


def _relator_orders(gens: np.ndarray, images: np.ndarray, what: str) -> None:
    d, m = gens.shape[1], images.shape[1]
    words = _words(len(gens))
    cost = lambda n: n * max(1, n.bit_length())  # one cycle decomposition (pointer doubling)
    if len(words) * (cost(d) + cost(m)) > RELATOR_WORK:
        words = [(i,) for i in range(len(gens))]  # large actions: the generators' orders only
    full = len(words) * cost(m) <= RELATOR_WORK
    points = None if full else np.random.default_rng(_SEED).choice(m, size=min(m, _SAMPLE), replace=False)
    orders = _word_orders(_GroupKey(gens), tuple(words))
    for word, order in zip(words, orders):
        x = images[word[0]]
        for s in word[1:]:
            x = compose(images[s], x)  # the word is read left to right: s applied last
        bad = _image_order(x) if full else _sampled_cycle(x, points, order)
        if bad is not None and order % bad:
            name = f"generator {word[0]}" if len(word) == 1 else "the product of generators " + " then ".join(map(str, word))
            raise NotAnActionError(
                f"the images do not define an action of {what}: {name} has order {order} in the group "
                f"but its image has {_what(full, bad, order)} (an image's order must divide it)"
            )


class _GroupKey:
    """Generators hashed by content, so that the orders of a group's words are computed once."""

    def __init__(self, gens: np.ndarray):
        self.gens = gens
        self._hash = hash((gens.shape, gens.tobytes()))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        return isinstance(other, _GroupKey) and np.array_equal(self.gens, other.gens)


@functools.lru_cache(maxsize=4)
def _word_orders(key: _GroupKey, words: tuple) -> list[int]:
    orders = []
    for word in words:
        g = key.gens[word[0]]
        for s in word[1:]:
            g = compose(key.gens[s], g)
        orders.append(_order(g))
    return orders


def _what(full: bool, bad: int, order: int) -> str:
    if full:
        return f"order {bad}"
    return f"a cycle longer than {order}" if bad > order else f"a cycle of length {bad}"


def _image_order(x: np.ndarray) -> int:
    return _order(x)


def _sampled_cycle(x: np.ndarray, points: np.ndarray, order: int) -> int | None:
    """A cycle length of ``x`` through one of ``points`` that does not divide ``order``
    (``order + 1`` standing for "longer than order"), or None; walks at most ``order`` steps."""
    if order > _WALK:
        return None  # too long to walk: unchecked
    start = points
    p = x[start]
    length = np.ones(len(start), dtype=np.int64)
    open_ = p != start
    for step in range(2, order + 1):
        if not open_.any():
            break
        p[open_] = x[p[open_]]
        length[open_] = step
        open_ &= p != start
    if open_.any():
        return order + 1
    bad = length[order % length != 0]
    return int(bad[0]) if bad.size else None


def _representatives(images: np.ndarray) -> np.ndarray:
    labels = orbit_labels(images, images.shape[1])
    return np.unique(labels, return_index=True)[1]


def _exact_affordable(group, images: np.ndarray) -> bool:
    if group.degree > _CHAIN_DEGREE and not _order_is_cheap(group):
        return False  # a custom group this large: its stabilizer chain alone may take seconds
    bits = group.log2_order()
    if bits >= 40 or 2.0 ** bits * len(images) > EXACT_WORK:
        return False
    width = len(_representatives(images)) + min(group.degree, 64)
    return 2.0 ** bits * len(images) * width <= EXACT_WORK


def _order_is_cheap(group) -> bool:
    return group._order is not None or group._log2_order is not None or group._chain is not None


def _walk(group, gens: np.ndarray, images: np.ndarray, what: str) -> None:
    base = np.asarray(group.chain.base, dtype=np.int64)
    if not base.size:
        return  # the trivial group: every image has order 1, checked by the relator orders
    reps = _representatives(images)
    start_g, start_x = base, reps
    seen = {start_g.tobytes(): start_x.tobytes()}
    frontier_g, frontier_x = start_g[None], start_x[None]
    while len(frontier_g):
        new_g, new_x = [], []
        for s in range(len(gens)):
            moved_g, moved_x = gens[s][frontier_g], images[s][frontier_x]
            for row_g, row_x in zip(moved_g, moved_x):
                key, value = row_g.tobytes(), row_x.tobytes()
                known = seen.get(key)
                if known is None:
                    seen[key] = value
                    new_g.append(row_g)
                    new_x.append(row_x)
                elif known != value:
                    raise NotAnActionError(
                        f"the images do not define an action of {what}: two products of the generators "
                        f"give the same group element but different images (the images break a relation "
                        f"of the generators; check their order and that image i belongs to generator i)"
                    )
        frontier_g = np.array(new_g, dtype=np.int64).reshape(-1, len(base))
        frontier_x = np.array(new_x, dtype=np.int64).reshape(-1, len(reps))
