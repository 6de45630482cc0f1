"""Persistent state of the layers: the parameters plus a small fingerprint of the basis.

Index data (gather indices, taps, orbit labels) follows from the basis and is never saved.
Instead every layer built from a basis writes one extra-state entry (``<prefix>_extra_state``:
``{"eqsolve": kind, "basis": description, "fingerprint": hex digest}``) and checks it on
``load_state_dict`` *before* any tensor is copied: the state of a layer of another group or
action raises :class:`~eqsolve.EqsolveError` naming both. State dicts of earlier versions
(with ``orbit_index`` / ``labels`` buffers) still load: their tables are fingerprinted the
same way and dropped.

>>> import torch, eqsolve; from eqsolve import layers
>>> a = layers.EquivariantLinear(eqsolve.solve(eqsolve.groups.cyclic(4)), 1, 1)
>>> b = layers.EquivariantLinear(eqsolve.solve(eqsolve.groups.product_action(
...     eqsolve.groups.cyclic(2), eqsolve.groups.cyclic(2))), 1, 1)
>>> sorted(a.state_dict())
['_extra_state', 'bias', 'weight']
>>> b.load_state_dict(a.state_dict())
Traceback (most recent call last):
...
eqsolve._errors.EqsolveError: cannot load the state of an EquivariantLinear for cyclic(4): points -> points (4 x 4, dim 4) into one for product_action(cyclic(2), cyclic(2)): points -> points (4 x 4, dim 4): the bases differ (fingerprint ...)
"""

from __future__ import annotations

import hashlib
from typing import Callable, Optional

import numpy as np
import torch

from eqsolve import EqsolveError

_SAMPLED_ROOTS = 64  # output-orbit roots hashed (every id lies in a root row)
_SAMPLED_ROWS = 4  # further rows, spread over the table, that tell actions apart (each costs a
# walk down the transversal in a compact basis)


def fingerprint_table(rows: Callable, shape, dim: int, labels: np.ndarray, root_rows=None) -> str:
    """A 128-bit digest of an orbit table from a few of its rows (never the whole table).

    ``rows(idx)`` gives rows of the table; ``labels`` are the output orbit labels;
    ``root_rows`` (optional) the rows at the first point of each orbit, already read.
    """
    p, q = (int(s) for s in shape)
    labels = np.asarray(labels, dtype=np.int64)
    h = hashlib.blake2b(digest_size=16)
    h.update(np.array([p, q, int(dim)], dtype=np.int64).tobytes())
    h.update(labels.tobytes())
    if p and q:
        _, first = np.unique(labels, return_index=True)
        roots = np.sort(first)[:_SAMPLED_ROOTS]
        spread = np.setdiff1d((np.arange(_SAMPLED_ROWS, dtype=np.int64) * 2654435761) % p, roots)
        known = rows(roots) if root_rows is None else np.asarray(root_rows)[:len(roots)]
        h.update(np.ascontiguousarray(known, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(rows(spread), dtype=np.int64).tobytes())
    return h.hexdigest()


def fingerprint_labels(labels: np.ndarray) -> str:
    """Digest of orbit labels (pools and norms)."""
    return hashlib.blake2b(np.asarray(labels, dtype=np.int64).tobytes(), digest_size=16).hexdigest()


def describe_basis(basis) -> str:
    """``"grid_translations((4, 4)): points -> points (16 x 16, dim 16)"``."""
    d_out, d_in = basis.shape
    size = f"({d_out} x {d_in}, dim {basis.dim})"
    if basis.out is None or basis.inp is None:
        return f"a basis without actions {size}"
    group = basis.out.group
    name = getattr(group, "name", None) or f"a group of degree {group.degree} with {group.ngens} generators"
    return f"{name}: {basis.out.name} -> {basis.inp.name} {size}"


def describe_labels(labels: np.ndarray) -> str:
    labels = np.asarray(labels)
    n = int(labels.max()) + 1 if labels.size else 0
    return f"{labels.size} points in {n} orbits"


class Fingerprinted:
    """Mixin for ``nn.Module``: extra state with a fingerprint, checked before loading.

    Subclasses call :meth:`_set_fingerprint` in ``__init__`` and may define
    ``_legacy_fingerprint(state_dict, prefix) -> Optional[str]`` to read the state of
    earlier versions (it pops the old buffers).
    """

    _fingerprint_kind = "layer"

    def _set_fingerprint(self, description: str, digest: str) -> None:
        self._basis_description = description
        self._basis_fingerprint = digest
        if not getattr(self, "_fingerprint_hooked", False):
            self.register_load_state_dict_pre_hook(_check_fingerprint)
            self._fingerprint_hooked = True

    def get_extra_state(self) -> dict:
        return {"eqsolve": type(self).__name__, "basis": self._basis_description,
                "fingerprint": self._basis_fingerprint}

    def set_extra_state(self, state) -> None:
        pass  # checked by the pre-hook, before any tensor was copied

    def _legacy_fingerprint(self, state_dict, prefix: str) -> Optional[str]:
        return None


def _check_fingerprint(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                       error_msgs) -> None:
    key = prefix + "_extra_state"
    if key not in state_dict:
        legacy = module._legacy_fingerprint(state_dict, prefix)
        if legacy is None:
            return  # torch reports the missing key (strict) or keeps ours
        state_dict[key] = {"eqsolve": type(module).__name__, "basis": "an earlier eqsolve version's layer",
                           "fingerprint": legacy}
    theirs = state_dict[key]
    if not isinstance(theirs, dict) or "fingerprint" not in theirs:
        raise EqsolveError(f"{prefix}_extra_state is not the state of an eqsolve layer (got {type(theirs).__name__})")
    if theirs["fingerprint"] != module._basis_fingerprint:
        where = f" ({prefix[:-1]})" if prefix else ""
        raise EqsolveError(
            f"cannot load the state of {_article(theirs.get('eqsolve', 'layer'))} for {theirs.get('basis', '?')} "
            f"into one for {module._basis_description}{where}: the bases differ (fingerprint "
            f"{str(theirs['fingerprint'])[:12]} vs {module._basis_fingerprint[:12]})"
        )


def _article(word: str) -> str:
    return ("an " if word[:1] in "AEIOU" else "a ") + word


def legacy_table_fingerprint(state_dict, prefix: str, dim: int) -> Optional[str]:
    """Fingerprint of an earlier version's ``orbit_index`` / ``bias_index`` buffers (popped)."""
    table = state_dict.get(prefix + "orbit_index")
    labels = state_dict.get(prefix + "bias_index")
    if not isinstance(table, torch.Tensor) or not isinstance(labels, torch.Tensor) or table.dim() != 2:
        return None
    del state_dict[prefix + "orbit_index"], state_dict[prefix + "bias_index"]
    array = table.cpu().numpy()
    return fingerprint_table(lambda idx: array[idx], array.shape, dim, labels.cpu().numpy())
