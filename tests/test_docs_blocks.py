"""Every code block of README.md and docs/*.md runs, so that the docs stay true.

- ```python blocks run in order, one namespace per page, in a temporary folder, with the
  paper's sizes replaced by small ones (:data:`SMALL`);
- ```bash blocks: every line that starts with ``eqsolve`` runs through the CLI in-process
  (``> FILE`` redirections are honoured) and must exit 0; any other command needs the block
  to be marked ``<!-- docs-test: skip: REASON -->`` on the line before its fence;
- ```text blocks are output and are not run; an untagged fence is an error (say what it is).

A block marked ``<!-- docs-test: skip: REASON -->`` is skipped with that reason; single
``eqsolve`` lines that another test already covers at full size are listed in
:data:`SKIP_LINES` with the reason. docs/cli.md is the parser's own help text (checked by
tests/test_cli_docs.py).
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import re
import shlex

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "cli.md")
FENCE = re.compile(r"^```(\S*)\s*$")
MARK = re.compile(r"<!--\s*docs-test:\s*skip:\s*(.+?)\s*-->")
# The docs show the paper's sizes; the test runs the same code with small ones (same paths,
# seconds instead of minutes): each (text in the docs, text run instead).
SMALL = [
    ("--n 25", "--n 3"), ("(H, 25", "(H, 3"), ("n=25", "n=3"), ("H, n=25", "H, n=3"),
    ("--widths 64 64", "--widths 8 8"), ("channels=[1, 64, 64]", "channels=[1, 8, 8]"),
    ("synthetic_signal_sets(1000", "synthetic_signal_sets(200"), ("epochs=20", "epochs=2"),
    ("grid:64x64", "grid:16x16"),
]
SKIP_LINES = {
    "--suite paper": "the paper suite at true sizes (about a minute) runs in "
                     "tests/test_theory_cli.py::test_paper_suite_full",
    # every training run takes minutes; tests/test_train.py, test_images.py and test_shapes.py
    # run the same pipeline (CLI, registry, loop, files) at tiny sizes
    **{f"train {task}": "a training run takes minutes; the train tests run the same pipeline small"
       for task in ("signals", "colors", "quality", "deblur", "shapes")},
    "torchrun ": "several processes (DDP); the train tests run the same loop in one",
}


def blocks(page: pathlib.Path):
    """(language, first line number, code, skip reason or None) for every fenced block."""
    lines = page.read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang = m.group(1)
        skip = MARK.search(lines[i - 1]) if i else None
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        out.append((lang, i + 1, "\n".join(lines[i + 1:j]), skip.group(1) if skip else None))
        i = j + 1
    return out


def test_every_fence_says_what_it_is():
    for page in PAGES + [ROOT / "docs" / "cli.md"]:
        for lang, line, _, _ in blocks(page):
            assert lang in ("python", "bash", "text"), (
                f"{page.name}:{line}: tag the block ```python, ```bash (run by this test) or ```text (output)")


def small(code: str) -> str:
    for big, little in SMALL:
        code = code.replace(big, little)
    return code


def _run_eqsolve(line: str, where: pathlib.Path) -> None:
    from eqsolve.cli import main

    argv = shlex.split(line, comments=True)[1:]
    target = None
    if ">" in argv:
        k = argv.index(">")
        argv, target = argv[:k], argv[k + 1]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    assert code == 0, f"`{line}` exited {code}:\n{buffer.getvalue()[-2000:]}"
    if target:
        (where / target).write_text(buffer.getvalue())


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    ran = 0
    for lang, line, code, skip in blocks(page):
        if lang == "text" or skip:
            continue
        if lang == "python":
            exec(compile(small(code), f"{page.name}:{line}", "exec"), namespace)
            ran += 1
            continue
        for command in code.splitlines():
            command = command.strip()
            if not command or command.startswith("#"):
                continue
            if any(key in command for key in SKIP_LINES):
                continue
            assert command.startswith("eqsolve "), (
                f"{page.name}:{line}: `{command}` is not an eqsolve command: mark the block "
                "<!-- docs-test: skip: REASON --> or make it one")
            if any(key in command for key in SKIP_LINES):
                continue
            _run_eqsolve(small(command).replace("cyclic:100", "cyclic:20"), tmp_path)  # no tensors here
            ran += 1
    if any(lang in ("python", "bash") and not skip for lang, _, _, skip in blocks(page)):
        assert ran > 0
