"""The expanded invariant bias is kept between gradient-free calls of EquivariantLinear and
must equal the gather every time: after optimizer steps, load_state_dict, dtype/device moves,
in-place edits; gradients still reach the bias in training."""

import copy

import numpy as np
import torch

import eqsolve
from eqsolve import layers

_RHO = eqsolve.groups.symmetric(4).action().tensor(2)
B = eqsolve.solve(out=_RHO, inp=_RHO)  # 2 output orbits: a real gather


def reference(lin, x):
    """The old computation: W by the dense gather, bias by bias_index (float64 here)."""
    bias = lin.bias[:, torch.as_tensor(np.array(B.bias_index))]
    return torch.einsum("ocij,bcj->boi", lin.dense_weight(), x) + bias[None]


def test_cache_follows_every_change():
    torch.manual_seed(0)
    lin = layers.EquivariantLinear(B, 2, 3, dtype=torch.float64).eval()
    x = torch.randn(5, 2, 16, dtype=torch.float64)
    opt = torch.optim.SGD(lin.parameters(), lr=0.5)
    for _ in range(3):
        with torch.no_grad():
            first = lin(x)
            assert "_bias_cache" in lin.__dict__ and torch.equal(lin(x), first)
            assert torch.allclose(first, reference(lin, x), atol=1e-12)
        lin.train()
        loss = lin(x).square().sum()
        loss.backward()
        assert lin.bias.grad is not None and lin.bias.grad.abs().sum() > 0  # gradients flow to beta
        opt.step()
        opt.zero_grad()
        lin.eval()
    other = layers.EquivariantLinear(B, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        lin(x)
        lin.load_state_dict(other.state_dict())
        assert torch.allclose(lin(x), reference(other, x), atol=1e-12)
        lin.bias.add_(1.0)  # in-place edit
        assert torch.allclose(lin(x), reference(lin, x), atol=1e-12)
    with torch.inference_mode():
        y = lin(x)
    assert torch.allclose(y, reference(lin, x).detach(), atol=1e-12)
    lin32 = copy.deepcopy(lin).float()
    with torch.no_grad():
        assert lin32(x.float()).dtype == torch.float32
        assert torch.allclose(lin32(x.float()).double(), reference(lin, x), atol=1e-5)
    lin.bias.data = lin.bias.data + 2.0  # a new storage: the key changes
    with torch.no_grad():
        assert torch.allclose(lin(x), reference(lin, x), atol=1e-12)


def test_frozen_bias_and_state_dict_unchanged():
    lin = layers.EquivariantLinear(B, 2, 3)
    lin.bias.requires_grad_(False)
    x = torch.randn(4, 2, 16, requires_grad=True)
    y = lin(x)
    y.sum().backward()
    assert x.grad is not None
    assert set(lin.state_dict()) == {"weight", "bias", "_extra_state"}
    lin.clear_bias_cache()
    assert "_bias_cache" not in lin.__dict__
