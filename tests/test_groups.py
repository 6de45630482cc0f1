"""Groups: named constructors, stabilizer chains (both backends), sampling, membership, actions."""

import math
from collections import Counter

import networkx as nx
import numpy as np
import pytest

import eqsolve
from eqsolve import groups
from eqsolve._chain import GiantChain, StabilizerChain, stabilizer_chain
from eqsolve._perm import compose, inverse, parity

M11_GAP = "(1,2,3,4,5,6,7,8,9,10,11), (3,7,11,8)(4,10,5,6)"
M12_GAP = M11_GAP + ", (1,12)(2,11)(3,6)(4,8)(5,9)(7,10)"

# (id, constructor, degree, order by formula)
NAMED = [
    ("trivial0", lambda: groups.trivial(0), 0, 1),
    ("trivial4", lambda: groups.trivial(4), 4, 1),
    ("cyclic1", lambda: groups.cyclic(1), 1, 1),
    ("cyclic9", lambda: groups.cyclic(9), 9, 9),
    ("dihedral3", lambda: groups.dihedral(3), 3, 6),
    ("dihedral10", lambda: groups.dihedral(10), 10, 20),
    ("symmetric1", lambda: groups.symmetric(1), 1, 1),
    ("symmetric2", lambda: groups.symmetric(2), 2, 2),
    ("symmetric7", lambda: groups.symmetric(7), 7, 5040),
    ("alternating3", lambda: groups.alternating(3), 3, 3),
    ("alternating7", lambda: groups.alternating(7), 7, 2520),
    ("grid1d", lambda: groups.grid_translations(6), 6, 6),
    ("grid3x5", lambda: groups.grid_translations((3, 5)), 15, 15),
    ("grid2x3x2", lambda: groups.grid_translations((2, 3, 2)), 12, 12),
    ("direct", lambda: groups.direct_product(groups.cyclic(4), groups.symmetric(3), groups.trivial(2)), 9, 24),
    ("product", lambda: groups.product_action(groups.symmetric(3), groups.cyclic(4)), 12, 24),
    ("sets_of", lambda: groups.sets_of(groups.dihedral(4), 3), 12, 6 * 8),
    ("sets_of1", lambda: groups.sets_of(groups.cyclic(5), 1), 5, 5),
    ("wreath", lambda: groups.wreath(groups.cyclic(3), 4), 12, 3**4 * 24),
    ("wreath_s", lambda: groups.wreath(groups.symmetric(3), 2), 6, 6**2 * 2),
    ("subsets", lambda: groups.subsets(groups.symmetric(6), 2), 15, 720),
    ("subsets3", lambda: groups.subsets(groups.cyclic(6), 3), 20, 6),
    ("cube", lambda: groups.automorphisms(nx.hypercube_graph(3)), 8, 48),
    ("petersen", lambda: groups.automorphisms(nx.petersen_graph()), 10, 120),
    ("M11", lambda: eqsolve.PermutationGroup.from_gap(M11_GAP), 11, 7920),
    ("M12", lambda: eqsolve.PermutationGroup.from_gap(M12_GAP), 12, 95040),
]


@pytest.mark.parametrize("make, degree, order", [c[1:] for c in NAMED], ids=[c[0] for c in NAMED])
def test_named_orders_match_formula_plain_chain_and_sympy(make, degree, order):
    G = make()
    assert G.degree == degree
    assert G.order() == order
    plain = eqsolve.PermutationGroup(G.generators, degree=G.degree)  # no named shortcut
    assert plain.order() == order
    if degree:
        assert int(G.to_sympy().order()) == order
    for g in G.generators:
        assert G.contains(g) and plain.contains(g)


@pytest.mark.parametrize("make, degree, order", [c[1:] for c in NAMED], ids=[c[0] for c in NAMED])
def test_named_shortcuts_agree_with_the_chain(make, degree, order):
    G = make()
    plain = eqsolve.PermutationGroup(G.generators, degree=G.degree)
    rng = np.random.default_rng(7)
    for _ in range(10):
        g = G.random_element(rng)
        assert plain.contains(g), g
        assert G.contains(g)
        x = rng.permutation(degree)
        assert G.contains(x) == plain.contains(x)


def _random_small_group(rng):
    d = int(rng.integers(1, 11))
    gens = []
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.3:
            gens.append(rng.permutation(d))
            continue
        p = np.arange(d)
        for _ in range(int(rng.integers(1, 3))):
            size = min(d, int(rng.integers(1, 5)))
            s = rng.choice(d, size=size, replace=False)
            step = np.arange(d)
            step[s] = np.roll(s, 1)
            p = step[p]
        gens.append(p)
    return eqsolve.PermutationGroup(gens, degree=d)


@pytest.mark.parametrize("seed", range(60))
def test_chain_against_sympy_on_random_groups(seed):
    from sympy.combinatorics import Permutation

    rng = np.random.default_rng(seed)
    G = _random_small_group(rng)
    S = G.to_sympy()
    chain = stabilizer_chain(G.generators, G.degree)
    assert chain.order == int(S.order())
    for _ in range(8):
        x = rng.permutation(G.degree)
        assert chain.contains(x) == S.contains(Permutation(x.tolist(), size=G.degree))
        r = chain.random_element(rng)
        assert S.contains(Permutation(r.tolist(), size=G.degree))
    if chain.order <= 3000:
        elements = np.concatenate(list(chain.iter_elements(37)))
        assert elements.shape == (chain.order, G.degree)
        assert len({e.tobytes() for e in elements}) == chain.order
        assert all(chain.contains(e) for e in elements[:: max(1, len(elements) // 50)])


def test_iter_elements_of_a_giant_lists_each_element_once():
    chain = stabilizer_chain(groups.alternating(8).generators, 8)
    assert isinstance(chain, GiantChain)
    elements = np.concatenate(list(chain.iter_elements(1000)))
    assert len(elements) == math.factorial(8) // 2 == len({e.tobytes() for e in elements})
    assert all(parity(e) == 0 for e in elements[::997])


LARGE = [
    ("cyclic4096", lambda: groups.cyclic(4096), 4096, StabilizerChain),
    ("dihedral4096", lambda: groups.dihedral(4096), 8192, StabilizerChain),
    ("symmetric4096", lambda: groups.symmetric(4096), math.factorial(4096), GiantChain),
    ("alternating501", lambda: groups.alternating(501), math.factorial(501) // 2, GiantChain),
    ("grid128x128", lambda: groups.grid_translations((128, 128)), 16384, StabilizerChain),
    ("C64xC64", lambda: groups.product_action(groups.cyclic(64), groups.cyclic(64)), 4096, StabilizerChain),
    ("S20pairs", lambda: groups.subsets(groups.symmetric(20), 2), math.factorial(20), StabilizerChain),
    ("wreathC3_5", lambda: groups.wreath(groups.cyclic(3), 5), 3**5 * 120, StabilizerChain),
]


@pytest.mark.parametrize("make, order, backend", [c[1:] for c in LARGE], ids=[c[0] for c in LARGE])
def test_large_groups_by_plain_generators_are_exact(make, order, backend):
    named = make()
    G = eqsolve.PermutationGroup(named.generators, degree=named.degree)
    assert isinstance(G.chain, backend)
    assert G.order() == order == named.order()
    rng = np.random.default_rng(0)
    g = G.random_element(rng)
    assert G.contains(g) and named.contains(g)
    assert G.contains(compose(g, inverse(named.generators[0])))
    # a transposition is in none of these except the symmetric group
    t = np.arange(G.degree)
    t[[0, 1]] = [1, 0]
    assert G.contains(t) == (backend is GiantChain and order == math.factorial(G.degree))


def test_giant_of_a_group_moving_only_some_points():
    # S_10 on points 5..14 of 20: a giant on its support, fixed points stay fixed
    inner = groups.symmetric(10).generators + 5
    gens = np.tile(np.arange(20), (len(inner), 1))
    gens[:, 5:15] = inner
    G = eqsolve.PermutationGroup(gens, degree=20)
    assert isinstance(G.chain, GiantChain) and G.order() == math.factorial(10)
    rng = np.random.default_rng(2)
    for _ in range(20):
        g = G.random_element(rng)
        assert np.array_equal(g[:5], np.arange(5)) and np.array_equal(g[15:], np.arange(15, 20))
    assert not G.contains("(0 5)") and G.contains("(5 14)")


def _chi_square(samples, group_order):
    counts = Counter(samples)
    expected = len(samples) / group_order
    return len(counts), sum((c - expected) ** 2 / expected for c in counts.values()) + expected * (group_order - len(counts))


@pytest.mark.parametrize(
    "make",
    [
        lambda: eqsolve.PermutationGroup(groups.dihedral(5).generators, degree=5),  # Schreier-Sims chain
        lambda: eqsolve.PermutationGroup(groups.alternating(8).generators, degree=8),  # giant, order 20160
        lambda: groups.wreath(groups.cyclic(2), 3),  # named sampler
        lambda: eqsolve.PermutationGroup.parse("(0 1)(2 3); (0 2)(1 3); (4 5 6)"),  # intransitive
    ],
    ids=["chain", "giant", "named", "intransitive"],
)
def test_random_element_is_uniform_chi_square(make):
    G = make()
    n = G.order()
    rng = np.random.default_rng(12345)
    draws = max(30 * n, 20000) if n <= 1000 else 3 * n
    samples = [G.random_element(rng).tobytes() for _ in range(draws)]
    seen, chi2 = _chi_square(samples, n)
    if n <= 1000:
        assert seen == n
    # chi-square with n - 1 degrees of freedom: mean n - 1, sd sqrt(2(n - 1)); 6 sd is far out
    assert chi2 < (n - 1) + 6 * math.sqrt(2 * (n - 1)) + 10
    assert all(G.contains(np.frombuffer(s, dtype=np.int64)) for s in samples[:50])


def test_random_element_accepts_seed_and_generator_and_is_reproducible():
    G = eqsolve.PermutationGroup(groups.dihedral(12).generators, degree=12)
    a = [G.random_element(np.random.default_rng(5)).tolist() for _ in range(2)]
    assert a[0] == a[1]
    assert G.random_element(5).tolist() == a[0]


def test_orbits():
    assert groups.direct_product(groups.cyclic(3), groups.trivial(2)).orbits() == [(0, 1, 2), (3,), (4,)]
    assert groups.sets_of(groups.cyclic(2), 3).orbits() == [(0, 1, 2, 3, 4, 5)]
    assert groups.product_action(groups.trivial(2), groups.cyclic(3)).orbits() == [(0, 1, 2), (3, 4, 5)]
    assert eqsolve.PermutationGroup([], degree=0).orbits() == []
    assert eqsolve.PermutationGroup.parse("(5 3)(0 4)", degree=7).orbits() == [(0, 4), (1,), (2,), (3, 5), (6,)]


def test_membership_forms():
    D = groups.dihedral(6)
    assert "(1 5)(2 4)" in D and [5, 4, 3, 2, 1, 0] in D and np.array([1, 2, 3, 4, 5, 0]) in D
    assert "(0 1)" not in D
    assert groups.cyclic(6).is_same_group(eqsolve.PermutationGroup.parse("(0 2 4)(1 3 5); (0 3)(1 4)(2 5)"))
    assert not groups.cyclic(6).is_same_group(groups.dihedral(6))


def test_composition_convention_on_a_non_commuting_pair():
    p = np.array([1, 0, 2])  # (0 1)
    q = np.array([0, 2, 1])  # (1 2)
    pq, qp = compose(p, q), compose(q, p)
    assert pq.tolist() == [p[q[i]] for i in range(3)] == [1, 2, 0]  # q first: 0 -> 0 -> 1
    assert qp.tolist() == [2, 0, 1] and pq.tolist() != qp.tolist()
    # a cycle product acts left to right: "(1 2)(0 1)" is compose((0 1), (1 2)) = p after q
    assert eqsolve.PermutationGroup.parse("(1 2)(0 1)").generators[0].tolist() == pq.tolist()
    assert compose(pq, inverse(pq)).tolist() == [0, 1, 2]


@pytest.mark.parametrize("make", [c[1] for c in NAMED if c[2] > 0], ids=[c[0] for c in NAMED if c[2] > 0])
def test_string_forms_round_trip(make):
    H = make()
    assert eqsolve.PermutationGroup.parse(str(H), degree=H.degree) == H
    assert eqsolve.PermutationGroup.from_gap(H.to_gap(), degree=H.degree) == H
    # a named group's repr is its name, which rebuilds it from eqsolve.groups
    unnamed = eqsolve.PermutationGroup(H.generators, degree=H.degree)
    assert eval(repr(unnamed), {"PermutationGroup": eqsolve.PermutationGroup}) == H
    if H.name is None:
        return
    assert repr(H) == H.name and len(repr(H)) < 80
    if not H.name.startswith("automorphisms"):  # a graph is not part of the name
        assert eval(repr(H), {**vars(groups), "PermutationGroup": eqsolve.PermutationGroup}) == H


def test_from_gap_variants():
    G = eqsolve.PermutationGroup.from_gap("Group((1,2,3)(4,5), (1,2))")
    assert G == eqsolve.PermutationGroup.from_gap("[(1,2,3)(4,5), (1,2)]") == eqsolve.PermutationGroup.parse(
        "(0 1 2)(3 4); (0 1)"
    )
    assert G.order() == 12
    assert eqsolve.PermutationGroup.from_gap("()", degree=3).order() == 1
    assert eqsolve.PermutationGroup.from_gap("(1,2)", degree=5).degree == 5


def test_sympy_permutations_and_groups():
    from sympy.combinatorics import Permutation
    from sympy.combinatorics import PermutationGroup as SympyGroup
    from sympy.combinatorics.named_groups import AlternatingGroup, SymmetricGroup

    assert eqsolve.PermutationGroup(SymmetricGroup(6)).order() == 720
    assert eqsolve.PermutationGroup(AlternatingGroup(5)).is_same_group(groups.alternating(5))
    mixed = eqsolve.PermutationGroup([Permutation(0, 1, 2), "(3 4)", [1, 0, 2, 3, 4]], degree=5)
    assert mixed.order() == 12
    S = SympyGroup([Permutation(0, 3)(1, 2)])
    assert eqsolve.PermutationGroup(S).generators.tolist() == [[3, 2, 1, 0]]
    assert eqsolve.PermutationGroup(groups.dihedral(7).to_sympy()).is_same_group(groups.dihedral(7))


def _actions(H):
    rho = H.action()
    return {
        "points": rho,
        "trivial": H.trivial(),
        "tensor0": rho.tensor(0),
        "tensor2": rho.tensor(2),
        "tensor3": rho.tensor(3),
        "subsets1": rho.subsets(1),
        "subsets2": rho.subsets(2),
        "subsets3": rho.subsets(3),
        "sum": rho + rho.subsets(2) + H.trivial(),
        "product": rho * rho.subsets(2),
    }


@pytest.mark.parametrize("name", list(_actions(groups.dihedral(3))))
def test_actions_are_homomorphisms(name):
    H = groups.wreath(groups.cyclic(2), 2)  # order 8, not abelian
    action = _actions(H)[name]
    rng = np.random.default_rng(11)
    for s, gen in enumerate(H.generators):
        assert np.array_equal(action.images[s], action.image_of(gen))
    identity = np.arange(H.degree)
    assert np.array_equal(action.image_of(identity), np.arange(action.degree))
    for _ in range(6):
        g, h = H.random_element(rng), H.random_element(rng)
        assert np.array_equal(action.image_of(compose(g, h)), compose(action.image_of(g), action.image_of(h)))
        assert np.array_equal(action.image_of(inverse(g)), inverse(action.image_of(g)))


def test_action_degrees_and_layout():
    H = groups.cyclic(5)
    rho = H.action()
    assert [rho.tensor(k).degree for k in range(4)] == [1, 5, 25, 125]
    assert [rho.subsets(k).degree for k in range(6)] == [1, 5, 10, 10, 5, 1]
    assert (rho + H.trivial()).degree == 6 and (rho * rho).degree == 25
    # tensor(2) is row-major on [d] x [d], the same as rho * rho
    assert np.array_equal(rho.tensor(2).images, (rho * rho).images)
    # the disjoint union keeps the first action on its own points
    assert np.array_equal((rho + rho).images[0][:5], rho.images[0])


def test_images_only_action_points_to_random_elements():
    H = groups.symmetric(4)
    custom = eqsolve.Action(H, H.action().tensor(2).images)
    with pytest.raises(eqsolve.EqsolveError, match=r"eqsolve\.random_elements\(rng, actions\)"):
        custom.image_of(np.arange(4))
    rng = np.random.default_rng(0)
    for _ in range(10):
        g, gg = eqsolve.random_elements(rng, [H.action(), custom])
        assert H.contains(g)
        assert np.array_equal(gg, H.action().tensor(2).image_of(g))


def test_random_elements_matches_every_action():
    H = groups.dihedral(6)
    actions = list(_actions(H).values())
    rng = np.random.default_rng(4)
    for _ in range(5):
        images = eqsolve.random_elements(rng, actions)
        g = images[0]
        assert H.contains(g)
        for action, image in zip(actions, images):
            assert np.array_equal(image, action.image_of(g))
    with pytest.raises(eqsolve.ActionMismatchError):
        eqsolve.random_elements(rng, [H.action(), groups.cyclic(6).action()])
    with pytest.raises(eqsolve.EqsolveError, match="at least one action"):
        eqsolve.random_elements(rng, [])


def test_constructor_structure():
    # sets_of(H, n): S_n permutes the blocks [i*d, (i+1)*d), H acts inside each block simultaneously
    G = groups.sets_of(groups.cyclic(3), 2)
    assert G.contains("(0 3)(1 4)(2 5)") and G.contains("(0 1 2)(3 4 5)") and not G.contains("(0 1 2)")
    # wreath: each block its own element of H
    W = groups.wreath(groups.cyclic(3), 2)
    assert W.contains("(0 1 2)") and W.contains("(0 3)(1 4)(2 5)") and not W.contains("(0 1)")
    # product_action: coordinatewise on [d1] x [d2], point (a, b) is a * d2 + b
    P = groups.product_action(groups.cyclic(2), groups.trivial(3))
    assert P.generators.tolist() == [[3, 4, 5, 0, 1, 2]]
    # subsets of S_4 on 2-subsets in lexicographic order: (0 1) swaps {0,2} <-> {1,2} (points 1 and 3)
    S = groups.subsets(groups.symmetric(4), 2)
    assert S.contains("(1 3)(2 4)")
    # grid_translations: shift along each axis, row-major
    T = groups.grid_translations((2, 3))
    assert T.contains("(0 1 2)(3 4 5)") and T.contains("(0 3)(1 4)(2 5)") and not T.contains("(0 1 2)")


@pytest.mark.parametrize(
    "spec, same",
    [
        ("trivial:3", lambda: groups.trivial(3)),
        ("cyclic:5", lambda: groups.cyclic(5)),
        ("dihedral:6", lambda: groups.dihedral(6)),
        ("symmetric:4", lambda: groups.symmetric(4)),
        ("alternating:5", lambda: groups.alternating(5)),
        ("grid:4x5", lambda: groups.grid_translations((4, 5))),
        ("grid:2x2x3", lambda: groups.grid_translations((2, 2, 3))),
        ("sets:cyclic:5:3", lambda: groups.sets_of(groups.cyclic(5), 3)),
        ("wreath:cyclic:3:4", lambda: groups.wreath(groups.cyclic(3), 4)),
        ("subsets:6:2", lambda: groups.subsets(groups.symmetric(6), 2)),
        ("product:symmetric:3,cyclic:4", lambda: groups.product_action(groups.symmetric(3), groups.cyclic(4))),
        ("direct:symmetric:3,cyclic:4", lambda: groups.direct_product(groups.symmetric(3), groups.cyclic(4))),
        ("hypercube:3", lambda: groups.automorphisms(nx.hypercube_graph(3))),
    ],
)
def test_from_name(spec, same):
    G, H = groups.from_name(spec), same()
    assert G.degree == H.degree and G.order() == H.order()
    assert G.is_same_group(H) or spec.startswith("hypercube")  # hypercube nodes are relabelled 0..2^k-1


def test_solve_dimensions_of_constructed_groups():
    assert eqsolve.solve(groups.automorphisms(nx.hypercube_graph(3))).dim == 4
    assert eqsolve.solve(groups.subsets(groups.symmetric(6), 2)).dim == 3
    assert eqsolve.solve(groups.product_action(groups.symmetric(3), groups.symmetric(4))).dim == 4
    assert eqsolve.solve(groups.sets_of(groups.cyclic(5), 3)).dim == 2 * 5
