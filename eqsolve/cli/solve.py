"""``eqsolve solve``: the exact orbit basis of a group's equivariant maps."""

from __future__ import annotations

import time

from ._common import (actions_from_args, add_command, add_output_arguments, add_power_arguments,
                      group_from_args, group_label, order_text, order_value, print_json, print_table)

HELP = "solve P(g) L P(g)^T = L exactly: the 0/1 orbit basis of the equivariant maps"
EXAMPLES = """\
examples:
  eqsolve solve "(0 1 2 3)(4 5); (0 1)" --degree 6
  eqsolve solve --gap "(1,2,3,4,5), (1,2)" --json
  eqsolve solve --group grid:64x64 --json
  eqsolve solve --group symmetric:3 --symbolic
  eqsolve solve --group cyclic:8 --out-power 2 --in-power 1 --json   # maps R^8 -> R^(8x8)
  eqsolve solve --group dihedral:6 --save basis.npz
"""


def register(sub) -> None:
    parser = add_command(sub, "solve", HELP, HELP, EXAMPLES)
    add_power_arguments(parser)
    parser.add_argument("--symbolic", action="store_true",
                        help="print the general equivariant matrix in symbols theta_k (sympy)")
    parser.add_argument("--save", metavar="FILE", help="write the basis to FILE (.npz, no pickle)")
    add_output_arguments(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    import eqsolve

    group = group_from_args(args)
    if args.save:
        from .._io import check_target

        check_target(args.save)
    start = time.perf_counter()
    out, inp = actions_from_args(group, args)
    basis = eqsolve.solve(out=out, inp=inp)
    seconds = time.perf_counter() - start
    orbits = len(group.orbits())
    if args.save:
        basis.save(args.save)
    record = {
        "group": group_label(group, args),
        "order": order_value(group),
        "orbits": orbits,
        "dimension": basis.dim,
        "method": "orbits",
        "seconds": seconds,
        "ngens": group.ngens,
    }
    if args.out_power == 1 and args.in_power == 1:
        record = {"degree": group.degree, **record}
    else:
        record = {"degree": group.degree, "degree_out": out.degree, "degree_in": inp.degree, **record}
    if args.save:
        record["saved"] = args.save
    if args.json:
        if args.symbolic:
            record["symbolic"] = [[str(x) for x in row] for row in basis.symbolic().tolist()]
        print_json(record)
        return 0
    shown = {**record, "order": order_text(group, args), "seconds": f"{seconds:.4f}"}
    print_table(list(shown.items()))
    if args.symbolic:
        import sympy

        print()
        print(sympy.pretty(basis.symbolic(), use_unicode=False))
    return 0
