"""Subcommands of the ``eqsolve`` CLI, one module each (``register(subparsers)``)."""

from . import count, demo, export, solve

COMMANDS = [demo, solve, count, export]
