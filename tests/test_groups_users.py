"""Groups as users have them: the forms people type, checked against independent methods."""

import itertools
import json
import subprocess
import sys

import networkx as nx
import pytest

import eqsolve
from eqsolve import groups


def _brute_automorphisms(graph, colour=None):
    """Every colour-preserving automorphism, by trying all permutations (tiny graphs only)."""
    nodes = list(graph)
    edges = {frozenset((u, v)) for u, v in graph.edges()}
    found = 0
    for perm in itertools.permutations(range(len(nodes))):
        image = {nodes[i]: nodes[p] for i, p in enumerate(perm)}
        if colour and any(colour[v] != colour[image[v]] for v in nodes):
            continue
        if {frozenset((image[u], image[v])) for u, v in graph.edges()} == edges:
            found += 1
    return found


def test_one_flat_generator_says_how_to_write_it():
    with pytest.raises(eqsolve.EqsolveError, match=r"PermutationGroup\(\[\[1, 2, 0\]\]\)"):
        eqsolve.PermutationGroup([1, 2, 0])
    assert eqsolve.PermutationGroup([[1, 2, 0]]).order() == 3


def test_sympy_permutations_of_different_sizes_are_padded_as_sympy_does():
    from sympy.combinatorics import Permutation
    from sympy.combinatorics import PermutationGroup as SympyGroup

    gens = [Permutation([1, 0]), Permutation([0, 2, 1]), Permutation([0, 1, 2, 4, 3])]
    ours = eqsolve.PermutationGroup(gens)
    theirs = SympyGroup(gens)
    assert ours.degree == theirs.degree == 5
    assert ours.order() == theirs.order() == 12
    assert ours.generators.tolist() == [g.array_form for g in theirs.generators]


def test_direct_product_operator():
    H, K = groups.cyclic(3), groups.dihedral(4)
    P = H * K
    assert P.degree == 7 and P.order() == 3 * 8
    assert P.is_same_group(groups.direct_product(H, K))
    # an independent check: the chain's order of the plain generators, without the named order
    assert eqsolve.PermutationGroup(P.generators, degree=7).order() == 24


def test_groups_are_immutable_and_facts_are_constructor_fields():
    G = groups.grid_translations((2, 3))
    assert G.shape == (2, 3) and G.name == "grid_translations((2, 3))"
    for attr in ("name", "shape", "nodes", "order", "degree"):
        with pytest.raises(AttributeError):
            setattr(G, attr, None)
    H = eqsolve.PermutationGroup([[1, 2, 0]], name="mine", order=3)
    assert repr(H) == "mine" and H.order() == 3
    with pytest.raises(eqsolve.DegreeMismatchError):
        eqsolve.PermutationGroup([[1, 0]], shape=(3,))


def test_repr_of_a_large_named_group_is_short():
    G = groups.cyclic(1000)
    assert repr(G) == "cyclic(1000)"
    assert eval(repr(groups.sets_of(groups.cyclic(5), 3)), vars(groups)) == groups.sets_of(groups.cyclic(5), 3)


@pytest.mark.parametrize("graph, colour", [
    (nx.path_graph(4), {0: "r", 1: "b", 2: "b", 3: "b"}),
    (nx.cycle_graph(6), {i: i % 2 for i in range(6)}),
    (nx.complete_graph(5), {0: 1, 1: 1, 2: 2, 3: 2, 4: 2}),
    (nx.star_graph(4), {0: "c", 1: "x", 2: "x", 3: "y", 4: "y"}),
])
def test_coloured_automorphisms_match_brute_force(graph, colour):
    nx.set_node_attributes(graph, colour, "colour")
    by_attr = groups.automorphisms(graph, node_attr="colour")
    by_match = groups.automorphisms(graph, node_match=lambda a, b: a["colour"] == b["colour"])
    expected = _brute_automorphisms(graph, colour)
    assert by_attr.order() == by_match.order() == expected
    assert groups.automorphisms(graph).order() == _brute_automorphisms(graph)
    # every generator keeps the colours, as a map of nodes
    for g in by_attr.generators:
        assert all(colour[by_attr.nodes[i]] == colour[by_attr.nodes[int(g[i])]] for i in range(len(g)))


def test_coloured_path_is_not_the_plain_path():
    P = nx.path_graph(3)
    nx.set_node_attributes(P, {0: "red", 1: "blue", 2: "blue"}, "colour")
    assert groups.automorphisms(P).order() == 2
    assert groups.automorphisms(P, node_attr="colour").order() == 1
    with pytest.raises(eqsolve.EqsolveError, match="attribute"):
        groups.automorphisms(P, node_attr="weight")


def test_graph_files_edge_list_and_graphml(tmp_path):
    cube = nx.hypercube_graph(3)
    cube = nx.convert_node_labels_to_integers(cube)
    edges = tmp_path / "cube.txt"
    nx.write_edgelist(cube, edges, data=False)
    graphml = tmp_path / "cube.graphml"
    nx.write_graphml(cube, graphml)
    for path in (edges, graphml):
        G = groups.from_name(f"graph:{path}")
        assert G.order() == 48 and G.degree == 8
    out = subprocess.run([sys.executable, "-m", "eqsolve", "solve", "--group", f"graph:{edges}", "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # E = orbits of Aut(Q_3) on pairs = 4 (distance 0, 1, 2, 3), against the brute-force count
    assert json.loads(out.stdout)["dimension"] == eqsolve.count(G, method="burnside") == 4
    with pytest.raises(eqsolve.EqsolveError, match="does not exist"):
        groups.from_name(f"graph:{tmp_path / 'missing.txt'}")
    bad = tmp_path / "bad.graphml"
    bad.write_text("<graphml><broken")
    with pytest.raises(eqsolve.EqsolveError, match="bad.graphml"):
        groups.from_name(f"graph:{bad}")


def test_subsets_takes_any_named_group():
    G = groups.from_name("subsets:dihedral:6:2")
    assert G.degree == 15
    assert G.is_same_group(groups.subsets(groups.dihedral(6), 2))
    assert groups.from_name("subsets:6:2").is_same_group(groups.subsets(groups.symmetric(6), 2))


def test_named_registry_drives_from_name_errors_and_help():
    for kind, entry in groups.NAMED.items():
        assert entry.syntax.startswith(kind + ":")
        assert entry.syntax in groups.named_help()
    with pytest.raises(eqsolve.EqsolveError) as err:
        groups.from_name("nosuch:3")
    for entry in groups.NAMED.values():
        assert entry.syntax in str(err.value)
    from eqsolve.cli import build_parser

    solve = build_parser()._subparsers._group_actions[0].choices["solve"]
    help_text = solve.format_help()
    for entry in groups.NAMED.values():
        assert f"{entry.syntax:<24}{entry.meaning}" in help_text


def test_import_eqsolve_does_not_import_sympy_or_torch():
    code = "import sys, eqsolve; eqsolve.groups.cyclic(5).order(); print('sympy' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.split() == ["False", "False"]
