"""The image tasks (colors, quality, deblur): data, trivial predictors, generated layers, networks.

Tiny versions: a few sets of 16 x 16 crops. Equivariance in float64 under random set
permutations and random grid translations (multiples of 2 ** depth for the U-nets, any shift
for each layer's own group), tolerance 1e-10 relative.
"""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skimage")

import torch.nn.functional as F  # noqa: E402

import eqsolve  # noqa: E402
from eqsolve import EqsolveError  # noqa: E402
from eqsolve.layers import EquivariantLinear  # noqa: E402
from eqsolve.layers.images import experiment, grids, nets, photos, sets  # noqa: E402

SIZE = 16


def _grid(x, size=SIZE):
    return x.reshape(x.shape[:-1] + (size, size))


# -- photographs and data ------------------------------------------------------------------
def test_split_is_by_source_and_files_ship_with_the_wheel():
    train, test = set(photos.SPLITS["train"]), set(photos.SPLITS["test"])
    assert not train & test and train | test == set(photos.SOURCES)
    for name, files in photos.SOURCES.items():
        for f in files:
            assert os.path.isfile(os.path.join(photos.data_dir(), f)), f
    images = photos.load("test", 64)
    assert [min(im.shape[:2]) for im in images] == [64, 64]
    assert all(im.dtype == np.float32 and 0 <= im.min() and im.max() <= 1 for im in images)


@pytest.mark.parametrize("task", sets.TASKS)
def test_data_shapes_and_determinism(task):
    a = sets.make(task, 3, SIZE, "test", rng=5, short_side=64)
    b = sets.make(task, 3, SIZE, "test", rng=5, short_side=64)
    c = sets.make(task, 3, SIZE, "test", rng=6, short_side=64)
    n = sets.SET_SIZES[task]
    assert a.x.shape == (3, n, 3, SIZE * SIZE) and a.x.dtype == torch.float32
    assert {"colors": (3, n, 3, SIZE * SIZE), "quality": (3,), "deblur": (3, 3, SIZE * SIZE)}[task] == tuple(a.y.shape)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    assert 0.0 <= float(a.x.min()) and float(a.x.max()) <= 1.0


def test_color_sets_hold_single_channels_of_their_targets():
    data = sets.color_sets(4, SIZE, "test", rng=1, short_side=64)
    for k in range(4):
        sources = {}
        for i in range(6):
            nonzero = [c for c in range(3) if data.x[k, i, c].abs().sum() > 0]
            assert len(nonzero) == 1
            c = nonzero[0]
            assert torch.equal(data.x[k, i, c], data.y[k, i, c])
            sources.setdefault(tuple(data.y[k, i].flatten()[:8].tolist()), []).append(c)
        # two crops, each contributing its three channels once
        assert sorted(sorted(v) for v in sources.values()) == [[0, 1, 2], [0, 1, 2]]


def test_quality_target_is_the_closest_copy_in_l1():
    for noise in ("gaussian:30", "occlusion:30"):
        data = sets.quality_sets(3, SIZE, "test", rng=2, noise=noise, short_side=64)
        x, clean = data.x.double().numpy(), data.clean.double().numpy()
        for k in range(3):
            dist = [np.abs(x[k, j] - clean[k]).sum() for j in range(20)]
            assert int(np.argmin(dist)) == int(data.y[k])


def test_bad_noise_specs_are_clear_errors():
    assert sets.parse_noise("gaussian:50") == ("gaussian", 50.0)
    for bad in ("gaussian", "salt:3", "gaussian:x", "occlusion:99", "gaussian:-1"):
        with pytest.raises(EqsolveError):
            sets.parse_noise(bad)


# -- trivial predictors against a direct computation ----------------------------------------
def test_trivial_predictors_metrics_match_a_direct_computation():
    colors = sets.color_sets(3, SIZE, "test", rng=3, short_side=64)
    x, y = colors.x.double().numpy(), colors.y.double().numpy()
    direct = np.mean([np.abs(x[k, i][x[k, i].any(axis=1)][0][None] - y[k, i]).mean()
                      for k in range(3) for i in range(6)]) * 255
    assert abs(sets.mae255(sets.trivial("colors", colors), colors.y) - direct) < 1e-9
    assert abs(experiment.baseline("colors", colors) - direct) < 1e-3

    burst = sets.burst_sets(3, SIZE, "test", rng=3, short_side=64)
    median = np.median(burst.x.double().numpy(), axis=1)
    direct = np.abs(median - burst.y.double().numpy()).mean() * 255
    assert abs(sets.mae255(sets.trivial("deblur", burst), burst.y) - direct) < 1e-9
    assert abs(experiment.baseline("deblur", burst) - direct) < 1e-3

    quality = sets.quality_sets(40, 8, "test", rng=3, short_side=64)
    direct = 100.0 * float(np.mean(quality.y.numpy() == 0))
    assert sets.accuracy(sets.trivial("quality", quality), quality.y) == pytest.approx(direct)
    assert experiment.baseline("quality", quality) == pytest.approx(direct)


def test_burst_statistics_behind_the_deblurring_ranking():
    """docs/images.md ("Deblurring: why DSS(sum) leads here") rests on these: on the small
    preset's test bursts (5 x 5 kernels, noise sigma 2-10) the frame mean beats the median
    and even the best single frame picked by an oracle, so averaging pays and selecting does
    not; with 9 x 9 kernels and little noise (sigma 0-2) the oracle's frame beats both."""

    def errors(bursts):
        x, y = bursts.x.double().numpy(), bursts.y.double().numpy()
        frames = np.abs(x - y[:, None]).mean(axis=(2, 3)) * 255  # (sets, frames)
        return (np.abs(np.median(x, axis=1) - y).mean() * 255, np.abs(x.mean(axis=1) - y).mean() * 255,
                frames.min(axis=1).mean())

    small = experiment.make_splits("deblur", preset="small", train_size=1, val_size=1)["test"]
    median, mean, best_frame = errors(small)
    assert abs(median - experiment.baseline("deblur", small)) < 1e-3
    assert mean < median - 0.2 and mean < best_frame - 0.5
    rng = np.random.default_rng([experiment.TEST_SEED, 2])
    sharp = sets.burst_sets(len(small.x), SIZE, "test", rng, kernel=9, noise=(0.0, 2.0), short_side=64)
    median, mean, best_frame = errors(sharp)
    assert best_frame < min(median, mean) - 1.0


# -- generated layers ---------------------------------------------------------------------
def test_strided_basis_is_a_stride_2_circular_convolution():
    torch.manual_seed(0)
    lin = EquivariantLinear(grids.down_basis(8), 2, 3, bias=False).double()
    x = torch.randn(4, 2, 64, dtype=torch.float64)
    # read the 3 x 3 kernel off the dense weight at coarse point 0 (fine point (0, 0))
    dense = lin.dense_weight().reshape(3, 2, 16, 8, 8)[:, :, 0]
    kernel = torch.stack([torch.stack([dense[..., r % 8, c % 8] for c in (-1, 0, 1)], -1) for r in (-1, 0, 1)], -2)
    ref = F.conv2d(F.pad(x.reshape(4, 2, 8, 8), (1, 1, 1, 1), mode="circular"), kernel, stride=2)
    assert torch.allclose(lin(x), ref.reshape(4, 3, 16), atol=1e-12)


def test_transposed_basis_is_the_transpose_of_the_strided_one():
    def canonical(table):
        _, first, inv = np.unique(table.ravel(), return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))
        return np.where(table.ravel() >= 0, rank[inv], -1).reshape(table.shape)

    down, up = np.asarray(grids.down_basis(8).orbit_index), np.asarray(grids.up_basis(8).orbit_index)
    assert down.shape == (16, 64) and up.shape == (64, 16)
    assert np.array_equal(canonical(up), canonical(down.T))


@pytest.mark.parametrize("which", ["conv", "down", "up"])
def test_each_layer_is_equivariant_to_its_own_group(which):
    rng = np.random.default_rng(0)
    basis = {"conv": grids.conv_basis(8), "down": grids.down_basis(8), "up": grids.up_basis(8)}[which]
    lin = EquivariantLinear(basis, 2, 2).double()
    x = torch.randn(3, 2, basis.shape[1], dtype=torch.float64)
    for _ in range(3):
        g = basis.out.group.random_element(rng)
        p_in, p_out = basis.inp.image_of(g), basis.out.image_of(g)
        moved = torch.empty_like(x)
        moved[..., torch.as_tensor(p_in)] = x
        expect = torch.empty_like(lin(x))
        expect[..., torch.as_tensor(p_out)] = lin(x)
        assert torch.allclose(lin(moved), expect, atol=1e-12)


# -- networks ------------------------------------------------------------------------------
@pytest.mark.parametrize("task", sets.TASKS)
@pytest.mark.parametrize("model", nets.MODELS)
@torch.no_grad()
def test_networks_are_exactly_equivariant(task, model):
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    n = sets.SET_SIZES[task] if task != "quality" else 5
    net = nets.build(task, model, SIZE, (4, 6), residual=True).double()
    for p in net.parameters():  # the residual head starts at zero: make it non-trivial
        p.data.uniform_(-0.5, 0.5)
    net.eval()
    x = torch.rand(2, n, 3, SIZE * SIZE, dtype=torch.float64)
    y = net(x)
    step = 2 ** net.depth
    for _ in range(2):
        perm = torch.as_tensor(rng.permutation(n))
        shift = tuple(int(v) for v in step * rng.integers(0, SIZE // step, size=2))
        out = net(nets.grid_shift(x[:, perm], SIZE, shift))
        if task == "colors":
            expect = nets.grid_shift(y[:, perm], SIZE, shift)
        elif task == "deblur":
            expect = nets.grid_shift(y, SIZE, shift)
        else:
            expect = y[:, perm]
        scale = float(y.abs().max()) + 1.0
        assert float((out - expect).abs().max()) <= 1e-10 * scale


def test_network_input_errors():
    net = nets.build("colors", "dss-sum", 8, (4, 4))
    with pytest.raises(EqsolveError, match="8 x 8"):
        net(torch.rand(1, 6, 3, 65))
    with pytest.raises(EqsolveError, match="unknown image model"):
        nets.build("colors", "dss-mean", 8, (4, 4))
    with pytest.raises(EqsolveError, match="divisible"):
        nets.build("colors", "dss-sum", 12, (4, 4, 4, 4))
    with pytest.raises(EqsolveError, match="even"):
        nets.build("quality", "dss-aittala", 8, (3, 4))


def test_residual_unet_starts_at_the_trivial_predictor():
    data = sets.burst_sets(2, SIZE, "test", rng=0, short_side=64)
    net = nets.build("deblur", "dss-max", SIZE, (4, 6), residual=True)
    with torch.no_grad():
        assert torch.allclose(net(data.x), sets.trivial("deblur", data), atol=1e-6)


@torch.no_grad()
def test_mean_residual_deblur_net_adds_the_burst_mean_and_stays_equivariant():
    torch.manual_seed(2)
    rng = np.random.default_rng(2)
    x = torch.rand(2, 5, 3, SIZE * SIZE, dtype=torch.float64)
    net = nets.build("deblur", "dss-aittala", SIZE, (4, 6), residual="mean").double().eval()
    assert torch.allclose(net(x), x.mean(1), atol=1e-12)  # starts at the burst mean
    for p in net.parameters():
        p.data.uniform_(-0.5, 0.5)
    median = nets.build("deblur", "dss-aittala", SIZE, (4, 6), residual=True).double().eval()
    median.load_state_dict(net.state_dict())
    assert torch.allclose(net(x) - median(x), x.mean(1) - x.median(1).values, atol=1e-10)
    y = net(x)
    perm = torch.as_tensor(rng.permutation(5))
    shift = (2 ** net.depth, 2 * 2 ** net.depth)
    assert torch.allclose(net(nets.grid_shift(x[:, perm], SIZE, shift)), nets.grid_shift(y, SIZE, shift), atol=1e-10)
    for task, residual in (("colors", "mean"), ("deblur", "median")):
        with pytest.raises(EqsolveError, match="residual must be"):
            nets.build(task, "dss-sum", SIZE, (4, 6), residual=residual)


# -- the eqsolve train pipeline ------------------------------------------------------------
def test_splits_are_deterministic_per_seed_and_split_by_source():
    a = experiment.make_splits("colors", seed=3, preset="tiny")
    b = experiment.make_splits("colors", seed=3, preset="tiny")
    c = experiment.make_splits("colors", seed=4, preset="tiny")
    for split in ("train", "val", "test"):
        assert torch.equal(a[split].x, b[split].x)
    assert not torch.equal(a["train"].x, c["train"].x)
    assert torch.equal(a["test"].x, c["test"].x)  # one test set for every seed
    assert set(a["info"]["train_sources"]).isdisjoint(a["info"]["test_sources"])


@pytest.mark.parametrize("task", sets.TASKS)
def test_eqsolve_train_writes_its_files(task, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    import json

    from eqsolve.cli import main

    out = tmp_path / task
    extra = ["--noise", "occlusion:10"] if task == "quality" else []
    models = ["dss-sum", "siamese-ds"] if task == "colors" else ["dss-max"]
    assert main(["train", task, "--preset", "tiny", "--model", *models, "--out", str(out),
                 "--threads", "1", "--quiet"] + extra) == 0
    for name in ("config.json", "results.json", "results.csv", "figure.png"):
        assert (out / name).is_file(), name
    for model in models:
        png = out / "examples" / f"{model}-n16-s0" / "examples.png"
        assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    results = json.loads((out / "results.json").read_text())
    test = experiment.make_splits(task, seed=0, preset="tiny", **({"noise": "occlusion:10"} if extra else {}))["test"]
    assert results["baseline"] == pytest.approx(experiment.baseline(task, test))
    assert {c["model"] for c in results["cells"]} == set(models)
    config = json.loads((out / "config.json").read_text())
    expected = {"quality": {"noise": "occlusion:10"}, "deblur": {"start": "median"}}.get(task, {})
    assert config.get("options", {}) == expected


def test_eqsolve_train_image_errors(tmp_path, capsys):
    from eqsolve.cli import main

    assert main(["train", "colors", "--preset", "tiny", "--noise", "gaussian:30", "--out", str(tmp_path / "a")]) == 2
    assert "no option 'noise'" in capsys.readouterr().err
    assert main(["train", "quality", "--preset", "tiny", "--noise", "blur:3", "--out", str(tmp_path / "b")]) == 2
    assert "unknown noise kind" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_stated_parameter_counts_are_the_built_models_counts(preset):
    from eqsolve.layers import count_parameters

    for task in sets.TASKS:
        for model in nets.MODELS:
            net = experiment.build_model(task, model, preset)
            assert count_parameters(net) == experiment.PARAMETERS[preset][task][model], (task, model)
        counts = experiment.PARAMETERS[preset][task]
        assert max(counts.values()) / min(counts.values()) < 1.1  # matched within 10%


@pytest.mark.slow
def test_tiny_widths_are_the_matched_ones():
    for task in sets.TASKS:
        for model in nets.MODELS:
            found = nets.matched_widths(task, model, experiment.PRESETS["tiny"].widths)
            assert tuple(found["widths"]) == experiment.WIDTHS["tiny"][task][model]
            assert found["parameters"] == experiment.PARAMETERS["tiny"][task][model]


# -- normalisation, augmentation and the reference rule (the accuracy investigation) -------
@pytest.mark.parametrize("norm", nets.NORMS)
@torch.no_grad()
def test_networks_are_equivariant_in_training_mode_for_every_norm(norm):
    """Batch statistics (training mode) pool over batch, set and pixels: still equivariant."""
    torch.manual_seed(2)
    rng = np.random.default_rng(2)
    for task, model in (("colors", "dss-sum"), ("quality", "siamese-ds"), ("deblur", "dss-max")):
        n = 4
        net = nets.build(task, model, SIZE, (4, 6), residual=True, norm=norm).double().train()
        for p in net.parameters():
            p.data.uniform_(-0.5, 0.5)
        x = torch.rand(3, n, 3, SIZE * SIZE, dtype=torch.float64)
        y = net(x)
        perm = torch.as_tensor(rng.permutation(n))
        shift = tuple(int(v) for v in 4 * rng.integers(0, SIZE // 4, size=2))
        out = net(nets.grid_shift(x[:, perm], SIZE, shift))
        expect = {"colors": lambda: nets.grid_shift(y[:, perm], SIZE, shift),
                  "deblur": lambda: nets.grid_shift(y, SIZE, shift), "quality": lambda: y[:, perm]}[task]()
        assert float((out - expect).abs().max()) <= 1e-10 * (float(y.abs().max()) + 1.0), (task, norm)


@torch.no_grad()
def test_set_norm_makes_the_colour_correction_blind_to_contrast_and_batch_norm_does_not():
    """Why the default is batch norm: with per-set statistics the network's correction to the
    grey copy is the same for a set and for the set at half the contrast (the right correction
    halves); with batch statistics it follows the contrast of each set."""
    data = sets.color_sets(4, SIZE, "test", rng=0, short_side=64)
    x = data.x.double()
    both = torch.cat([x[:2], 0.5 * x[:2], x[2:]])  # sets 2, 3 are sets 0, 1 at half contrast
    grey = both.sum(-2, keepdim=True)
    gaps = {}
    for norm in ("set", "batch"):
        torch.manual_seed(0)
        net = nets.build("colors", "dss-sum", SIZE, (4, 6), residual=True, norm=norm).double().train()
        for p in net.head.parameters():
            p.data.normal_(0.0, 0.1)
        correction = net(both) - grey
        gaps[norm] = float((correction[2:4] - correction[:2]).abs().max() / correction[:2].abs().max())
    assert gaps["set"] < 0.05 < 0.2 < gaps["batch"], gaps


def test_channel_shuffling_permutes_the_channels_of_each_crop_only():
    plain = sets.color_sets(3, SIZE, "test", rng=4, short_side=64)
    mixed = sets.color_sets(3, SIZE, "test", rng=4, short_side=64, shuffle_channels=True)
    assert not torch.equal(plain.y, mixed.y)
    for k in range(3):
        for i in range(6):  # each element is still one channel of its own target
            (c,) = [c for c in range(3) if mixed.x[k, i, c].abs().sum() > 0]
            assert torch.equal(mixed.x[k, i, c], mixed.y[k, i, c])
        # the same two crops as without shuffling, their channels reordered
        crops = lambda d: {tuple(sorted(tuple(ch.tolist()) for ch in d.y[k, i])) for i in range(6)}
        assert crops(plain) == crops(mixed)
    train = experiment.make_splits("colors", seed=0, preset="tiny", augment=True)
    same = experiment.make_splits("colors", seed=0, preset="tiny")
    assert not torch.equal(train["train"].y, same["train"].y)
    assert torch.equal(train["val"].x, same["val"].x) and torch.equal(train["test"].x, same["test"].x)


def test_closest_to_mean_rule_matches_a_direct_computation_and_beats_chance():
    data = sets.quality_sets(64, SIZE, "test", rng=7, noise="gaussian:30", short_side=64)
    x = data.x.double().numpy()
    direct = np.abs(x - x.mean(axis=1, keepdims=True)).sum(axis=(2, 3)).argmin(axis=1)
    assert torch.equal(sets.closest_to_mean(data).argmax(-1), torch.as_tensor(direct))
    # early aggregation is enough in principle: far above the 5 % of a guess
    assert sets.accuracy(sets.closest_to_mean(data), data.y) > 20.0


@pytest.mark.parametrize("task", sets.TASKS)
def test_small_splits_are_one_stream_as_before(task):
    # every split of the published small runs (up to chunk_size sets) is one random stream
    splits = experiment.make_splits(task, seed=1, preset="tiny", train_size=12, test_size=5)
    p = experiment.PRESETS["tiny"]
    for split, stream, source, count in (("train", [1, 0], "train", 12), ("test", [experiment.TEST_SEED, 2], "test", 5)):
        direct = sets.make(task, count, p.size, source, np.random.default_rng(stream), short_side=p.short_side,
                           kernel=p.blur_kernel)
        assert torch.equal(splits[split].x, direct.x) and torch.equal(splits[split].y, direct.y)


@pytest.mark.parametrize("task", sets.TASKS)
def test_chunked_splits_do_not_depend_on_their_size(task, monkeypatch):
    one_set = sets.SET_SIZES[task] * 3 * experiment.PRESETS["tiny"].size ** 2
    monkeypatch.setattr(experiment, "CHUNK_VALUES", 3 * one_set)  # chunks of 3 sets
    assert experiment.chunk_size(task, "tiny") == 3
    small = experiment.make_splits(task, seed=2, preset="tiny", train_size=4, val_size=2, test_size=2)
    large = experiment.make_splits(task, seed=2, preset="tiny", train_size=11, val_size=2, test_size=2)
    assert len(small["train"]) == 4 and len(large["train"]) == 11
    assert torch.equal(small["train"].x, large["train"].x[:4]) and torch.equal(small["train"].y, large["train"].y[:4])
    assert not torch.equal(large["train"].x[:3], large["train"].x[3:6])  # each chunk has its own stream


def test_runner_draws_only_the_chunked_pool_it_needs(monkeypatch):
    from eqsolve.layers.train import runner

    task = experiment.QUALITY
    assert len(runner._make_splits(task, 0, None, 4, "tiny", train_size=8).train) == 16  # one stream: the whole pool
    monkeypatch.setattr(experiment, "CHUNK_VALUES", 4 * 20 * 3 * 16 * 16)  # chunks of 4 sets
    assert len(runner._make_splits(task, 0, None, 4, "tiny", train_size=6).train) == 6
    assert len(runner._make_splits(task, 0, None, 4, "tiny").train) == 16


def test_data_too_large_for_memory_is_refused_before_drawing(monkeypatch):
    monkeypatch.setenv("EQSOLVE_MAX_MEMORY", "64M")
    with pytest.raises(eqsolve.ProblemTooLargeError, match="--train-size"):
        experiment.make_splits("quality", preset="paper")
    need = experiment.data_bytes("quality", "paper", [20000, 1000, 1000])
    assert need > 20000 * 21 * 3 * 64 * 64 * 4  # float32 copies and clean crops of the training pool


@pytest.mark.slow
def test_paper_preset_trains_one_step_end_to_end(tmp_path, capsys):
    from eqsolve.cli import main

    out = tmp_path / "paper"
    assert main(["train", "colors", "--preset", "paper", "--model", "dss-sum", "--train-size", "2", "--epochs", "1",
                 "--batch-size", "2", "--val-size", "2", "--test-size", "2", "--threads", "2", "--out", str(out),
                 "--quiet"]) == 0
    import json

    results = json.loads((out / "results.json").read_text())
    assert results["cells"][0]["parameters"] == experiment.PARAMETERS["paper"]["colors"]["dss-sum"]
    data = json.loads((out / "config.json").read_text())["data"]
    assert data["train_pool"] == 2 and data["val"] == 2


def _direct_channel_matching(x):
    """Colourings by brute force: every assignment of the six elements to two RGB triples,
    scored with numpy's correlation coefficients (independent of sets.match_channels)."""
    import itertools

    x = x.double().numpy()
    out = np.empty_like(x)
    for n in range(x.shape[0]):
        channel = [int(np.abs(x[n, i]).sum(-1).argmax()) for i in range(6)]
        images = x[n].sum(1)
        corr = np.corrcoef(images)
        best = None
        for first in itertools.combinations(range(6), 3):
            second = tuple(i for i in range(6) if i not in first)
            if sorted(channel[i] for i in first) != [0, 1, 2]:
                continue
            score = sum(corr[i, j] for t in (first, second) for i, j in itertools.combinations(t, 2))
            if best is None or score > best[0] + 1e-12:
                best = (score, first, second)
        for t in best[1:]:
            for i in t:
                out[n, i] = x[n, list(t)].sum(0)
    return torch.from_numpy(out)


def test_channel_matching_rule_matches_brute_force_and_nearly_solves_the_task():
    data = sets.color_sets(48, SIZE, "test", rng=11, short_side=64)
    rule = sets.match_channels(data)
    assert rule.dtype == data.x.dtype and rule.shape == data.y.shape
    assert torch.allclose(rule.double(), _direct_channel_matching(data.x), atol=1e-6)
    # where it picks the right split, it is the target exactly; here nearly every set
    right = (rule == data.y).flatten(1).all(1)
    assert right.double().mean() > 0.9
    assert sets.mae255(rule, data.y) < 0.2 * sets.mae255(sets.trivial("colors", data), data.y)
    # equivariant: permuting each set permutes the colourings
    perm = torch.stack([torch.randperm(6, generator=torch.Generator().manual_seed(k)) for k in range(48)])
    moved = sets.ImageSets(data.x[torch.arange(48)[:, None], perm], data.y, None, SIZE)
    assert torch.equal(sets.match_channels(moved), rule[torch.arange(48)[:, None], perm])


def test_channel_matching_rule_edge_cases():
    data = sets.color_sets(4, SIZE, "test", rng=12, short_side=64)
    # two identical crops: every split colours correctly
    same = data.y[:, :1].expand(-1, 6, -1, -1)
    x = torch.zeros_like(data.x)
    for i in range(6):
        c = i % 3
        x[:, i, c] = same[:, i, c]
    twins = sets.ImageSets(x, same.clone(), None, SIZE)
    assert torch.equal(sets.match_channels(twins), twins.y)
    # an all-black channel is still one of its crop's channels
    black = data.x.clone()
    black[0, 0] = 0.0
    out = sets.match_channels(sets.ImageSets(black, data.y, None, SIZE))
    assert out.shape == data.y.shape
    with pytest.raises(EqsolveError, match="colour sets"):
        sets.match_channels(sets.ImageSets(data.x[:, :5], data.y[:, :5], None, SIZE))
    with pytest.raises(EqsolveError, match="two of each channel"):
        sets.match_channels(sets.ImageSets(data.y, data.y, None, SIZE))


def test_blackout_paints_the_occlusion_squares_black_and_changes_nothing_else():
    occluded = sets.quality_sets(6, size=16, split="test", rng=5, noise="occlusion:30", short_side=64)
    blacked = sets.quality_sets(6, size=16, split="test", rng=5, noise="blackout:30", short_side=64)
    blur = sets.quality_sets(6, size=16, split="test", rng=5, noise="occlusion:0", short_side=64)
    covered = (occluded.x != blur.x).any(-2)  # pixels where a square was painted (random colour)
    assert 0.2 < covered.double().mean() < 0.4
    x = blacked.x.permute(0, 1, 3, 2)  # (N, n, d, 3)
    assert bool((x[covered] == 0).all())
    assert torch.equal(blacked.x.permute(0, 1, 3, 2)[~covered], blur.x.permute(0, 1, 3, 2)[~covered])
    assert sets.parse_noise("blackout:50") == ("blackout", 50.0)


def test_deblur_start_option_builds_the_mean_start_through_eqsolve_train(tmp_path, capsys):
    import json

    from eqsolve.cli import main

    task = experiment.DEBLUR
    splits = task.make_data(preset="tiny", start="mean")
    assert task.build_model("dss-max", "tiny", splits).residual == "mean"
    assert task.build_model("dss-max", "tiny", task.make_data(preset="tiny")).residual is True  # the median
    with pytest.raises(EqsolveError, match="unknown deblurring start"):
        task.make_data(preset="tiny", start="max")
    out = tmp_path / "mean"
    assert main(["train", "deblur", "--preset", "tiny", "--start", "mean", "--threads", "1", "--quiet",
                 "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["options"] == {"start": "mean"}
    assert main(["train", "colors", "--preset", "tiny", "--start", "mean", "--out", str(tmp_path / "c")]) == 2
    assert "no option 'start'" in capsys.readouterr().err
