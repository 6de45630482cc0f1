"""Stabilizer chains: eqsolve's numpy backend against sympy's Schreier-Sims.

Each group is given by the plain generators of a named constructor (so no named shortcut
applies) and each measurement runs in its own subprocess under a wall-clock limit. Printed
per backend: seconds to build the chain and get the order, then to draw one uniform random
element, then to test membership of that element.

Usage::

    python benchmarks/groups.py                 # every group, 60 s limit per measurement
    python benchmarks/groups.py --limit 20 --only cyclic dihedral
    python benchmarks/groups.py --skip-sympy    # eqsolve only

Example output line (2 shared cores)::

    cyclic(4096)      4096  4096   sympy 4.6 s ...   eqsolve 0.04 s ...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

GROUPS = {
    "cyclic(4096)": "groups.cyclic(4096)",
    "dihedral(4096)": "groups.dihedral(4096)",
    "symmetric(4096)": "groups.symmetric(4096)",
    "grid(64,64)": "groups.grid_translations((64, 64))",
    "grid(128,128)": "groups.grid_translations((128, 128))",
    "C64 x C64 product": "groups.product_action(groups.cyclic(64), groups.cyclic(64))",
    "3-cube": "groups.from_name('hypercube:3')",
    "S20 on 2-subsets": "groups.subsets(groups.symmetric(20), 2)",
    "wreath(C3, 5)": "groups.wreath(groups.cyclic(3), 5)",
    # the two generators usually quoted for "M_12" generate M_11 (order 7920); M_12 needs a third
    "M11 (2 GAP gens)": "eqsolve.PermutationGroup.from_gap('(1,2,3,4,5,6,7,8,9,10,11), (3,7,11,8)(4,10,5,6)', degree=12)",
    "M12 (3 GAP gens)": "eqsolve.PermutationGroup.from_gap("
    "'(1,2,3,4,5,6,7,8,9,10,11), (3,7,11,8)(4,10,5,6), (1,12)(2,11)(3,6)(4,8)(5,9)(7,10)')",
}

_CHILD = r"""
import json, sys, time
sys.set_int_max_str_digits(0)
import numpy as np
import eqsolve
from eqsolve import groups

backend, expr = sys.argv[1], sys.argv[2]
named = eval(expr)
gens, degree = named.generators, named.degree
rng = np.random.default_rng(0)
out = {"degree": degree}
t = time.perf_counter()
if backend == "sympy":
    from sympy.combinatorics import Permutation, PermutationGroup
    G = PermutationGroup([Permutation(list(map(int, g)), size=degree) for g in gens])
    G.schreier_sims()
    order = int(G.order())
    out["order_s"] = time.perf_counter() - t
    t = time.perf_counter()
    g = G.random()
    out["random_s"] = time.perf_counter() - t
    t = time.perf_counter()
    assert G.contains(g)
    out["contains_s"] = time.perf_counter() - t
else:
    G = eqsolve.PermutationGroup(gens, degree=degree)
    order = G.order()
    out["order_s"] = time.perf_counter() - t
    out["backend"] = type(G.chain).__name__
    t = time.perf_counter()
    g = G.random_element(rng)
    out["random_s"] = time.perf_counter() - t
    t = time.perf_counter()
    assert G.contains(g)
    out["contains_s"] = time.perf_counter() - t
out["order"] = str(order)
print(json.dumps(out))
"""


def measure(backend: str, expr: str, limit: float) -> dict:
    """Run one measurement in a subprocess; ``{"timeout": limit}`` if it ran out of time."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, backend, expr], capture_output=True, text=True, timeout=limit, env=env
        )
    except subprocess.TimeoutExpired:
        return {"timeout": limit}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(result: dict) -> str:
    if "timeout" in result:
        return f"> {result['timeout']:g} s"
    if "error" in result:
        return "error: " + result["error"][:40]
    return f"{result['order_s']:.3g} s / {result['random_s'] * 1e3:.3g} ms / {result['contains_s'] * 1e3:.3g} ms"


def _order_text(order: str) -> str:
    return order if len(order) <= 12 else f"{order[:4]}...e{len(order) - 1}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per measurement (default 60)")
    parser.add_argument("--only", nargs="*", help="substrings of group names to run, e.g. --only cyclic M12")
    parser.add_argument("--skip-sympy", action="store_true", help="measure eqsolve only")
    args = parser.parse_args(argv)
    names = [n for n in GROUPS if not args.only or any(s in n for s in args.only)]
    print(f"order / random element / membership, one subprocess each, limit {args.limit:g} s")
    print(f"| group | degree | order | sympy | eqsolve | eqsolve backend |")
    print("|---|---:|---:|---:|---:|---|")
    for name in names:
        mine = measure("eqsolve", GROUPS[name], args.limit)
        theirs = {"skipped": True} if args.skip_sympy else measure("sympy", GROUPS[name], args.limit)
        if "order" in mine and "order" in theirs and mine["order"] != theirs["order"]:
            print(f"ORDER MISMATCH for {name}: eqsolve {mine['order']}, sympy {theirs['order']}")
            return 1
        degree = mine.get("degree", theirs.get("degree", "?"))
        order = _order_text(mine.get("order", theirs.get("order", "?")))
        sympy_cell = "skipped" if "skipped" in theirs else _cell(theirs)
        print(f"| {name} | {degree} | {order} | {sympy_cell} | {_cell(mine)} | {mine.get('backend', '')} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
