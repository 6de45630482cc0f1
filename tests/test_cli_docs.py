"""docs/cli.md is the parser's own help text (regenerate with docs/_make_cli_md.py)."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_cli_reference_is_current():
    env = dict(os.environ, COLUMNS="100")
    fresh = subprocess.check_output([sys.executable, str(ROOT / "docs" / "_make_cli_md.py")], text=True, env=env)
    assert fresh == (ROOT / "docs" / "cli.md").read_text(), "docs/cli.md is stale: run COLUMNS=100 python docs/_make_cli_md.py > docs/cli.md"


def test_every_subcommand_help_has_examples():
    from eqsolve.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        text = command.format_help()
        assert "eqsolve " + name in text.split("example", 1)[-1], f"'eqsolve {name} --help' shows no example"
