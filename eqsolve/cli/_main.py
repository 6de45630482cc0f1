"""The ``eqsolve`` command line: the one front door.

Subcommands live in :mod:`eqsolve.cli`, one module each; they import
``eqsolve.layers`` and ``eqsolve.theory`` lazily, inside the subcommands that need them, so
``eqsolve solve`` stays fast and never loads torch.

Exit codes: 0 success, 2 bad input (message on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from .._errors import EqsolveError

DESCRIPTION = """\
eqsolve: turn a permutation symmetry into equivariant linear layers.

Name a permutation group H <= S_d by its generators; eqsolve solves
P(g) L P(g)^T = L exactly, counts the dimension by Lemma 1 of Maron et al.
(ICML 2020), verifies the paper's theorems and exports PyTorch layers.
"""

EPILOG = """\
examples:
  eqsolve demo                                          # the whole pipeline on a built-in example
  eqsolve solve "(0 1 2 3)(4 5); (0 1)" --degree 6 --json
  eqsolve solve --gap "(1,2,3,4,5), (1,2)" --json       # GAP notation, 1-based
  eqsolve solve --group grid:64x64 --json               # named groups
  eqsolve count "(0 1 2 3 4 5 6)" --method all --json   # Lemma 1 by several methods
  eqsolve verify --group cyclic:100 --n 25              # the paper's theorems for your group
  eqsolve export --group cyclic:100 --model dss-invariant --channels 1 64 64 --classes 3 --out net.pt2

run 'eqsolve COMMAND --help' for the options of each command.
"""


def build_parser() -> argparse.ArgumentParser:
    from . import count, demo, export, show, solve, verify

    COMMANDS = [demo, solve, count, export, verify, show]

    parser = argparse.ArgumentParser(
        prog="eqsolve", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"eqsolve {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``eqsolve`` console script; returns the exit code."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # group orders such as 4096! are printed in full
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except EqsolveError as err:
        print(f"eqsolve {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
