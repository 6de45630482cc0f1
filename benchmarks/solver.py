"""Solver speed and memory: ``eqsolve.solve`` against the physical floor and the literal nullspace.

Three tables, all measured in one run (issue 2, part 7):

1. Time of ``eqsolve.solve(G, cache=False).orbit_index`` (the dense table) against the floor: one numpy gather pass
   writing a d x d int32 table, ``np.take(row, index, out=out)`` with a precomputed
   d x d int32 index and a preallocated output, warmed up once so that page faults do
   not count. Both sides take the best of ``--repeats`` runs. Target: ratio <= 3 at
   d = 4096 for every group.
2. Peak memory of one solve against its int32 output, measured in a fresh subprocess
   per group: the kernel's peak resident set (VmHWM in /proc/self/status) after the
   solve minus the resident set just before it (after imports, building the group and a
   warm-up solve of a tiny group), with the peak reset first (``/proc/self/clear_refs``)
   so that the import peak does not hide the solve's. (``ru_maxrss`` cannot be used
   in a child: Linux carries the parent's peak across fork + exec into it; it is the
   fallback where /proc is missing.) RSS counts every allocation (numpy, scipy's
   compiled code, the allocator's slack), unlike tracemalloc. Target: grid (128, 128)
   under 2.5x its output.
4. Compact solves (the default form, no dense table) in a fresh process each: time, the
   compact output (``Basis.nbytes``) and the peak RSS increase, for grids of 2^16, 2^18 and
   2^20 points and ``sets_of(grid_translations((64, 64)), 20)`` (81,920 points). Targets:
   grid (1024, 1024) <= 2 s and peak <= 3x its output; the n = 20 image sets <= 10 s.
3. The literal linear-algebra solve against ``solve`` for C_d, d = 16, 32, 64:
   ``scipy.linalg.null_space`` of the dense stacked system (P(g) (x) P(g) - I), which
   returns a floating-point basis of the solution space, and the rank route of
   ``count(method="nullspace")``. Target: ``solve`` >= 100x faster than the faster of
   the two at d = 64. C_d has one generator, so its stacked system is the smallest.
   BLAS runs on one thread by default (``--blas-threads``), as ``solve`` does: on a
   shared machine a multithreaded BLAS that loses its second core can run 100x slower,
   which would flatter the speedup.

    python benchmarks/solver.py            # full run (about two minutes, 3 GiB at its peak)
    python benchmarks/solver.py --quick    # d = 1024 and grid (64, 64), nullspace up to d = 32

Timings on a shared machine are noisy; the ratios are what to compare between runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def _blas_threads(argv) -> str:
    """The --blas-threads value, read before numpy loads its BLAS (default 1; 0: library default)."""
    for i, arg in enumerate(argv):
        if arg == "--blas-threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--blas-threads="):
            return arg.split("=", 1)[1]
    return "1"


BLAS_THREADS = _blas_threads(sys.argv[1:])
if BLAS_THREADS != "0":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = BLAS_THREADS

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import eqsolve  # noqa: E402
from eqsolve import groups  # noqa: E402

TIME_TARGET = 3.0  # solve / floor at d = 4096
MEMORY_TARGET = 2.5  # peak / int32 output for grid (128, 128)
NULLSPACE_TARGET = 100.0  # literal / solve at d = 64

FULL = {
    "groups": ["cyclic(4096)", "symmetric(4096)", "dihedral(4096)", "grid_translations((64, 64))",
               "grid_translations((128, 128))", "product_action(cyclic(64), cyclic(64))"],
    "time_target_degree": 4096,
    "memory_target_group": "grid_translations((128, 128))",
    "nullspace_degrees": [16, 32, 64],
}
QUICK = {
    "groups": ["cyclic(1024)", "symmetric(1024)", "dihedral(1024)", "grid_translations((32, 32))",
               "grid_translations((64, 64))", "product_action(cyclic(32), cyclic(32))"],
    "time_target_degree": None,  # targets are for the full sizes: --quick prints n/a
    "memory_target_group": None,
    "nullspace_degrees": [16, 32],
}


def make_group(expr: str):
    """Build a group from its constructor expression (the names of eqsolve.groups)."""
    return eval(expr, {name: getattr(groups, name) for name in groups.__all__})


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_solve(group, repeats: int) -> float:
    def run():
        basis = eqsolve.solve(group, cache=False)
        basis.orbit_index  # the dense table, as before the compact form
        del basis

    gc.collect()
    return best_of(run, repeats)


def time_floor(d: int, repeats: int) -> float:
    """One gather pass writing a d x d int32 table from a precomputed d x d int32 index."""
    rng = np.random.default_rng(0)
    index = rng.integers(0, d, size=(d, d), dtype=np.int32)
    row = np.arange(d, dtype=np.int32)
    out = np.empty((d, d), dtype=np.int32)
    np.take(row, index, out=out)  # warm-up: page faults of out (and index) happen here
    seconds = best_of(lambda: np.take(row, index, out=out), repeats)
    del index, out
    gc.collect()
    return seconds


MEMORY_PROBE = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[2])
import numpy as np
import eqsolve
from eqsolve import groups
group = eval(sys.argv[1], {n: getattr(groups, n) for n in groups.__all__})
eqsolve.solve(groups.cyclic(8), cache=False)  # lazy imports (scipy.sparse.csgraph) before the baseline


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def peak_rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


try:  # reset the peak to the current RSS (Linux >= 4.0), so that the import peak does not hide ours
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before, how, peak = rss(), "VmHWM after a reset, minus the RSS before", peak_rss
except OSError:
    before, how = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "ru_maxrss increase"
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
import time
start = time.perf_counter()
basis = eqsolve.solve(group, cache=False)
dense = sys.argv[3] == "dense"
output = int(basis.orbit_index.nbytes) if dense else int(basis.nbytes)
seconds = time.perf_counter() - start
after = peak()
print(json.dumps({"peak": after - before, "output": output, "dim": basis.dim, "baseline": how, "seconds": seconds}))
"""

COMPACT = ["grid_translations((256, 256))", "grid_translations((512, 512))", "grid_translations((1024, 1024))",
           "sets_of(grid_translations((64, 64)), 20)"]
COMPACT_QUICK = ["grid_translations((256, 256))", "sets_of(grid_translations((16, 16)), 20)"]
COMPACT_TIME = {"grid_translations((1024, 1024))": 2.0, "sets_of(grid_translations((64, 64)), 20)": 10.0}
COMPACT_MEMORY = {"grid_translations((1024, 1024))": 3.0}


def measure_memory(expr: str, form: str = "dense") -> dict:
    """Peak RSS increase (and time) of one solve, in a fresh interpreter; ``form`` "dense" asks
    for ``orbit_index`` and measures against it, "compact" against ``Basis.nbytes``."""
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE, expr, str(ROOT), form],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def time_nullspace(d: int, repeats: int) -> dict:
    import scipy.linalg

    from eqsolve._count import stacked_system

    group = groups.cyclic(d)
    rho = group.action()
    dense = stacked_system(rho, rho).toarray()
    literal_repeats = repeats if d < 64 else 1  # d = 64 takes tens of seconds per run
    results = {}
    t_null = best_of(lambda: results.update(null=scipy.linalg.null_space(dense)), literal_repeats)
    t_rank = best_of(lambda: results.update(rank=eqsolve.count(group, method="nullspace", max_unknowns=d * d)),
                     literal_repeats)
    null, rank_dim = results["null"], results["rank"]
    t_solve = time_solve(group, max(repeats, 5))
    dim = eqsolve.solve(group, cache=False).dim
    if not null.shape[1] == rank_dim == dim:
        raise AssertionError(f"C_{d}: null_space {null.shape[1]}, rank route {rank_dim}, solve {dim} disagree")
    return {"d": d, "unknowns": d * d, "dim": dim, "null_space": t_null, "rank": t_rank, "solve": t_solve}


def fmt_s(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def print_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = "  ".join(f"{h:<{w}}" for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(f"{str(x):<{w}}" for x, w in zip(row, widths)))
    print()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (d = 1024), a few seconds")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument("--json", metavar="FILE", help="also write the measurements to FILE")
    parser.add_argument("--blas-threads", type=int, default=1, metavar="N",
                        help="BLAS threads for the literal nullspace (default 1, like solve; 0: the library default)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    failures = 0
    record = {"quick": args.quick, "machine": platform.platform(), "cpus": os.cpu_count(),
              "numpy": np.__version__, "blas_threads": BLAS_THREADS, "time": [], "memory": [], "nullspace": []}
    print(f"eqsolve {eqsolve.__version__}, numpy {np.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"best of {args.repeats}, BLAS threads {BLAS_THREADS if BLAS_THREADS != '0' else 'default'}, "
          f"load average {os.getloadavg()[0]:.2f}{' (quick)' if args.quick else ''}\n")

    # 1. time against the floor
    rows = []
    for expr in plan["groups"]:
        group = make_group(expr)
        d = group.degree
        t_solve = time_solve(group, args.repeats)
        t_floor = time_floor(d, args.repeats + 2)
        ratio = t_solve / t_floor
        if args.quick:
            verdict = "n/a (quick)"
        elif d == plan["time_target_degree"]:
            ok = ratio <= TIME_TARGET
            failures += not ok
            verdict = f"<= {TIME_TARGET:.0f}x  {'PASS' if ok else 'FAIL'}"
        else:
            verdict = "(no target)"
        dim = eqsolve.solve(group).dim
        rows.append([expr, d, dim, fmt_s(t_solve), fmt_s(t_floor), f"{ratio:.2f}x", verdict])
        record["time"].append({"group": expr, "d": d, "dim": dim, "solve": t_solve, "floor": t_floor, "ratio": ratio})
        eqsolve._solve._CACHE.clear()
        gc.collect()
    print(f"1. solve(G, cache=False) against the floor (one int32 gather pass over d x d), target <= "
          f"{TIME_TARGET:.0f}x at d = 4096")
    print_table(["group", "d", "E", "solve", "floor", "ratio", "target"], rows)

    # 2. peak memory against the output
    rows = []
    for expr in plan["groups"]:
        m = measure_memory(expr)
        ratio = m["peak"] / m["output"]
        if args.quick:
            verdict = "n/a (quick)"
        elif expr == plan["memory_target_group"]:
            ok = ratio < MEMORY_TARGET
            failures += not ok
            verdict = f"< {MEMORY_TARGET}x  {'PASS' if ok else 'FAIL'}"
        else:
            verdict = "(no target)"
        rows.append([expr, f"{m['output'] / 2**20:.1f} MiB", f"{m['peak'] / 2**20:.1f} MiB", f"{ratio:.2f}x", verdict])
        record["memory"].append({"group": expr, **m, "ratio": ratio})
    print(f"2. peak memory of one solve (peak RSS increase in a fresh process) against its int32 output, "
          f"target < {MEMORY_TARGET}x for grid_translations((128, 128))")
    print_table(["group", "output", "peak", "ratio", "target"], rows)

    # 4. compact solves (the default form) at d = 2^16, 2^18, 2^20 and the n = 20 image sets
    rows = []
    record["compact"] = []
    for expr in (COMPACT_QUICK if args.quick else COMPACT):
        m = measure_memory(expr, "compact")
        ratio = m["peak"] / m["output"]
        verdicts = []
        if not args.quick and expr in COMPACT_TIME:
            ok = m["seconds"] <= COMPACT_TIME[expr]
            failures += not ok
            verdicts.append(f"<= {COMPACT_TIME[expr]:.0f} s {'PASS' if ok else 'FAIL'}")
        if not args.quick and expr in COMPACT_MEMORY:
            ok = ratio <= COMPACT_MEMORY[expr]
            failures += not ok
            verdicts.append(f"<= {COMPACT_MEMORY[expr]:.0f}x {'PASS' if ok else 'FAIL'}")
        d = make_group(expr).degree
        rows.append([expr, d, m["dim"], fmt_s(m["seconds"]), f"{m['output'] / 2**20:.1f} MiB",
                     f"{m['peak'] / 2**20:.1f} MiB", f"{ratio:.2f}x", "; ".join(verdicts) or "(no target)"])
        record["compact"].append({"group": expr, "d": d, **m, "ratio": ratio})
    print("4. compact solve (root rows + Schreier forest, no d x d table) in a fresh process: time, output "
          "(Basis.nbytes), peak RSS increase")
    print_table(["group", "d", "E", "solve", "output", "peak", "ratio", "target"], rows)

    # 3. literal nullspace against solve
    rows = []
    for d in plan["nullspace_degrees"]:
        n = time_nullspace(d, args.repeats)
        literal = min(n["null_space"], n["rank"])
        speedup = literal / n["solve"]
        if d == 64:
            ok = speedup >= NULLSPACE_TARGET
            failures += not ok
            verdict = f">= {NULLSPACE_TARGET:.0f}x  {'PASS' if ok else 'FAIL'}"
        else:
            verdict = "n/a (quick)" if args.quick else "(no target)"
        rows.append([f"cyclic({d})", n["unknowns"], n["dim"], fmt_s(n["null_space"]), fmt_s(n["rank"]),
                     fmt_s(n["solve"]), f"{speedup:,.0f}x", verdict])
        record["nullspace"].append({**n, "speedup": speedup})
    print(f"3. literal nullspace (scipy null_space of the dense stacked system; count(method='nullspace') rank) "
          f"against solve; speedup over the faster literal route, target >= {NULLSPACE_TARGET:.0f}x at d = 64")
    print_table(["group", "unknowns", "E", "null_space", "rank", "solve", "speedup", "target"], rows)

    if args.quick:
        print("quick run: targets apply to the full sizes (run without --quick for PASS/FAIL)")
    else:
        print("all targets PASS" if not failures else f"{failures} target(s) FAIL")
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
