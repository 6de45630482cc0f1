"""``EquivariantLinear``: the general equivariant linear map from a solved basis."""

from __future__ import annotations

import math
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from eqsolve import EqsolveError

from . import _fastpaths, _pattern_grids, _patterns  # noqa: F401  (they register their paths)
from ._checks import check_basis, check_channels, check_choice, check_like, check_tensor, factory_kwargs, restrict
from ._executors import RowSource, index_tensor
from ._state import Fingerprinted, describe_basis, fingerprint_table, legacy_table_fingerprint

#: every accepted ``path=`` value, derived from the fast-path registry (``_fastpaths.register``)
PATHS = _fastpaths.PATHS


class EquivariantLinear(Fingerprinted, nn.Module):
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
        one matmul), ``"conv"``/``"fft"`` (translation groups: square, strided and transposed
        maps between grids), ``"deepsets"`` (identity + all-ones), ``"const"`` (one orbit),
        ``"blocks"`` (intransitive actions), ``"patterns"`` (S_m on tensors / subsets, see
        ``_patterns``) or a path another module registered (:data:`PATHS`), force one, and raise if it does not apply. ``repr`` shows it.
    device, dtype:
        Factory arguments of the parameters, as in ``torch.nn.Linear``.

    Notes
    -----
    The trainable parameters are ``weight`` ``(out_channels, in_channels, dim)`` and ``bias``
    ``(out_channels, n_out_orbits)``: ``dim * in * out (+ n_out_orbits * out)`` in all. The
    ``state_dict`` holds them plus a fingerprint of the basis (``_extra_state``); index data
    is rebuilt from the basis, and only the ``generic`` path holds a ``d_out x d_in`` gather
    index (built on first use, on the parameters' device).

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

    __jit_unused_properties__ = ["basis", "orbit_index", "bias_index"]

    def __init__(self, basis, in_channels: int, out_channels: int, bias: bool = True, support=None,
                 path: str = "auto", *, device=None, dtype=None):
        super().__init__()
        factory = factory_kwargs(device, dtype)
        basis = check_basis(basis)
        self.in_channels = check_channels(in_channels, "in_channels")
        self.out_channels = check_channels(out_channels, "out_channels")
        check_choice(path, PATHS, "path")
        if support is not None:
            basis = restrict(basis, support)
        self._source = RowSource(basis)  # shared with the executors, never copied or saved
        self.dim = int(basis.dim)
        self.d_out, self.d_in = (int(s) for s in basis.shape)
        bias_index = np.asarray(basis.bias_index, dtype=np.int64)
        self.n_bias = int(bias_index.max()) + 1 if bias_index.size else 0
        # a transitive output broadcasts one bias per channel: no index to keep (or export)
        self.register_buffer("bias_gather", index_tensor(bias_index if self.n_bias > 1 else bias_index[:0],
                                                        factory["device"]).long(), persistent=False)

        self.weight = nn.Parameter(torch.empty(self.out_channels, self.in_channels, self.dim, **factory))
        self.bias = nn.Parameter(torch.empty(self.out_channels, self.n_bias, **factory)) if bias else None

        spec = _spec(self._source, self.in_channels, self.out_channels)
        sizes = np.bincount(bias_index, minlength=self.n_bias)  # every row of an orbit has its root's support
        nnz = float((spec.root_rows >= 0).sum(axis=1) @ sizes) if self.d_in and self.d_out else 0.0
        self._fan_in = max(1.0, self.in_channels * nnz / max(self.d_out, 1))
        self.reset_parameters()

        executor, available = _fastpaths.plan(spec, path)
        if executor is None:
            raise EqsolveError(
                f"path {path!r} does not apply to this basis (shape {basis.shape}, dim {self.dim}); "
                f"available: {', '.join(available)}"
            )
        self.available_paths: List[str] = available
        self.kernel = executor.to(factory["device"]) if factory["device"] is not None else executor
        self.path: str = executor.describe()
        self._set_fingerprint(describe_basis(basis), fingerprint_table(spec.rows, basis.shape, self.dim, bias_index,
                                                                         spec.root_rows))

    def reset_parameters(self) -> None:
        """Uniform in ``+-1/sqrt(fan_in)``, ``fan_in = in_channels * (nonzeros per row of W)``."""
        bound = 1.0 / math.sqrt(self._fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("EquivariantLinear", x)
        check_like("EquivariantLinear", x, self.weight)
        if x.dim() < 2 or x.shape[-2] != self.in_channels or x.shape[-1] != self.d_in:
            raise EqsolveError(
                f"EquivariantLinear expects input of shape (..., in_channels={self.in_channels}, "
                f"d_in={self.d_in}), got {list(x.shape)}"
            )
        lead: List[int] = list(x.shape[:-2])
        flat = x.reshape(-1, self.in_channels, self.d_in)
        theta_pad = F.pad(self.weight, (0, 1))
        bias = self.bias
        if bias is not None:
            if torch.jit.is_scripting() or torch.jit.is_tracing():
                bias = self.expand_bias(bias)
            else:
                bias = self._cached_bias(bias)
        y = self.kernel(theta_pad, flat, bias)
        return y.reshape(lead + [self.out_channels, self.d_out])

    @property
    def basis(self):
        """The (restricted) basis the layer was built from."""
        return self._source.basis

    @property
    def bias_index(self) -> torch.Tensor:
        """Output orbit of each output point ``(d_out,)`` (from the basis)."""
        return torch.as_tensor(np.asarray(self.basis.bias_index, dtype=np.int64), device=self.weight.device)

    @property
    def orbit_index(self) -> torch.Tensor:
        """The (restricted) ``(d_out, d_in)`` orbit table, built on demand (memory-checked), not stored."""
        table = self._source.table("the layer's orbit table")
        return torch.as_tensor(table, dtype=torch.long, device=self.weight.device)

    @torch.jit.unused
    def dense_weight(self) -> torch.Tensor:
        """The full weight ``W`` ``(out_channels, in_channels, d_out, d_in)`` (for reference checks)."""
        table = self._source.table("the dense weight's index")
        return F.pad(self.weight, (0, 1))[:, :, index_tensor(table, self.weight.device).long()]

    def expand_bias(self, beta: torch.Tensor) -> torch.Tensor:
        """Per-output-orbit values ``(channels, n_out_orbits)`` on the output points:
        ``(channels, d_out)``, or ``(channels, 1)`` (broadcast) when the output is one orbit."""
        if self.n_bias == 1:
            return beta
        return beta[:, self.bias_gather]

    @torch.jit.unused
    def _cached_bias(self, beta: torch.Tensor) -> torch.Tensor:
        """:meth:`expand_bias`, kept between calls while no gradient is wanted (eval, no_grad,
        inference_mode, a frozen bias). The key is the parameter's storage, version counter,
        device and dtype, so optimizer steps, ``load_state_dict``, ``.to()`` and any in-place
        change invalidate it; while the gradient is recorded the gather runs every call (it must
        be part of the autograd graph). Writes through ``.data`` bypass the version counter:
        call :meth:`clear_bias_cache` after them."""
        if self.n_bias == 1 or (torch.is_grad_enabled() and beta.requires_grad) or torch.compiler.is_compiling():
            return self.expand_bias(beta)
        key = (beta.data_ptr(), beta._version, beta.device, beta.dtype, self.bias_gather.data_ptr())
        cache = self.__dict__.get("_bias_cache")
        if cache is None or cache[0] != key:
            with torch.inference_mode(False), torch.no_grad():
                # the source is held so that its storage (part of the key) is not reused
                cache = (key, beta.detach(), self.expand_bias(beta.detach()))
            self.__dict__["_bias_cache"] = cache
        return cache[2]

    def clear_bias_cache(self) -> None:
        """Forget the expanded bias kept for gradient-free calls (see :meth:`forward`)."""
        self.__dict__.pop("_bias_cache", None)

    def dense_bias(self) -> Optional[torch.Tensor]:
        """The expanded bias ``(out_channels, d_out)``, or None."""
        return None if self.bias is None else self.expand_bias(self.bias).expand(self.out_channels, self.d_out)

    def _legacy_fingerprint(self, state_dict, prefix):
        return legacy_table_fingerprint(state_dict, prefix, self.dim)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels} -> {self.out_channels}, d_in={self.d_in}, d_out={self.d_out}, "
            f"dim={self.dim}, bias={self.bias is not None}, path={self.path!r}"
        )


def _spec(source: RowSource, c_in: int, c_out: int) -> _fastpaths.LayerSpec:
    """What the fast-path recognisers may look at: labels, generator images, declared grids, rows."""
    basis = source.basis
    known = []
    for side in (basis.out, basis.inp):
        shape = getattr(getattr(side, "group", None), "shape", None)
        if shape is not None:
            known.append(tuple(int(s) for s in shape))
    return _fastpaths.LayerSpec(
        source, c_in, c_out, basis.bias_index, basis.in_orbit_index,
        None if basis.out is None else basis.out.images, None if basis.inp is None else basis.inp.images, known,
    )
