"""Inputs of another dtype or device than a layer's parameters: an EqsolveError naming both
(torch's own message was 'mat1 and mat2 must have the same dtype'); autocast stays allowed."""

import pytest
import torch

import eqsolve
from eqsolve import EqsolveError, layers

B = eqsolve.solve(eqsolve.groups.cyclic(8))


@pytest.mark.parametrize("path", ["auto", "generic"])
def test_float64_input_to_a_float32_layer(path):
    lin = layers.EquivariantLinear(B, 3, 4, path=path)
    with pytest.raises(EqsolveError, match=r"input dtype float64 does not match the parameters' dtype float32"):
        lin(torch.randn(2, 3, 8, dtype=torch.float64))
    with pytest.raises(EqsolveError, match=r"input dtype int64 .*\(x.to\(torch.float32\)\)$"):
        lin(torch.ones(2, 3, 8, dtype=torch.long))
    lin64 = layers.EquivariantLinear(B, 3, 4, path=path, dtype=torch.float64)
    with pytest.raises(EqsolveError, match="input dtype float32 does not match the parameters' dtype float64"):
        lin64(torch.randn(2, 3, 8))
    lin64.load_state_dict(lin.state_dict())  # the same numbers once the dtypes agree
    x = torch.randn(2, 3, 8, dtype=torch.float64)
    assert torch.allclose(lin.double()(x), lin64(x), atol=1e-12)


def test_dss_and_models_name_themselves():
    dss = layers.DSSLinear(B, 3, 4)
    with pytest.raises(EqsolveError, match="EquivariantLinear: input dtype float64"):
        dss(torch.randn(2, 5, 3, 8, dtype=torch.float64))
    for net in (layers.models.invariant(B, channels=[1, 4], n_classes=3),
                layers.baselines.mlp("invariant", 5, 1, 8, width=4)):
        with pytest.raises(EqsolveError, match="model: input dtype float64 does not match"):
            net(torch.randn(2, 5, 1, 8, dtype=torch.float64))


def test_autocast_still_runs():
    net = layers.models.invariant(B, channels=[1, 4], n_classes=3)
    x = torch.randn(2, 5, 1, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x)
    assert torch.allclose(out.float(), net(x), atol=0.1)
