"""The ``eqsolve`` command line: the one front door, one module per subcommand.

Subcommands import ``eqsolve.layers`` and ``eqsolve.theory`` lazily, inside their
handlers, so ``eqsolve solve`` stays fast and never loads torch. No core module of
``eqsolve`` imports from this package.
"""

from ._main import build_parser, main

__all__ = ["build_parser", "main"]
