"""The ``eqsolve`` command line: the one front door.

Subcommands live in :mod:`eqsolve.cli`, one module each; they import
``eqsolve.layers`` and ``eqsolve.theory`` lazily, inside the subcommands that need them, so
``eqsolve solve`` stays fast and never loads torch.

Exit codes: 0 success, 2 bad input or any other failure: one line on stderr
(a JSON object on stderr under ``--json``), never a traceback unless ``--debug`` is given
(or ``EQSOLVE_DEBUG=1`` is set).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

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
  eqsolve export --group cyclic:100 --model dss-invariant --widths 64 64 --classes 3 --out net.pt2

run 'eqsolve COMMAND --help' for the options of each command.

exit status: 0 success; 2 bad input, a request above the memory or work limit
(EQSOLVE_MAX_MEMORY, EQSOLVE_MAX_WORK; see docs/limits.md) or a file that cannot be
read or written: one line on stderr, a JSON object on stderr under --json, a
traceback only with --debug.
"""

DEBUG_HELP = "show the Python traceback of a failure (also EQSOLVE_DEBUG=1)"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors follow the --json convention of the others."""

    def error(self, message):
        if _wants_json(sys.argv[1:] if _ARGV is None else _ARGV):
            _report_json(self.prog.split()[-1] if " " in self.prog else None, "UsageError", message)
            raise SystemExit(2)
        super().error(message)


_ARGV: list[str] | None = None


def _wants_json(argv) -> bool:
    return any(a == "--json" for a in argv or ())


def build_parser() -> argparse.ArgumentParser:
    from . import count, demo, export, show, solve, train, verify

    COMMANDS = [demo, solve, count, export, verify, show, train]

    parser = _Parser(
        prog="eqsolve", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"eqsolve {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    for command in sub.choices.values():
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    return parser


def _hint(unknown: list[str], command: str) -> str:
    """What a newcomer most likely meant by arguments the parser did not take."""
    if "--channels" in unknown:
        return "; use --in-channels C and --out-channels C (verify) or --in-channels C --widths W ... (export)"
    if any(set(word) <= set("0123456789()-,;") and word.strip("-") for word in unknown):
        # the shell split an unquoted cycle string such as (0 1 2) into several words
        return f'; quote the generators as one argument, e.g. eqsolve {command} "(0 1 2)(3 4); (0 1)"'
    return ""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``eqsolve`` console script; returns the exit code."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # exact orders such as 4096! go into --json and --full output
    global _ARGV
    _ARGV = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if not getattr(args, "handler", None):
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        parser.print_help()
        return 2
    if unknown:  # reported against the subcommand's usage, not the top level's
        _subparser(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}{_hint(unknown, args.command)}")
    debug = bool(getattr(args, "debug", False)) or os.environ.get("EQSOLVE_DEBUG", "") not in ("", "0")
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except SystemExit:
        raise
    except BaseException as err:  # every failure becomes one line (and exit 2), never a traceback
        if debug:
            traceback.print_exc()
        kind, message = describe_failure(err)
        if getattr(args, "json", False):
            _report_json(args.command, kind, message)
        else:
            print(f"eqsolve {args.command}: error: {message}", file=sys.stderr)
        return 2


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def describe_failure(err: BaseException) -> tuple[str, str]:
    """``(kind, one-line message)`` of any exception raised by a subcommand.

    >>> describe_failure(PermissionError(13, "Permission denied", "/ro/net.pt2"))
    ('PermissionError', '/ro/net.pt2: permission denied')
    """
    kind = type(err).__name__
    if isinstance(err, EqsolveError):
        message = str(err)
    elif isinstance(err, OSError):
        message = describe_os_error(err)
    elif isinstance(err, MemoryError):
        message = ("out of memory: the request needed more memory than was free when it ran; set "
                   "EQSOLVE_MAX_MEMORY lower so that it is refused early, or free memory")
    elif isinstance(err, RecursionError):
        message = "the input is nested too deeply"
    else:
        message = f"internal error ({kind}: {err}); run with --debug for the traceback and please report it"
    return kind, " ".join(message.split()) or kind


def describe_os_error(err: OSError) -> str:
    """A one-line account of a failed read or write, naming the file and the cause."""
    from .._io import ERRNO_REASONS as reasons  # one table of errno wordings

    reason = reasons.get(err.errno, (err.strerror or str(err)).lower())
    name = err.filename if err.filename is not None else None
    return f"{name}: {reason}" if name else f"input/output error: {reason}"


def _report_json(command, kind: str, message: str) -> None:
    record = {"error": " ".join(str(message).split()), "type": kind, "exit_code": 2}
    if command:
        record = {"command": command, **record}
    sys.stderr.write(json.dumps(record) + "\n")


def _silence_stdout() -> None:
    # the reader went away (eqsolve ... | head): do not let the interpreter complain at exit
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
