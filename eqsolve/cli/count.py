"""``eqsolve count``: E(H) by Lemma 1 and by independent methods."""

from __future__ import annotations

from ._common import (add_command, add_output_arguments, group_from_args, group_label, order_text,
                      order_value, print_json, skipped_list)

HELP = "count E(H), the number of independent equivariant maps, by one or several methods"
EXAMPLES = """\
methods:
  burnside    (1/|H|) sum_h tr(P(h))^2, enumerating the group (exact fraction)
  orbits      the solver's number of orbits on pairs (exact)
  nullspace   d^2 - rank of the stacked system (P(g) (x) P(g) - I) (exact <= 400 unknowns, float <= 2048)
  montecarlo  mean of tr(P(h))^2 over uniform random h, with a 95% interval
  auto        orbits where the table fits, else burnside, else montecarlo
  all         every method that applies; the others are listed as skipped (-v: with the reason)

examples:
  eqsolve count "(0 1 2 3 4 5 6)" --method all --json
  eqsolve count --group symmetric:1000 --method montecarlo --samples 2000
"""


def register(sub) -> None:
    parser = add_command(sub, "count", HELP, HELP, EXAMPLES)
    parser.add_argument("--method", default="auto",
                        choices=["auto", "burnside", "orbits", "nullspace", "montecarlo", "all"],
                        help="counting method (default auto)")
    parser.add_argument("--samples", type=int, default=4000, metavar="N",
                        help="random elements for montecarlo (default 4000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for montecarlo (default 0)")
    add_output_arguments(parser, verbose="say why each skipped method did not run")
    parser.set_defaults(handler=run)


def run(args) -> int:
    import eqsolve

    from .._count import METHODS
    from .._format import format_value

    group = group_from_args(args)
    methods = [m for m in METHODS if m != "auto"] if args.method == "all" else [args.method]
    results, skipped = [], []
    for method in methods:
        try:
            results.append(eqsolve.count(group, method=method, detail=True, samples=args.samples, rng=args.seed))
        except eqsolve.ProblemTooLargeError as err:
            if args.method != "all":
                raise
            skipped.append((method, str(err)))
    exact = {r.value for r in results if r.exact}
    agree = len(exact) <= 1
    if len(exact) == 1:
        dimension = next(iter(exact))
    elif exact:
        dimension = sorted(exact)
    else:
        dimension = results[0].value if results else None
    record = {
        "group": group_label(group, args),
        "degree": group.degree,
        "order": order_value(group),
        "orbits": len(group.orbits()),
        "dimension": dimension,
        "method": results[0].method if len(results) == 1 else "all",
        "seconds": sum(r.seconds for r in results),
        "results": [r.to_dict() for r in results],
        "skipped": skipped_list(skipped),
        "agree": agree,
    }
    if args.json:
        print_json(record)
        return 0 if agree else 1
    print(f"group {record['group']}: degree {record['degree']}, order {order_text(group, args)}, "
          f"{record['orbits']} orbit(s)")
    for r in results:
        extra = f"  95% interval [{r.interval[0]:.3f}, {r.interval[1]:.3f}]" if r.interval else ""
        print(f"  {r.method:<11} E = {format_value(r.value, args.full):<12} {r.seconds:9.4f} s{extra}")
    if skipped and args.verbose:
        for method, why in skipped:
            print(f"  {method:<11} skipped: {why}")
    elif skipped:
        print(f"  skipped: {', '.join(m for m, _ in skipped)} (too large here; -v says why)")
    if not agree:
        print("  DISAGREEMENT between exact methods")
    return 0 if agree else 1
