"""Counting E = dim of the equivariant maps, by Lemma 1 and by independent methods.

Lemma 1 (Maron et al. 2020): E(H) = (1/|H|) sum_h tr(P(h))^2, the number of
orbits of H on pairs. For maps between two actions the summand is
fix_out(h) * fix_in(h).

>>> import eqsolve
>>> H = eqsolve.groups.cyclic(7)
>>> [eqsolve.count(H, method=m) for m in ("burnside", "orbits", "nullspace")]
[Fraction(7, 1), 7, 7]
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ._errors import EqsolveError, ProblemTooLargeError
from ._format import abbreviate

METHODS = ("auto", "burnside", "orbits", "nullspace", "montecarlo")
BURNSIDE_MAX_ELEMENTS = 10**6  # group elements enumerated by the literal formula
BURNSIDE_MAX_WORK = 2 * 10**8  # elements x points touched
NULLSPACE_EXACT_MAX = 400  # unknowns (d_out * d_in) for sympy's exact rank
NULLSPACE_NUMERIC_MAX = 2048  # unknowns for numpy's floating-point rank (a dense eigen-solve)
ORBITS_AUTO_MAX = 10**8  # table entries that "auto" hands to the solver
MONTECARLO_SAMPLES = 4000
SAMPLE_OVERHEAD = 10_000  # steps: the Python work of drawing one element (about 10 us)


@dataclass
class CountResult:
    """One computation of E: the value, how, and how long it took."""

    method: str
    value: object  # Fraction (burnside), int (orbits, nullspace) or float (montecarlo)
    exact: bool
    seconds: float
    interval: tuple[float, float] | None = None  # 95% confidence interval (montecarlo)
    note: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready, keys as the attribute names (exact integers below 2^53 as numbers).

        >>> CountResult("burnside", Fraction(7, 1), True, 0.5).to_dict()
        {'method': 'burnside', 'value': 7, 'exact': True, 'seconds': 0.5}
        """
        from ._format import json_value

        out = {"method": self.method, "value": json_value(self.value), "exact": self.exact, "seconds": self.seconds}
        if self.interval is not None:
            out["interval"] = list(self.interval)
        if self.note:
            out["note"] = self.note
        return out


def count(group=None, *, out=None, inp=None, method: str = "auto", detail: bool = False,
          rng=None, samples: int = MONTECARLO_SAMPLES, max_elements: int = BURNSIDE_MAX_ELEMENTS,
          max_unknowns: int | None = None):
    """E(H), the dimension of the H-equivariant linear maps, by the chosen method.

    Parameters
    ----------
    group, out, inp:
        As for :func:`eqsolve.solve`.
    method:
        ``"burnside"``: the literal Lemma 1 sum over all elements (exact
        ``Fraction``; refused above ``max_elements`` elements);
        ``"orbits"``: the solver's orbit count (exact int);
        ``"nullspace"``: ``d_out d_in`` minus the rank of the stacked system
        ``(P(g) (x) P(g) - I)`` over the generators (exact with sympy up to
        400 unknowns, floating point with numpy up to 2048; raise ``max_unknowns``
        for more);
        ``"montecarlo"``: the mean of ``fix_out(h) fix_in(h)`` over uniform
        random elements (a float; ``detail=True`` gives a 95% interval);
        ``"auto"``: ``orbits`` when the table has at most 1e8 entries, else
        ``burnside`` if the group is small enough, else ``montecarlo``.
    detail:
        Return a :class:`CountResult` (value, method, time, interval) instead
        of the bare value.

    Examples
    --------
    >>> import eqsolve
    >>> eqsolve.count(eqsolve.groups.symmetric(6), method="burnside")
    Fraction(2, 1)
    """
    from ._solve import _resolve_actions

    if not isinstance(method, str) or method not in METHODS:
        raise EqsolveError(f"unknown counting method {str(method)[:40]!r}; choose one of {', '.join(METHODS)}")
    for name, value in (("max_elements", max_elements), ("max_unknowns", max_unknowns)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise EqsolveError(f"{name} must be a positive integer, got {str(value)[:40]}")
    out, inp = _resolve_actions(group, out, inp)
    if method == "auto":
        method = _auto_method(out, inp, max_elements)
    start = time.perf_counter()
    if method == "burnside":
        value = burnside(out, inp, max_elements)
        result = CountResult("burnside", value, True, 0.0)
    elif method == "orbits":
        from ._solve import solve

        result = CountResult("orbits", solve(out=out, inp=inp).dim, True, 0.0)
    elif method == "nullspace":
        value, how = nullspace_dimension(out, inp, max_unknowns)
        result = CountResult("nullspace", value, how == "exact", 0.0, note=f"{how} rank")
    else:
        mean, low, high = montecarlo(out, inp, samples, rng)
        note = f"{samples} samples"
        # every orbit on pairs has at most |G| entries, so E >= d_out d_in / |G|; an
        # interval below that bound means the sum is dominated by elements too rare to sample
        # a float, even for orders of 10^5000 (never builds the order itself)
        log2 = out.group.log2_order()
        bound = out.degree * inp.degree / out.group.order() if log2 < 4096 else 0.0
        if high < bound:
            note += (f"; UNRELIABLE: below the exact lower bound d_out*d_in/|G| = {bound:.6g} "
                     "(rare elements dominate the sum; use method='burnside' with a larger max_elements)")
        result = CountResult("montecarlo", mean, False, 0.0, interval=(low, high), note=note,
                             extra={"lower_bound": bound})
    result.seconds = time.perf_counter() - start
    return result if detail else result.value


def _auto_method(out, inp, max_elements) -> str:
    if out.degree * inp.degree <= ORBITS_AUTO_MAX:
        return "orbits"
    if out.group.log2_order() <= math.log2(max(max_elements, 1)) + 1 and \
            _burnside_fits(out.group.order(), out.degree + inp.degree, max_elements):
        return "burnside"
    return "montecarlo"


def _burnside_fits(order: int, points: int, max_elements: int) -> bool:
    """True when the Burnside sum over ``order`` elements on ``points`` points is within the limits."""
    work_limit = BURNSIDE_MAX_WORK * max(1, max_elements // BURNSIDE_MAX_ELEMENTS)
    return order <= max_elements and order * points <= work_limit


def _about(log2: float) -> str:
    return f"about 10^{int(log2 * math.log10(2))}"


def _joint(out, inp):
    """Generator images of the joint action on out-points then in-points."""
    if out is inp or np.array_equal(out.images, inp.images):
        return out.images, True
    return np.concatenate([out.images, inp.images + out.degree], axis=1), False


def burnside(out, inp, max_elements: int = BURNSIDE_MAX_ELEMENTS) -> Fraction:
    """Exact Lemma 1 sum: (1/|G|) sum_g fix_out(g) fix_in(g), enumerating the group."""
    group = out.group
    d_out, d_in = out.degree, inp.degree
    log2 = group.log2_order()
    order = group.order() if log2 <= 64 else 1 << 64  # only compared with the limits below
    if not _burnside_fits(order, d_out + d_in, max_elements):
        raise ProblemTooLargeError(
            f"the Burnside sum would enumerate {abbreviate(order) if log2 <= 64 else _about(log2)} group elements "
            f"on {d_out + d_in} points "
            f"(limit {max_elements} elements, {BURNSIDE_MAX_WORK} element-points); raise max_elements= "
            "or use method='orbits' or 'montecarlo'"
        )
    images, same = _joint(out, inp)
    if same and np.array_equal(images, group.generators):
        chain = group.chain
    else:
        from ._chain import stabilizer_chain

        chain = stabilizer_chain(images, images.shape[1])
    total, n = 0, 0
    for batch in chain.iter_elements(batch=max(1, (1 << 22) // max(images.shape[1], 1))):
        fixed = batch == np.arange(images.shape[1])
        f_out = fixed[:, :d_out].sum(axis=1, dtype=np.int64)
        f_in = f_out if same else fixed[:, d_out:].sum(axis=1, dtype=np.int64)
        total += int(np.dot(f_out, f_in))
        n += batch.shape[0]
    # the image of G in the joint action may be a quotient; the average is the same
    return Fraction(total, n)


def stacked_system(out, inp):
    """Sparse matrix of the fixed-point system: rows (P_s (x) P_s - I) for each generator s."""
    from scipy.sparse import coo_matrix

    d_out, d_in = out.degree, inp.degree
    n = d_out * d_in
    k = out.images.shape[0]
    cols = np.arange(n)
    rows_all, cols_all, vals_all = [], [], []
    for s in range(k):
        moved = (out.images[s][:, None] * d_in + inp.images[s][None, :]).ravel()
        rows_all += [s * n + cols, s * n + cols]
        cols_all += [moved, cols]
        vals_all += [np.ones(n), -np.ones(n)]
    if not k:
        return coo_matrix((0, n)).tocsr()
    return coo_matrix(
        (np.concatenate(vals_all), (np.concatenate(rows_all), np.concatenate(cols_all))), shape=(k * n, n)
    ).tocsr()


def nullspace_dimension(out, inp, max_unknowns: int | None = None) -> tuple[int, str]:
    """``d_out d_in - rank`` of the stacked system; ``(value, "exact" | "numerical")``."""
    n = out.degree * inp.degree
    limit = NULLSPACE_NUMERIC_MAX if max_unknowns is None else max_unknowns
    if n > limit:
        raise ProblemTooLargeError(
            f"the nullspace method has {n} unknowns (d_out * d_in), above its limit {limit}; "
            f"a dense rank would need {8 * n * n} bytes; pass max_unknowns= or use method='orbits'"
        )
    system = stacked_system(out, inp)
    if system.shape[0] == 0 or n == 0:
        return n, "exact"
    if n <= NULLSPACE_EXACT_MAX:
        from sympy import QQ
        from sympy.polys.matrices import DomainMatrix

        coo = system.tocoo()
        entries: dict[int, dict[int, int]] = {}
        for r, c, v in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()):
            if v:
                entries.setdefault(r, {})[c] = entries.get(r, {}).get(c, 0) + int(v)
        entries = {r: {c: QQ(v) for c, v in row.items() if v} for r, row in entries.items()}
        entries = {r: row for r, row in entries.items() if row}
        rank = DomainMatrix(entries, system.shape, QQ).rank()
        return n - int(rank), "exact"
    normal = (system.T @ system).toarray()
    eig = np.linalg.eigvalsh(normal)
    tol = eig.max(initial=0.0) * n * np.finfo(float).eps * 10
    return int(np.sum(eig <= max(tol, 1e-9))), "numerical"


def montecarlo(out, inp, samples: int = MONTECARLO_SAMPLES, rng=None) -> tuple[float, float, float]:
    """Estimate E by averaging fix_out(g) fix_in(g) over uniform random g; mean and 95% interval."""
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise EqsolveError(f"montecarlo needs at least 2 samples (an integer), got {str(samples)[:40]}")
    from ._budget import require_memory, require_work

    require_memory(16 * int(samples), f"montecarlo with {samples} samples")
    require_work(int(samples) * (out.degree + inp.degree + SAMPLE_OVERHEAD),
                 f"montecarlo with {samples} samples on {out.degree} + {inp.degree} points")
    rng = np.random.default_rng(rng)
    values = np.empty(samples, dtype=np.float64)
    ar_out, ar_in = np.arange(out.degree), np.arange(inp.degree)
    from ._sampling import joint_sampler

    sampler = joint_sampler([out, inp])
    for t in range(samples):
        g_out, g_in = sampler(rng)
        values[t] = np.count_nonzero(g_out == ar_out) * np.count_nonzero(g_in == ar_in)
    mean = float(values.mean())
    half = 1.96 * float(values.std(ddof=1)) / math.sqrt(samples)
    return mean, mean - half, mean + half
