"""``DSSLinear``: layers for sets of symmetric elements (Maron et al. 2020, Theorem 1)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from eqsolve import EqsolveError

from ._checks import check_basis, check_channels, check_choice, check_tensor, factory_kwargs, restrict
from .linear import EquivariantLinear

AGGREGATIONS = ("sum", "mean", "max", "aittala", "sridhar")


def check_set_input(name: str, x: torch.Tensor, channels: int, d: int, mask: Optional[torch.Tensor]) -> None:
    """Input ``(..., n, channels, d)``; mask boolean with shape ``(..., n)``."""
    check_tensor(name, x)
    if mask is not None:
        check_tensor(name + " mask", mask)
    if x.dim() < 3 or x.shape[-2] != channels or x.shape[-1] != d:
        raise EqsolveError(
            f"{name} expects input of shape (batch, n, in_channels={channels}, d={d}), got {list(x.shape)}"
        )
    if mask is not None:
        if list(mask.shape) != list(x.shape[:-2]):
            raise EqsolveError(
                f"{name}: mask must have shape (batch, n) = {list(x.shape[:-2])} (the input's leading "
                f"dimensions), got {list(mask.shape)}"
            )
        if mask.dtype != torch.bool:
            raise EqsolveError(f"{name}: mask must be a bool tensor, got {mask.dtype}")


def masked_set_sum(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Sum over the set axis (-3) of the real elements."""
    if mask is None:
        return x.sum(-3)
    return x.masked_fill(~mask[..., None, None], 0.0).sum(-3)


def set_count(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Number of real elements per set, shaped to broadcast against ``(..., c, d)``."""
    if mask is None:
        return torch.full(list(x.shape[:-3]) + [1, 1], float(x.shape[-3]), dtype=x.dtype, device=x.device)
    return mask.sum(-1).to(x.dtype)[..., None, None]


def masked_set_mean(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Mean over the real elements (0 for an empty set)."""
    if mask is None:
        return x.mean(-3)
    return masked_set_sum(x, mask) / set_count(x, mask).clamp(min=1.0)


def masked_set_max(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Elementwise max over the real elements (0 for an empty set)."""
    if x.shape[-3] == 0:  # amax over an empty axis raises; an empty set pools to 0, as in sum/mean
        return x.sum(-3)
    if mask is None:
        return x.amax(-3)
    pooled = x.masked_fill(~mask[..., None, None], float("-inf")).amax(-3)
    return torch.where(set_count(x, mask) > 0, pooled, torch.zeros_like(pooled))


class DSSLinear(nn.Module):
    """Linear layer for a set of ``n`` elements in ``R^d`` with element symmetry ``H``.

    Input ``(batch, n, in_channels, d)`` (any number of leading batch dimensions), output
    ``(batch, n, out_channels, d_out)``. With ``L``, ``L1``, ``L2`` :class:`EquivariantLinear`
    maps built from ``basis``:

    ========== =====================================================================
    "sum"      ``L1(x_i) + L2(sum_j x_j)``  (Theorem 1: the general S_n x H layer)
    "mean"     ``L1(x_i) + L2(mean_j x_j)``
    "max"      ``L1(x_i) + L2(max_j x_j)``  (elementwise max)
    "aittala"  ``concat[L(x_i), max_j L(x_j)]`` on channels (``L`` has out_channels / 2)
    "sridhar"  ``L(x_i) - mean_j L(x_j)`` plus the invariant bias
    ========== =====================================================================

    ``out_channels`` is always the number of output channels ("aittala" needs it even).
    The bias (if any) sits in ``L1`` / ``L``; for "sridhar" it is added after the
    subtraction, where it would otherwise cancel.

    ``device`` and ``dtype`` are factory arguments as in torch's layers; ``support`` and
    ``path`` are passed to the :class:`EquivariantLinear` maps.

    ``forward(x, mask=None)``: ``mask`` (``(batch, n)`` bool) marks the real elements of
    padded sets. Aggregations only see real elements, and padded positions of the output
    are 0, so padding never changes the result on the real elements.

    Examples
    --------
    >>> import torch, eqsolve; from eqsolve import layers
    >>> B = eqsolve.solve(eqsolve.groups.cyclic(6))
    >>> dss = layers.DSSLinear(B, 2, 4, aggregation="sum")
    >>> x = torch.randn(3, 5, 2, 6)
    >>> mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2, [True] + [False] * 4])
    >>> dss(x, mask).shape
    torch.Size([3, 5, 4, 6])
    """

    __jit_unused_properties__ = ["path", "bias_index"]

    def __init__(self, basis, in_channels: int, out_channels: int, aggregation: str = "sum",
                 bias: bool = True, support=None, path: str = "auto", *, device=None, dtype=None):
        super().__init__()
        factory = factory_kwargs(device, dtype)
        basis = check_basis(basis)
        self.in_channels = check_channels(in_channels, "in_channels")
        self.out_channels = check_channels(out_channels, "out_channels")
        self.aggregation = check_choice(aggregation, AGGREGATIONS, "aggregation")
        self.d_out, self.d_in = (int(s) for s in basis.shape)
        if support is not None:
            basis = restrict(basis, support)  # once for both maps
        make = lambda c_out, b: EquivariantLinear(basis, in_channels, c_out, bias=b, path=path, **factory)
        self.shared: Optional[EquivariantLinear] = None
        self.bias: Optional[nn.Parameter] = None
        if aggregation in ("sum", "mean", "max"):
            self.single = make(out_channels, bias)
            self.shared = make(out_channels, False)
        elif aggregation == "aittala":
            if out_channels % 2:
                raise EqsolveError(
                    f"aggregation 'aittala' concatenates two halves: out_channels must be even, got {out_channels}"
                )
            self.single = make(out_channels // 2, bias)
        else:
            self.single = make(out_channels, False)
            if bias:
                self.bias = nn.Parameter(torch.zeros(out_channels, self.single.n_bias, **factory))


    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_set_input("DSSLinear", x, self.in_channels, self.d_in, mask)
        agg = self.aggregation
        shared = self.shared
        if shared is not None:
            if agg == "sum":
                pooled = masked_set_sum(x, mask)
            elif agg == "mean":
                pooled = masked_set_mean(x, mask)
            else:
                pooled = masked_set_max(x, mask)
            y = self.single(x) + shared(pooled).unsqueeze(-3)
        elif agg == "aittala":
            z = self.single(x)
            y = torch.cat([z, masked_set_max(z, mask).unsqueeze(-3).expand_as(z)], dim=-2)
        else:
            z = self.single(x)
            y = z - masked_set_mean(z, mask).unsqueeze(-3)
            bias = self.bias
            if bias is not None:
                y = y + self.single.expand_bias(bias)
        if mask is not None:
            y = y.masked_fill(~mask[..., None, None], 0.0)
        return y

    @property
    def bias_index(self) -> torch.Tensor:
        """Output orbit of each output point (from the basis)."""
        return self.single.bias_index

    @property
    def path(self) -> str:
        return self.single.path

    def extra_repr(self) -> str:
        return f"{self.in_channels} -> {self.out_channels}, aggregation={self.aggregation!r}"
