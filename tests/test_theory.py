"""Tests of theory/: every claim on a zoo of groups, the exact combinatorics against brute
force, disagreement and fallback reporting, bad input, and the paper suite."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eqsolve
from eqsolve import theory
from eqsolve import EqsolveError, PermutationGroup, groups
from eqsolve.theory import Computation, check

# -- a brute-force oracle, independent of eqsolve's solver and counting --------------------


def elements(gens: np.ndarray, degree: int, limit: int = 20000) -> np.ndarray:
    """All elements of <gens> by closure (breadth-first products), as an (order, degree) array."""
    ident = tuple(range(degree))
    seen = {ident}
    frontier = [ident]
    gens = [tuple(int(x) for x in g) for g in gens]
    while frontier:
        nxt = []
        for p in frontier:
            for g in gens:
                q = tuple(g[i] for i in p)  # g after p
                if q not in seen:
                    seen.add(q)
                    nxt.append(q)
        frontier = nxt
        assert len(seen) <= limit, "oracle: group too large"
    return np.array(sorted(seen), dtype=np.int64).reshape(len(seen), degree)


def oracle_orbits_on_pairs(out_images: np.ndarray, in_images: np.ndarray) -> int:
    """Orbits of the group on [d_out] x [d_in], by union-find over all elements of the joint action."""
    d_out, d_in = out_images.shape[1], in_images.shape[1]
    joint = np.concatenate([out_images, in_images + d_out], axis=1)
    elems = elements(joint, d_out + d_in)
    parent = list(range(d_out * d_in))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in elems:
        g_out, g_in = e[:d_out], e[d_out:] - d_out
        moved = (g_out[:, None] * d_in + g_in[None, :]).ravel()
        for a, b in zip(range(d_out * d_in), moved.tolist()):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    return len({find(x) for x in range(d_out * d_in)})


def oracle_point_orbits(gens: np.ndarray, degree: int) -> int:
    return oracle_orbits_on_pairs(gens.reshape(-1, degree), np.zeros((len(gens), 1), dtype=np.int64))


# -- the zoo --------------------------------------------------------------------------------

ZOO = {
    "cyclic5": lambda: groups.cyclic(5),
    "dihedral6": lambda: groups.dihedral(6),
    "symmetric4": lambda: groups.symmetric(4),
    "alternating5": lambda: groups.alternating(5),
    "grid3x4": lambda: groups.grid_translations((3, 4)),
    "product_c3_s3": lambda: groups.product_action(groups.cyclic(3), groups.symmetric(3)),
    "intransitive": lambda: PermutationGroup.parse("(0 1 2)(3 4)", degree=6),
    "gap": lambda: PermutationGroup.from_gap("(1,2,3,4)(5,6), (1,2)"),
    "trivial3": lambda: groups.trivial(3),
}


def _images(H):
    if isinstance(H, eqsolve.Action):
        return H.images, H.degree
    return H.generators, H.degree


@pytest.mark.parametrize("n", [1, 2, 5])
@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_claim_on_the_zoo(name, n):
    H = ZOO[name]()
    gens, d = _images(H)
    e_h = oracle_orbits_on_pairs(gens, gens)  # E(H), brute force
    o_h = oracle_point_orbits(gens, d)
    results = theory.verify(H, n, 2, 3)
    assert results.agree, [r.to_dict() for r in results if not r.agree]
    by = {r.claim: r for r in results}
    k = 2 if n >= 2 else 1
    assert by["Lemma 1"].predicted == e_h
    assert by["E(S_n)"].predicted == k
    assert by["Theorem 1"].predicted == k * e_h
    assert by["Theorem 1: DSS form"].predicted == k * e_h
    assert by["Generalization: equivariant"].predicted == 6 * k * e_h
    assert by["Generalization: invariant"].predicted == 6 * o_h
    assert by["Generalization: selection"].predicted == 6 * k * o_h
    assert by["Generalization: merging"].predicted == 6 * e_h
    assert by["Wreath"].predicted == (e_h + o_h**2 if n >= 2 else e_h)
    assert by["Products"].predicted == e_h**2
    for r in results:
        assert r.independent >= 2, (r.claim, r.to_dict())
        assert all(c.agrees for c in r.computations if c.exact)
    # the product group itself was solved (not only multiplied) in these small cases
    assert any(c.method.startswith("orbits on S_") for c in by["Theorem 1"].computations)
    assert any(c.method == "structure of orbit_index" for c in by["Theorem 1: DSS form"].computations)
    json.dumps(results.to_dict())  # JSON-serialisable


def test_action_subject_s4_on_pairs():
    """H given as an action: S_4 on [4]^2 (adjacency entries) has Bell(4) = 15."""
    rho = groups.symmetric(4).action().tensor(2)
    r = theory.lemma1(rho)
    assert r.predicted == 15 and r.agree
    assert r.predicted_by.startswith("burnside")
    results = theory.theorem1(rho, 3)
    assert results.agree and results[1].predicted == 30


@pytest.mark.parametrize(
    "H, n",
    [(groups.cyclic(3), 2), (groups.symmetric(3), 2), (PermutationGroup.parse("(0 1)", degree=3), 3)],
    ids=["c3", "s3", "intransitive"],
)
def test_generalizations_against_brute_force_orbits(H, n):
    """Each generalization's prediction equals the brute-force orbit count of S_n x H on the
    corresponding (output, input) pairs, times channels."""
    G = groups.sets_of(H, n)
    d = H.degree
    actions = {
        "equivariant": G.action(),
        "invariant": G.trivial(),
        "selection": theory.block_action(G, n, d),
        "merging": theory.element_action(G, n, d),
    }
    results = theory.generalizations(H, n, 2, 5)
    for r in results:
        name = r.claim.split(": ")[1]
        brute = oracle_orbits_on_pairs(actions[name].images, G.generators)
        assert r.predicted == 10 * brute, name
        assert r.agree


def test_wreath_against_brute_force():
    H = groups.cyclic(3)
    for n in (1, 2, 3):
        G = groups.wreath(H, n)
        brute = oracle_orbits_on_pairs(G.generators, G.generators)
        r = theory.wreath(H, n)
        assert r.agree and r.predicted == brute


def test_products_several_groups():
    r = theory.products(groups.symmetric(5), groups.symmetric(4))
    assert r.predicted == 4 and r.agree  # exchangeable matrices
    r = theory.products(groups.symmetric(3), groups.cyclic(4), groups.dihedral(5))
    assert r.predicted == 2 * 4 * 3 and r.agree
    assert any(c.method == "orbits on the product group" for c in r.computations)
    r = theory.products([groups.cyclic(2)])
    assert r.predicted == 2 and r.agree


# -- exact combinatorics --------------------------------------------------------------------


@pytest.mark.parametrize("n", range(0, 8))
def test_rencontres_against_enumeration(n):
    counts = [0] * (n + 1)
    for p in itertools.permutations(range(n)):
        counts[sum(1 for i, x in enumerate(p) if i == x)] += 1
    assert theory.rencontres(n) == counts
    assert sum(theory.rencontres(n)) == math.factorial(n)


@pytest.mark.parametrize("n", range(1, 8))
def test_symmetric_dimension_against_burnside_enumeration(n):
    total = sum(sum(1 for i, x in enumerate(p) if i == x) ** 2 for p in itertools.permutations(range(n)))
    assert theory.symmetric_dimension(n) == Fraction(total, math.factorial(n))
    assert theory.symmetric_dimension(n) == eqsolve.count(groups.symmetric(n), method="burnside")


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10, 16, 25, 33, 50])
def test_symmetric_dimension_against_solver(n):
    assert theory.symmetric_dimension(n) == eqsolve.solve(groups.symmetric(n)).dim == (2 if n >= 2 else 1)


def test_symmetric_dimension_exact_for_large_n():
    value = theory.symmetric_dimension(1000)
    assert isinstance(value, Fraction) and value == 2
    assert theory.symmetric_dimension(1500) == 2
    r = theory.symmetric(1000)
    assert r.agree
    methods = {c.method: c for c in r.computations}
    assert methods["rencontres"].value == 2 and methods["rencontres"].exact
    assert "orbits" in methods  # the solver on symmetric(1000) as the second computation
    skipped = {s.method: s.reason for s in r.skipped}
    assert "burnside" in skipped and "burnside-classes" in skipped  # 1000! elements; p(1000) classes


def test_symmetric_row_small_n_uses_every_method():
    r = theory.symmetric(5)
    assert {c.method for c in r.computations} == {"rencontres", "orbits", "burnside", "burnside-classes"}
    assert r.agree and r.predicted == 2
    assert theory.symmetric(1).predicted == 1 and theory.symmetric(1).agree


def _set_partitions(r):
    def rec(items):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for part in rec(rest):
            for i in range(len(part)):
                yield part[:i] + [[first] + part[i]] + part[i + 1:]
            yield [[first]] + part

    return list(rec(list(range(r))))


@pytest.mark.parametrize("r", range(0, 7))
def test_bell_numbers_against_set_partitions(r):
    parts = _set_partitions(r)
    assert theory._combinatorics.bell(r) == len(parts)
    for m in range(0, r + 1):
        assert theory._combinatorics.bell(r, blocks=m) == sum(1 for p in parts if len(p) <= m)


def test_bell_rows():
    results = theory.bell(6)
    assert results.agree and [r.predicted for r in results] == [1, 2, 5, 15, 52, 203]
    six = results[-1]
    assert sum(c.method.startswith("orbits k=") for c in six.computations) == 7  # every split k + l = 6
    # below the threshold m < k + l: partitions into at most m blocks
    low = theory.bell(4, m=2)
    assert low.agree and [r.predicted for r in low] == [1, 2, 4, 8]


def test_class_sums_against_enumeration():
    from eqsolve.theory._combinatorics import class_sum

    for m in range(1, 7):
        for alternating in (False, True):
            if alternating and m < 2:
                continue
            perms = [p for p in itertools.permutations(range(m))
                     if not alternating or _parity(p) == 0]
            for power in (2, 3, 4):
                brute = Fraction(sum(sum(1 for i, x in enumerate(p) if i == x) ** power for p in perms), len(perms))
                got = class_sum(m, lambda g, k=power: int((g == np.arange(m)).sum()) ** k, alternating=alternating)
                assert got == brute, (m, alternating, power)


def _parity(p):
    seen, parity = set(), 0
    for i in range(len(p)):
        if i in seen:
            continue
        j, length = i, 0
        while j not in seen:
            seen.add(j)
            j = p[j]
            length += 1
        parity ^= (length - 1) % 2
    return parity


def test_partition_count():
    from eqsolve.theory._combinatorics import partitions

    for m in range(0, 16):
        assert theory.partition_count(m) == len(list(partitions(m)))


# -- disagreement, structure, fallbacks -------------------------------------------------------


def test_wrong_prediction_is_reported_as_disagree():
    comps = [Computation("orbits", 7, exact=True, seconds=0.0), Computation("burnside", Fraction(7), exact=True, seconds=0.0)]
    r = check("demo", "E(H) = 8", 8, comps)
    assert r.status == "disagree" and r.agree is False
    assert all(c.agrees is False for c in r.computations)
    assert "DIFFERS" in r.checks_text()
    # one right and one wrong method: still a disagreement
    r = check("demo", "E(H) = 7", 7, [Computation("a", 7, True, 0.0), Computation("b", 6, True, 0.0)])
    assert r.status == "disagree"
    # an estimate far from the prediction disagrees; one close to it agrees
    far = Computation("montecarlo", 3.0, exact=False, seconds=0.0, interval=(2.9, 3.1))
    assert check("demo", "", 7, [far]).status == "disagree"
    near = Computation("montecarlo", 6.95, exact=False, seconds=0.0, interval=(6.85, 7.05))
    assert check("demo", "", 7, [near]).status == "agree"
    # a zero-variance estimate is inconclusive, never silently counted
    flat = Computation("montecarlo", 0.0, exact=False, seconds=0.0, interval=(0.0, 0.0))
    r = check("demo", "", 7, [flat])
    assert r.status == "unchecked" and flat.agrees is None and "inconclusive" in flat.note
    # nothing ran: unchecked, not agree
    assert check("demo", "", 7, []).status == "unchecked"
    assert check("demo", "", None, [Computation("a", 7, True, 0.0)]).status == "unchecked"


def test_dss_structure_detects_wrong_tables():
    H = groups.cyclic(4)
    n = 3
    h_table = eqsolve.solve(H).orbit_index
    good = eqsolve.solve(groups.sets_of(H, n)).orbit_index
    assert theory.dss_structure(good, h_table, n) == 8
    # a finer table (the trivial group on 12 points) and a coarser one (S_12)
    finer = eqsolve.solve(groups.trivial(12)).orbit_index
    coarser = eqsolve.solve(groups.symmetric(12)).orbit_index
    for wrong in (finer, coarser, eqsolve.solve(groups.wreath(H, n)).orbit_index):
        verdict = theory.dss_structure(wrong, h_table, n)
        assert isinstance(verdict, str) and verdict.startswith("mismatch")
        assert check("DSS", "", 8, [Computation("structure", verdict, True, 0.0)]).status == "disagree"
    # one entry changed
    broken = good.copy()
    broken[5, 7] = broken[0, 0]
    assert theory.dss_structure(broken, h_table, n).startswith("mismatch")
    assert theory.dss_structure(good[:6, :6], h_table, n).startswith("mismatch")


def test_dss_rank_check_and_wrong_group():
    H = groups.dihedral(4)
    h_table = eqsolve.solve(H).orbit_index
    assert theory.dss_rank_check(groups.sets_of(H, 2), h_table, 2) == 2 * eqsolve.solve(H).dim
    # the wreath group is larger than S_n x H: the off-diagonal DSS matrices are not equivariant for it
    verdict = theory.dss_rank_check(groups.wreath(H, 2), h_table, 2)
    assert isinstance(verdict, str) and "equivariance" in verdict
    mats = theory.dss_matrices(h_table, 2)
    assert mats.shape == (2 * eqsolve.solve(H).dim, 8, 8)
    assert np.array_equal(mats.sum(axis=0), np.ones((8, 8)))  # a partition of the entries


def test_factorised_structure():
    H = groups.cyclic(5)
    h_table = eqsolve.solve(H).orbit_index
    assert theory.factorised_structure(groups.sets_of(H, 40), 40, h_table) == 10
    assert theory.factorised_structure(groups.sets_of(H, 1), 1, h_table) == 5
    # another H's table: mismatch
    other = eqsolve.solve(groups.dihedral(5)).orbit_index
    assert theory.factorised_structure(groups.sets_of(H, 3), 3, other).startswith("mismatch")
    # the element permutations generate only C_3, not S_3: not the DSS pattern
    G = groups.product_action(groups.cyclic(3), H)
    assert theory.factorised_structure(G, 3, h_table).startswith("mismatch")
    # a generator that moves elements and points at once, (i, p) -> (1 - i, p + 1), cannot be split
    both = [(1 - i) * 5 + (p + 1) % 5 for i in range(2) for p in range(5)]
    from eqsolve.theory._methods import Skip

    with pytest.raises(Skip, match="both"):
        theory.factorised_structure(PermutationGroup([both], degree=10), 2, h_table)


def test_fallback_when_burnside_is_too_large():
    """S_10 x C_5 has 18 144 000 elements: the exact Burnside sum is refused, the result says
    so, predicts from the solver and estimates the sum by Monte Carlo."""
    G = groups.sets_of(groups.cyclic(5), 10)
    r = theory.lemma1(G)
    assert r.fallback and "could not be evaluated" in r.fallback
    skipped = {s.method: s.reason for s in r.skipped}
    assert "18144000" in skipped["burnside"]
    assert "S_m and A_m" in skipped["burnside-classes"]
    assert r.predicted == 10 and r.predicted_by.startswith("orbits")
    mc = [c for c in r.computations if c.method == "montecarlo"]
    assert mc and not mc[0].exact and mc[0].interval is not None
    assert r.agree
    # a symmetric group too large to enumerate uses the class sum instead, without fallback
    r = theory.lemma1(groups.symmetric(12))
    assert not r.fallback and r.predicted_by.startswith("burnside-classes") and r.agree


def test_fallback_when_the_product_group_is_too_large():
    """With a small memory limit the solver is refused on S_n x H; Theorem 1 is checked by
    multiplying and from the group's factors, and both rows say so."""
    results = theory.theorem1(groups.cyclic(10), 20, max_bytes=10_000)
    dim, dss = results[1], results[2]
    assert dim.agree and dss.agree
    assert "multiplying" in dim.fallback and "factors" in dss.fallback
    reasons = {s.method: s.reason for s in dim.skipped}
    # the solver keeps one row per output orbit: 1 row of 200 ids plus the forest, 26.4 KB
    assert "compact form (1 rows of 200 ids) would need" in reasons["orbits on S_20 x H"]
    assert {c.method for c in dim.computations} >= {"factorised product group", "rencontres x burnside"}
    assert [c.method for c in dss.computations] == ["factorised structure"]


def test_products_fallback_does_not_build_a_huge_group():
    H = groups.grid_translations((16, 16))  # H x H would act on 65536 points
    r = theory.products(H, H, max_bytes=1 << 20)
    assert r.agree and r.fallback
    assert r.predicted == 256**2
    assert any("would need" in s.reason for s in r.skipped)


def test_burnside_between_two_actions():
    """Lemma 1 between different actions: S_4 on [4] -> [4]^2 has Bell(3) = 5."""
    S = groups.symmetric(4)
    r = theory.lemma1(out=S.action().tensor(2), inp=S.action())
    assert r.predicted == 5 and r.agree
    assert {c.method for c in r.computations} >= {"orbits", "nullspace"}


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", True, None])
def test_bad_n(bad):
    H = groups.cyclic(3)
    for call in (lambda: theory.theorem1(H, bad), lambda: theory.verify(H, bad), lambda: theory.wreath(H, bad),
                 lambda: theory.generalizations(H, bad), lambda: theory.symmetric(bad)):
        with pytest.raises(EqsolveError, match="n must be an integer >= 1"):
            call()


@pytest.mark.parametrize("channels", [(0, 1), (1, 0), (-2, 3), (1, 2.5)])
def test_bad_channels(channels):
    with pytest.raises(EqsolveError, match="channels must be an integer >= 1"):
        theory.generalizations(groups.cyclic(3), 2, *channels)
    with pytest.raises(EqsolveError, match="channels must be an integer >= 1"):
        theory.verify(groups.cyclic(3), 2, *channels)


def test_mismatched_actions():
    a, b = groups.cyclic(4), groups.symmetric(4)
    with pytest.raises(eqsolve.ActionMismatchError, match="different groups"):
        theory.lemma1(out=a.action(), inp=b.action())
    with pytest.raises(EqsolveError, match="not both"):
        theory.lemma1(a, out=a.action(), inp=a.action())
    with pytest.raises(EqsolveError, match="needs a group"):
        theory.lemma1()
    with pytest.raises(EqsolveError, match="needs a group"):
        theory.lemma1(out=a.action())
    with pytest.raises(EqsolveError, match="must be an eqsolve Action"):
        theory.lemma1(out=a.action(), inp=[0, 1, 2, 3])


def test_other_bad_input():
    with pytest.raises(EqsolveError, match="PermutationGroup or an Action"):
        theory.verify("(0 1 2)", 2)
    with pytest.raises(EqsolveError, match="at least one group"):
        theory.products()
    with pytest.raises(EqsolveError, match="factor 1"):
        theory.products(groups.cyclic(2), 5)
    with pytest.raises(EqsolveError, match="max_order"):
        theory.bell(9)
    with pytest.raises(EqsolveError, match="max_order must be an integer >= 1"):
        theory.bell(0)
    with pytest.raises(EqsolveError, match="unknown option"):
        theory.lemma1(groups.cyclic(3), max_byte=10)
    with pytest.raises(EqsolveError, match="max_bytes must be a positive integer"):
        theory.lemma1(groups.cyclic(3), max_bytes=0)
    with pytest.raises(EqsolveError, match="samples"):
        theory.lemma1(groups.cyclic(3), samples=1)
    with pytest.raises(EqsolveError, match="at least one point"):
        theory.generalizations(groups.trivial(0), 2)
    with pytest.raises(EqsolveError, match="does not act as S_n x H"):
        theory.block_action(groups.symmetric(6), 2, 3)


# -- randomized groups ------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6).flatmap(lambda d: st.tuples(
    st.just(d), st.lists(st.permutations(list(range(d))), min_size=0, max_size=2))), st.integers(1, 3))
def test_random_small_groups(spec, n):
    d, gens = spec
    H = PermutationGroup([list(g) for g in gens], degree=d)
    results = theory.verify(H, n, 1, 2)
    assert results.agree
    e_h = oracle_orbits_on_pairs(H.generators.reshape(-1, d), H.generators.reshape(-1, d))
    assert results[0].predicted == e_h


# -- dependency direction ----------------------------------------------------------------------


def test_theory_does_not_import_torch_or_matplotlib():
    code = ("import sys; from eqsolve import theory; from eqsolve import groups; theory.verify(groups.cyclic(4), 3); "
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "False False"


@pytest.mark.parametrize("name", ["eqsolve.theory", "eqsolve.theory._claims", "eqsolve.theory._combinatorics",
                                  "eqsolve.theory._result", "eqsolve.theory._methods", "eqsolve.theory.suite",
                                  "eqsolve.theory.pictures"])
def test_docstring_examples(name):
    import doctest
    import importlib

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
