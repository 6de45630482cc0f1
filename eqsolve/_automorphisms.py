"""Exact generators of the automorphism group of a networkx graph.

A stabilizer-chain search, never an enumeration of the group:

1. Twins first. Two vertices u, v with the same neighbours apart from each
   other (and the same self-loop, and u -> v exactly when v -> u) are swapped
   by the transposition (u v), an automorphism found without search. Each twin
   class {v_1, ..., v_k} contributes (v_1 v_2), ..., (v_{k-1} v_k), which
   generate its full symmetric group *and* its point stabilizers, so the
   orbit pruning below sees them at every level. This is what makes K_n,
   stars, empty graphs and complete bipartite graphs instant.
2. Then base points b_1, b_2, ...: with b_1..b_{i-1} pinned (given distinct
   colours) the colouring is refined to an equitable one (colour refinement,
   canonical, so an automorphism maps refined colours to equal colours). b_i
   is the first point of the smallest non-singleton cell. For every candidate
   x in that cell that is not already in the orbit of b_i under the
   generators fixing b_1..b_{i-1}, we look for ONE automorphism fixing
   b_1..b_{i-1} and mapping b_i to x: refine with b_i resp. x pinned; reject
   at once if the colour histograms differ; if the colouring is discrete the
   map is forced and only checked; otherwise networkx's VF2 matcher finds a
   colour-preserving isomorphism (or proves there is none).
3. The search ends when pinning the base makes the colouring discrete: only
   the identity fixes it. At every level the generators fixing the earlier
   base points then reach the full orbit of the automorphism group's point
   stabilizer, so, bottom up, they generate each stabilizer and finally
   Aut(graph) (the Schreier–Sims counting argument).

Edge direction, self-loops and edge multiplicities (multigraphs) are
respected; node and edge attributes are ignored.

>>> import networkx as nx
>>> gens = automorphism_generators(nx.cycle_graph(5))
>>> import eqsolve
>>> eqsolve.PermutationGroup(gens, degree=5).order()
10
"""

from __future__ import annotations

from collections import Counter

import networkx as nx
import numpy as np

from ._errors import EqsolveError

__all__ = ["automorphism_generators"]


def automorphism_generators(graph) -> list[np.ndarray]:
    """Generators of Aut(graph) as array forms on the positions of ``list(graph)``.

    Parameters
    ----------
    graph:
        A networkx ``Graph``, ``DiGraph``, ``MultiGraph`` or ``MultiDiGraph``.

    Returns
    -------
    list of numpy.ndarray
        Permutations ``p`` (int64) with node ``list(graph)[i]`` mapped to
        ``list(graph)[p[i]]``; ``[]`` when the group is trivial.

    Raises
    ------
    EqsolveError
        If ``graph`` is not a networkx graph.

    Examples
    --------
    >>> import networkx as nx
    >>> [g.tolist() for g in automorphism_generators(nx.path_graph(3))]
    [[2, 1, 0]]
    >>> len(automorphism_generators(nx.complete_graph(30)))  # (0 1), (1 2), ..., (28 29)
    29
    """
    if not isinstance(graph, (nx.Graph, nx.DiGraph)):
        raise EqsolveError(f"automorphisms expects a networkx graph, got {type(graph).__name__}: {graph!r:.80}")
    return _Search(graph).run()


class _Search:
    def __init__(self, graph):
        nodes = list(graph)
        self.n = n = len(nodes)
        position = {v: i for i, v in enumerate(nodes)}
        self.directed = graph.is_directed()
        # multiplicity of each ordered pair (both orders for undirected graphs)
        mult: Counter = Counter()
        for u, v in graph.edges():
            a, b = position[u], position[v]
            mult[(a, b)] += 1
            if not self.directed and a != b:
                mult[(b, a)] += 1
        self.mult = mult
        self.out = [dict() for _ in range(n)]
        self.inc = [dict() for _ in range(n)]
        for (a, b), m in mult.items():
            self.out[a][b] = m
            self.inc[b][a] = m
        self.loop = [self.out[v].get(v, 0) for v in range(n)]
        self.base_colour = _rank(
            [(len(self.out[v]), sum(self.out[v].values()), len(self.inc[v]), sum(self.inc[v].values()), self.loop[v])
             for v in range(n)]
        )
        simple = (nx.DiGraph if self.directed else nx.Graph)()
        simple.add_nodes_from(range(n))
        for (a, b), m in mult.items():
            simple.add_edge(a, b, m=m)
        self.simple = simple
        self.matcher = nx.algorithms.isomorphism.DiGraphMatcher if self.directed else nx.algorithms.isomorphism.GraphMatcher

    # -- building blocks -------------------------------------------------------------
    def twins(self) -> list[np.ndarray]:
        """Transpositions of consecutive members of every twin class."""
        n, out, inc, loop = self.n, self.out, self.inc, self.loop
        classes: dict = {}
        for v in range(n):
            o = frozenset((u, m) for u, m in out[v].items() if u != v)
            i = frozenset((u, m) for u, m in inc[v].items() if u != v)
            # false twins: equal neighbourhoods, not adjacent
            classes.setdefault(("open", o, i, loop[v]), []).append(v)
            # true twins: adjacent both ways with the same multiplicity m, equal closed neighbourhoods
            for m in {m for u, m in out[v].items() if u != v and inc[v].get(u) == m}:
                classes.setdefault(("closed", m, o | {(v, m)}, i | {(v, m)}, loop[v]), []).append(v)
        gens, seen = [], set()
        for members in classes.values():
            for a, b in zip(members, members[1:]):
                if (a, b) in seen:
                    continue
                seen.add((a, b))
                g = np.arange(n, dtype=np.int64)
                g[a], g[b] = b, a
                gens.append(g)
        return gens

    def refine(self, pins: list[int]) -> list[int]:
        """Canonical equitable colouring with ``pins`` individualised (in this order)."""
        index = {v: k for k, v in enumerate(pins)}
        colour = _rank([(self.base_colour[v], index.get(v, -1)) for v in range(self.n)])
        count = len(set(colour))
        while True:
            signature = [
                (
                    colour[v],
                    tuple(sorted((colour[u], m) for u, m in self.out[v].items())),
                    tuple(sorted((colour[u], m) for u, m in self.inc[v].items())) if self.directed else (),
                )
                for v in range(self.n)
            ]
            new = _rank(signature)
            new_count = len(set(new))
            if new_count == count:
                return new
            colour, count = new, new_count

    def is_automorphism(self, g: np.ndarray) -> bool:
        mult = self.mult
        return all(mult.get((int(g[a]), int(g[b]))) == m for (a, b), m in mult.items())

    def find(self, source: list[int], target: list[int]) -> np.ndarray | None:
        """An automorphism mapping colouring ``source`` onto ``target`` (colour by colour), or None."""
        if sorted(source) != sorted(target):
            return None
        n = self.n
        if len(set(source)) == n:  # discrete: the map is forced
            where = {c: v for v, c in enumerate(target)}
            g = np.array([where[source[v]] for v in range(n)], dtype=np.int64)
            return g if self.is_automorphism(g) else None
        a, b = self.simple.copy(), self.simple.copy()
        nx.set_node_attributes(a, dict(enumerate(source)), "c")
        nx.set_node_attributes(b, dict(enumerate(target)), "c")
        matcher = self.matcher(a, b, node_match=_same_colour, edge_match=_same_multiplicity)
        mapping = next(matcher.isomorphisms_iter(), None)
        if mapping is None:
            return None
        g = np.empty(n, dtype=np.int64)
        for u, v in mapping.items():
            g[u] = v
        return g

    # -- the search ------------------------------------------------------------------
    def run(self) -> list[np.ndarray]:
        n = self.n
        if n <= 1:
            return []
        generators = self.twins()
        base: list[int] = []
        while True:
            colour = self.refine(base)
            cells: dict[int, list[int]] = {}
            for v in range(n):
                cells.setdefault(colour[v], []).append(v)
            open_cells = [cell for cell in cells.values() if len(cell) > 1]
            if not open_cells:
                return generators
            cell = min(open_cells, key=lambda c: (len(c), c[0]))
            point = cell[0]
            level = [g for g in generators if all(g[b] == b for b in base)]
            orbit = _orbit(point, level)
            source = None
            for x in cell:
                if x in orbit:
                    continue
                if source is None:
                    source = self.refine(base + [point])
                g = self.find(source, self.refine(base + [x]))
                if g is None:
                    continue
                generators.append(g)
                level.append(g)
                orbit = _orbit(point, level)
            base.append(point)


def _same_colour(a, b) -> bool:
    return a["c"] == b["c"]


def _same_multiplicity(a, b) -> bool:
    return a["m"] == b["m"]


def _rank(values: list) -> list[int]:
    order = {value: rank for rank, value in enumerate(sorted(set(values)))}
    return [order[value] for value in values]


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
