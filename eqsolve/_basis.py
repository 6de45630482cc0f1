"""The solved basis: one 0/1 matrix per orbit of the group on pairs."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ._errors import EqsolveError, ProblemTooLargeError

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
    """Read a basis written by :meth:`Basis.save`; safe on untrusted files (no pickle)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise EqsolveError(f"no such file: {path}") from None
    except (ValueError, OSError, EOFError) as err:
        raise EqsolveError(f"{path} is not an eqsolve basis file: {err}") from None
    missing = {"orbit_index", "bias_index", "meta"} - set(arrays)
    if missing:
        raise EqsolveError(f"{path} is not an eqsolve basis file: missing {sorted(missing)}")
    try:
        meta = json.loads(arrays["meta"].tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EqsolveError(f"{path}: unreadable metadata") from None
    if not isinstance(meta, dict) or meta.get("format") != "eqsolve-basis":
        raise EqsolveError(f"{path} is not an eqsolve basis file")
    table, bias = arrays["orbit_index"], arrays["bias_index"]
    dim = meta.get("dim")
    if (
        table.ndim != 2 or bias.ndim != 1 or bias.shape[0] != table.shape[0]
        or not np.issubdtype(table.dtype, np.integer) or not isinstance(dim, int)
        or (table.size and (table.min() < -1 or table.max() >= dim))
    ):
        raise EqsolveError(f"{path}: inconsistent basis arrays (shape {table.shape}, dim {dim})")
    return Basis(table, dim, bias, in_orbit_index=arrays.get("in_orbit_index"))


def atomic_write(path, write) -> None:
    """Call ``write(handle)`` on a temp file next to ``path``, then rename it into place."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise EqsolveError(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _readonly(array) -> np.ndarray:
    array = np.asarray(array)
    array.setflags(write=False)
    return array
