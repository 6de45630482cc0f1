"""``eqsolve verify``: the paper's dimension theorems for a group, or the paper suite.

The ``theory`` package is imported inside the handler only.
"""

from __future__ import annotations

import re
import time

from .._errors import EqsolveError
from ._common import (add_command, add_output_arguments, group_from_args, group_label, order_text,
                      order_value, print_json)

HELP = "verify Lemma 1, Theorem 1 and its generalizations for a group, each by independent computations"
DESCRIPTION = HELP + """

Each claim of Maron et al., "On Learning Sets of Symmetric Elements" (ICML 2020) becomes one
row: the claim with this case's numbers, the predicted value, the value found by each
independent method (orbits = eqsolve's solver, burnside = the literal Lemma 1 average,
burnside-classes = the same over conjugacy classes, nullspace = rank of the linear system,
rencontres = E(S_n) from fixed-point counts, structural checks of the sharing table) and
whether they agree. Methods that cannot run (a group too large to enumerate, a table too
large for memory) are counted under the table and listed with the reason by -v; a row
that used a fallback is marked *. Long runs show progress on stderr when it is a terminal.
"""
EXAMPLES = """\
examples:
  eqsolve verify "(0 1 2 3 4 5 6 7 8 9)" --n 25 --in-channels 16 --out-channels 32
  eqsolve verify --group cyclic:100 --n 25 --json                  # the same as one JSON object
  eqsolve verify --gap "(1,2,3,4)(5,6), (1,2)" --n 5               # GAP notation, 1-based
  eqsolve verify --group grid:8x8 --n 6 --report grid.md           # markdown report + PNG pictures
  eqsolve verify --suite paper --report verify.md                  # the paper's settings, true sizes
  eqsolve verify --suite paper --json > paper.json
  eqsolve verify --group grid:64x64 --n 20 --max-memory 30G        # allow a 25 GiB solver table

exit status: 0 every claim agrees; 1 some claim disagrees; 3 no disagreement but some claim
could not be checked by any method (see its skipped reasons); 2 bad input.
"""


def register(sub) -> None:
    parser = add_command(sub, "verify", HELP, DESCRIPTION, EXAMPLES)
    parser.add_argument("--n", type=int, default=2, metavar="N",
                        help="number of elements in a set: G = S_N x H (default 2), e.g. --n 25")
    parser.add_argument("--in-channels", type=int, default=1, metavar="C",
                        help="input channels of the layers (default 1), e.g. --in-channels 16")
    parser.add_argument("--out-channels", type=int, default=1, metavar="C",
                        help="output channels of the layers (default 1), e.g. --out-channels 32")
    parser.add_argument("--suite", choices=["paper"],
                        help="run a fixed suite instead of one group: 'paper' = the settings of the paper's "
                             "experiments at their true sizes (signals C_100, 64x64 images with n = 6 and 20, "
                             "point clouds and graphs with m = 20, tabular, DeepSets), e.g. --suite paper")
    parser.add_argument("--report", metavar="FILE",
                        help="also write a markdown report to FILE (with PNG pictures of the sharing patterns "
                             "when matplotlib is installed), e.g. --report verify.md")
    parser.add_argument("--pictures", metavar="DIR",
                        help="folder for the report's PNG pictures (default: FILE's name + '_files' next to it)")
    parser.add_argument("--no-pictures", action="store_true", help="write the report without pictures")
    parser.add_argument("--max-memory", metavar="SIZE", default="4G",
                        help="largest solver table to build, e.g. 512M, 4G (default 4G); larger ones are "
                             "skipped and the row says so")
    parser.add_argument("--max-elements", type=int, default=10**6, metavar="K",
                        help="largest group the literal Burnside sum enumerates (default 1000000)")
    parser.add_argument("--max-unknowns", type=int, default=1024, metavar="U",
                        help="largest linear system (d_out * d_in unknowns) for the nullspace and rank "
                             "methods (default 1024), e.g. --max-unknowns 4096")
    parser.add_argument("--samples", type=int, default=4000, metavar="S",
                        help="random elements for the Monte Carlo fallback (default 4000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the Monte Carlo fallback (default 0)")
    parser.add_argument("--no-wreath", action="store_true", help="leave out the wreath-product row (H wr S_N)")
    parser.add_argument("--no-products", action="store_true", help="leave out the products row (H x H)")
    add_output_arguments(parser, json_help="print one JSON object (the attributes of the theory results)",
                         verbose="list every skipped method and fallback with the reason")
    parser.set_defaults(handler=run)


def parse_size(text: str) -> int:
    """``"4G"`` -> 4 GiB in bytes; plain integers are bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*", str(text))
    if not match:
        raise EqsolveError(f"--max-memory must look like 512M, 4G or a number of bytes, got {text!r}")
    value = float(match.group(1)) * 1024 ** "_KMGT".index(match.group(2).upper() or "_")
    if value < 1:
        raise EqsolveError(f"--max-memory must be positive, got {text!r}")
    return int(value)


def run(args) -> int:
    from eqsolve.theory import Limits

    limits = Limits.make(max_bytes=parse_size(args.max_memory), max_elements=args.max_elements,
                         max_unknowns=args.max_unknowns, samples=args.samples, seed=args.seed)
    if args.pictures and not args.report:
        raise EqsolveError("--pictures needs --report FILE")
    if args.report:
        from .._io import check_target

        check_target(args.report)  # before the (possibly long) verification
    if args.suite:
        if any(getattr(args, name, None) is not None for name in ("cycles", "gap", "group")):
            raise EqsolveError("give either --suite or a group, not both")
        return _run_suite(args, limits)
    return _run_group(args, limits)


def _run_group(args, limits) -> int:
    from eqsolve import theory
    from eqsolve.theory import suite

    group = group_from_args(args)
    c_in, c_out = args.in_channels, args.out_channels
    start = time.perf_counter()
    results = theory.verify(group, args.n, c_in, c_out, wreath=not args.no_wreath, products=not args.no_products,
                            limits=limits)
    seconds = time.perf_counter() - start
    label = group_label(group, args)
    pictures = []
    if args.report:
        wrapped = suite.single(group, args.n, c_in, c_out, results, seconds, label=label)
        pictures = suite.write_report(wrapped, args.report, pictures=not args.no_pictures,
                                      pictures_dir=args.pictures, limits=limits)
    if args.json:
        record = {"group": label, "degree": group.degree, "order": order_value(group), "n": args.n,
                  "in_channels": c_in, "out_channels": c_out, **results.to_dict(), "seconds": round(seconds, 6)}
        if args.report:
            record["report"] = args.report
            record["pictures"] = pictures
        print_json(record)
    else:
        print(f"verify H = {label} ({group.degree} points, order {order_text(group, args)}), n = {args.n}, "
              f"channels {c_in} -> {c_out}")
        print(results.text(verbose=args.verbose, full=args.full))
        _print_report(args.report, pictures)
    return _exit_code(results.status)


def _run_suite(args, limits) -> int:
    from eqsolve.theory import suite

    result = suite.paper(limits=limits)
    pictures = []
    if args.report:
        pictures = suite.write_report(result, args.report, pictures=not args.no_pictures,
                                      pictures_dir=args.pictures, limits=limits)
    if args.json:
        record = result.to_dict()
        if args.report:
            record["report"] = args.report
            record["pictures"] = pictures
        print_json(record)
    else:
        print(result.text(verbose=args.verbose, full=args.full))
        _print_report(args.report, pictures)
    return _exit_code(result.status)


def _print_report(report, pictures) -> None:
    if report:
        print(f"report written to {report}" + (f" with {len(pictures)} picture(s)" if pictures else ""))


def _exit_code(status: str) -> int:
    return {"agree": 0, "disagree": 1}.get(status, 3)
