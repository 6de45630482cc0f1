"""--compile where torch.compile fails: a warning naming the reason, then an uncompiled run."""

import torch

from eqsolve.cli import train as train_cli
from eqsolve.cli._main import main


def test_compile_failure_warns_and_trains_uncompiled(monkeypatch, capsys, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("no C compiler found\nmore details")

    monkeypatch.setattr(torch, "compile", broken)
    assert train_cli.compile_problem("cpu") == "RuntimeError: no C compiler found"
    seen = {}
    from eqsolve.layers.train import runner

    monkeypatch.setattr(runner, "run", lambda task, **kwargs: seen.update(kwargs))
    assert main(["train", "signals", "--compile", "--out", str(tmp_path)]) == 0
    assert seen["compile"] is False
    assert "--compile ignored, torch.compile does not work here (RuntimeError: no C compiler found)" in capsys.readouterr().err


def test_missing_torch_compile(monkeypatch):
    monkeypatch.delattr(torch, "compile")
    assert "has no torch.compile" in train_cli.compile_problem("cpu")


def test_working_compile_is_kept(monkeypatch, tmp_path):
    monkeypatch.setattr(train_cli, "compile_problem", lambda device: None)
    seen = {}
    from eqsolve.layers.train import runner

    monkeypatch.setattr(runner, "run", lambda task, **kwargs: seen.update(kwargs))
    assert main(["train", "signals", "--compile", "--out", str(tmp_path)]) == 0
    assert seen["compile"] is True
