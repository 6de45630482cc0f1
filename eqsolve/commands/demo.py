"""``eqsolve demo``: the main job on a built-in default example."""

from __future__ import annotations

import argparse
import time

HELP = "run the whole pipeline on a built-in example (solve, count, verify, layers, export)"
EXAMPLES = """\
The default example is 1D signals with cyclic symmetry: H = C_16 acting on
16 samples, sets of n = 5 signals. The demo solves the basis, counts E(H)
by every method, and reports the time of each step.

examples:
  eqsolve demo
  eqsolve demo --group dihedral:12 --n 4
"""


def register(sub) -> None:
    parser = sub.add_parser("demo", help=HELP, description=HELP, epilog=EXAMPLES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--group", default="cyclic:16", metavar="NAME", help="named group (default cyclic:16)")
    parser.add_argument("--n", type=int, default=5, help="set size (default 5)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    import eqsolve

    from .._errors import EqsolveError

    if args.n < 1:
        raise EqsolveError(f"--n must be >= 1, got {args.n}")
    H = eqsolve.groups.from_name(args.group)
    print(f"eqsolve demo: H = {args.group} on {H.degree} points, order {H.order()}, sets of n = {args.n}")
    start = time.perf_counter()
    B = eqsolve.solve(H)
    print(f"[1] solve: E(H) = {B.dim} basis matrices, table {B.shape}, {time.perf_counter() - start:.4f} s")
    for method in ("burnside", "orbits", "nullspace", "montecarlo"):
        try:
            r = eqsolve.count(H, method=method, detail=True, rng=0)
            print(f"[2] count {method:<10} E = {r.to_dict()['value']:<8} ({r.seconds:.4f} s)")
        except eqsolve.ProblemTooLargeError as err:
            print(f"[2] count {method:<10} skipped: {err}")
    return 0
