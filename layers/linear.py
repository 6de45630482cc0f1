"""``EquivariantLinear``: the general equivariant linear map from a solved basis."""

from __future__ import annotations

import math
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from eqsolve import EqsolveError

from . import _fastpaths, _patterns
from ._checks import check_basis, check_channels, check_choice, point_labels, restrict_support

PATHS = ("auto", "generic", "conv", "fft", "deepsets", "const", "blocks", "patterns")


class EquivariantLinear(nn.Module):
    """Linear map ``(..., in_channels, d_in) -> (..., out_channels, d_out)`` equivariant to a group.

    The weight is ``W[o, c, i, j] = theta[o, c, orbit_index[i, j]]`` (zero where the id is -1,
    outside a support mask) and ``y[..., o, i] = sum_{c, j} W[o, c, i, j] x[..., c, j] + b[o, i]``
    with the invariant bias ``b[o, i] = beta[o, bias_index[i]]``: one parameter per output
    orbit and channel.

    Parameters
    ----------
    basis:
        An :class:`eqsolve.Basis` (``eqsolve.solve(H)`` or ``solve(out=..., inp=...)``).
    in_channels, out_channels:
        Channel counts, at least 1.
    bias:
        Add the invariant bias.
    support:
        Optional boolean ``(d_out, d_in)`` mask, a union of orbits: keep only the basis
        matrices inside it (local kernels); raises ``MaskNotInvariantError`` otherwise.
    path:
        ``"auto"`` (default) picks the cheapest exact executor; ``"generic"`` (gather ``W``,
        one matmul), ``"conv"``/``"fft"`` (regular actions of translation groups),
        ``"deepsets"`` (identity + all-ones), ``"const"`` (one orbit), ``"blocks"``
        (intransitive actions), ``"patterns"`` (S_m on tensors/subsets, see ``_patterns``) force one, and raise if it does not apply. ``repr`` shows it.

    Notes
    -----
    The trainable parameters are ``weight`` ``(out_channels, in_channels, dim)`` and ``bias``
    ``(out_channels, n_out_orbits)``: ``dim * in * out (+ n_out_orbits * out)`` in all.
    ``orbit_index`` and ``bias_index`` are buffers; nothing expanded is stored.

    Examples
    --------
    >>> import torch, eqsolve; from eqsolve import layers
    >>> B = eqsolve.solve(eqsolve.groups.cyclic(8))
    >>> lin = layers.EquivariantLinear(B, 3, 4)
    >>> lin(torch.randn(2, 3, 8)).shape
    torch.Size([2, 4, 8])
    >>> lin.path.split("(")[0], sum(p.numel() for p in lin.parameters()) == 8 * 3 * 4 + 4
    ('conv', True)
    """

    def __init__(self, basis, in_channels: int, out_channels: int, bias: bool = True, support=None,
                 path: str = "auto"):
        super().__init__()
        basis = check_basis(basis)
        self.in_channels = check_channels(in_channels, "in_channels")
        self.out_channels = check_channels(out_channels, "out_channels")
        check_choice(path, PATHS, "path")
        table = np.asarray(basis.orbit_index, dtype=np.int64)
        dim = basis.dim
        if support is not None:
            table, dim = restrict_support(table, support)
        self.dim = int(dim)
        self.d_out, self.d_in = (int(s) for s in table.shape)
        self.register_buffer("orbit_index", torch.as_tensor(table.copy()))
        bias_index = np.asarray(basis.bias_index, dtype=np.int64)
        self.n_bias = int(bias_index.max()) + 1 if bias_index.size else 0
        self.register_buffer("bias_index", torch.as_tensor(bias_index.copy()))

        self.weight = nn.Parameter(torch.empty(self.out_channels, self.in_channels, self.dim))
        self.bias = nn.Parameter(torch.empty(self.out_channels, self.n_bias)) if bias else None
        nnz_per_row = (table >= 0).sum() / max(self.d_out, 1)
        self._fan_in = max(1.0, float(self.in_channels * nnz_per_row))
        self.reset_parameters()

        in_labels = basis.in_orbit_index
        if in_labels is None and getattr(basis, "inp", None) is not None:
            in_labels = point_labels(basis.inp, "input action")
        shapes = _grid_shapes(basis, self.d_in)
        patterns = _patterns.candidate(basis, lambda idx: table[idx], self.dim, self.d_out, self.d_in,
                                       self.in_channels, self.out_channels)
        extra = [] if patterns is None else [_fastpaths.Candidate("patterns", *patterns)]
        executor, available = _fastpaths.plan(
            table, self.in_channels, self.out_channels, shapes, bias_index,
            None if in_labels is None else np.asarray(in_labels, dtype=np.int64), path, extra=extra,
        )
        if executor is None:
            raise EqsolveError(
                f"path {path!r} does not apply to this basis (shape {table.shape}, dim {self.dim}); "
                f"available: {', '.join(available)}"
            )
        self.available_paths: List[str] = available
        self.kernel = executor
        self.path: str = executor.describe()

    def reset_parameters(self) -> None:
        """Uniform in ``+-1/sqrt(fan_in)``, ``fan_in = in_channels * (nonzeros per row of W)``."""
        bound = 1.0 / math.sqrt(self._fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[-2] != self.in_channels or x.shape[-1] != self.d_in:
            raise EqsolveError(
                f"EquivariantLinear expects input of shape (..., in_channels={self.in_channels}, "
                f"d_in={self.d_in}), got {list(x.shape)}"
            )
        lead: List[int] = list(x.shape[:-2])
        flat = x.reshape(-1, self.in_channels, self.d_in)
        theta_pad = F.pad(self.weight, (0, 1))
        bias = self.bias
        if bias is not None and self.n_bias != 1:
            bias = bias[:, self.bias_index]  # (O, d_out); a transitive output keeps (O, 1)
        y = self.kernel(theta_pad, flat, bias)
        return y.reshape(lead + [self.out_channels, self.d_out])

    def dense_weight(self) -> torch.Tensor:
        """The full weight ``W`` ``(out_channels, in_channels, d_out, d_in)`` (for reference checks)."""
        return F.pad(self.weight, (0, 1))[:, :, self.orbit_index]

    def dense_bias(self) -> Optional[torch.Tensor]:
        """The expanded bias ``(out_channels, d_out)``, or None."""
        return None if self.bias is None else self.bias[:, self.bias_index]

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels} -> {self.out_channels}, d_in={self.d_in}, d_out={self.d_out}, "
            f"dim={self.dim}, bias={self.bias is not None}, path={self.path!r}"
        )


def _grid_shapes(basis, d: int) -> list:
    """Grids on which a circulant table may live: the group's ``shape`` if it has one, ``(d,)``
    and the factorisations of ``d`` (see ``_fastpaths.grid_shapes``)."""
    known = []
    for side in (getattr(basis, "out", None), getattr(basis, "inp", None)):
        group = getattr(side, "group", None)
        shape = getattr(group, "shape", None)
        if shape is not None and int(np.prod(shape)) == d:
            known.append(tuple(int(s) for s in shape))
    return _fastpaths.grid_shapes(d, known)
