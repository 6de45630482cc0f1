"""Subcommands of the ``eqsolve`` CLI, one module each (``register(subparsers)``)."""

from . import count, demo, export, show, solve, verify

COMMANDS = [demo, solve, count, export, verify, show]
