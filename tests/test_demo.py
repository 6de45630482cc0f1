"""`eqsolve demo`: every stage runs, the baseline is comparable, the export reloads."""

import re

import pytest

from eqsolve.cli import main


def _accuracies(out):
    found = dict(re.findall(r"^\s+(DSS \(invariant\)|late aggregation \(Siamese\))\s+(\d+) parameters", out, re.M))
    acc = dict(re.findall(r"^\s+(DSS \(invariant\)|late aggregation \(Siamese\)).*test accuracy (\d\.\d+)", out, re.M))
    return {k: int(v) for k, v in found.items()}, {k: float(v) for k, v in acc.items()}


def test_demo_small_runs_every_stage(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    main(["demo", "--epochs", "1", "--sets", "60", "--n", "4", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    for stage in ("[1] solve", "[2] count", "[3] verify", "[4] train", "[5] export"):
        assert stage in out
    sizes, acc = _accuracies(out)
    # the baseline is matched to the DSS network's size (within 10%)
    assert len(sizes) == 2 and abs(sizes["late aggregation (Siamese)"] / sizes["DSS (invariant)"] - 1) < 0.1
    assert set(acc) == set(sizes)
    from eqsolve import layers

    program = layers.load_exported(tmp_path / "dss-invariant.pt2")
    assert program(torch.randn(2, 4, 1, 32)).shape == (2, 3)
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_demo_default_trains_clearly_better_than_chance(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    _, acc = _accuracies(capsys.readouterr().out)
    assert acc["DSS (invariant)"] > 0.5  # chance is 1/3
