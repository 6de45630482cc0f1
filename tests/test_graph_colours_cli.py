"""graph:FILE:ATTR: node colours of a GraphML file through the CLI's group names."""

import json
import subprocess
import sys

import networkx as nx
import pytest

import eqsolve
from eqsolve import groups


@pytest.fixture()
def coloured_path(tmp_path):
    G = nx.path_graph(4)  # Aut = C2 (the flip); colouring one end red breaks it
    nx.set_node_attributes(G, {0: "red", 1: "blue", 2: "blue", 3: "blue"}, "colour")
    nx.set_node_attributes(G, {0: 1, 1: 1, 2: 1, 3: 1}, "size")
    path = tmp_path / "path.graphml"
    nx.write_graphml(G, path)
    return path


def test_colours_change_the_group(coloured_path):
    assert groups.from_name(f"graph:{coloured_path}").order() == 2
    assert groups.from_name(f"graph:{coloured_path}:colour").order() == 1
    assert groups.from_name(f"graph:{coloured_path}:size").order() == 2
    assert groups.from_name(f"graph:{coloured_path}:size,colour").order() == 1
    # the same as the library call on the same graph
    G = groups.read_graph(coloured_path)
    assert eqsolve.solve(groups.from_name(f"graph:{coloured_path}:colour")).dim == \
        eqsolve.solve(groups.automorphisms(G, node_attr="colour")).dim == 16


def test_cli_json_and_errors(coloured_path):
    run = lambda spec: subprocess.run([sys.executable, "-m", "eqsolve", "solve", "--group", spec, "--json"],
                                      capture_output=True, text=True)
    out = run(f"graph:{coloured_path}:colour")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["dimension"] == 16
    bad = run(f"graph:{coloured_path}:weight")
    assert bad.returncode == 2 and "no node has the attribute(s) ['weight']" in bad.stderr and "colour" in bad.stderr


def test_help_names_the_syntax():
    out = subprocess.run([sys.executable, "-m", "eqsolve", "solve", "--help"], capture_output=True, text=True)
    assert "graph:FILE[:ATTR]" in out.stdout
