"""Subcommands of the ``eqsolve`` CLI, one module each (``register(subparsers)``)."""

from . import count, demo, solve

COMMANDS = [demo, solve, count]
