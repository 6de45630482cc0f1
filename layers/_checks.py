"""Argument checks shared by the layers: every bad input is an ``EqsolveError`` naming the value.

Orbit labels and support restriction come from the core (``Basis.bias_index``,
``Basis.in_orbit_index``, ``Basis.restrict``); nothing here recomputes them differently.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

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


def factory_kwargs(device=None, dtype=None) -> dict:
    """``{"device": ..., "dtype": ...}`` for ``torch.empty`` as torch's own layers take them.

    >>> factory_kwargs("cpu", torch.float64)
    {'device': device(type='cpu'), 'dtype': torch.float64}
    """
    try:
        device = None if device is None else torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise EqsolveError(f"device must be a torch device or a name like 'cpu' / 'cuda:0', got {device!r} ({err})") from None
    if dtype is not None and (not isinstance(dtype, torch.dtype) or not dtype.is_floating_point):
        raise EqsolveError(f"dtype must be a floating torch dtype (e.g. torch.float32), got {dtype!r}")
    return {"device": device, "dtype": dtype}


def renamed(new_value, old_value, new: str, old: str, default, owner: str):
    """The value of a keyword renamed from ``old`` to ``new``: ``old`` still works for one
    release, with a ``DeprecationWarning``; both at once is an error.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed(None, "max", "aggregation", "reduce", "sum", "InvariantPool")
    'max'
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """
    if old_value is None:
        return default if new_value is None else new_value
    if new_value is not None:
        raise EqsolveError(f"{owner}: pass {new}= only ({old}= is its deprecated name), not both")
    warnings.warn(f"{owner}({old}=...) is deprecated; use {new}=", DeprecationWarning, stacklevel=3)
    return old_value


def restrict(basis, support):
    """The basis restricted to the orbits inside ``support`` (``MaskNotInvariantError`` otherwise).

    One place restricts masks: :meth:`eqsolve.Basis.restrict` (every layer checks its basis first).
    """
    return basis.restrict(support)


def orbit_labels_of_images(images: np.ndarray, degree: int) -> np.ndarray:
    """Orbit label of each point under generator images ``(k, degree)`` (the core's function)."""
    from eqsolve._group import point_orbit_labels

    return point_orbit_labels(np.asarray(images, dtype=np.int64).reshape(-1, degree), degree)


def point_labels(source, what: str) -> np.ndarray:
    """Orbit labels (0..k-1 by smallest point) from a Basis (its input points), an Action, a
    group, or labels given by the user."""
    if isinstance(source, eqsolve.Basis):
        if source.in_orbit_index is None:
            raise EqsolveError(f"{what}: this basis carries no input orbits (in_orbit_index is None)")
        return np.asarray(source.in_orbit_index, dtype=np.int64)
    if isinstance(source, eqsolve.Action):
        return orbit_labels_of_images(source.images, source.degree)
    if isinstance(source, eqsolve.PermutationGroup):
        return orbit_labels_of_images(source.generators, source.degree)
    labels = np.asarray(source)
    if labels.ndim != 1 or not (labels.size == 0 or np.issubdtype(labels.dtype, np.integer)):
        raise EqsolveError(f"{what}: expected 1-D integer orbit labels, got an array of shape {labels.shape}")
    if labels.size and labels.min() < 0:
        raise EqsolveError(f"{what}: orbit labels must be >= 0, got {int(labels.min())}")
    from eqsolve._group import canonical_labels

    return canonical_labels(labels)


def shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


@torch.jit.unused
def _not_a_tensor(name: str, x) -> None:
    kind = type(x).__name__
    hint = " (convert it with torch.as_tensor(x, dtype=torch.float32))" if kind in ("ndarray", "list", "tuple") else ""
    raise EqsolveError(f"{name} takes a torch.Tensor, got {kind}{hint}")


def check_tensor(name: str, x: torch.Tensor) -> None:
    """Refuse numpy arrays, lists and other non-tensors with an EqsolveError (eager mode only:
    scripted and exported programs check types themselves)."""
    if not torch.jit.is_scripting():
        if not isinstance(x, torch.Tensor):
            _not_a_tensor(name, x)


@torch.jit.unused
def _mismatch(name: str, x: torch.Tensor, ref: torch.Tensor) -> None:
    if x.device != ref.device:
        raise EqsolveError(f"{name}: the input is on {x.device} but the parameters are on {ref.device}; "
                           f"move one of them (x.to({str(ref.device)!r}) or module.to({str(x.device)!r}))")
    if x.is_floating_point() and torch.is_autocast_enabled(x.device.type):
        return  # autocast casts inputs and weights itself
    kind, given = str(ref.dtype).replace("torch.", ""), str(x.dtype).replace("torch.", "")
    other = f" or the module (module.to(torch.{given}))" if x.is_floating_point() else ""
    raise EqsolveError(f"{name}: input dtype {given} does not match the parameters' dtype {kind}; "
                       f"convert the input (x.to(torch.{kind})){other}")


def check_like(name: str, x: torch.Tensor, ref: torch.Tensor) -> None:
    """Refuse an input whose dtype or device differs from the parameters ``ref`` (eager mode;
    under autocast a floating input of another dtype is fine).

    >>> check_like("layer", torch.zeros(2, dtype=torch.float64), torch.zeros(1))
    Traceback (most recent call last):
    ...
    eqsolve._errors.EqsolveError: layer: input dtype float64 does not match the parameters' dtype float32; convert the input (x.to(torch.float32)) or the module (module.to(torch.float64))
    """
    if not torch.jit.is_scripting():
        if x.dtype != ref.dtype or x.device != ref.device:
            _mismatch(name, x, ref)
