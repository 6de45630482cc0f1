"""The solved basis: one 0/1 matrix per orbit of the group on pairs."""

from __future__ import annotations

import json

import numpy as np

from ._errors import EqsolveError, ProblemTooLargeError
from ._io import atomic_write

FORMAT_VERSION = 2  # 2: root rows + transversal (compact); 1: the dense table
SYMBOLIC_MAX_ENTRIES = 1 << 16


class Basis:
    """Orbit basis of the equivariant maps ``R^{d_in} -> R^{d_out}``.

    The basis is held in compact form: the orbit table's row at the root (smallest
    point) of each output orbit, plus a Schreier forest of the output action that
    reaches every other row by gathers (``(output orbits) x d_in + O(d_out + d_in)``
    integers). The dense table is built only when asked for.

    Attributes
    ----------
    orbit_index:
        Read-only int array ``(d_out, d_in)``: the basis id of entry ``(i, j)``,
        ``-1`` outside a support mask. Ids are numbered by first appearance in
        row-major order. Built on first access (memory-checked:
        :class:`ProblemTooLargeError` names the size when it cannot fit).
    dim:
        Number of basis matrices (orbits on pairs), ``E`` in Lemma 1.
    bias_index:
        Orbit id of each output point: the invariant bias has one parameter per
        output orbit.
    in_orbit_index:
        Orbit id of each input point (None if unknown).
    roots, root_rows:
        The smallest point of each output orbit, and the table's rows there:
        every id first appears in a root row.
    out, inp:
        The output and input actions (None for a basis read from a file).

    Examples
    --------
    >>> import eqsolve
    >>> B = eqsolve.solve(eqsolve.groups.cyclic(3))
    >>> B.dim, B.orbit_index.tolist(), B.bias_index.tolist()
    (3, [[0, 1, 2], [2, 0, 1], [1, 2, 0]], [0, 0, 0])
    >>> B.roots.tolist(), B.root_rows.tolist(), B.rows([1]).tolist()
    ([0], [[0, 1, 2]], [[2, 0, 1]])
    """

    def __init__(self, orbit_index, dim, bias_index, out=None, inp=None, seconds=0.0, in_orbit_index=None):
        table = _readonly(orbit_index)
        self._table = table
        self._spare = None
        self._root_rows = None
        self._tree = None
        self._shape = (int(table.shape[0]), int(table.shape[1]))
        self._init_common(dim, bias_index, out, inp, seconds, in_orbit_index)

    @classmethod
    def compact(cls, root_rows, tree, dim, bias_index=None, out=None, inp=None, seconds=0.0,
                in_orbit_index=None) -> "Basis":
        """A basis from its rows at the output roots and a :class:`~eqsolve._transversal.Transversal`."""
        self = cls.__new__(cls)
        self._table = None
        self._spare = None  # a dense table the solver built anyway (see _solve.keep_spare)
        self._root_rows = _readonly(root_rows)
        self._tree = tree
        self._shape = (int(tree.d_out), int(tree.d_in))
        if bias_index is None:
            bias_index = tree.root_of()
        self._init_common(dim, bias_index, out, inp, seconds, in_orbit_index)
        return self

    def _init_common(self, dim, bias_index, out, inp, seconds, in_orbit_index):
        self.dim = int(dim)
        self.bias_index = _readonly(np.asarray(bias_index, dtype=np.int64))
        if in_orbit_index is None and inp is not None:
            from ._group import point_orbit_labels

            in_orbit_index = point_orbit_labels(inp.images, inp.degree)
        self.in_orbit_index = None if in_orbit_index is None else _readonly(np.asarray(in_orbit_index, dtype=np.int64))
        self.out = out
        self.inp = inp
        self.seconds = seconds

    # -- shape and parts ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(d_out, d_in)``."""
        return self._shape

    @property
    def degree_out(self) -> int:
        return self._shape[0]

    @property
    def degree_in(self) -> int:
        return self._shape[1]

    @property
    def n_bias(self) -> int:
        """Number of output orbits (parameters of the invariant bias per channel)."""
        return int(self.bias_index.max()) + 1 if self.bias_index.size else 0

    @property
    def group(self):
        """The group (of the output action), or None for a basis read from a file."""
        return None if self.out is None else self.out.group

    @property
    def is_compact(self) -> bool:
        """True if rows come from the root rows and a transversal (not from a stored table)."""
        return self._tree is not None

    @property
    def roots(self) -> np.ndarray:
        """The smallest point of each output orbit, increasing (one per bias parameter)."""
        if self._tree is not None:
            return self._tree.roots
        return np.unique(self.bias_index, return_index=True)[1]

    @property
    def root_rows(self) -> np.ndarray:
        """Read-only ``(output orbits, d_in)``: the table's rows at :attr:`roots`."""
        if self._root_rows is None:
            self._root_rows = _readonly(np.array(self._table[self.roots]))
        return self._root_rows

    @property
    def nbytes(self) -> int:
        """Bytes held by the compact form (root rows, transversal, labels), without a built dense table."""
        parts = [self.root_rows, self.bias_index]
        if self.in_orbit_index is not None:
            parts.append(self.in_orbit_index)
        total = sum(int(a.nbytes) for a in parts)
        if self._tree is not None:
            total += self._tree.nbytes
        else:
            total += int(self._table.nbytes)
        return total

    @property
    def orbit_index(self) -> np.ndarray:
        """The dense ``(d_out, d_in)`` table, built on first access (one gather per row)."""
        if self._table is None:
            spare, self._spare = self._spare, None
            self._table = _readonly(spare if spare is not None else self._build_table())
        return self._table

    def _build_table(self) -> np.ndarray:
        from ._memory import require_memory

        d_out, d_in = self._shape
        dtype = self._root_rows.dtype
        require_memory(d_out * d_in * dtype.itemsize,
                       f"the dense {d_out} x {d_in} orbit table (Basis.orbit_index)")
        table = np.empty((d_out, d_in), dtype=dtype)
        self._tree.fill(self._root_rows, table)
        return table

    def _dense(self) -> np.ndarray:
        """The table: the stored one, or a fresh temporary (not kept)."""
        if self._table is not None:
            return self._table
        return self._spare if self._spare is not None else self._build_table()

    def __repr__(self) -> str:
        return f"Basis(dim={self.dim}, shape={self.shape})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Basis):
            return NotImplemented
        if not (self.dim == other.dim and self.shape == other.shape
                and np.array_equal(self.bias_index, other.bias_index)):
            return False
        a, b = self._tree, other._tree
        if a is not None and b is not None and a.same_forest(b):
            return bool(np.array_equal(self._root_rows, other._root_rows))
        if not np.array_equal(self.root_rows, other.root_rows):
            return False
        d_out, d_in = self.shape
        step = max(1, (1 << 22) // max(d_in, 1))
        for lo in range(0, d_out, step):
            block = np.arange(lo, min(d_out, lo + step))
            if not np.array_equal(self.rows(block), other.rows(block)):
                return False
        return True

    __hash__ = None  # mutable-free but array-backed: compare, do not hash

    # -- rows ------------------------------------------------------------------------------
    def rows(self, idx) -> np.ndarray:
        """Rows ``idx`` of the orbit table, ``(len(idx), d_in)`` (a copy), without the dense table.

        Each row is its root row gathered along the transversal (or, for many rows
        sharing ancestors, filled from the top): layers and tools read rows through
        this method so that they never need the whole ``d_out x d_in`` table.

        >>> import eqsolve
        >>> eqsolve.solve(eqsolve.groups.cyclic(3)).rows([2]).tolist()
        [[1, 2, 0]]
        """
        idx = np.asarray(idx)
        if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
            raise EqsolveError(f"rows: expected a 1-d list of row numbers, got {idx.tolist()!r:.80}")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.degree_out):
            raise EqsolveError(f"rows: expected a list of row numbers in [0, {self.degree_out}), got {idx.tolist()!r:.80}")
        if self._tree is None:
            return np.array(self._table[idx])
        from ._memory import require_memory

        require_memory(idx.size * self.degree_in * self._root_rows.dtype.itemsize * 2,
                       f"{idx.size} rows of length {self.degree_in}")
        return self._tree.rows(self._root_rows, idx)

    def orbit_sizes(self) -> np.ndarray:
        """Number of entries of each basis matrix."""
        if self._tree is None:
            flat = self._table.ravel()
            return np.bincount(flat[flat >= 0], minlength=self.dim)
        per_root = np.bincount(self._tree.root_of(), minlength=len(self._root_rows))
        counts = np.zeros(self.dim, dtype=np.int64)
        for r, row in enumerate(self._root_rows):
            used = row[row >= 0]
            counts += np.bincount(used, minlength=self.dim) * int(per_root[r])
        return counts

    # -- masks ---------------------------------------------------------------------------
    def restrict(self, support) -> "Basis":
        """The basis of the maps supported on ``support``: the orbits inside the mask.

        ``support`` is a boolean (or 0/1) ``(d_out, d_in)`` mask that must be a union
        of orbits (entries already outside the basis, id -1, are ignored); ids are
        renumbered by first appearance. Raises :class:`MaskNotInvariantError` naming
        two entries of one orbit on either side of the mask.

        >>> import eqsolve, numpy as np
        >>> B = eqsolve.solve(eqsolve.groups.cyclic(4))
        >>> near = np.abs(np.subtract.outer(range(4), range(4)) % 4 - 2) >= 1
        >>> B.restrict(near).dim, B.restrict(near).rows([0]).tolist()
        (3, [[0, 1, -1, 2]])
        """
        mask = check_mask(support, self.shape)
        table = self._dense()
        inside = table >= 0
        ids = table[inside]
        total = np.bincount(ids, minlength=self.dim)
        kept = np.bincount(ids[mask[inside]], minlength=self.dim)
        partial = np.flatnonzero((kept > 0) & (kept < total))
        if partial.size:
            k = int(partial[0])
            i_in, j_in = np.argwhere((table == k) & mask)[0]
            i_out, j_out = np.argwhere((table == k) & ~mask)[0]
            from ._errors import MaskNotInvariantError

            raise MaskNotInvariantError(
                f"support mask is not invariant (not a union of orbits): orbit {k} has entry "
                f"({i_in}, {j_in}) inside the mask and ({i_out}, {j_out}) outside it"
            )
        keep = (kept == total) & (total > 0)
        new_id = np.where(keep, np.cumsum(keep) - 1, -1)
        relabel = np.concatenate([new_id, [-1]]).astype(table.dtype)  # index -1 maps to -1
        dim = int(keep.sum())
        common = dict(out=self.out, inp=self.inp, seconds=self.seconds, in_orbit_index=self.in_orbit_index)
        if self._tree is None:
            return Basis(relabel[table], dim, self.bias_index, **common)
        return Basis.compact(relabel[self._root_rows], self._tree, dim, self.bias_index, **common)

    # -- dense views ----------------------------------------------------------------------
    def matrices(self, sparse: bool = True):
        """The ``dim`` basis matrices, 0/1, as scipy CSR matrices or dense arrays.

        >>> import eqsolve
        >>> [m.toarray().tolist() for m in eqsolve.solve(eqsolve.groups.symmetric(2)).matrices()]
        [[[1, 0], [0, 1]], [[0, 1], [1, 0]]]
        """
        from scipy.sparse import csr_matrix

        d_out, d_in = self.shape
        if not sparse:
            from ._memory import require_memory

            require_memory(self.dim * d_out * d_in, f"{self.dim} dense {d_out} x {d_in} basis matrices")
        flat = self._dense().ravel()
        entries = np.flatnonzero(flat >= 0)
        ids = flat[entries]
        order = np.argsort(ids, kind="stable")
        bounds = np.searchsorted(ids[order], np.arange(self.dim + 1))
        result = []
        for k in range(self.dim):
            pos = entries[order[bounds[k]:bounds[k + 1]]]
            rows, cols = np.divmod(pos, d_in)
            m = csr_matrix((np.ones(pos.size, dtype=np.int8), (rows, cols)), shape=(d_out, d_in))
            result.append(m if sparse else m.toarray())
        return result

    def weight(self, theta) -> np.ndarray:
        """Dense matrix ``sum_k theta[k] * B_k`` (entries outside the support are 0)."""
        theta = np.asarray(theta)
        if theta.shape != (self.dim,):
            raise EqsolveError(f"theta must have shape ({self.dim},), got {theta.shape}")
        padded = np.concatenate([theta, np.zeros(1, dtype=theta.dtype)])
        return padded[self._dense()]

    def symbolic(self):
        """The general equivariant matrix as a sympy Matrix in symbols ``theta_k``.

        >>> import eqsolve
        >>> eqsolve.solve(eqsolve.groups.symmetric(2)).symbolic()
        Matrix([
        [theta_0, theta_1],
        [theta_1, theta_0]])
        """
        import sympy

        d_out, d_in = self.shape
        if d_out * d_in > SYMBOLIC_MAX_ENTRIES:
            raise ProblemTooLargeError(
                f"symbolic() builds a {d_out} x {d_in} sympy Matrix ({d_out * d_in} entries); "
                f"the limit is {SYMBOLIC_MAX_ENTRIES} entries"
            )
        symbols = sympy.symbols(f"theta_0:{self.dim}") if self.dim else ()
        table = self._dense().tolist()
        return sympy.Matrix(d_out, d_in, lambda i, j: symbols[table[i][j]] if table[i][j] >= 0 else 0)

    # -- persistence -------------------------------------------------------------
    def save(self, path) -> None:
        """Write the basis to ``path`` (``.npz``, no pickle), atomically.

        A compact basis is written in format version 2 (root rows and transversal);
        a basis read from a version-1 file (a dense table) is written as version 1.

        >>> import eqsolve, tempfile, os
        >>> B = eqsolve.solve(eqsolve.groups.cyclic(5))
        >>> p = os.path.join(tempfile.mkdtemp(), "b.npz"); B.save(p)
        >>> eqsolve.load(p) == B
        True
        """
        arrays = {"bias_index": self.bias_index}
        if self._tree is None:
            meta = {"format": "eqsolve-basis", "version": 1, "dim": self.dim}
            arrays["orbit_index"] = self._table
        else:
            meta = {"format": "eqsolve-basis", "version": FORMAT_VERSION, "dim": self.dim,
                    "shape": list(self.shape)}
            arrays.update(root_rows=self._root_rows, parent=self._tree.parent, label=self._tree.label,
                          gathers=self._tree.gathers)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        if self.in_orbit_index is not None:
            arrays["in_orbit_index"] = self.in_orbit_index
        atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))


def check_mask(support, shape) -> np.ndarray:
    """A boolean ``shape`` mask from ``support`` (bool or 0/1), or a clear error."""
    from ._errors import DegreeMismatchError

    from ._perm import as_array

    mask = as_array(support, "support mask")
    if mask.shape != tuple(shape):
        raise DegreeMismatchError(
            f"support mask has shape {mask.shape}, expected {tuple(shape)}: the mask of a basis "
            f"of shape (d_out, d_in) = {tuple(shape)} cannot be {mask.shape}"
        )
    if mask.dtype != bool:
        if not (np.issubdtype(mask.dtype, np.number) and np.all((mask == 0) | (mask == 1))):
            raise EqsolveError("support mask must be boolean (or 0/1)")
        mask = mask.astype(bool)
    return mask


def load(path) -> Basis:
    """Read a basis written by :meth:`Basis.save`; safe on untrusted files (no pickle).

    Anything that is not such a file (another format, a truncated or corrupt
    archive, inconsistent arrays, a newer format version) raises
    :class:`EqsolveError` naming the file and the problem. Declared array sizes are
    checked against the file and the memory budget before anything is read; pipes,
    devices and folders are refused without blocking; metadata is bounded (64 KiB,
    32 levels of nesting). Version-1 files (the dense table) and version-2 files
    (root rows and transversal, validated: permutations, an acyclic forest, ids)
    both load.
    """
    from ._io import loads_json_bounded, read_npz

    arrays = read_npz(path, "an eqsolve basis file")
    if "meta" not in arrays:
        raise EqsolveError(f"{path} is not an eqsolve basis file: missing ['meta']")
    if arrays["meta"].dtype != np.uint8 or arrays["meta"].ndim != 1:
        raise EqsolveError(f"{path}: unreadable metadata")
    meta = loads_json_bounded(arrays["meta"].tobytes(), str(path))
    if not isinstance(meta, dict) or meta.get("format") != "eqsolve-basis":
        raise EqsolveError(f"{path} is not an eqsolve basis file")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise EqsolveError(f"{path}: unsupported format version {version!r} (this eqsolve reads 1..{FORMAT_VERSION})")
    needed = {"orbit_index", "bias_index"} if version == 1 else {"root_rows", "parent", "label", "gathers", "bias_index"}
    missing = needed - set(arrays)
    if missing:
        raise EqsolveError(f"{path} is not an eqsolve basis file: missing {sorted(missing)}")
    bias, in_orbits, dim = arrays["bias_index"], arrays.get("in_orbit_index"), meta.get("dim")
    if version == 1:
        table = arrays["orbit_index"]
        problem = _check_arrays(table, bias, in_orbits, dim)
        if problem:
            raise EqsolveError(f"{path}: inconsistent basis arrays: {problem}")
        if table.dtype not in (np.int32, np.int64):
            table = table.astype(np.int64)
        return Basis(table, dim, bias, in_orbit_index=in_orbits)
    tree, root_rows, problem = _compact_parts(arrays, meta)
    if not problem:
        problem = _check_arrays(root_rows, bias, None, dim, rows_of="root_rows")
    if not problem:
        problem = _check_labels(bias, in_orbits, tree.d_out, tree.d_in)
    if not problem and not np.array_equal(bias, tree.root_of()):
        problem = "bias_index does not match the output orbits of the transversal"
    if problem:
        raise EqsolveError(f"{path}: inconsistent basis arrays: {problem}")
    return Basis.compact(root_rows, tree, dim, bias, in_orbit_index=in_orbits)


def _compact_parts(arrays, meta):
    """The transversal and root rows of a version-2 file, or a reason why they are not valid."""
    from ._transversal import Transversal, index_dtype

    def is_int(a):
        return np.issubdtype(a.dtype, np.integer)

    shape = meta.get("shape")
    if (not isinstance(shape, list) or len(shape) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
        return None, None, f"shape {shape!r} must be [d_out, d_in]"
    d_out, d_in = shape
    parent, label, gathers, root_rows = (arrays[n] for n in ("parent", "label", "gathers", "root_rows"))
    for name, arr, ndim in (("parent", parent, 1), ("label", label, 1), ("gathers", gathers, 2), ("root_rows", root_rows, 2)):
        if arr.ndim != ndim or not is_int(arr):
            return None, None, f"{name} must be a {ndim}-d integer array, got shape {arr.shape} dtype {arr.dtype}"
    if parent.shape != (d_out,) or label.shape != (d_out,):
        return None, None, f"parent and label must have length d_out = {d_out}, got {parent.shape} and {label.shape}"
    if gathers.shape[1] != d_in or root_rows.shape[1] != d_in:
        return None, None, f"gathers and root_rows must have d_in = {d_in} columns"
    if d_out and (parent.min() < -1 or parent.max() >= d_out):
        return None, None, f"parent has entries outside -1..{d_out - 1}"
    tree_edge = parent >= 0
    if np.any(label[~tree_edge] != -1) or (tree_edge.any() and (label[tree_edge].min() < 0 or label[tree_edge].max() >= len(gathers))):
        return None, None, f"label must be -1 at the roots and in 0..{len(gathers) - 1} elsewhere"
    if gathers.size and not np.array_equal(np.sort(gathers, axis=1), np.broadcast_to(np.arange(d_in), gathers.shape)):
        return None, None, "gathers must be permutations of the input points"
    if int(np.count_nonzero(~tree_edge)) != root_rows.shape[0]:
        return None, None, f"{root_rows.shape[0]} root rows for {int(np.count_nonzero(~tree_edge))} roots"
    tree = Transversal(parent.astype(index_dtype(d_out)), label.astype(np.int32), gathers.astype(index_dtype(d_in)))
    try:
        tree.depth()
    except ValueError:
        return None, None, "parent does not form a forest (it has a cycle)"
    if root_rows.dtype not in (np.int32, np.int64):
        root_rows = root_rows.astype(np.int64)
    return tree, root_rows, ""


def _check_arrays(table, bias, in_orbits, dim, rows_of="orbit_index") -> str:
    """Why the arrays of a saved basis do not form one (empty string if they do).

    ``table`` is the dense table (version 1) or the root rows (version 2, ``bias``
    and ``in_orbits`` then checked by :func:`_check_labels`).
    """
    def is_int(a):
        return np.issubdtype(a.dtype, np.integer)

    if table.ndim != 2 or not is_int(table):
        return f"{rows_of} must be a 2-d integer array, got shape {table.shape} dtype {table.dtype}"
    if not isinstance(dim, int) or isinstance(dim, bool) or not 0 <= dim <= table.size:
        return f"dim {dim!r} must be an integer in 0..{table.size}"
    used = table[table >= 0] if table.size else table.ravel()
    if table.size and table.min() < -1:
        return f"{rows_of} has id {int(table.min())} (ids are -1 or 0..dim-1)"
    if used.size and used.max() >= dim:
        return f"{rows_of} has id {int(used.max())}, but dim is {dim}"
    if np.count_nonzero(np.bincount(used.astype(np.int64), minlength=dim)) != dim:
        return f"dim is {dim}, but {rows_of} uses only {len(np.unique(used))} ids"
    if rows_of != "orbit_index":
        return ""
    return _check_labels(bias, in_orbits, *table.shape)


def _check_labels(bias, in_orbits, d_out, d_in) -> str:
    def is_int(a):
        return np.issubdtype(a.dtype, np.integer)

    for name, arr, n in (("bias_index", bias, d_out), ("in_orbit_index", in_orbits, d_in)):
        if arr is None:
            continue
        if arr.ndim != 1 or arr.shape[0] != n or not is_int(arr):
            return f"{name} must be a 1-d integer array of length {n}, got shape {arr.shape} dtype {arr.dtype}"
        if n and (arr.min() < 0 or arr.max() >= n):
            return f"{name} has label {int(arr.min() if arr.min() < 0 else arr.max())} outside 0..{n - 1}"
    return ""


def _readonly(array) -> np.ndarray:
    array = np.asarray(array)
    array.setflags(write=False)
    return array
