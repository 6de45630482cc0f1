"""Tests of the exact solver ``eqsolve.solve`` and the ``Basis`` it returns.

Expected values come from closed formulas (derived in the comments) or from the
brute-force oracle in ``tests/_oracle.py`` (closure + orbits under every
element), never from the solver itself.
"""

from __future__ import annotations

import math
import pickle
import re
import tracemalloc

import networkx as nx
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import eqsolve
from eqsolve import (
    ActionMismatchError,
    DegreeMismatchError,
    EqsolveError,
    MaskNotInvariantError,
    PermutationGroup,
    ProblemTooLargeError,
    groups,
)

import _oracle as oracle

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def oracle_table(out, inp):
    return oracle.pair_orbit_table(out.images, inp.images)


def first_appearance_order(table) -> bool:
    """Ids >= 0 numbered 0, 1, 2, ... in order of first appearance in row-major order."""
    flat = np.asarray(table).ravel()
    flat = flat[flat >= 0]
    if flat.size == 0:
        return True
    ids, first = np.unique(flat, return_index=True)
    return np.array_equal(ids[np.argsort(first)], np.arange(len(ids)))


def assert_matches_oracle(basis, out, inp):
    table, n = oracle_table(out, inp)
    assert basis.dim == n
    assert basis.orbit_index.shape == (out.degree, inp.degree)
    assert oracle.same_partition(basis.orbit_index, table), "entries share an id iff they share an orbit"
    assert oracle.is_invariant(basis.orbit_index, out.images, inp.images)
    assert first_appearance_order(basis.orbit_index)
    np.testing.assert_array_equal(basis.orbit_index, table)


# -- known dimensions -----------------------------------------------------------------------


@pytest.mark.parametrize("d", range(0, 7))
def test_trivial_group_has_d_squared(d):
    # every pair is its own orbit
    B = eqsolve.solve(groups.trivial(d))
    assert B.dim == d * d
    np.testing.assert_array_equal(B.orbit_index, np.arange(d * d).reshape(d, d))


@pytest.mark.parametrize("d", range(2, 10))
def test_symmetric_has_two(d):
    # the diagonal and the off-diagonal: L = a I + b (11^T - I)
    B = eqsolve.solve(groups.symmetric(d))
    assert B.dim == 2
    np.testing.assert_array_equal(B.orbit_index, 1 - np.eye(d, dtype=int))


@pytest.mark.parametrize("d, expected", [(0, 0), (1, 1)])
def test_symmetric_small(d, expected):
    assert eqsolve.solve(groups.symmetric(d)).dim == expected


@pytest.mark.parametrize("d", range(4, 9))
def test_alternating_has_two(d):
    # A_d is 2-transitive for d >= 4
    assert eqsolve.solve(groups.alternating(d)).dim == 2


def test_alternating_3_is_cyclic():
    # A_3 = C_3 acts regularly: 3 orbits on pairs
    assert eqsolve.solve(groups.alternating(3)).dim == 3


@pytest.mark.parametrize("d", range(1, 13))
def test_cyclic_has_d(d):
    # regular action: orbits on pairs <-> offsets j - i mod d
    B = eqsolve.solve(groups.cyclic(d))
    assert B.dim == d
    i, j = np.indices((d, d))
    assert oracle.same_partition(B.orbit_index, (j - i) % d)


@pytest.mark.parametrize("d", range(3, 14))
def test_dihedral_has_half_plus_one(d):
    # orbits on pairs <-> distances min(k, d - k), k = 0..floor(d/2)
    B = eqsolve.solve(groups.dihedral(d))
    assert B.dim == d // 2 + 1
    i, j = np.indices((d, d))
    k = (j - i) % d
    assert oracle.same_partition(B.orbit_index, np.minimum(k, d - k))


@pytest.mark.parametrize("n", range(4, 9))
def test_symmetric_on_two_subsets_has_three(n):
    # two 2-subsets are equal, share one point, or are disjoint (n >= 4 for all three)
    B = eqsolve.solve(groups.subsets(groups.symmetric(n), 2))
    assert B.degree_out == math.comb(n, 2)
    assert B.dim == 3


@pytest.mark.parametrize("n", range(4, 8))
def test_symmetric_two_subsets_to_points_has_two(n):
    # a point either lies in a 2-subset or not
    H = groups.symmetric(n)
    rho = H.action()
    assert eqsolve.solve(out=rho.subsets(2), inp=rho).dim == 2
    assert eqsolve.solve(out=rho, inp=rho.subsets(2)).dim == 2


def test_cube_automorphisms_have_four():
    """Aut(Q_3) (order 48) on the 8 vertices: orbits on pairs <-> Hamming distance 0..3."""
    graph = nx.hypercube_graph(3)
    H = groups.automorphisms(graph)
    assert H.order() == 48
    B = eqsolve.solve(H)
    assert B.dim == 4
    nodes = list(graph)
    hamming = np.array([[sum(a != b for a, b in zip(u, v)) for v in nodes] for u in nodes])
    assert oracle.same_partition(B.orbit_index, hamming)


@pytest.mark.parametrize("n, m", [(2, 2), (2, 3), (3, 4), (4, 5), (5, 3)])
def test_product_action_of_symmetric_has_four(n, m):
    # (i, a), (j, b): i == j or not, times a == b or not
    B = eqsolve.solve(groups.product_action(groups.symmetric(n), groups.symmetric(m)))
    assert B.dim == 4


SMALL = [groups.cyclic(4), groups.dihedral(5), groups.symmetric(3), groups.trivial(2),
         PermutationGroup.parse("(0 1)(2 3)", degree=5), groups.grid_translations((2, 3))]


@pytest.mark.parametrize("H", SMALL, ids=lambda H: H.name or str(H))
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_sets_of_doubles_the_element_dimension(H, n):
    # Theorem 1: E(S_n x H) = E(S_n) E(H) = 2 E(H) for n >= 2, E(H) for n = 1
    e_h = oracle.pair_orbit_table(H.generators, H.generators)[1]
    assert eqsolve.solve(groups.sets_of(H, n)).dim == (2 if n >= 2 else 1) * e_h


@pytest.mark.parametrize("H", SMALL, ids=lambda H: H.name or str(H))
@pytest.mark.parametrize("n", [1, 2, 3])
def test_wreath(H, n):
    # pairs in one block: E(H) orbits; in two different blocks (n >= 2) the two block
    # elements act independently, so the orbits are pairs of H-orbits: o(H)^2
    e_h = oracle.pair_orbit_table(H.generators, H.generators)[1]
    o_h = len(H.orbits())
    assert eqsolve.solve(groups.wreath(H, n)).dim == e_h + (o_h ** 2 if n >= 2 else 0)


@pytest.mark.parametrize("H1, H2", [(groups.cyclic(3), groups.symmetric(4)), (groups.dihedral(5), groups.trivial(2)),
                                    (groups.symmetric(2), groups.cyclic(6))])
def test_direct_product(H1, H2):
    # the two diagonal blocks, plus the two off-diagonal blocks with o1 * o2 orbits each
    e = [oracle.pair_orbit_table(H.generators, H.generators)[1] for H in (H1, H2)]
    o = [len(H.orbits()) for H in (H1, H2)]
    assert eqsolve.solve(groups.direct_product(H1, H2)).dim == e[0] + e[1] + 2 * o[0] * o[1]


def stirling2(n, k):
    if n == k:
        return 1
    if n == 0 or k == 0:
        return 0
    return k * stirling2(n - 1, k) + stirling2(n - 1, k - 1)


@pytest.mark.parametrize("m, k, l", [(4, 2, 2), (3, 1, 2), (3, 2, 1), (4, 1, 3), (4, 0, 3), (5, 2, 3), (5, 3, 2),
                                     (2, 2, 2), (3, 2, 2), (2, 1, 1), (3, 0, 0), (6, 2, 2)])
def test_symmetric_tensor_maps_count_set_partitions(m, k, l):
    # orbits of S_m on [m]^(k+l) <-> equality patterns of k+l indices with at most m classes:
    # sum_{j <= m} S(k+l, j), which is Bell(k+l) once m >= k+l
    rho = groups.symmetric(m).action()
    B = eqsolve.solve(out=rho.tensor(k), inp=rho.tensor(l))
    expected = sum(stirling2(k + l, j) for j in range(min(m, k + l) + 1))
    assert B.dim == expected
    if m >= k + l:
        assert B.dim == oracle.bell(k + l)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 2, 3), (1, 4), (4, 1)])
def test_grid_translations_are_regular(shape):
    # a regular action of an abelian group: one orbit per offset
    B = eqsolve.solve(groups.grid_translations(shape))
    d = math.prod(shape)
    assert B.dim == d
    np.testing.assert_array_equal(B.orbit_index[0], np.arange(d))


@pytest.mark.parametrize("H", SMALL + [groups.direct_product(groups.cyclic(3), groups.cyclic(2))],
                         ids=lambda H: H.name or str(H))
def test_maps_to_and_from_the_trivial_action_count_orbits(H):
    rho, one = H.action(), H.trivial()
    o = len(H.orbits())
    assert eqsolve.solve(out=rho, inp=one).dim == o
    assert eqsolve.solve(out=one, inp=rho).dim == o
    assert eqsolve.solve(out=one, inp=one).dim == 1


# -- against the oracle -----------------------------------------------------------------------

ZOO = [
    groups.trivial(1), groups.trivial(3), groups.cyclic(5), groups.cyclic(6), groups.dihedral(6), groups.dihedral(7),
    groups.symmetric(4), groups.symmetric(6), groups.alternating(5), groups.grid_translations((3, 4)),
    groups.grid_translations((2, 2, 2)), groups.sets_of(groups.cyclic(3), 3), groups.wreath(groups.cyclic(2), 3),
    groups.product_action(groups.cyclic(3), groups.dihedral(4)), groups.direct_product(groups.cyclic(3), groups.symmetric(3)),
    groups.subsets(groups.symmetric(5), 2), PermutationGroup.parse("(0 1 2 3)(4 5); (0 1)", degree=6),
    PermutationGroup.parse("(0 1)(2 3); (0 2)(1 3)", degree=6), PermutationGroup.from_gap("(1,2,3)(4,5,6), (1,4)(2,5)(3,6)"),
]


@pytest.mark.parametrize("H", ZOO, ids=lambda H: H.name or str(H))
def test_zoo_matches_oracle(H):
    rho = H.action()
    assert_matches_oracle(eqsolve.solve(H, cache=False), rho, rho)


def action_zoo(H):
    rho = H.action()
    acts = {"points": rho, "trivial": H.trivial(), "points+trivial": rho + H.trivial()}
    if H.degree <= 4:
        acts["tensor2"] = rho.tensor(2)
        acts["points*points"] = rho * rho
    if H.degree >= 2:
        acts["subsets2"] = rho.subsets(2)
    if H.degree >= 3:
        acts["subsets2+points"] = rho.subsets(2) + rho
    return acts


@pytest.mark.parametrize("H", [groups.cyclic(4), groups.symmetric(4), groups.dihedral(4),
                               PermutationGroup.parse("(0 1)(2 3)", degree=4), groups.alternating(5)],
                         ids=lambda H: H.name or str(H))
def test_between_actions_matches_oracle(H):
    acts = action_zoo(H)
    for out_name, out in acts.items():
        for in_name, inp in acts.items():
            B = eqsolve.solve(out=out, inp=inp, cache=False)
            try:
                assert_matches_oracle(B, out, inp)
            except AssertionError as err:
                raise AssertionError(f"out={out_name}, in={in_name}: {err}") from None


@st.composite
def random_groups(draw, max_degree=7, max_gens=4):
    d = draw(st.integers(0, max_degree))
    k = draw(st.integers(0, max_gens))
    gens = [draw(st.permutations(range(d))) for _ in range(k)]
    return PermutationGroup(gens, degree=d)


@SETTINGS
@given(random_groups())
def test_random_groups_match_oracle(H):
    rho = H.action()
    assert_matches_oracle(eqsolve.solve(H, cache=False), rho, rho)


@SETTINGS
@given(random_groups(max_degree=5, max_gens=3), st.data())
def test_random_groups_between_actions_match_oracle(H, data):
    acts = action_zoo(H)
    names = sorted(acts)
    out = acts[data.draw(st.sampled_from(names), label="out")]
    inp = acts[data.draw(st.sampled_from(names), label="inp")]
    assert_matches_oracle(eqsolve.solve(out=out, inp=inp, cache=False), out, inp)


@pytest.mark.parametrize("H", ZOO[:8], ids=lambda H: H.name or str(H))
def test_matrices_equal_the_reynolds_basis(H):
    # the oracle averages each unit matrix over the whole group; its supports, in
    # first-appearance order, are the 0/1 basis matrices
    B = eqsolve.solve(H)
    expected = oracle.reynolds_basis(H.generators, H.generators)
    got = B.matrices(sparse=False)
    assert len(got) == len(expected) == B.dim
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


# -- canonical numbering ---------------------------------------------------------------------


def test_symmetric_five_two_generating_sets_identical():
    standard = groups.symmetric(5)
    transpositions = PermutationGroup([f"({a} {b})" for a in range(5) for b in range(a + 1, 5)], degree=5)
    a, b = eqsolve.solve(standard, cache=False), eqsolve.solve(transpositions, cache=False)
    np.testing.assert_array_equal(a.orbit_index, b.orbit_index)
    np.testing.assert_array_equal(a.bias_index, b.bias_index)


@pytest.mark.parametrize("gens_a, gens_b, d", [
    (["(0 1 2 3 4 5 6 7 8 9 10 11)"], ["(0 5 10 3 8 1 6 11 4 9 2 7)"], 12),       # shift 1 vs shift 5
    (["(1 7)(2 6)(3 5)", "(0 1 2 3 4 5 6 7)"], ["(1 7)(2 6)(3 5)", "(0 7)(1 6)(2 5)(3 4)"], 8),  # D_8: two reflections
    (["(0 1 2)", "(3 4)"], ["(0 1 2)(3 4)"], 5),                                    # C_3 x C_2 = C_6
])
def test_generating_sets_of_one_group_give_identical_tables(gens_a, gens_b, d):
    a = PermutationGroup(gens_a, degree=d)
    b = PermutationGroup(gens_b, degree=d)
    assert len(oracle.closure(a.generators, d)) == len(oracle.closure(b.generators, d))
    assert a.is_same_group(b)
    np.testing.assert_array_equal(eqsolve.solve(a, cache=False).orbit_index, eqsolve.solve(b, cache=False).orbit_index)


@SETTINGS
@given(random_groups(max_degree=7, max_gens=3), st.data())
def test_other_generating_sets_give_identical_tables(H, data):
    """Shuffled, duplicated, inverted generators, Nielsen moves (g, h) -> (g, gh) and the identity."""
    d = H.degree
    gens = [np.asarray(g) for g in H.generators]
    moves = data.draw(st.lists(st.sampled_from(["shuffle", "duplicate", "inverse", "nielsen", "identity"]), max_size=6))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    for move in moves:
        if move == "identity" or not gens:
            gens.append(np.arange(d))
        elif move == "shuffle":
            gens = [gens[i] for i in rng.permutation(len(gens))]
        elif move == "duplicate":
            gens.append(gens[rng.integers(len(gens))].copy())
        elif move == "inverse":
            i = rng.integers(len(gens))
            gens[i] = np.argsort(gens[i])
        elif len(gens) >= 2:
            i, j = rng.choice(len(gens), size=2, replace=False)
            gens[i] = gens[i][gens[j]]  # apply g_j then g_i: still generates the same group
    K = PermutationGroup(gens, degree=d)
    a = eqsolve.solve(H, cache=False)
    b = eqsolve.solve(K, cache=False)
    np.testing.assert_array_equal(a.orbit_index, b.orbit_index)
    np.testing.assert_array_equal(a.bias_index, b.bias_index)
    assert first_appearance_order(a.orbit_index)


def test_two_runs_identical():
    H = groups.dihedral(9)
    a, b = eqsolve.solve(H, cache=False), eqsolve.solve(H, cache=False)
    assert a is not b
    np.testing.assert_array_equal(a.orbit_index, b.orbit_index)


def test_first_appearance_in_a_larger_table():
    for H in (groups.dihedral(30), groups.product_action(groups.cyclic(6), groups.symmetric(5)), groups.wreath(groups.cyclic(3), 4)):
        assert first_appearance_order(eqsolve.solve(H).orbit_index)


# -- orbits longer than the solver's seed (its first 32 Schreier-tree nodes) ------------------------
# The d <= 7 groups above never leave the seed; here the verification sweep over the
# non-tree edges has to merge labels.


def affine_group(p, a):
    """x -> x + 1 and x -> a x on Z_p (p prime): transitive, point stabilizers cyclic of order ord(a)."""
    return PermutationGroup([[(x + 1) % p for x in range(p)], [(a * x) % p for x in range(p)]], degree=p)


def multiplicative_order(a, p):
    k, x = 1, a % p
    while x != 1:
        x, k = x * a % p, k + 1
    return k


@pytest.mark.parametrize("p, a", [(37, 2), (41, 3), (43, 4), (53, 52), (61, 9)])
def test_affine_groups_beyond_the_seed(p, a):
    # pairs (x, x): one orbit; pairs (x, y), x != y: the translations fix the difference y - x,
    # which the multiplications move around the cosets of <a>, so (p - 1) / ord(a) orbits
    H = affine_group(p, a)
    B = eqsolve.solve(H, cache=False)
    assert B.dim == 1 + (p - 1) // multiplicative_order(a, p)
    rho = H.action()
    assert_matches_oracle(B, rho, rho)


@pytest.mark.parametrize("H", [groups.dihedral(40), groups.product_action(groups.dihedral(6), groups.dihedral(7)),
                               groups.product_action(groups.cyclic(6), groups.symmetric(6))],
                         ids=lambda H: H.name)
def test_transitive_groups_beyond_the_seed_match_oracle(H):
    assert H.degree > 32 and len(H.orbits()) == 1
    rho = H.action()
    assert_matches_oracle(eqsolve.solve(H, cache=False), rho, rho)


def test_long_output_orbits_between_actions_match_oracle():
    # C_6 x S_6 on [6] x [6]: one orbit of 36 points, and 2-subsets of it
    H = groups.product_action(groups.cyclic(6), groups.symmetric(6))
    rho = H.action()
    pairs = [(rho, rho.subsets(2)), (rho.subsets(2), rho), (rho + H.trivial(), rho.subsets(2)),
             (rho.subsets(2) + rho, rho)]
    for out, inp in pairs:
        assert max(len(o) for o in PermutationGroup(out.images, degree=out.degree).orbits()) > 32
        assert_matches_oracle(eqsolve.solve(out=out, inp=inp, cache=False), out, inp)


# -- degree 0 and 1, the trivial group ---------------------------------------------------------


@pytest.mark.parametrize("H", [groups.trivial(0), groups.symmetric(0), PermutationGroup([], degree=0)],
                         ids=["trivial0", "symmetric0", "empty"])
def test_degree_zero(H):
    B = eqsolve.solve(H)
    assert B.dim == 0 and B.shape == (0, 0)
    assert B.bias_index.shape == (0,)
    assert B.matrices() == [] and B.matrices(sparse=False) == []
    assert B.symbolic().shape == (0, 0)
    one = eqsolve.solve(out=H.trivial(), inp=H.action())
    assert one.shape == (1, 0) and one.dim == 0
    assert eqsolve.solve(out=H.trivial(), inp=H.trivial()).dim == 1


@pytest.mark.parametrize("H", [groups.trivial(1), groups.symmetric(1), groups.cyclic(1),
                               PermutationGroup([[0]]), PermutationGroup([], degree=1)],
                         ids=["trivial1", "symmetric1", "cyclic1", "identity", "empty"])
def test_degree_one(H):
    B = eqsolve.solve(H)
    assert B.dim == 1
    assert B.orbit_index.tolist() == [[0]]
    assert B.bias_index.tolist() == [0]
    assert [m.toarray().tolist() for m in B.matrices()] == [[[1]]]
    assert B.symbolic() == sympy.Matrix([[sympy.Symbol("theta_0")]])


def test_trivial_group_given_by_identity_generators():
    H = PermutationGroup([[0, 1, 2, 3], [0, 1, 2, 3]])
    np.testing.assert_array_equal(eqsolve.solve(H).orbit_index, eqsolve.solve(groups.trivial(4)).orbit_index)


# -- the Basis -------------------------------------------------------------------------------


@pytest.mark.parametrize("H", ZOO[:10], ids=lambda H: H.name or str(H))
def test_matrices_sparse_and_dense(H):
    B = eqsolve.solve(H)
    sparse, dense = B.matrices(), B.matrices(sparse=False)
    assert len(sparse) == len(dense) == B.dim
    total = np.zeros(B.shape, dtype=np.int64)
    for k, (s, m) in enumerate(zip(sparse, dense)):
        assert s.format == "csr"
        np.testing.assert_array_equal(s.toarray(), m)
        np.testing.assert_array_equal(m, (B.orbit_index == k).astype(m.dtype))
        assert set(np.unique(m).tolist()) <= {0, 1} and m.any()
        assert oracle.is_invariant(m, H.generators, H.generators)
        total += m
    np.testing.assert_array_equal(total, np.ones(B.shape, dtype=np.int64))  # a partition of the entries
    np.testing.assert_array_equal(B.orbit_sizes(), [m.sum() for m in dense])


def test_weight_is_the_theta_combination(rng):
    B = eqsolve.solve(groups.dihedral(6))
    theta = rng.standard_normal(B.dim)
    expected = sum(t * m for t, m in zip(theta, B.matrices(sparse=False)))
    np.testing.assert_allclose(B.weight(theta), expected, rtol=0, atol=1e-12)
    with pytest.raises(EqsolveError, match="theta"):
        B.weight(theta[:-1])


@pytest.mark.parametrize("H", ZOO, ids=lambda H: H.name or str(H))
def test_bias_index_is_the_orbit_of_each_output_point(H):
    # oracle: orbits of the group on [d] x [1]; canonical ids are orbit labels by smallest point
    rho, one = H.action(), H.trivial()
    table, n = oracle_table(rho, one)
    B = eqsolve.solve(H)
    np.testing.assert_array_equal(B.bias_index, table[:, 0])
    assert B.n_bias == n == len(H.orbits())


def test_bias_index_of_another_output_action():
    H = groups.symmetric(4)
    out = H.action().subsets(2) + H.trivial()
    B = eqsolve.solve(out=out, inp=H.action())
    table, _ = oracle_table(out, H.trivial())
    np.testing.assert_array_equal(B.bias_index, table[:, 0])
    assert B.bias_index.shape == (out.degree,)


@pytest.mark.parametrize("H", [groups.symmetric(3), groups.cyclic(4), groups.dihedral(5)], ids=lambda H: H.name)
def test_symbolic(H):
    B = eqsolve.solve(H)
    M = B.symbolic()
    assert isinstance(M, sympy.MatrixBase)
    assert M.shape == B.shape
    thetas = sympy.symbols(f"theta_0:{B.dim}")
    for i in range(B.degree_out):
        for j in range(B.degree_in):
            assert M[i, j] == thetas[B.orbit_index[i, j]]
    assert M.free_symbols == set(thetas)
    # every generator fixes the general matrix: P M P^T == M
    for g in H.generators:
        P = sympy.zeros(H.degree, H.degree)
        for i, gi in enumerate(g):
            P[int(gi), i] = 1
        assert P * M * P.T == M


def test_symbolic_refuses_huge_tables():
    with pytest.raises(ProblemTooLargeError, match="entries"):
        eqsolve.solve(groups.cyclic(300)).symbolic()


def test_orbit_index_is_read_only():
    B = eqsolve.solve(groups.cyclic(5))
    with pytest.raises(ValueError):
        B.orbit_index[0, 0] = 3
    with pytest.raises(ValueError):
        B.bias_index[0] = 3


# -- maps between actions, named cases -------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda r: (r.tensor(2), r), lambda r: (r, r.tensor(2)), lambda r: (r.subsets(2), r.subsets(3)),
    lambda r: (r + r.group.trivial(), r), lambda r: (r * r, r + r), lambda r: (r.tensor(0), r.subsets(2)),
], ids=["tensor2-points", "points-tensor2", "subsets2-subsets3", "sum-points", "product-sum", "tensor0-subsets2"])
@pytest.mark.parametrize("H", [groups.symmetric(4), groups.cyclic(5), groups.dihedral(4)], ids=lambda H: H.name)
def test_named_maps_between_actions(H, make):
    out, inp = make(H.action())
    assert_matches_oracle(eqsolve.solve(out=out, inp=inp, cache=False), out, inp)


def test_out_or_inp_alone_defaults_to_the_natural_action():
    H = groups.cyclic(4)
    two = H.action().tensor(2)
    np.testing.assert_array_equal(eqsolve.solve(out=two).orbit_index, eqsolve.solve(out=two, inp=H.action()).orbit_index)
    np.testing.assert_array_equal(eqsolve.solve(inp=two).orbit_index, eqsolve.solve(out=H.action(), inp=two).orbit_index)
    np.testing.assert_array_equal(eqsolve.solve(H, out=two).orbit_index, eqsolve.solve(out=two, inp=H.action()).orbit_index)


def equality_pattern(*index_arrays):
    """Label of the equality pattern of several index arrays (which of them are equal)."""
    label = np.zeros(np.broadcast(*index_arrays).shape, dtype=np.int64)
    bit = 0
    for a in range(len(index_arrays)):
        for b in range(a + 1, len(index_arrays)):
            label |= (index_arrays[a] == index_arrays[b]).astype(np.int64) << bit
            bit += 1
    return label


def test_many_short_rows_in_several_batches():
    # S_200 on [200]^2 -> [200]: 40000 rows of 200 entries, filled in several batches;
    # an orbit of ((a, b), c) is the equality pattern of a, b, c: Bell(3) = 5 of them
    rho = groups.symmetric(200).action()
    B = eqsolve.solve(out=rho.tensor(2), inp=rho, cache=False)
    assert B.dim == oracle.bell(3)
    a, b = np.divmod(np.arange(200 * 200), 200)
    c = np.arange(200)
    assert oracle.same_partition(B.orbit_index, equality_pattern(a[:, None], b[:, None], c[None, :]))
    assert first_appearance_order(B.orbit_index)


def test_tensor_square_to_tensor_square_is_bell_4():
    rho = groups.symmetric(60).action()
    B = eqsolve.solve(out=rho.tensor(2), inp=rho.tensor(2), cache=False)
    assert B.dim == oracle.bell(4) == 15
    a, b = np.divmod(np.arange(3600), 60)
    pattern = equality_pattern(a[:, None], b[:, None], a[None, :], b[None, :])
    assert oracle.same_partition(B.orbit_index, pattern)


@pytest.mark.slow
def test_two_million_rows_of_one_entry():
    # C_1500 on [1500]^2 -> the trivial action: one orbit per offset b - a
    C = groups.cyclic(1500)
    B = eqsolve.solve(out=C.action().tensor(2), inp=C.trivial(), cache=False)
    assert B.dim == 1500 and B.shape == (1500 ** 2, 1)
    a, b = np.divmod(np.arange(1500 ** 2), 1500)
    np.testing.assert_array_equal(B.orbit_index[:, 0], (b - a) % 1500)  # row (0, k) opens id k
    B = eqsolve.solve(out=C.trivial(), inp=C.action().tensor(2), cache=False)
    np.testing.assert_array_equal(B.orbit_index[0], (b - a) % 1500)


# -- support masks ---------------------------------------------------------------------------


def torus_offsets(shape):
    """Per pair (i, j) of an h x w torus: the wrapped offsets (dy, dx) in -h/2..h/2."""
    h, w = shape
    y, x = np.indices(shape).reshape(2, -1)
    dy = (y[None, :] - y[:, None]) % h
    dx = (x[None, :] - x[:, None]) % w
    dy = np.where(dy > h // 2, dy - h, dy)
    dx = np.where(dx > w // 2, dx - w, dx)
    return dy, dx


@pytest.mark.parametrize("shape", [(3, 3), (4, 5), (6, 6), (5, 8)])
def test_local_kernel_mask_gives_the_3x3_kernel(shape):
    H = groups.grid_translations(shape)
    dy, dx = torus_offsets(shape)
    mask = np.maximum(np.abs(dy), np.abs(dx)) <= 1
    B = eqsolve.solve(H, support=mask)
    assert B.dim == 9
    assert np.all((B.orbit_index >= 0) == mask)
    assert first_appearance_order(B.orbit_index)
    # inside the mask an id is exactly a kernel offset (dy, dx)
    kernel_position = (dy + 1) * 3 + (dx + 1)
    assert oracle.same_partition(B.orbit_index[mask], kernel_position[mask])
    assert oracle.is_invariant(B.orbit_index, H.generators, H.generators)


def test_manhattan_mask_gives_five():
    H = groups.grid_translations((5, 6))
    dy, dx = torus_offsets((5, 6))
    mask = (np.abs(dy) + np.abs(dx)) <= 1
    assert eqsolve.solve(H, support=mask).dim == 5
    # 0/1 integers are accepted as a mask
    B = eqsolve.solve(H, support=mask.astype(int))
    assert B.dim == 5 and np.all((B.orbit_index >= 0) == mask)


def test_all_and_nothing_masks():
    H = groups.dihedral(6)
    full = eqsolve.solve(H)
    assert eqsolve.solve(H, support=np.ones((6, 6), bool)) == full
    empty = eqsolve.solve(H, support=np.zeros((6, 6), bool))
    assert empty.dim == 0 and np.all(empty.orbit_index == -1)
    assert empty.matrices() == []


@SETTINGS
@given(random_groups(max_degree=6, max_gens=3), st.data())
def test_masks_that_are_unions_of_orbits(H, data):
    table, n = oracle.pair_orbit_table(H.generators, H.generators)
    keep = data.draw(st.lists(st.booleans(), min_size=n, max_size=n)) if n else []
    keep = np.array(keep, dtype=bool)
    mask = keep[table] if n else np.zeros(table.shape, bool)
    B = eqsolve.solve(H, support=mask, cache=False)
    assert B.dim == int(keep.sum())
    assert np.all((B.orbit_index >= 0) == mask)
    assert first_appearance_order(B.orbit_index)
    if mask.any():
        assert oracle.same_partition(B.orbit_index[mask], table[mask])
    assert len(B.matrices()) == B.dim
    total = sum((m.toarray() for m in B.matrices()), np.zeros(mask.shape, dtype=np.int64))
    np.testing.assert_array_equal(total, mask.astype(np.int64))


@SETTINGS
@given(random_groups(max_degree=6, max_gens=3), st.data())
def test_masks_that_cut_an_orbit_raise(H, data):
    table, n = oracle.pair_orbit_table(H.generators, H.generators)
    sizes = np.bincount(table.ravel(), minlength=n)
    big = np.flatnonzero(sizes > 1)
    assume(big.size > 0)  # with only single-entry orbits every mask is invariant (tested above)
    orbit = int(data.draw(st.sampled_from(big.tolist())))
    mask = data.draw(st.booleans())
    base = (table == orbit) if mask else np.zeros(table.shape, bool)
    entries = np.argwhere(table == orbit)
    i, j = entries[data.draw(st.integers(0, len(entries) - 1))]
    cut = base.copy()
    cut[i, j] = not cut[i, j]
    with pytest.raises(MaskNotInvariantError, match="not invariant"):
        eqsolve.solve(H, support=cut, cache=False)


def test_mask_not_invariant_names_entries():
    H = groups.cyclic(4)
    mask = np.eye(4, dtype=bool)
    mask[2, 2] = False
    with pytest.raises(MaskNotInvariantError, match=r"\(\d+, \d+\)"):
        eqsolve.solve(H, support=mask)


@pytest.mark.parametrize("shape", [(3, 3), (4, 5), (5, 4), (16,), (4, 4, 1), ()])
def test_mask_of_the_wrong_shape_raises(shape):
    with pytest.raises(DegreeMismatchError, match="shape"):
        eqsolve.solve(groups.cyclic(4), support=np.ones(shape, bool))


def test_mask_between_actions_has_their_shape():
    H = groups.symmetric(4)
    out, inp = H.action().subsets(2), H.action()
    with pytest.raises(DegreeMismatchError, match=r"\(6, 4\)"):
        eqsolve.solve(out=out, inp=inp, support=np.ones((4, 6), bool))
    table, _ = oracle_table(out, inp)
    mask = table == table[0, 0]  # "the point lies in the subset"
    B = eqsolve.solve(out=out, inp=inp, support=mask)
    assert B.dim == 1 and np.all((B.orbit_index == 0) == mask)


@pytest.mark.parametrize("bad", [np.full((4, 4), 2), np.full((4, 4), 0.5), np.full((4, 4), -1)])
def test_mask_with_values_other_than_0_1_raises(bad):
    with pytest.raises(EqsolveError, match="boolean"):
        eqsolve.solve(groups.cyclic(4), support=bad)


# -- save / load -----------------------------------------------------------------------------


def _bases():
    H = groups.grid_translations((3, 4))
    dy, dx = torus_offsets((3, 4))
    S4 = groups.symmetric(4)
    return {
        "dihedral": eqsolve.solve(groups.dihedral(7)),
        "masked": eqsolve.solve(H, support=np.maximum(np.abs(dy), np.abs(dx)) <= 1),
        "between": eqsolve.solve(out=S4.action().subsets(2), inp=S4.action().tensor(2)),
        "degree0": eqsolve.solve(groups.trivial(0)),
        "trivial": eqsolve.solve(groups.trivial(3)),
        "empty-mask": eqsolve.solve(groups.cyclic(3), support=np.zeros((3, 3), bool)),
    }


@pytest.mark.parametrize("name", list(_bases()))
def test_save_load_round_trip(tmp_path, name):
    B = _bases()[name]
    path = tmp_path / f"{name}.npz"
    B.save(path)
    L = eqsolve.load(path)
    assert L == B
    assert L.dim == B.dim
    assert L.orbit_index.dtype == B.orbit_index.dtype
    np.testing.assert_array_equal(L.orbit_index, B.orbit_index)
    np.testing.assert_array_equal(L.bias_index, B.bias_index)
    np.testing.assert_array_equal(L.in_orbit_index, B.in_orbit_index)
    assert [m.toarray().tolist() for m in L.matrices()] == [m.toarray().tolist() for m in B.matrices()]
    L.save(tmp_path / "again.npz")  # a loaded basis saves to the same content
    assert eqsolve.load(tmp_path / "again.npz") == B
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_saved_file_is_a_plain_npz(tmp_path):
    B = eqsolve.solve(groups.cyclic(4))
    B.save(tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz", allow_pickle=False) as data:
        # format version 2: the compact form (root rows and transversal), no d x d table
        assert {"root_rows", "parent", "label", "gathers", "bias_index", "meta"} <= set(data.files)
        assert "orbit_index" not in data.files
        assert all(data[name].dtype != object for name in data.files)


def _write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def _meta(obj):
    import json

    return np.frombuffer(json.dumps(obj).encode(), dtype=np.uint8)


BAD_FILES = {
    "empty": lambda p: p.write_bytes(b""),
    "text": lambda p: p.write_text("orbit_index = [[0]]"),
    "pickle": lambda p: p.write_bytes(pickle.dumps({"orbit_index": np.zeros((2, 2), int)})),
    "npy": lambda p: np.save(p, np.zeros((2, 2), int)),
    "npy-object": lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
    "zip-header-only": lambda p: p.write_bytes(b"PK\x03\x04junk"),
    "other-npz": lambda p: _write_npz(p, x=np.zeros(3)),
    "object-array": lambda p: np.savez(p, orbit_index=np.array([{"a": 1}], dtype=object),
                                       bias_index=np.zeros(1, int), meta=_meta({"format": "eqsolve-basis"})),
    "wrong-format": lambda p: _write_npz(p, orbit_index=np.zeros((1, 1), int), bias_index=np.zeros(1, int),
                                         meta=_meta({"format": "something-else", "version": 1, "dim": 1})),
    "meta-not-json": lambda p: _write_npz(p, orbit_index=np.zeros((1, 1), int), bias_index=np.zeros(1, int),
                                          meta=np.frombuffer(b"\xff\xfe{", dtype=np.uint8)),
    "newer-version": lambda p: _write_npz(p, orbit_index=np.zeros((1, 1), int), bias_index=np.zeros(1, int),
                                          meta=_meta({"format": "eqsolve-basis", "version": 99, "dim": 1})),
    "id-above-dim": lambda p: _write_npz(p, orbit_index=np.array([[0, 5]]), bias_index=np.zeros(1, int),
                                         meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": 2})),
    "unused-ids": lambda p: _write_npz(p, orbit_index=np.array([[0, 0]]), bias_index=np.zeros(1, int),
                                       meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": 2})),
    "id-below-minus-one": lambda p: _write_npz(p, orbit_index=np.array([[0, -2]]), bias_index=np.zeros(1, int),
                                               meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": 1})),
    "float-table": lambda p: _write_npz(p, orbit_index=np.zeros((1, 1)), bias_index=np.zeros(1, int),
                                        meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": 1})),
    "3d-table": lambda p: _write_npz(p, orbit_index=np.zeros((1, 1, 1), int), bias_index=np.zeros(1, int),
                                     meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": 1})),
    "bias-wrong-length": lambda p: _write_npz(p, orbit_index=np.zeros((2, 2), int), bias_index=np.zeros(3, int),
                                              meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": 1})),
    "bias-float": lambda p: _write_npz(p, orbit_index=np.zeros((2, 2), int), bias_index=np.full(2, 0.5),
                                       meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": 1})),
    "bias-out-of-range": lambda p: _write_npz(p, orbit_index=np.zeros((2, 2), int), bias_index=np.array([0, 9]),
                                              meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": 1})),
    "dim-bool": lambda p: _write_npz(p, orbit_index=np.zeros((2, 2), int), bias_index=np.zeros(2, int),
                                     meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": True})),
    "dim-huge": lambda p: _write_npz(p, orbit_index=np.zeros((2, 2), int), bias_index=np.zeros(2, int),
                                     meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": 10**30})),
    "in-orbits-wrong-length": lambda p: _write_npz(p, orbit_index=np.zeros((2, 2), int), bias_index=np.zeros(2, int),
                                                   in_orbit_index=np.zeros(5, int),
                                                   meta=_meta({"format": "eqsolve-basis", "version": 1, "dim": 1})),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_load_rejects_bad_files(tmp_path, kind):
    path = tmp_path / "bad.npz"
    BAD_FILES[kind](path)
    if not path.exists():  # np.save appends .npy
        path = tmp_path / "bad.npz.npy"
    with pytest.raises(EqsolveError, match=re.escape(str(path.parent))):
        eqsolve.load(path)


def test_load_missing_file_and_directory(tmp_path):
    with pytest.raises(EqsolveError, match="no such file"):
        eqsolve.load(tmp_path / "missing.npz")
    with pytest.raises(EqsolveError):
        eqsolve.load(tmp_path)


def test_load_never_unpickles(tmp_path, monkeypatch):
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"orbit_index": np.zeros((1, 1), int)}))

    def forbidden(*args, **kwargs):
        raise AssertionError("load called pickle")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    with pytest.raises(EqsolveError):
        eqsolve.load(path)


def test_load_corrupted_bytes(tmp_path):
    """Every single-byte corruption or truncation loads the same basis or raises EqsolveError."""
    B = eqsolve.solve(groups.dihedral(5))
    B.save(tmp_path / "b.npz")
    raw = (tmp_path / "b.npz").read_bytes()
    path = tmp_path / "c.npz"
    outcomes = set()
    for i in range(0, len(raw), 3):
        for data in (raw[:i] + bytes([raw[i] ^ 0x5A]) + raw[i + 1:], raw[:i]):
            path.write_bytes(data)
            try:
                outcomes.add("same" if eqsolve.load(path) == B else "different")
            except EqsolveError:
                outcomes.add("error")
    assert "different" not in outcomes
    assert "error" in outcomes


def test_save_is_atomic(tmp_path, monkeypatch):
    B = eqsolve.solve(groups.cyclic(6))
    target = tmp_path / "b.npz"
    eqsolve.solve(groups.cyclic(3)).save(target)
    before = target.read_bytes()

    def broken(handle, **arrays):
        handle.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    import eqsolve._basis as basis_module

    monkeypatch.setattr(basis_module.np, "savez_compressed", broken)
    with pytest.raises(EqsolveError, match="disk full"):
        B.save(target)
    assert target.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.npz"]  # no temp file left
    with pytest.raises(EqsolveError):
        B.save(tmp_path / "new.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.npz"]


def test_save_to_bad_places(tmp_path):
    B = eqsolve.solve(groups.cyclic(3))
    with pytest.raises(EqsolveError, match="directory"):
        B.save(tmp_path)
    with pytest.raises(EqsolveError, match="does not exist"):
        B.save(tmp_path / "no" / "b.npz")
    assert list(tmp_path.iterdir()) == []


# -- cache -----------------------------------------------------------------------------------


def test_cache_returns_equal_results():
    H = groups.dihedral(11)
    a = eqsolve.solve(H)
    b = eqsolve.solve(H)
    c = eqsolve.solve(H, cache=False)
    assert a == b == c
    assert c is not a
    # an equal group built separately hits the same entry and gets an equal result
    assert eqsolve.solve(groups.dihedral(11)) == a


def test_cache_distinguishes_masks_and_actions():
    H = groups.grid_translations((4, 4))
    dy, dx = torus_offsets((4, 4))
    full = eqsolve.solve(H)
    masked = eqsolve.solve(H, support=np.maximum(np.abs(dy), np.abs(dx)) <= 1)
    assert full.dim == 16 and masked.dim == 9
    assert eqsolve.solve(H).dim == 16
    rho = H.action()
    assert eqsolve.solve(out=rho, inp=H.trivial()).dim == 1
    assert eqsolve.solve(out=H.trivial(), inp=rho).shape == (1, 16)


def test_cache_false_with_a_mask():
    H = groups.cyclic(5)
    mask = np.eye(5, dtype=bool)
    a = eqsolve.solve(H, support=mask, cache=False)
    b = eqsolve.solve(H, support=mask, cache=False)
    assert a == b and a is not b and a.dim == 1


# -- too large, mismatched actions, bad arguments ----------------------------------------------


def test_too_large_raises_before_allocating():
    # the compact form of the trivial group on 10^6 points is 10^6 rows of 10^6 ids
    H = groups.trivial(10**6)
    tracemalloc.start()
    try:
        with pytest.raises(ProblemTooLargeError, match=r"would need \d+ bytes") as info:
            eqsolve.solve(H)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # only O(d) bookkeeping (the Schreier forest, orbit labels), never the rows
    assert peak < 128 * H.degree, f"{peak} bytes allocated before refusing"
    needed = int(re.search(r"would need (\d+) bytes", str(info.value)).group(1))
    assert needed >= 4 * 10**12  # at least the int32 rows


def test_dense_table_of_a_large_compact_basis_is_refused():
    # S_{10^5} solves compactly (one root row); its dense table would need 40 GB
    B = eqsolve.solve(groups.symmetric(10**5))
    assert B.dim == 2 and B.rows([0, 77]).tolist()[1][77] == 0
    with pytest.raises(ProblemTooLargeError, match=r"100000 x 100000 orbit table .*would need \d+ bytes"):
        B.orbit_index


def test_too_large_for_max_bytes():
    H = groups.symmetric(100000)
    with pytest.raises(ProblemTooLargeError, match="bytes"):
        eqsolve.solve(H, max_bytes=10**5, cache=False)
    with pytest.raises(ProblemTooLargeError, match=r"would need (\d+) bytes") as info:
        eqsolve.solve(groups.cyclic(30), max_bytes=1000, cache=False)
    assert int(re.search(r"would need (\d+) bytes", str(info.value)).group(1)) >= 30 * 30 * 4
    assert eqsolve.solve(groups.cyclic(30), max_bytes=10**7, cache=False).dim == 30


def test_too_large_between_actions():
    # A_1500 on pairs: the stabilizer of a pair is A_1498, far too long a chain to build
    # on 4.5 million points, and the dense table (5 * 10^12 entries) does not fit either.
    # (S_1500 on pairs now solves from equality patterns, eqsolve._patterns: a few seconds.)
    rho = groups.alternating(1500).action()
    with pytest.raises(ProblemTooLargeError, match="bytes"):
        eqsolve.solve(out=rho.tensor(2), inp=rho.tensor(2))
    with pytest.raises(ProblemTooLargeError, match="bytes"):
        eqsolve.solve(out=rho.tensor(2), inp=rho, max_bytes=10**9)


def test_action_of_another_group_raises():
    C, S = groups.cyclic(4), groups.symmetric(4)
    with pytest.raises(ActionMismatchError, match="belongs to"):
        eqsolve.solve(out=C.action(), inp=S.action())
    with pytest.raises(ActionMismatchError):
        eqsolve.solve(C, out=S.action())
    with pytest.raises(ActionMismatchError):
        eqsolve.solve(C, inp=S.action().tensor(2))
    with pytest.raises(ActionMismatchError):
        C.action() + S.action()
    # a structurally equal group (same generators) is the same group
    assert eqsolve.solve(out=groups.cyclic(4).action(), inp=C.action()).dim == 4


@pytest.mark.parametrize("call", [
    lambda: eqsolve.solve(),
    lambda: eqsolve.solve(groups.cyclic(3).action()),
    lambda: eqsolve.solve("(0 1 2)"),
    lambda: eqsolve.solve([[1, 2, 0]]),
    lambda: eqsolve.solve(out=groups.cyclic(3)),
    lambda: eqsolve.solve(out=groups.cyclic(3).action(), inp=np.eye(3)),
], ids=["nothing", "positional-action", "string", "list", "group-as-out", "array-as-inp"])
def test_bad_arguments_raise_eqsolve_error(call):
    with pytest.raises(EqsolveError):
        call()


# -- large ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_grid_128x128_consistency():
    """grid (128, 128), d = 16384: 268M entries. Regular abelian action, so with canonical ids
    T[0, k] = k and T[i, j] is the index of the torus offset j - i; checked in row blocks."""
    shape = (128, 128)
    h, w = shape
    d = h * w
    H = groups.grid_translations(shape)
    B = eqsolve.solve(H, cache=False)
    T = B.orbit_index
    assert B.dim == d and T.shape == (d, d)
    assert B.bias_index.tolist() == [0] * d
    y, x = np.divmod(np.arange(d), w)
    for start in range(0, d, 1024):
        rows = np.arange(start, min(start + 1024, d))
        expected = ((y[None, :] - y[rows, None]) % h) * w + (x[None, :] - x[rows, None]) % w
        np.testing.assert_array_equal(T[rows], expected)
    # invariance under each generator, on a few rows: T[g(i), g(j)] == T[i, j]
    for g in H.generators:
        for i in (0, 1, 129, d - 1):
            np.testing.assert_array_equal(T[g[i]][g], T[i])


@pytest.mark.slow
@pytest.mark.parametrize("H", [groups.symmetric(2000), groups.dihedral(2000),
                               groups.product_action(groups.cyclic(40), groups.cyclic(50))], ids=lambda H: H.name)
def test_large_groups_closed_forms(H):
    B = eqsolve.solve(H, cache=False)
    d = H.degree
    i, j = np.indices((d, d))
    if H.name.startswith("symmetric"):
        np.testing.assert_array_equal(B.orbit_index, (i != j).astype(int))
    elif H.name.startswith("dihedral"):
        k = (j - i) % d
        assert B.dim == d // 2 + 1
        assert oracle.same_partition(B.orbit_index, np.minimum(k, d - k))
    else:
        yi, xi = np.divmod(i, 50)
        yj, xj = np.divmod(j, 50)
        assert B.dim == d
        np.testing.assert_array_equal(B.orbit_index, ((yj - yi) % 40) * 50 + (xj - xi) % 50)
    assert first_appearance_order(B.orbit_index)
