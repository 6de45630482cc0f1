"""groups.automorphisms: exact generators, checked against brute force and known groups."""

import itertools
import math

import networkx as nx
import numpy as np
import pytest

import eqsolve
from eqsolve import groups


def _brute_force_order(graph) -> int:
    nodes = list(graph)
    index = {v: i for i, v in enumerate(nodes)}
    edges = {(index[u], index[v]) for u, v in graph.edges()}
    if not graph.is_directed():
        edges |= {(v, u) for u, v in edges}
    return sum(
        all((p[u], p[v]) in edges for u, v in edges) for p in itertools.permutations(range(len(nodes)))
    )


def _is_automorphism(graph, perm) -> bool:
    nodes = list(graph)
    mapped = {(nodes[perm[nodes.index(u)]], nodes[perm[nodes.index(v)]]) for u, v in graph.edges()}
    if graph.is_directed():
        return mapped == set(graph.edges())
    return {frozenset(e) for e in mapped} == {frozenset(e) for e in graph.edges()}


def test_cube_has_order_48_and_four_equivariant_maps():
    G = groups.automorphisms(nx.hypercube_graph(3))
    assert G.order() == 48
    assert eqsolve.solve(G).dim == 4 == eqsolve.count(G, method="burnside")


def test_petersen_and_classic_families():
    assert groups.automorphisms(nx.petersen_graph()).order() == 120
    assert groups.automorphisms(nx.cycle_graph(9)).is_same_group(groups.dihedral(9))
    assert groups.automorphisms(nx.complete_graph(6)).is_same_group(groups.symmetric(6))
    assert groups.automorphisms(nx.empty_graph(5)).order() == 120
    assert groups.automorphisms(nx.cycle_graph(6, create_using=nx.DiGraph)).is_same_group(groups.cyclic(6))


@pytest.mark.parametrize("seed", range(40))
def test_random_small_graphs_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    graph = nx.gnp_random_graph(n, float(rng.uniform(0.2, 0.7)), seed=seed, directed=bool(seed % 3 == 0))
    if seed % 4 == 1 and n:
        graph.add_edge(0, 0)
    G = groups.automorphisms(graph)
    assert all(_is_automorphism(graph, g) for g in G.generators)
    assert G.order() == _brute_force_order(graph)


def test_huge_groups_are_not_enumerated():


    assert groups.automorphisms(nx.star_graph(20)).order() == math.factorial(20)
    ten_triangles = nx.disjoint_union_all([nx.cycle_graph(3)] * 10)
    assert groups.automorphisms(ten_triangles).order() == 6**10 * math.factorial(10)


def test_nodes_keep_their_order_and_labels():
    graph = nx.Graph([("a", "b"), ("b", "c")])
    G = groups.automorphisms(graph)
    assert G.nodes == ("a", "b", "c") and G.node_to_point == {"a": 0, "b": 1, "c": 2}
    assert G.generators.tolist() == [[2, 1, 0]]


def test_not_a_graph_is_an_eqsolve_error():
    with pytest.raises(eqsolve.EqsolveError, match="networkx graph"):
        groups.automorphisms([(0, 1)])


@pytest.mark.parametrize(
    "graph, order",
    [
        (nx.complete_graph(30), math.factorial(30)),
        (nx.star_graph(30), math.factorial(30)),
        (nx.complete_bipartite_graph(6, 9), math.factorial(6) * math.factorial(9)),
        (nx.empty_graph(0), 1),
    ],
    ids=["K30", "star30", "K6,9", "empty0"],
)
def test_twin_classes_give_huge_groups_at_once(graph, order):
    assert groups.automorphisms(graph).order() == order


def _multigraph_brute_force_order(graph) -> int:
    from collections import Counter

    nodes = list(graph)
    index = {v: i for i, v in enumerate(nodes)}
    mult = Counter()
    for u, v in graph.edges():
        a, b = index[u], index[v]
        mult[(a, b)] += 1
        if not graph.is_directed() and a != b:
            mult[(b, a)] += 1
    return sum(
        all(mult.get((p[a], p[b])) == m for (a, b), m in mult.items())
        for p in itertools.permutations(range(len(nodes)))
    )


@pytest.mark.parametrize("seed", range(24))
def test_multigraphs_and_self_loops_against_brute_force(seed):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(1, 7))
    graph = (nx.MultiDiGraph if seed % 2 else nx.MultiGraph)()
    graph.add_nodes_from(range(n))
    for _ in range(int(rng.integers(0, n * n))):
        a, b = rng.integers(0, n, 2)
        graph.add_edge(int(a), int(b))
    G = groups.automorphisms(graph)
    assert G.order() == _multigraph_brute_force_order(graph)


def test_attributes_are_ignored():
    graph = nx.path_graph(3)
    graph.nodes[0]["colour"] = "red"
    graph.edges[0, 1]["weight"] = 5
    assert groups.automorphisms(graph).order() == 2
