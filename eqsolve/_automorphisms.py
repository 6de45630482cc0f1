"""Exact generators of the automorphism group of a networkx graph.

A stabilizer-chain search: for base points b_1, b_2, ... and every candidate
image x of b_i, find ONE automorphism that fixes b_1..b_{i-1} and maps b_i to x
(networkx's VF2 matcher on colour-refined, pinned copies of the graph),
skipping candidates already in the orbit of b_i under the generators found so
far. The generators of all levels then generate Aut(graph) (Schreier–Sims
style); the group is never enumerated. Node and edge attributes are ignored;
edge direction and self-loops are respected.

>>> import networkx as nx
>>> gens = automorphism_generators(nx.cycle_graph(5))
>>> import eqsolve
>>> eqsolve.PermutationGroup(gens, degree=5).order()
10
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ._errors import EqsolveError


def automorphism_generators(graph) -> list[np.ndarray]:
    """Generators (array forms on ``list(graph)`` positions) of Aut(graph)."""
    if not isinstance(graph, (nx.Graph, nx.DiGraph)):
        raise EqsolveError(f"automorphisms expects a networkx graph, got {type(graph).__name__}")
    nodes = list(graph)
    n = len(nodes)
    if n <= 1:
        return []
    position = {v: i for i, v in enumerate(nodes)}
    directed = graph.is_directed()
    simple = (nx.DiGraph if directed else nx.Graph)()
    simple.add_nodes_from(range(n))
    simple.add_edges_from((position[u], position[v]) for u, v in graph.edges())
    outs = [sorted(simple.successors(v)) if directed else sorted(simple.neighbors(v)) for v in range(n)]
    ins = [sorted(simple.predecessors(v)) for v in range(n)] if directed else outs
    base_colour = [(len(outs[v]), len(ins[v]), simple.has_edge(v, v)) for v in range(n)]

    def refine(pins: list[int]) -> list[int]:
        """Canonical equitable colouring with ``pins`` individualised (in order)."""
        colour = [(base_colour[v], pins.index(v) if v in pins else -1) for v in range(n)]
        colour = _rank(colour)
        while True:
            signature = [
                (colour[v], tuple(sorted(colour[u] for u in outs[v])), tuple(sorted(colour[u] for u in ins[v])))
                for v in range(n)
            ]
            new = _rank(signature)
            if len(set(new)) == len(set(colour)):
                return new
            colour = new

    matcher_cls = nx.algorithms.isomorphism.DiGraphMatcher if directed else nx.algorithms.isomorphism.GraphMatcher
    generators: list[np.ndarray] = []
    base: list[int] = []
    while True:
        colour = refine(base)
        cells: dict[int, list[int]] = {}
        for v in range(n):
            cells.setdefault(colour[v], []).append(v)
        open_cells = [cell for cell in cells.values() if len(cell) > 1]
        if not open_cells:
            return generators
        cell = min(open_cells, key=lambda c: (len(c), c[0]))
        point = cell[0]
        pinned = base + [point]
        source = _coloured(simple, refine(pinned))
        # generators fixing the current base act on the candidates; their orbit needs no search
        level_gens = [g for g in generators if all(g[b] == b for b in base)]
        orbit = _orbit(point, level_gens)
        for x in cell:
            if x in orbit:
                continue
            target = _coloured(simple, refine(base + [x]))
            matcher = matcher_cls(source, target, node_match=lambda a, b: a["c"] == b["c"])
            mapping = next(matcher.isomorphisms_iter(), None)
            if mapping is None:
                continue
            g = np.empty(n, dtype=np.int64)
            for u, v in mapping.items():
                g[u] = v
            generators.append(g)
            level_gens.append(g)
            orbit = _orbit(point, level_gens)
        base.append(point)


def _rank(values: list) -> list[int]:
    order = {value: rank for rank, value in enumerate(sorted(set(values)))}
    return [order[value] for value in values]


def _coloured(simple, colour: list[int]):
    copy = simple.copy()
    nx.set_node_attributes(copy, {v: c for v, c in enumerate(colour)}, "c")
    return copy


def _orbit(point: int, gens: list[np.ndarray]) -> set[int]:
    orbit, frontier = {point}, [point]
    while frontier:
        nxt = []
        for p in frontier:
            for g in gens:
                q = int(g[p])
                if q not in orbit:
                    orbit.add(q)
                    nxt.append(q)
        frontier = nxt
    return orbit
