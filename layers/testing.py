"""Equivariance harness: ``assert_equivariant(module, group_or_actions, ...)``.

Random uniform group elements (``random_element``) act on the input's points and on the
output's points; with ``set_size`` a random permutation of the set acts too. Fresh random
inputs every trial. The check is ``max|f(g x) - g f(x)| <= atol + rtol * max|g f(x)|``; the
default tolerance depends on the dtype (:data:`TOLERANCE`).

>>> import eqsolve; from eqsolve import layers
>>> B = eqsolve.solve(eqsolve.groups.dihedral(5))
>>> report = layers.testing.assert_equivariant(layers.EquivariantLinear(B, 2, 3).double(), B)
>>> report.error < 1e-10
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

import eqsolve
from eqsolve import EqsolveError

@dataclass(frozen=True)
class Tolerance:
    """Tolerances of one dtype: ``equivariance`` is the relative error allowed between
    ``f(g x)`` and ``g f(x)`` (two different computations); ``round_trip`` the ``rtol = atol``
    allowed between a module and its exported artifact (the same computation, re-run)."""

    equivariance: float
    round_trip: float


#: the one tolerance table of the layers (equivariance checks here, export round trips)
TOLERANCES = {
    torch.float64: Tolerance(1e-10, 1e-10),
    torch.float32: Tolerance(1e-4, 1e-5),
    torch.float16: Tolerance(1e-2, 2e-3),
    torch.bfloat16: Tolerance(5e-2, 2e-2),
}
#: relative equivariance tolerance per dtype (the default ``rtol`` of :func:`assert_equivariant`)
TOLERANCE = {dtype: tol.equivariance for dtype, tol in TOLERANCES.items()}


@dataclass
class EquivarianceReport:
    """Worst trial of :func:`assert_equivariant`."""

    error: float  # max |f(g x) - g f(x)| / max(|g f(x)|) over the trials (relative)
    abs_error: float  # the absolute error of that trial
    element: Optional[np.ndarray]  # the worst group element (array form), None without a group
    set_permutation: Optional[np.ndarray]  # the worst set permutation, None without sets
    trials: int
    dtype: torch.dtype
    errors: list = field(default_factory=list)  # relative error of every trial


def _actions(group_or_actions):
    """(input action, output action, group); an action may be None (points not permuted)."""
    g = group_or_actions
    if isinstance(g, eqsolve.PermutationGroup):
        return g.action(), g.action(), g
    if isinstance(g, eqsolve.Basis):
        if g.inp is None or g.out is None:
            raise EqsolveError("this basis has no actions attached (loaded from a file?); pass (inp, out) actions")
        return g.inp, g.out, g.inp.group
    if isinstance(g, eqsolve.Action):
        return g, g, g.group
    if isinstance(g, (tuple, list)) and len(g) == 2:
        inp, out = g
        for name, a in (("inp", inp), ("out", out)):
            if a is not None and not isinstance(a, eqsolve.Action):
                raise EqsolveError(f"{name} must be an eqsolve.Action or None, got {type(a).__name__}")
        present = [a for a in (inp, out) if a is not None]
        group = present[0].group if present else None
        return inp, out, group
    raise EqsolveError(
        "group_or_actions must be a PermutationGroup, a Basis, an Action or a pair (inp, out) of "
        f"Actions, got {type(g).__name__}"
    )


def _permute(t: torch.Tensor, perm: np.ndarray, axis: int) -> torch.Tensor:
    """``(g . t)`` along ``axis``: the entry at point ``i`` moves to point ``perm[i]``."""
    inverse = np.argsort(perm)
    return t.index_select(axis, torch.as_tensor(inverse, dtype=torch.long, device=t.device))


def _module_dtype_device(module):
    for tensor in list(module.parameters()) + list(module.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype, tensor.device
    for tensor in list(module.parameters()) + list(module.buffers()):
        return torch.get_default_dtype(), tensor.device
    return torch.get_default_dtype(), torch.device("cpu")


def assert_equivariant(module, group_or_actions, trials: int = 5, rng=None, set_size: Optional[int] = None, *,
                       batch: int = 3, in_channels: Optional[int] = None, in_shape=None, masked: bool = False,
                       out_set_axis: Optional[int] = -3, dtype: Optional[torch.dtype] = None, device=None,
                       atol: float = 0.0, rtol: Optional[float] = None) -> EquivarianceReport:
    """Check ``module(g . x) == g . module(x)`` for random group elements and fresh inputs.

    Parameters
    ----------
    module:
        A callable ``torch.nn.Module``.
    group_or_actions:
        A :class:`eqsolve.PermutationGroup` (natural action on input and output), a
        :class:`eqsolve.Basis` (its ``inp`` / ``out`` actions), an :class:`eqsolve.Action`
        (on both) or a pair ``(inp, out)`` of actions of one group; ``None`` in the pair means
        "not permuted" (e.g. ``out=None`` for an invariant output).
    trials:
        Number of (element, input) draws; the worst is reported.
    rng:
        ``np.random.Generator`` or seed for the group elements and inputs.
    set_size:
        For set layers: the input is ``(batch, n, c, d)`` with ``n = set_size`` and a random
        permutation of the set acts on axis ``-3`` of the input and ``out_set_axis`` of the
        output (``None`` for a set-invariant output).
    batch, in_channels, in_shape:
        Input shape ``(batch, [set_size,] in_channels, d_in)``; ``in_channels`` defaults to
        ``module.in_channels``; ``in_shape`` overrides the whole shape (points on the last
        axis, the set on axis -3).
    masked:
        With ``set_size``: also pass a random ``mask`` (``(batch, n)`` bool, each set keeps at
        least one element), permuted with the set.
    dtype, device:
        Of the inputs; default: the module's first floating parameter or buffer.
    atol, rtol:
        Tolerance ``max|diff| <= atol + rtol * max|g f(x)|``; ``rtol`` defaults to
        ``TOLERANCE[dtype]`` ({float64: 1e-10, float32: 1e-4, ...}).

    Returns
    -------
    EquivarianceReport
        The worst relative error, its group element and set permutation.

    Raises
    ------
    AssertionError
        When the worst trial exceeds the tolerance; the message names the element and error.
    """
    rng = np.random.default_rng(rng)
    inp, out, group = _actions(group_or_actions)
    mod_dtype, mod_device = _module_dtype_device(module)
    dtype = dtype or mod_dtype
    device = torch.device(device) if device is not None else mod_device
    if rtol is None:
        rtol = TOLERANCE.get(dtype, 1e-4)
    if in_shape is None:
        channels = in_channels if in_channels is not None else getattr(module, "in_channels", None)
        if channels is None:
            raise EqsolveError("pass in_channels= (the module has no in_channels attribute) or in_shape=")
        d_in = inp.degree if inp is not None else getattr(module, "d_in", None)
        if d_in is None:
            raise EqsolveError("the input action is None: pass in_shape=")
        in_shape = (batch,) + ((set_size,) if set_size else ()) + (channels, d_in)
    in_shape = tuple(int(s) for s in in_shape)
    results = []
    for _ in range(trials):
        x = torch.as_tensor(rng.standard_normal(in_shape), dtype=torch.float64).to(dtype=dtype, device=device)
        g = group.random_element(rng) if group is not None else None
        sigma = rng.permutation(in_shape[-3]) if set_size else None
        kwargs = {}
        mask = None
        if masked:
            if not set_size:
                raise EqsolveError("masked=True needs set_size")
            keep = rng.random(in_shape[:-2]) < 0.6
            keep[..., 0] = True
            mask = torch.as_tensor(keep, device=device)
            kwargs["mask"] = mask
        gx = x
        if inp is not None:
            gx = _permute(gx, inp.image_of(g), -1)
        if sigma is not None:
            gx = _permute(gx, sigma, -3)
            if mask is not None:
                kwargs_g = {"mask": _permute(mask, sigma, -1)}
            else:
                kwargs_g = {}
        else:
            kwargs_g = dict(kwargs)
        with torch.no_grad():
            fx = module(x, **kwargs)
            fgx = module(gx, **kwargs_g)
        gfx = fx
        if out is not None:
            gfx = _permute(gfx, out.image_of(g), -1)
        if sigma is not None and out_set_axis is not None:
            gfx = _permute(gfx, sigma, out_set_axis)
        if fgx.shape != gfx.shape:
            raise AssertionError(f"output shapes differ: f(g x) {tuple(fgx.shape)} vs g f(x) {tuple(gfx.shape)}")
        diff = (fgx.double() - gfx.double()).abs().max().item() if fgx.numel() else 0.0
        scale = gfx.double().abs().max().item() if gfx.numel() else 0.0
        rel = diff / scale if scale > 0 else diff
        ok = bool(diff <= atol + rtol * scale)  # False for NaN
        results.append((rel, diff, g, sigma, ok))
    if not results:
        raise EqsolveError(f"trials must be >= 1, got {trials}")
    failing = [r for r in results if not r[4]]
    pool = failing or results
    rel, diff, g, sigma, _ = max(pool, key=lambda r: float("inf") if r[0] != r[0] else r[0])
    report = EquivarianceReport(rel, diff, g, sigma, trials, dtype, [r[0] for r in results])
    if failing:
        where = f"group element {None if g is None else g.tolist()}"
        if sigma is not None:
            where += f", set permutation {sigma.tolist()}"
        raise AssertionError(
            f"{type(module).__name__} is not equivariant ({dtype}): worst relative error {rel:.3g} "
            f"(absolute {diff:.3g}) > rtol {rtol:g} (atol {atol:g}) at {where}"
        )
    return report
