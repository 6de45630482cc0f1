"""Regenerate docs/cli.md from the parser itself: python docs/_make_cli_md.py > docs/cli.md"""

from eqsolve.cli import build_parser

JSON_VOCABULARY = """\
## JSON output (every command)

`--json` prints one JSON object on stdout; every command uses the same vocabulary:

- **Exact integers** (orders, dimensions, counts) are JSON numbers while they are below
  2^53 (a double holds them exactly) and decimal strings beyond: `"order": 6` but
  `"order": "265252859812191058636308480000000"`. Exact fractions are `"p/q"` strings;
  estimates are floats.
- **`dimension`** is the number of independent equivariant maps (`E`) everywhere
  (`solve`, `count`, `show`, `export`; `predicted` and `value` in `verify`'s results).
- **`skipped`** is always a list of `{"method": ..., "reason": ...}` objects (empty when
  nothing was skipped).
- **Keys are the Python attribute names** of the objects reported: `verify` prints the
  fields of `eqsolve.theory.ClaimResult` (`claim`, `statement`, `predicted`,
  `predicted_by`, `computations`, `skipped`, `agree`, `status`, `independent`, ...) and
  of `Computation` (`method`, `value`, `exact`, `seconds`, `agrees`, ...); `count`
  prints those of `eqsolve._count.CountResult`; channels are `in_channels` and
  `out_channels`, as in `theory.verify(H, n, in_channels, out_channels)`.
- **Errors** under `--json` are one object on stderr, `{"command": ..., "error": MESSAGE,
  "type": ..., "exit_code": 2}`, with exit status 2 (`type` is the `EqsolveError` subclass,
  the `OSError` kind, or `UsageError` for a bad flag); nothing is printed on stdout.

Text output abbreviates integers of more than 15 digits (`2.65e32, 33 digits`); `--full`
prints them in full. Progress bars go to stderr, and only when it is a terminal.
"""

parser = build_parser()
print("# Command-line reference\n")
print("Generated from `eqsolve --help` by `python docs/_make_cli_md.py > docs/cli.md`;")
print("a test checks that this page matches the parser.\n")
print(JSON_VOCABULARY)
print("```text")
print(parser.format_help().rstrip())
print("```\n")
sub = next(a for a in parser._actions if a.dest == "command")
for name, command in sub.choices.items():
    print(f"## eqsolve {name}\n")
    print("```text")
    print(command.format_help().rstrip())
    print("```\n")
