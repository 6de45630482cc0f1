"""``eqsolve verify`` / ``eqsolve show`` through eqsolve.cli.main, and the paper suite."""

from __future__ import annotations

import json
import time

import pytest

from eqsolve import theory
from eqsolve import EqsolveError
from eqsolve.cli import main
from eqsolve.theory import Computation, Results, check, suite

from eqsolve.theory.pictures import have_matplotlib

needs_matplotlib = pytest.mark.skipif(not have_matplotlib(), reason="pictures need matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_verify_table(capsys):
    rc = main(["verify", "(0 1 2 3 4 5)", "--n", "4", "--in-channels", "2", "--out-channels", "3"])
    out = capsys.readouterr().out
    assert rc == 0
    for claim in ("Lemma 1", "E(S_n)", "Theorem 1", "Theorem 1: DSS form", "Generalization: equivariant",
                  "Generalization: invariant", "Generalization: selection", "Generalization: merging",
                  "Wreath", "Products"):
        assert claim in out
    assert "all 10 claims agree" in out
    assert "orbits on S_4 x H = 12" in out  # 2 E(C_6) on the product group itself


def test_verify_json_fields(capsys):
    rc = main(["verify", "--group", "cyclic:10", "--n", "5", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert rc == 0 and record["agree"] is True and record["status"] == "agree"
    assert record["group"] == "cyclic:10" and record["n"] == 5
    assert record["in_channels"] == record["out_channels"] == 1
    claims = {c["claim"]: c for c in record["results"]}
    t1 = claims["Theorem 1"]
    assert t1["predicted"] == 20
    # the JSON keys are the attribute names of theory.ClaimResult and theory.Computation
    from eqsolve.theory import ClaimResult, Computation

    assert set(t1) <= set(ClaimResult.__dataclass_fields__) | {"independent"}
    assert {"claim", "statement", "predicted", "predicted_by", "computations", "skipped", "agree", "status",
            "fallback", "explanation", "seconds", "independent"} <= set(t1)
    assert all(set(m) <= set(Computation.__dataclass_fields__) for m in t1["computations"])
    assert all({"method", "value", "exact", "seconds", "agrees"} <= set(m) for m in t1["computations"])
    assert t1["independent"] >= 2
    assert any(s["reason"] for s in t1["skipped"])


def test_verify_gap_and_flags(capsys):
    rc = main(["verify", "--gap", "(1,2,3,4)(5,6), (1,2)", "--n", "3", "--no-wreath", "--no-products"])
    out = capsys.readouterr().out
    assert rc == 0 and "Wreath" not in out and "Products" not in out and "all 8 claims agree" in out


@pytest.mark.parametrize("argv, message", [
    (["verify", "--group", "cyclic:5", "--n", "0"], "n must be an integer >= 1, got 0"),
    (["verify", "--group", "cyclic:5", "--in-channels", "0", "--out-channels", "3"], "in_channels must be an integer >= 1, got 0"),
    (["verify", "--group", "cyclic:5", "--in-channels", "3", "--out-channels", "-1"], "out_channels must be an integer >= 1, got -1"),
    (["verify", "--group", "cyclic:5", "--suite", "paper"], "either --suite or a group"),
    (["verify", "--group", "cyclic:5", "--max-memory", "lots"], "--max-memory must look like"),
    (["verify", "--group", "cyclic:5", "--max-elements", "0"], "max_elements must be a positive integer"),
    (["verify", "--group", "cyclic:5", "--pictures", "x"], "--pictures needs --report"),
    (["verify"], "no group given"),
    (["verify", "(0 1", "--n", "2"], "cycle"),
    (["show", "--group", "cyclic:5", "--out", "x.jpg"], "PNG"),
    (["show", "--group", "cyclic:5", "--n", "0", "--out", "x.png"], "--n must be an integer >= 1"),
    (["show", "--group", "cyclic:5", "--max-points", "0", "--out", "x.png"], "--max-points must be >= 1"),
    (["show", "--group", "cyclic:5", "--out", "/nonexistent-dir/x.png"], "does not exist"),
])
def test_bad_input_exit_code_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = main(argv)
    captured = capsys.readouterr()
    assert rc == 2
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_verify_exit_code_on_disagreement(capsys, monkeypatch):
    def fake_verify(H, n, *args, **kwargs):
        good = check("ok", "1 = 1", 1, [Computation("a", 1, True, 0.0)])
        bad = check("wrong", "E = 5", 5, [Computation("orbits", 4, True, 0.0)])
        return Results([good, bad])

    monkeypatch.setattr(theory, "verify", fake_verify)
    assert main(["verify", "--group", "cyclic:3"]) == 1
    out = capsys.readouterr().out
    assert "DISAGREE" in out and "1 disagree" in out
    assert main(["verify", "--group", "cyclic:3", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "disagree"

    def unchecked_verify(H, n, *args, **kwargs):
        return Results([check("nothing ran", "", 5, [])])

    monkeypatch.setattr(theory, "verify", unchecked_verify)
    assert main(["verify", "--group", "cyclic:3"]) == 3
    assert "UNCHECKED" in capsys.readouterr().out


@needs_matplotlib
def test_show_writes_png_atomically(tmp_path, capsys):
    path = tmp_path / "sharing.png"
    assert main(["show", "--group", "grid:8x8", "--out", str(path)]) == 0
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert "64 shared weights over a 64 x 64 matrix" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["sharing.png"]  # no temporary file left behind
    dss = tmp_path / "dss.png"
    assert main(["show", "--group", "cyclic:12", "--n", "3", "--out", str(dss), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["dimension"] == 24 and info["shape"] == [36, 36] and not info["cropped"]
    big = tmp_path / "big.png"
    assert main(["show", "--group", "cyclic:600", "--max-points", "100", "--out", str(big), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["cropped"] and info["shown"] == [100, 100]
    assert main(["show", "--group", "symmetric:4", "--out-power", "2", "--out", str(tmp_path / "s4.png")]) == 0


@needs_matplotlib
def test_verify_report_for_one_group(tmp_path, capsys):
    report = tmp_path / "grid.md"
    assert main(["verify", "--group", "grid:4x4", "--n", "3", "--report", str(report)]) == 0
    text = report.read_text()
    assert "Lemma 1" in text and "Theorem 1: DSS form" in text and "agree" in text
    assert "![sharing pattern](grid_files/group-H.png)" in text
    assert (tmp_path / "grid_files" / "group-H.png").read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "grid_files" / "group-DSS.png").exists()
    assert "report written to" in capsys.readouterr().out
    plain = tmp_path / "plain.md"
    assert main(["verify", "--group", "cyclic:4", "--report", str(plain), "--no-pictures"]) == 0
    assert "![" not in plain.read_text() and not (tmp_path / "plain_files").exists()


def test_paper_suite_small_settings(tmp_path):
    """The fast settings of the paper suite at their true sizes, with report and pictures."""
    keys = ["signals", "points", "graphs", "tabular", "deepsets"]
    result = suite.paper(settings=keys)
    assert result.agree and result.status == "agree"
    assert [s.setting.key for s in result.sections[:-1]] == keys
    graphs = next(s for s in result.sections if s.setting and s.setting.key == "graphs")
    lemma = graphs.results[0]
    assert lemma.predicted == 15  # S_20 on the 400 entries of an adjacency matrix: Bell(4)
    extras = result.sections[-1].results
    assert [r.predicted for r in extras if r.claim == "Bell"] == [1, 2, 5, 15, 52, 203]
    assert [r.predicted for r in extras if r.claim == "Products"] == [4, 36]
    pictures = suite.write_report(result, tmp_path / "verify.md")
    assert len(pictures) == (2 * len(keys) if have_matplotlib() else 0)
    text = (tmp_path / "verify.md").read_text()
    assert "All claims agree" in text and "How to read this" in text and "## Timings" in text
    json.dumps(result.to_dict())
    with pytest.raises(EqsolveError, match="unknown setting"):
        suite.paper(settings=["nope"])


def test_report_without_matplotlib_says_so(tmp_path, monkeypatch, capsys):
    import eqsolve.theory.pictures

    monkeypatch.setattr(theory.pictures, "have_matplotlib", lambda: False)
    report = tmp_path / "r.md"
    assert main(["verify", "--group", "cyclic:4", "--n", "2", "--report", str(report)]) == 0
    text = report.read_text()
    assert "matplotlib is not installed" in text and "![" not in text


@pytest.mark.slow
def test_paper_suite_full(tmp_path, capsys):
    """The whole suite through the CLI: every row agrees. (About 35 s on one core, plus a
    few seconds for pictures; the measured time is printed, not asserted.)"""
    start = time.perf_counter()
    report = tmp_path / "verify.md"
    rc = main(["verify", "--suite", "paper", "--report", str(report), "--json"])
    record = json.loads(capsys.readouterr().out)
    assert rc == 0 and record["agree"] and record["status"] == "agree"
    sections = {s.get("key"): s for s in record["sections"]}
    images20 = {c["claim"]: c for c in sections["images-20"]["results"]}
    # S_20 x (64 x 64 translations) acts on 81920 points: solved directly in compact form, no fallback
    for claim in ("Theorem 1", "Theorem 1: DSS form"):
        assert not images20[claim]["fallback"] and images20[claim]["predicted"] == 8192
    assert any(m["method"] == "orbits on S_20 x H" and m["value"] == 8192 for m in images20["Theorem 1"]["computations"])
    assert any(m["method"] == "structure of orbit_index" and m["value"] == 8192
               for m in images20["Theorem 1: DSS form"]["computations"])
    left = [(key, c["claim"], c["fallback"]) for key, sec in sections.items() for c in sec["results"] if c["fallback"]]
    print("rows with a fallback:", left)
    images6 = {c["claim"]: c for c in sections["images-6"]["results"]}
    assert any(m["method"] == "orbits on S_6 x H" and m["value"] == 8192 for m in images6["Theorem 1"]["computations"])
    assert any(m["method"] == "structure of orbit_index" for m in images6["Theorem 1: DSS form"]["computations"])
    assert len(record["pictures"]) == (14 if have_matplotlib() else 0)
    print(f"paper suite: {record['seconds']:.1f} s computing, {time.perf_counter() - start:.1f} s with pictures")
