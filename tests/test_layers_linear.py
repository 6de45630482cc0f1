"""EquivariantLinear, its fast paths, InvariantPool and the equivariance harness."""

import time

import numpy as np
import pytest
import torch

import eqsolve
from eqsolve import layers
from eqsolve import groups
from eqsolve.layers.testing import assert_equivariant

from _layer_zoo import masked_grid, pair_zoo, square_zoo

SQUARE = square_zoo()
PAIRS = pair_zoo()
ALL = {**{k: b for k, (_, b) in SQUARE.items()}, **PAIRS}


def dense_reference(basis, theta, x):
    """y[n, o, i] = sum_{c, j} (sum_k theta[o, c, k] B_k)[i, j] x[n, c, j], B_k from B.matrices()."""
    mats = np.stack([m.toarray() for m in basis.matrices()]) if basis.dim else np.zeros((0,) + basis.shape)
    W = np.einsum("ock,kij->ocij", theta, mats)
    return np.einsum("ocij,ncj->noi", W, x)


@pytest.mark.parametrize("name", list(ALL))
def test_generic_path_equals_dense_reference(name, rng):
    B = ALL[name]
    lin = layers.EquivariantLinear(B, 3, 2, bias=False, path="generic").double()
    x = rng.standard_normal((4, 3, B.shape[1]))
    with torch.no_grad():
        y = lin(torch.from_numpy(x)).numpy()
    ref = dense_reference(B, lin.weight.detach().numpy(), x)
    assert np.abs(y - ref).max() < 1e-12 * max(1.0, np.abs(ref).max())
    assert lin.path == "generic"


@pytest.mark.parametrize("name", list(ALL))
def test_every_fast_path_equals_generic(name, rng):
    B = ALL[name]
    generic = layers.EquivariantLinear(B, 3, 4, path="generic").double()
    x = torch.from_numpy(rng.standard_normal((5, 3, B.shape[1])))
    with torch.no_grad():
        generic.bias.normal_()
        ref = generic(x)
    assert "generic" in generic.available_paths
    for path in generic.available_paths:
        fast = layers.EquivariantLinear(B, 3, 4, path=path).double()
        fast.load_state_dict(generic.state_dict())
        with torch.no_grad():
            err = (fast(x) - ref).abs().max().item()
        assert err < 1e-12 * max(1.0, ref.abs().max().item()), (path, err)


def test_auto_picks_the_structured_paths():
    auto = lambda H: layers.EquivariantLinear(eqsolve.solve(H), 16, 16).path
    assert auto(groups.cyclic(100)).startswith("fft(100)")
    assert auto(groups.grid_translations((8, 8))).startswith("fft(8x8)")
    assert auto(groups.product_action(groups.cyclic(4), groups.cyclic(5))).startswith("fft(4x5)")
    assert auto(groups.dihedral(50)).startswith("fft(50)")  # symmetric kernel: still circulant
    assert auto(groups.symmetric(50)) == "deepsets"
    _, B, _ = masked_grid(8)
    assert layers.EquivariantLinear(B, 2, 2).path == "conv(8x8, kernel 3x3)"
    D = groups.direct_product(groups.symmetric(20), groups.symmetric(30))
    assert auto(D) == "blocks[2x2: deepsets, const, const, deepsets]"
    T = groups.dihedral(30)
    inv = layers.EquivariantLinear(eqsolve.solve(out=T.trivial(), inp=T.action()), 2, 2)
    assert inv.path == "const"
    # repr reports the path
    assert "path='deepsets'" in repr(layers.EquivariantLinear(eqsolve.solve(groups.symmetric(6)), 1, 1))


def test_conv_and_fft_paths_agree_on_a_wide_grid(rng):
    B = eqsolve.solve(groups.grid_translations((5, 6)))
    x = torch.from_numpy(rng.standard_normal((3, 2, 30)))
    conv = layers.EquivariantLinear(B, 2, 3, path="conv").double()
    fft = layers.EquivariantLinear(B, 2, 3, path="fft").double()
    fft.load_state_dict(conv.state_dict())
    assert conv.path == "conv(5x6, kernel 5x6)" and fft.path == "fft(5x6)"
    with torch.no_grad():
        assert (conv(x) - fft(x)).abs().max() < 1e-12


def test_four_axis_grid_runs_fft_in_every_dtype(rng):
    H = groups.grid_translations((2, 2, 2, 3))
    B = eqsolve.solve(H)
    generic = layers.EquivariantLinear(B, 2, 3, path="generic").double()
    fft = layers.EquivariantLinear(B, 2, 3).double()
    fft.load_state_dict(generic.state_dict())
    assert fft.path == "fft(2x2x2x3)" and "conv" not in fft.available_paths  # conv covers 1-3 axes
    x = torch.from_numpy(rng.standard_normal((3, 2, 24)))
    assert (fft(x) - generic(x)).abs().max() < 1e-12
    low = fft.to(torch.bfloat16)
    assert (low(x.to(torch.bfloat16)).double() - generic(x)).abs().max() < 0.05 * generic(x).abs().max()
    assert assert_equivariant(fft.double(), H, trials=3, rng=0).error < 1e-10


@pytest.mark.parametrize("name", list(SQUARE))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_equivariance_square(name, dtype):
    H, B = SQUARE[name]
    for path in layers.EquivariantLinear(B, 1, 1).available_paths:
        lin = layers.EquivariantLinear(B, 3, 2, path=path).to(dtype)
        report = assert_equivariant(lin, H, trials=3, rng=7)
        assert report.error < layers.testing.TOLERANCE[dtype]
        assert report.element is not None and report.trials == 3


@pytest.mark.parametrize("name", list(PAIRS))
def test_equivariance_between_actions(name):
    B = PAIRS[name]
    lin = layers.EquivariantLinear(B, 2, 3).double()
    assert assert_equivariant(lin, B, trials=4, rng=1).error < 1e-10


def test_equivariance_with_support_mask_float32():
    G, B, _ = masked_grid(6)
    lin = layers.EquivariantLinear(B, 4, 4)
    assert assert_equivariant(lin, G, trials=5, rng=3).error < 1e-4


def test_harness_rejects_a_non_equivariant_layer():
    H, B = SQUARE["dihedral(6)"]
    wrong = layers.EquivariantLinear(eqsolve.solve(groups.cyclic(6)), 2, 2).double()  # only C_6
    with pytest.raises(AssertionError, match=r"not equivariant.*group element \["):
        assert_equivariant(wrong, H, trials=10, rng=0)
    with pytest.raises(eqsolve.EqsolveError, match="group_or_actions"):
        assert_equivariant(wrong, "dihedral")


@pytest.mark.parametrize("name", list(ALL))
def test_parameter_count(name):
    B = ALL[name]
    lin = layers.EquivariantLinear(B, 3, 5)
    n_out_orbits = len(np.unique(B.bias_index))
    assert lin.weight.shape == (5, 3, B.dim)
    assert lin.bias.shape == (5, n_out_orbits)
    assert sum(p.numel() for p in lin.parameters()) == B.dim * 3 * 5 + n_out_orbits * 5
    no_bias = layers.EquivariantLinear(B, 3, 5, bias=False)
    assert sum(p.numel() for p in no_bias.parameters()) == B.dim * 3 * 5


@pytest.mark.parametrize("name", list(SQUARE))
def test_parameter_count_is_lemma_1(name):
    """Weights per channel pair = E(H) = (1/|G|) sum tr(P(g))^2, counted by Burnside."""
    H, B = SQUARE[name]
    lin = layers.EquivariantLinear(B, 2, 3, bias=False)
    assert lin.weight.numel() == int(eqsolve.count(H, method="burnside")) * 2 * 3


@pytest.mark.parametrize("name", list(ALL))
def test_gradients_reach_every_parameter(name, rng):
    B = ALL[name]
    for path in layers.EquivariantLinear(B, 1, 1).available_paths:
        lin = layers.EquivariantLinear(B, 2, 3, path=path).double()
        x = torch.from_numpy(rng.standard_normal((4, 2, B.shape[1])))
        (lin(x) ** 2).sum().backward()
        for pname, p in lin.named_parameters():
            assert p.grad is not None and (p.grad != 0).all(), (path, pname)


def test_dense_weight_matches_basis_weight(rng):
    H, B = SQUARE["intransitive((012)(34)+fixed)"]
    lin = layers.EquivariantLinear(B, 2, 3).double()
    W = lin.dense_weight().detach().numpy()
    theta = lin.weight.detach().numpy()
    for o in range(3):
        for c in range(2):
            np.testing.assert_array_equal(W[o, c], B.weight(theta[o, c]))


def test_support_mask_restricts_orbits(rng):
    G = groups.grid_translations((6, 6))
    full = eqsolve.solve(G)
    _, masked, near = masked_grid(6)
    lin = layers.EquivariantLinear(full, 2, 3, support=near)
    ref = layers.EquivariantLinear(masked, 2, 3)
    assert lin.dim == masked.dim == 9
    np.testing.assert_array_equal(lin.orbit_index.numpy(), masked.orbit_index)
    assert lin.path == ref.path == "conv(6x6, kernel 3x3)"
    W = lin.dense_weight()
    assert (W[:, :, ~torch.from_numpy(near)] == 0).all()
    with pytest.raises(eqsolve.MaskNotInvariantError, match="not a union of orbits"):
        bad = near.copy()
        bad[0, 1] = False
        layers.EquivariantLinear(full, 2, 3, support=bad)
    with pytest.raises(eqsolve.EqsolveError, match=r"\(36, 36\).*\(6, 6\)"):
        layers.EquivariantLinear(full, 2, 3, support=np.ones((6, 6), bool))


def test_state_dict_holds_parameters_and_a_fingerprint_only():
    B = eqsolve.solve(groups.direct_product(groups.symmetric(20), groups.symmetric(30)))
    lin = layers.EquivariantLinear(B, 2, 3, path="blocks")
    assert lin.path.startswith("blocks")
    state = lin.state_dict()
    assert set(state) == {"weight", "bias", "_extra_state"}
    assert set(state["_extra_state"]) == {"eqsolve", "basis", "fingerprint"}
    again = layers.EquivariantLinear(B, 2, 3, path="blocks")
    again.load_state_dict(state)
    x = torch.randn(2, 2, 50)
    assert torch.equal(again(x), lin(x))


def test_leading_dimensions_and_single_sample():
    B = eqsolve.solve(groups.cyclic(5))
    lin = layers.EquivariantLinear(B, 2, 3)
    x = torch.randn(4, 6, 2, 5)
    assert lin(x).shape == (4, 6, 3, 5)
    assert torch.allclose(lin(x)[1, 2], lin(x[1, 2]), atol=1e-6)


@pytest.mark.parametrize("name", ["cyclic(7)", "symmetric(5)", "grid(3x4)", "direct(symmetric(3),cyclic(4))"])
def test_bfloat16_and_float64(name, rng):
    H, B = SQUARE[name]
    lin64 = layers.EquivariantLinear(B, 4, 4).double()
    x = torch.from_numpy(rng.standard_normal((3, 4, B.shape[1])))
    ref = lin64(x)
    assert ref.dtype == torch.float64
    lin16 = layers.EquivariantLinear(B, 4, 4).to(torch.bfloat16)
    lin16.load_state_dict(lin64.state_dict())
    y = lin16(x.to(torch.bfloat16))
    assert y.dtype == torch.bfloat16
    assert (y.double() - ref).abs().max() < 0.05 * ref.abs().max()
    assert assert_equivariant(lin16, H, trials=2, rng=2).error < layers.testing.TOLERANCE[torch.bfloat16]


def test_torch_compile_runs_a_layer():
    B = eqsolve.solve(groups.cyclic(6))
    lin = layers.EquivariantLinear(B, 2, 3, path="conv")
    x = torch.randn(4, 2, 6)
    start = time.perf_counter()
    compiled = torch.compile(lin, backend="aot_eager")
    y = compiled(x)
    y.sum().backward()
    assert torch.allclose(y, lin(x), atol=1e-6)
    assert lin.weight.grad is not None
    assert time.perf_counter() - start < 60


@pytest.mark.slow
@pytest.mark.parametrize("path", ["generic", "fft", "conv"])
def test_torch_compile_inductor(path):
    B = eqsolve.solve(groups.cyclic(8))
    lin = layers.EquivariantLinear(B, 2, 3, path=path)
    x = torch.randn(4, 2, 8)
    y = torch.compile(lin)(x)
    assert torch.allclose(y, lin(x), atol=1e-5)


# -- InvariantPool ---------------------------------------------------------------------------
@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_invariant_pool_values_and_invariance(reduce, rng):
    H, B = SQUARE["intransitive((012)(34)+fixed)"]
    pool = layers.InvariantPool(B, reduce=reduce)
    assert pool.n_orbits == 3
    x = rng.standard_normal((4, 2, 6))
    y = pool(torch.from_numpy(x)).numpy()
    f = {"sum": np.sum, "mean": np.mean, "max": np.max}[reduce]
    ref = np.stack([f(x[..., list(orbit)], axis=-1) for orbit in H.orbits()], axis=-1)
    np.testing.assert_allclose(y, ref, rtol=1e-12)
    assert assert_equivariant(pool.double(), (H.action(), None), in_channels=2, rng=3).error < 1e-12
    # the same pooling from an action, a group or labels
    for source in (H.action(), H, np.array([5, 5, 5, 1, 1, 0])):
        np.testing.assert_allclose(layers.InvariantPool(source, reduce=reduce)(torch.from_numpy(x)).numpy(), ref)


def test_invariant_pool_transitive_and_gradients():
    B = eqsolve.solve(groups.dihedral(7))
    for reduce in ("sum", "mean", "max"):
        x = torch.randn(3, 2, 7, requires_grad=True)
        y = layers.InvariantPool(B, reduce)(x)
        assert y.shape == (3, 2, 1)
        y.sum().backward()
        assert x.grad is not None


# -- bad input -------------------------------------------------------------------------------
def test_bad_input_messages():
    B = eqsolve.solve(groups.cyclic(5))
    E = eqsolve.EqsolveError
    with pytest.raises(E, match="eqsolve.Basis"):
        layers.EquivariantLinear(groups.cyclic(5), 2, 3)
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(E, match="in_channels must be an integer >= 1"):
            layers.EquivariantLinear(B, bad, 3)
        with pytest.raises(E, match="out_channels must be an integer >= 1"):
            layers.EquivariantLinear(B, 3, bad)
    with pytest.raises(E, match="unknown path 'fast'"):
        layers.EquivariantLinear(B, 2, 3, path="fast")
    with pytest.raises(E, match="path 'deepsets' does not apply.*available: generic, conv"):
        layers.EquivariantLinear(B, 2, 3, path="deepsets")
    lin = layers.EquivariantLinear(B, 2, 3)
    with pytest.raises(E, match=r"in_channels=2, d_in=5\), got \[4, 2, 6\]"):
        lin(torch.randn(4, 2, 6))  # wrong number of points: a basis of the wrong shape
    with pytest.raises(E, match=r"in_channels=2, d_in=5\), got \[4, 3, 5\]"):
        lin(torch.randn(4, 3, 5))
    with pytest.raises(E, match=r"got \[5\]"):
        lin(torch.randn(5))
    with pytest.raises(E, match="unknown aggregation 'median'"):
        layers.InvariantPool(B, reduce="median")
    with pytest.raises(E, match=r"\(\.\.\., d=5\), got \[2, 4\]"):
        layers.InvariantPool(B)(torch.randn(2, 4))
    with pytest.raises(E, match="1-D integer orbit labels"):
        layers.InvariantPool(np.zeros((2, 2), int))


# -- CUDA ------------------------------------------------------------------------------------
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("name", ["cyclic(7)", "symmetric(5)", "grid(3x4)", "direct(symmetric(3),cyclic(4))",
                                  "gap((1234)(56),(13))"])
def test_cuda_matches_cpu(name, rng):
    H, B = SQUARE[name]
    for path in layers.EquivariantLinear(B, 1, 1).available_paths:
        cpu = layers.EquivariantLinear(B, 3, 4, path=path).double()
        gpu = layers.EquivariantLinear(B, 3, 4, path=path).double().cuda()
        gpu.load_state_dict(cpu.state_dict())
        x = torch.from_numpy(rng.standard_normal((5, 3, B.shape[1])))
        assert (gpu(x.cuda()).cpu() - cpu(x)).abs().max() < 1e-10
        assert assert_equivariant(gpu, H, trials=2, rng=1).error < 1e-10
        y = gpu.float()(x.float().cuda())
        y.sum().backward()
        assert gpu.weight.grad is not None


@pytest.mark.gpu
@cuda
def test_cuda_bfloat16_and_compile():
    B = eqsolve.solve(groups.cyclic(16))
    lin = layers.EquivariantLinear(B, 4, 4).cuda().to(torch.bfloat16)
    x = torch.randn(8, 4, 16, device="cuda", dtype=torch.bfloat16)
    assert lin(x).dtype == torch.bfloat16
    lin32 = layers.EquivariantLinear(B, 4, 4).cuda()
    x32 = torch.randn(8, 4, 16, device="cuda")
    assert torch.allclose(torch.compile(lin32)(x32), lin32(x32), atol=1e-4)
