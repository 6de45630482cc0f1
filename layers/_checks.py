"""Argument checks shared by the layers: every bad input is an ``EqsolveError`` naming both shapes."""

from __future__ import annotations

import numpy as np

import eqsolve
from eqsolve import EqsolveError


def check_basis(basis) -> "eqsolve.Basis":
    if not isinstance(basis, eqsolve.Basis):
        raise EqsolveError(
            f"layers take an eqsolve.Basis (from eqsolve.solve(...)), got {type(basis).__name__}"
        )
    return basis


def check_channels(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise EqsolveError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_choice(value, choices, name: str) -> str:
    if value not in choices:
        raise EqsolveError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, choices))}")
    return value


def restrict_support(table: np.ndarray, support) -> tuple[np.ndarray, int]:
    """Keep the orbits inside ``support`` (a union of orbits); renumber by first appearance."""
    mask = np.asarray(support)
    if mask.shape != table.shape:
        raise EqsolveError(
            f"support mask must have the basis shape (d_out, d_in) = {tuple(table.shape)}, got {mask.shape}"
        )
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise EqsolveError("support mask must be boolean (or 0/1)")
        mask = mask.astype(bool)
    inside = np.unique(table[mask & (table >= 0)])
    outside = np.unique(table[~mask & (table >= 0)])
    split = np.intersect1d(inside, outside)
    if split.size:
        raise eqsolve.MaskNotInvariantError(
            f"support mask is not a union of orbits: basis id {int(split[0])} lies partly inside "
            f"and partly outside it ({split.size} such ids)"
        )
    kept = np.where(mask, table, -1)
    flat = kept.ravel()
    valid = flat >= 0
    firsts = np.unique(flat[valid], return_index=True)
    order = np.argsort(firsts[1], kind="stable")
    relabel = np.full(int(table.max()) + 2 if table.size else 1, -1, dtype=np.int64)
    relabel[firsts[0][order]] = np.arange(order.size)
    new = np.where(kept >= 0, relabel[kept], -1).astype(np.int64)
    return new, int(order.size)


def point_labels(action_or_labels, what: str) -> np.ndarray:
    """Orbit labels (0..k-1 by smallest point) from a Basis side, an Action, a group or labels."""
    if isinstance(action_or_labels, eqsolve.Action):
        return orbit_labels_of(action_or_labels.images, action_or_labels.degree)
    if isinstance(action_or_labels, eqsolve.PermutationGroup):
        return orbit_labels_of(action_or_labels.generators, action_or_labels.degree)
    labels = np.asarray(action_or_labels)
    if labels.ndim != 1 or not (labels.size == 0 or np.issubdtype(labels.dtype, np.integer)):
        raise EqsolveError(f"{what}: expected 1-D integer orbit labels, got an array of shape {labels.shape}")
    if labels.size and labels.min() < 0:
        raise EqsolveError(f"{what}: orbit labels must be >= 0, got {int(labels.min())}")
    return canonical(labels)


def canonical(labels: np.ndarray) -> np.ndarray:
    """Relabel so that ids are 0..k-1 in order of first appearance."""
    if not labels.size:
        return labels.astype(np.int64)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.reshape(-1)]


def orbit_labels_of(images: np.ndarray, degree: int) -> np.ndarray:
    """Orbit of each point under generator images ``(k, degree)`` (union-find, vectorised)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    images = np.asarray(images, dtype=np.int64).reshape(-1, degree)
    if degree == 0:
        return np.zeros(0, dtype=np.int64)
    src = np.tile(np.arange(degree), images.shape[0])
    graph = coo_matrix((np.ones(src.size, dtype=np.int8), (src, images.ravel())), shape=(degree, degree))
    _, labels = connected_components(graph, directed=True, connection="weak")
    return canonical(labels)


def shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"
