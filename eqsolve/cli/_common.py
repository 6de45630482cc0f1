"""Options and helpers shared by the subcommands: naming a group, printing JSON."""

from __future__ import annotations

import argparse
import json
import sys

from .._errors import EqsolveError

GROUP_HELP = """\
the group, one of:
  CYCLES             0-based cycles, generators separated by ';': "(0 1 2)(3 4); (0 1)"
  --gap TEXT         1-based GAP notation: "(1,2,3)(4,5), (1,2)"
  --group NAME       a named group: cyclic:N, dihedral:N, symmetric:N, alternating:N,
                     trivial:N, grid:HxW[xD...], subsets:N:K, hypercube:K,
                     sets:NAME:N (S_N x H), wreath:NAME:N, product:NAME,NAME,...,
                     direct:NAME,NAME,...
"""


def add_group_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """Positional cycles, --gap, --group and --degree."""
    parser.add_argument("cycles", nargs="?", help="0-based generators in cycle notation, separated by ';'")
    parser.add_argument("--gap", metavar="TEXT", help="generators in 1-based GAP notation, e.g. \"(1,2,3), (1,2)\"")
    parser.add_argument("--group", metavar="NAME", help="a named group, e.g. cyclic:100 or grid:64x64")
    parser.add_argument("--degree", type=int, metavar="D", help="number of points (default: largest point + 1)")
    parser.set_defaults(_group_required=required)


def group_from_args(args, default: str | None = None):
    """The group named by the arguments (exactly one of cycles / --gap / --group)."""
    from .. import groups
    from .._group import PermutationGroup

    given = [name for name in ("cycles", "gap", "group") if getattr(args, name, None) is not None]
    if len(given) > 1:
        raise EqsolveError(f"name the group once: got {' and '.join(given)}")
    if not given:
        if default is None:
            raise EqsolveError("no group given: pass cycles such as \"(0 1 2); (0 1)\", --gap or --group")
        return groups.from_name(default)
    if args.degree is not None and args.degree < 0:
        raise EqsolveError(f"degree must be >= 0, got {args.degree}")
    if args.cycles is not None:
        return PermutationGroup.parse(args.cycles, degree=args.degree)
    if args.gap is not None:
        return PermutationGroup.from_gap(args.gap, degree=args.degree)
    group = groups.from_name(args.group)
    if args.degree is not None and args.degree != group.degree:
        raise EqsolveError(f"--degree {args.degree} does not match {args.group}, which has degree {group.degree}")
    return group


def group_label(group, args) -> str:
    if getattr(args, "group", None):
        return args.group
    if getattr(args, "gap", None):
        return f"GAP {args.gap}"
    return group.name or str(group)


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, default=_default)
    sys.stdout.write("\n")


def _default(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def print_table(rows: list[tuple[str, object]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


ORDER_PRINT_BITS = 1 << 16  # about 19,700 digits: int-to-str is quadratic in Python


def order_text(group) -> str:
    """The group order in full, or ``about 10^k`` when it has more than ~19,700 digits.

    >>> from eqsolve import groups
    >>> order_text(groups.symmetric(5)), order_text(groups.symmetric(10**6))
    ('120', 'about 10^5565708')
    """
    import math

    bits = group.log2_order()
    if bits <= ORDER_PRINT_BITS:
        return str(group.order())
    return f"about 10^{int(bits * math.log10(2))}"
