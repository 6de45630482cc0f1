"""The solved basis: one 0/1 matrix per orbit of the group on pairs."""

from __future__ import annotations

import json

import numpy as np

from ._errors import EqsolveError, ProblemTooLargeError
from ._io import atomic_write

FORMAT_VERSION = 1
SYMBOLIC_MAX_ENTRIES = 1 << 16


class Basis:
    """Orbit basis of the equivariant maps ``R^{d_in} -> R^{d_out}``.

    Attributes
    ----------
    orbit_index:
        Read-only int array ``(d_out, d_in)``: the basis id of entry ``(i, j)``,
        ``-1`` outside a support mask. Ids are numbered by first appearance in
        row-major order.
    dim:
        Number of basis matrices (orbits on pairs), ``E`` in Lemma 1.
    bias_index:
        Orbit id of each output point: the invariant bias has one parameter per
        output orbit.

    Examples
    --------
    >>> import eqsolve
    >>> B = eqsolve.solve(eqsolve.groups.cyclic(3))
    >>> B.dim, B.orbit_index.tolist(), B.bias_index.tolist()
    (3, [[0, 1, 2], [2, 0, 1], [1, 2, 0]], [0, 0, 0])
    """

    def __init__(self, orbit_index, dim, bias_index, out=None, inp=None, seconds=0.0, in_orbit_index=None):
        self.orbit_index = _readonly(orbit_index)
        self.dim = int(dim)
        self.bias_index = _readonly(np.asarray(bias_index, dtype=np.int64))
        if in_orbit_index is None and inp is not None:
            from ._group import point_orbit_labels

            in_orbit_index = point_orbit_labels(inp.images, inp.degree)
        self.in_orbit_index = None if in_orbit_index is None else _readonly(np.asarray(in_orbit_index, dtype=np.int64))
        self.out = out
        self.inp = inp
        self.seconds = seconds

    @property
    def shape(self) -> tuple[int, int]:
        """``(d_out, d_in)``."""
        return tuple(self.orbit_index.shape)

    @property
    def degree_out(self) -> int:
        return self.orbit_index.shape[0]

    @property
    def degree_in(self) -> int:
        return self.orbit_index.shape[1]

    @property
    def n_bias(self) -> int:
        """Number of output orbits (parameters of the invariant bias per channel)."""
        return int(self.bias_index.max()) + 1 if self.bias_index.size else 0

    def __repr__(self) -> str:
        return f"Basis(dim={self.dim}, shape={self.shape})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Basis):
            return NotImplemented
        return (
            self.dim == other.dim
            and np.array_equal(self.orbit_index, other.orbit_index)
            and np.array_equal(self.bias_index, other.bias_index)
        )

    __hash__ = None  # mutable-free but array-backed: compare, do not hash

    def rows(self, idx) -> np.ndarray:
        """Rows ``idx`` of the orbit table, ``(len(idx), d_in)`` (a copy).

        Layers and tools read rows through this method so that they never need the
        whole ``d_out x d_in`` table.

        >>> import eqsolve
        >>> eqsolve.solve(eqsolve.groups.cyclic(3)).rows([2]).tolist()
        [[1, 2, 0]]
        """
        idx = np.asarray(idx, dtype=np.int64)
        if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= self.degree_out)):
            raise EqsolveError(f"rows: expected a list of row numbers in [0, {self.degree_out}), got {idx.tolist()!r:.80}")
        return np.array(self.orbit_index[idx])

    def orbit_sizes(self) -> np.ndarray:
        """Number of entries of each basis matrix."""
        flat = self.orbit_index.ravel()
        return np.bincount(flat[flat >= 0], minlength=self.dim)

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
        flat = self.orbit_index.ravel()
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
        return padded[self.orbit_index]

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
        table = self.orbit_index.tolist()
        return sympy.Matrix(d_out, d_in, lambda i, j: symbols[table[i][j]] if table[i][j] >= 0 else 0)

    # -- persistence -------------------------------------------------------------
    def save(self, path) -> None:
        """Write the basis to ``path`` (``.npz``, no pickle), atomically.

        >>> import eqsolve, tempfile, os
        >>> B = eqsolve.solve(eqsolve.groups.cyclic(5))
        >>> p = os.path.join(tempfile.mkdtemp(), "b.npz"); B.save(p)
        >>> eqsolve.load(p) == B
        True
        """
        meta = {"format": "eqsolve-basis", "version": FORMAT_VERSION, "dim": self.dim}
        arrays = {
            "orbit_index": self.orbit_index,
            "bias_index": self.bias_index,
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        }
        if self.in_orbit_index is not None:
            arrays["in_orbit_index"] = self.in_orbit_index
        atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))


def load(path) -> Basis:
    """Read a basis written by :meth:`Basis.save`; safe on untrusted files (no pickle).

    Anything that is not such a file (another format, a truncated or corrupt
    archive, inconsistent arrays, a newer format version) raises
    :class:`EqsolveError` naming the file and the problem. Declared array sizes are
    checked against the file and the memory budget before anything is read; pipes,
    devices and folders are refused without blocking; metadata is bounded (64 KiB,
    32 levels of nesting).
    """
    from ._io import loads_json_bounded, read_npz

    arrays = read_npz(path, "an eqsolve basis file")
    missing = {"orbit_index", "bias_index", "meta"} - set(arrays)
    if missing:
        raise EqsolveError(f"{path} is not an eqsolve basis file: missing {sorted(missing)}")
    if arrays["meta"].dtype != np.uint8 or arrays["meta"].ndim != 1:
        raise EqsolveError(f"{path}: unreadable metadata")
    meta = loads_json_bounded(arrays["meta"].tobytes(), str(path))
    if not isinstance(meta, dict) or meta.get("format") != "eqsolve-basis":
        raise EqsolveError(f"{path} is not an eqsolve basis file")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise EqsolveError(f"{path}: unsupported format version {version!r} (this eqsolve reads 1..{FORMAT_VERSION})")
    table, bias = arrays["orbit_index"], arrays["bias_index"]
    in_orbits = arrays.get("in_orbit_index")
    dim = meta.get("dim")
    problem = _check_arrays(table, bias, in_orbits, dim)
    if problem:
        raise EqsolveError(f"{path}: inconsistent basis arrays: {problem}")
    if table.dtype not in (np.int32, np.int64):
        table = table.astype(np.int64)
    return Basis(table, dim, bias, in_orbit_index=in_orbits)


def _check_arrays(table, bias, in_orbits, dim) -> str:
    """Why the arrays of a saved basis do not form one (empty string if they do)."""
    def is_int(a):
        return np.issubdtype(a.dtype, np.integer)

    if table.ndim != 2 or not is_int(table):
        return f"orbit_index must be a 2-d integer array, got shape {table.shape} dtype {table.dtype}"
    d_out, d_in = table.shape
    if not isinstance(dim, int) or isinstance(dim, bool) or not 0 <= dim <= table.size:
        return f"dim {dim!r} must be an integer in 0..{table.size}"
    used = table[table >= 0] if table.size else table.ravel()
    if table.size and table.min() < -1:
        return f"orbit_index has id {int(table.min())} (ids are -1 or 0..dim-1)"
    if used.size and used.max() >= dim:
        return f"orbit_index has id {int(used.max())}, but dim is {dim}"
    if np.count_nonzero(np.bincount(used.astype(np.int64), minlength=dim)) != dim:
        return f"dim is {dim}, but orbit_index uses only {len(np.unique(used))} ids"
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
