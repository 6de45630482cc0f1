"""``eqsolve verify``: the paper's dimension theorems for a group, or the paper suite.

The ``theory`` package is imported inside the handler only.
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from .._errors import EqsolveError
from ._common import GROUP_HELP, add_group_arguments, group_from_args, group_label, order_text, print_json

HELP = "verify Lemma 1, Theorem 1 and its generalizations for a group, each by independent computations"
DESCRIPTION = HELP + """

Each claim of Maron et al., "On Learning Sets of Symmetric Elements" (ICML 2020) becomes one
row: the claim with this case's numbers, the predicted value, the value found by each
independent method (orbits = eqsolve's solver, burnside = the literal Lemma 1 average,
burnside-classes = the same over conjugacy classes, nullspace = rank of the linear system,
rencontres = E(S_n) from fixed-point counts, structural checks of the sharing table) and
whether they agree. Methods that cannot run (a group too large to enumerate, a table too
large for memory) are listed with the reason; fallbacks are said in the row.

""" + GROUP_HELP
EXAMPLES = """\
examples:
  eqsolve verify "(0 1 2 3 4 5 6 7 8 9)" --n 25 --channels 16 32   # a table, one row per claim
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
    parser = sub.add_parser(
        "verify", help=HELP, description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_group_arguments(parser, required=False)
    parser.add_argument("--n", type=int, default=2, metavar="N",
                        help="number of elements in a set: G = S_N x H (default 2), e.g. --n 25")
    parser.add_argument("--channels", type=int, nargs=2, default=(1, 1), metavar=("C_IN", "C_OUT"),
                        help="input and output channels of the layers (default 1 1), e.g. --channels 16 32")
    parser.add_argument("--suite", choices=["paper"],
                        help="run a fixed suite instead of one group: 'paper' = the settings of the paper's "
                             "experiments at their true sizes (signals C_100, 64x64 images with n = 6 and 20, "
                             "point clouds and graphs with m = 20, tabular, DeepSets), e.g. --suite paper")
    parser.add_argument("--json", action="store_true", help="print one JSON object (same fields as the table)")
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
    c_in, c_out = args.channels
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
        record = {"group": label, "degree": group.degree, "order": order_text(group), "n": args.n,
                  "channels": [c_in, c_out], **results.to_dict(), "seconds": round(seconds, 6)}
        if args.report:
            record["report"] = args.report
            record["pictures"] = pictures
        print_json(record)
    else:
        print(f"verify H = {label} ({group.degree} points, order {order_text(group)}), n = {args.n}, "
              f"channels {c_in} -> {c_out}")
        _print_results(results)
        _print_footer(results, seconds, args.report, pictures)
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
        for section in result.sections:
            print(f"== {section.title} ({section.seconds:.2f} s)")
            _print_results(section.results)
            print()
        _print_footer(result.results, result.seconds, args.report, pictures)
    return _exit_code(result.status)


def _print_results(results) -> None:
    from eqsolve.theory._result import format_value

    rows = [("claim", "predicted", "result", "seconds", "independent computations")]
    for r in results:
        status = {"agree": "agree", "disagree": "DISAGREE", "unchecked": "UNCHECKED"}[r.status]
        if r.fallback:
            status += "*"
        rows.append((r.claim, format_value(r.predicted), status, f"{r.seconds:.3f}", r.checks_text()))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    notes = []
    for r in results:
        if r.fallback:
            notes.append(f"  * {r.claim}: fallback: {r.fallback}")
        for s in r.skipped:
            notes.append(f"    {r.claim}: {s.method} skipped: {s.reason}")
    if notes:
        print("skipped methods and fallbacks:")
        print("\n".join(notes))


def _print_footer(results, seconds, report, pictures) -> None:
    counts = {s: sum(1 for r in results if r.status == s) for s in ("agree", "disagree", "unchecked")}
    if counts["agree"] == len(results):
        print(f"all {len(results)} claims agree ({seconds:.2f} s)")
    else:
        print(f"{counts['agree']} of {len(results)} claims agree, {counts['disagree']} disagree, "
              f"{counts['unchecked']} could not be checked ({seconds:.2f} s)", file=sys.stdout)
    if report:
        print(f"report written to {report}" + (f" with {len(pictures)} picture(s)" if pictures else ""))


def _exit_code(status: str) -> int:
    return {"agree": 0, "disagree": 1}.get(status, 3)
