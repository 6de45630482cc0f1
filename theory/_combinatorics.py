"""Exact combinatorics behind the claims: rencontres numbers, Stirling and Bell
numbers, partitions and conjugacy-class sums for S_m and A_m.

Everything here is exact integer / ``Fraction`` arithmetic; nothing enumerates
a symmetric group.

>>> symmetric_dimension(1000)
Fraction(2, 1)
>>> [bell(r) for r in range(7)]
[1, 1, 2, 5, 15, 52, 203]
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Iterator

import numpy as np

from eqsolve import EqsolveError

# class sums iterate over the partitions of m; above this many they are refused
CLASS_SUM_MAX_CLASSES = 20000


def subfactorial(m: int) -> int:
    """Number of derangements !m of m points (!0 = 1, !1 = 0).

    >>> [subfactorial(m) for m in range(7)]
    [1, 0, 1, 2, 9, 44, 265]
    """
    return _subfactorials(m)[m]


def _subfactorials(m: int) -> list[int]:
    values = [1, 0]
    for k in range(2, m + 1):
        values.append((k - 1) * (values[-1] + values[-2]))
    return values[: m + 1]


RENCONTRES_MAX = 2000  # n = 2000 takes about a second; the big-integer work grows like n^3


def rencontres(n: int) -> list[int]:
    """D(n, k) for k = 0..n: permutations of n points with exactly k fixed points,
    D(n, k) = C(n, k) * !(n - k). They sum to n!.

    >>> rencontres(4), sum(rencontres(4)) == math.factorial(4)
    ([9, 8, 6, 0, 1], True)
    """
    n = _nonnegative(n, "n")
    if n > RENCONTRES_MAX:
        from eqsolve import ProblemTooLargeError

        raise ProblemTooLargeError(
            f"the rencontres numbers of n = {n} are about n! (about 10^{int(math.lgamma(n + 1) / math.log(10))}); "
            f"their exact sum is computed up to n = {RENCONTRES_MAX}")
    sub = _subfactorials(n)
    return [math.comb(n, k) * sub[n - k] for k in range(n + 1)]


def fixed_point_moment(n: int, r: int) -> Fraction:
    """E[F^r] for F the number of fixed points of a uniform random element of S_n,
    i.e. (1/n!) sum_k D(n, k) k^r, exactly.

    ``fixed_point_moment(n, 2)`` is E(S_n) of Lemma 1; ``fixed_point_moment(m, k + l)``
    is the dimension of the S_m-equivariant maps R^{m^k} -> R^{m^l}, because a
    permutation fixes exactly F^k points of [m]^k.

    >>> fixed_point_moment(5, 2), fixed_point_moment(1, 2), fixed_point_moment(6, 4)
    (Fraction(2, 1), Fraction(1, 1), Fraction(15, 1))
    """
    n = _nonnegative(n, "n")
    r = _nonnegative(r, "r")
    total = sum(d * k**r for k, d in enumerate(rencontres(n)))
    return Fraction(total, math.factorial(n))


def symmetric_dimension(n: int) -> Fraction:
    """E(S_n) = (1/n!) sum_k D(n, k) k^2 from the rencontres numbers (exact).

    >>> [symmetric_dimension(n) for n in (1, 2, 3, 50)]
    [Fraction(1, 1), Fraction(2, 1), Fraction(2, 1), Fraction(2, 1)]
    """
    return fixed_point_moment(n, 2)


@lru_cache(maxsize=None)
def stirling2(r: int, j: int) -> int:
    """Stirling number of the second kind: partitions of r labelled items into j blocks.

    >>> [stirling2(4, j) for j in range(5)]
    [0, 1, 7, 6, 1]
    """
    if r == j:
        return 1
    if r == 0 or j == 0 or j > r:
        return 0
    return j * stirling2(r - 1, j) + stirling2(r - 1, j - 1)


def bell(r: int, blocks: int | None = None) -> int:
    """Bell number B(r) (set partitions of r items); with ``blocks=m``, only the
    partitions into at most m blocks (the answer for S_m when m < r).

    >>> bell(4), bell(4, blocks=2)
    (15, 8)
    """
    r = _nonnegative(r, "r")
    top = r if blocks is None else min(r, _nonnegative(blocks, "blocks"))
    return sum(stirling2(r, j) for j in range(top + 1))


@lru_cache(maxsize=None)
def partition_count(m: int) -> int:
    """Number of partitions of m (Euler's pentagonal recurrence).

    >>> [partition_count(m) for m in (0, 5, 20, 30)]
    [1, 7, 627, 5604]
    """
    counts = [1] + [0] * m
    for k in range(1, m + 1):
        total, j = 0, 1
        while True:
            g1 = j * (3 * j - 1) // 2
            if g1 > k:
                break
            sign = 1 if j % 2 else -1
            total += sign * counts[k - g1]
            g2 = j * (3 * j + 1) // 2
            if g2 <= k:
                total += sign * counts[k - g2]
            j += 1
        counts[k] = total
    return counts[m]


def partitions(m: int) -> Iterator[tuple[int, ...]]:
    """Partitions of m as non-increasing tuples of cycle lengths.

    >>> list(partitions(4))
    [(4,), (3, 1), (2, 2), (2, 1, 1), (1, 1, 1, 1)]
    """

    def rec(rest: int, largest: int):
        if rest == 0:
            yield ()
            return
        for part in range(min(rest, largest), 0, -1):
            for tail in rec(rest - part, part):
                yield (part,) + tail

    yield from rec(m, m)


def class_size(cycle_type: tuple[int, ...]) -> int:
    """Size of the conjugacy class of S_m with the given cycle lengths:
    m! / prod_i (i^{a_i} a_i!).

    >>> class_size((2, 1, 1)), class_size((3, 1))
    (6, 8)
    """
    m = sum(cycle_type)
    denominator = 1
    for length in set(cycle_type):
        a = cycle_type.count(length)
        denominator *= length**a * math.factorial(a)
    return math.factorial(m) // denominator


def representative(cycle_type: tuple[int, ...]) -> np.ndarray:
    """A permutation (array form) with the given cycle lengths, cycles on consecutive points.

    >>> representative((3, 1)).tolist()
    [1, 2, 0, 3]
    """
    perm, start = [], 0
    for length in cycle_type:
        perm += list(range(start + 1, start + length)) + [start]
        start += length
    return np.array(perm, dtype=np.int64)


def is_even(cycle_type: tuple[int, ...]) -> bool:
    """Whether permutations of this cycle type lie in A_m."""
    return sum(length - 1 for length in cycle_type) % 2 == 0


def class_sum(m: int, fixed_pair, alternating: bool = False) -> Fraction:
    """(1/|G|) sum_{g in G} f(g) for G = S_m (or A_m), summed over conjugacy classes.

    ``fixed_pair(g)`` returns the summand for the element ``g`` (array form on m
    points), typically ``fix_out(g) * fix_in(g)``. For S_m any permutation
    character is constant on a cycle type; for A_m a class of S_m may split in
    two, so both halves are evaluated (``g`` and its conjugate by ``(0 1)``).

    >>> class_sum(5, lambda g: int((g == np.arange(5)).sum()) ** 2)
    Fraction(2, 1)
    """
    m = _nonnegative(m, "m")
    classes = partition_count(m)
    if classes > CLASS_SUM_MAX_CLASSES:
        raise TooManyClasses(
            f"S_{m} has {classes if classes < 10**15 else f'{str(classes)[0]}.{str(classes)[1:3]}e{len(str(classes)) - 1}'} "
            "conjugacy classes (cycle types), above the class-sum limit "
            f"{CLASS_SUM_MAX_CLASSES}"
        )
    total = 0
    swap = np.arange(m, dtype=np.int64)
    if m >= 2:
        swap[[0, 1]] = [1, 0]
    for cycle_type in partitions(m):
        if alternating and not is_even(cycle_type):
            continue
        rep = representative(cycle_type)
        size = class_size(cycle_type)
        if alternating and m >= 2:
            # a split class has two halves of size/2; otherwise both values are equal
            conjugate = swap[rep[swap]]  # (0 1) rep (0 1)
            total += size * (int(fixed_pair(rep)) + int(fixed_pair(conjugate)))
        else:
            total += 2 * size * int(fixed_pair(rep))
    order = math.factorial(m) // (2 if alternating and m >= 2 else 1)
    return Fraction(total, 2 * order)


class TooManyClasses(EqsolveError):
    """The class sum would iterate over too many cycle types."""


def _nonnegative(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise EqsolveError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)
