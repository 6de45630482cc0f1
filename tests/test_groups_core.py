"""Groups: orders, orbits, uniform sampling, membership, notations and actions."""

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eqsolve
from eqsolve import groups
from eqsolve._perm import compose, inverse

ORDERS = [
    (lambda: groups.trivial(5), 1),
    (lambda: groups.cyclic(7), 7),
    (lambda: groups.dihedral(6), 12),
    (lambda: groups.symmetric(5), 120),
    (lambda: groups.alternating(6), 360),
    (lambda: groups.grid_translations((3, 4, 2)), 24),
    (lambda: groups.direct_product(groups.cyclic(3), groups.symmetric(3)), 18),
    (lambda: groups.product_action(groups.cyclic(3), groups.symmetric(3)), 18),
    (lambda: groups.sets_of(groups.cyclic(4), 3), 24),
    (lambda: groups.wreath(groups.cyclic(3), 3), 27 * 6),
    (lambda: groups.subsets(groups.symmetric(5), 2), 120),
    (lambda: eqsolve.PermutationGroup.from_gap("(1,2,3,4,5,6,7,8,9,10,11), (3,7,11,8)(4,10,5,6)"), 7920),  # M_11
]


@pytest.mark.parametrize("make, order", ORDERS, ids=range(len(ORDERS)))
def test_orders_match_formulas_and_sympy(make, order):
    G = make()
    assert G.order() == order
    # the same generators without the named shortcut, through the stabilizer chain
    plain = eqsolve.PermutationGroup(G.generators, degree=G.degree)
    assert plain.order() == order == G.to_sympy().order()


def test_orbits_and_membership():
    H = eqsolve.PermutationGroup.parse("(0 1 2)(3 4)", degree=6)
    assert H.orbits() == [(0, 1, 2), (3, 4), (5,)]
    assert "(0 1 2)(3 4)" in H and [2, 0, 1, 3, 4, 5] in H
    assert "(0 1)" not in H
    assert groups.dihedral(8).contains("(1 7)(2 6)(3 5)") and not groups.cyclic(8).contains("(1 7)(2 6)(3 5)")


def test_composition_convention():
    p, q = np.array([1, 0, 2]), np.array([0, 2, 1])
    assert compose(p, q).tolist() == [p[q[i]] for i in range(3)] == [1, 2, 0]
    assert compose(q, p).tolist() == [2, 0, 1]  # the pair does not commute
    assert compose(p, inverse(p)).tolist() == [0, 1, 2]


@pytest.mark.parametrize("make", [lambda: groups.dihedral(4), lambda: eqsolve.PermutationGroup.parse("(0 1 2 3); (0 1)")])
def test_random_element_is_uniform(make):
    G = make()
    rng = np.random.default_rng(3)
    draws = 200 * G.order()
    counts = Counter(tuple(G.random_element(rng)) for _ in range(draws))
    assert len(counts) == G.order() and all(tuple(g) in counts for g in G.generators)
    expected = draws / G.order()
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    # chi-square with |G| - 1 degrees of freedom: far below the 99.9% quantile for a uniform sampler
    assert chi2 < (G.order() - 1) + 5 * math.sqrt(2 * (G.order() - 1)) + 10


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 9).flatmap(lambda d: st.lists(st.permutations(list(range(d))), min_size=0, max_size=3).map(lambda g: (d, g))))
def test_notations_round_trip(data):
    d, gens = data
    H = eqsolve.PermutationGroup(gens, degree=d)
    assert eqsolve.PermutationGroup.parse(str(H), degree=d) == H if gens else True
    assert eqsolve.PermutationGroup.from_gap(H.to_gap(), degree=d) == H if gens else True
    assert eval(repr(H), {"PermutationGroup": eqsolve.PermutationGroup}) == H if gens else True


def test_sympy_inputs():
    from sympy.combinatorics import Permutation
    from sympy.combinatorics.named_groups import DihedralGroup

    assert eqsolve.PermutationGroup(DihedralGroup(5)).order() == 10
    assert eqsolve.PermutationGroup([Permutation(0, 1, 2)], degree=4).generators.tolist() == [[1, 2, 0, 3]]


def test_actions_are_homomorphisms():
    H = groups.dihedral(5)
    rng = np.random.default_rng(0)
    rho = H.action()
    for action in (rho.tensor(2), rho.subsets(2), rho + H.trivial(), rho * rho.subsets(2), rho.tensor(0)):
        for _ in range(5):
            g, h = H.random_element(rng), H.random_element(rng)
            assert np.array_equal(action.image_of(compose(g, h)), compose(action.image_of(g), action.image_of(h)))
        for s, gen in enumerate(H.generators):
            assert np.array_equal(action.images[s], action.image_of(gen))
    with pytest.raises(eqsolve.ActionMismatchError):
        rho + groups.cyclic(5).action()


def test_from_name_covers_every_kind():
    for spec, degree in [("cyclic:5", 5), ("dihedral:6", 6), ("symmetric:4", 4), ("alternating:5", 5), ("trivial:3", 3),
                         ("grid:4x5", 20), ("sets:cyclic:5:3", 15), ("wreath:cyclic:3:4", 12), ("subsets:6:2", 15),
                         ("product:symmetric:3,cyclic:4", 12), ("direct:symmetric:3,cyclic:4", 7), ("hypercube:3", 8)]:
        assert groups.from_name(spec).degree == degree, spec


def test_large_named_groups_know_their_order_without_a_chain():
    assert groups.symmetric(4096).order() == math.factorial(4096)
    assert groups.alternating(1000).order() == math.factorial(1000) // 2
    g = groups.alternating(1000).random_element(np.random.default_rng(0))
    assert groups.alternating(1000).contains(g)


def test_giants_by_plain_generators_are_recognised_exactly():
    from eqsolve._chain import GiantChain, find_giant

    for G, expected in [(groups.symmetric(300), math.factorial(300)), (groups.alternating(101), math.factorial(101) // 2)]:
        plain = eqsolve.PermutationGroup(G.generators, degree=G.degree)
        assert isinstance(plain.chain, GiantChain)
        assert plain.order() == expected
        g = plain.random_element(np.random.default_rng(1))
        assert plain.contains(g)
    # small giants agree with sympy; non-giants are never claimed
    for G in (groups.symmetric(9), groups.alternating(10)):
        assert eqsolve.PermutationGroup(G.generators, degree=G.degree).order() == G.to_sympy().order()
    m11 = eqsolve.PermutationGroup.from_gap("(1,2,3,4,5,6,7,8,9,10,11), (3,7,11,8)(4,10,5,6)")
    for G in (groups.dihedral(40), m11, groups.wreath(groups.symmetric(3), 4), groups.product_action(groups.symmetric(4), groups.symmetric(5))):
        assert find_giant(G.generators, G.degree) is None
    assert not eqsolve.PermutationGroup(groups.alternating(12).generators, degree=12).contains("(0 1)")


def test_cycle_products_act_left_to_right_like_gap_and_sympy():
    from sympy.combinatorics import Permutation

    assert eqsolve.PermutationGroup.parse("(0 1)(1 2)").generators.tolist() == [Permutation(0, 1)(1, 2).array_form]
    assert eqsolve.PermutationGroup.from_gap("(1,2)(2,3)").generators.tolist() == [[2, 0, 1]]
