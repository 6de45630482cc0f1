"""Fast sweeps (issue 9): cells in worker processes give the one-process numbers and resume;
the fused single-orbit batch norm equals the per-orbit computation; refusals; the task list
in ``eqsolve train --help``. CPU, a few dozen sets."""

import json
import os

import pytest
import torch

import eqsolve
from eqsolve import EqsolveError, layers
from eqsolve.cli import main as cli_main
from eqsolve.layers.train import runner, signals, tasks

from _train_helpers import one_thread  # noqa: E402,F401  (autouse fixture: one torch thread)

SWEEP = dict(models=["dss-sum", "deepsets"], sizes=[32, 48], seeds=1, epochs=2, batch_size=16, val_size=32,
             test_size=32, progress=False, quiet=True)
TIMING = ("epoch_seconds", "seconds", "session_seconds")


def _metrics(cells):
    return [{k: v for k, v in c.items() if k not in TIMING} for c in cells]


def test_workers_give_the_one_process_results_and_resume(tmp_path):
    """2 workers x 1 thread == 1 process x 1 thread, cell by cell, exactly; a parallel sweep
    interrupted after its first finished cell keeps that cell and continues the others."""
    serial = runner.run("signals", out=str(tmp_path / "a"), **SWEEP)
    assert len(serial["cells"]) == 4
    out = tmp_path / "b"
    seen = []

    class Stop(Exception):
        pass

    def interrupt(cell, epoch, history):  # runs in this process, as the workers report epochs
        assert len(history.losses) == epoch and history.best_state is None
        if (out / "results.json").exists():
            seen.append(cell)
            raise Stop

    with pytest.raises(Stop):
        runner.run("signals", out=str(out), workers=2, worker_threads=1, callback=interrupt, **SWEEP)
    kept = json.loads((out / "results.json").read_text())["cells"]
    assert 1 <= len(kept) < 4
    state = torch.load(out / "checkpoints" / f"{seen[0]}.pt", weights_only=True)  # the cell that was training
    assert state["format"] == "eqsolve.train.checkpoint/1" and state["epoch"] >= 1
    resumed = runner.run("signals", out=str(out), workers=2, worker_threads=1, resume=True, **SWEEP)
    assert _metrics(resumed["cells"]) == _metrics(serial["cells"])  # same cells, same order, same numbers
    assert resumed["summary"] == serial["summary"]
    by_cell = {runner._cell_name(c["model"], c["train_size"], c["seed"]): c for c in resumed["cells"]}
    for c in kept:  # finished cells are kept as they were, not trained again
        assert by_cell[runner._cell_name(c["model"], c["train_size"], c["seed"])] == c
    continued = by_cell[seen[0]]  # its first epochs come from the checkpoint
    assert continued["epoch_seconds"][:state["epoch"]] == state["history"]["seconds"]
    written = json.loads((out / "results.json").read_text())
    assert _metrics(written["cells"]) == _metrics(serial["cells"])
    assert sorted(os.listdir(out / "checkpoints")) == sorted(os.listdir(tmp_path / "a" / "checkpoints"))
    for name in os.listdir(out / "checkpoints"):  # the best weights, written by this process
        a = torch.load(tmp_path / "a" / "checkpoints" / name, weights_only=True)
        b = torch.load(out / "checkpoints" / name, weights_only=True)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a if isinstance(a[k], torch.Tensor))
    assert json.loads((out / "config.json").read_text())["workers"] == 2


def test_worker_settings_are_refused_clearly(tmp_path, capsys, monkeypatch):
    task = tasks.get("signals")
    cpu = torch.device("cpu")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(EqsolveError, match="workers must be an integer >= 1"):
            runner.run("signals", out=str(tmp_path / "x"), workers=bad, **SWEEP)
    with pytest.raises(EqsolveError, match="worker_threads must be an integer >= 1"):
        runner.run("signals", out=str(tmp_path / "x"), workers=2, worker_threads=0, **SWEEP)
    with pytest.raises(EqsolveError, match="parallel CPU processes"):
        runner._check_workers(task, 2, None, torch.device("cuda"), 1)
    with pytest.raises(EqsolveError, match="torchrun"):
        runner._check_workers(task, 2, None, cpu, 2)
    own = tasks.Task(**{**task.__dict__, "name": "my-signals"})
    with pytest.raises(EqsolveError, match="registered in this process"):
        runner._check_workers(own, 2, None, cpu, 1)
    assert runner._check_workers(own, 1, None, cpu, 1) == 1
    assert not (tmp_path / "x").exists()  # refused before anything is written
    cases = [(["--workers", "0"], "--workers must be >= 1"),
             (["--workers", "2", "--device", "cuda"], "parallel CPU processes")]
    for extra, message in cases:
        assert cli_main(["train", "signals", "--out", str(tmp_path / "y")] + extra) == 2
        assert message in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert cli_main(["train", "signals", "--workers", "2", "--out", str(tmp_path / "y")]) == 2
    assert "torchrun" in capsys.readouterr().err and not (tmp_path / "y").exists()


def test_train_help_lists_every_registered_task(capsys):
    with pytest.raises(SystemExit):
        cli_main(["train", "--help"])
    text = capsys.readouterr().out
    assert "{tasks}" not in text and "signals, ..." not in text
    listed = text.split("tasks: ", 1)[1].split(" (", 1)[0]
    assert listed.split(", ") == tasks.names()
    assert set(tasks.names()) >= {"signals", "colors", "quality", "deblur", "shapes"}
    assert f"task name: {', '.join(tasks.names())}" in " ".join(text.split())


def test_a_cells_initial_weights_do_not_depend_on_earlier_cells():
    """The baselines' width search (cached) used to draw from the seeded stream on first use;
    the runner also guards any task's builder against such caches."""
    def weights():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(3)
            return [p.detach().clone() for p in signals.build("deepsets", "small").parameters()]

    signals._matched_width.cache_clear()
    cold = weights()
    warm = weights()
    assert len(cold) == len(warm) and all(torch.equal(a, b) for a, b in zip(cold, warm))

    cache = []

    def build_model(name, preset, splits=None):  # draws from the stream on its first call only
        if not cache:
            cache.append(torch.randn(5))
        return torch.nn.Linear(3, 2)

    task = tasks.Task(**{**tasks.get("signals").__dict__, "name": "cached-builder", "build_model": build_model})
    first = runner._build(task, "dss-sum", "small", None, 7)
    again = runner._build(task, "dss-sum", "small", None, 7)
    assert torch.equal(first.weight, again.weight) and len(cache) == 1


@pytest.mark.parametrize("affine,track", [(True, True), (False, True), (True, False)])
def test_single_orbit_batch_norm_is_the_per_orbit_computation(affine, track):
    """The fused path (one orbit: F.batch_norm on (-1, c, d)) against the general per-orbit
    code (reached with an all-true mask, which changes nothing), in float64: outputs, input and
    parameter gradients, running statistics over two steps, and evaluation mode."""
    B = eqsolve.solve(eqsolve.groups.cyclic(10))
    torch.manual_seed(0)
    fused = layers.EquivariantBatchNorm(B, 3, affine=affine, track_running_stats=track, momentum=0.3).double()
    general = layers.EquivariantBatchNorm(B, 3, affine=affine, track_running_stats=track, momentum=0.3).double()
    assert fused.n_orbits == 1
    if affine:
        with torch.no_grad():
            for m in (fused, general):
                m.weight.copy_(torch.linspace(0.5, 2.0, 3, dtype=torch.float64).reshape(3, 1))
                m.bias.copy_(torch.tensor([[0.1], [-0.2], [0.3]], dtype=torch.float64))
    for step in range(2):
        x = (torch.randn(4, 5, 3, 10, dtype=torch.float64) * (step + 2) + 1).requires_grad_()
        x2 = x.detach().clone().requires_grad_()
        g = torch.randn(4, 5, 3, 10, dtype=torch.float64)
        y = fused(x)
        y2 = general(x2, torch.ones(4, 5, dtype=torch.bool))
        torch.testing.assert_close(y, y2, rtol=1e-12, atol=1e-12)
        (y * g).sum().backward()
        (y2 * g).sum().backward()
        torch.testing.assert_close(x.grad, x2.grad, rtol=1e-10, atol=1e-12)
        if affine:
            torch.testing.assert_close(fused.weight.grad, general.weight.grad, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(fused.bias.grad, general.bias.grad, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(fused.running_mean, general.running_mean, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(fused.running_var, general.running_var, rtol=1e-12, atol=1e-12)
    if track:
        assert float(fused.running_var.sub(1).abs().max()) > 0.1  # the statistics moved
    fused.eval()
    general.eval()
    x = torch.randn(6, 3, 10, dtype=torch.float64)
    torch.testing.assert_close(fused(x), general(x, torch.ones(6, dtype=torch.bool)), rtol=1e-12, atol=1e-12)
    # an independent reference for training mode: torch's BatchNorm1d on (-1, c, d)
    ref = torch.nn.BatchNorm1d(3, affine=False, track_running_stats=False).double()
    plain = layers.EquivariantBatchNorm(B, 3, affine=False, track_running_stats=False).double()
    x = torch.randn(2, 7, 3, 10, dtype=torch.float64)
    torch.testing.assert_close(plain(x), ref(x.reshape(-1, 3, 10)).reshape(x.shape), rtol=1e-12, atol=1e-12)
