"""``eqsolve train`` and ``layers.train``: the signals data, the paper's networks, the loop, the
runner's files, resume, DDP, and bad input (issue 9). CPU only, a few hundred sets at most."""

import json
import os
import sys

import numpy as np
import pytest
import torch

import eqsolve
from eqsolve import EqsolveError, layers
from eqsolve.cli import main as cli_main
from eqsolve.layers.train import runner, signals, tasks

sys.path.insert(0, os.path.dirname(__file__))
from _train_helpers import ddp_worker, one_thread, tiny_problem  # noqa: E402,F401  (one_thread: autouse fixture)

SMALL = dict(models=["dss-sum"], sizes=[48], seeds=1, epochs=2, batch_size=16, val_size=32, test_size=32,
             progress=False, quiet=True)


# -- data ----------------------------------------------------------------------------------------
def test_signals_data_follows_section_6_1():
    s = signals.make_signals(seed=0)
    assert (len(s.train), len(s.val), len(s.test)) == (3000, 300, 300)
    assert s.train.x.shape[1:] == (25, 1, 100) and set(s.train.y.tolist()) == {0, 1, 2}
    # three balanced-ish classes (uniform labels)
    counts = torch.bincount(s.train.y, minlength=3).double() / 3000
    assert float((counts - 1 / 3).abs().max()) < 0.05
    # normalised per set: mean 0, std 1 over its 25 x 100 values
    flat = s.test.x.reshape(300, -1).double()
    assert float(flat.mean(1).abs().max()) < 1e-5 and float((flat.std(1) - 1).abs().max()) < 1e-4
    # deterministic; a larger test set keeps the paper's 300 and the other splits
    again = signals.make_signals(seed=0, test_size=450)
    assert torch.equal(again.train.x, s.train.x) and torch.equal(again.val.x, s.val.x)
    assert torch.equal(again.test.x[:300], s.test.x) and len(again.test) == 450
    assert not torch.equal(signals.make_signals(seed=1).train.x[:5], s.train.x[:5])


def test_signals_raw_draws_match_the_formula():
    """Noise-free check of the generator: with the noise drawn separately, the rest is exactly
    offset + amplitude * wave, with scipy's square / sawtooth."""
    from scipy import signal

    rng = np.random.default_rng(5)
    x, y = signals._draw(rng, 40)
    t = np.linspace(0, 1, 100)
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, size=40)
    f, s, a, c = (rng.uniform(lo, hi, size=40) for lo, hi in ((1, 10), (0, 1), (1, 10), (-5, 5)))
    noise = rng.normal(0, 3, size=(40, 25, 100))
    assert np.array_equal(labels, y)
    for i in range(40):
        phase = 2 * np.pi * f[i] * (t + s[i])
        wave = [np.sin, signal.square, signal.sawtooth][labels[i]](phase)
        np.testing.assert_allclose(x[i], c[i] + a[i] * (wave + noise[i]), rtol=1e-12, atol=1e-12)
    assert 1 <= f.min() and f.max() < 10  # the draws lie in the stated ranges
    # the noise has the stated scale: per-set residual std about 3 * amplitude
    assert abs(np.std(noise) - 3.0) < 0.05


def test_normalisation_commutes_with_sets_and_shifts():
    x = torch.randn(3, 25, 1, 100, dtype=torch.float64) * 7 + 2
    perm = torch.randperm(25)
    shift = int(torch.randint(0, 100, ()))
    moved = torch.roll(x[:, perm], shifts=shift, dims=-1)
    torch.testing.assert_close(signals.normalise(moved), torch.roll(signals.normalise(x)[:, perm], shift, -1))


# -- the paper's networks -------------------------------------------------------------------------
def test_strided_basis_is_a_full_width_stride_two_circular_convolution():
    B = layers.models.strided_cyclic(100)
    assert B.shape == (50, 100) and B.dim == 100
    lin = layers.EquivariantLinear(B, 1, 1, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.randn_like(lin.weight))
    W = lin.dense_weight()[0, 0]
    # the independent reference: Conv1d(kernel 100, stride 2) with circular padding
    # output i of Conv1d(kernel k, stride 2, circular) reads x[(2i + t) mod 100] with weight k[t];
    # output 0 gives k = W[0]
    x = torch.randn(4, 1, 100, dtype=torch.float64)
    padded = torch.nn.functional.pad(x, (0, 99), mode="circular")
    ref = torch.nn.functional.conv1d(padded, W[0].reshape(1, 1, 100), stride=2)
    torch.testing.assert_close(lin(x), ref, rtol=1e-10, atol=1e-10)
    with pytest.raises(EqsolveError, match="divisible"):
        layers.models.strided_cyclic(25)


def test_paper_preset_mirrors_the_published_network():
    net = signals.build("dss-sum", "paper")
    # two full-width convolutions per layer (single + set branch), one bias per layer, the
    # norms' affine parameters, the linear head
    convs = 2 * (1 * 160 * 100 + 160 * 160 * 50 + 160 * 80 * 25)
    expected = convs + (160 + 160 + 80) + 2 * (160 + 160 + 80) + 80 * 3 + 3
    assert layers.count_parameters(net) == expected == 3233443
    assert net.config["bases"] == [[50, 100], [25, 50], [25, 25]]
    rows = {r["model"]: r for r in signals.parameter_table("small")}
    assert all(abs(r["ratio"] - 1) < 0.05 for r in rows.values()), rows


def test_norm_after_a_stride_uses_the_output_points():
    from eqsolve.layers.blocks import DSSBlock

    block = DSSBlock(layers.models.strided_cyclic(100), 1, 3, norm="batch")
    assert block(torch.randn(2, 4, 1, 100)).shape == (2, 4, 3, 50)


@pytest.mark.parametrize("name", signals.MODELS)
def test_every_signal_model_is_invariant(name):
    """Invariant to reordering the set and to shifting every element by a multiple of 4 points:
    two stride-2 layers leave C_25 (shifts by 4) of C_100, as in the published network."""
    torch.manual_seed(0)
    net = signals.build(name, "small").double().eval()
    x = torch.randn(3, 25, 1, 100, dtype=torch.float64)
    perm = torch.randperm(25)
    moved = torch.roll(x[:, perm], shifts=4 * int(torch.randint(1, 25, ())), dims=-1)
    out = net(x)
    assert out.shape == (3, 3)
    if name == "mlp":  # uses no symmetry: the same input, the same output
        return
    if name == "deepsets":  # S_n only
        moved = x[:, perm]
    torch.testing.assert_close(net(moved), out, rtol=1e-9, atol=1e-9)


# -- the loop ---------------------------------------------------------------------------------------
def test_amp_and_compile_paths_run_on_cpu():
    net, data = tiny_problem()
    h = layers.train.train_model(net, data, val=data, epochs=1, batch_size=16, amp=True, progress=False)
    assert np.isfinite(h.losses[0]) and 0 <= h.best_val <= 1
    net, data = tiny_problem()
    h = layers.train.train_model(net, data, epochs=1, batch_size=16, compile=True, compile_backend="eager",
                                 progress=False)
    assert np.isfinite(h.losses[0])


def test_two_processes_follow_the_one_process_loss_trajectory(tmp_path):
    from eqsolve.layers.train.parallel import _context

    net, data = tiny_problem()
    single = layers.train.train_model(net, data, epochs=3, batch_size=16, lr=1e-2, seed=0, progress=False)
    weights = [p.detach().double().sum().item() for p in net.parameters()]
    out = tmp_path / "ddp.json"
    # the two ranks fork from the sweep workers' server (torch imported once, shared with
    # test_train_sweep), not two fresh interpreters
    method = _context().get_start_method()
    torch.multiprocessing.start_processes(ddp_worker, args=(2, str(tmp_path / "store"), str(out)), nprocs=2,
                                          join=True, start_method=method)
    ddp = json.loads(out.read_text())
    np.testing.assert_allclose(ddp["losses"], single.losses, rtol=1e-5)
    np.testing.assert_allclose(ddp["weights"], weights, rtol=1e-4, atol=1e-5)
    assert single.losses[-1] < single.losses[0]


def test_cuda_without_cuda_is_refused():
    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    net, data = tiny_problem()
    with pytest.raises(EqsolveError, match="CUDA is not available"):
        layers.train.train_model(net, data, device="cuda", epochs=1)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_matches_cpu_shapes():
    net, data = tiny_problem()
    h = layers.train.train_model(net, data, val=data, epochs=2, batch_size=16, device="cuda", amp=True,
                                 progress=False)
    assert next(net.parameters()).is_cuda and np.isfinite(h.losses).all()


# -- the runner and the CLI -------------------------------------------------------------------------
def test_cli_end_to_end_writes_every_file_and_learns(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli_main(["train", "signals", "--model", "dss-sum", "deepsets", "--train-size", "160", "--epochs", "4",
                     "--batch-size", "16", "--lr", "0.005", "--val-size", "64", "--test-size", "96",
                     "--out", str(out), "--threads", "1"])
    assert code == 0
    text = capsys.readouterr().out
    assert "accuracy (test)" in text and "dss-sum" in text and "deepsets" in text
    for name in ("config.json", "results.json", "results.csv", "figure.png"):
        assert (out / name).is_file(), name
    assert sorted(os.listdir(out / "checkpoints")) == ["deepsets-n160-s0.pt", "dss-sum-n160-s0.pt"]
    config = json.loads((out / "config.json").read_text())
    assert config["models"] == ["dss-sum", "deepsets"] and config["epochs"] == 4 and config["test_size"] == 96
    results = json.loads((out / "results.json").read_text())
    dss = next(c for c in results["cells"] if c["model"] == "dss-sum")
    assert dss["losses"][-1] < dss["losses"][0]
    assert dss["test"] > 0.5 > results["baseline"], (dss, results["baseline"])  # chance is about 1/3
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0].startswith("model,train_size,seed") and len(rows) == 3


def test_float_or_negative_labels_are_clear_errors():
    data = layers.train.synthetic_signal_sets(16, n=3, d=8, rng=0)
    net = layers.models.invariant(eqsolve.solve(eqsolve.groups.cyclic(8)), [1, 4], n_classes=3)
    soft = layers.train.SetData(data.x, data.y.to(torch.float32))
    with pytest.raises(eqsolve.EqsolveError, match=r"data.y holds torch.float32 .* pass y.long\(\)"):
        layers.train.train_model(net, soft, epochs=1)
    with pytest.raises(eqsolve.EqsolveError, match="val.y has a negative class label"):
        layers.train.train_model(net, data, val=layers.train.SetData(data.x, data.y - 1), epochs=1)
    # an explicit loss takes any targets: soft labels through a loss of the user's choosing train
    history = layers.train.train_model(net, soft, epochs=1, loss=lambda out, y: (out[:, 0] - y).pow(2).mean())
    assert len(history.losses) == 1


def test_quiet_prints_only_the_final_table(tmp_path, capsys):
    code = cli_main(["train", "signals", "--model", "deepsets", "--train-size", "32", "--epochs", "1",
                     "--val-size", "16", "--test-size", "16", "--out", str(tmp_path / "q"), "--threads", "1",
                     "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "deepsets" in text and "accuracy (test)" in text  # the table
    assert "deepsets-n32-s0:" not in text and "results in" not in text  # no per-cell lines, no trailer


def test_resume_gives_the_uninterrupted_result(tmp_path):
    straight = runner.run("signals", out=str(tmp_path / "a"), **SMALL)

    class Stop(Exception):
        pass

    def interrupt(cell, epoch, history):
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        runner.run("signals", out=str(tmp_path / "b"), callback=interrupt, **SMALL)
    state = torch.load(tmp_path / "b" / "checkpoints" / "dss-sum-n48-s0.pt", weights_only=True)
    assert state["epoch"] == 1 and SMALL["epochs"] == 2
    resumed = runner.run("signals", out=str(tmp_path / "b"), resume=True, **SMALL)
    a, b = straight["cells"][0], resumed["cells"][0]
    assert a["losses"] == b["losses"] and a["val_curve"] == b["val_curve"] and a["test"] == b["test"]
    assert b["epoch_seconds"][:1] == state["history"]["seconds"]  # continued, not trained again
    # a finished run resumes to itself without training again
    again = runner.run("signals", out=str(tmp_path / "b"), resume=True, **SMALL)
    assert again["cells"][0] == b


def _snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder)) if (folder / name).is_file()}


def test_bad_arguments_are_clear_errors_and_leave_results_alone(tmp_path, capsys):
    out = tmp_path / "run"
    runner.run("signals", out=str(out), **dict(SMALL, epochs=1))
    before = _snapshot(out)
    cases = [
        (["--model", "resnet"], "unknown model 'resnet'"),
        (["--train-size", "0"], "--train-size must be >= 1"),
        (["--train-size", "5000"], "exceeds"),
        (["--seeds", "101"], "--seeds must be 1 to 100"),
        (["--device", "cuda"] if not torch.cuda.is_available() else ["--device", "tpu"], "CUDA is not available|device"),
        (["--preset", "huge"], "unknown preset"),
        (["--epochs", "0"], "--epochs must be >= 1"),
    ]
    for extra, message in cases:
        code = cli_main(["train", "signals", "--out", str(out)] + extra)
        err = capsys.readouterr().err
        assert code == 2 and "error" in err, (extra, err)
        import re

        assert re.search(message, err), (extra, err)
    # an existing run is never overwritten without --resume
    assert cli_main(["train", "signals", "--out", str(out), "--epochs", "1"]) == 2
    assert "already holds results" in capsys.readouterr().err
    # a results folder that is a file
    afile = tmp_path / "file.txt"
    afile.write_text("keep me")
    assert cli_main(["train", "signals", "--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err and afile.read_text() == "keep me"
    assert cli_main(["train", "nosuchtask"]) == 2 and "unknown task" in capsys.readouterr().err
    assert cli_main(["train", "signals", "--resume", str(out), "--epochs", "5"]) == 2
    assert "options in DIR/config.json" in capsys.readouterr().err
    assert cli_main(["train", "signals", "--resume", str(tmp_path / "none")]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert _snapshot(out) == before


def test_corrupt_or_foreign_checkpoints_are_refused(tmp_path):
    net, data = tiny_problem()
    path = str(tmp_path / "ck.pt")
    layers.train.train_model(net, data, epochs=1, batch_size=16, checkpoint=path, fingerprint={"run": 1},
                             progress=False)
    good = open(path, "rb").read()
    net, data = tiny_problem()
    with pytest.raises(EqsolveError, match="belongs to another run"):
        layers.train.train_model(net, data, epochs=2, checkpoint=path, fingerprint={"run": 2}, progress=False)
    with open(path, "wb") as f:
        f.write(good[: len(good) // 2])
    with pytest.raises(EqsolveError, match="damaged or not a checkpoint"):
        layers.train.train_model(net, data, epochs=2, checkpoint=path, fingerprint={"run": 1}, progress=False)
    torch.save({"something": torch.zeros(2)}, path)
    with pytest.raises(EqsolveError, match="not an eqsolve training checkpoint"):
        layers.train.train_model(net, data, epochs=2, checkpoint=path, progress=False)
    # through the runner: a damaged checkpoint of an interrupted cell stops the resume, and the
    # results written so far stay as they were
    out = tmp_path / "run"

    def interrupt(cell, epoch, history):
        if cell.startswith("dss-sum-n32"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run("signals", out=str(out), callback=interrupt, **dict(SMALL, sizes=[48, 32]))
    with open(out / "checkpoints" / "dss-sum-n32-s0.pt", "wb") as f:
        f.write(b"not a checkpoint")
    before = _snapshot(out)
    with pytest.raises(EqsolveError, match="damaged"):
        runner.run("signals", out=str(out), resume=True, **dict(SMALL, sizes=[48, 32]))
    assert _snapshot(out) == before and json.loads((out / "results.json").read_text())["cells"][0]["train_size"] == 48


def test_task_registry_lists_and_refuses():
    assert "signals" in tasks.names()
    with pytest.raises(EqsolveError, match="unknown task"):
        tasks.get("nope")
    with pytest.raises(EqsolveError, match="seeds must be 1 to 100"):
        runner.run("signals", out="unused", seeds=101)


@pytest.mark.slow
def test_torchrun_two_cpu_processes_end_to_end(tmp_path):
    """``torchrun --nproc-per-node 2 -m eqsolve train ...``: gloo, rank 0 writes every file once."""
    import subprocess

    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "eqsolve", "train", "signals", "--model", "dss-sum", "--train-size", "64",
                          "--epochs", "2", "--batch-size", "16", "--val-size", "32", "--test-size", "32",
                          "--out", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    results = json.loads((out / "results.json").read_text())
    assert config["processes"] == 2 and len(results["cells"]) == 1
    assert run.stdout.count("accuracy (test)") == 1  # the table is printed by rank 0 only


def test_model_registry_builds_every_name_with_factory_arguments():
    B = eqsolve.solve(eqsolve.groups.cyclic(6))
    reference = layers.count_parameters(layers.models.invariant(B, [1, 8, 8]))
    for name in layers.MODELS:
        task = name[4:] if name[4:] in ("selection", "merging", "equivariant") else "invariant"
        net = layers.build(name, B, task, [1, 8, 8], n=5, dtype=torch.float64, device="cpu")
        assert all(p.dtype == torch.float64 for p in net.parameters()), name
        out = net(torch.randn(2, 5, 1, 6, dtype=torch.float64))
        assert out.shape == net.output_shape(2, 5), name
        if name in ("mlp", "deepsets", "siamese", "siamese-ds"):  # matched to the DSS model of the channels
            assert abs(layers.count_parameters(net) / reference - 1) < 0.2, name
    assert layers.build("dss-max", B).config["aggregation"] == "max"
    with pytest.raises(EqsolveError, match="unknown model 'resnet'"):
        layers.build("resnet", B)
    net = layers.models.network(B, [1, 4, 4], norm="batch", dtype=torch.float64)
    assert next(net.parameters()).dtype == torch.float64


def test_blocks_take_aggregation_and_warn_on_reduce():
    from eqsolve.layers.blocks import DeepSetsBlock, OrbitPool, SetReduce

    B = eqsolve.solve(eqsolve.groups.cyclic(4))
    x = torch.randn(2, 3, 5)
    assert torch.equal(SetReduce("max")(x), x.amax(1))
    with pytest.warns(DeprecationWarning):
        old = SetReduce(reduce="max")
    assert old.aggregation == "max"
    with pytest.warns(DeprecationWarning):
        assert DeepSetsBlock(5, 2, reduce="max").aggregation == "max"
    assert OrbitPool(B, 2, "sum")(torch.ones(1, 3, 2, 4)).tolist() == [[[4.0, 4.0]] * 3]
    with pytest.raises(EqsolveError, match="not both"):
        OrbitPool(B, 2, "sum", reduce="sum")
