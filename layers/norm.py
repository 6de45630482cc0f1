"""Normalisation that keeps equivariance: statistics shared across each orbit of points.

The group only moves points inside their orbits, and set permutations only reorder elements,
so a mean / variance per (channel, orbit) taken over the batch (``EquivariantBatchNorm``) or
over one set (``SetNorm``) is unchanged by both; so are per-(channel, orbit) affine parameters.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch
from torch import nn

from eqsolve import EqsolveError

from ._checks import check_channels, check_tensor, factory_kwargs, point_labels
from ._state import Fingerprinted, describe_labels, fingerprint_labels


class _OrbitStats(Fingerprinted, nn.Module):
    def __init__(self, basis_or_orbits, channels: int, eps: float, affine: bool, name: str, device=None, dtype=None):
        super().__init__()
        factory = factory_kwargs(device, dtype)
        self.name = name
        self.channels = check_channels(channels, "channels")
        labels = point_labels(basis_or_orbits, name)
        self.d = int(labels.size)
        self.n_orbits = int(labels.max()) + 1 if labels.size else 0
        self.eps = float(eps)
        self.register_buffer("labels", torch.tensor(labels, dtype=torch.int64, device=factory["device"]),
                             persistent=False)
        self.register_buffer(
            "orbit_sizes", torch.as_tensor(np.bincount(labels, minlength=self.n_orbits), dtype=torch.float32,
                                           device=factory["device"]),
            persistent=False,
        )
        self._set_fingerprint(describe_labels(labels), fingerprint_labels(labels))
        if affine:
            self.weight: Optional[nn.Parameter] = nn.Parameter(torch.ones(self.channels, self.n_orbits, **factory))
            self.bias: Optional[nn.Parameter] = nn.Parameter(torch.zeros(self.channels, self.n_orbits, **factory))
        else:
            self.weight = None
            self.bias = None

    @property
    def in_channels(self) -> int:
        return self.channels

    def _legacy_fingerprint(self, state_dict, prefix):
        labels = state_dict.pop(prefix + "labels", None)  # a persistent buffer before
        return None if labels is None else fingerprint_labels(labels.cpu().numpy())

    def _orbit_sum(self, t: torch.Tensor) -> torch.Tensor:
        """(..., c, d) -> (..., c, n_orbits)."""
        if self.n_orbits == 1:
            return t.sum(-1, keepdim=True)
        shape: List[int] = list(t.shape[:-1]) + [self.n_orbits]
        return t.new_zeros(shape).index_add(-1, self.labels, t)

    def _check(self, x: torch.Tensor, mask: Optional[torch.Tensor], min_dim: int, layout: str) -> None:
        check_tensor(self.name, x)
        if mask is not None:
            check_tensor(self.name + " mask", mask)
        if x.dim() < min_dim or x.shape[-2] != self.channels or x.shape[-1] != self.d:
            raise EqsolveError(
                f"{self.name} expects input of shape {layout}, channels={self.channels}, d={self.d}; "
                f"got {list(x.shape)}"
            )
        if mask is not None and list(mask.shape) != list(x.shape[:-2]):
            raise EqsolveError(
                f"{self.name}: mask must have shape {list(x.shape[:-2])} (the input's leading "
                f"dimensions), got {list(mask.shape)}"
            )
        if mask is not None and mask.dtype != torch.bool:
            raise EqsolveError(f"{self.name}: mask must be a bool tensor, got {mask.dtype}")

    def _affine(self, y: torch.Tensor) -> torch.Tensor:
        weight, bias = self.weight, self.bias
        if weight is not None and bias is not None:
            y = y * weight[:, self.labels] + bias[:, self.labels]
        return y


class EquivariantBatchNorm(_OrbitStats):
    """Batch normalisation with one mean / variance per (channel, orbit of points).

    Input ``(..., channels, d)``; statistics over every leading dimension and the points of
    each orbit. ``forward(x, mask=None)``: ``mask`` (shape ``x.shape[:-2]``, bool) excludes
    padded set elements from the statistics; their outputs are 0. Running statistics as in
    ``torch.nn.BatchNorm1d`` (``momentum``, unbiased running variance).

    >>> import torch, eqsolve; from eqsolve import layers
    >>> bn = layers.EquivariantBatchNorm(eqsolve.solve(eqsolve.groups.cyclic(4)), channels=2)
    >>> y = bn(torch.randn(8, 2, 4) * 3 + 1)
    >>> bool(y.mean().abs() < 1e-5), bool((y.var(unbiased=False) - 1).abs() < 1e-3)
    (True, True)
    """

    def __init__(self, basis_or_orbits, channels: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, device=None, dtype=None):
        super().__init__(basis_or_orbits, channels, eps, affine, "EquivariantBatchNorm", device, dtype)
        factory = factory_kwargs(device, dtype)
        self.momentum = float(momentum)
        self.track_running_stats = bool(track_running_stats)
        self.register_buffer("running_mean", torch.zeros(self.channels, self.n_orbits, **factory))
        self.register_buffer("running_var", torch.ones(self.channels, self.n_orbits, **factory))

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._check(x, mask, 2, "(..., channels, d)")
        c = self.channels
        if (self.n_orbits == 1 and mask is None and x.dtype == self.running_mean.dtype
                and x.dtype in (torch.float32, torch.float64) and x.numel() > c):
            return self._single_orbit(x)
        if self.training or not self.track_running_stats:
            keep = None if mask is None else mask[..., None, None]
            xs = x if keep is None else x.masked_fill(~keep, 0.0)
            if mask is None:
                elements = torch.full([1], float(x.numel() // max(c * self.d, 1)), dtype=x.dtype, device=x.device)
            else:
                elements = mask.sum().to(x.dtype).reshape(1)
            count = elements * self.orbit_sizes.to(x.dtype)  # (n_orbits,)
            mean = self._orbit_sum(xs).reshape(-1, c, self.n_orbits).sum(0) / count.clamp(min=1.0)
            centered = x - mean[:, self.labels]
            sq = centered * centered
            if keep is not None:
                sq = sq.masked_fill(~keep, 0.0)
            var = self._orbit_sum(sq).reshape(-1, c, self.n_orbits).sum(0) / count.clamp(min=1.0)
            if self.training and self.track_running_stats:
                with torch.no_grad():
                    unbiased = var * count / (count - 1.0).clamp(min=1.0)
                    m = self.momentum
                    self.running_mean.mul_(1.0 - m).add_(m * mean.detach().to(self.running_mean.dtype))
                    self.running_var.mul_(1.0 - m).add_(m * unbiased.detach().to(self.running_var.dtype))
        else:
            mean = self.running_mean.to(x.dtype)
            var = self.running_var.to(x.dtype)
            centered = x - mean[:, self.labels]
        y = self._affine(centered * torch.rsqrt(var + self.eps)[:, self.labels])
        if mask is not None:
            y = y.masked_fill(~mask[..., None, None], 0.0)
        return y

    def _single_orbit(self, x: torch.Tensor) -> torch.Tensor:
        # one orbit (a transitive action, e.g. the shifts of C_d): the statistics per channel run
        # over every leading dimension and every point, which is BatchNorm1d on (-1, c, d); one
        # fused kernel instead of about ten elementwise passes (forward and backward)
        c = self.channels
        running = self.track_running_stats  # training: updated; evaluation: used
        weight, bias = self.weight, self.bias
        y = torch.nn.functional.batch_norm(
            x.reshape(-1, c, self.d),
            self.running_mean.view(c) if running else None,
            self.running_var.view(c) if running else None,
            None if weight is None else weight.view(c),
            None if bias is None else bias.view(c),
            self.training or not running, self.momentum, self.eps,
        )
        return y.reshape(x.shape)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, n_orbits={self.n_orbits}, eps={self.eps}, momentum={self.momentum}"


class SetNorm(_OrbitStats):
    """Per-set normalisation: mean / variance per (set, channel, orbit) over elements and points.

    Input ``(batch, n, channels, d)``; ``forward(x, mask=None)`` with ``mask`` ``(batch, n)``
    bool: statistics over the real elements only, padded outputs 0. Needs no running
    statistics (same in training and evaluation), so it suits sets of varying size.

    >>> import torch, eqsolve; from eqsolve import layers
    >>> norm = layers.SetNorm(eqsolve.solve(eqsolve.groups.symmetric(3)), channels=2)
    >>> norm(torch.randn(4, 5, 2, 3)).shape
    torch.Size([4, 5, 2, 3])
    """

    def __init__(self, basis_or_orbits, channels: int, eps: float = 1e-5, affine: bool = True, *,
                 device=None, dtype=None):
        super().__init__(basis_or_orbits, channels, eps, affine, "SetNorm", device, dtype)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._check(x, mask, 3, "(batch, n, channels, d)")
        keep = None if mask is None else mask[..., None, None]
        xs = x if keep is None else x.masked_fill(~keep, 0.0)
        if mask is None:
            elements = torch.full([1, 1], float(x.shape[-3]), dtype=x.dtype, device=x.device)
        else:
            elements = mask.sum(-1).to(x.dtype)[..., None, None]  # (..., 1, 1)
        count = (elements * self.orbit_sizes.to(x.dtype)).clamp(min=1.0)  # (..., 1, n_orbits)
        mean = self._orbit_sum(xs).sum(-3) / count  # (..., c, n_orbits)
        centered = x - mean.index_select(-1, self.labels).unsqueeze(-3)
        sq = centered * centered
        if keep is not None:
            sq = sq.masked_fill(~keep, 0.0)
        var = self._orbit_sum(sq).sum(-3) / count
        y = self._affine(centered * torch.rsqrt(var + self.eps).index_select(-1, self.labels).unsqueeze(-3))
        if mask is not None:
            y = y.masked_fill(~mask[..., None, None], 0.0)
        return y

    def extra_repr(self) -> str:
        return f"channels={self.channels}, n_orbits={self.n_orbits}, eps={self.eps}"
