"""The independent methods, each behind a size check that turns "too large" into a
recorded skip with the reason (never a silent omission).

Methods, all computing E = number of orbits of G on pairs (out point, in point):

- ``orbits``: eqsolve's exact solver (Schreier-tree propagation of the orbit table);
- ``burnside``: the literal Lemma 1 sum, enumerating the group (exact Fraction);
- ``burnside-classes``: the same sum over the conjugacy classes (cycle types) of S_m or
  A_m, one representative per class (exact, no enumeration);
- ``nullspace``: unknowns minus the rank of the stacked fixed-point system;
- ``montecarlo``: the Burnside sum estimated from uniform random elements (a fallback).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, fields, replace

import numpy as np

import eqsolve
from eqsolve import Action, EqsolveError, PermutationGroup, ProblemTooLargeError
from eqsolve._budget import format_bytes
from eqsolve._format import abbreviate

from ._combinatorics import TooManyClasses, class_sum
from ._result import Computation, Skipped, Timer

DEFAULT_MAX_BYTES = 4 << 30  # largest orbit table (int32) the solver may build
DEFAULT_MAX_ELEMENTS = 10**6  # largest group the Burnside sum enumerates
BURNSIDE_WORK_PER_ELEMENT = 20  # enumerate at most 20 * max_elements element-points
LITERAL_CHANNELS_MAX = 5 * 10**7  # entries of the table solved with explicit channel actions
DEFAULT_MAX_UNKNOWNS = 1024  # nullspace / rank methods: a dense eigen-solve of this size takes ~0.5 s


class Skip(Exception):
    """A method that cannot run here; the message is the reason."""


@dataclass
class Limits:
    """Size limits and randomness of a verification run.

    Attributes
    ----------
    max_bytes:
        Largest solver table (4 bytes per entry) to build; bigger ones are skipped with
        the size they would need. Default 4 GiB.
    max_unknowns:
        Largest linear system (d_out * d_in unknowns) for the nullspace and rank methods,
        which build a dense matrix of that side. Default 1024 (``eqsolve.count``'s own limit
        is 2048, ``NULLSPACE_NUMERIC_MAX``, where one numerical rank takes seconds).
    max_elements:
        Largest group the literal Burnside sum enumerates. Default 10^6.
    samples, seed:
        Monte Carlo fallback: number of uniform random elements and the seed.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_unknowns: int = DEFAULT_MAX_UNKNOWNS
    max_elements: int = DEFAULT_MAX_ELEMENTS
    samples: int = 4000
    seed: int = 0

    @classmethod
    def make(cls, limits: "Limits | None" = None, **options) -> "Limits":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise EqsolveError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        base = limits if limits is not None else cls()
        values = {f.name: getattr(base, f.name) for f in fields(cls)}
        values.update({k: v for k, v in options.items() if v is not None})
        for name in ("max_bytes", "max_unknowns", "max_elements", "samples"):
            v = values[name]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (2 if name == "samples" else 1):
                raise EqsolveError(f"{name} must be a positive integer{' >= 2' if name == 'samples' else ''}, got {v!r}")
        return cls(**values)


class Work:
    """Shared state of one verification run: limits, a memo of dimensions, and the one
    orbit table kept for a structural check (tables can be gigabytes, so only one)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._dims: dict[bytes, int] = {}
        self._values: dict[tuple, tuple] = {}
        self._table_key: bytes | None = None
        self._table = None

    @staticmethod
    def key(out: Action, inp: Action) -> bytes:
        h = hashlib.blake2b(digest_size=16)
        for a in (out, inp):
            h.update(repr(a.images.shape).encode())
            h.update(np.ascontiguousarray(a.images).tobytes())
        return h.digest()

    def solve_dim(self, out: Action, inp: Action, keep_table: bool = False) -> int:
        """Dimension from the solver (memoised); raises :class:`Skip` when too large."""
        key = self.key(out, inp)
        if key in self._dims and (not keep_table or self._table_key == key):
            return self._dims[key]
        from eqsolve._group import point_orbit_labels

        # the solver keeps the compact form: one row per output orbit (plus O(d) for the forest)
        n_rows = int(point_orbit_labels(out.images, out.degree).max(initial=-1)) + 1
        need = n_rows * inp.degree * 4 + 64 * (out.degree + inp.degree)
        if need > self.limits.max_bytes:
            raise Skip(
                f"the compact form ({n_rows} rows of {inp.degree} ids) would need {_bytes(need)}, above the "
                f"limit {_bytes(self.limits.max_bytes)} (raise max_bytes= / --max-memory)"
            )
        if keep_table:
            self._table, self._table_key = None, None  # free the previous table first
        try:
            basis = eqsolve.solve(out=out, inp=inp, cache=need <= (64 << 20))
        except ProblemTooLargeError as err:
            raise Skip(str(err)) from None
        self._dims[key] = basis.dim
        if keep_table:
            self._table, self._table_key = basis, key
        return basis.dim

    def table(self, out: Action, inp: Action):
        """The solver's basis for (out, inp) if it was kept, else solve it (within limits)."""
        key = self.key(out, inp)
        if self._table_key != key:
            self.solve_dim(out, inp, keep_table=True)
        return self._table

    def table_h(self, rho: Action) -> np.ndarray:
        """orbit_index of the (small) group H on its points, within the memory limit."""
        need = rho.degree ** 2 * 4
        if need > self.limits.max_bytes:
            raise Skip(f"H's {rho.degree} x {rho.degree} table would need {_bytes(need)}, above the limit "
                       f"{_bytes(self.limits.max_bytes)}")
        try:
            return eqsolve.solve(out=rho, inp=rho).orbit_index
        except ProblemTooLargeError as err:
            raise Skip(str(err)) from None

    def cached(self, method: str, out: Action, inp: Action, fn):
        """``fn()`` memoised per (method, out, inp) for this run; a skip is remembered too."""
        key = (method, self.key(out, inp))
        if key not in self._values:
            try:
                self._values[key] = ("value", fn())
            except (Skip, ProblemTooLargeError, TooManyClasses) as err:
                self._values[key] = ("skip", str(err))
        kind, value = self._values[key]
        if kind == "skip":
            raise Skip(value)
        return replace(value) if isinstance(value, Computation) else value

    def release(self) -> None:
        self._table, self._table_key = None, None


def attempt(method: str, fn, computations: list, skipped: list, note: str = "", exact: bool = True,
            scale: int = 1):
    """Run ``fn()`` (returning a value), append a :class:`Computation` or a :class:`Skipped`.

    Returns the computation's value, or None when skipped. ``scale`` multiplies the value
    (channels); the note says so.
    """
    with Timer() as t:
        try:
            value = fn()
        except (Skip, ProblemTooLargeError, TooManyClasses) as err:
            value = None
            reason = str(err)
    if value is None:
        skipped.append(Skipped(method, reason))
        return None
    if isinstance(value, Computation):  # a method that reports more than a value
        comp = value
        comp.method = method
        comp.seconds = t.seconds
        comp.note = "; ".join(x for x in (note, comp.note) if x)
    else:
        comp = Computation(method, value, exact=exact, seconds=t.seconds, note=note)
    if scale != 1:
        comp.value = comp.value * scale
        if comp.interval is not None:
            comp.interval = (comp.interval[0] * scale, comp.interval[1] * scale)
    computations.append(comp)
    return comp.value


# -- the individual methods ----------------------------------------------------------


def burnside(out: Action, inp: Action, limits: Limits):
    """Literal Lemma 1 sum over every element (exact Fraction), by ``eqsolve.count``."""
    if out.group.log2_order() > max(4000.0, math.log2(limits.max_elements) + 1):  # never build a huge order
        raise Skip(f"the Burnside sum would enumerate about 2^{out.group.log2_order():.0f} group elements, "
                   f"above max_elements = {limits.max_elements} (raise max_elements= / --max-elements)")
    order = out.group.order()
    points = out.degree + (0 if out is inp else inp.degree)
    if order > limits.max_elements:
        raise Skip(f"the Burnside sum would enumerate {abbreviate(order)} group elements, above max_elements = "
                   f"{limits.max_elements} (raise max_elements= / --max-elements)")
    if order * points > BURNSIDE_WORK_PER_ELEMENT * limits.max_elements:
        raise Skip(f"the Burnside sum would enumerate {order} elements on {points} points, above "
                   f"{BURNSIDE_WORK_PER_ELEMENT} x max_elements = {BURNSIDE_WORK_PER_ELEMENT * limits.max_elements} "
                   "element-points (raise max_elements=)")
    return eqsolve.count(out=out, inp=inp, method="burnside", max_elements=limits.max_elements)


def nullspace(out: Action, inp: Action, limits: Limits) -> Computation:
    """d_out d_in minus the rank of the stacked system (exact with sympy up to 400 unknowns)."""
    r = eqsolve.count(out=out, inp=inp, method="nullspace", detail=True, max_unknowns=limits.max_unknowns)
    return Computation("nullspace", r.value, exact=True, seconds=r.seconds, note=r.note)


def montecarlo(out: Action, inp: Action, limits: Limits, method: str = "montecarlo") -> Computation:
    r = eqsolve.count(out=out, inp=inp, method="montecarlo", detail=True, samples=limits.samples, rng=limits.seed)
    return Computation(method, r.value, exact=False, seconds=r.seconds, interval=r.interval,
                       note=f"estimate of the Burnside sum from {limits.samples} uniform random elements (seed {limits.seed})")


def symmetric_kind(group: PermutationGroup) -> str | None:
    """``"symmetric"`` / ``"alternating"`` when the group is all of S_d / A_d on its points."""
    d = group.degree
    order = group.order()
    if order == math.factorial(d):
        return "symmetric"
    if d >= 2 and 2 * order == math.factorial(d):
        return "alternating"  # the only subgroup of index 2 in S_d
    return None


def burnside_classes(out: Action, inp: Action):
    """Lemma 1's sum over the conjugacy classes of S_m / A_m (exact, no enumeration)."""
    group = out.group
    kind = symmetric_kind(group)
    if kind is None:
        raise Skip(f"the class sum is implemented for S_m and A_m only; this group has order {group.order()}, "
                   f"neither {group.degree}! nor {group.degree}!/2")
    ident = np.arange(group.degree, dtype=np.int64)
    try:
        out.image_of(ident)
        inp.image_of(ident)
    except EqsolveError:
        raise Skip("an action given only by generator images cannot be evaluated on class representatives") from None
    ar_out, ar_in = np.arange(out.degree), np.arange(inp.degree)

    def fixed_pair(g):
        return int(np.count_nonzero(out.image_of(g) == ar_out)) * int(np.count_nonzero(inp.image_of(g) == ar_in))

    return class_sum(group.degree, fixed_pair, alternating=kind == "alternating")


def channel_action(group: PermutationGroup, channels: int) -> Action:
    """``channels`` points fixed by every element (the channel index of a feature map)."""
    images = np.tile(np.arange(channels, dtype=np.int64), (group.ngens, 1))
    return Action(group, images, recipe=lambda g: np.arange(channels, dtype=np.int64), name=f"{channels} channels")


_bytes = format_bytes  # sizes in the core's words (powers of 1024)
