"""DSS models for the four tasks, the baselines, parameter counts, masks, dtypes, devices, training.

Tolerances: float64 relative 1e-10 (``layers.testing.TOLERANCE``), float32 1e-5 absolute on
O(1) outputs, bfloat16 against float32 relative 5e-2.
"""


import numpy as np
import pytest
import torch

import eqsolve
from eqsolve import layers
from eqsolve import EqsolveError, groups
from eqsolve.layers import baselines, models
from eqsolve.layers.testing import assert_equivariant

from _layer_zoo import square_zoo

ZOO = square_zoo()
GROUPS = ["cyclic(7)", "dihedral(6)", "symmetric(5)", "grid(3x4)", "product(cyclic(3),symmetric(3))",
          "intransitive((012)(34)+fixed)", "gap((1234)(56),(13))"]
TASKS = list(models.TASKS)
AGGREGATIONS = ["sum", "mean", "max", "aittala", "sridhar"]
BASELINES_H = ["siamese", "siamese+ds"]  # baselines that use H as well as S_n
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")



@pytest.fixture(autouse=True)
def seeded_torch():
    """Weights drawn from a fixed seed in every test, whatever ran before."""
    torch.manual_seed(0)


def symmetry(H, task):
    """(group_or_actions, out_set_axis) of assert_equivariant for a model of ``task``."""
    if task == "invariant":
        return (H.action(), None), None
    if task == "selection":
        return (H.action(), None), -1
    if task == "merging":
        return (H.action(), H.action()), None
    return H, -3


def dss(B, task, channels=(2, 4, 4), **kwargs):
    return models.build(B, task, list(channels), n_classes=3, out_channels=2, **kwargs)


def baseline(name, B, task, n=5, in_channels=2, width=6):
    return baselines.build(name, B, task, width, 2, n=n, in_channels=in_channels, n_classes=3, out_channels=2)


# -- symmetry ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("task", TASKS)
def test_dss_models_symmetry_float64(name, task):
    H, B = ZOO[name]
    net = dss(B, task).double()
    actions, out_set_axis = symmetry(H, task)
    report = assert_equivariant(net, actions, trials=3, rng=11, set_size=4, in_channels=2,
                                out_set_axis=out_set_axis)
    assert report.error < 1e-10
    assert report.set_permutation is not None and report.element is not None


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.parametrize("task", TASKS)
def test_every_aggregation_keeps_the_symmetry(aggregation, task):
    H, B = ZOO["dihedral(6)"]
    net = dss(B, task, aggregation=aggregation).double()
    actions, out_set_axis = symmetry(H, task)
    assert assert_equivariant(net, actions, trials=2, rng=3, set_size=5, in_channels=2,
                              out_set_axis=out_set_axis).error < 1e-10


@pytest.mark.parametrize("norm", ["set", "batch"])
@pytest.mark.parametrize("task", TASKS)
def test_normalised_models_keep_the_symmetry(norm, task):
    H, B = ZOO["product(cyclic(3),symmetric(3))"]
    net = dss(B, task, channels=(2, 4, 4, 4), norm=norm).double()
    assert sum(isinstance(m, (layers.SetNorm, layers.EquivariantBatchNorm)) for m in net.modules()) == 2
    actions, out_set_axis = symmetry(H, task)
    for mode in (True, False):
        net.train(mode)
        assert assert_equivariant(net, actions, trials=2, rng=4, set_size=4, in_channels=2,
                                  out_set_axis=out_set_axis).error < 1e-10


@pytest.mark.parametrize("task", ["invariant", "merging", "equivariant"])
def test_symmetry_with_masks_float32(task):
    H, B = ZOO["cyclic(7)"]
    net = dss(B, task)
    actions, out_set_axis = symmetry(H, task)
    assert assert_equivariant(net, actions, trials=3, rng=8, set_size=6, in_channels=2, masked=True,
                              out_set_axis=out_set_axis).error < 1e-4


@pytest.mark.parametrize("name", BASELINES_H)
@pytest.mark.parametrize("task", TASKS)
def test_siamese_baselines_symmetry(name, task):
    H, B = ZOO["gap((1234)(56),(13))"]
    net = baseline(name, B, task).double()
    actions, out_set_axis = symmetry(H, task)
    assert assert_equivariant(net, actions, trials=3, rng=2, set_size=4, in_channels=2,
                              out_set_axis=out_set_axis).error < 1e-10


@pytest.mark.parametrize("task", TASKS)
def test_deepsets_is_set_symmetric_but_ignores_H(task):
    H, B = ZOO["cyclic(7)"]
    net = baseline("deepsets", B, task).double()
    _, out_set_axis = symmetry(H, task)
    # the set permutation alone (no points permuted) is a symmetry ...
    assert assert_equivariant(net, (None, None), trials=3, rng=2, set_size=4, in_shape=(3, 4, 2, 7),
                              out_set_axis=out_set_axis).error < 1e-10
    # ... shifting the points is not: a generic DeepSets network on flattened elements sees it
    actions, _ = symmetry(H, task)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(net, actions, trials=4, rng=2, in_shape=(3, 4, 2, 7), out_set_axis=None)


def test_mlp_baseline_sees_the_order_of_the_set():
    H, B = ZOO["cyclic(7)"]
    net = baseline("mlp", B, "invariant", n=4).double()
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(net, (None, None), trials=3, rng=1, set_size=4, in_shape=(3, 4, 2, 7), out_set_axis=None)


def test_selection_scores_permute_with_the_set(rng):
    H, B = ZOO["dihedral(6)"]
    net = models.selection(B, [1, 8, 8]).double()
    x = torch.from_numpy(rng.standard_normal((3, 7, 1, 6)))
    sigma = torch.from_numpy(rng.permutation(7))
    g = torch.from_numpy(H.random_element(rng))
    with torch.no_grad():
        scores = net(x)
        moved = net(x[:, sigma][..., torch.argsort(g)])
    assert scores.shape == (3, 7)
    torch.testing.assert_close(moved, scores[:, sigma], rtol=1e-12, atol=1e-12)
    assert not torch.allclose(scores[:, 0], scores[:, 1])  # the scores do tell elements apart


# -- masks ------------------------------------------------------------------------------------
SET_MODELS = [("dss", t) for t in TASKS] + [(b, t) for b in ("deepsets", "siamese", "siamese+ds") for t in TASKS]


@pytest.mark.parametrize("kind,task", SET_MODELS, ids=[f"{k}-{t}" for k, t in SET_MODELS])
def test_padding_does_not_change_the_outputs(kind, task, rng):
    H, B = ZOO["intransitive((012)(34)+fixed)"]
    if kind == "dss":
        net = dss(B, task, aggregation="max", norm="set").double()
    else:
        net = baseline(kind, B, task).double()
    sizes = [2, 5, 1]
    n = 6
    x = torch.from_numpy(rng.standard_normal((len(sizes), n, 2, 6)) * 10)  # padding holds garbage
    mask = torch.zeros(len(sizes), n, dtype=torch.bool)
    for b, k in enumerate(sizes):
        mask[b, :k] = True
    with torch.no_grad():
        padded = net(x, mask)
        for b, k in enumerate(sizes):
            alone = net(x[b:b + 1, :k])[0]
            if task in ("invariant", "merging"):
                torch.testing.assert_close(padded[b], alone, rtol=1e-10, atol=1e-10)
            else:
                torch.testing.assert_close(padded[b, :k], alone, rtol=1e-10, atol=1e-10)
                rest = padded[b, k:]
                if task == "selection":
                    assert torch.isneginf(rest).all()
                else:
                    assert (rest == 0).all()


def test_mlp_baseline_zeroes_padded_elements(rng):
    H, B = ZOO["cyclic(7)"]
    net = baseline("mlp", B, "merging", n=4).double()
    x = torch.from_numpy(rng.standard_normal((2, 4, 2, 7)))
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    clean = x.clone()
    clean[0, 2:] = 0
    with torch.no_grad():
        torch.testing.assert_close(net(x, mask), net(clean, mask))
        with pytest.raises(EqsolveError, match="built for sets of n=4"):
            net(x[:, :3])


# -- gradients, parameter counts ----------------------------------------------------------------
ALL_MODELS = [("dss", t) for t in TASKS] + [(b, t) for b in baselines.BASELINES for t in TASKS]


@pytest.mark.parametrize("kind,task", ALL_MODELS, ids=[f"{k}-{t}" for k, t in ALL_MODELS])
def test_gradients_reach_every_parameter(kind, task, rng):
    H, B = ZOO["dihedral(6)"]
    net = dss(B, task, channels=(2, 8, 8), norm="batch") if kind == "dss" else baseline(kind, B, task, width=8)
    x = torch.from_numpy(rng.standard_normal((3, 5, 2, 6))).float()
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2, [True] * 4 + [False]])
    out = net(x, mask)
    finite = torch.isfinite(out)
    (out[finite] ** 2).sum().backward()
    names = [name for name, p in net.named_parameters()]
    assert names
    for name, p in net.named_parameters():
        assert p.grad is not None, f"no gradient reaches {name}"
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"zero gradient at {name}"


@pytest.mark.parametrize("task", TASKS)
def test_baselines_have_comparable_parameter_counts(task):
    H = groups.cyclic(16)
    B = eqsolve.solve(H)
    ref = models.build(B, task, [1, 32, 32], n_classes=5, out_channels=2)
    nets = baselines.comparable(ref, B, n=10)
    assert set(nets) == {"dss", "mlp", "deepsets", "siamese", "siamese+ds"}
    target = layers.count_parameters(ref)
    for name, net in nets.items():
        assert net.task == task
        ratio = layers.count_parameters(net) / target
        assert 0.8 <= ratio <= 1.2, f"{name}: {layers.count_parameters(net)} vs {target}"
        y = net(torch.randn(2, 10, 1, 16))
        assert tuple(y.shape) == ref.output_shape(2, 10)
    table = baselines.parameter_table(nets)
    assert table.splitlines()[0].split() == ["model", "parameters", "ratio", "width"]
    assert all(name in table for name in nets)


def test_parameter_counts_follow_the_basis_dimension():
    H = groups.dihedral(6)
    B = eqsolve.solve(H)
    E, orbits = B.dim, B.n_bias
    net = models.equivariant(B, [2, 4], out_channels=3)
    # two DSS layers ("sum": L1 with bias, L2 without): 2 * E * c_in * c_out + orbits * c_out each
    expected = (2 * E * 2 * 4 + orbits * 4) + (2 * E * 4 * 3 + orbits * 3)
    assert layers.count_parameters(net) == expected
    assert net.describe()["parameters"] == expected


def test_matched_width_is_closest():
    B = eqsolve.solve(groups.cyclic(8))
    net = baselines.matched("deepsets", B, "invariant", target=5000)
    w = net.config["width"]
    count = layers.count_parameters
    here = abs(count(net) - 5000)
    for other in (w - 1, w + 1):
        assert abs(count(baselines.build("deepsets", B, "invariant", other)) - 5000) >= here


# -- dtypes and devices -----------------------------------------------------------------------
@pytest.mark.parametrize("task", TASKS)
def test_float64_and_bfloat16_on_cpu(task, rng):
    H, B = ZOO["cyclic(7)"]
    torch.manual_seed(0)
    net = dss(B, task)
    x = torch.from_numpy(rng.standard_normal((2, 4, 2, 7))).float()
    with torch.no_grad():
        y32 = net(x)
        y64 = net.double()(x.double())
        y16 = net.to(torch.bfloat16)(x.to(torch.bfloat16))
    assert y64.dtype == torch.float64 and y16.dtype == torch.bfloat16
    torch.testing.assert_close(y64.float(), y32, rtol=1e-5, atol=1e-5)
    scale = y32.abs().max().item()
    assert (y16.float() - y32).abs().max().item() <= 5e-2 * max(scale, 1.0)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("task", TASKS)
def test_models_on_cuda_match_cpu(task, rng):
    H, B = ZOO["grid(3x4)"]
    net = dss(B, task, norm="set")
    x = torch.from_numpy(rng.standard_normal((3, 5, 2, 12))).float()
    mask = torch.tensor([[True] * 5, [True] * 2 + [False] * 3, [True] + [False] * 4])
    with torch.no_grad():
        cpu = net(x, mask)
        gpu = net.to("cuda")(x.cuda(), mask.cuda())
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-4)
    actions, out_set_axis = symmetry(H, task)
    assert assert_equivariant(net.double(), actions, trials=2, rng=1, set_size=4, in_channels=2,
                              out_set_axis=out_set_axis, device="cuda").error < 1e-10


@pytest.mark.gpu
@cuda
def test_training_on_cuda():
    B = eqsolve.solve(groups.cyclic(16))
    data = layers.train.synthetic_signal_sets(128, n=6, d=16, rng=0)
    torch.manual_seed(0)
    net = models.invariant(B, [1, 8, 8], n_classes=3)
    history = layers.train.fit(net, data, epochs=4, lr=1e-2, device="cuda")
    assert next(net.parameters()).device.type == "cuda"
    assert history[-1] < history[0]


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_torch_compile_gives_the_same_numbers(task, rng):
    H, B = ZOO["dihedral(6)"]
    net = dss(B, task).eval()
    x = torch.from_numpy(rng.standard_normal((2, 5, 2, 6))).float()
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    compiled = torch.compile(net, backend="aot_eager")
    with torch.no_grad():
        torch.testing.assert_close(compiled(x, mask), net(x, mask), rtol=1e-5, atol=1e-5)


# -- bad input --------------------------------------------------------------------------------
def test_bad_inputs_name_the_shapes():
    H, B = ZOO["cyclic(7)"]
    net = dss(B, "invariant")
    with pytest.raises(EqsolveError, match=r"\(batch, n, in_channels=2, d=7\), got \[2, 3, 2, 6\]"):
        net(torch.randn(2, 3, 2, 6))
    with pytest.raises(EqsolveError, match="got \\[2, 3, 7\\]"):
        net(torch.randn(2, 3, 7))
    with pytest.raises(EqsolveError, match=r"mask must have shape \(batch, n\) = \[2, 3\], got \[2, 4\]"):
        net(torch.randn(2, 3, 2, 7), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(EqsolveError, match="bool"):
        net(torch.randn(2, 3, 2, 7), torch.ones(2, 3))


def test_bad_arguments():
    H, B = ZOO["cyclic(7)"]
    with pytest.raises(EqsolveError, match="at least one layer width"):
        models.invariant(B, [3])
    with pytest.raises(EqsolveError, match=r"channels\[1\] must be an integer >= 1, got 0"):
        models.invariant(B, [1, 0])
    with pytest.raises(EqsolveError, match="unknown task"):
        models.build(B, "ranking", [1, 4])
    with pytest.raises(EqsolveError, match="unknown aggregation"):
        models.invariant(B, [1, 4], aggregation="median")
    with pytest.raises(EqsolveError, match="unknown norm"):
        models.invariant(B, [1, 4], norm="layer")
    with pytest.raises(EqsolveError, match="n_classes must be an integer >= 1"):
        models.invariant(B, [1, 4], n_classes=0)
    with pytest.raises(EqsolveError, match="eqsolve.Basis"):
        models.invariant(H, [1, 4])
    C = groups.cyclic(4)
    rect = eqsolve.solve(out=C.action().tensor(2), inp=C.action())
    with pytest.raises(EqsolveError, match=r"\(d_out, d_in\) = \(16, 4\)"):
        models.merging(rect, [1, 4])
    with pytest.raises(EqsolveError, match="unknown baseline"):
        baselines.build("transformer", B, "invariant", 8)
    with pytest.raises(EqsolveError, match="pass n="):
        baselines.build("mlp", B, "invariant", 8)
    with pytest.raises(EqsolveError, match="pass n="):
        baselines.comparable(models.invariant(B, [1, 4]), B)
    with pytest.raises(EqsolveError, match="target parameter count"):
        baselines.matched("deepsets", B, "invariant", target=0)


# -- training ---------------------------------------------------------------------------------
def test_synthetic_signal_sets():
    data = layers.train.synthetic_signal_sets(200, n=6, d=12, rng=1, n_classes=4)
    assert data.x.shape == (200, 6, 1, 12) and data.x.dtype == torch.float32
    assert data.y.dtype == torch.int64 and set(data.y.tolist()) == {0, 1, 2, 3}
    assert data.mask is None
    clean = layers.train.synthetic_signal_sets(50, n=3, d=12, rng=7, noise=0.0)
    # without noise, the elements of a set are cyclic shifts of one another
    for s in range(50):
        a, b = clean.x[s, 0, 0], clean.x[s, 1, 0]
        assert any(torch.allclose(torch.roll(a, k), b, atol=1e-6) for k in range(12))
    masked = layers.train.synthetic_signal_sets(40, n=5, d=8, rng=2, min_n=2)
    assert masked.mask.shape == (40, 5) and masked.mask.sum(1).min() >= 2
    assert (masked.x[~masked.mask] == 0).all()
    train, test = masked.split(0.75)
    assert len(train) == 30 and len(test) == 10
    with pytest.raises(EqsolveError, match="n_classes"):
        layers.train.synthetic_signal_sets(10, 3, 8, n_classes=9)
    with pytest.raises(EqsolveError, match="min_n"):
        layers.train.synthetic_signal_sets(10, 3, 8, min_n=4)


def test_fit_decreases_the_loss_and_learns(capsys):
    B = eqsolve.solve(groups.cyclic(16))
    data = layers.train.synthetic_signal_sets(320, n=8, d=16, rng=0)
    train, test = data.split(0.75)
    torch.manual_seed(0)
    net = models.invariant(B, [1, 12, 12], n_classes=3)
    history = layers.train.fit(net, train, epochs=8, lr=1e-2, seed=0)
    assert len(history) == 8 and history[-1] < 0.8 * history[0]
    assert layers.train.evaluate(net, test) > 0.5  # chance is 1/3
    assert capsys.readouterr().err == ""  # no progress bar off a terminal


def test_fit_with_masks_and_a_progress_bar(capsys):
    B = eqsolve.solve(groups.cyclic(8))
    data = layers.train.synthetic_signal_sets(64, n=5, d=8, rng=3, min_n=2)
    torch.manual_seed(1)
    net = models.selection(B, [1, 4])
    data.y = data.y % 2  # a valid element index of every set (sizes >= 2)
    history = layers.train.fit(net, data, epochs=2, lr=1e-2, progress=True)
    assert len(history) == 2 and all(np.isfinite(history))
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and err.endswith("\n")
    with pytest.raises(EqsolveError, match="epochs"):
        layers.train.fit(net, data, epochs=0)
