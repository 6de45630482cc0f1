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
respected; node colours, when given, are kept (a colour class is mapped to
itself); edge attributes are ignored.

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


def automorphism_generators(graph, colours=None) -> list[np.ndarray]:
    """Generators of Aut(graph) as array forms on the positions of ``list(graph)``.

    Parameters
    ----------
    graph:
        A networkx ``Graph``, ``DiGraph``, ``MultiGraph`` or ``MultiDiGraph``.
    colours:
        Optional integer colour class of each node (in ``list(graph)`` order); only
        automorphisms that keep every node's colour are generated.

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
    return _Search(graph, colours).run()


class _Search:
    def __init__(self, graph, colours=None):
        nodes = list(graph)
        self.n = n = len(nodes)
        self.colours = np.zeros(n, dtype=np.int64) if colours is None else np.asarray(colours, dtype=np.int64)
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
        # edge arrays: keys a * n + b sorted, with multiplicities (for vectorized refinement and checks)
        pairs = np.array(sorted(mult), dtype=np.int64).reshape(-1, 2)
        self.src, self.dst = pairs[:, 0], pairs[:, 1]
        self.m = np.array([mult[p] for p in sorted(mult)], dtype=np.uint64)
        self.keys = self.src * n + self.dst
        rng = np.random.default_rng(0x5EED)
        self.weights = rng.integers(1, 2**63, size=max(n, 1) + 1, dtype=np.uint64) | np.uint64(1)
        self.base_colour = _rank_rows(np.stack([
            self.colours.astype(np.float64),
            np.bincount(self.src, minlength=n), np.bincount(self.src, weights=self.m.astype(float), minlength=n),
            np.bincount(self.dst, minlength=n), np.bincount(self.dst, weights=self.m.astype(float), minlength=n),
            np.array(self.loop, dtype=np.float64),
        ], axis=1)) if n else np.zeros(0, dtype=np.int64)
        simple = (nx.DiGraph if self.directed else nx.Graph)()
        simple.add_nodes_from(range(n))
        for (a, b), m in mult.items():
            simple.add_edge(a, b, m=m)
        self.simple = simple
        self.matcher = nx.algorithms.isomorphism.DiGraphMatcher if self.directed else nx.algorithms.isomorphism.GraphMatcher

    # -- building blocks -------------------------------------------------------------
    def twins(self) -> list[np.ndarray]:
        """Transpositions of consecutive members of every twin class (exact: see the module notes)."""
        n, out, inc, loop = self.n, self.out, self.inc, self.loop
        classes: dict = {}
        for v in range(n):
            o = frozenset((u, m) for u, m in out[v].items() if u != v)
            i = frozenset((u, m) for u, m in inc[v].items() if u != v)
            # false twins: equal neighbourhoods, not adjacent
            colour = int(self.colours[v])
            classes.setdefault(("open", o, i, loop[v], colour), []).append(v)
            # true twins: adjacent both ways with the same multiplicity m, equal closed neighbourhoods
            for m in {m for u, m in out[v].items() if u != v and inc[v].get(u) == m}:
                classes.setdefault(("closed", m, o | {(v, m)}, i | {(v, m)}, loop[v], colour), []).append(v)
        gens, seen = [], set()
        for members in classes.values():
            for a, b in zip(members, members[1:]):
                if (a, b) not in seen:
                    seen.add((a, b))
                    g = np.arange(n, dtype=np.int64)
                    g[a], g[b] = b, a
                    gens.append(g)
        return gens

    def refine(self, pins: list[int]) -> np.ndarray:
        """Canonical equitable colouring with ``pins`` individualised (in this order).

        Each round gives every vertex the new colour (old colour, hash of the multiset of
        (colour, multiplicity) over out-neighbours, same over in-neighbours), ranked in sorted
        order. The hash is a fixed random function of the multiset only, so the colouring is
        canonical (automorphisms map colours to equal colours) whether or not two multisets
        collide; a collision can only make it coarser.
        """
        n = self.n
        pin = np.full(n, -1, dtype=np.int64)
        pin[pins] = np.arange(len(pins))
        colour = _rank_rows(np.stack([self.base_colour, pin], axis=1))
        count = int(colour.max(initial=-1)) + 1
        with np.errstate(over="ignore"):
            while True:
                values = self.weights[colour] * np.uint64(0x9E3779B97F4A7C15)
                edge_out = values[self.dst] * (np.uint64(2) * self.m + np.uint64(1))
                columns = [colour.astype(np.uint64), _sums(self.src, edge_out, n)]
                if self.directed:
                    edge_in = values[self.src] * (np.uint64(2) * self.m + np.uint64(3))
                    columns.append(_sums(self.dst, edge_in, n))
                new = _rank_rows(np.stack(columns, axis=1))
                new_count = int(new.max(initial=-1)) + 1
                if new_count == count:
                    return new
                colour, count = new, new_count

    def is_automorphism(self, g: np.ndarray) -> bool:
        order = np.argsort(g[self.src] * self.n + g[self.dst], kind="stable")
        mapped = (g[self.src] * self.n + g[self.dst])[order]
        return bool(np.array_equal(mapped, self.keys) and np.array_equal(self.m[order], self.m))

    def find(self, source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
        """An automorphism mapping colouring ``source`` onto ``target`` (colour by colour), or None."""
        if not np.array_equal(np.sort(source), np.sort(target)):
            return None
        n = self.n
        if np.unique(source).size == n:  # discrete: the map is forced
            where = np.empty(n, dtype=np.int64)
            where[target] = np.arange(n)
            g = where[source]
            return g if self.is_automorphism(g) else None
        a, b = self.simple.copy(), self.simple.copy()
        nx.set_node_attributes(a, dict(enumerate(source.tolist())), "c")
        nx.set_node_attributes(b, dict(enumerate(target.tolist())), "c")
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
            sizes = np.bincount(colour)
            if sizes.max() == 1:
                return generators  # discrete: only the identity fixes the base
            # the smallest non-singleton cell (ties: the one with the smallest vertex)
            size = sizes[sizes > 1].min()
            first = np.flatnonzero(sizes[colour] == size)[0]
            cell = np.flatnonzero(colour == colour[first]).tolist()
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


def _rank_rows(rows: np.ndarray) -> np.ndarray:
    """Rank of each row among the distinct rows in lexicographic order (a canonical relabelling)."""
    if rows.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    step = np.any(ordered[1:] != ordered[:-1], axis=1)
    ranks = np.empty(len(rows), dtype=np.int64)
    ranks[order] = np.concatenate([[0], np.cumsum(step)])
    return ranks


def _sums(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum (mod 2**64) of ``values`` grouped by ``index`` (sorted), one per vertex."""
    total = np.zeros(n, dtype=np.uint64)
    np.add.at(total, index, values)
    return total


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
