"""Named permutation groups and constructions.

Every constructor returns a :class:`~eqsolve.PermutationGroup`; where the
structure is known, the group also knows its order and a uniform sampler
without building a stabilizer chain.

>>> from eqsolve import groups
>>> groups.dihedral(6).order(), groups.grid_translations((3, 4)).degree
(12, 12)
"""

from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np

from ._errors import EqsolveError
from ._group import MAX_POINTS, Action, PermutationGroup
from ._perm import parity, product_images

__all__ = [
    "trivial", "cyclic", "dihedral", "symmetric", "alternating", "grid_translations",
    "direct_product", "product_action", "product_of_actions", "sets_of", "wreath", "automorphisms", "subsets",
    "from_name", "finer_grid", "read_graph", "named_help", "NAMED",
]


def _size(value, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise EqsolveError(f"{name} must be an integer >= {minimum}, got {value!r}"[:300])
    return int(value)


def _room(degree: int, ngens: int, what: str) -> None:
    """Refuse a group of ``degree`` points and ``ngens`` generators before building it."""
    from ._budget import require_at_most, require_memory

    require_at_most(degree, MAX_POINTS, f"the number of points of {what}",
                    "eqsolve handles groups on at most 2^26 points")
    # the generator table plus the working copies made while building it
    require_memory(8 * (max(ngens, 1) + 3) * degree, f"the {ngens} generator(s) of {what} on {degree} points")


def _named(gens, degree: int, name: str, order=None, sampler=None, member=None, log2=None, **facts) -> PermutationGroup:
    return PermutationGroup(gens, degree=degree, name=name, order=order, log2_order=log2, sampler=sampler,
                            member=member, **facts)


def trivial(d: int) -> PermutationGroup:
    """The trivial group on ``d`` points (no generators).

    >>> trivial(3).order(), trivial(3).orbits()
    (1, [(0,), (1,), (2,)])
    """
    d = _size(d, "degree")
    _room(d, 0, f"trivial({d})")
    return _named([], d, f"trivial({d})", order=lambda: 1, sampler=lambda rng: np.arange(d), member=lambda g: bool(np.all(g == np.arange(d))))


def cyclic(d: int) -> PermutationGroup:
    """Cyclic shifts ``i -> i + 1 mod d``.

    >>> cyclic(4).generators.tolist()
    [[1, 2, 3, 0]]
    """
    d = _size(d, "degree")
    _room(d, 1, f"cyclic({d})")
    gens = [np.roll(np.arange(d), -1)] if d > 1 else []
    shift = lambda k: (np.arange(d) + k) % d
    return _named(gens, d, f"cyclic({d})", order=lambda: max(d, 1),
                  sampler=lambda rng: shift(rng.integers(max(d, 1))),
                  member=lambda g: d == 0 or bool(np.all(g == shift(g[0]))))


def dihedral(d: int) -> PermutationGroup:
    """Symmetries of a regular d-gon: rotation and reflection ``i -> -i mod d``.

    >>> dihedral(5).order()
    10
    """
    d = _size(d, "degree")
    _room(d, 2, f"dihedral({d})")
    if d <= 2:
        return symmetric(d) if d == 2 else trivial(d)
    rot = np.roll(np.arange(d), -1)
    ref = (-np.arange(d)) % d

    def sample(rng):
        g = (np.arange(d) + rng.integers(d)) % d
        return g[ref] if rng.integers(2) else g

    def member(g):
        k = g[0]
        return bool(np.all(g == (np.arange(d) + k) % d) or np.all(g == (k - np.arange(d)) % d))

    return _named([rot, ref], d, f"dihedral({d})", order=lambda: 2 * d, sampler=sample, member=member)


def symmetric(d: int) -> PermutationGroup:
    """The full symmetric group S_d (a d-cycle and a transposition).

    >>> symmetric(4).order()
    24
    """
    d = _size(d, "degree")
    _room(d, 2, f"symmetric({d})")
    gens = []
    if d >= 3:
        gens.append(np.roll(np.arange(d), -1))
    if d >= 2:
        t = np.arange(d)
        t[[0, 1]] = [1, 0]
        gens.append(t)
    return _named(gens, d, f"symmetric({d})", order=lambda: math.factorial(d),
                  sampler=lambda rng: rng.permutation(d), member=lambda g: True,
                  log2=lambda: math.lgamma(d + 1) / math.log(2))


def alternating(d: int) -> PermutationGroup:
    """The alternating group A_d (even permutations).

    >>> alternating(5).order()
    60
    """
    d = _size(d, "degree")
    _room(d, 2, f"alternating({d})")
    if d < 3:
        return trivial(d)
    three = np.arange(d)
    three[[0, 1, 2]] = [1, 2, 0]
    if d % 2:
        long = np.roll(np.arange(d), -1)
    else:
        long = np.arange(d)
        long[1:] = np.roll(np.arange(1, d), -1)
    gens = [three] if d == 3 else [long, three]

    def sample(rng):
        g = rng.permutation(d)
        if parity(g):
            g[[0, 1]] = g[[1, 0]]
        return g

    return _named(gens, d, f"alternating({d})", order=lambda: math.factorial(d) // 2,
                  sampler=sample, member=lambda g: parity(g) == 0,
                  log2=lambda: math.lgamma(d + 1) / math.log(2) - 1)


def grid_translations(shape: Sequence[int] | int) -> PermutationGroup:
    """Cyclic translations of an ``h x w (x ...)`` grid, points in row-major order.

    One generator per axis (shift by one along that axis, wrapping around).

    >>> G = grid_translations((2, 3))
    >>> G.degree, G.order()
    (6, 6)
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not shape:
        raise EqsolveError("grid shape must have at least one axis")
    if len(shape) > 64:
        raise EqsolveError(f"a grid has at most 64 axes, got {len(shape)}")
    shape = tuple(_size(s, "grid side", 1) for s in shape)
    d = math.prod(shape)
    _room(d, 2 * len(shape) + 1, f"grid_translations({shape})")
    coords = np.indices(shape).reshape(len(shape), -1)
    gens = []
    for axis, side in enumerate(shape):
        if side > 1:
            moved = coords.copy()
            moved[axis] = (moved[axis] + 1) % side
            gens.append(np.ravel_multi_index(tuple(moved), shape))

    def sample(rng):
        moved = coords + np.array([rng.integers(s) for s in shape])[:, None]
        return np.ravel_multi_index(tuple(moved % np.array(shape)[:, None]), shape)

    return _named(gens, d, f"grid_translations({shape})", order=d, sampler=sample, shape=shape)


def direct_product(*factors: PermutationGroup) -> PermutationGroup:
    """H1 x H2 x ... acting on the disjoint union of their points.

    >>> direct_product(cyclic(3), symmetric(2)).order()
    6
    """
    factors = _check_groups(factors, "direct_product")
    degree = sum(f.degree for f in factors)
    _room(degree, sum(f.ngens for f in factors), f"a direct product of {len(factors)} groups")
    gens, offset = [], 0
    for f in factors:
        for g in f.generators:
            full = np.arange(degree)
            full[offset:offset + f.degree] = g + offset
            gens.append(full)
        offset += f.degree

    def sample(rng):
        parts, off = [], 0
        for f in factors:
            parts.append(f.random_element(rng) + off)
            off += f.degree
        return np.concatenate(parts) if parts else np.arange(0)

    return _named(gens, degree, "direct_product(" + ", ".join(_label(f) for f in factors) + ")",
                  order=lambda: math.prod(f.order() for f in factors), sampler=sample,
                  log2=lambda: sum(f.log2_order() for f in factors))


def product_action(*factors: PermutationGroup, name: str | None = None) -> PermutationGroup:
    """H1 x H2 x ... acting coordinatewise on [d1] x [d2] x ... (row-major).

    >>> product_action(symmetric(3), symmetric(2)).degree
    6
    """
    factors = _check_groups(factors, "product_action")
    sizes = [f.degree for f in factors]
    degree = math.prod(sizes)
    _room(degree, sum(f.ngens for f in factors), f"a product action of {len(factors)} groups")
    gens = []
    for axis, f in enumerate(factors):
        for g in f.generators:
            gens.append(_coordinatewise([g if i == axis else np.arange(s) for i, s in enumerate(sizes)]))

    def sample(rng):
        return _coordinatewise([f.random_element(rng) for f in factors])

    faithful = all(s > 0 for s in sizes)
    return _named(gens, degree, name or "product_action(" + ", ".join(_label(f) for f in factors) + ")",
                  order=(lambda: math.prod(f.order() for f in factors)) if faithful else None, sampler=sample if faithful else None,
                  log2=(lambda: sum(f.log2_order() for f in factors)) if faithful else None)


def product_of_actions(group: PermutationGroup, *actions: Action) -> Action:
    """The action of ``group = product_action(H1, H2, ...)`` on ``X1 x X2 x ...`` (row-major)
    where factor ``Hi`` acts on ``Xi`` by ``actions[i]`` (an action of ``Hi``).

    How to give one factor a derived action: an adjacency matrix of length-d signals, S_m on
    the vertex pairs and C_d shifting every signal, is ``product_of_actions(G, S.action().tensor(2),
    C.action())`` with ``G = product_action(S, C)`` (point ``(i * m + j) * d + p``).

    >>> S, C = symmetric(3), cyclic(4)
    >>> rho = product_of_actions(product_action(S, C), S.action().tensor(2), C.action())
    >>> rho.degree, rho.images.shape
    (36, (3, 36))
    """
    if not isinstance(group, PermutationGroup):
        raise EqsolveError(f"product_of_actions expects a PermutationGroup first, got {type(group).__name__}")
    for a in actions:
        if not isinstance(a, Action):
            raise EqsolveError(f"product_of_actions expects Actions after the group, got {type(a).__name__}")
    factors = [a.group for a in actions]
    expected = product_action(*factors) if factors else None
    if expected is None or group.degree != expected.degree or not np.array_equal(group.generators,
                                                                                   expected.generators):
        names = ", ".join(_label(f) for f in factors)
        raise EqsolveError(f"{_label(group)} is not product_action({names}) of the actions' groups "
                           "(same factors, same order)")
    sizes = [a.degree for a in actions]
    _room(math.prod(sizes), group.ngens, f"a product of {len(actions)} actions")
    images = []
    for axis, a in enumerate(actions):
        for row in a.images:
            images.append(_coordinatewise([row if i == axis else np.arange(s) for i, s in enumerate(sizes)]))
    images = np.array(images, dtype=np.int64).reshape(group.ngens, math.prod(sizes))
    degrees = [f.degree for f in factors]
    strides = [math.prod(degrees[i + 1:]) for i in range(len(degrees))]

    def recipe(g):
        g = np.asarray(g, dtype=np.int64)
        parts = []
        for axis, (deg, stride) in enumerate(zip(degrees, strides)):
            own = g[np.arange(deg) * stride]  # points with every other coordinate 0
            parts.append(actions[axis].image_of((own // stride) % deg))
        return _coordinatewise(parts)

    recipes = all(a._recipe is not None for a in actions)
    return Action(group, images, recipe if recipes else None, " x ".join(a.name for a in actions),
                  check=False)  # an action by construction


def _coordinatewise(perms) -> np.ndarray:
    result = np.zeros(1, dtype=np.int64)
    for p in perms:
        result = product_images(result[None], np.asarray(p, dtype=np.int64)[None])[0]
    return result


def sets_of(H: PermutationGroup, n: int) -> PermutationGroup:
    """S_n x H on [n] x [d]: sets of n elements, each with symmetry H (point i*d + p).

    >>> sets_of(cyclic(3), 4).order()
    72
    """
    n = _size(n, "set size n", 1)
    (H,) = _check_groups((H,), "sets_of")
    _room(n * H.degree, H.ngens + 2, f"sets of {n} elements of {_label(H)}")
    return product_action(symmetric(n), H, name=f"sets_of({_label(H)}, {n})")


def wreath(H: PermutationGroup, n: int) -> PermutationGroup:
    """H wr S_n on [n] x [d]: every element its own h in H, plus reordering.

    >>> wreath(cyclic(2), 3).order()
    48
    """
    n = _size(n, "number of blocks n", 1)
    (H,) = _check_groups((H,), "wreath")
    d = H.degree
    degree = n * d
    _room(degree, H.ngens + 2, f"wreath({_label(H)}, {n})")
    gens = []
    for g in H.generators:
        full = np.arange(degree)
        full[:d] = g
        gens.append(full)
    for s in symmetric(n).generators:
        gens.append(_coordinatewise([s, np.arange(d)]))

    def sample(rng):
        blocks = rng.permutation(n)
        inner = np.stack([H.random_element(rng) for _ in range(n)]) if n else np.zeros((0, d), int)
        # point (i, p) -> (blocks[i], h_i(p))
        return (blocks[:, None] * d + inner).ravel()

    return _named(gens, degree, f"wreath({_label(H)}, {n})",
                  order=lambda: H.order() ** n * math.factorial(n), sampler=sample if d else None,
                  log2=lambda: n * H.log2_order() + math.lgamma(n + 1) / math.log(2))


def subsets(H: PermutationGroup, k: int) -> PermutationGroup:
    """The group H acting on the k-subsets of its points (lexicographic order).

    >>> subsets(symmetric(4), 2).degree
    6
    """
    (H,) = _check_groups((H,), "subsets")
    rho = H.action().subsets(k)
    sampler = None
    if H._sampler is not None:
        sampler = lambda rng: rho.image_of(H.random_element(rng))
    return _named(rho.images, rho.degree, f"subsets({_label(H)}, {k})", sampler=sampler)


def automorphisms(graph, node_match=None, node_attr=None) -> PermutationGroup:
    """Automorphism group of a networkx graph; point ``i`` is node ``list(graph)[i]``.

    The group's :attr:`~eqsolve.PermutationGroup.nodes` (point -> node) and
    :attr:`~eqsolve.PermutationGroup.node_to_point` (node -> point) record the map.
    Node colours are respected as networkx's isomorphism matchers respect them: give
    ``node_attr`` (an attribute name, or a list of names) or ``node_match(attrs_u,
    attrs_v) -> bool`` (an equivalence on node attribute dicts); only automorphisms that
    map every node to an equal one are kept. Edge attributes are ignored.

    >>> import networkx as nx
    >>> P = nx.path_graph(3)
    >>> automorphisms(P).order()
    2
    >>> nx.set_node_attributes(P, {0: "red", 1: "blue", 2: "blue"}, "colour")
    >>> automorphisms(P, node_attr="colour").order()   # the ends differ now
    1
    """
    from ._automorphisms import automorphism_generators

    if node_match is not None and node_attr is not None:
        raise EqsolveError("give node_match= or node_attr=, not both")
    nodes = list(graph) if hasattr(graph, "nodes") else []
    colours = _node_colours(graph, nodes, node_match, node_attr)
    gens = automorphism_generators(graph, colours)
    kind = f"{type(graph).__name__} on {len(nodes)} nodes" + (", coloured" if colours is not None else "")
    return _named(gens, len(nodes), f"automorphisms({kind})", nodes=nodes)


def _node_colours(graph, nodes, node_match, node_attr):
    """Colour class of each node (first-seen numbering), or None without colours."""
    if node_match is None and node_attr is None:
        return None
    if node_attr is not None:
        names = [node_attr] if isinstance(node_attr, str) else list(node_attr)
        missing = [(v, a) for v in nodes for a in names if a not in graph.nodes[v]]
        if missing and len(missing) == len(nodes) * len(names):
            raise EqsolveError(f"no node has the attribute(s) {names}; node attributes are e.g. "
                               f"{sorted(graph.nodes[nodes[0]]) if nodes else []}")
        keys = [tuple(repr(graph.nodes[v].get(a)) for a in names) for v in nodes]
        index: dict = {}
        return [index.setdefault(k, len(index)) for k in keys]
    if not callable(node_match):
        raise EqsolveError(f"node_match must be a function of two attribute dicts, got {node_match!r}")
    representatives: list = []
    colours = []
    for v in nodes:
        attrs = graph.nodes[v]
        for c, rep in enumerate(representatives):
            if node_match(attrs, rep):
                colours.append(c)
                break
        else:
            colours.append(len(representatives))
            representatives.append(attrs)
    return colours


def read_graph(path):
    """A graph from a file: GraphML (``.graphml``) or an edge list (one ``u v`` pair a line,
    ``#`` comments; nodes that are integers are read as integers).

    Raises :class:`~eqsolve.EqsolveError` naming the file when it cannot be read.
    """
    import os

    import networkx as nx

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise EqsolveError(f"graph file {path!r} does not exist (or is not a regular file)")
    try:
        if path.lower().endswith((".graphml", ".xml")):
            return nx.read_graphml(path)
        graph = nx.read_edgelist(path, nodetype=_node_type(path), data=False)
    except EqsolveError:
        raise
    except Exception as err:  # networkx raises many kinds for a malformed file
        raise EqsolveError(f"cannot read the graph file {path!r}: {err}") from None
    return graph


def _node_type(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        tokens = [t for line in f for t in line.split("#", 1)[0].split()[:2]]
    return int if tokens and all(t.lstrip("-").isdigit() for t in tokens) else str


# -- named groups: one registry for from_name, its error text and the CLI's help ----------


class NamedKind:
    """One kind of named group: its syntax, what it means, and how to build it from the text
    after ``kind:`` (``build(arg, inner, number)``: ``inner(text)`` reads a nested name,
    ``number(text)`` an integer field)."""

    def __init__(self, syntax: str, meaning: str, build):
        self.syntax, self.meaning, self.build = syntax, meaning, build

    def __repr__(self) -> str:
        return f"NamedKind({self.syntax!r})"


NAMED: dict[str, NamedKind] = {}
NAME_MAX_CHARS = 4096
NAME_MAX_DEPTH = 16
HYPERCUBE_MAX = 7  # Q_7: 128 vertices, |Aut| = 645120, found in about a second; Q_10 takes minutes


def _kind(syntax: str, meaning: str):
    def register(build):
        NAMED[syntax.split(":", 1)[0]] = NamedKind(syntax, meaning, build)
        return build
    return register


for _name, _build, _meaning in (
    ("trivial", trivial, "N points, no symmetry"),
    ("cyclic", cyclic, "cyclic shifts of N points"),
    ("dihedral", dihedral, "rotations and reflections of an N-gon"),
    ("symmetric", symmetric, "all permutations of N points"),
    ("alternating", alternating, "even permutations of N points"),
):
    _kind(f"{_name}:N", _meaning)(lambda arg, inner, number, _build=_build: _build(number(arg)))


@_kind("grid:HxW[xD...]", "cyclic translations of a grid, row-major")
def _grid(arg, inner, number):
    return grid_translations(tuple(number(s) for s in arg.lower().split("x")))


@_kind("sets:NAME:N", "sets of N elements: S_N x H on [N] x [d]")
def _sets(arg, inner, number):
    group, _, n = arg.rpartition(":")
    n = number(n)
    return sets_of(inner(group), n)


@_kind("wreath:NAME:N", "H wr S_N: each element its own h, and reordering")
def _wreath(arg, inner, number):
    group, _, n = arg.rpartition(":")
    n = number(n)
    return wreath(inner(group), n)


@_kind("subsets:NAME:K", "H on the K-subsets of its points (subsets:N:K = S_N)")
def _subsets(arg, inner, number):
    group, _, k = arg.rpartition(":")
    k = number(k)
    H = symmetric(number(group)) if _DIGITS.fullmatch(group) else inner(group)
    return subsets(H, k)


@_kind("product:NAME,NAME,...", "coordinatewise on [d1] x [d2] x ...")
def _product(arg, inner, number):
    return product_action(*[inner(p) for p in arg.split(",")])


@_kind("direct:NAME,NAME,...", "direct product on the disjoint union (H * K)")
def _direct(arg, inner, number):
    return direct_product(*[inner(p) for p in arg.split(",")])


@_kind("hypercube:K", f"automorphisms of the K-dimensional cube graph (K <= {HYPERCUBE_MAX})")
def _hypercube(arg, inner, number):
    import networkx as nx

    from ._budget import require_at_most

    k = _size(number(arg), "hypercube dimension")
    require_at_most(k, HYPERCUBE_MAX, f"the dimension of hypercube:{k}",
                    "use automorphisms() on a graph of your own for larger cubes")
    return automorphisms(nx.hypercube_graph(k))


@_kind("graph:FILE[:ATTR]", "automorphisms of a graph file (edge list, or .graphml); ATTR: node colours")
def _graph(arg, inner, number):
    """``graph:FILE`` or ``graph:FILE:ATTR[,ATTR...]``: automorphisms that keep the nodes'
    values of those GraphML node attributes (colours). The whole text is the file when such a
    file exists (paths may contain ':')."""
    import os

    path, _, attrs = arg.rpartition(":")
    if os.path.isfile(arg) or not path or not attrs:
        return automorphisms(read_graph(arg))
    names = [a.strip() for a in attrs.split(",")]
    if not all(names):
        raise EqsolveError(f"graph:FILE:ATTR needs attribute names separated by ',', got {attrs!r}")
    return automorphisms(read_graph(path), node_attr=names[0] if len(names) == 1 else names)


def named_help(width: int = 24) -> str:
    """The named-group kinds, one per line (for --help texts).

    >>> print(named_help().splitlines()[1])
    cyclic:N                cyclic shifts of N points
    """
    return "\n".join(f"{k.syntax:<{width}}{k.meaning}" for k in NAMED.values())


def from_name(spec: str) -> PermutationGroup:
    """A group from its name, as the CLI's ``--group`` takes it: ``cyclic:100``,
    ``grid:64x64``, ``sets:cyclic:5:4`` (S_4 x C_5), ``subsets:dihedral:6:2`` and the
    other kinds of :data:`NAMED` (``print(groups.named_help())`` lists them). Names are
    bounded: at most 4096 characters, nested at most 16 deep, numbers of at most 18
    ASCII digits.

    >>> from_name("grid:4x4").degree
    16
    >>> from_name("subsets:cyclic:5:2").degree
    10
    """
    if isinstance(spec, str) and len(spec) > NAME_MAX_CHARS:
        raise EqsolveError(f"group name of {len(spec)} characters (at most {NAME_MAX_CHARS}): {spec[:40]!r}...")
    return _from_name(spec, 0)


def _known() -> str:
    return ", ".join(k.syntax for k in NAMED.values())


def _from_name(spec, depth: int) -> PermutationGroup:
    if not isinstance(spec, str) or ":" not in spec:
        shown = spec if not isinstance(spec, str) or len(spec) <= 80 else spec[:80] + "..."
        raise EqsolveError(f"group name must look like 'cyclic:8' or 'grid:64x64', got {shown!r}; "
                           f"known kinds: {_known()}")
    if depth > NAME_MAX_DEPTH:
        raise EqsolveError(f"group name nested more than {NAME_MAX_DEPTH} levels deep")
    kind, _, arg = spec.partition(":")
    entry = NAMED.get(kind.strip().lower())
    if entry is None:
        raise EqsolveError(f"unknown group kind {kind[:40]!r} in {spec[:80]!r}; known: {_known()}")
    return entry.build(arg, lambda text: _from_name(text, depth + 1), lambda text: _number(text, spec))


_DIGITS = re.compile(r"\s*([+-]?[0-9]{1,18})\s*", flags=re.ASCII)


def _number(text: str, spec: str) -> int:
    """An ASCII integer of at most 18 digits (no Unicode digits, no digit-limit errors)."""
    match = _DIGITS.fullmatch(text)
    if not match:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise EqsolveError(f"cannot read group name {spec[:80]!r}: {shown!r} is not a number "
                           "(ASCII digits, at most 18 of them)")
    return int(match.group(1))


def _check_groups(factors, what):
    if len(factors) == 1 and isinstance(factors[0], (list, tuple)):
        factors = tuple(factors[0])
    for f in factors:
        if not isinstance(f, PermutationGroup):
            raise EqsolveError(f"{what} expects PermutationGroup arguments, got {type(f).__name__}")
    return tuple(factors)


def _label(group: PermutationGroup) -> str:
    return group.name or f"<{group.ngens} generators on {group.degree} points>"


def finer_grid(group: PermutationGroup, factor: int | Sequence[int] = 2) -> Action:
    """The action of a grid translation group on a grid ``factor`` times finer per axis.

    A shift by ``t`` of the group's own grid shifts the fine grid by ``factor * t``. Maps from
    the fine grid to the group's own grid are strided convolutions (downsampling), maps the
    other way transposed ones (upsampling); :class:`~eqsolve.layers.EquivariantLinear` runs
    both as convolutions. ``group`` is ``grid_translations(shape)`` or ``cyclic(d)`` (a grid
    ``(d,)``); ``factor`` is an int or one int per axis.

    >>> import eqsolve
    >>> G = grid_translations((32, 32))
    >>> down = eqsolve.solve(out=G.action(), inp=finer_grid(G, 2))   # 64 x 64 -> 32 x 32, stride 2
    >>> down.shape, finer_grid(G, 2).name
    ((1024, 4096), '64x64 grid (stride 2)')
    """
    if not isinstance(group, PermutationGroup):
        raise EqsolveError(f"finer_grid expects a PermutationGroup, got {type(group).__name__}")
    shape = tuple(getattr(group, "shape", None) or (group.degree,))
    if isinstance(factor, (int, np.integer)) and not isinstance(factor, bool):
        factor = (int(factor),) * len(shape)
    try:
        factor = tuple(_size(f, "grid factor", 1) for f in factor)
    except TypeError:
        raise EqsolveError(f"factor must be an int or one int per axis, got {factor!r}") from None
    if len(factor) != len(shape):
        raise EqsolveError(f"factor {factor} has {len(factor)} entries; the grid {shape} has {len(shape)} axes")
    vectors, ok = translation_vectors(group.generators, shape)
    if group.degree == 0 or not ok.all():
        raise EqsolveError(
            f"finer_grid needs a group of grid translations (grid_translations(shape) or cyclic(d)); "
            f"{_label(group)} has a generator that is not a translation of the grid {shape}"
        )
    fine = tuple(s * f for s, f in zip(shape, factor))
    _room(math.prod(fine), group.ngens + 2 * len(fine), f"the {'x'.join(map(str, fine))} grid")
    coords = np.indices(fine).reshape(len(fine), -1)
    own = np.indices(shape).reshape(len(shape), -1)
    f_arr, fine_arr = np.array(factor)[:, None], np.array(fine)[:, None]

    def image(shift):  # shift: (k, axes) translation vectors on the group's grid
        moved = (coords[None] + (shift * f_arr.T)[:, :, None]) % fine_arr[None]
        return np.ravel_multi_index(tuple(np.moveaxis(moved, 1, 0)), fine)

    def recipe(g):
        return image(own[:, np.asarray(g)[0]][None])[0]

    name = "x".join(map(str, fine)) + " grid (stride " + (str(factor[0]) if len(set(factor)) == 1 else "x".join(map(str, factor))) + ")"
    return Action(group, image(vectors).reshape(group.ngens, -1), recipe, name, check=False)  # an action by construction


def translation_vectors(images, shape) -> tuple[np.ndarray, np.ndarray]:
    """Per permutation (rows of ``images``): its shift on the row-major grid ``shape`` and
    whether it is a translation of that grid at all.

    >>> translation_vectors(np.array([[1, 2, 0], [0, 2, 1]]), (3,))
    (array([[1],
           [0]]), array([ True, False]))
    """
    images = np.asarray(images, dtype=np.int64).reshape(-1, int(np.prod(shape)))
    shape_arr = np.array(shape, dtype=np.int64)
    d = int(np.prod(shape_arr))
    if d == 0 or not len(images):
        return np.zeros((len(images), len(shape)), dtype=np.int64), np.ones(len(images), dtype=bool)
    coords = np.stack(np.unravel_index(np.arange(d), tuple(shape)))  # (n, d)
    vectors = coords[:, images[:, 0]].T  # where point 0 goes
    moved = (coords[None] + vectors[:, :, None]) % shape_arr[None, :, None]  # (k, n, d)
    expected = np.ravel_multi_index(tuple(np.moveaxis(moved, 1, 0)), tuple(shape))
    return vectors, (expected == images).all(axis=1)
