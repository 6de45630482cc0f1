"""One JSON vocabulary, one meaning per flag, errors that follow --json, trained exports."""

import json
import math

import pytest

import eqsolve
from eqsolve import groups
from eqsolve.cli import build_parser, main

GROUP_COMMANDS = ["solve", "count", "export", "verify", "show"]


def _sub(name):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[name]


def _run_json(argv, capsys):
    code = main(argv + ["--json"])
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out else None, out.err


def _walk(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, obj


def test_json_vocabulary_is_shared(capsys, tmp_path):
    _, solve, _ = _run_json(["solve", "--group", "symmetric:30"], capsys)
    _, count, _ = _run_json(["count", "--group", "cyclic:7", "--method", "all"], capsys)
    _, verify, _ = _run_json(["verify", "--group", "cyclic:7", "--n", "2", "--no-wreath"], capsys)
    # exact integers: numbers below 2^53, decimal strings beyond (30! > 2^53)
    assert solve["order"] == str(math.factorial(30)) and solve["dimension"] == 2
    assert count["order"] == 7 and count["dimension"] == 7
    assert all(r["value"] == 7 for r in count["results"] if r["exact"])  # not "7"
    assert verify["order"] == 7 and isinstance(verify["results"][0]["predicted"], int)
    # skipped is always a list of {method, reason}
    assert isinstance(count["skipped"], list)
    assert all(isinstance(r["skipped"], list) for r in verify["results"])
    # `dimension`, never `dim`
    for record in (solve, count, verify):
        assert not any(p.endswith(".dim") for p, _ in _walk(record))
    if pytest.importorskip("matplotlib"):
        _, show, _ = _run_json(["show", "--group", "cyclic:5", "--out", str(tmp_path / "s.png")], capsys)
        assert show["dimension"] == 5 and "dim" not in show
    # no integer at or above 2^53 is ever a JSON number
    for record in (solve, count, verify):
        assert all(not (isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**53) for _, v in _walk(record))


@pytest.mark.parametrize("argv, kind", [
    (["solve", "--group", "nosuch:3"], "EqsolveError"),
    (["count", "(0 1", "--degree", "3"], "CycleSyntaxError"),
    (["verify", "--group", "cyclic:4", "--n", "0"], "EqsolveError"),
    (["solve", "--group", "cyclic:4", "--no-such-flag"], "UsageError"),
    (["count", "--group", "cyclic:4", "--method", "guess"], "UsageError"),
])
def test_errors_under_json_are_one_json_object_on_stderr(argv, kind, capsys):
    with pytest.raises(SystemExit) if kind == "UsageError" else _nothing() as info:
        code = main(argv + ["--json"])
    code = info.value.code if kind == "UsageError" else code
    out = capsys.readouterr()
    assert code == 2 and out.out == ""
    error = json.loads(out.err)
    assert error["type"] == kind and error["error"] and error["exit_code"] == 2 and error["command"] == argv[0]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_unknown_flag_is_reported_against_the_subcommand(capsys):
    with pytest.raises(SystemExit) as info:
        main(["count", "--group", "cyclic:4", "--frobnicate"])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.startswith("usage: eqsolve count") and "unrecognized arguments: --frobnicate" in err


@pytest.mark.parametrize("name", GROUP_COMMANDS)
def test_group_options_are_printed_once(name):
    text = _sub(name).format_help()
    assert text.count("1-based GAP notation") == 1 and text.count("a named group (listed above)") == 1
    assert text.count("cyclic:N") == 1 and text.count("the group (give it once") == 1


def test_channels_has_one_meaning():
    for name in ("verify", "export"):
        text = _sub(name).format_help()
        assert "--channels" not in text.replace("--in-channels", "").replace("--out-channels", "")
        assert "--in-channels" in text and "--out-channels" in text


def test_huge_numbers_are_abbreviated_unless_full(capsys):
    main(["solve", "--group", "symmetric:30"])
    short = capsys.readouterr().out
    assert "2.65e32, 33 digits" in short and str(math.factorial(30)) not in short
    main(["solve", "--group", "symmetric:30", "--full"])
    assert str(math.factorial(30)) in capsys.readouterr().out


def test_skipped_methods_behind_verbose(capsys):
    main(["count", "--group", "symmetric:12", "--method", "all"])
    quiet = capsys.readouterr().out
    main(["count", "--group", "symmetric:12", "--method", "all", "-v"])
    loud = capsys.readouterr().out
    assert "skipped: burnside" in quiet and "-v" in quiet and "max_elements" not in quiet
    assert "burnside    skipped:" in loud and "max_elements" in loud


def test_theory_results_print_the_cli_table(capsys):
    from eqsolve import theory

    results = theory.verify(groups.cyclic(6), 3, products=False, progress=False)
    main(["verify", "--group", "cyclic:6", "--n", "3", "--no-products"])
    cli = capsys.readouterr().out
    table = str(results)
    assert table.splitlines()[0].split() == ["claim", "predicted", "result", "seconds", "independent", "computations"]
    # the same rows (times differ between runs): compare everything but the seconds column
    strip = lambda text: [line.split("  ")[0] for line in text.splitlines() if line.startswith(("Lemma", "Theorem"))]
    assert strip(table) == strip(cli) and len(strip(table)) == 3
    assert "Lemma 1" in str(results[0]) and "agree" in str(results[0])


# -- exports of trained models ------------------------------------------------------------------
def _export(tmp_path, *extra):
    return main(["export", "--group", "cyclic:6", "--widths", "4", "--classes", "2", "--out",
                 str(tmp_path / "net.pt2"), "--json", *extra])


def test_export_reads_trained_weights_and_checks_them(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from eqsolve import layers

    net = layers.models.invariant(eqsolve.solve(groups.cyclic(6)), channels=[1, 4], n_classes=2)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p))  # "trained": anything the seed would not give
    weights = tmp_path / "trained.pt"
    torch.save(net.state_dict(), weights)
    before = weights.read_bytes()
    assert _export(tmp_path, "--weights", str(weights)) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["weights"] == str(weights)
    assert weights.read_bytes() == before  # read, never written
    program = layers.load_exported(tmp_path / "net.pt2")
    x = torch.randn(3, 5, 1, 6)
    net.eval()
    with torch.no_grad():
        assert torch.allclose(program(x), net(x), atol=1e-5)
    # a state_dict of another architecture: a clear error, and nothing written
    other = layers.models.invariant(eqsolve.solve(groups.cyclic(6)), channels=[1, 8], n_classes=2)
    torch.save(other.state_dict(), tmp_path / "other.pt")
    (tmp_path / "net.pt2").unlink()
    assert _export(tmp_path, "--weights", str(tmp_path / "other.pt")) == 2
    err = json.loads(capsys.readouterr().err)
    assert "shape" in err["error"] and not (tmp_path / "net.pt2").exists()


def test_save_weights_refuses_to_overwrite_without_force(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    target = tmp_path / "w.pt"
    target.write_bytes(b"precious")
    assert _export(tmp_path, "--save-weights", str(target)) == 2
    assert "--force" in capsys.readouterr().err and target.read_bytes() == b"precious"
    assert not (tmp_path / "net.pt2").exists()
    assert _export(tmp_path, "--save-weights", str(target), "--force") == 0
    capsys.readouterr()
    state = torch.load(target, weights_only=True)
    assert any(k.endswith("weight") for k in state)
