"""Export (torch.export .pt2, TorchScript .pt, ONNX), loading without eqsolve, state_dict, CLI.

The artifacts are run in a subprocess where ``import eqsolve`` and ``import layers`` fail
(a meta path finder blocks them, ``python -I`` from a temp dir) and compared with the module:
float32, rtol = atol = 1e-5.
"""

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

import eqsolve
from eqsolve import layers
from eqsolve import EqsolveError, groups
from eqsolve.cli import main
from eqsolve.layers import baselines, models
from eqsolve.layers import load_exported, onnx_compatible, read_metadata

export_module = layers.exporting  # the module; layers.export is the function
HAS_ONNX = all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxscript"))
needs_onnx = pytest.mark.skipif(not HAS_ONNX, reason="needs the onnx and onnxscript packages")
FORMATS = ["pt2", "torchscript"] + (["onnx"] if HAS_ONNX else [])
SUFFIX = {"pt2": ".pt2", "torchscript": ".pt", "onnx": ".onnx"}


@pytest.fixture(autouse=True)
def seeded_torch():
    """Weights drawn from a fixed seed in every test, whatever ran before."""
    torch.manual_seed(0)


RUNNER = textwrap.dedent('''
    import importlib.abc, json, sys

    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("eqsolve", "layers"):
                raise ModuleNotFoundError("blocked for this test: " + name)
            return None

    sys.meta_path.insert(0, Blocked())
    import torch

    for name in ("eqsolve", "layers"):
        try:
            __import__(name)
        except ImportError:
            pass
        else:
            raise SystemExit(name + " is importable")

    def run_onnx(path, args):
        import numpy as np
        import onnx
        from onnx.reference import ReferenceEvaluator
        model = onnx.load(path)
        names = [i.name for i in model.graph.input]
        out = ReferenceEvaluator(model).run(None, {n: a.numpy() for n, a in zip(names, args)})
        return torch.from_numpy(np.ascontiguousarray(out[0]))

    cases = torch.load("cases.pt", weights_only=True)
    report = {}
    for key, path in json.load(open("artifacts.json")).items():
        fmt = path.rsplit(".", 1)[1]
        if fmt == "pt2":
            program = torch.export.load(path).module()
        elif fmt == "pt":
            program = torch.jit.load(path)
        errors = []
        for i in range(len([k for k in cases if k.startswith(key + "/args")])):
            args = cases[f"{key}/args{i}"]
            expected = cases[f"{key}/out{i}"]
            with torch.no_grad():
                got = run_onnx(path, args) if fmt == "onnx" else program(*args)
            assert got.shape == expected.shape, (key, i, got.shape, expected.shape)
            finite = torch.isfinite(expected)
            assert torch.equal(finite, torch.isfinite(got)), (key, i)
            assert torch.equal(expected[~finite], got[~finite]), (key, i)
            errors.append((got[finite].double() - expected[finite].double()).abs().max().item() if finite.any() else 0.0)
        report[key] = errors
    assert not any(m.split(".")[0] in ("eqsolve", "layers") for m in sys.modules)
    print(json.dumps(report))
''')


def run_without_eqsolve(tmp_path, artifacts, cases):
    """Run every artifact on its cases in a fresh ``python -I`` that cannot import eqsolve."""
    (tmp_path / "runner.py").write_text(RUNNER)
    (tmp_path / "artifacts.json").write_text(json.dumps({k: str(v) for k, v in artifacts.items()}))
    torch.save(cases, tmp_path / "cases.pt")
    proc = subprocess.run([sys.executable, "-I", "runner.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_cases(key, model, inputs_list, cases):
    """Expected outputs of ``model`` on each input tuple, stored under ``key``."""
    for i, args in enumerate(inputs_list):
        with torch.no_grad():
            cases[f"{key}/args{i}"] = list(args)
            cases[f"{key}/out{i}"] = model(*args)


def set_inputs(batch, n, c, d, seed, masked=True):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n, c, d, generator=g)
    if not masked:
        return (x,)
    mask = torch.rand(batch, n, generator=g) < 0.7
    mask[:, 0] = True
    return (x, mask)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    B = eqsolve.solve(groups.cyclic(12))  # wide circulant kernels: the fft path, rewritten for ONNX
    return models.invariant(B, [2, 8, 8], n_classes=3, aggregation="max")


def test_round_trip_in_every_format_runs_without_eqsolve(net, tmp_path):
    example = set_inputs(3, 5, 2, 12, seed=1)
    others = [set_inputs(1, 7, 2, 12, seed=2), set_inputs(4, 2, 2, 12, seed=3)]
    artifacts, cases = {}, {}
    for fmt in FORMATS:
        path = tmp_path / f"net{SUFFIX[fmt]}"
        result = layers.export(net, example, path, metadata={"note": "test"})
        assert result.format == fmt and path.is_file() and result.bytes == path.stat().st_size
        assert result.max_abs_error is not None and result.max_abs_error <= 1e-5
        assert result.inputs == {"x": [3, 5, 2, 12], "mask": [3, 5]} and result.outputs == [[3, 3]]
        assert result.parameters == layers.count_parameters(net)
        # batch and set size stay dynamic
        assert result.dynamic["x"] == "all" or result.dynamic["x"] == [0, 1], result.dynamic
        meta = read_metadata(path)
        assert meta["task"] == "invariant" and meta["note"] == "test" and meta["format"] == fmt
        program = load_exported(path)
        for args in [example] + others:
            with torch.no_grad():
                torch.testing.assert_close(program(*args), net(*args), rtol=1e-5, atol=1e-5)
        artifacts[fmt] = path
        make_cases(fmt, net, [example] + others, cases)
    report = run_without_eqsolve(tmp_path, artifacts, cases)
    assert set(report) == set(FORMATS)
    for fmt, errors in report.items():
        assert len(errors) == 3 and max(errors) <= 1e-5, (fmt, errors)
    assert not list(tmp_path.glob(".*.tmp"))  # no temp files left behind


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_other_dtypes_export(dtype, tmp_path):
    B = eqsolve.solve(groups.dihedral(5))
    torch.manual_seed(0)
    net = models.equivariant(B, [1, 4], out_channels=2).to(dtype)
    x = torch.randn(2, 3, 1, 5, dtype=dtype)
    for fmt in ("pt2", "torchscript"):
        result = layers.export(net, x, tmp_path / f"m{SUFFIX[fmt]}")
        assert result.dtype == str(dtype).replace("torch.", "")
        got = load_exported(tmp_path / f"m{SUFFIX[fmt]}")(x)
        assert got.dtype == dtype
        torch.testing.assert_close(got, net(x).detach(), rtol=0, atol=0)


def test_plain_layers_export(tmp_path):
    B = eqsolve.solve(groups.grid_translations((3, 4)))
    lin = layers.EquivariantLinear(B, 2, 3)
    x = torch.randn(5, 2, 12)
    result = layers.export(lin, x, tmp_path / "lin.pt2")
    assert result.dynamic == {"x": [0]}
    other = torch.randn(2, 2, 12)
    torch.testing.assert_close(load_exported(tmp_path / "lin.pt2")(other), lin(other), rtol=1e-5, atol=1e-5)
    dss = layers.DSSLinear(B, 2, 4, aggregation="aittala")
    xs = torch.randn(2, 3, 2, 12)
    result = layers.export(dss, xs, tmp_path / "dss.pt", format="torchscript")
    torch.testing.assert_close(load_exported(tmp_path / "dss.pt")(xs), dss(xs), rtol=1e-5, atol=1e-5)


def test_example_of_batch_one_still_exports_a_dynamic_batch(tmp_path):
    B = eqsolve.solve(groups.cyclic(6))
    net = models.merging(B, [1, 4], out_channels=2)
    x = torch.randn(1, 1, 1, 6)
    result = layers.export(net, x, tmp_path / "m.pt2")
    assert result.dynamic == {"x": [0, 1]}
    bigger = torch.randn(5, 4, 1, 6)
    torch.testing.assert_close(load_exported(tmp_path / "m.pt2")(bigger), net(bigger), rtol=1e-5, atol=1e-5)


def test_static_export_and_the_fixed_size_mlp(tmp_path):
    B = eqsolve.solve(groups.cyclic(6))
    mlp = baselines.build("mlp", B, "selection", 8, n=4)
    x, mask = set_inputs(3, 4, 1, 6, seed=0)
    result = layers.export(mlp, (x, mask), tmp_path / "mlp.pt2")
    assert result.dynamic == {"x": [0], "mask": [0]}  # the MLP is built for n = 4
    result = layers.export(mlp, (x, mask), tmp_path / "static.pt2", dynamic=False)
    assert result.dynamic == {"x": [], "mask": []}
    program = load_exported(tmp_path / "static.pt2")
    torch.testing.assert_close(program(x, mask), mlp(x, mask))


def test_unscriptable_modules_are_traced(tmp_path):
    class Unscriptable(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x):
            double = lambda t: 2.0 * t  # noqa: E731  (TorchScript has no lambdas)
            return double(self.lin(x))

    module = Unscriptable()
    x = torch.randn(3, 4)
    result = layers.export(module, x, tmp_path / "u.pt")
    assert result.method == "torch.jit.trace" and "traced" in result.notes[0]
    assert result.dynamic == {"x": [0]}  # checked at a second batch size
    other = torch.randn(6, 4)
    torch.testing.assert_close(load_exported(tmp_path / "u.pt")(other), module(other), rtol=1e-5, atol=1e-5)


class TwoLayers(torch.nn.Module):
    def __init__(self, first, second):
        super().__init__()
        self.first, self.second = first, second

    def forward(self, x):
        return self.second(torch.relu(self.first(x)))


def test_onnx_compatible_rewrites_fft_paths():
    wide = eqsolve.solve(groups.grid_translations((2, 2, 2, 3)))  # 4 axes: no conv4d, so the generic gather
    flat = eqsolve.solve(groups.cyclic(24))
    net = TwoLayers(layers.EquivariantLinear(wide, 2, 3, path="fft"), layers.EquivariantLinear(flat, 3, 2, path="fft"))
    copy, changed = onnx_compatible(net)
    assert copy is not net and changed == ["first: fft -> generic", "second.kernel: fft -> conv"]
    assert not any(isinstance(m, export_module._executors.Translation) and m.mode == "fft" for m in copy.modules())
    x = torch.randn(4, 2, 24)
    torch.testing.assert_close(copy(x), net(x), rtol=1e-5, atol=1e-5)
    assert net.first.path.startswith("fft") and net.second.path.startswith("fft")  # the original is untouched
    same, nothing = onnx_compatible(layers.EquivariantLinear(flat, 3, 2, path="generic"))
    assert nothing == []


@needs_onnx
def test_onnx_bfloat16_loader(tmp_path):
    B = eqsolve.solve(groups.cyclic(5))
    net = models.equivariant(B, [1, 4], out_channels=1).to(torch.bfloat16)
    x = torch.randn(2, 3, 1, 5, dtype=torch.bfloat16)
    result = layers.export(net, x, tmp_path / "b.onnx")
    assert result.max_abs_error is not None
    assert load_exported(tmp_path / "b.onnx")(x).dtype == torch.bfloat16


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_export_a_cuda_model(tmp_path):
    B = eqsolve.solve(groups.cyclic(12))
    net = models.equivariant(B, [1, 8, 8], out_channels=2).cuda()
    x, mask = set_inputs(3, 5, 1, 12, seed=0)
    x, mask = x.cuda(), mask.cuda()
    for fmt in FORMATS:
        result = layers.export(net, (x, mask), tmp_path / f"g{SUFFIX[fmt]}")
        assert result.max_abs_error <= 1e-4
    program = load_exported(tmp_path / "g.pt2")
    torch.testing.assert_close(program(x, mask), net(x, mask), rtol=1e-5, atol=1e-5)


# -- state_dict ---------------------------------------------------------------------------------
def test_state_dict_round_trip(tmp_path):
    B = eqsolve.solve(groups.dihedral(6))
    torch.manual_seed(0)
    a = models.selection(B, [1, 6, 6], norm="batch")
    a.train()
    a(torch.randn(4, 3, 1, 6))  # move the running statistics away from their defaults
    a.eval()
    torch.manual_seed(1)
    b = models.selection(B, [1, 6, 6], norm="batch").eval()
    x = torch.randn(2, 5, 1, 6)
    assert not torch.allclose(a(x), b(x))
    layers.save_state_dict(a, tmp_path / "w.pt")
    state = torch.load(tmp_path / "w.pt", weights_only=True)
    assert set(state) == set(a.state_dict())
    assert all(isinstance(v, torch.Tensor) or k.endswith("_extra_state") for k, v in state.items())
    layers.load_state_dict(b, tmp_path / "w.pt")
    torch.testing.assert_close(b(x), a(x), rtol=0, atol=0)
    other = models.selection(B, [1, 7, 6], norm="batch")
    with pytest.raises(EqsolveError, match=r"has shape \(6, 1, \d+\), the model expects \(7, 1, \d+\)"):
        layers.load_state_dict(other, tmp_path / "w.pt")
    with pytest.raises(EqsolveError, match="missing keys"):
        layers.load_state_dict(models.selection(B, [1, 6, 6, 6], norm="batch"), tmp_path / "w.pt")
    with pytest.raises(EqsolveError, match="no such file"):
        layers.load_state_dict(b, tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a zip")
    with pytest.raises(EqsolveError, match="cannot read weights"):
        layers.load_state_dict(b, tmp_path / "bad.pt")


# -- atomicity and errors -----------------------------------------------------------------------
def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    B = eqsolve.solve(groups.cyclic(4))
    net = models.invariant(B, [1, 2])
    target = tmp_path / "net.pt2"
    target.write_bytes(b"previous version")

    def broken_save(program, f, **kwargs):
        f.write(b"half a file")
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(torch.export, "save", broken_save)
        with pytest.raises(EqsolveError, match="cannot write .*disk full"):
            layers.export(net, torch.randn(2, 3, 1, 4), target)
    assert target.read_bytes() == b"previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.pt2"]

    def wrong_numbers(*args, **kwargs):
        raise EqsolveError("the exported pt2 program differs from the module by 1")

    with monkeypatch.context() as patch:  # a file that fails its check never replaces the target
        patch.setattr(export_module, "_compare", wrong_numbers)
        with pytest.raises(EqsolveError, match="differs"):
            layers.export(net, torch.randn(2, 3, 1, 4), target)
    assert target.read_bytes() == b"previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.pt2"]
    result = layers.export(net, torch.randn(2, 3, 1, 4), target)
    assert result.bytes == target.stat().st_size and target.read_bytes() != b"previous version"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~current_umask())


def current_umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_export_errors(tmp_path, monkeypatch):
    B = eqsolve.solve(groups.cyclic(4))
    net = models.invariant(B, [1, 2])
    x = torch.randn(2, 3, 1, 4)
    with pytest.raises(EqsolveError, match="unknown export format 'tflite'"):
        layers.export(net, x, tmp_path / "n.pt2", format="tflite")
    with pytest.raises(EqsolveError, match="torch.nn.Module"):
        layers.export(lambda t: t, x, tmp_path / "n.pt2")
    with pytest.raises(EqsolveError, match=r"example_input\[0\] must be a torch.Tensor"):
        layers.export(net, [x.numpy()], tmp_path / "n.pt2")
    with pytest.raises(EqsolveError, match="directory .* does not exist"):
        layers.export(net, x, tmp_path / "missing" / "n.pt2")
    with pytest.raises(EqsolveError, match="got \\[2, 3, 1, 5\\]"):
        layers.export(net, torch.randn(2, 3, 1, 5), tmp_path / "n.pt2")
    with pytest.raises(EqsolveError, match="3 tensors"):
        layers.export(net, (x, x, x), tmp_path / "n.pt2")
    with pytest.raises(EqsolveError, match="no such file"):
        load_exported(tmp_path / "none.pt2")
    (tmp_path / "junk.pt2").write_bytes(b"junk")
    with pytest.raises(EqsolveError, match="cannot load"):
        load_exported(tmp_path / "junk.pt2")
    monkeypatch.setattr(export_module, "onnx_available", lambda: False)
    with pytest.raises(EqsolveError, match="pip install onnx onnxscript"):
        layers.export(net, x, tmp_path / "n.onnx")


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_export(tmp_path, capsys):
    out = tmp_path / "net.pt2"
    code = main(["export", "--group", "cyclic:16", "--model", "dss-invariant", "--widths", "8", "8",
                 "--classes", "4", "--n", "6", "--mask", "--out", str(out), "--save-weights", str(tmp_path / "w.pt"),
                 "--json"])
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    assert record["parameters"] == layers.count_parameters(models.invariant(eqsolve.solve(groups.cyclic(16)),
                                                                            [1, 8, 8], n_classes=4))
    assert record["input"] == {"x": [2, 6, 1, 16], "mask": [2, 6]} and record["output"] == [2, 4]
    assert record["format"] == "pt2" and record["dynamic"] == {"x": [0, 1], "mask": [0, 1]}
    program = load_exported(out)
    x, mask = set_inputs(3, 9, 1, 16, seed=4)
    assert program(x, mask).shape == (3, 4)
    assert set(torch.load(tmp_path / "w.pt", weights_only=True)) == set(
        models.invariant(eqsolve.solve(groups.cyclic(16)), [1, 8, 8], n_classes=4).state_dict())


def test_cli_export_baseline_table(tmp_path, capsys):
    out = tmp_path / "base.pt"
    assert main(["export", "(0 1 2 3 4 5); (0 5)(1 4)(2 3)", "--model", "siamese-ds", "--task", "merging",
                 "--widths", "6", "--dtype", "float64", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"wrote {out}: merging siamese-ds model")
    assert "torch.jit" in text and "parameters" in text and "width" in text and "float64" in text
    program = load_exported(out)
    y = program(torch.randn(2, 3, 1, 6, dtype=torch.float64))
    assert y.shape == (2, 1, 6) and y.dtype == torch.float64


@pytest.mark.parametrize("argv,message", [
    (["--widths", "0"], "--widths must all be >= 1"),
    (["--in-channels", "0"], "--in-channels must be >= 1"),
    (["--weights", "missing.pt"], "no such file"),
    (["--classes", "0"], "--classes must be >= 1"),
    (["--n", "0"], "--n must be >= 1"),
    (["--format", "onnx"], "suffix of a pt2 file"),
    (["--width", "4"], "--width applies to the baselines"),
    (["--group", "cyclic:0"], ""),
    (["--group", "nothing:3"], "unknown group kind"),
    (["--aggregation", "aittala", "--widths", "3"], "even"),
])
def test_cli_export_bad_input_exits_2(argv, message, tmp_path, capsys):
    args = ["export", "--out", str(tmp_path / "x.pt2")]
    if "--group" not in argv:
        args += ["--group", "cyclic:4"]
    assert main(args + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("eqsolve export: error:") and message in err
    assert not (tmp_path / "x.pt2").exists()


def test_cli_unknown_model_and_missing_out(capsys):
    with pytest.raises(SystemExit) as info:
        main(["export", "--group", "cyclic:4", "--model", "transformer", "--out", "x.pt2"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["export", "--group", "cyclic:4"])
    assert info.value.code == 2


def test_cli_parser_does_not_import_torch():
    code = "import sys; from eqsolve.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "False"


# -- the whole matrix (slow) --------------------------------------------------------------------
@pytest.mark.slow
def test_every_model_in_every_format_runs_without_eqsolve(tmp_path):
    B = eqsolve.solve(groups.dihedral(6))
    torch.manual_seed(0)
    nets = {f"dss-{t}": models.build(B, t, [2, 4, 4], n_classes=3, out_channels=2, norm="batch")
            for t in models.TASKS}
    for name in baselines.BASELINES:
        nets[name] = baselines.build(name, B, "selection" if name == "mlp" else "invariant", 6, n=4, in_channels=2)
    artifacts, cases = {}, {}
    for name, net in nets.items():
        net.eval()
        example = set_inputs(3, 4, 2, 6, seed=5)
        extra = [set_inputs(2, 4, 2, 6, seed=6)] if net.n is not None else [set_inputs(2, 7, 2, 6, seed=6)]
        for fmt in FORMATS:
            key = f"{name}-{fmt}"
            path = tmp_path / f"{name.replace('+', '_')}{SUFFIX[fmt]}"
            layers.export(net, example, path)
            artifacts[key] = path
            make_cases(key, net, [example] + extra, cases)
    report = run_without_eqsolve(tmp_path, artifacts, cases)
    assert set(report) == set(artifacts)
    for key, errors in report.items():
        assert max(errors) <= 1e-5, (key, errors)


def test_export_is_the_function_and_exporting_the_module():
    import eqsolve.layers.exporting as module

    assert callable(layers.export) and layers.export is module.export
    assert layers.exporting is module and module.__name__ == "eqsolve.layers.exporting"
    import eqsolve.layers._onnx as onnx_part

    assert layers.onnx_compatible is onnx_part.onnx_compatible  # ONNX specifics in their own module
