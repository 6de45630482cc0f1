"""A network for a group given as a graph's automorphisms: signals on the nodes of a graph.

``eqsolve.groups.automorphisms(graph)`` finds generators of Aut(graph) on the nodes; a layer
equivariant to it shares one weight per orbit of Aut(graph) on pairs of nodes. For the
Petersen graph (Aut = S_5, order 120) the orbits on pairs are "same node", "adjacent" and
"at distance 2": E = 3 weights instead of 100. Any map built from the graph itself commutes
with its automorphisms, so a single equivariant layer can represent "sum over neighbours"
(y = A x) exactly; training recovers it from data, with the weights (0, 1, 0).

With ``--full`` the graph is the 5-dimensional hypercube (32 nodes, Aut of order 3840).

    python examples/graph_automorphisms.py
    python examples/graph_automorphisms.py --full
"""

import argparse

import networkx as nx
import numpy as np
import torch

import eqsolve
from eqsolve import layers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the 5-cube instead of the Petersen graph")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    graph = nx.convert_node_labels_to_integers(nx.hypercube_graph(5)) if args.full else nx.petersen_graph()
    torch.manual_seed(args.seed)

    H = eqsolve.groups.automorphisms(graph)  # acts on the nodes in list(graph) order
    B = eqsolve.solve(H)
    d = H.degree
    print(f"Aut(graph): {d} nodes, order {H.order()}, {H.ngens} generators; E = {B.dim} shared "
          f"weights instead of {d * d}")

    layer = layers.EquivariantLinear(B, 1, 1, bias=False).double()
    adjacency = torch.tensor(nx.to_numpy_array(graph, nodelist=list(graph)), dtype=torch.float64)
    x = torch.randn(256, 1, d, dtype=torch.float64)
    y = x @ adjacency.T  # y_i = sum of x_j over the neighbours j of node i
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(300):
        loss = torch.mean((layer(x) - y) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        error = float((layer.dense_weight()[0, 0] - adjacency).abs().max())
    theta = [round(t, 3) + 0.0 for t in layer.weight.detach().flatten().tolist()]
    print(f"fitted y = A x: loss {float(loss.detach()):.1e}, weights {theta}, max |W - A| = {error:.1e}")

    report = layers.testing.assert_equivariant(layer, H, rng=args.seed)
    print(f"Aut(graph) equivariance: worst relative error {report.error:.1e}")
    return {"order": H.order(), "dim": B.dim, "weights": theta, "adjacency_error": error,
            "equivariance_error": report.error}


if __name__ == "__main__":
    main()
