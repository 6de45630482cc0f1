"""The exact fixed-point solver: orbits of a group on pairs (output point, input point).

The solution space of ``L[g.i, g.j] = L[i, j]`` (for every generator g) is
spanned by the indicator matrices of the orbits of the group on
``[d_out] x [d_in]``. We fill the table ``orbit_index`` (orbit id of each
entry) in about one memory pass:

1. A breadth-first Schreier forest of the output action, rooted at the smallest
   point of each output orbit.
2. For each root ``r``, the orbits of its stabilizer on the input points
   ("suborbits") give row ``r``; every other row ``b = s(a)`` follows from its
   parent by one gather, ``T[b, s(j)] = T[a, j]``.
3. Each non-tree edge ``a -> b = s(a)`` is a Schreier generator of the
   stabilizer (Schreier's lemma). Checking ``T[b, s(:)] == T[a, :]`` verifies it;
   where it fails, the failing label pairs are exactly the suborbits to merge.
   Coarsening is monotone, so one sweep over the non-tree edges is enough.

Ids are canonical: numbered by first appearance in row-major order.

>>> import eqsolve
>>> eqsolve.solve(eqsolve.groups.cyclic(4)).orbit_index.tolist()
[[0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1], [1, 2, 3, 0]]
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from ._basis import Basis, check_mask
from ._errors import ActionMismatchError, EqsolveError
from ._group import Action, PermutationGroup, canonical_labels, point_orbit_labels
from ._memory import require_memory
from ._perm import inverse
from . import _patterns
from ._suborbits import precheck, root_rows
from ._transversal import Transversal

log = logging.getLogger("eqsolve")

_CACHE: "OrderedDict[tuple, Basis]" = OrderedDict()
_CACHE_ENTRIES = 32
_CACHE_MAX_BYTES = 64 << 20
_BATCH_ELEMENTS = 1 << 21  # rows per vectorised batch ~ this many table entries
_SEED_NODES = 32  # Schreier generators computed explicitly before the sweep
SMALL_TABLE = 1 << 20  # up to this many entries the root rows come from the dense table
DENSE_SOLVE_ENTRIES = 1 << 26  # ... and up to this many when the stabilizers are large
SPARE_TABLE_BYTES = 64 << 20  # the table path's table is kept (for one basis) up to this size


def solve(
    group: PermutationGroup | None = None,
    *,
    out: Action | None = None,
    inp: Action | None = None,
    support=None,
    cache: bool = True,
    max_bytes: int | None = None,
) -> Basis:
    """Exact basis of the equivariant linear maps ``R^{d_in} -> R^{d_out}``.

    Parameters
    ----------
    group:
        A :class:`PermutationGroup`; shorthand for ``out = inp = group.action()``.
    out, inp:
        Two actions of the same group (default: the natural action).
    support:
        Optional boolean ``(d_out, d_in)`` mask, a union of orbits; only the
        orbits inside it are kept (entries outside get id -1).
    cache:
        Reuse an in-memory result for the same generator images and mask.
    max_bytes:
        Refuse (``ProblemTooLargeError``) if the tables would need more; the
        default is the memory the machine has available.

    Examples
    --------
    >>> import eqsolve
    >>> B = eqsolve.solve(eqsolve.groups.symmetric(5))
    >>> B.dim, B.orbit_index[0].tolist()
    (2, [0, 1, 1, 1, 1])
    """
    out, inp = _resolve_actions(group, out, inp)
    d_out, d_in = out.degree, inp.degree
    mask = None if support is None else check_mask(support, (d_out, d_in))
    key = (out.images.tobytes(), out.images.shape, inp.images.tobytes(), inp.images.shape,
           None if mask is None else np.packbits(mask).tobytes())
    if cache and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    log.debug("solve: cache miss for a %d x %d table", d_out, d_in)
    start = time.perf_counter()
    basis = solve_compact(out, inp, max_bytes)
    if mask is not None:
        basis = basis.restrict(mask)
    basis.seconds = time.perf_counter() - start
    if cache and basis.nbytes <= _CACHE_MAX_BYTES:
        _CACHE[key] = basis
        while len(_CACHE) > _CACHE_ENTRIES:
            _CACHE.popitem(last=False)
    return basis


def solve_compact(out: Action, inp: Action, max_bytes: int | None = None, method: str = "auto") -> Basis:
    """The compact basis: root rows (one per output orbit) and a Schreier forest of ``out``.

    ``method`` picks how the root rows are found: ``"table"`` fills the dense
    table once (about one memory pass, then keeps only the root rows),
    ``"stabilizers"`` computes the suborbits of each root from point stabilizers
    (:mod:`eqsolve._suborbits`, nothing of size ``d_out x d_in``), ``"patterns"`` reads
    them off equality patterns when the group is ``S_m`` on tensors / subsets of its
    points (:mod:`eqsolve._patterns`, linear in the points). ``"auto"`` takes the
    patterns when they apply, else (see :func:`_choose_method`) the table while it is small.

    >>> from eqsolve import groups
    >>> H = groups.cyclic(4)
    >>> solve_compact(H.action(), H.action(), method="stabilizers") == solve_compact(H.action(), H.action(), method="table")
    True
    """
    d_out, d_in = out.degree, inp.degree
    symmetric = None
    if method in ("auto", "patterns"):
        found = _patterns.recognise(out, inp, points_only=method == "patterns")
        if found is not None:
            symmetric = found + (1,)
        else:  # S_m x grid translations (product_action), the S_m part on tensors / subsets
            found = _patterns.recognise_product(out, inp, points_only=method == "patterns")
            symmetric = None if found is None else (found[0], found[3], found[4], found[1])
    if method == "patterns" and symmetric is None:
        raise EqsolveError("method 'patterns' needs the full symmetric group S_m acting on sums of tensor(k) / "
                           "subsets(k) (k <= 3) of its natural action (or product_action(S_m, T) with T grid "
                           "translations, acting by groups.product_of_actions)")
    if symmetric is None and method in ("auto", "stabilizers") and d_out * d_in > DENSE_SOLVE_ENTRIES:
        precheck(out, inp)
    tree = Transversal.build(out.images, inp.images)
    roots = tree.roots
    dtype = np.int32 if max(d_out * d_in, 1) < 2**31 - 1 else np.int64
    itemsize = np.dtype(dtype).itemsize
    compact = roots.size * d_in * itemsize + tree.nbytes + 16 * (d_out + d_in)
    if method == "auto":
        method = "patterns" if symmetric is not None else _choose_method(out, inp, tree, max_bytes)
    if method == "patterns":
        require_memory(compact + 4 * 8 * d_in, f"solving for the compact form ({roots.size} output orbits x "
                       f"{d_in} input points)", max_bytes)
        rows, dim = _patterns.root_rows(symmetric[0], symmetric[1], symmetric[2], roots, dtype, d=symmetric[3])
    elif method == "table":
        require_memory(
            d_out * d_in * itemsize + min(d_out * d_in, 4 * _BATCH_ELEMENTS) * 17 + 64 * (d_out + d_in),
            f"solving for a {d_out} x {d_in} orbit table", max_bytes,
        )
        table, dim = orbit_table(out.images, inp.images, dtype)
        rows = np.array(table[roots]) if d_in else np.empty((roots.size, 0), dtype)
    elif method == "stabilizers":
        require_memory(compact, f"solving for the compact form ({roots.size} output orbits x {d_in} input points)",
                       max_bytes)
        sizes = np.bincount(tree.root_of(), minlength=roots.size)
        rows, dim = root_rows(out, inp, roots, sizes, dtype)
    else:
        raise EqsolveError(f"unknown solve method {method!r}; expected 'auto', 'table', 'stabilizers' or 'patterns'")
    same = out.images.shape == inp.images.shape and np.array_equal(out.images, inp.images)
    in_orbits = tree.root_of() if same else point_orbit_labels(inp.images, d_in)
    basis = Basis.compact(rows, tree, dim, tree.root_of(), out=out, inp=inp, in_orbit_index=in_orbits)
    if method == "table" and table.nbytes <= SPARE_TABLE_BYTES:
        keep_spare(basis, table)
    return basis


_SPARE: list = []  # weak reference to the one basis holding a spare table


def keep_spare(basis: Basis, table: np.ndarray) -> None:
    """Let ``basis`` keep the dense table the table path built anyway, until the next solve.

    Asking for ``orbit_index`` right after ``solve`` (the dense use) then costs nothing
    extra; at most one such table (<= ``SPARE_TABLE_BYTES``) is held at a time, by the
    most recent basis, so compact bases do not accumulate dense tables.
    """
    import weakref

    if _SPARE:
        previous = _SPARE.pop()()
        if previous is not None:
            previous._spare = None
    basis._spare = table
    _SPARE.append(weakref.ref(basis))


def _choose_method(out, inp, tree, max_bytes) -> str:
    """``"table"`` up to ``SMALL_TABLE`` entries and, up to ``DENSE_SOLVE_ENTRIES``, when the
    stabilizers are large (a long stabilizer chain costs more than one pass over a
    mid-sized table) or the group order is not at hand; ``"stabilizers"`` beyond."""
    from ._memory import available_bytes

    entries = out.degree * inp.degree
    if entries <= SMALL_TABLE:
        return "table"
    fits = 5 * entries <= (available_bytes() if max_bytes is None else max_bytes)
    if entries > DENSE_SOLVE_ENTRIES or not fits:
        return "stabilizers"
    gens = out.group.generators
    natural = any(a.images.shape == gens.shape and np.array_equal(a.images, gens) for a in (out, inp))
    if not natural:
        return "table"
    smallest = int(np.bincount(tree.root_of()).min())
    return "stabilizers" if (out.group.order() // smallest).bit_length() <= 64 else "table"


def _resolve_actions(group, out, inp):
    if group is not None and not isinstance(group, PermutationGroup):
        if isinstance(group, Action):
            raise EqsolveError(
                f"solve(H) takes a PermutationGroup, got an Action on {group.degree} points; pass actions "
                "by keyword: solve(out=rho, inp=rho) for the maps from rho to itself, or "
                "solve(out=rho_out, inp=rho_in) between two actions of one group"
            )
        hint = ("; for a cycle string use eqsolve.PermutationGroup.parse(text) (0-based) or "
                ".from_gap(text) (1-based), then solve that" if isinstance(group, str) else
                "; build one first, e.g. eqsolve.PermutationGroup(generators) or a named group "
                "such as eqsolve.groups.cyclic(8)")
        raise EqsolveError(f"solve expects a PermutationGroup, got {type(group).__name__}{hint}")
    for name, action in (("out", out), ("inp", inp)):
        if action is not None and not isinstance(action, Action):
            raise EqsolveError(f"{name}= must be an Action (e.g. H.action()), got {type(action).__name__}")
    if group is None:
        if out is None and inp is None:
            raise EqsolveError("solve needs a group, or out= and inp= actions")
        owner = (out or inp).group
        group = owner
    out = out if out is not None else group.action()
    inp = inp if inp is not None else group.action()
    for name, action in (("out", out), ("inp", inp)):
        if action.group is not group and action.group != group:
            raise ActionMismatchError(
                f"the {name} action belongs to {action.group!r}, not to {group!r}"
            )
    return out, inp


def orbit_table(out_images: np.ndarray, in_images: np.ndarray, dtype=np.int32) -> tuple[np.ndarray, int]:
    """Orbit ids of the group on ``[d_out] x [d_in]``, canonical, and their number.

    ``out_images`` (k, d_out) and ``in_images`` (k, d_in) are the generator
    images of the two actions, row s corresponding to generator s.

    >>> t, n = orbit_table(np.array([[1, 0]]), np.array([[1, 0]]))
    >>> t.tolist(), n
    ([[0, 1], [1, 0]], 2)
    """
    k, d_out = out_images.shape
    d_in = in_images.shape[1]
    table = np.empty((d_out, d_in), dtype=dtype)
    if d_out == 0 or d_in == 0:
        return table, 0
    forest = _schreier_forest(out_images)
    roots = forest.order[forest.parent[forest.order] < 0]
    in_inverse = inverse(in_images)

    # 1. row of each root: a first partition of the input points (exact after step 3)
    offsets = np.empty(len(roots) + 1, dtype=np.int64)
    offsets[0] = 0
    for index, root in enumerate(roots):
        seed = _seed_partition(forest, int(root), out_images, in_images)
        table[root] = seed + offsets[index]
        offsets[index + 1] = offsets[index] + int(seed.max()) + 1

    # 2. propagate rows down the forest: T[b] = T[a][s^-1]
    _propagate(table, forest, in_inverse)

    # 3. verify every non-tree edge (Schreier generators); merge suborbits where needed
    merge = _verify_edges(table, forest, out_images, in_images, int(offsets[-1]))
    if merge is None:
        return table, int(offsets[-1])
    # canonical renumbering: first appearance in the root rows, roots in increasing order
    roots_sorted = np.sort(roots)
    seen = merge[np.concatenate([table[r] for r in roots_sorted])]
    canon = canonical_labels(seen)
    relabel_rep = np.empty(int(merge.max()) + 1, dtype=np.int64)
    relabel_rep[seen] = canon
    relabel = relabel_rep[merge].astype(dtype)
    _gather_in_place(table, relabel)
    return table, int(canon.max()) + 1


class _Forest:
    """Breadth-first Schreier forest: parent, generator and depth of each point."""

    def __init__(self, order, parent, gen, depth, labels):
        self.order, self.parent, self.gen, self.depth = order, parent, gen, depth
        self.labels = labels  # orbit label of each point
        self.by_orbit = self.starts = None


def _schreier_forest(images: np.ndarray) -> _Forest:
    k, d = images.shape
    labels = point_orbit_labels(images, d)
    roots = np.unique(labels, return_index=True)[1]  # smallest point of each orbit
    # a virtual node d links to every root, so one BFS builds the whole forest
    src = np.concatenate([np.tile(np.arange(d), k), np.full(len(roots), d)])
    dst = np.concatenate([images.ravel(), roots])
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(d + 1, d + 1)).tocsr()
    order, pred = breadth_first_order(graph, d, directed=True, return_predecessors=True)
    order = order[1:]
    parent = pred[:d].astype(np.int64)
    parent[parent == d] = -1
    # generator of each tree edge: the first s with images[s][parent] == point
    gen = np.full(d, -1, dtype=np.int64)
    child = np.flatnonzero(parent >= 0)
    for s in range(k - 1, -1, -1):
        hit = images[s][parent[child]] == child
        gen[child[hit]] = s
    # depth by pointer doubling
    depth = (parent >= 0).astype(np.int64)
    anc = np.where(parent >= 0, parent, np.arange(d))
    while True:
        moving = depth[anc] > 0
        if not moving.any():
            break
        depth = depth + np.where(moving, depth[anc], 0)
        anc = np.where(moving, anc[anc], anc)
    return _Forest(order, parent, gen, depth, labels)


def _path_elements(forest: _Forest, nodes: np.ndarray, in_images: np.ndarray) -> dict[int, np.ndarray]:
    """Transversal elements u_a (as permutations of the input points) for ``nodes``,
    which must be closed under taking parents (a prefix of the BFS order)."""
    d_in = in_images.shape[1]
    u: dict[int, np.ndarray] = {}
    for a in nodes.tolist():
        p = forest.parent[a]
        u[a] = np.arange(d_in, dtype=np.int64) if p < 0 else in_images[forest.gen[a]][u[p]]
    return u


def _seed_partition(forest, root, out_images, in_images) -> np.ndarray:
    """Canonical labels of a partition of the input points that is at most as
    coarse as the suborbits of Stab(root): the orbits of a few Schreier generators."""
    d_in = in_images.shape[1]
    k = out_images.shape[0]
    nodes = _orbit_nodes(forest, root)[:_SEED_NODES]
    u = _path_elements(forest, nodes, in_images)
    node_set = set(nodes.tolist())
    edges = []
    for a in nodes.tolist():
        for s in range(k):
            b = int(out_images[s][a])
            if b in node_set and not (forest.parent[b] == a and forest.gen[b] == s):
                # sigma = u_b^-1 s u_a fixes the root
                sigma = inverse(u[b])[in_images[s][u[a]]]
                edges.append(sigma)
    if not edges:
        return np.arange(d_in, dtype=np.int64)
    src = np.tile(np.arange(d_in), len(edges))
    graph = coo_matrix((np.ones(src.size, dtype=np.int8), (src, np.concatenate(edges))), shape=(d_in, d_in))
    _, labels = connected_components(graph, directed=True, connection="weak")
    return canonical_labels(labels)


def _orbit_nodes(forest: _Forest, root: int) -> np.ndarray:
    """Points of the root's orbit in BFS order (the root first)."""
    if forest.by_orbit is None:
        labels = forest.labels[forest.order]
        forest.by_orbit = forest.order[np.argsort(labels, kind="stable")]
        forest.starts = np.searchsorted(np.sort(labels), np.arange(labels.max() + 2))
    lab = forest.labels[root]
    return forest.by_orbit[forest.starts[lab]:forest.starts[lab + 1]]


def _batches(rows: np.ndarray, keys: np.ndarray, width: int):
    """Split ``rows`` (sorted by ``keys``) into runs of equal key of bounded size."""
    if rows.size == 0:
        return
    cap = max(1, _BATCH_ELEMENTS // max(width, 1))
    bounds = np.flatnonzero(np.diff(keys)) + 1
    for chunk in np.split(np.arange(rows.size), bounds):
        for start in range(0, chunk.size, cap):
            yield rows[chunk[start:start + cap]]


def _propagate(table: np.ndarray, forest: _Forest, in_inverse: np.ndarray) -> None:
    """Fill every non-root row from its parent: ``T[b] = T[a][s^-1]`` for ``b = s(a)``."""
    child = forest.order[forest.parent[forest.order] >= 0]
    if child.size == 0:
        return
    k, width = in_inverse.shape
    # batch by (depth, generator): a batch's parents are all filled already
    key = forest.depth[child] * k + forest.gen[child]
    order = np.argsort(key, kind="stable")
    child, key = child[order], key[order]
    bounds = np.flatnonzero(np.diff(key)) + 1
    if width >= 256 or bounds.size + 1 > child.size // 4:
        # long rows or narrow layers (deep trees): one row at a time is cheapest
        for b, a, s in zip(child.tolist(), forest.parent[child].tolist(), forest.gen[child].tolist()):
            table[a].take(in_inverse[s], out=table[b])
        return
    for rows in _batches(child, key, width):
        s = int(forest.gen[rows[0]])
        table[rows] = table[forest.parent[rows]][:, in_inverse[s]]


def _rows(table: np.ndarray, rows: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """``table[rows]`` as a view when the rows are consecutive, else gathered into ``buffer``."""
    if rows.size == 1 or (rows[-1] - rows[0] == rows.size - 1 and np.all(np.diff(rows) == 1)):
        return table[rows[0]:rows[0] + rows.size]
    out = buffer[: rows.size]
    np.take(table, rows, axis=0, out=out)
    return out


def _verify_edges(table, forest, out_images, in_images, n_labels):
    """Check every non-tree edge ``a -> b = s(a)``: ``T[a][s^-1] == T[b]``.

    Returns the label merge map, or None when every check passed unchanged.
    """
    k, d_out = out_images.shape
    width = table.shape[1]
    in_inverse = inverse(in_images)
    merge = None
    points = np.arange(d_out)
    chunk = max(1, (1 << 16) // max(width, 1))  # rows per step: a few hundred KiB, cache-friendly
    here_buf = np.empty((chunk, width), dtype=table.dtype)
    there_buf = np.empty_like(here_buf)
    moved_buf = np.empty_like(here_buf)
    equal_buf = np.empty((chunk, width), dtype=bool)
    for s in range(k):
        b_all = out_images[s]
        tree = (forest.parent[b_all] == points) & (forest.gen[b_all] == s)
        a_rows = points[~tree]
        s_inv = in_inverse[s]
        for start in range(0, a_rows.size, chunk):
            a = a_rows[start:start + chunk]
            m = a.size
            here = _rows(table, a, here_buf)
            there = _rows(table, b_all[a], there_buf)
            moved = moved_buf[:m]
            np.take(here, s_inv, axis=1, out=moved)
            if merge is not None:
                moved, there = merge[moved], merge[there]
            equal = equal_buf[:m]
            np.equal(moved, there, out=equal)
            if not equal.all():
                bad = ~equal
                merge = _union(merge, n_labels, moved[bad], there[bad])
    return merge


def _union(merge, n_labels, x, y):
    """Coarsen the label map so that every x[i] and y[i] share a label (smallest id)."""
    base = np.arange(n_labels, dtype=np.int64) if merge is None else merge
    pairs = np.unique(np.stack([x, y], axis=1), axis=0)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n_labels, n_labels))
    _, comp = connected_components(graph, directed=True, connection="weak")
    smallest = np.full(comp.max() + 1, n_labels, dtype=np.int64)
    np.minimum.at(smallest, comp, np.arange(n_labels))
    step = smallest[comp]  # label -> smallest label of its merged class
    return step[base]


def _gather_in_place(table: np.ndarray, relabel: np.ndarray) -> None:
    rows = max(1, _BATCH_ELEMENTS // max(table.shape[1], 1))
    buffer = np.empty((rows, table.shape[1]), dtype=table.dtype)
    for start in range(0, table.shape[0], rows):
        block = table[start:start + rows]
        out = buffer[: block.shape[0]]
        np.take(relabel, block, out=out)
        block[...] = out
