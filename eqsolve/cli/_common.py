"""Options and helpers shared by the subcommands: naming a group, output flags, printing.

Every command prints JSON in one vocabulary (see docs/cli.md, "JSON output"): exact
integers are numbers below 2^53 and decimal strings beyond, counts of weights are called
``dimension``, ``skipped`` is always a list of ``{"method", "reason"}``, keys are the
Python attribute names of the objects reported, and errors under ``--json`` are one JSON
object on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .._errors import EqsolveError
from .._format import abbreviate, json_value, render_table

GROUP_TITLE = "the group (give it once: CYCLES, --gap TEXT or --group NAME)"


def add_command(sub, name: str, help: str, description: str | None = None, epilog: str | None = None,
                group: bool = True) -> argparse.ArgumentParser:
    """The subparser of one command (help texts kept as written), with the group options."""
    parser = sub.add_parser(name, help=help, description=description or help, epilog=epilog,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    if group:
        add_group_arguments(parser)
    return parser


def add_power_arguments(parser: argparse.ArgumentParser) -> None:
    """--out-power and --in-power: the group acting on [d]^K on either side."""
    parser.add_argument("--out-power", type=int, default=1, metavar="K",
                        help="output action: the group on [d]^K (default 1: its points; 0: invariant maps)")
    parser.add_argument("--in-power", type=int, default=1, metavar="K",
                        help="input action: the group on [d]^K (default 1)")


def actions_from_args(group, args):
    """The (out, inp) actions named by --out-power / --in-power."""
    for flag in ("out_power", "in_power"):
        if getattr(args, flag) < 0:
            raise EqsolveError(f"--{flag.replace('_', '-')} must be >= 0, got {getattr(args, flag)}")
    check_power_sizes(group, args.out_power, args.in_power, table=False)
    rho = group.action()
    out = rho.tensor(args.out_power) if args.out_power != 1 else rho
    inp = rho.tensor(args.in_power) if args.in_power != 1 else rho
    return out, inp


def add_group_arguments(parser: argparse.ArgumentParser) -> None:
    """Positional cycles, --gap, --group and --degree, printed once as one option group."""
    from ..groups import named_help

    group = parser.add_argument_group(
        GROUP_TITLE, "named groups for --group NAME (NAME inside sets:, wreath:, subsets:, product:,\n"
                     "direct: is again a named group):\n" + _indent(named_help()))
    group.add_argument("cycles", nargs="?", metavar="CYCLES",
                       help="0-based generators, separated by ';', e.g. \"(0 1 2)(3 4); (0 1)\"")
    group.add_argument("--gap", metavar="TEXT", help="generators in 1-based GAP notation, e.g. \"(1,2,3), (1,2)\"")
    group.add_argument("--group", metavar="NAME", help="a named group (listed above), e.g. cyclic:100 or grid:64x64")
    group.add_argument("--degree", type=int, metavar="D", help="number of points (default: largest point + 1)")


def add_output_arguments(parser: argparse.ArgumentParser, json_help: str = "print one JSON object instead of text",
                         verbose: str | None = None) -> None:
    """--json and --full (and -v where a command has details to hide)."""
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help=json_help)
    out.add_argument("--full", action="store_true",
                     help="print huge integers in full (default: 2.65e32, 33 digits; --json is always exact)")
    if verbose:
        out.add_argument("-v", "--verbose", action="store_true", help=verbose)


def _indent(text: str, pad: str = "  ") -> str:
    return "\n".join(pad + line for line in text.splitlines())


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


def number(value, args) -> str:
    """An exact integer for the text output: abbreviated unless --full."""
    return abbreviate(value, full=getattr(args, "full", False))


def print_json(obj) -> None:
    """One JSON object on stdout, in the common vocabulary (see :func:`eqsolve._format.json_value`)."""
    json.dump(json_value(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")


def print_table(rows, header=None, right=()) -> None:
    print(render_table(rows, header=header, right=right))


def skipped_list(pairs) -> list[dict]:
    """``[(method, reason), ...]`` as the JSON ``skipped`` list."""
    return [{"method": method, "reason": reason} for method, reason in pairs]


ORDER_PRINT_BITS = 1 << 16  # about 19,700 digits: int-to-str is quadratic in Python


def order_value(group):
    """The group order for JSON: the exact integer (a string beyond 2^53, see
    :func:`eqsolve._format.json_value`), or ``"about 10^k"`` beyond ~19,700 digits.

    >>> from eqsolve import groups
    >>> order_value(groups.symmetric(5)), order_value(groups.symmetric(10**6))
    (120, 'about 10^5565708')
    """
    import math

    bits = group.log2_order()
    if bits <= ORDER_PRINT_BITS:
        return group.order()
    return f"about 10^{int(bits * math.log10(2))}"


def order_text(group, args=None) -> str:
    """The group order for text output: abbreviated (``2.65e32, 33 digits``) unless --full."""
    value = order_value(group)
    return value if isinstance(value, str) else number(value, args)


def check_power_sizes(group, k_out: int, k_in: int, table: bool = True) -> None:
    """Refuse ``--out-power`` / ``--in-power`` whose actions or orbit table would not fit,
    before building the actions (a tensor power of 400 points to the 3rd has 64M points)."""
    import math

    from .._budget import require_at_most, require_memory
    from .._group import MAX_POINTS

    d = group.degree
    for flag, k in (("--out-power", k_out), ("--in-power", k_in)):
        if d > 1 and k * math.log2(d) > 40:
            require_at_most(d ** min(k, 64), MAX_POINTS, f"the number of points of [{d}]^{k} ({flag} {k})",
                            "use a smaller power or a smaller group")
        require_at_most(d ** k, MAX_POINTS, f"the number of points of [{d}]^{k} ({flag} {k})",
                        "use a smaller power or a smaller group")
    d_out, d_in = d ** k_out, d ** k_in
    require_memory(8 * (group.ngens + 3) * (d_out + d_in), f"the actions of --out-power {k_out} --in-power {k_in}")
    if table:  # the solver checks its own tables; a picture needs the dense one
        require_memory(4 * d_out * d_in + 8 * (group.ngens + 3) * (d_out + d_in),
                       f"the {d_out} x {d_in} orbit table of --out-power {k_out} --in-power {k_in}")
