"""The claims of Maron et al., *On Learning Sets of Symmetric Elements* (ICML 2020),
each checked by independent computations.

>>> from eqsolve import groups
>>> r = lemma1(groups.cyclic(5))
>>> r.predicted, r.agree, [c.method for c in r.computations]
(Fraction(5, 1), True, ['orbits', 'nullspace'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import eqsolve
from eqsolve import Action, ActionMismatchError, EqsolveError, PermutationGroup, groups
from eqsolve._format import abbreviate

from ._combinatorics import bell as bell_number
from ._combinatorics import RENCONTRES_MAX, fixed_point_moment, symmetric_dimension
from ._methods import (
    DEFAULT_MAX_UNKNOWNS,
    LITERAL_CHANNELS_MAX,
    _bytes,
    Limits,
    Skip,
    Work,
    attempt,
    burnside,
    burnside_classes,
    channel_action,
    montecarlo,
    nullspace,
    symmetric_kind,
)
from ._result import ClaimResult, Computation, Results, Skipped, Timer, check

EXACT_METHODS = ("orbits", "burnside", "burnside-classes", "nullspace")


# -- subjects: a group, or a group acting on some other set of points -------------------


@dataclass
class Subject:
    """H given as a group on its points, or as an action of some group (e.g. S_m on [m]^2)."""

    action: Action  # H acting on its d points (the action used for Lemma 1)
    group: PermutationGroup  # the permutation group it induces on those d points
    label: str


def as_subject(H, what: str = "H") -> Subject:
    """The :class:`Subject` the claims work on: a group on its points, or an action's image.

    >>> from eqsolve import groups
    >>> as_subject(groups.symmetric(3).action().tensor(2)).action.degree
    9
    """
    if isinstance(H, Subject):
        return H
    if isinstance(H, PermutationGroup):
        return Subject(H.action(), H, _label(H))
    if isinstance(H, Action):
        image = PermutationGroup(H.images, degree=H.degree, name=f"{_label(H.group)} on {H.name}")
        return Subject(H, image, image.name)
    raise EqsolveError(
        f"{what} must be an eqsolve.PermutationGroup or an Action (e.g. H.action().tensor(2)), "
        f"got {type(H).__name__}"
    )


def _label(group: PermutationGroup) -> str:
    if group.name:
        return group.name
    text = str(group) or "()"
    return text if len(text) <= 60 else text[:57] + "..."


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise EqsolveError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _work(limits, options) -> Work:
    return options.pop("_work", None) or Work(Limits.make(limits, **options))


# -- helpers ----------------------------------------------------------------------------


def _first_dimension(work: Work, out: Action, inp: Action, exclude=()) -> tuple[object, str, list[str]]:
    """E for (out, inp) by the first exact method that applies: (value, method, reasons)."""
    reasons = []
    runners = {
        "orbits": lambda: work.solve_dim(out, inp),
        "burnside": lambda: work.cached("burnside", out, inp, lambda: burnside(out, inp, work.limits)),
        "burnside-classes": lambda: work.cached("classes", out, inp, lambda: burnside_classes(out, inp)),
        "nullspace": lambda: work.cached("nullspace", out, inp, lambda: nullspace(out, inp, work.limits)),
    }
    for method in EXACT_METHODS:
        if method in exclude:
            continue
        comps, skipped = [], []
        value = attempt(method, runners[method], comps, skipped)
        if value is not None:
            return value, method, reasons
        reasons.append(f"{method}: {skipped[0].reason}")
    return None, "", reasons


def _direct(work: Work, out: Action, inp: Action, what: str, comps, skipped, scale: int = 1,
            keep_table: bool = False) -> bool:
    """Solver, Burnside and nullspace on (out, inp) of the big group itself. True if any ran."""
    note = f" times c_in c_out = {scale}" if scale != 1 else ""
    ran = [
        attempt(f"orbits on {what}", lambda: work.solve_dim(out, inp, keep_table=keep_table), comps, skipped,
                note=f"eqsolve.solve on the group itself{note}", scale=scale),
        attempt(f"burnside on {what}", lambda: burnside(out, inp, work.limits), comps, skipped,
                note=f"enumerating the group itself{note}", scale=scale),
        attempt(f"nullspace on {what}", lambda: nullspace(out, inp, work.limits), comps, skipped,
                note=f"rank of the stacked fixed-point system{note}", scale=scale),
    ]
    return any(v is not None for v in ran)


def _factor(n: int) -> int:
    return 2 if n >= 2 else 1


# -- Lemma 1 ----------------------------------------------------------------------------


def lemma1(H=None, *, out: Action | None = None, inp: Action | None = None, limits: Limits | None = None,
           **options) -> ClaimResult:
    """Lemma 1: E(H) = (1/|H|) sum_h tr(P(h))^2 = orbits of H on pairs = nullity of the system.

    Parameters
    ----------
    H:
        A :class:`eqsolve.PermutationGroup`, or an :class:`eqsolve.Action` (for example
        ``symmetric(20).action().tensor(2)``: S_20 on the 400 entries of an adjacency matrix).
    out, inp:
        Instead of ``H``: two actions of one group, for the maps R^{d_in} -> R^{d_out};
        the summand is then fix_out(h) fix_in(h).
    limits, **options:
        :class:`Limits` or its fields (``max_bytes``, ``max_elements``, ``samples``, ``seed``).

    Notes
    -----
    The Burnside sum is evaluated by enumeration (``burnside``), or over conjugacy classes
    (``burnside-classes``, S_m and A_m). When neither can run (a large group), the
    prediction falls back to the solver's orbit count and the sum is *estimated*
    (``montecarlo``); the result's ``fallback`` says so.

    Examples
    --------
    >>> from eqsolve import groups
    >>> lemma1(groups.symmetric(30)).predicted_by.split(":")[0]
    'burnside-classes'
    """
    work = _work(limits, options)
    if H is not None and (out is not None or inp is not None):
        raise EqsolveError("pass either H or out=/inp= actions to lemma1, not both")
    if H is None:
        if out is None or inp is None:
            raise EqsolveError("lemma1 needs a group H, or both out= and inp= actions")
        for name, a in (("out", out), ("inp", inp)):
            if not isinstance(a, Action):
                raise EqsolveError(f"{name}= must be an eqsolve Action, got {type(a).__name__}")
        if out.group is not inp.group and out.group != inp.group:
            raise ActionMismatchError(
                f"out= and inp= are actions of different groups ({_label(out.group)} with "
                f"{out.group.ngens} generators on {out.group.degree} points, and {_label(inp.group)} with "
                f"{inp.group.ngens} generators on {inp.group.degree} points); both must act through the same group"
            )
        label = f"{_label(out.group)}: {out.name} -> {inp.name}"
    else:
        subject = as_subject(H)
        out = inp = subject.action
        label = subject.label
    return _lemma1(work, out, inp, label)


def _lemma1(work: Work, out: Action, inp: Action, label: str) -> ClaimResult:
    limits = work.limits
    group = out.group
    order = group.order()
    same = out is inp
    comps, skipped = [], []
    with Timer() as t:
        attempt("burnside", lambda: work.cached("burnside", out, inp, lambda: burnside(out, inp, limits)),
                comps, skipped, note=f"(1/|H|) sum over all {order} elements")
        enumerated = bool(comps)
        if symmetric_kind(group) or not enumerated:
            attempt("burnside-classes", lambda: work.cached("classes", out, inp, lambda: burnside_classes(out, inp)),
                    comps, skipped, note="the same sum over conjugacy classes (cycle types), one element each")
        exact_burnside = [c for c in comps if c.method.startswith("burnside")]
        attempt("orbits", lambda: work.solve_dim(out, inp), comps, skipped, note="eqsolve.solve: orbits on pairs")
        attempt("nullspace", lambda: work.cached("nullspace", out, inp, lambda: nullspace(out, inp, limits)), comps, skipped,
                note="unknowns minus the rank of the stacked system (P(g) (x) P(g) - I)")
        fallback = ""
        if exact_burnside:
            chosen = exact_burnside[0]
        else:
            exact = [c for c in comps if c.exact]
            chosen = exact[0] if exact else None
            reasons = "; ".join(f"{s.method}: {s.reason}" for s in skipped if s.method.startswith("burnside"))
            attempt("montecarlo", lambda: montecarlo(out, inp, limits), comps, skipped, exact=False)
            fallback = ("the exact Burnside sum could not be evaluated (" + reasons + "); the prediction is the "
                        "solver's orbit count and the sum is estimated from random elements instead")
    if chosen is not None:
        comps.remove(chosen)
        predicted, predicted_by = chosen.value, f"{chosen.method}: {chosen.note}"
    else:
        predicted, predicted_by = None, "no exact method could run"
    if same:
        statement = (f"E(H) = (1/|H|) sum_h tr(P(h))^2 = {_fmt(predicted)} = number of orbits of H on pairs of points "
                     f"= dimension of the H-equivariant maps R^{out.degree} -> R^{out.degree}, for H = {label} "
                     f"(|H| = {abbreviate(order)})")
        explanation = ("A linear layer that commutes with every symmetry in H has E(H) free weights: the average of "
                       "(number of fixed points)^2 over H, which is also the number of orbits of H on index pairs.")
    else:
        statement = (f"E = (1/|G|) sum_g fix_out(g) fix_in(g) = {_fmt(predicted)} = dimension of the equivariant maps "
                     f"R^{inp.degree} -> R^{out.degree} for {label} (|G| = {abbreviate(order)})")
        explanation = ("Between two actions, the Burnside average of fix_out(g) fix_in(g) counts the orbits on "
                       "(output, input) pairs, one free weight each.")
    return check("Lemma 1", statement, predicted, comps, skipped, predicted_by=predicted_by, fallback=fallback,
                 explanation=explanation, setting={"group": label, "degree_out": out.degree, "degree_in": inp.degree,
                                                  "order": str(order)}, seconds=t.seconds)


# -- E(S_n) ----------------------------------------------------------------------------


def symmetric(n: int, *, limits: Limits | None = None, **options) -> ClaimResult:
    """E(S_n) = 2 for n >= 2 (1 for n = 1): the DeepSets layer a I + b 11^T.

    Exact by the rencontres numbers for any n (no enumeration), checked against the
    solver on ``groups.symmetric(n)``, the class sum and (small n) the Burnside enumeration.

    >>> r = symmetric(1000)
    >>> r.agree, r.computations[0].method, r.computations[0].value
    (True, 'rencontres', Fraction(2, 1))
    """
    work = _work(limits, options)
    return _symmetric(work, _positive(n, "n"))


def _symmetric(work: Work, n: int) -> ClaimResult:
    S = groups.symmetric(n)
    rho = S.action()
    comps, skipped = [], []
    with Timer() as t:
        attempt("rencontres", lambda: symmetric_dimension(n), comps, skipped,
                note="(1/n!) sum_k D(n,k) k^2, D(n,k) = C(n,k) !(n-k) permutations with k fixed points")
        attempt("orbits", lambda: work.solve_dim(rho, rho), comps, skipped, note=f"eqsolve.solve on symmetric({n})")
        attempt("burnside", lambda: burnside(rho, rho, work.limits), comps, skipped,
                note=f"enumerating all {n}! elements")
        attempt("burnside-classes", lambda: burnside_classes(rho, rho), comps, skipped,
                note="sum over the cycle types of S_n")
    predicted = _factor(n)
    return check(
        "E(S_n)",
        f"E(S_{n}) = {predicted}: the S_{n}-equivariant maps R^{n} -> R^{n} are "
        + ("a I + b 11^T" if n >= 2 else "multiples of the identity (n = 1)"),
        predicted, comps, skipped,
        predicted_by="the claim (2 for n >= 2, 1 for n = 1)",
        explanation="A permutation-equivariant layer on a set has two weights: one for the element itself, one "
                    "for the sum over all elements (DeepSets).",
        setting={"n": n}, seconds=t.seconds,
    )


# -- Theorem 1 --------------------------------------------------------------------------


def theorem1(H, n: int, *, limits: Limits | None = None, **options) -> Results:
    """Theorem 1 for G = S_n x H on [n] x [d]: three results.

    1. ``E(S_n)`` (see :func:`symmetric`);
    2. ``Theorem 1``: E(S_n x H) = E(S_n) E(H) (= 2 E(H) for n >= 2, E(H) for n = 1),
       computed on the product group ``groups.sets_of(H, n)`` itself (solver, Burnside,
       nullspace, as far as each reaches) and by multiplying E(S_n) (rencontres) with
       E(H) by a second method;
    3. ``Theorem 1: DSS form``: the orbit basis of S_n x H is exactly
       {I_n (x) B_k, (11^T - I_n) (x) B_k}, checked structurally on the solver's
       ``orbit_index`` table and, for small cases, by rank.

    >>> from eqsolve import groups
    >>> [r.agree for r in theorem1(groups.cyclic(4), 3)]
    [True, True, True]
    """
    n = _positive(n, "n")
    subject = as_subject(H)
    work = _work(limits, options)
    results = Results([_symmetric(work, n)])
    results.extend(_theorem1(work, subject, n))
    return results


def _theorem1(work: Work, subject: Subject, n: int) -> list[ClaimResult]:
    rho = subject.action
    d = rho.degree
    G = groups.sets_of(subject.group, n)
    rho_g = G.action()
    what = f"S_{n} x H"
    comps, skipped = [], []
    with Timer() as t:
        e_h, h_method, h_reasons = _first_dimension(work, rho, rho)
        direct = _direct(work, rho_g, rho_g, what, comps, skipped, keep_table=True)
        if e_h is not None:
            attempt("factorised product group", lambda: factorised_structure(G, n, work.table_h(rho)), comps, skipped,
                    note="G's own generators split as (sigma, 1) / (1, h); orbits on pairs of each factor solved "
                         "and multiplied")
        second, second_method, _ = _first_dimension(work, rho, rho, exclude=(h_method,))
        if second is not None:
            e_s = symmetric_dimension(n)
            comps.append(Computation(
                f"rencontres x {second_method}", e_s * second, exact=True, seconds=0.0,
                note=f"multiplying: E(S_{n}) = {_fmt(e_s)} by rencontres times E(H) = {_fmt(second)} by {second_method} on H",
            ))
        else:
            skipped.append(Skipped("multiplying", "no second exact method for E(H) applies"))
    fallback = ""
    if not direct:
        fallback = (f"the product group S_{n} x H on {n * d} points is too large for the solver, the Burnside sum "
                    "and the nullspace (see skipped); it is checked by multiplying only")
    predicted = None if e_h is None else _factor(n) * e_h
    dim_result = check(
        "Theorem 1",
        f"E(S_{n} x H) = E(S_{n}) E(H) = {_factor(n)} x {_fmt(e_h)} = {_fmt(predicted)} for H = {subject.label} "
        f"on {d} points, G = S_{n} x H on {n} x {d} = {n * d} points",
        predicted, comps, skipped,
        predicted_by=(f"{_factor(n)} x E(H), E(H) by {h_method} on H" if e_h is not None
                      else "E(H) could not be computed: " + "; ".join(h_reasons)),
        fallback=fallback,
        explanation=("A layer on a set of n elements with symmetry H has twice the weights of an H-layer: one "
                     "H-layer for the element itself and one for the sum over the set." if n >= 2 else
                     "With one element, S_1 is trivial and the layer is just an H-layer."),
        setting={"group": subject.label, "n": n, "degree": d}, seconds=t.seconds,
    )
    dss_result = _dss(work, subject, n, G, e_h, h_method)
    work.release()
    return [dim_result, dss_result]


def dss_structure(table, h_table, n: int):
    """Check that ``table`` (orbit_index of S_n x H on [n] x [d], point i*d + p) is exactly
    the DSS pattern built from ``h_table`` (orbit_index of H): entry ((i,p),(j,q)) lies in
    the orbit of B_k[p, q] on the diagonal blocks (I_n (x) B_k) and in a second, distinct
    orbit off the diagonal ((11^T - I_n) (x) B_k), one-to-one.

    Returns the number of basis matrices (2 E(H), or E(H) for n = 1) when the pattern
    matches exactly, else a string saying where it fails.

    >>> import eqsolve
    >>> H = eqsolve.groups.cyclic(3)
    >>> G = eqsolve.groups.sets_of(H, 2)
    >>> dss_structure(eqsolve.solve(G).orbit_index, eqsolve.solve(H).orbit_index, 2)
    6
    >>> dss_structure(eqsolve.solve(H).orbit_index, eqsolve.solve(H).orbit_index, 1)
    3
    """
    T = np.asarray(table)
    B = np.asarray(h_table, dtype=np.int64)
    n = _positive(n, "n")
    if B.ndim != 2 or B.shape[0] != B.shape[1]:
        raise EqsolveError(f"H's table must be square, got shape {B.shape}")
    d = B.shape[0]
    if T.shape != (n * d, n * d):
        return f"mismatch: the table has shape {T.shape}, expected ({n * d}, {n * d}) for n = {n}, d = {d}"
    if d == 0:
        return 0
    e = int(B.max()) + 1
    kinds = 2 if n >= 2 else 1
    mapping = np.full(kinds * e, -1, dtype=np.int64)
    for kind, (i, j) in enumerate([(0, 0), (0, 1)][:kinds]):
        block = T[i * d:(i + 1) * d, j * d:(j + 1) * d]
        mapping[B + kind * e] = block
        if not np.array_equal(mapping[B + kind * e], block):
            return (f"mismatch: block ({i}, {j}) is finer than H's table (one B_k meets several orbits of "
                    "S_n x H)")
    if len(np.unique(mapping)) != kinds * e:
        return "mismatch: two DSS basis matrices lie in one orbit of S_n x H (the table is coarser)"
    dim = int(T.max()) + 1
    if dim != kinds * e:
        return f"mismatch: S_n x H has {dim} orbits on pairs, the DSS form has {kinds * e} basis matrices"
    diagonal = mapping[B]
    off = mapping[B + e] if n >= 2 else None
    for i in range(n):
        for j in range(n):
            block = T[i * d:(i + 1) * d, j * d:(j + 1) * d]
            if not np.array_equal(block, diagonal if i == j else off):
                return f"mismatch: block ({i}, {j}) differs from the DSS pattern"
    return kinds * e


def dss_structure_rows(basis, h_table, n: int):
    """:func:`dss_structure` on the compact form: only the rows of the solver's table at the
    roots of the output orbits of S_n x H (one per orbit, all in block 0).

    Both the solver's table and the DSS pattern are invariant under S_n x H, and an invariant
    table is determined by its rows at one point of each output orbit (every other row is a
    gather along the Schreier forest); so equal root rows, with one consistent relabelling,
    mean equal tables. Cost: (output orbits) x n d entries.

    >>> import eqsolve
    >>> H = eqsolve.groups.cyclic(3)
    >>> dss_structure_rows(eqsolve.solve(eqsolve.groups.sets_of(H, 4)), eqsolve.solve(H).orbit_index, 4)
    6
    """
    B = np.asarray(h_table, dtype=np.int64)
    n = _positive(n, "n")
    d = B.shape[0]
    if basis.shape != (n * d, n * d):
        return f"mismatch: the basis has shape {basis.shape}, expected ({n * d}, {n * d}) for n = {n}, d = {d}"
    if d == 0:
        return 0
    e = int(B.max()) + 1
    kinds = 2 if n >= 2 else 1
    mapping = np.full(kinds * e, -1, dtype=np.int64)
    roots = np.asarray(basis.roots)
    if np.any(roots >= d):
        return "mismatch: an output orbit of S_n x H misses the first element's block"
    for r, row in zip(roots.tolist(), basis.root_rows):
        blocks = np.asarray(row, dtype=np.int64).reshape(n, d)
        for kind in range(kinds):
            want = B[r] + kind * e
            got = blocks[0] if kind == 0 else blocks[1]
            known = mapping[want] >= 0
            if np.any(mapping[want][known] != got[known]):
                return f"mismatch: row {r}, block {kind}: one B_k meets several orbits of S_n x H"
            mapping[want[~known]] = got[~known]
            if not np.array_equal(mapping[want], got):
                return f"mismatch: row {r}, block {kind} is finer than H's table"
        if n >= 2 and np.any(blocks[1:] != blocks[1]):
            return f"mismatch: row {r}: the off-diagonal blocks differ"
    if np.any(mapping < 0) or len(np.unique(mapping)) != kinds * e:
        return "mismatch: two DSS basis matrices lie in one orbit of S_n x H (the table is coarser)"
    if basis.dim != kinds * e:
        return f"mismatch: S_n x H has {basis.dim} orbits on pairs, the DSS form has {kinds * e} basis matrices"
    return kinds * e


def dss_matrices(h_table, n: int) -> np.ndarray:
    """The DSS basis as a dense ``(count, n d, n d)`` int8 array: I_n (x) B_k for each k,
    then (11^T - I_n) (x) B_k (omitted for n = 1, where it is zero)."""
    B = np.asarray(h_table, dtype=np.int64)
    e = int(B.max()) + 1 if B.size else 0
    onehot = (B[None, :, :] == np.arange(e)[:, None, None]).astype(np.int8)
    eye = np.eye(n, dtype=np.int8)
    parts = [np.kron(eye, onehot[k]) for k in range(e)]
    if n >= 2:
        off = np.ones((n, n), dtype=np.int8) - eye
        parts += [np.kron(off, onehot[k]) for k in range(e)]
    d = B.shape[0]
    return np.stack(parts) if parts else np.zeros((0, n * d, n * d), dtype=np.int8)


def dss_rank_check(G: PermutationGroup, h_table, n: int, max_unknowns: int = DEFAULT_MAX_UNKNOWNS):
    """The DSS matrices are equivariant for every generator of G, linearly independent, and as
    many as the nullity of G's fixed-point system (so they span it). Returns their number when
    all three hold, else a string saying which fails."""
    mats = dss_matrices(h_table, n)
    N = G.degree
    if N * N > max_unknowns:
        raise Skip(f"the rank check is for small cases: {N}^2 = {N * N} unknowns > {max_unknowns}")
    bad = 0
    for g in G.generators:
        moved = mats[:, g][:, :, g]  # (P M P^T)[g(i), g(j)] = M[i, j]  <=>  M[g][:, g] == M
        bad += int(np.count_nonzero(np.any(moved != mats, axis=(1, 2))))
    if bad:
        return f"mismatch: {bad} (matrix, generator) pairs violate equivariance"
    flat = mats.reshape(len(mats), -1).astype(np.float64)
    rank = int(np.linalg.matrix_rank(flat)) if len(mats) else 0
    if rank != len(mats):
        return f"mismatch: the {len(mats)} DSS matrices have rank {rank} (dependent)"
    nullity = eqsolve.count(G, method="nullspace", max_unknowns=max_unknowns)
    if nullity != rank:
        return f"mismatch: the DSS matrices span {rank} dimensions, the fixed-point system has nullity {nullity}"
    return rank


def factorised_structure(G: PermutationGroup, n: int, h_table) -> int | str:
    """Certificate of the DSS form from the product group's own generators, without its table.

    Checks that every generator of G (on [n] x [d], point i*d + p) acts as (sigma, 1) or
    (1, h); then G = <sigmas> x <hs> acting coordinatewise, so its orbits on pairs are the
    products of the orbits of <sigmas> on [n]^2 and of <hs> on [d]^2. Both are solved: the
    first must be {diagonal, off-diagonal} (just the diagonal for n = 1), the second must
    be H's table ``h_table``. Returns the number of orbits (2 E(H), or E(H)), else a
    string saying what fails. Cost O(n d) plus the two small solves.

    >>> import eqsolve
    >>> H = eqsolve.groups.dihedral(5)
    >>> factorised_structure(eqsolve.groups.sets_of(H, 30), 30, eqsolve.solve(H).orbit_index)
    6
    """
    B = np.asarray(h_table)
    d = B.shape[0]
    _check_product_structure(G, n, d)
    g = G.generators.reshape(G.ngens, n, d)
    sigmas = g[:, :, 0] // d
    hs = g[:, 0, :] % d
    moves_blocks = np.any(sigmas != np.arange(n), axis=1)
    moves_points = np.any(hs != np.arange(d), axis=1)
    if np.any(moves_blocks & moves_points):
        raise Skip("a generator moves both the elements and their points; this check needs generators of the "
                   "form (sigma, 1) or (1, h)")
    S = PermutationGroup(sigmas[moves_blocks], degree=n)
    K = PermutationGroup(hs[moves_points], degree=d)
    s_table = eqsolve.solve(S).orbit_index
    eye = np.eye(n, dtype=bool)
    diagonal = s_table[eye]
    off = s_table[~eye]
    if np.any(diagonal != diagonal[0]) or (n >= 2 and (np.any(off != off[0]) or off[0] == diagonal[0])):
        return (f"mismatch: the element permutations of G have {eqsolve.solve(S).dim} orbits on pairs of elements, "
                "not the two (diagonal, off-diagonal) of S_n")
    k_basis = eqsolve.solve(K)
    if not np.array_equal(k_basis.orbit_index, B):
        return "mismatch: the point permutations of G generate a group whose table differs from H's"
    return _factor(n) * k_basis.dim


def _dss(work: Work, subject: Subject, n: int, G: PermutationGroup, e_h, h_method) -> ClaimResult:
    rho = subject.action
    rho_g = G.action()
    comps, skipped = [], []
    with Timer() as t:
        def structural():
            basis_g = work.table(rho_g, rho_g)
            return dss_structure_rows(basis_g, work.table_h(rho), n)

        full = attempt("structure of orbit_index", structural, comps, skipped,
                       note="the solver's table of S_n x H (compact form: its rows at the output-orbit roots, "
                            "which determine it), block by block, against I_n (x) B_k and (11^T - I_n) (x) B_k")
        attempt("factorised structure", lambda: factorised_structure(G, n, work.table_h(rho)),
                comps, skipped, note="G's generators act as (sigma, 1) or (1, h): orbits on pairs = (orbits of the "
                                     "sigmas on [n]^2, solved) x (orbits of the hs on [d]^2, solved)")

        def by_rank():
            limit = work.limits.max_unknowns
            if G.degree ** 2 > limit:
                raise Skip(f"for small cases only: {G.degree}^2 = {G.degree ** 2} unknowns > {limit} (max_unknowns)")
            return dss_rank_check(G, work.table_h(rho), n, limit)

        attempt("rank", by_rank, comps, skipped,
                note="each DSS matrix is equivariant, they are independent, and their number is the nullity")
    predicted = None if e_h is None else _factor(n) * e_h
    fallback = "" if full is not None else (
        f"the full {G.degree} x {G.degree} table of S_{n} x H is too large (see skipped); the structure is certified "
        "from the group's generators and the solved tables of its two factors")
    return check(
        "Theorem 1: DSS form",
        f"every S_{n} x H-equivariant layer is L(X)_i = L1(x_i) + L2(sum_j x_j): the basis of S_{n} x H is exactly "
        f"{{I_n (x) B_k, (11^T - I_n) (x) B_k}} over the E(H) = {_fmt(e_h)} basis matrices B_k of H"
        + (" (n = 1: only I_1 (x) B_k)" if n == 1 else ""),
        predicted, comps, skipped,
        predicted_by=f"{_factor(n)} x E(H) basis matrices of the DSS form, E(H) by {h_method}", fallback=fallback,
        explanation="Not only the count: the weight-sharing pattern of the big layer is an H-layer on the diagonal "
                    "blocks and another H-layer, shared by all off-diagonal blocks.",
        setting={"group": subject.label, "n": n, "degree": rho.degree}, seconds=t.seconds,
    )


# -- generalizations --------------------------------------------------------------------


def block_action(G: PermutationGroup, n: int, d: int) -> Action:
    """The action of G = S_n x H (points i*d + p) on the n elements (blocks): outputs in R^n."""
    _check_product_structure(G, n, d)
    images = G.generators.reshape(G.ngens, n, d)[:, :, 0] // d if G.ngens else np.zeros((0, n), np.int64)
    return Action(G, images, recipe=lambda g: np.asarray(g)[::d] // d, name=f"{n} elements")


def element_action(G: PermutationGroup, n: int, d: int) -> Action:
    """The action of G = S_n x H on [d] through its H factor: outputs in R^d (merging)."""
    _check_product_structure(G, n, d)
    images = G.generators[:, :d] % d if G.ngens else np.zeros((0, d), np.int64)
    return Action(G, images, recipe=lambda g: np.asarray(g)[:d] % d, name=f"{d} element points")


def _check_product_structure(G: PermutationGroup, n: int, d: int) -> None:
    if G.degree != n * d or d == 0:
        raise EqsolveError(f"expected S_n x H on n*d = {n}*{d} points, got a group of degree {G.degree}")
    g = G.generators.reshape(G.ngens, n, d)
    blocks, inner = g // d, g % d
    if not (np.all(blocks == blocks[:, :, :1]) and np.all(inner == inner[:, :1, :])):
        raise EqsolveError("the group does not act as S_n x H on [n] x [d] (generators mix blocks and points)")


def generalizations(H, n: int, in_channels: int = 1, out_channels: int = 1, *, limits: Limits | None = None,
                    **options) -> Results:
    """Section A of the supplement, with c_in -> c_out channels, for G = S_n x H:

    ========== ===================== ==================================
    row        maps                  predicted dimension
    ========== ===================== ==================================
    equivariant R^{n x d} -> R^{n x d} 2 c_in c_out E(H)  (E(H) for n = 1)
    invariant   R^{n x d} -> R         c_in c_out o(H)
    selection   R^{n x d} -> R^n       2 c_in c_out o(H)  (o(H) for n = 1)
    merging     R^{n x d} -> R^d       c_in c_out E(H)
    ========== ===================== ==================================

    o(H) is the number of orbits of H on its points. Each prediction is compared with the
    solver's dimension for that pair of actions of S_n x H (times channels), the Burnside
    sum and the nullspace where they reach, and, for small tables, a solve with explicit
    channel actions (c fixed points, product action).

    >>> from eqsolve import groups
    >>> [r.predicted for r in generalizations(groups.cyclic(4), 3, 2, 5)]
    [80, 10, 20, 40]
    """
    n = _positive(n, "n")
    c_in = _positive(in_channels, "in_channels")
    c_out = _positive(out_channels, "out_channels")
    subject = as_subject(H)
    work = _work(limits, options)
    return Results(_generalizations(work, subject, n, c_in, c_out))


def _generalizations(work: Work, subject: Subject, n: int, c_in: int, c_out: int) -> list[ClaimResult]:
    rho = subject.action
    d = rho.degree
    if d == 0:
        raise EqsolveError("the generalizations need H on at least one point")
    G = groups.sets_of(subject.group, n)
    rho_g = G.action()
    c = c_in * c_out
    e_h, h_method, h_reasons = _first_dimension(work, rho, rho)
    o_h = len(subject.group.orbits())
    k = _factor(n)
    rows = [
        ("equivariant", f"R^({n}x{d}) -> R^({n}x{d})", rho_g, None if e_h is None else k * e_h,
         f"{k} c_in c_out E(H)" if n >= 2 else "c_in c_out E(H) (n = 1)",
         "the DSS layer itself: set in, set out"),
        ("invariant", f"R^({n}x{d}) -> R", G.trivial(), o_h, "c_in c_out o(H)",
         "one number per set (classification): one weight per orbit of H on points"),
        ("selection", f"R^({n}x{d}) -> R^{n}", block_action(G, n, d), k * o_h,
         f"{k} c_in c_out o(H)" if n >= 2 else "c_in c_out o(H) (n = 1)",
         "one score per element (pick an element of the set)"),
        ("merging", f"R^({n}x{d}) -> R^{d}", element_action(G, n, d), None if e_h is None else e_h,
         "c_in c_out E(H)", "one H-structured output from the whole set (e.g. denoise a burst of images into one)"),
    ]
    results = []
    for name, maps, out, base, formula, purpose in rows:
        comps, skipped = [], []
        with Timer() as t:
            direct = _direct(work, out, rho_g, f"S_{n} x H", comps, skipped, scale=c)
            if c > 1:
                entries = c_out * out.degree * c_in * rho_g.degree
                if entries <= LITERAL_CHANNELS_MAX:
                    attempt("orbits with channel actions",
                            lambda: work.solve_dim(channel_action(G, c_out) * out, channel_action(G, c_in) * rho_g),
                            comps, skipped, note=f"solver on ({c_out} channels x out) and ({c_in} channels x in)")
                else:
                    skipped.append(Skipped("orbits with channel actions",
                                            f"{entries} table entries > {LITERAL_CHANNELS_MAX} (the channel factor is "
                                            "applied to the solver's count instead)"))
            fallback = ""
            if not direct and name == "equivariant":
                second, second_method, _ = _first_dimension(work, rho, rho, exclude=(h_method,))
                if second is not None:
                    comps.append(Computation(
                        f"rencontres x {second_method}", symmetric_dimension(n) * second * c, exact=True, seconds=0.0,
                        note=f"E(S_{n}) by rencontres times E(H) by {second_method} times {c}"))
                fallback = (f"S_{n} x H on {n * d} points is too large for the direct methods (see skipped); "
                            "checked by multiplying")
        predicted = None if base is None else c * base
        results.append(check(
            f"Generalization: {name}",
            f"{maps} with {c_in} -> {c_out} channels: dimension {formula} = {_fmt(predicted)} "
            f"(E(H) = {_fmt(e_h)}, o(H) = {o_h}, H = {subject.label})",
            predicted, comps, skipped,
            predicted_by=f"{formula} with E(H) by {h_method or 'none: ' + '; '.join(h_reasons)}, "
                         "o(H) from H's orbits on points",
            fallback=fallback, explanation=f"{purpose}.",
            setting={"group": subject.label, "n": n, "degree": d, "in_channels": c_in, "out_channels": c_out,
                     "maps": maps}, seconds=t.seconds,
        ))
    work.release()
    return results


# -- products ---------------------------------------------------------------------------


def products(*factors, limits: Limits | None = None, **options) -> ClaimResult:
    """E(G1 x ... x Gm) = E(G1) ... E(Gm) for the product action on [d1] x ... x [dm].

    >>> from eqsolve import groups
    >>> products(groups.symmetric(5), groups.symmetric(4)).predicted
    4
    """
    if len(factors) == 1 and isinstance(factors[0], (list, tuple)):
        factors = tuple(factors[0])
    if not factors:
        raise EqsolveError("products needs at least one group")
    subjects = [as_subject(f, f"factor {i}") for i, f in enumerate(factors)]
    work = _work(limits, options)
    return _products(work, subjects)


def _products(work: Work, subjects: list[Subject]) -> ClaimResult:
    degree = math.prod(s.action.degree for s in subjects)
    comps, skipped = [], []
    with Timer() as t:
        firsts = [_first_dimension(work, s.action, s.action) for s in subjects]
        too_big = _too_big_for_direct(work.limits, degree, lambda: math.prod(s.group.order() for s in subjects))
        if too_big:
            skipped.extend(Skipped(f"{m} on the product group", r) for m, r in too_big)
            direct = False
        else:
            G = groups.product_action(*[s.group for s in subjects])
            rho_g = G.action()
            direct = _direct(work, rho_g, rho_g, "the product group", comps, skipped)
        seconds = [_first_dimension(work, s.action, s.action, exclude=(f[1],)) for s, f in zip(subjects, firsts)]
        if all(v is not None for v, _, _ in seconds):
            comps.append(Computation(
                "product of factors by a second method", math.prod(v for v, _, _ in seconds), exact=True, seconds=0.0,
                note="E(Gi) by " + ", ".join(m for _, m, _ in seconds)))
        else:
            skipped.append(Skipped("product of factors by a second method",
                                    "some factor has no second exact method"))
    values = [v for v, _, _ in firsts]
    predicted = None if any(v is None for v in values) else math.prod(values)
    labels = " x ".join(s.label for s in subjects)
    fallback = "" if direct else (f"the product group on {degree} points is too large for the direct methods "
                                  "(see skipped); checked by multiplying the factors' dimensions found another way")
    return check(
        "Products",
        f"E({labels}) = " + " x ".join(_fmt(v) for v in values) + f" = {_fmt(predicted)} for the product action "
        f"on " + " x ".join(f"[{s.action.degree}]" for s in subjects) + f" = {degree} points",
        predicted, comps, skipped,
        predicted_by="product of E(Gi), each by " + ", ".join(m or "none" for _, m, _ in firsts),
        fallback=fallback,
        explanation="Independent symmetries of separate axes multiply their weight counts (S_n x S_m on an n x m "
                    "matrix: 2 x 2 = 4 weights, the exchangeable-matrix layer).",
        setting={"groups": [s.label for s in subjects], "degree": degree}, seconds=t.seconds,
    )


def _too_big_for_direct(limits: Limits, degree: int, order) -> list[tuple[str, str]] | None:
    """Reasons why every direct method would refuse a group of this degree (None if one may run),
    decided from sizes alone so that a huge group is never built just to be refused."""
    table = degree * degree * 4
    if table <= limits.max_bytes or degree * degree <= limits.max_unknowns:
        return None
    size = order()
    if size <= limits.max_elements:
        return None
    return [
        ("orbits", f"the {degree} x {degree} orbit table would need {_bytes(table)}, above the limit "
                   f"{_bytes(limits.max_bytes)} (raise max_bytes= / --max-memory)"),
        ("burnside", f"the Burnside sum would enumerate {abbreviate(size)} elements (limit {limits.max_elements})"),
        ("nullspace", f"{degree * degree} unknowns, above the limit {limits.max_unknowns} (max_unknowns)"),
    ]


# -- wreath -----------------------------------------------------------------------------


def wreath(H, n: int, *, limits: Limits | None = None, **options) -> ClaimResult:
    """Each element its own symmetry: H wr S_n on [n] x [d] has E(H) + o(H)^2 for n >= 2.

    >>> from eqsolve import groups
    >>> wreath(groups.cyclic(4), 3).predicted
    5
    """
    n = _positive(n, "n")
    subject = as_subject(H)
    work = _work(limits, options)
    return _wreath(work, subject, n)


def _wreath(work: Work, subject: Subject, n: int) -> ClaimResult:
    rho = subject.action
    d = rho.degree
    G = groups.wreath(subject.group, n)
    rho_g = G.action()
    comps, skipped = [], []
    with Timer() as t:
        e_h, h_method, h_reasons = _first_dimension(work, rho, rho)
        o_h = len(subject.group.orbits())
        direct = _direct(work, rho_g, rho_g, f"H wr S_{n}", comps, skipped)
        fallback = ""
        if not direct:
            attempt("montecarlo", lambda: montecarlo(rho_g, rho_g, work.limits), comps, skipped, exact=False)
            fallback = (f"H wr S_{n} on {n * d} points is too large for the direct methods (see skipped); "
                        "only a Monte Carlo estimate of the Burnside sum was possible")
    predicted = None if e_h is None else (e_h + o_h**2 if n >= 2 else e_h)
    return check(
        "Wreath",
        f"H wr S_{n} (each of the {n} elements transformed by its own h in H, then reordered): E = "
        + (f"E(H) + o(H)^2 = {_fmt(e_h)} + {o_h}^2" if n >= 2 else "E(H)") + f" = {_fmt(predicted)}, "
        f"H = {subject.label}",
        predicted, comps, skipped,
        predicted_by=f"E(H) by {h_method or 'none: ' + '; '.join(h_reasons)}, o(H) from H's orbits on points",
        fallback=fallback,
        explanation="If every element may be transformed independently, only H-invariant information may pass "
                    "between elements: an H-layer on the diagonal and one weight per pair of H-orbits elsewhere.",
        setting={"group": subject.label, "n": n, "degree": d}, seconds=t.seconds,
    )


# -- Bell numbers -----------------------------------------------------------------------


def bell(max_order: int = 6, m: int | None = None, *, limits: Limits | None = None, **options) -> Results:
    """Bonus: S_m acting on [m]^k and [m]^l has Bell(k + l) equivariant maps once m >= k + l.

    One result per r = k + l in 1..max_order, checking every split (k, l) with the
    solver, plus the fixed-point moment E[F^r] from the rencontres numbers and the
    class sum. ``m`` defaults to r (the smallest m where Bell(r) holds); with m < r the
    prediction is the number of set partitions of r items into at most m blocks.

    >>> [r.predicted for r in bell(4)]
    [1, 2, 5, 15]
    """
    max_order = _positive(max_order, "max_order")
    if max_order > 8:
        raise EqsolveError(f"max_order must be <= 8 (tables of m^r entries), got {max_order}")
    if m is not None:
        m = _positive(m, "m")
    work = _work(limits, options)
    return Results(_bell(work, r, m if m is not None else r) for r in range(1, max_order + 1))


def _bell(work: Work, r: int, m: int) -> ClaimResult:
    S = groups.symmetric(m)
    rho = S.action()
    comps, skipped = [], []
    with Timer() as t:
        attempt("fixed-point moment", lambda: fixed_point_moment(m, r), comps, skipped,
                note=f"(1/m!) sum_j D(m,j) j^{r}: a permutation fixes F^k points of [m]^k")
        for k in range(r + 1):
            attempt(f"orbits k={k} -> l={r - k}", lambda k=k: work.solve_dim(rho.tensor(r - k), rho.tensor(k)),
                    comps, skipped, note=f"eqsolve.solve for S_{m}: [m]^{k} -> [m]^{r - k}")
        half = r // 2
        attempt(f"burnside-classes k={half} -> l={r - half}",
                lambda: burnside_classes(rho.tensor(r - half), rho.tensor(half)), comps, skipped,
                note="sum over the cycle types of S_m")
    predicted = bell_number(r, blocks=m)
    return check(
        "Bell",
        f"S_{m} on [m]^k -> [m]^l with k + l = {r}: dimension "
        + (f"Bell({r}) = {predicted} (m = {m} >= {r})" if m >= r else
           f"sum_(j <= {m}) S({r}, j) = {predicted} (m = {m} < {r}: partitions into at most m blocks)"),
        predicted, comps, skipped,
        predicted_by="set partitions of the k + l indices (Stirling numbers of the second kind)",
        explanation="For higher-order layers on sets (graphs are order 2) the weights are indexed by the ways to "
                    "tie the k + l indices into equal groups.",
        setting={"m": m, "k+l": r}, seconds=t.seconds,
    )


# -- everything -------------------------------------------------------------------------


# The claims checked for one group H and set size n, in order: the one sequence that
# ``verify`` and the paper suite iterate. Each entry: (key, claim results for (work, subject,
# n, c_in, c_out)).
CLAIMS = (
    ("lemma1", lambda work, s, n, c_in, c_out: [_lemma1(work, s.action, s.action, s.label)]),
    ("symmetric", lambda work, s, n, c_in, c_out: [_symmetric(work, n)]),
    ("theorem1", lambda work, s, n, c_in, c_out: _theorem1(work, s, n)),
    ("generalizations", lambda work, s, n, c_in, c_out: _generalizations(work, s, n, c_in, c_out)),
    ("wreath", lambda work, s, n, c_in, c_out: [_wreath(work, s, n)]),
    ("products", lambda work, s, n, c_in, c_out: [_products(work, [s, s])]),
)


def check_claims(work: Work, subject: Subject, n: int, c_in: int, c_out: int, leave_out=(), bar=None) -> Results:
    """Every claim of :data:`CLAIMS` except the keys in ``leave_out``, for one subject;
    ``bar`` (a progress bar) advances by one per entry."""
    unknown = set(leave_out) - {key for key, _ in CLAIMS}
    if unknown:
        raise EqsolveError(f"unknown claim(s) {sorted(unknown)}; known: {', '.join(k for k, _ in CLAIMS)}")
    results = Results()
    for key, run in CLAIMS:
        if key in leave_out:
            continue
        if bar is not None:
            bar.set_postfix_str(key)
        results.extend(run(work, subject, n, c_in, c_out))
        if bar is not None:
            bar.update(1)
    return results


def verify(H, n: int, in_channels: int = 1, out_channels: int = 1, *, wreath: bool = True,
           products: bool = True, limits: Limits | None = None, progress: bool | None = None,
           **options) -> Results:
    """Every claim for one group H and set size n: Lemma 1, E(S_n), Theorem 1 (dimension and
    DSS form), the four generalizations with channels, the wreath product and the product
    H x H. ``progress``: a bar on stderr (default: when stderr is a terminal).

    >>> from eqsolve import groups
    >>> results = verify(groups.dihedral(5), 4, 2, 3)
    >>> results.agree, len(results)
    (True, 10)
    """
    from eqsolve._progress import progress as bar_for

    n = _positive(n, "n")
    if n > RENCONTRES_MAX:  # E(S_n) is checked exactly from the rencontres numbers
        from eqsolve import ProblemTooLargeError

        raise ProblemTooLargeError(f"set size n = {n} is above the limit {RENCONTRES_MAX} of verify "
                                   "(E(S_n) is checked exactly from numbers of about n! digits)")
    c_in = _positive(in_channels, "in_channels")
    c_out = _positive(out_channels, "out_channels")
    subject = as_subject(H)
    work = _work(limits, options)
    leave_out = {key for key, keep in (("wreath", wreath), ("products", products)) if not keep}
    with bar_for(total=len(CLAIMS) - len(leave_out), desc="verify", enabled=progress, unit="claim") as bar:
        results = check_claims(work, subject, n, c_in, c_out, leave_out, bar)
    work.release()
    return results


def _fmt(value) -> str:
    from fractions import Fraction

    if value is None:
        return "?"
    if isinstance(value, Fraction) and value.denominator == 1:
        return str(value.numerator)
    return str(value)
