"""groups.automorphisms: exact generators, checked against brute force and known groups."""

import itertools

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
    import math

    assert groups.automorphisms(nx.star_graph(20)).order() == math.factorial(20)
    ten_triangles = nx.disjoint_union_all([nx.cycle_graph(3)] * 10)
    assert groups.automorphisms(ten_triangles).order() == 6**10 * math.factorial(10)


def test_nodes_keep_their_order_and_labels():
    graph = nx.Graph([("a", "b"), ("b", "c")])
    G = groups.automorphisms(graph)
    assert G.nodes == ["a", "b", "c"]
    assert G.generators.tolist() == [[2, 1, 0]]


def test_not_a_graph_is_an_eqsolve_error():
    with pytest.raises(eqsolve.EqsolveError, match="networkx graph"):
        groups.automorphisms([(0, 1)])
