"""Lean layers: fast paths recognised without the dense table, strided / transposed maps,
state = parameters + basis fingerprint, factory arguments, one registry of paths.

Every fast path is compared with the generic gather (float64, relative 1e-12) on the same
parameters; equivariance uses random group elements and fresh inputs (layers.testing).
"""

import warnings

import numpy as np
import pytest
import torch

import eqsolve
from eqsolve import EqsolveError, groups, layers
from eqsolve.layers import _fastpaths
from eqsolve.layers.testing import assert_equivariant


def near_mask(out_grid, in_grid, stride, radius=1):
    """(d_out, d_in) mask: input point j within ``radius`` (per axis, circularly) of stride * i
    (down) or output point i within radius of stride * j (up, when out_grid is the fine one)."""
    out_c = np.indices(out_grid).reshape(len(out_grid), -1)
    in_c = np.indices(in_grid).reshape(len(in_grid), -1)
    up = int(np.prod(out_grid)) > int(np.prod(in_grid))
    s = np.array(stride)[:, None, None]
    if up:
        delta = (out_c[:, :, None] - s * in_c[:, None, :]) % np.array(out_grid)[:, None, None]
        side = np.array(out_grid)[:, None, None]
    else:
        delta = (in_c[:, None, :] - s * out_c[:, :, None]) % np.array(in_grid)[:, None, None]
        side = np.array(in_grid)[:, None, None]
    return ((delta <= radius) | (delta >= side - radius)).all(axis=0)


def strided_cases():
    """name -> basis: strided (down) and transposed (up) maps in 1-3 axes, full and masked."""
    cases = {}
    for shape, factor in [((6,), 2), ((4, 4), 2), ((3, 4), (1, 2)), ((2, 3, 2), (2, 1, 2))]:
        G = groups.grid_translations(shape)
        fine = groups.finer_grid(G, factor)
        stride = (factor,) * len(shape) if isinstance(factor, int) else factor
        fine_shape = tuple(a * b for a, b in zip(shape, stride))
        tag = "x".join(map(str, shape)) + "/" + "x".join(map(str, stride))
        cases[f"down {tag}"] = eqsolve.solve(out=G.action(), inp=fine)
        cases[f"up {tag}"] = eqsolve.solve(out=fine, inp=G.action())
        cases[f"down3 {tag}"] = eqsolve.solve(out=G.action(), inp=fine, support=near_mask(shape, fine_shape, stride))
        cases[f"up3 {tag}"] = eqsolve.solve(out=fine, inp=G.action(), support=near_mask(fine_shape, shape, stride))
    return cases


CASES = strided_cases()


def same_as_generic(basis, rng, c_in=2, c_out=3):
    generic = layers.EquivariantLinear(basis, c_in, c_out, path="generic").double()
    with torch.no_grad():
        generic.bias.normal_()
    x = torch.from_numpy(rng.standard_normal((4, c_in, basis.shape[1])))
    ref = generic(x)
    for path in generic.available_paths:
        fast = layers.EquivariantLinear(basis, c_in, c_out, path=path).double()
        fast.load_state_dict(generic.state_dict())
        err = (fast(x) - ref).abs().max().item()
        assert err <= 1e-12 * max(1.0, ref.abs().max().item()), (path, fast.path, err)
    return generic.available_paths


@pytest.mark.parametrize("name", list(CASES))
def test_strided_and_transposed_paths_equal_generic(name, rng):
    B = CASES[name]
    paths = same_as_generic(B, rng)
    assert {"conv", "fft"} <= set(paths), paths
    auto = layers.EquivariantLinear(B, 2, 3)
    kind = "transposed stride" if name.startswith("up") else "stride"
    assert auto.path.startswith(("conv(", "fft(")) and kind in auto.path, auto.path
    report = assert_equivariant(auto.double(), B, trials=2, rng=3)
    assert report.error < layers.testing.TOLERANCE[torch.float64]


def test_masked_stride_two_runs_a_three_by_three_kernel(rng):
    G = groups.grid_translations((8, 8))
    fine = groups.finer_grid(G, 2)
    down = eqsolve.solve(out=G.action(), inp=fine, support=near_mask((8, 8), (16, 16), (2, 2)))
    up = eqsolve.solve(out=fine, inp=G.action(), support=near_mask((16, 16), (8, 8), (2, 2)))
    assert down.dim == 9 and up.dim == 9  # 3 x 3 taps; up: 4 residues with 9 taps in all
    lin = layers.EquivariantLinear(down, 4, 4)
    assert lin.path == "conv(16x16 -> 8x8, stride 2, kernel 3x3)"
    t = layers.EquivariantLinear(up, 4, 4)
    assert t.path == "conv(8x8 -> 16x16, transposed stride 2, kernel 2x2)"  # each output sees 1-2 inputs per axis
    # against torch's own strided conv: circular padding 1, stride 2, the kernel read off theta
    x = torch.from_numpy(rng.standard_normal((2, 4, 256)))
    lin = lin.double()
    kernel = lin.dense_weight()[:, :, 0].reshape(4, 4, 16, 16)  # row of output point 0
    taps = torch.roll(kernel, shifts=(1, 1), dims=(2, 3))[:, :, :3, :3]
    grid = torch.nn.functional.pad(x.reshape(2, 4, 16, 16), (1, 1, 1, 1), mode="circular")
    ref = torch.nn.functional.conv2d(grid, taps, lin.bias[:, 0], stride=2).reshape(2, 4, 64)
    assert (lin(x) - ref).abs().max() < 1e-12


def test_one_line_actions_and_their_errors():
    G = groups.grid_translations((32, 32))
    fine = groups.finer_grid(G, 2)
    assert fine.degree == 4096 and fine.name == "64x64 grid (stride 2)"
    g = G.random_element(0)
    image = fine.image_of(g)
    assert sorted(image.tolist()) == list(range(4096))
    assert groups.finer_grid(groups.cyclic(13), 2).degree == 26
    assert groups.finer_grid(G, (1, 3)).degree == 32 * 96
    with pytest.raises(EqsolveError, match="not a translation"):
        groups.finer_grid(groups.dihedral(5), 2)
    with pytest.raises(EqsolveError, match="2 axes"):
        groups.finer_grid(G, (2, 2, 2))
    with pytest.raises(EqsolveError, match="factor"):
        groups.finer_grid(G, 0)


def test_odd_length_stride_two_by_hand_collapses_to_one_orbit():
    # 25 points -> 13 "stride 2" is no action of Z_13: the images are refused; unchecked
    # (check=False) they make solve use the group they generate on pairs, Z_325, with a single orbit
    C = groups.cyclic(13)
    with pytest.raises(eqsolve.NotAnActionError, match="order 13 in the group but its image has order 25"):
        eqsolve.Action(C, np.array([(np.arange(25) + 2) % 25]))
    by_hand = eqsolve.Action(C, np.array([(np.arange(25) + 2) % 25]), check=False)
    assert eqsolve.solve(out=C.action(), inp=by_hand).dim == 1


# -- built from rows, never from the table -----------------------------------------------------
class RowsOnly(eqsolve.Basis):
    """A basis whose dense table may not be touched (what a compact basis guarantees)."""

    def __init__(self, basis):
        self._table = np.asarray(basis.orbit_index)
        self.dim = basis.dim
        self.bias_index = basis.bias_index
        self.in_orbit_index = basis.in_orbit_index
        self.out, self.inp, self.seconds = basis.out, basis.inp, 0.0

    @property
    def orbit_index(self):
        raise AssertionError("the layer read the dense orbit_index")

    @orbit_index.setter
    def orbit_index(self, value):
        raise AssertionError("not settable")

    @property
    def shape(self):
        return self._table.shape

    def rows(self, idx):
        return np.array(self._table[np.asarray(idx, dtype=np.int64)])


FAST = {
    "grid(16x16)": eqsolve.solve(groups.grid_translations((16, 16))),
    "symmetric(40)": eqsolve.solve(groups.symmetric(40)),
    "dihedral(60)": eqsolve.solve(groups.dihedral(60)),
    "direct(S20,C30)": eqsolve.solve(groups.direct_product(groups.symmetric(20), groups.cyclic(30))),
    "invariant(D9)": eqsolve.solve(out=groups.dihedral(9).trivial(), inp=groups.dihedral(9).action()),
    "down 8x8/2": CASES["down3 4x4/2x2"],
}


@pytest.mark.parametrize("name", list(FAST))
def test_layers_built_from_rows_only_match_the_dense_basis(name, rng):
    dense = FAST[name]
    lean = RowsOnly(dense)
    x = torch.from_numpy(rng.standard_normal((3, 2, dense.shape[1])))
    paths = [p for p in layers.EquivariantLinear(dense, 2, 3).available_paths if p != "generic"]
    assert paths
    for path in paths:
        a = layers.EquivariantLinear(dense, 2, 3, path=path).double()
        b = layers.EquivariantLinear(lean, 2, 3, path=path).double()
        assert a.path == b.path
        b.load_state_dict(a.state_dict())  # same fingerprint from either form
        assert torch.equal(a(x), b(x))
        assert not any(buf.numel() >= dense.shape[0] * dense.shape[1] > 64 for buf in b.buffers())


def test_the_generic_index_is_lazy_int32_and_never_saved():
    B = eqsolve.solve(groups.PermutationGroup.parse("(0 1 2)(3 4 5 6)", degree=9))
    lin = layers.EquivariantLinear(B, 2, 2, path="generic")
    assert lin.kernel.index.numel() == 0  # nothing built yet
    lin(torch.randn(1, 2, 9))
    assert lin.kernel.index.dtype == torch.int32 and lin.kernel.index.numel() == 81
    assert set(lin.state_dict()) == {"weight", "bias", "_extra_state"}


# -- state: parameters + fingerprint -----------------------------------------------------------
def test_loading_the_state_of_another_group_raises_naming_both():
    z4 = eqsolve.solve(groups.cyclic(4))
    klein = eqsolve.solve(groups.product_action(groups.cyclic(2), groups.cyclic(2)))
    a, b = layers.EquivariantLinear(z4, 2, 2), layers.EquivariantLinear(klein, 2, 2)
    assert a.weight.shape == b.weight.shape and a.bias.shape == b.bias.shape
    before = b.weight.detach().clone()
    with pytest.raises(EqsolveError, match=r"cyclic\(4\).*product_action\(cyclic\(2\), cyclic\(2\)\)"):
        b.load_state_dict(a.state_dict())
    assert torch.equal(b.weight, before)  # nothing was copied
    # an action of the same group: same shapes, other sharing
    C = groups.cyclic(6)
    twice = eqsolve.Action(C, np.array([(np.arange(6) + 1) % 6]), recipe=None, name="relabelled")
    other = eqsolve.solve(out=C.action(), inp=twice.subsets(1))
    same = eqsolve.solve(C)
    if not np.array_equal(other.rows(np.arange(6)), same.rows(np.arange(6))):
        with pytest.raises(EqsolveError, match="bases differ"):
            layers.EquivariantLinear(same, 1, 1).load_state_dict(layers.EquivariantLinear(other, 1, 1).state_dict())
    # DSS layers, pools and norms carry their fingerprints too
    with pytest.raises(EqsolveError, match="bases differ"):
        layers.DSSLinear(klein, 1, 2).load_state_dict(layers.DSSLinear(z4, 1, 2).state_dict())
    H1 = eqsolve.PermutationGroup.parse("(0 1)(2 3)", degree=4)
    H2 = eqsolve.PermutationGroup.parse("(0 2)(1 3)", degree=4)
    with pytest.raises(EqsolveError, match="bases differ"):
        layers.SetNorm(H2, 2).load_state_dict(layers.SetNorm(H1, 2).state_dict())


def test_earlier_state_dicts_with_index_buffers_still_load():
    B = eqsolve.solve(groups.dihedral(5))
    lin = layers.EquivariantLinear(B, 2, 3)
    old = {"weight": lin.weight.detach() * 2, "bias": lin.bias.detach(),
           "orbit_index": torch.tensor(np.asarray(B.orbit_index), dtype=torch.long),
           "bias_index": torch.as_tensor(B.bias_index)}
    lin.load_state_dict(old)
    assert torch.equal(lin.weight, old["weight"])
    wrong = dict(old, orbit_index=torch.as_tensor(np.asarray(eqsolve.solve(groups.cyclic(5)).orbit_index)))
    with pytest.raises(EqsolveError, match="bases differ"):
        layers.EquivariantLinear(B, 2, 3).load_state_dict(wrong)
    pool = layers.InvariantPool(B)
    pool.load_state_dict({"labels": torch.zeros(5, dtype=torch.long)})


def test_fast_path_state_and_export_are_parameter_sized(tmp_path):
    side = 32
    d = side * side
    B = eqsolve.solve(groups.grid_translations((side, side)))
    for path in ("conv", "fft"):
        lin = layers.EquivariantLinear(B, 8, 16, path=path)
        params = sum(p.numel() * p.element_size() for p in lin.parameters())
        layers.save_state_dict(lin, tmp_path / "w.pt")
        budget = 1.5 * params + 16 * d
        assert (tmp_path / "w.pt").stat().st_size <= budget
        if path == "fft":  # the larger index (one id per point); the archive adds ~60 kB of code
            result = layers.export(lin, torch.randn(2, 8, d), tmp_path / f"{path}.pt2")
            assert result.bytes <= budget, (path, result.bytes, budget)


# -- factory arguments, names, registry, tolerances ---------------------------------------------
def test_device_and_dtype_factory_arguments():
    B = eqsolve.solve(groups.cyclic(6))
    kw = {"device": "cpu", "dtype": torch.float64}
    modules = [layers.EquivariantLinear(B, 2, 3, **kw), layers.DSSLinear(B, 2, 4, **kw),
               layers.DSSLinear(B, 2, 4, aggregation="sridhar", **kw),
               layers.EquivariantBatchNorm(B, 2, **kw), layers.SetNorm(B, 2, **kw), layers.InvariantPool(B, **kw)]
    for m in modules:
        for t in list(m.parameters()) + [b for b in m.buffers() if b.is_floating_point() and b.numel()]:
            assert t.device.type == "cpu"
        for p in m.parameters():
            assert p.dtype == torch.float64
    assert layers.EquivariantBatchNorm(B, 2, **kw).running_mean.dtype == torch.float64
    y = modules[1](torch.randn(2, 3, 2, 6, dtype=torch.float64))
    assert y.dtype == torch.float64
    with pytest.raises(EqsolveError, match="floating torch dtype"):
        layers.EquivariantLinear(B, 2, 3, dtype=torch.int64)
    with pytest.raises(EqsolveError, match="device"):
        layers.DSSLinear(B, 2, 3, device="nowhere")


def test_pool_aggregation_is_the_one_name_and_reduce_is_deprecated():
    H = eqsolve.PermutationGroup.parse("(0 1 2); (3 4)", degree=5)
    x = torch.tensor([[1.0, 2.0, 3.0, 10.0, 20.0]])
    assert layers.InvariantPool(H, aggregation="max")(x).tolist() == [[3.0, 20.0]]
    with pytest.warns(DeprecationWarning, match="aggregation="):
        old = layers.InvariantPool(H, reduce="mean")
    assert old.aggregation == "mean" and old(x).tolist() == [[2.0, 15.0]]
    with pytest.raises(EqsolveError, match="not both"):
        layers.InvariantPool(H, aggregation="sum", reduce="sum")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.InvariantPool(H, "sum")


def test_paths_come_from_one_registry(rng):
    B = eqsolve.solve(groups.cyclic(5))

    def mirror(spec):  # a toy extension: the generic executor under another name
        return [_fastpaths.Candidate("toy", 1e30, lambda: _fastpaths.Generic(spec.rows))]

    assert "toy" not in layers.linear.PATHS
    _fastpaths.register(_fastpaths.FastPath("toy", ("toy",), mirror), before="blocks")
    try:
        assert "toy" in layers.linear.PATHS
        lin = layers.EquivariantLinear(B, 1, 2, path="toy")
        assert "toy" in lin.available_paths and layers.EquivariantLinear(B, 1, 2).path != "toy"
        same_as_generic(B, rng)
    finally:
        _fastpaths.unregister("toy")
    with pytest.raises(EqsolveError, match="unknown path 'toy'"):
        layers.EquivariantLinear(B, 1, 2, path="toy")


def test_one_tolerance_table():
    import importlib

    export = importlib.import_module("eqsolve.layers.exporting")

    table = layers.testing.TOLERANCES
    assert set(export.CHECK_TOLERANCE) == set(table) == set(layers.testing.TOLERANCE)
    for dtype, tol in table.items():
        assert export.CHECK_TOLERANCE[dtype] == (tol.round_trip, tol.round_trip)
        assert layers.testing.TOLERANCE[dtype] == tol.equivariance


@pytest.mark.skipif(not hasattr(eqsolve.Basis, "compact"), reason="needs the compact Basis (a dense 128 x 128 "
                    "grid table has 2^28 entries)")
def test_a_128_by_128_grid_network_exports_small_and_runs_without_eqsolve(tmp_path):
    from test_layers_export import make_cases, run_without_eqsolve

    G = groups.grid_translations((64, 64))
    fine = groups.finer_grid(G, 2)  # 128 x 128
    down = eqsolve.solve(out=G.action(), inp=fine)
    up = eqsolve.solve(out=fine, inp=G.action())
    assert down.is_compact and up.is_compact
    net = torch.nn.Sequential(layers.EquivariantLinear(down, 1, 4), torch.nn.ReLU(),
                              layers.EquivariantLinear(up, 4, 1))
    assert all(m.path.startswith("fft(") for m in (net[0], net[2])), (net[0].path, net[2].path)
    x = torch.randn(2, 1, 128 * 128)
    result = layers.export(net, x, tmp_path / "unet.pt2", check=False)  # checked below, without eqsolve
    params = sum(p.numel() * p.element_size() for p in net.parameters())
    assert result.bytes <= 1.5 * params + 16 * 128 * 128, (result.bytes, params)
    assert not any(b.numel() >= 4096 * 16384 for b in net.buffers())
    cases = {}
    make_cases("unet", net, [(x,), (torch.randn(3, 1, 128 * 128),)], cases)
    report = run_without_eqsolve(tmp_path, {"unet": tmp_path / "unet.pt2"}, cases)
    assert max(report["unet"]) <= 1e-4


@pytest.mark.parametrize("name", list(FAST) + ["up3 4x4/2x2"])
def test_compact_and_dense_bases_give_identical_layers(name, rng):
    compact = CASES.get(name) or FAST[name]
    dense = eqsolve.Basis(np.array(compact.orbit_index), compact.dim, compact.bias_index, out=compact.out,
                          inp=compact.inp, in_orbit_index=compact.in_orbit_index)
    x = torch.from_numpy(rng.standard_normal((3, 2, compact.shape[1])))
    for path in layers.EquivariantLinear(compact, 2, 3).available_paths:
        a = layers.EquivariantLinear(compact, 2, 3, path=path).double()
        b = layers.EquivariantLinear(dense, 2, 3, path=path).double()
        assert a.path == b.path
        b.load_state_dict(a.state_dict())  # one fingerprint for both forms
        assert torch.equal(a(x), b(x)), path
