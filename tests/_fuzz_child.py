"""Fuzz targets run by tests/test_hostile.py inside a bounded child process.

    python tests/_fuzz_child.py TARGET=EXAMPLES[,TARGET=EXAMPLES...] [SEED]

The parent sets an address-space limit (RLIMIT_AS), a file-size limit and a small eqsolve
budget (EQSOLVE_MAX_MEMORY, EQSOLVE_MAX_WORK) before this runs, so that whatever hypothesis
generates either finishes quickly or is refused. Each target asserts the contract of issue 8:
a result, or an EqsolveError subclass with a one-line message; never another exception, a
traceback from the CLI, or a file left behind by a refused write. On a failure the child
prints the falsifying example and exits 1.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import zipfile

import hypothesis
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eqsolve

# -- strategies -------------------------------------------------------------------------------
HOSTILE_NUMBERS = st.one_of(
    st.integers(-5, 12).map(str),
    st.sampled_from(["0", "-3", "100000000", "1000000000", "9" * 30, "9" * 5000, "\u0663", "1e9", "0x10",
                     " 7", "+4", "", "x", "10**30", "\u00b2"]),
)
KINDS = ["cyclic", "dihedral", "symmetric", "alternating", "trivial", "hypercube", "grid", "sets", "wreath",
         "subsets", "product", "direct", "nosuch", "CYCLIC"]


@st.composite
def group_names(draw, depth=0):
    kind = draw(st.sampled_from(KINDS))
    number = lambda: draw(HOSTILE_NUMBERS)
    if kind in ("sets", "wreath") and depth < 20:
        return f"{kind}:{draw(group_names(depth + 1))}:{number()}"
    if kind in ("product", "direct") and depth < 20:
        parts = draw(st.lists(group_names(depth + 1), min_size=1, max_size=4))
        return f"{kind}:" + ",".join(parts)
    if kind == "grid":
        return "grid:" + "x".join(draw(st.lists(HOSTILE_NUMBERS, min_size=1, max_size=4)))
    if kind == "subsets":
        return f"subsets:{number()}:{number()}"
    return f"{kind}:{number()}"


CYCLE_TEXT = st.lists(st.sampled_from(list("0123456789(),; ") + ["\u0663", "\t", "[", "]", "x", "-",
                                                                  "99999999999999999999"]),
                     max_size=40).map("".join)
LEAVES = st.one_of(st.integers(-3, 8), st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.none(),
                   st.text(max_size=3), st.booleans())
NESTED = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=5), max_leaves=20)


def _is_ok(call):
    """Run ``call``; a result or an EqsolveError with a one-line message passes."""
    try:
        return call()
    except eqsolve.EqsolveError as err:
        message = str(err)
        assert message and "\n" not in message.strip() or "Matrix" in message, f"multi-line message: {message!r}"
        assert len(message) < 2000, f"message of {len(message)} characters"
        return None


def _settings(examples, seed):
    def wrap(test):
        test = settings(max_examples=examples, deadline=None, database=None, derandomize=seed is None,
                        suppress_health_check=list(HealthCheck), print_blob=True)(test)
        return test if seed is None else hypothesis.seed(seed)(test)
    return wrap


# -- targets ------------------------------------------------------------------------------------
def target_parse(examples, seed):
    @_settings(examples, seed)
    @given(text=CYCLE_TEXT, gap=st.booleans(), degree=st.one_of(st.none(), st.integers(-2, 12)))
    def check(text, gap, degree):
        parse = eqsolve.PermutationGroup.from_gap if gap else eqsolve.PermutationGroup.parse
        group = _is_ok(lambda: parse(text, degree=degree))
        if group is not None:
            assert group.degree <= 1 << 26
            # what was accepted prints back and parses to the same generators
            again = eqsolve.PermutationGroup.from_gap(group.to_gap(), degree=group.degree) if group.ngens else group
            assert again == group
    check()


def target_names(examples, seed):
    @_settings(examples, seed)
    @given(name=group_names())
    def check(name):
        group = _is_ok(lambda: eqsolve.groups.from_name(name))
        if group is not None:
            assert 0 <= group.degree <= 1 << 26
            _is_ok(group.log2_order)
    check()


def target_arrays(examples, seed):
    @_settings(examples, seed)
    @given(gens=NESTED, degree=st.one_of(st.none(), st.integers(-2, 6), st.floats(), st.text(max_size=2)),
           element=NESTED, mask=NESTED)
    def check(gens, degree, element, mask):
        group = _is_ok(lambda: eqsolve.PermutationGroup(gens, degree=degree))
        if group is not None:
            _is_ok(lambda: group.contains(element))
            _is_ok(lambda: eqsolve.solve(group, support=mask))
            _is_ok(lambda: eqsolve.count(group, method=element))
    check()


def _valid_npz(tmp):
    path = os.path.join(tmp, "good.npz")
    eqsolve.solve(eqsolve.groups.dihedral(5)).save(path)
    with open(path, "rb") as handle:
        return handle.read()


def _npz_with(members: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _npy_header(shape, descr) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue()


def target_load(examples, seed):
    tmp = tempfile.mkdtemp()
    good = _valid_npz(tmp)
    shapes = st.lists(st.one_of(st.integers(0, 5), st.integers(10**6, 10**12)), max_size=3).map(tuple)
    descrs = st.sampled_from(["<i8", "<i4", "|u1", "<f8", "|O", "<U3", "V8"])
    files = st.one_of(
        st.binary(max_size=200),
        st.tuples(st.integers(0, len(good)), st.integers(0, len(good) - 1), st.integers(0, 255)).map(
            lambda t: (good[:t[0]] if t[0] < len(good) else good[:t[1]] + bytes([t[2]]) + good[t[1] + 1:])),
        st.builds(lambda shape, descr, body, name: _npz_with({name: _npy_header(shape, descr) + body}),
                  shapes, descrs, st.binary(max_size=64), st.sampled_from(["orbit_index.npy", "meta.npy", "x"])),
        st.builds(lambda depth: _npz_with({
            "orbit_index.npy": _npy(np.zeros((2, 2), np.int64)), "bias_index.npy": _npy(np.zeros(2, np.int64)),
            "meta.npy": _npy(np.frombuffer(("[" * depth + "]" * depth).encode(), np.uint8))}),
            st.integers(0, 100000)),
    )

    @_settings(examples, seed)
    @given(data=files)
    def check(data):
        path = os.path.join(tmp, "x.npz")
        with open(path, "wb") as handle:
            handle.write(data)
        _is_ok(lambda: eqsolve.load(path))
    check()
    fifo = os.path.join(tmp, "pipe.npz")
    os.mkfifo(fifo)
    _is_ok(lambda: eqsolve.load(fifo))  # must not block


def _npy(array) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


CLI_FLAGS = {
    "solve": ["--out-power", "--in-power", "--degree"],
    "count": ["--samples", "--method", "--degree"],
    "show": ["--dpi", "--max-points", "--n", "--out-power"],
    "verify": ["--n", "--in-channels", "--max-memory", "--max-elements", "--samples"],
    "export": ["--widths", "--in-channels", "--n", "--batch", "--classes"],
}
CLI_VALUES = st.sampled_from(["-1", "0", "1", "2", "3", "100000", "1000000000000", "9" * 40, "x", "burnside",
                              "montecarlo", "4G", "0.5", ""])


@st.composite
def cli_calls(draw):
    command = draw(st.sampled_from(sorted(CLI_FLAGS)))
    argv = [command]
    how = draw(st.sampled_from(["group", "cycles", "gap"]))
    if how == "group":
        argv += ["--group", draw(st.one_of(group_names(), st.sampled_from(["cyclic:4", "symmetric:3"])))]
    elif how == "cycles":
        argv += [draw(CYCLE_TEXT)]
    else:
        argv += ["--gap", draw(CYCLE_TEXT)]
    for flag in draw(st.lists(st.sampled_from(CLI_FLAGS[command]), max_size=3, unique=True)):
        argv += [flag, draw(CLI_VALUES)]
        if flag in ("--channels", "--widths"):
            argv += [draw(CLI_VALUES)]
    if draw(st.booleans()):
        argv.append("--json")
    target = draw(st.sampled_from(["file", "folder", "missing"]))
    return argv, command, target


def target_cli(examples, seed):
    from eqsolve.cli import main

    tmp = tempfile.mkdtemp()
    targets = {"file": os.path.join(tmp, "out"), "folder": tmp, "missing": os.path.join(tmp, "no", "out")}

    @_settings(examples, seed)
    @given(call=cli_calls())
    def check(call):
        argv, command, target = call
        argv = list(argv)
        suffix = {"show": ".png", "export": ".pt2"}.get(command)
        if suffix:
            argv += ["--out", targets[target] + (suffix if target == "file" else "")]
        elif command == "solve" and target != "file":
            argv += ["--save", targets[target]]
        before = sorted(os.listdir(tmp))
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse usage errors
                code = exit_.code
        text = err.getvalue()
        assert "Traceback" not in text, f"traceback for {argv}: {text}"
        assert code in (0, 1, 2, 3), f"exit {code} for {argv}"
        if code == 2 and "--json" in argv:
            record = json.loads(text.strip().splitlines()[-1])
            assert record["exit_code"] == 2 and record["error"], record
        elif code == 2 and not text.startswith("usage:"):
            assert text.count("\n") <= 1, f"more than one line for {argv}: {text!r}"
        if code != 0:
            after = sorted(os.listdir(tmp))
            assert after == before, f"{argv} failed but changed the folder: {before} -> {after}"
        for name in os.listdir(tmp):  # start each example from an empty folder
            path = os.path.join(tmp, name)
            if os.path.isfile(path):
                os.unlink(path)
    check()


def target_layers(examples, seed):
    import torch

    from eqsolve import layers

    basis = eqsolve.solve(eqsolve.groups.cyclic(4))

    @_settings(examples, seed)
    @given(aggregation=st.sampled_from(["sum", "mean", "max", "aittala", "sridhar"]), n=st.integers(0, 3),
           batch=st.integers(0, 2), kind=st.sampled_from(["tensor", "numpy", "list", "wrong", "none"]),
           masked=st.booleans())
    def check(aggregation, n, batch, kind, masked):
        layer = layers.DSSLinear(basis, 1, 2, aggregation=aggregation)
        x = torch.randn(batch, n, 1, 4, dtype=torch.float64).float()
        data = {"tensor": x, "numpy": x.numpy(), "list": x.tolist(), "wrong": torch.randn(batch, n, 2, 3),
                "none": None}[kind]
        mask = torch.rand(batch, n) < 0.5 if masked else None
        y = _is_ok(lambda: layer(data, mask))
        if kind == "tensor":
            assert y is not None and tuple(y.shape) == (batch, n, 2, 4)
            assert torch.isfinite(y).all()
    check()


TARGETS = {name[len("target_"):]: fn for name, fn in globals().items() if name.startswith("target_")}

if __name__ == "__main__":
    # python tests/_fuzz_child.py parse=100,cli=40 [SEED]   (no seed: derandomized, reproducible)
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else None
    for item in sys.argv[1].split(","):
        name, _, examples = item.partition("=")
        TARGETS[name](int(examples), seed)
        print(f"{name}: {examples} examples passed", flush=True)
