"""Fast paths: one registry of recognisers that pick the executor of an ``EquivariantLinear``.

A recogniser looks at a :class:`LayerSpec` (sizes, orbit labels, generator images, grid
shapes and rows of the orbit table on demand; never the whole ``d_out x d_in`` table unless
it is small) and returns the :class:`Candidate` executors that reproduce the generic gather
exactly, each with an estimated cost per sample. ``path="auto"`` takes the cheapest.

Built in, in registry order:

``generic``
    Always applies: ``W`` gathered in one indexing op, then one matmul (``x @ W.T``).
``const``
    One id for the whole table: ``y = theta_k @ sum(x)`` broadcast over the outputs.
``deepsets``
    ``a`` on the diagonal, ``b`` off it ("identity + all-ones", the S_d case).
``conv`` / ``fft``
    Maps between two translation actions of one grid group: the square (circulant) case,
    strided maps onto a coarser grid and transposed maps onto a finer one, with or without
    a support mask, in any number of axes (``conv`` for 1 to 3). Recognised from the
    generator images (each generator that translates both grids compatibly, the translation
    subgroup transitive on the coarse side) and one row per residue of the stride.
``blocks``
    Intransitive actions: one sub-executor per (output orbit, input orbit) block, planned
    with the other recognisers.

Extending: write ``recognise(spec) -> list[Candidate]`` and call :func:`register`; the
``path=`` names of every registered entry join :data:`PATHS`.

>>> from eqsolve.layers import _fastpaths
>>> [entry.name for entry in _fastpaths.REGISTRY]
['generic', 'const', 'deepsets', 'translation', 'patterns', 'patterns-grid', 'blocks']
>>> "conv" in _fastpaths.PATHS and "auto" in _fastpaths.PATHS
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, List, Optional, Tuple

import numpy as np

from eqsolve.groups import translation_vectors

from ._executors import Blocks, Block, Constant, DeepSets, Generic, RowSource, Translation

SMALL_TABLE = 1 << 20  # tables up to this many entries may be read whole to recognise a pattern
_FACTORISE_LIMIT = 1 << 16  # try every 2-3 axis factorisation of d as a grid up to this d
_BLOCK_LIMIT = 256  # never plan more blocks than this (Python loop in forward)
_BLOCK_OVERHEAD = 4096  # fixed per-block cost (in multiply-adds per sample)
_BLOCK_FACTOR = 2.0  # a block runs on gathered copies; measured 2-6x the time per multiply-add of one fused op
_FFT_MIN_WINDOW = 12  # kernels with fewer taps than this run as convolutions
_FFT_SMALL_KERNEL_PENALTY = 1e3
_TYPICAL_BATCH = 8  # samples per forward assumed when weighing per-forward work


class Candidate:
    """A way to run a table: its path name, estimated cost per sample and a builder."""

    def __init__(self, name: str, cost: float, build: Callable):
        self.name = name
        self.cost = float(cost)
        self.build = build


class LayerSpec:
    """What recognisers see of a (possibly restricted) orbit table ``(p, q)``.

    Parameters
    ----------
    rows:
        A :class:`~eqsolve.layers._executors.RowSource` (rows of the table on demand).
    c_in, c_out:
        Channel counts (for costs).
    out_labels, in_labels:
        Orbit label of each output / input point (``Basis.bias_index`` / ``in_orbit_index``);
        ``in_labels`` may be None.
    out_images, in_images:
        Generator images ``(k, p)`` / ``(k, q)`` of the two actions, or None (a basis loaded
        from a file carries none).
    known_shapes:
        Grid shapes the group declares (``grid_translations`` has ``shape``).
    """

    def __init__(self, rows: RowSource, c_in: int, c_out: int, out_labels, in_labels=None,
                 out_images=None, in_images=None, known_shapes=()):
        self.rows = rows
        self.p, self.q = (int(s) for s in rows.shape)
        self.c_in, self.c_out = int(c_in), int(c_out)
        self.out_labels = np.asarray(out_labels, dtype=np.int64)
        self.in_labels = None if in_labels is None else np.asarray(in_labels, dtype=np.int64)
        self.out_images = None if out_images is None else np.asarray(out_images, dtype=np.int64)
        self.in_images = None if in_images is None else np.asarray(in_images, dtype=np.int64)
        self.known_shapes = [tuple(int(s) for s in k) for k in known_shapes]

    @property
    def work(self) -> float:
        return float(self.c_in) * float(self.c_out)

    @cached_property
    def roots(self) -> np.ndarray:
        """The smallest point of each output orbit, by label."""
        labels, first = np.unique(self.out_labels, return_index=True)
        return first[np.argsort(labels)]

    @cached_property
    def root_rows(self) -> np.ndarray:
        """Table rows at the output-orbit roots ``(n_out, q)``: every id appears in one."""
        return self.rows(self.roots)

    @property
    def n_out(self) -> int:
        return len(self.roots)

    @property
    def n_in(self) -> int:
        return 0 if self.in_labels is None or not self.in_labels.size else int(self.in_labels.max()) + 1

    @cached_property
    def small_table(self) -> Optional[np.ndarray]:
        """The whole table when it has at most :data:`SMALL_TABLE` entries, else None."""
        return self.rows(np.arange(self.p)) if self.p * self.q <= SMALL_TABLE else None

    def same_action(self) -> bool:
        return (self.out_images is not None and self.in_images is not None
                and np.array_equal(self.out_images, self.in_images))

    def shapes(self, d: int) -> List[Tuple[int, ...]]:
        """Grids to try for an action on ``d`` points: declared ones, ``(d,)``, factorisations."""
        shapes = [s for s in self.known_shapes if int(np.prod(s)) == d] + [(d,)]
        if d <= _FACTORISE_LIMIT:
            for a in range(2, d):
                if d % a == 0 and d // a > 1:
                    shapes.append((a, d // a))
                    rest = d // a
                    for b in range(2, rest):
                        if rest % b == 0 and rest // b > 1:
                            shapes.append((a, b, rest // b))
        seen: set = set()
        return [s for s in shapes if not (s in seen or seen.add(s))]

    def block(self, rows: np.ndarray, cols: np.ndarray) -> "LayerSpec":
        """The spec of block ``rows x cols`` (an output orbit by an input orbit), in local order."""
        def local(images, points, d):
            if images is None:
                return None
            position = np.full(d, -1, dtype=np.int64)
            position[points] = np.arange(len(points))
            return position[images[:, points]]

        return LayerSpec(self.rows.sub(rows, cols), self.c_in, self.c_out, np.zeros(len(rows), np.int64),
                         np.zeros(len(cols), np.int64), local(self.out_images, rows, self.p),
                         local(self.in_images, cols, self.q))


@dataclass(frozen=True)
class FastPath:
    """A registry entry: ``recognise(spec) -> list[Candidate]`` whose names are in ``paths``."""

    name: str
    paths: Tuple[str, ...]
    recognise: Callable[[LayerSpec], List[Candidate]]
    in_blocks: bool = True  # may run one block of an intransitive table
    doc: str = ""


REGISTRY: List[FastPath] = []


def register(entry: FastPath, before: Optional[str] = None) -> FastPath:
    """Add a fast path (replacing an entry of the same name); ``before`` names the entry it precedes.

    >>> from eqsolve.layers import _fastpaths as fp
    >>> entry = fp.FastPath("never", ("never",), lambda spec: [])
    >>> _ = fp.register(entry); "never" in fp.PATHS
    True
    >>> fp.unregister("never"); "never" in fp.PATHS
    False
    """
    unregister(entry.name)
    names = [e.name for e in REGISTRY]
    REGISTRY.insert(names.index(before) if before in names else len(REGISTRY), entry)
    return entry


def unregister(name: str) -> None:
    REGISTRY[:] = [e for e in REGISTRY if e.name != name]


class _PathNames(Sequence):
    """``("auto", ...)`` followed by the path names of the registry, always current."""

    def _names(self) -> Tuple[str, ...]:
        names = ["auto"]
        for entry in REGISTRY:
            names += [n for n in entry.paths if n not in names]
        return tuple(names)

    def __getitem__(self, i):
        return self._names()[i]

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return repr(self._names())


#: every accepted ``path=`` value
PATHS = _PathNames()


def candidates(spec: LayerSpec, in_block: bool = False) -> List[Candidate]:
    """Every executor that reproduces the table exactly."""
    found: List[Candidate] = []
    for entry in REGISTRY:
        if in_block and not entry.in_blocks:
            continue
        found += entry.recognise(spec)
    return found


def plan(spec: LayerSpec, path: str = "auto"):
    """``(executor or None, available path names)``: the cheapest for 'auto', else ``path``'s."""
    options = candidates(spec)
    names = [c.name for c in options]
    if path == "auto":
        return min(options, key=lambda cand: cand.cost).build(), names
    for cand in options:
        if cand.name == path:
            return cand.build(), names
    return None, names


# -- built-in recognisers --------------------------------------------------------------------
def _generic(spec: LayerSpec) -> List[Candidate]:
    # the gather of W and its scatter-add in backward, amortised over a typical batch
    cost = spec.work * spec.p * spec.q * (1.0 + 1.0 / _TYPICAL_BATCH) + 1
    return [Candidate("generic", cost, lambda: Generic(spec.rows))]


def _const(spec: LayerSpec) -> List[Candidate]:
    if spec.n_out != 1 or spec.q == 0:
        return []
    row = spec.root_rows[0]
    if row[0] < 0 or not (row == row[0]).all():  # every entry is in an orbit meeting the root row
        return []
    k, p = int(row[0]), spec.p
    return [Candidate("const", spec.work + spec.c_in * spec.q + spec.c_out * p, lambda: Constant(k, p))]


def _deepsets(spec: LayerSpec) -> List[Candidate]:
    if spec.n_out != 1 or spec.p != spec.q or spec.p < 2:
        return []
    row = spec.root_rows[0]
    a, b = int(row[0]), int(row[1])
    if a < 0 or b < 0 or a == b or (row[1:] != b).any():
        return []
    if not spec.same_action():
        # the id of (0, 0) fills the diagonal when both sides are one action; else look
        table = spec.small_table
        if table is None or not (np.diagonal(table) == a).all() or (table[~np.eye(spec.p, dtype=bool)] != b).any():
            return []
    p = spec.p
    return [Candidate("deepsets", spec.work * (p + 1) + spec.c_in * p, lambda: DeepSets(a, b, p))]


def _strides(ratio: int, n: int):
    """Every n-tuple of positive integers with product ``ratio``."""
    if n == 1:
        yield (ratio,)
        return
    for first in range(1, ratio + 1):
        if ratio % first == 0:
            for rest in _strides(ratio // first, n - 1):
                yield (first,) + rest


def _transitive(images: np.ndarray, d: int) -> bool:
    from ._checks import orbit_labels_of_images

    return d > 0 and images.shape[0] > 0 and int(orbit_labels_of_images(images, d).max()) == 0


def _could_translate(images: np.ndarray, d: int) -> bool:
    """A necessary condition for some generators to be translations of a grid on these ``d``
    points that act transitively: the generators that are the identity or move every point
    (as translations do) must already be transitive. ``O(k d)``, against the ``O(k d)`` per
    grid shape of the full search (hundreds of shapes when ``d`` has many divisors)."""
    if d <= 1:
        return True
    points = np.arange(d)
    moved = (images != points).sum(axis=1)
    keep = images[(moved == 0) | (moved == d)]
    return bool(len(keep)) and _transitive(keep, d)


#: run :func:`_could_translate` before the grid search (tests switch it off to compare plans)
PREFILTER = True


def _find_translation(spec: LayerSpec):
    """``(direction, coarse, stride)`` when the table is a (strided / transposed) translation map."""
    p, q = spec.p, spec.q
    if p == 0 or q == 0:
        return None
    if spec.out_images is not None and spec.in_images is not None:
        for direction in ("down", "up"):
            d_c, d_f = (p, q) if direction == "down" else (q, p)
            c_img, f_img = (spec.out_images, spec.in_images) if direction == "down" else (spec.in_images, spec.out_images)
            if d_f % d_c or (direction == "up" and d_f == d_c):
                continue
            if PREFILTER and not _could_translate(c_img, d_c):
                continue
            for coarse in spec.shapes(d_c):
                t_c, ok_c = translation_vectors(c_img, coarse)
                if not ok_c.any():
                    continue
                for stride in _strides(d_f // d_c, len(coarse)):
                    fine = tuple(c * s for c, s in zip(coarse, stride))
                    t_f, ok_f = translation_vectors(f_img, fine)
                    agree = ok_c & ok_f & ((t_c * np.array(stride)) % np.array(fine) == t_f).all(axis=1)
                    if agree.any() and _transitive(c_img[agree], d_c):
                        return direction, coarse, stride
        return None
    table = spec.small_table  # no actions (a basis read from a file): look at the whole table
    if table is None or p != q:
        return None
    for shape in spec.shapes(p):
        coords = np.stack(np.unravel_index(np.arange(p), shape))
        delta = (coords[:, None, :] - coords[:, :, None]) % np.array(shape)[:, None, None]
        if np.array_equal(table[0][np.ravel_multi_index(tuple(delta), shape)], table):
            return "down", shape, (1,) * len(shape)
    return None


def _window_taps(roots: np.ndarray, grid) -> int:
    grid = np.array(grid)
    support = np.argwhere((roots.reshape((roots.shape[0],) + tuple(grid)) >= 0).any(axis=0))
    if not len(support):
        return 1
    signed = np.where(support <= grid // 2, support, support - grid)
    return int(np.prod(np.maximum(signed.max(axis=0), 0) - np.minimum(signed.min(axis=0), 0) + 1))


def _translation(spec: LayerSpec) -> List[Candidate]:
    found = _find_translation(spec)
    if found is None:
        return []
    direction, coarse, stride = found
    fine = tuple(c * s for c, s in zip(coarse, stride))
    if direction == "down":  # row 0; the output is one orbit, so it is the root row
        roots = spec.root_rows[:1] if spec.roots[0] == 0 else spec.rows(np.zeros(1, dtype=np.int64))
        in_grid = fine
    else:  # one row per residue r in [0, stride): the point with coordinates r on the fine grid
        residues = np.indices(stride).reshape(len(stride), -1)
        roots = spec.rows(np.ravel_multi_index(tuple(residues), fine))
        in_grid = coarse
    taps = _window_taps(roots, in_grid)
    p, q, work = spec.p, spec.q, spec.work
    io = spec.c_in * q + spec.c_out * p
    found_: List[Candidate] = []
    if len(coarse) <= 3:
        found_.append(Candidate("conv", work * p * taps + io,
                                lambda: Translation(roots, coarse, stride, direction, "conv")))
    big = max(p, q)
    # complex multiply-add ~ 4 real ones on big/2 + 1 frequencies, plus the transforms
    fft_cost = work * 2.0 * (big + 2) + 5.0 * io * max(1.0, math.log2(big))
    if taps < _FFT_MIN_WINDOW and len(coarse) <= 3:
        # measured: below ~12 taps a direct convolution beats the transforms by 1.3-2x,
        # whatever the flop count says; keep fft for explicit requests only
        fft_cost *= _FFT_SMALL_KERNEL_PENALTY
    found_.append(Candidate("fft", fft_cost, lambda: Translation(roots, coarse, stride, direction, "fft")))
    return found_


def _blocks(spec: LayerSpec) -> List[Candidate]:
    n_out, n_in = spec.n_out, spec.n_in
    if spec.in_labels is None or n_out * n_in <= 1 or n_out * n_in > _BLOCK_LIMIT:
        return []
    out_sets = [np.flatnonzero(spec.out_labels == a) for a in range(n_out)]
    in_sets = [np.flatnonzero(spec.in_labels == b) for b in range(n_in)]
    plans = []
    cost = 0.0
    for a, rows in enumerate(out_sets):
        root_row = spec.root_rows[a]
        for b, cols in enumerate(in_sets):
            if (root_row[cols] < 0).all():  # no orbit of this block inside the support
                plans.append((a, b, None, "0"))
                continue
            options = candidates(spec.block(rows, cols), in_block=True)
            best = min(options, key=lambda cand: cand.cost)
            cost += _BLOCK_FACTOR * best.cost + _BLOCK_OVERHEAD + spec.c_in * len(cols) + spec.c_out * len(rows)
            plans.append((a, b, best, best.name))
    names = [name for *_, name in plans]
    if len(names) <= 8:
        summary = f"{n_out}x{n_in}: " + ", ".join(names)
    else:  # long lists: count each kind
        kinds = sorted(set(names), key=names.index)
        summary = f"{n_out}x{n_in}: " + ", ".join(f"{names.count(k)} {k}" for k in kinds)
    p = spec.p

    def build():
        built = [Block(out_sets[a], in_sets[b], best.build()) for a, b, best, _ in plans if best is not None]
        return Blocks(built, p, summary)

    return [Candidate("blocks", cost, build)]


register(FastPath("generic", ("generic",), _generic, doc="gather W, one matmul"))
register(FastPath("const", ("const",), _const, doc="one id: a sum broadcast"))
register(FastPath("deepsets", ("deepsets",), _deepsets, doc="identity + all-ones"))
register(FastPath("translation", ("conv", "fft"), _translation,
                  doc="translation groups: (strided, transposed) circular convolutions or FFTs"))
register(FastPath("blocks", ("blocks",), _blocks, in_blocks=False, doc="intransitive actions, block by block"))
