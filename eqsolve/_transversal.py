"""Schreier forest of the output action: how every row of an orbit table follows from a root row.

An orbit table ``T`` (``d_out x d_in``) of a group acting on pairs satisfies
``T[s(a), s(j)] = T[a, j]`` for every generator ``s``. So if ``b = s(a)`` is a tree
edge, row ``b`` is row ``a`` gathered by ``s^-1`` on the input points:
``T[b] = T[a][s^-1]``. A breadth-first forest of the output action (generators and
their inverses, rooted at the smallest point of each orbit) therefore reaches
every row from the rows at the roots. :class:`Transversal` stores the forest
(``parent``, ``label`` per output point) and the input-side gathers (one
permutation of the input points per tree label): ``O(d_out + k d_in)`` integers.

>>> import numpy as np
>>> t = Transversal.build(np.array([[1, 2, 0]]), np.array([[1, 2, 0]]))
>>> t.roots.tolist(), t.rows(np.array([[0, 1, 2]]), np.array([1, 2])).tolist()
([0], [[2, 0, 1], [1, 2, 0]])
"""

from __future__ import annotations

import numpy as np

from ._group import point_orbit_labels
from ._perm import inverse

_BATCH = 1 << 21  # table entries per vectorised step
_NUMPY_LAYERS = 2048  # breadth-first layers done in numpy before switching to scipy's BFS
_SINGLE_SOURCE_ORBITS = 16  # orbits searched one by one before labelling the rest by components


def index_dtype(n: int):
    """int32 when indices below ``n`` fit, else int64."""
    return np.int32 if n < 2**31 - 1 else np.int64


class Transversal:
    """Parent, tree label and input gathers of a Schreier forest of the output action.

    ``T[b] = T[parent[b]][gathers[label[b]]]`` for every non-root ``b``; roots
    have ``parent == -1`` and are the smallest points of their orbits.
    """

    def __init__(self, parent: np.ndarray, label: np.ndarray, gathers: np.ndarray):
        self.parent = parent
        self.label = label
        self.gathers = gathers
        self.d_out = parent.shape[0]
        self.d_in = gathers.shape[1]
        self._order = self._starts = self._depth = self._root_of = None

    # -- construction -----------------------------------------------------------------
    @classmethod
    def build(cls, out_images: np.ndarray, in_images: np.ndarray) -> "Transversal":
        """Breadth-first forest over the generators and their inverses (``O(k d)``)."""
        out_images = np.asarray(out_images, dtype=np.int64)
        in_images = np.asarray(in_images, dtype=np.int64)
        k, d_out = out_images.shape
        d_in = in_images.shape[1]
        idx_out, idx_in = index_dtype(d_out), index_dtype(d_in)
        out_inv = inverse(out_images) if k else out_images
        in_inv = inverse(in_images) if k else in_images
        moves = [s for s in range(k) if np.any(out_images[s] != np.arange(d_out))]
        tree_out, gathers = [], []
        for s in moves:  # b = s(a): T[b] = T[a][s^-1]
            tree_out.append(out_images[s])
            gathers.append(in_inv[s])
        for s in moves:  # b = s^-1(a): T[b] = T[a][s]; an involution on both sides is its own inverse
            if np.array_equal(out_inv[s], out_images[s]) and np.array_equal(in_inv[s], in_images[s]):
                continue
            tree_out.append(out_inv[s])
            gathers.append(in_images[s])
        gathers = np.array(gathers, dtype=idx_in).reshape(len(gathers), d_in)
        parent = np.full(d_out, -1, dtype=idx_out)
        label = np.full(d_out, -1, dtype=np.int16 if len(gathers) < 2**15 else np.int32)
        tree = cls(parent, label, gathers)
        if d_out == 0:
            tree._depth, tree._root_of = np.zeros(0, np.int32), np.zeros(0, np.int64)
            return tree
        tree_out = [p.astype(idx_out) for p in tree_out]
        root_of = np.full(d_out, -1, dtype=np.int64)
        depth = np.zeros(d_out, dtype=np.int32)
        layers, n_roots, next_free = [], 0, 0
        # orbit by orbit from the smallest unreached point; many orbits: one multi-source search
        while next_free < d_out:
            if n_roots >= _SINGLE_SOURCE_ORBITS:
                rest = np.flatnonzero(root_of < 0)
                labels = point_orbit_labels(out_images, d_out)[rest] if k else rest
                roots = rest[np.unique(labels, return_index=True)[1]]
            else:
                roots = np.array([next_free])
            root_of[roots] = np.arange(n_roots, n_roots + roots.size)
            n_roots += roots.size
            if not _bfs(tree, tree_out, roots.astype(idx_out), root_of, depth, layers):
                labels = point_orbit_labels(out_images, d_out)  # deep: compiled BFS for everything
                _scipy_bfs(tree, tree_out, np.unique(labels, return_index=True)[1])
                tree._depth = tree._root_of = tree._order = None
                return tree
            reached = root_of >= 0
            next_free = int(np.argmin(reached)) if not reached.all() else d_out
        tree._depth, tree._root_of = depth, root_of
        tree._order = np.concatenate(layers)
        tree._starts = None  # layers of several searches interleave; recomputed from depth on demand
        return tree

    # -- derived arrays (lazy) ------------------------------------------------------------
    @property
    def roots(self) -> np.ndarray:
        """Root of each output orbit (its smallest point), increasing."""
        return np.flatnonzero(self.parent < 0)

    def layers(self) -> tuple[np.ndarray, np.ndarray]:
        """Points in breadth-first order and the start of each depth layer."""
        if self._starts is None:
            depth = self.depth()
            self._order = np.argsort(depth, kind="stable").astype(self.parent.dtype)
            self._starts = np.searchsorted(depth[self._order], np.arange(int(depth.max(initial=0)) + 2))
        return self._order, self._starts

    def depth(self) -> np.ndarray:
        """Depth of every point (roots 0), by pointer doubling: ``O(d log depth)``."""
        if self._depth is None:
            self._depth, self._root_of = _depth_and_root(self.parent)
        return self._depth

    def root_of(self) -> np.ndarray:
        """Index (into :attr:`roots`) of every point's root: the output orbit labels."""
        if self._root_of is None:
            self.depth()
        return self._root_of

    def same_forest(self, other: "Transversal") -> bool:
        """True if both reach every row by the same gathers (so equal root rows mean equal tables)."""
        return self is other or (
            np.array_equal(self.parent, other.parent) and np.array_equal(self.label, other.label)
            and np.array_equal(self.gathers, other.gathers)
        )

    @property
    def nbytes(self) -> int:
        return int(self.parent.nbytes + self.label.nbytes + self.gathers.nbytes)

    # -- rows ---------------------------------------------------------------------------
    def rows(self, root_rows: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` of the table whose rows at the roots are ``root_rows`` (in root order)."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.empty((idx.size, self.d_in), dtype=root_rows.dtype)
        if idx.size == 0 or self.d_in == 0:
            return out
        if idx.size == self.d_out and np.array_equal(idx, np.arange(self.d_out)):
            self.fill(root_rows, out)  # the whole table: one gather per row
            return out
        depth = self.depth()
        closure = _ancestors(self.parent, idx)
        if closure.size < int(depth[idx].sum()):
            self._rows_top_down(root_rows, idx, closure, out)
        else:
            step = max(1, _BATCH // self.d_in)
            for lo in range(0, idx.size, step):
                out[lo:lo + step] = self._walk(root_rows, idx[lo:lo + step])
        return out

    def _walk(self, root_rows, idx):
        """Walk up to the roots composing gathers: ``T[i] = T[root][p_1[p_2[...p_i]]]``."""
        v = np.tile(np.arange(self.d_in, dtype=self.gathers.dtype), (idx.size, 1))
        cur = idx.copy()
        active = np.flatnonzero(self.parent[cur] >= 0)
        while active.size:
            c = cur[active]
            v[active] = np.take_along_axis(self.gathers[self.label[c]], v[active], axis=1)
            cur[active] = self.parent[c]
            active = active[self.parent[cur[active]] >= 0]
        return np.take_along_axis(root_rows[self.root_of()[cur]], v, axis=1)

    def _rows_top_down(self, root_rows, idx, closure, out):
        """Fill every row of ``closure`` (closed under parents) from the top, then pick ``idx``."""
        depth = self.depth()
        closure = closure[np.argsort(depth[closure], kind="stable")]
        where = np.full(self.d_out, -1, dtype=np.int64)
        where[closure] = np.arange(closure.size)
        buf = np.empty((closure.size, self.d_in), dtype=root_rows.dtype)
        is_root = self.parent[closure] < 0
        buf[is_root] = root_rows[self.root_of()[closure[is_root]]]
        _fill_children(buf, closure[~is_root], where, self)
        out[...] = buf[where[idx]]

    def fill(self, root_rows: np.ndarray, table: np.ndarray) -> None:
        """Write the whole table into ``table`` (``d_out x d_in``): one gather per row."""
        if self.d_out == 0 or self.d_in == 0:
            return
        roots = self.roots
        table[roots] = root_rows
        order, starts = self.layers()
        _fill_children(table, order[starts[1]:] if len(starts) > 1 else order[:0], None, self)


def _bfs(tree, tree_out, roots, root_of, depth, layers) -> bool:
    """Layered breadth-first search from ``roots`` in numpy; False if it gets too deep."""
    parent, label = tree.parent, tree.label
    frontier = roots
    layers.append(frontier)
    level = 0
    while True:
        level += 1
        if level > _NUMPY_LAYERS:
            return False
        fresh_layer = []
        for t, perm in enumerate(tree_out):
            img = perm[frontier]
            fresh = root_of[img] < 0
            if not fresh.any():
                continue
            img, src = img[fresh], frontier[fresh]
            root_of[img] = root_of[src]
            parent[img] = src
            label[img] = t
            depth[img] = level
            fresh_layer.append(img)
        if not fresh_layer:
            return True
        frontier = np.concatenate(fresh_layer) if len(fresh_layer) > 1 else fresh_layer[0]
        layers.append(frontier)


def _scipy_bfs(tree: "Transversal", tree_out: list, roots: np.ndarray) -> None:
    """The whole forest by scipy's breadth-first search from a virtual node linked to every root."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order

    d, m = tree.d_out, len(tree_out)
    src = np.concatenate([np.tile(np.arange(d, dtype=np.int32), m), np.full(roots.size, d, dtype=np.int32)])
    dst = np.concatenate([np.concatenate(tree_out).astype(np.int32), roots.astype(np.int32)])
    graph = csr_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(d + 1, d + 1))
    del src, dst
    _, pred = breadth_first_order(graph, d, directed=True, return_predecessors=True)
    parent = pred[:d].astype(np.int64)
    parent[parent == d] = -1
    child = np.flatnonzero(parent >= 0)
    label = np.full(d, -1, dtype=tree.label.dtype)
    for t in range(m - 1, -1, -1):  # the first tree generator that realises each edge
        hit = tree_out[t][parent[child]] == child
        label[child[hit]] = t
    tree.parent[...] = parent
    tree.label[...] = label


def _fill_children(buf, nodes, where, tree):
    """``buf[pos(b)] = buf[pos(parent b)][gathers[label b]]`` for ``nodes`` in breadth-first order.

    ``pos`` is ``where`` (or the identity when None). Nodes of one depth and label
    share the gather, so they go in one fancy-indexing step when rows are short.
    """
    if nodes.size == 0:
        return
    pos = (lambda x: x) if where is None else (lambda x: where[x])
    depth = tree.depth()
    width = tree.d_in
    if width >= 256:
        for b, a, t in zip(pos(nodes).tolist(), pos(tree.parent[nodes]).tolist(), tree.label[nodes].tolist()):
            buf[a].take(tree.gathers[t], out=buf[b])
        return
    key = depth[nodes].astype(np.int64) * len(tree.gathers) + tree.label[nodes]
    order = np.argsort(key, kind="stable")
    nodes, key = nodes[order], key[order]
    cap = max(1, _BATCH // max(width, 1))
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1, [nodes.size]])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        t = int(tree.label[nodes[lo]])
        for start in range(lo, hi, cap):
            chunk = nodes[start:min(hi, start + cap)]
            buf[pos(chunk)] = buf[pos(tree.parent[chunk])][:, tree.gathers[t]]


def _ancestors(parent: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``idx`` and all their ancestors, each once."""
    seen = np.zeros(parent.shape[0], dtype=bool)
    found = []
    frontier = np.unique(idx)
    while frontier.size:
        seen[frontier] = True
        found.append(frontier)
        up = parent[frontier]
        up = np.unique(up[up >= 0])
        frontier = up[~seen[up]]
    return np.concatenate(found) if found else idx[:0]


def _depth_and_root(parent: np.ndarray):
    """Depth and root index of every point by pointer doubling; raises ValueError on a cycle."""
    d = parent.shape[0]
    points = np.arange(d)
    is_root = parent < 0
    jump = np.where(is_root, points, parent).astype(np.int64)
    depth = (~is_root).astype(np.int64)
    for _ in range(max(1, int(d).bit_length()) + 1):
        moving = ~is_root[jump]
        if not moving.any():
            break
        depth = depth + np.where(moving, depth[jump], 0)
        jump = np.where(moving, jump[jump], jump)
    if d and not is_root[jump].all():
        raise ValueError("the parent array has a cycle")
    root_rank = np.cumsum(is_root) - 1
    return depth, root_rank[jump]
