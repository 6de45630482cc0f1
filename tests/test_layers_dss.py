"""DSSLinear (all aggregations), masks for sets of different sizes, equivariant normalisation."""

import numpy as np
import pytest
import torch

import eqsolve
from eqsolve import layers
from eqsolve import groups
from eqsolve.layers.testing import assert_equivariant

from _layer_zoo import masked_grid, square_zoo

AGGREGATIONS = ["sum", "mean", "max", "aittala", "sridhar"]
ZOO = square_zoo()
GROUPS = ["cyclic(7)", "dihedral(6)", "symmetric(5)", "grid(3x4)", "product(cyclic(3),symmetric(3))",
          "intransitive((012)(34)+fixed)", "gap((1234)(56),(13))"]


def reference(dss, x):
    """The DESIGN.md formulas with dense weights, in float64 numpy."""
    def apply(lin, t):
        W = lin.dense_weight().detach().numpy()
        y = np.einsum("ocij,...cj->...oi", W, t)
        b = lin.dense_bias()
        return y if b is None else y + b.detach().numpy()

    a = dss.aggregation
    if a in ("sum", "mean", "max"):
        pooled = {"sum": x.sum(1), "mean": x.mean(1), "max": x.max(1)}[a]
        return apply(dss.single, x) + apply(dss.shared, pooled)[:, None]
    z = apply(dss.single, x)
    if a == "aittala":
        return np.concatenate([z, np.broadcast_to(z.max(1, keepdims=True), z.shape)], axis=2)
    y = z - z.mean(1, keepdims=True)
    return y + dss.bias[:, dss.bias_index].detach().numpy()


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_matches_the_formula(aggregation, rng):
    H, B = ZOO["dihedral(6)"]
    dss = layers.DSSLinear(B, 3, 4, aggregation=aggregation).double()
    x = rng.standard_normal((2, 5, 3, 6))
    with torch.no_grad():
        y = dss(torch.from_numpy(x)).numpy()
    assert y.shape == (2, 5, 4, 6)
    np.testing.assert_allclose(y, reference(dss, x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_equivariance_float64(name, aggregation):
    H, B = ZOO[name]
    dss = layers.DSSLinear(B, 2, 4, aggregation=aggregation).double()
    report = assert_equivariant(dss, H, trials=3, rng=5, set_size=4)
    assert report.error < 1e-10 and report.set_permutation is not None


@pytest.mark.parametrize("name", ["cyclic(7)", "symmetric(5)", "intransitive((012)(34)+fixed)"])
@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_equivariance_float32_with_masks(name, aggregation):
    H, B = ZOO[name]
    dss = layers.DSSLinear(B, 2, 4, aggregation=aggregation)
    assert assert_equivariant(dss, H, trials=3, rng=6, set_size=5, masked=True).error < 1e-4


def test_equivariance_grid_with_support_mask():
    G, B, _ = masked_grid(6)
    dss = layers.DSSLinear(B, 2, 2, aggregation="sum").double()
    assert dss.path == "conv(6x6, kernel 3x3)"
    assert assert_equivariant(dss, G, trials=3, rng=1, set_size=3).error < 1e-10


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_padding_never_changes_real_elements(aggregation, rng):
    """A batch of sets of sizes 4, 1, 3, padded to 4 with NaN, equals each set run alone."""
    H, B = ZOO["intransitive((012)(34)+fixed)"]
    dss = layers.DSSLinear(B, 2, 4, aggregation=aggregation).double()
    sizes = [4, 1, 3]
    x = torch.full((3, 4, 2, 6), float("nan"), dtype=torch.float64)
    mask = torch.zeros(3, 4, dtype=torch.bool)
    sets = [torch.from_numpy(rng.standard_normal((n, 2, 6))) for n in sizes]
    for b, s in enumerate(sets):
        x[b, : len(s)] = s
        mask[b, : len(s)] = True
    y = dss(x, mask)
    assert not torch.isnan(y).any()
    for b, s in enumerate(sets):
        alone = dss(s[None])[0]
        assert (y[b, : len(s)] - alone).abs().max() < 1e-12
        assert (y[b, len(s):] == 0).all()
    # a set with no element at all gives zeros, not NaN
    empty = dss(x[:1], torch.zeros(1, 4, dtype=torch.bool))
    assert (empty == 0).all()


def test_parameter_counts_and_theorem_1():
    """Per channel pair the sum layer has 2 E(H) weights = E(S_n x H) (n >= 2)."""
    for name in ["cyclic(7)", "symmetric(5)", "intransitive((012)(34)+fixed)"]:
        H, B = ZOO[name]
        n_bias = len(np.unique(B.bias_index))
        for aggregation in ("sum", "mean", "max"):
            dss = layers.DSSLinear(B, 3, 4, aggregation=aggregation)
            assert sum(p.numel() for p in dss.parameters()) == 2 * B.dim * 3 * 4 + n_bias * 4
        assert 2 * B.dim == eqsolve.solve(groups.sets_of(H, 3)).dim
        aittala = layers.DSSLinear(B, 3, 4, aggregation="aittala")
        assert sum(p.numel() for p in aittala.parameters()) == B.dim * 3 * 2 + n_bias * 2
        sridhar = layers.DSSLinear(B, 3, 4, aggregation="sridhar")
        assert sum(p.numel() for p in sridhar.parameters()) == B.dim * 3 * 4 + n_bias * 4


def test_sum_layer_spans_the_sets_of_basis(rng):
    """The dense map of DSSLinear(sum) on R^{n x d} is constant on every orbit of S_n x H."""
    H, B = ZOO["dihedral(6)"]
    n, d = 3, 6
    dss = layers.DSSLinear(B, 1, 1, aggregation="sum", bias=False).double()
    eye = torch.eye(n * d, dtype=torch.float64).reshape(n * d, n, 1, d)
    with torch.no_grad():
        M = dss(eye).reshape(n * d, n * d).T.numpy()  # M[out, in] on points i*d + p
    full = eqsolve.solve(groups.sets_of(H, n))
    for k in range(full.dim):
        values = M[full.orbit_index == k]
        assert np.ptp(values) < 1e-12
    # and the 2 E(H) parameters reach 2 E(H) = E(S_n x H) independent maps
    thetas = []
    for k in range(2 * B.dim):
        with torch.no_grad():
            for p in dss.parameters():
                p.zero_()
            target = dss.single.weight if k < B.dim else dss.shared.weight
            target.view(-1)[k % B.dim] = 1.0
            thetas.append(dss(eye).reshape(-1).numpy())
    assert np.linalg.matrix_rank(np.stack(thetas)) == full.dim


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_gradients_reach_every_parameter(aggregation, rng):
    H, B = ZOO["intransitive((012)(34)+fixed)"]
    dss = layers.DSSLinear(B, 2, 4, aggregation=aggregation).double()
    x = torch.from_numpy(rng.standard_normal((2, 3, 2, 6)))
    mask = torch.tensor([[True, True, False], [True, True, True]])
    (dss(x, mask) ** 2).sum().backward()
    for name, p in dss.named_parameters():
        assert p.grad is not None and (p.grad != 0).any(), name


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_bfloat16_and_float64(aggregation, rng):
    H, B = ZOO["cyclic(7)"]
    ref_layer = layers.DSSLinear(B, 2, 4, aggregation=aggregation).double()
    x = torch.from_numpy(rng.standard_normal((2, 3, 2, 7)))
    ref = ref_layer(x)
    low = layers.DSSLinear(B, 2, 4, aggregation=aggregation).to(torch.bfloat16)
    low.load_state_dict(ref_layer.state_dict())
    y = low(x.to(torch.bfloat16))
    assert y.dtype == torch.bfloat16
    assert (y.double() - ref).abs().max() < 0.05 * ref.abs().max()


def test_dss_under_torch_compile():
    H, B = ZOO["cyclic(7)"]
    dss = layers.DSSLinear(B, 2, 4, aggregation="max")
    x = torch.randn(2, 3, 2, 7)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    y = torch.compile(dss, backend="aot_eager")(x, mask)
    assert torch.allclose(y, dss(x, mask), atol=1e-6)


# -- normalisation ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cyclic(7)", "intransitive((012)(34)+fixed)", "gap((1234)(56),(13))"])
def test_norms_are_equivariant(name):
    H, B = ZOO[name]
    for norm in (layers.EquivariantBatchNorm(B, 3), layers.SetNorm(B, 3)):
        norm = norm.double()
        with torch.no_grad():
            norm.weight.normal_()
            norm.bias.normal_()
        assert assert_equivariant(norm, H, trials=3, rng=2, set_size=4).error < 1e-10
        assert assert_equivariant(norm, H, trials=3, rng=2, set_size=4, masked=True).error < 1e-10


def test_batch_norm_statistics_per_orbit(rng):
    H, B = ZOO["intransitive((012)(34)+fixed)"]
    bn = layers.EquivariantBatchNorm(B, 2, momentum=1.0).double()
    x = torch.from_numpy(rng.standard_normal((50, 2, 6)) * np.array([1, 1, 1, 5, 5, 9]) + 3)
    y = bn(x)
    for orbit in H.orbits():
        part = y[..., list(orbit)]
        assert part.mean().abs() < 1e-10
        assert (part.transpose(0, 1).reshape(2, -1).var(dim=1, unbiased=False) - 1).abs().max() < 1e-3
    # running statistics (momentum 1: the last batch), unbiased variance, used in eval
    ref_mean = x[..., [3, 4]].transpose(0, 1).reshape(2, -1).mean(1)
    assert torch.allclose(bn.running_mean[:, 1], ref_mean.to(bn.running_mean.dtype))
    bn.eval()
    assert torch.allclose(bn(x), y, atol=5e-2)  # eval divides by the unbiased variance
    assert set(bn.state_dict()) == {"weight", "bias", "_extra_state", "running_mean", "running_var"}
    assert sum(p.numel() for p in bn.parameters()) == 2 * 2 * 3  # weight + bias per (channel, orbit)


def test_set_norm_masks_and_padding(rng):
    H, B = ZOO["cyclic(7)"]
    norm = layers.SetNorm(B, 2).double()
    x = torch.from_numpy(rng.standard_normal((2, 4, 2, 7)))
    mask = torch.tensor([[True, True, False, False], [True] * 4])
    x[0, 2:] = float("nan")
    y = norm(x, mask)
    assert torch.allclose(y[0, :2], norm(x[:1, :2])[0]) and (y[0, 2:] == 0).all()
    z = y[1]
    assert z.mean().abs() < 1e-10


# -- bad input -------------------------------------------------------------------------------
def test_bad_input_messages():
    H, B = ZOO["cyclic(7)"]
    E = eqsolve.EqsolveError
    with pytest.raises(E, match="unknown aggregation 'median'; expected one of 'sum', 'mean'"):
        layers.DSSLinear(B, 2, 3, aggregation="median")
    with pytest.raises(E, match="in_channels must be an integer >= 1, got 0"):
        layers.DSSLinear(B, 0, 3)
    with pytest.raises(E, match="out_channels must be an integer >= 1, got -2"):
        layers.DSSLinear(B, 2, -2)
    with pytest.raises(E, match="out_channels must be even, got 3"):
        layers.DSSLinear(B, 2, 3, aggregation="aittala")
    with pytest.raises(E, match="eqsolve.Basis"):
        layers.DSSLinear(H, 2, 4)
    dss = layers.DSSLinear(B, 2, 4)
    with pytest.raises(E, match=r"in_channels=2, d=7\), got \[2, 3, 2, 8\]"):
        dss(torch.randn(2, 3, 2, 8))  # basis of the wrong shape for this input
    with pytest.raises(E, match=r"in_channels=2, d=7\), got \[2, 3, 7\]"):
        dss(torch.randn(2, 3, 7))
    with pytest.raises(E, match=r"mask must have shape \(batch, n\) = \[2, 3\].*got \[2, 4\]"):
        dss(torch.randn(2, 3, 2, 7), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(E, match="mask must be a bool tensor, got torch.float32"):
        dss(torch.randn(2, 3, 2, 7), torch.ones(2, 3))
    with pytest.raises(E, match="channels must be an integer >= 1, got 0"):
        layers.SetNorm(B, 0)
    with pytest.raises(E, match=r"SetNorm expects input of shape \(batch, n, channels, d\), channels=2, d=7; got \[2, 7\]"):
        layers.SetNorm(B, 2)(torch.randn(2, 7))
    with pytest.raises(E, match=r"EquivariantBatchNorm: mask must have shape \[3\].*got \[4\]"):
        layers.EquivariantBatchNorm(B, 2)(torch.randn(3, 2, 7), torch.ones(4, dtype=torch.bool))


# -- CUDA ------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_cuda_dss_matches_cpu(aggregation, rng):
    H, B = ZOO["grid(3x4)"]
    cpu = layers.DSSLinear(B, 2, 4, aggregation=aggregation).double()
    gpu = layers.DSSLinear(B, 2, 4, aggregation=aggregation).double().cuda()
    gpu.load_state_dict(cpu.state_dict())
    x = torch.from_numpy(rng.standard_normal((2, 3, 2, 12)))
    mask = torch.tensor([[True, True, False], [True, True, True]])
    assert (gpu(x.cuda(), mask.cuda()).cpu() - cpu(x, mask)).abs().max() < 1e-10
    assert assert_equivariant(gpu, H, trials=2, rng=0, set_size=3, masked=True).error < 1e-10
    norm = layers.SetNorm(B, 4).cuda()
    assert norm(gpu.float()(x.float().cuda(), mask.cuda()), mask.cuda()).is_cuda


def test_layers_script_and_export(rng):
    """Every layer compiles with torch.jit.script and torch.export (the export module builds on this)."""
    H, B = ZOO["direct(symmetric(3),cyclic(4))"]
    x = torch.randn(2, 3, 2, 7)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    modules = [layers.DSSLinear(B, 2, 4, aggregation=a) for a in AGGREGATIONS]
    modules += [layers.SetNorm(B, 2), layers.EquivariantBatchNorm(B, 2).eval()]
    for module in modules:
        scripted = torch.jit.script(module)
        assert torch.allclose(scripted(x, mask), module(x, mask), atol=1e-6)
    for path in layers.EquivariantLinear(B, 1, 1).available_paths + ["conv", "fft"]:
        basis = B if path not in ("conv", "fft") else ZOO["cyclic(7)"][1]
        lin = layers.EquivariantLinear(basis, 2, 3, path=path)
        xl = torch.randn(4, 2, basis.shape[1])
        assert torch.allclose(torch.jit.script(lin)(xl), lin(xl), atol=1e-6)
    pool = layers.InvariantPool(B, "max")
    assert torch.allclose(torch.jit.script(pool)(x), pool(x))
    program = torch.export.export(modules[0], (x, mask))
    assert torch.allclose(program.module()(x, mask), modules[0](x, mask), atol=1e-6)
