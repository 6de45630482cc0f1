"""The shape-selection task (the paper's Table 1) on generated deforming surfaces.

The paper selects the centre frame of 7 shuffled consecutive frames of Dynamic Faust scans;
those meshes cannot be downloaded here, so :func:`make_sets` generates the same kind of data:

* **Meshes** (:func:`mesh`): a triangulated sphere, ellipsoid (a sphere with random axes) or
  torus with ``m`` vertices (``m = rings * segments + 2`` for spheres, ``rings * segments`` for
  tori, the sizes chosen so every kind has the same ``m``). Connectivity is a networkx graph
  (a periodic grid plus one diagonal per quad, and a fan at each pole), coordinates are numpy.
* **Motion** (:func:`sequence`): the mesh bends (rotation in the xz-plane by an angle
  proportional to z), twists (rotation about z by an angle proportional to z) and pulses (radial
  scaling), each driven by ``sin(phase(t) + offset)`` with an accelerating phase
  ``phase(t) = omega t + alpha t^2`` (so equal time steps are not equal shape steps), under a
  random rotation of the whole sequence, plus Gaussian noise per vertex and frame. Vertex ``v``
  is the same surface point in every frame (correspondence across frames).
* **Sets**: 7 consecutive frames of one sequence in random order; the label is the position
  of the centre frame (frame 3 of the 7) in the set: a selection task, ``R^{n x d} -> R^n``.

Two versions, as in the paper. **Point clouds**: ``x`` is ``(N, 7, 3, m)`` (coordinates as 3
channels), element symmetry ``H = S_m`` on the vertices. **Graphs**: ``x`` is
``(N, 7, 3, m + m^2)``: the coordinates on the node part and, on the adjacency part, the edge
vectors ``A_ij (x_i - x_j)`` (zero off the mesh edges), with ``H = S_m`` acting on node
features + adjacency (``rho + rho.tensor(2)``), whose layers run on the ``patterns`` path.

Models (:data:`MODELS`, :func:`build_model`): ``dss-sum``, ``dss-max``, ``dss-aittala``,
``dss-sridhar`` (:func:`layers.models.selection`: DSS layers, per-element orbit pooling, MLP
score) and ``siamese-ds`` (:func:`layers.baselines.siamese_ds`, its width searched to match the
parameter count of ``dss-sum``). The non-learned baseline (:func:`mean_shape_choice`) picks the
frame nearest in L1 to the per-vertex mean shape of the set.

>>> data = make_sets(4, seed=0, m=32, version="points")
>>> data.x.shape, data.y.shape, data.order.shape
(torch.Size([4, 7, 3, 32]), torch.Size([4]), (4, 7))
>>> bool((data.order[np.arange(4), data.y.numpy()] == 3).all())
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import networkx as nx
import numpy as np
import torch

import eqsolve
from eqsolve import EqsolveError

from . import baselines, models
from .train import SetData

KINDS = ("sphere", "ellipsoid", "torus")
VERSIONS = ("points", "graphs")
MODELS = ("dss-sum", "dss-max", "dss-aittala", "dss-sridhar", "siamese-ds")
SET_SIZE = 7
CENTRE = SET_SIZE // 2
#: vertex counts with a sphere grid (rings x segments + 2 poles) and a torus grid of that size
#: the DSS models' normalisation: per set (``layers.SetNorm``), the same in training and evaluation.
#: Batch norm (the earlier default) left graph DSS(sum) untrained at the small preset (docs/graphs.md)
NORM = "set"
MESH_SIZES = {32: ((5, 6), (4, 8)), 42: ((5, 8), (6, 7)), 50: ((6, 8), (5, 10)), 66: ((8, 8), (6, 11)),
              98: ((8, 12), (7, 14))}


@dataclass
class ShapeSets(SetData):
    """:class:`layers.train.SetData` plus the frame order: ``order[s, i]`` is the time index
    (0..6) of element ``i`` of set ``s``; ``kinds[s]`` the surface kind; ``adjacency`` the
    ``(N, m, m)`` mesh adjacency (0/1, uint8)."""

    order: Optional[np.ndarray] = None
    kinds: Optional[List[str]] = None
    adjacency: Optional[np.ndarray] = None
    coords: Optional[np.ndarray] = None  # (N, 7, m, 3), the frames as generated


# -- meshes -------------------------------------------------------------------------------------
def _grid_graph(rings: int, segments: int, periodic_rings: bool) -> nx.Graph:
    """A rings x segments grid, periodic around the segments (and the rings for a torus), each
    quad split by one diagonal: a triangulation."""
    g = nx.Graph()
    g.add_nodes_from(range(rings * segments))
    node = lambda r, s: (r % rings) * segments + (s % segments)
    last = rings if periodic_rings else rings - 1
    for r in range(rings):
        for s in range(segments):
            g.add_edge(node(r, s), node(r, s + 1))
            if r < last:
                g.add_edge(node(r, s), node(r + 1, s))
                g.add_edge(node(r, s), node(r + 1, s + 1))
    return g


def mesh(kind: str, m: int, rng: Optional[np.random.Generator] = None) -> Tuple[np.ndarray, nx.Graph]:
    """Rest coordinates ``(m, 3)`` and the triangulation graph of a surface with ``m`` vertices.

    >>> coords, graph = mesh("torus", 32)
    >>> coords.shape, graph.number_of_nodes(), graph.number_of_edges()
    ((32, 3), 32, 96)
    """
    if kind not in KINDS:
        raise EqsolveError(f"unknown surface {kind!r}; expected one of {', '.join(KINDS)}")
    if m not in MESH_SIZES:
        raise EqsolveError(f"mesh size m must be one of {sorted(MESH_SIZES)}, got {m!r}")
    rng = np.random.default_rng(0) if rng is None else rng
    (rings, segments), (t_rings, t_segments) = MESH_SIZES[m]
    if kind == "torus":
        graph = _grid_graph(t_rings, t_segments, periodic_rings=True)
        u = 2 * np.pi * np.repeat(np.arange(t_rings), t_segments) / t_rings
        v = 2 * np.pi * np.tile(np.arange(t_segments), t_rings) / t_segments
        big, small = 0.7, 0.3
        coords = np.stack([(big + small * np.cos(u)) * np.cos(v), (big + small * np.cos(u)) * np.sin(v),
                           small * np.sin(u)], axis=1)
        return coords, graph
    graph = _grid_graph(rings, segments, periodic_rings=False)
    north, south = rings * segments, rings * segments + 1
    for s in range(segments):
        graph.add_edge(north, s)
        graph.add_edge(south, (rings - 1) * segments + s)
    theta = np.pi * (np.repeat(np.arange(rings), segments) + 1) / (rings + 1)
    phi = 2 * np.pi * np.tile(np.arange(segments), rings) / segments
    coords = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], axis=1)
    coords = np.concatenate([coords, [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]])
    if kind == "ellipsoid":
        coords = coords * rng.uniform(0.5, 1.3, size=3)
    return coords, graph


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def sequence(rest: np.ndarray, frames: int, rng: np.random.Generator, noise: float = 0.01) -> np.ndarray:
    """``(frames, m, 3)``: ``rest`` bending, twisting and pulsing over time (module docstring)."""
    t = np.arange(frames, dtype=np.float64)
    omega = rng.uniform(0.12, 0.3) * rng.choice([-1.0, 1.0])
    alpha = rng.uniform(-0.02, 0.02)
    phase = rng.uniform(0, 2 * np.pi) + omega * t + alpha * t ** 2
    bend = rng.uniform(0.2, 0.6) * np.sin(phase)
    twist = rng.uniform(0.3, 0.9) * np.sin(phase + rng.uniform(0, 2 * np.pi))
    pulse = rng.uniform(0.05, 0.15) * np.sin(phase + rng.uniform(0, 2 * np.pi))
    x, y, z = rest[:, 0][None], rest[:, 1][None], rest[:, 2][None]
    # bend: rotate in the xz-plane by bend * z
    a = bend[:, None] * z
    x, z = x * np.cos(a) - z * np.sin(a), x * np.sin(a) + z * np.cos(a)
    # twist: rotate about z by twist * z
    b = twist[:, None] * z
    x, y = x * np.cos(b) - y * np.sin(b), x * np.sin(b) + y * np.cos(b)
    coords = np.stack([x, y, z], axis=-1) * (1.0 + pulse)[:, None, None]
    coords = coords @ _rotation(rng).T
    return coords + noise * rng.standard_normal(coords.shape)


# -- data sets ------------------------------------------------------------------------------------
def make_sets(count: int, seed: int = 0, m: int = 32, version: str = "points", noise: float = 0.01,
              frames: int = 16) -> ShapeSets:
    """``count`` sets of 7 shuffled consecutive frames; deterministic in ``seed``.

    Each set comes from its own sequence of ``frames`` frames (a random window of 7 of them), of
    a surface kind drawn uniformly from :data:`KINDS`, all drawn from the generator
    ``numpy.random.default_rng([seed, index])``: set ``index`` is the same whatever ``count``.
    """
    if version not in VERSIONS:
        raise EqsolveError(f"unknown version {version!r}; expected one of {', '.join(VERSIONS)}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise EqsolveError(f"count must be an integer >= 0, got {count!r}")
    if frames < SET_SIZE:
        raise EqsolveError(f"frames must be at least {SET_SIZE}, got {frames}")
    coords = np.empty((count, SET_SIZE, m, 3))
    adjacency = np.zeros((count, m, m), dtype=np.uint8)
    order = np.empty((count, SET_SIZE), dtype=np.int64)
    kinds = []
    for s in range(count):
        rng = np.random.default_rng([seed, s])  # set s does not depend on count
        kind = KINDS[rng.integers(len(KINDS))]
        rest, graph = mesh(kind, m, rng)
        seq = sequence(rest, frames, rng, noise)
        start = rng.integers(frames - SET_SIZE + 1)
        perm = rng.permutation(SET_SIZE)
        coords[s] = seq[start + perm]
        order[s] = perm
        adjacency[s] = nx.to_numpy_array(graph, nodelist=range(m), dtype=np.uint8)
        kinds.append(kind)
    labels = np.argmax(order == CENTRE, axis=1)
    x = features(coords, adjacency, version)
    return ShapeSets(x=x, y=torch.as_tensor(labels), order=order, kinds=kinds, adjacency=adjacency, coords=coords)


def features(coords: np.ndarray, adjacency: np.ndarray, version: str) -> torch.Tensor:
    """Model input from frames ``(N, 7, m, 3)`` and adjacency ``(N, m, m)`` (module docstring)."""
    pts = torch.as_tensor(coords, dtype=torch.float32).transpose(-1, -2)  # (N, 7, 3, m)
    if version == "points":
        return pts.contiguous()
    adj = torch.as_tensor(adjacency, dtype=torch.float32)[:, None, None]  # (N, 1, 1, m, m)
    edges = adj * (pts[..., :, None] - pts[..., None, :])  # (N, 7, 3, m, m)
    n, k, c, m = pts.shape
    return torch.cat([pts, edges.reshape(n, k, c, m * m)], dim=-1)


def mean_shape_choice(coords: np.ndarray) -> np.ndarray:
    """The paper's non-learned baseline: per set, the element nearest (L1) to the per-vertex
    mean shape. ``coords`` ``(N, n, m, 3)`` -> ``(N,)`` chosen positions."""
    coords = np.asarray(coords)
    mean = coords.mean(axis=1, keepdims=True)
    return np.abs(coords - mean).sum(axis=(2, 3)).argmin(axis=1)


# -- models ---------------------------------------------------------------------------------------
def basis_for(version: str, m: int):
    """The element basis: ``S_m`` on points, or on node features + adjacency."""
    rho = eqsolve.groups.symmetric(m).action()
    if version == "points":
        return eqsolve.solve(eqsolve.groups.symmetric(m))
    graph = rho + rho.tensor(2)
    return eqsolve.solve(out=graph, inp=graph)


def build_model(name: str, basis, width: int = 32, depth: int = 3, pool: str = "mean",
                norm: Optional[str] = NORM, search_basis=None) -> models.SetNet:
    """Model ``name`` of :data:`MODELS`, its width chosen so that its parameter count is the
    closest to that of ``dss-sum`` at ``width`` (the paper compares models of matched size).

    ``search_basis``: a basis with the same parameter structure (dimension and orbits), e.g.
    :func:`basis_for` at a small ``m``, on which the width search builds its candidates (the
    counts do not depend on ``m``; building layers on a small basis is quicker).

    >>> import torch
    >>> net = build_model("dss-sum", basis_for("points", 32), width=8)
    >>> net(torch.randn(2, 7, 3, 32)).shape
    torch.Size([2, 7])
    """
    if name not in MODELS:
        raise EqsolveError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}")
    probe = basis if search_basis is None else search_basis
    make = lambda model, w: _make(model, probe, w, depth, pool, norm)
    if name == "dss-sum":
        return _make(name, basis, width, depth, pool, norm)
    target = models.count_parameters(make("dss-sum", width))
    step = 2 if name == "dss-aittala" else 1  # aittala concatenates two halves: even widths
    best, best_gap = None, None
    lo, hi = 1, 4 * width
    while hi - lo > 1:  # counts grow with the width: the last width below the target
        mid = (lo + hi) // 2
        if models.count_parameters(make(name, mid * step)) < target:
            lo = mid
        else:
            hi = mid
    for w in (lo, hi):
        gap = abs(models.count_parameters(make(name, w * step)) - target)
        if best is None or gap < best_gap:
            best, best_gap = w * step, gap
    return _make(name, basis, best, depth, pool, norm)


def _make(name: str, basis, width: int, depth: int, pool: str, norm=None) -> models.SetNet:
    channels = [3] + [width] * depth
    if name.startswith("dss-"):
        return models.selection(basis, channels, aggregation=name[4:], pool=pool, norm=norm)
    # no norm: siamese_ds has none, and a per-set norm would couple the elements (early aggregation)
    return baselines.siamese_ds(basis, "selection", channels, pool=pool)


# -- presets and the table --------------------------------------------------------------------------
@dataclass(frozen=True)
class ShapesPreset:
    """Data and training sizes of one preset, per version."""

    m: int
    train: int
    test: int
    width: int
    epochs: int
    batch_size: int = 32
    lr: float = 3e-3
    norm: Optional[str] = NORM


PRESETS: Dict[str, Dict[str, ShapesPreset]] = {
    # CPU-sized: the whole table (5 models x 5 seeds, three columns) took 30 min wall as two
    # 1-thread processes on 2 shared cores (graph runs ~25 s of CPU each, point-cloud runs less).
    # The graph models get fewer sets and epochs (each step is ~30x the work of a point-cloud
    # step); 15 epochs is about where graph DSS(sum) starts to learn (docs/graphs.md).
    "small": {"points": ShapesPreset(m=32, train=500, test=400, width=16, epochs=30),
              "graphs": ShapesPreset(m=32, train=200, test=300, width=4, epochs=15),
              # the points version at the graph version's data and epochs (points vs graphs)
              "points-at-graph-budget": ShapesPreset(m=32, train=200, test=300, width=16, epochs=15)},
    # closer to the paper's widths (128) and data sizes; hours on a CPU
    "paper": {"points": ShapesPreset(m=98, train=4000, test=1000, width=128, epochs=40),
              "graphs": ShapesPreset(m=50, train=4000, test=1000, width=32, epochs=40)},
}


def standardise(x: torch.Tensor) -> torch.Tensor:
    """Per set: subtract the mean of all values and divide by their standard deviation. Both
    statistics are invariant to reordering the set and the vertices, so this keeps the task's
    symmetry (the same for every model)."""
    flat = x.reshape(x.shape[0], -1)
    mean = flat.mean(1).reshape([-1] + [1] * (x.dim() - 1))
    std = flat.std(1).clamp(min=1e-8).reshape([-1] + [1] * (x.dim() - 1))
    return (x - mean) / std


def run_one(name: str, version: str, preset: str = "small", seed: int = 0, data=None,
            budget: Optional[str] = None) -> Dict[str, object]:
    """Train model ``name`` (or evaluate ``"mean-shape"``) for one seed; returns test accuracy,
    parameter count and seconds. ``data``: ``(train, test)`` from :func:`make_sets` to reuse.
    ``budget``: the key of ``PRESETS[preset]`` giving the sizes (default ``version``)."""
    import time

    from .train import SetData, evaluate, fit

    cfg = PRESETS[preset][budget or version]
    if data is None:
        data = (make_sets(cfg.train, seed=2 * seed, m=cfg.m, version=version),
                make_sets(cfg.test, seed=2 * seed + 1, m=cfg.m, version=version))
    train_sets, test_sets = data
    start = time.perf_counter()
    if name == "mean-shape":
        acc = float((mean_shape_choice(test_sets.coords) == test_sets.y.numpy()).mean())
        return {"model": name, "version": budget or version, "seed": seed, "accuracy": acc, "parameters": 0,
                "seconds": time.perf_counter() - start}
    torch.manual_seed(seed)
    net = build_model(name, basis_for(version, cfg.m), width=cfg.width, norm=cfg.norm,
                      search_basis=basis_for(version, 6))
    fit(net, SetData(standardise(train_sets.x), train_sets.y), epochs=cfg.epochs, lr=cfg.lr,
        batch_size=cfg.batch_size, seed=seed)
    acc = evaluate(net, SetData(standardise(test_sets.x), test_sets.y))
    return {"model": name, "version": budget or version, "seed": seed, "accuracy": float(acc),
            "parameters": models.count_parameters(net), "seconds": time.perf_counter() - start}
