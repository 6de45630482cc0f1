"""``eqsolve show``: a picture of a group's weight-sharing pattern (PNG, needs matplotlib)."""

from __future__ import annotations

from .._errors import EqsolveError
from ._common import (actions_from_args, add_command, add_output_arguments, add_power_arguments,
                      group_from_args, group_label, order_text, print_json)

HELP = "draw the weight-sharing pattern of the equivariant maps as a PNG (orbit_index as colours)"
DESCRIPTION = HELP + """

Entry (i, j) of the equivariant weight matrix is coloured by its basis id: equal colours are
one shared weight. With --n N the picture is the DSS layer of S_N x H on sets of N elements
(blocks separated by lines). Needs matplotlib (pip install 'eqsolve[plot]'); the file is
written atomically.
"""
EXAMPLES = """\
examples:
  eqsolve show --group grid:8x8 --out sharing.png             # translations of an 8 x 8 image
  eqsolve show --group cyclic:12 --n 3 --out dss.png          # S_3 x C_12: the DSS pattern
  eqsolve show "(0 1 2 3)(4 5); (0 1)" --out mine.png --title "my group"
  eqsolve show --group grid:64x64 --max-points 256 --out big.png   # top-left 256 x 256 corner
  eqsolve show --group symmetric:5 --out-power 2 --out s5.png      # maps R^5 -> R^(5x5)
"""


MAX_DPI = 1200
MAX_POINTS_DRAWN = 8192


def register(sub) -> None:
    parser = add_command(sub, "show", HELP, DESCRIPTION, EXAMPLES)
    parser.add_argument("--out", required=True, metavar="FILE", help="the PNG file to write, e.g. --out sharing.png")
    parser.add_argument("--n", type=int, metavar="N",
                        help="draw the DSS layer of S_N x H (sets of N elements) instead of H's own layer, e.g. --n 3")
    add_power_arguments(parser)
    parser.add_argument("--max-points", type=int, default=512, metavar="P",
                        help="draw at most P rows and columns; larger tables show their top-left corner "
                             "(per block with --n) and the caption says so (default 512), e.g. --max-points 256")
    parser.add_argument("--title", metavar="TEXT", help="picture title (default: the group's name)")
    parser.add_argument("--dpi", type=int, default=110, metavar="DPI", help="resolution (default 110), e.g. --dpi 200")
    add_output_arguments(parser, json_help="print what was drawn as one JSON object")
    parser.set_defaults(handler=run)


def run(args) -> int:
    import eqsolve
    from eqsolve.theory.pictures import draw_sharing

    from .._io import check_target

    group = group_from_args(args)
    check_target(args.out)
    label = group_label(group, args)
    if args.max_points < 1:
        raise EqsolveError(f"--max-points must be >= 1, got {args.max_points}")
    if args.dpi < 10:
        raise EqsolveError(f"--dpi must be >= 10, got {args.dpi}")
    from .._budget import require_at_most
    from ._common import check_power_sizes

    require_at_most(args.dpi, MAX_DPI, "--dpi", f"a 6.4 inch picture at {MAX_DPI} dpi is already "
                    f"{int(6.4 * MAX_DPI)} pixels wide")
    require_at_most(args.max_points, MAX_POINTS_DRAWN, "--max-points", "draw a corner of the table")
    check_power_sizes(group, args.out_power, args.in_power)
    blocks = None
    if args.n is not None:
        if args.n < 1:
            raise EqsolveError(f"--n must be an integer >= 1, got {args.n}")
        if args.out_power != 1 or args.in_power != 1:
            raise EqsolveError("--n draws the DSS layer on [n] x [d]; it cannot be combined with --out-power/--in-power")
        group = eqsolve.groups.sets_of(group, args.n)
        blocks = args.n
        label = f"S_{args.n} x {label}"
    out, inp = actions_from_args(group, args)
    basis = eqsolve.solve(out=out, inp=inp)
    subtitle = f"degree {group.degree}, order {order_text(group, args)}"
    info = draw_sharing(basis.orbit_index, args.out, title=args.title or label, blocks=blocks,
                        max_points=args.max_points, dpi=args.dpi, subtitle=subtitle)
    if args.json:
        print_json({"group": label, **info})
    else:
        shown = " x ".join(map(str, info["shown"]))
        print(f"wrote {info['path']}: {label}, {info['dimension']} shared weights over a "
              f"{info['shape'][0]} x {info['shape'][1]} matrix" + (f" (drawn: {shown})" if info["cropped"] else ""))
    return 0
