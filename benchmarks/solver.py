"""Solver speed and memory: ``eqsolve.solve`` against a plain memory pass and a literal nullspace.

Three tables, all measured in one run (targets from issue 2, part 7):

1. **Time vs the floor.** ``eqsolve.solve(G, cache=False)`` against one numpy gather
   pass that writes a fresh d x d int32 table, ``np.take(row, index_table)`` with a
   precomputed d x d int32 index table (the output is allocated by the call, as
   ``solve`` allocates its table). Best of ``--repeats`` runs for both.
   Target: ratio solve / floor <= 3 at d = 4096.
2. **Peak memory vs the output.** In a fresh subprocess per group: ``ru_maxrss``
   after the first ``solve`` minus ``ru_maxrss`` after the imports and after building
   the group and its action, divided by the size of the int32 output table.
   Target: < 2.5x for grid_translations((128, 128)) (d = 16384, a 1 GiB table).
3. **Literal nullspace vs solve.** ``scipy.linalg.null_space`` (a dense SVD, floating
   point) of the stacked system ``(P(g) (x) P(g) - I)`` from ``eqsolve._count.stacked_system``
   for cyclic(d) (one generator: the smallest literal system), against ``solve``.
   Only the ``null_space`` call is timed, not building the dense matrix. Both must
   give the same dimension. Target: speedup >= 100x at d = 64.

Each group of tables 1 and 2 runs in its own subprocess (so the memory high-water
mark is that group's alone); the parent prints the rows. The machine may be shared
and timings are noisy: rerun before quoting numbers.

    python benchmarks/solver.py            # the issue's groups, d = 4096 and 16384
    python benchmarks/solver.py --quick    # d = 1024 (and a 64 x 64 grid), nullspace up to d = 32
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import eqsolve  # noqa: E402
from eqsolve import groups  # noqa: E402

TIME_TARGET = 3.0  # solve / floor at d = 4096
TIME_TARGET_DEGREE = 4096
MEMORY_TARGET = 2.5  # peak / output for the grid below
MEMORY_TARGET_SPEC = "grid:128x128"
NULLSPACE_TARGET = 100.0  # literal nullspace / solve at d = 64
NULLSPACE_TARGET_DEGREE = 64

FULL = ["cyclic:4096", "symmetric:4096", "dihedral:4096", "grid:64x64", "grid:128x128",
        "product:cyclic:64,cyclic:64"]
QUICK = ["cyclic:1024", "symmetric:1024", "dihedral:1024", "grid:32x32", "grid:64x64",
         "product:cyclic:32,cyclic:32"]


def maxrss_bytes() -> int:
    """High-water mark of this process's resident memory (Linux reports KiB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def best_of(fn, repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls; each result is dropped before the next call."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
        del result
    return best


def index_table(d: int) -> np.ndarray:
    """A d x d int32 index table, ``(i + 7 j) mod d`` (built in row blocks, no int64 d x d temporary)."""
    table = np.empty((d, d), dtype=np.int32)
    cols = (7 * np.arange(d, dtype=np.int64)) % d
    block = max(1, (1 << 22) // max(d, 1))
    for start in range(0, d, block):
        rows = np.arange(start, min(d, start + block), dtype=np.int64)
        table[start:start + rows.size] = (rows[:, None] + cols[None, :]) % d
    return table


def worker(spec: str, repeats: int) -> dict:
    """One group: peak memory of the first solve, then best-of timings of solve and the floor."""
    group = groups.from_name(spec)
    group.action()  # built before the baseline, as the brief says: "after building the group"
    gc.collect()
    baseline = maxrss_bytes()
    basis = eqsolve.solve(group, cache=False)
    peak = maxrss_bytes() - baseline
    out_bytes = basis.orbit_index.nbytes
    dim, d = basis.dim, group.degree
    del basis
    t_solve = best_of(lambda: eqsolve.solve(group, cache=False), repeats)
    index = index_table(d)
    row = np.arange(d, dtype=np.int32)[::-1].copy()
    t_floor = best_of(lambda: np.take(row, index), repeats)
    return {"spec": spec, "name": group.name, "degree": d, "dim": dim, "solve_s": t_solve,
            "floor_s": t_floor, "peak_bytes": peak, "output_bytes": out_bytes}


def run_worker(spec: str, repeats: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", spec, "--repeats", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"worker for {spec} failed (exit {proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt_s(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def fmt_b(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def table(header, rows) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *map(line, rows)])


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def time_and_memory(specs, repeats):
    results = [run_worker(spec, repeats) for spec in specs]
    time_rows, mem_rows, failures = [], [], 0
    for r in results:
        ratio = r["solve_s"] / r["floor_s"]
        ok = ratio <= TIME_TARGET if r["degree"] == TIME_TARGET_DEGREE else None
        failures += ok is False
        time_rows.append([r["name"], r["degree"], r["dim"], fmt_s(r["solve_s"]), fmt_s(r["floor_s"]),
                          f"{ratio:.2f}x", f"<= {TIME_TARGET:g}x" if ok is not None else "(d != 4096)",
                          verdict(ok)])
        mem = r["peak_bytes"] / r["output_bytes"]
        ok = mem < MEMORY_TARGET if r["spec"] == MEMORY_TARGET_SPEC else None
        failures += ok is False
        mem_rows.append([r["name"], r["degree"], fmt_b(r["output_bytes"]), fmt_b(r["peak_bytes"]),
                         f"{mem:.2f}x", f"< {MEMORY_TARGET:g}x" if ok is not None else "-", verdict(ok)])
    print("## Time: solve(G, cache=False) vs one gather pass writing a d x d int32 table\n")
    print(table(["group", "d", "dim", "solve", "floor", "ratio", "target", ""], time_rows))
    print("\n## Peak memory of solve (ru_maxrss over the baseline, fresh process) vs its int32 output\n")
    print(table(["group", "d", "output", "peak", "peak/output", "target", ""], mem_rows))
    return failures


def nullspace_vs_solve(degrees, repeats):
    import scipy.linalg

    from eqsolve._count import stacked_system

    rows, failures = [], 0
    for d in degrees:
        group = groups.cyclic(d)
        rho = group.action()
        dense = stacked_system(rho, rho).toarray()
        reps = 1 if d >= NULLSPACE_TARGET_DEGREE else repeats
        null_dim = []

        def literal():
            null_dim.append(scipy.linalg.null_space(dense).shape[1])

        t_null = best_of(literal, reps)
        t_solve = best_of(lambda: eqsolve.solve(group, cache=False), repeats)
        dim = eqsolve.solve(group, cache=False).dim
        agree = null_dim[-1] == dim
        speedup = t_null / t_solve
        ok = agree and (speedup >= NULLSPACE_TARGET if d == NULLSPACE_TARGET_DEGREE else True)
        failures += not ok
        rows.append([group.name, d, f"{dense.shape[0]} x {dense.shape[1]}", f"{null_dim[-1]} / {dim}",
                     fmt_s(t_null), fmt_s(t_solve), f"{speedup:.0f}x",
                     f">= {NULLSPACE_TARGET:g}x" if d == NULLSPACE_TARGET_DEGREE else "(dims agree)",
                     verdict(ok)])
        del dense
    print("\n## Literal nullspace (scipy.linalg.null_space, dense stacked system) vs solve\n")
    print(table(["group", "d", "system", "dim null/solve", "nullspace", "solve", "speedup", "target", ""], rows))
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller groups (d = 1024) and nullspace up to d = 32")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument("--worker", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeats)))
        return 0
    print(f"# eqsolve solver benchmark ({'quick' if args.quick else 'full'})\n")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, best of {args.repeats}\n")
    failures = time_and_memory(QUICK if args.quick else FULL, args.repeats)
    failures += nullspace_vs_solve((16, 32) if args.quick else (16, 32, 64), args.repeats)
    print(f"\n{failures} row(s) failed their target" if failures else "\nall targets met")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
