"""Issue 8: bounded and clean under hostile input.

Every case runs in a child process with an address-space limit (RLIMIT_AS), a file-size
limit and a small eqsolve budget, so that a regression shows as a failed assertion, never
as a machine out of memory or a hung suite. The fuzz targets (hypothesis) live in
tests/_fuzz_child.py; the fast suite runs a few hundred examples, the slow suite many more.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import signal
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import eqsolve

HERE = pathlib.Path(__file__).resolve().parent
ADDRESS_SPACE = 3 << 30  # torch alone maps about 1 GiB of address space


def _limits(address_space=ADDRESS_SPACE, file_size=None):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        if file_size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    return apply


def _env(**extra):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               EQSOLVE_MAX_MEMORY="512M", EQSOLVE_MAX_WORK="1e9", PYTHONDONTWRITEBYTECODE="1")
    env.pop("EQSOLVE_DEBUG", None)
    env.update(extra)
    return env


def run_bounded(args, timeout=120, file_size=None, **env):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=HERE,
                          env=_env(**env), preexec_fn=_limits(file_size=file_size))


# -- fuzzing (hypothesis) in bounded children -----------------------------------------------------
FAST = {"parse": 100, "names": 60, "arrays": 30, "load": 60, "cli": 40, "layers": 10}


def test_fuzz():
    # one child for every target: the imports (torch among them) are paid once
    spec = ",".join(f"{name}={n}" for name, n in FAST.items())
    result = run_bounded([str(HERE / "_fuzz_child.py"), spec], timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(FAST))
def test_fuzz_long(target):
    result = run_bounded([str(HERE / "_fuzz_child.py"), f"{target}={FAST[target] * 10}", "8"], timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


# -- the examples of the issue, through the CLI, in one bounded child ------------------------------
CLI_CASES = [
    # 1. sizes checked before allocating
    (["solve", "--group", "cyclic:1000000000"], r"cyclic\(1000000000\).*above the limit"),
    (["solve", "--group", "symmetric:1000000000"], r"above the limit"),
    (["solve", "--group", "grid:100000x100000"], r"above the limit"),
    (["solve", "--group", "wreath:cyclic:3:100000000"], r"above the limit"),
    (["solve", "--group", "sets:cyclic:5:100000000"], r"above the limit"),
    (["solve", "--group", "product:" + ",".join(["cyclic:3"] * 40)], r"product action of 40 groups"),
    (["solve", "--group", "hypercube:16"], r"hypercube:16 is 16, above the limit"),
    (["solve", "(0 100000000)"], r"100000001 points"),
    (["solve", "--group", "cyclic:400", "--out-power", "3"], r"would need \d+ bytes"),
    (["show", "--group", "cyclic:400", "--out-power", "3", "--out", "OUT/s.png"], r"would need \d+ bytes"),
    # 2. count, verify, show, demo, export bounded
    (["count", "--group", "symmetric:10000000", "--method", "burnside"], r"Burnside sum would enumerate about 10\^"),
    (["count", "--group", "cyclic:5", "--method", "montecarlo", "--samples", "1000000000000"], r"would need"),
    (["verify", "--group", "cyclic:4", "--n", "1000000"], r"set size n = 1000000 is above the limit"),
    (["show", "--group", "cyclic:4", "--dpi", "100000", "--out", "OUT/s.png"], r"--dpi is 100000, above"),
    (["demo", "--sets", "1000000000", "--out", "OUT/demo"], r"synthetic sets .* would need"),
    (["export", "--group", "cyclic:4", "--widths", "100000", "100000", "--out", "OUT/e.pt2"],
     r"parameters .* would need"),
    # 3. errors that were not EqsolveError
    (["solve", "(0 " + "9" * 5000 + ")"], r"5000 digits\) is far too large"),
    (["solve", "--group", "sets:" * 60 + "cyclic:3" + ":2" * 60], r"nested more than"),
    (["solve", "(0 1000000000000000000000000000000)"], r"far too large"),
    # 4. bad input accepted
    (["solve", "--group", "hypercube:-3"], r"hypercube dimension must be an integer >= 0"),
    (["solve", "--gap", "(1,2,,3)"], r"missing point after ','"),
    (["solve", "(0 \u0663)"], r"unexpected character"),
    (["solve", "--group", "cyclic:\u0663"], r"is not a number"),
    # 6. write failures
    (["solve", "--group", "cyclic:5", "--save", "OUT"], r"cannot write .*: it is a directory"),
    (["export", "--group", "cyclic:4", "--widths", "4", "--out", "OUT/e.pt2", "--weights", "OUT/no/w.pt"],
     r"no such file"),
    (["show", "--group", "cyclic:4", "--out", "OUT/missing/s.png"], r"does not exist"),
]

DRIVER = textwrap.dedent("""
    import contextlib, io, json, sys
    from eqsolve.cli import main
    out = []
    for argv in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exit_:
                code = exit_.code
        out.append([code, err.getvalue()])
    print(json.dumps(out))
""")


def _drive(cases, tmp_path, file_size=None, **env):
    argvs = [[a.replace("OUT", str(tmp_path)) for a in argv] for argv in cases]
    result = run_bounded(["-c", DRIVER, json.dumps(argvs)], timeout=300, file_size=file_size, **env)
    assert result.returncode == 0, result.stderr[-3000:]
    return argvs, json.loads(result.stdout.strip().splitlines()[-1])


def test_issue_examples_through_the_cli(tmp_path):
    import re

    argvs, results = _drive([c[0] for c in CLI_CASES], tmp_path)
    for (argv, pattern), (code, err) in zip(CLI_CASES, results):
        assert code == 2, (argv, code, err)
        assert "Traceback" not in err and err.count("\n") == 1, (argv, err)
        assert re.search(pattern, err), (argv[:4], pattern, err)
    assert list(tmp_path.iterdir()) == []  # nothing refused left a file


def test_json_errors_and_debug(tmp_path):
    argvs, results = _drive([["solve", "--group", "cyclic:1000000000", "--json"],
                             ["solve", "--group", "cyclic:4", "--bogus", "--json"],
                             ["solve", "--group", "cyclic:1000000000", "--debug"]], tmp_path)
    (code, err), (code2, err2), (code3, err3) = results
    record = json.loads(err)
    assert code == 2 and record["type"] == "ProblemTooLargeError" and record["command"] == "solve"
    assert record["exit_code"] == 2 and "above the limit" in record["error"]
    assert code2 == 2 and json.loads(err2)["type"] == "UsageError"
    assert code3 == 2 and "Traceback" in err3 and err3.rstrip().splitlines()[-1].startswith("eqsolve solve: error:")


@pytest.mark.slow  # about 20 s: export and verify in a child
def test_full_disk_leaves_no_partial_file_and_keeps_the_old_one(tmp_path):
    # RLIMIT_FSIZE makes every write past 200 bytes fail (EFBIG), as a full disk would
    old = tmp_path / "b.npz"
    old.write_bytes(b"previous")
    cases = [["solve", "--group", "cyclic:40", "--save", "OUT/b.npz"],
             ["export", "--group", "cyclic:4", "--widths", "4", "--out", "OUT/e.pt2"],
             ["verify", "--group", "cyclic:4", "--report", "OUT/r.md", "--no-pictures"]]
    argvs, results = _drive(cases, tmp_path, file_size=200)
    for argv, (code, err) in zip(argvs, results):
        assert code == 2 and "cannot write" in err and "Traceback" not in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.npz"]
    assert old.read_bytes() == b"previous"


def test_read_only_folder_is_a_clear_error(tmp_path, capsys):
    from eqsolve.cli import main

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root writes anyway: use a path no one may create
            target = "/proc/eqsolve-no-such/b.npz"
        else:
            target = str(folder / "b.npz")
        assert main(["solve", "--group", "cyclic:5", "--save", target]) == 2
    finally:
        folder.chmod(0o755)
    err = capsys.readouterr().err
    assert err.startswith("eqsolve solve: error: cannot write") and "Traceback" not in err
    assert list(folder.iterdir()) == []


# -- files: permissions and hostile archives -------------------------------------------------------
def test_saved_files_respect_umask_and_keep_an_existing_mode(tmp_path):
    B = eqsolve.solve(eqsolve.groups.cyclic(5))
    old = os.umask(0o027)
    try:
        B.save(tmp_path / "new.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o640
        kept = tmp_path / "kept.npz"
        kept.write_bytes(b"x")
        kept.chmod(0o604)
        B.save(kept)
        assert stat.S_IMODE(os.stat(kept).st_mode) == 0o604 and eqsolve.load(kept) == B
    finally:
        os.umask(old)


def _npz(members):
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _header(shape, descr="<i8"):
    import io

    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue()


@pytest.mark.parametrize("name, data, pattern", [
    ("declares 10^12 entries", lambda: _npz({"orbit_index.npy": _header((10**6, 10**6)) + b"\0" * 64}),
     r"declares shape \(1000000, 1000000\)"),
    ("truncated header", lambda: _npz({"orbit_index.npy": _header((2, 2))[:30]}), r"unreadable .npy header"),
    ("object array", lambda: _npz({"orbit_index.npy": _header((1,), "|O") + b"\0" * 8}), r"Python objects"),
    ("not a zip", lambda: b"PK\x03\x04garbage", r"not an eqsolve basis file"),
    ("text", lambda: b"hello", r"not an .npz archive"),
])
def test_hostile_basis_files(tmp_path, name, data, pattern):
    path = tmp_path / "x.npz"
    path.write_bytes(data())
    with pytest.raises(eqsolve.EqsolveError, match=pattern):
        eqsolve.load(path)


def test_deeply_nested_metadata_and_pipes_are_refused(tmp_path):
    import io

    def npy(a):
        out = io.BytesIO()
        np.save(out, a)
        return out.getvalue()

    deep = ("[" * 50 + "]" * 50).encode()
    path = tmp_path / "deep.npz"
    path.write_bytes(_npz({"orbit_index.npy": npy(np.zeros((1, 1), np.int64)), "bias_index.npy": npy(np.zeros(1, np.int64)),
                           "meta.npy": npy(np.frombuffer(deep, np.uint8))}))
    with pytest.raises(eqsolve.EqsolveError, match="nested 50 levels deep"):
        eqsolve.load(path)
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(eqsolve.EqsolveError, match="not a regular file"):
        eqsolve.load(fifo)  # returns at once: nothing opens the pipe for writing


# -- the budget ---------------------------------------------------------------------------------------
def test_budget_follows_rlimit_as_and_the_environment():
    code = textwrap.dedent("""
        import resource, eqsolve
        from eqsolve import _budget
        print(_budget.memory_limit().source)
        try:
            eqsolve.count(eqsolve.groups.cyclic(5), method="montecarlo", samples=10**9)
        except eqsolve.ProblemTooLargeError as err:
            print("refused:", err)
    """)
    result = run_bounded(["-c", code], EQSOLVE_MAX_MEMORY="")
    lines = result.stdout.splitlines()
    assert "RLIMIT_AS" in lines[0], result.stdout + result.stderr
    # 10^9 samples need 16 GB: refused by the address-space limit (3 GiB), before allocating
    assert lines[1].startswith("refused:") and "ulimit -v" in lines[1], result.stdout
    result = run_bounded(["-c", code], EQSOLVE_MAX_MEMORY="1M")
    assert result.stdout.splitlines()[0] == "EQSOLVE_MAX_MEMORY"
    assert "set EQSOLVE_MAX_MEMORY higher" in result.stdout


def test_work_limit_refuses_with_the_figure_and_how_to_raise_it(monkeypatch):
    monkeypatch.setenv("EQSOLVE_MAX_WORK", "1e6")
    with pytest.raises(eqsolve.ProblemTooLargeError, match=r"about \d+ steps.*EQSOLVE_MAX_WORK=1e12"):
        eqsolve.count(eqsolve.groups.cyclic(50), method="montecarlo", samples=1000)


def test_cgroup_limit_is_read(monkeypatch, tmp_path):
    from eqsolve import _budget

    (tmp_path / "memory.max").write_text("1000000\n")
    (tmp_path / "memory.current").write_text("400000\n")
    monkeypatch.setattr(_budget, "_cgroup_dirs", lambda: [str(tmp_path)])
    limit = _budget.memory_limit()
    assert limit.value == 600000 and "cgroup" in limit.source


def test_order_is_never_built_when_huge():
    from eqsolve.cli._common import order_text

    S = eqsolve.groups.symmetric(10**6)
    assert order_text(S).startswith("about 10^5565708")
    with pytest.raises(eqsolve.ProblemTooLargeError, match="above the 1048576 bits"):
        S.order()
