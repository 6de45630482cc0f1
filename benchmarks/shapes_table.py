"""The shape-selection table of docs/graphs.md: every model of ``layers.shapes`` and the
mean-shape baseline, point clouds and graphs, 5 seeds, mean +- standard deviation.

    python benchmarks/shapes_table.py                       # both versions, seeds 0..4
    python benchmarks/shapes_table.py --version points --seeds 0 1
    python benchmarks/shapes_table.py --log results.jsonl   # append one JSON line per run
    python benchmarks/shapes_table.py --version points-at-graph-budget  # points, graph sizes

Seed s trains on ``make_sets(train, seed=2s)`` and tests on ``make_sets(test, seed=2s+1)``
with the sizes of ``layers.shapes.PRESETS[preset][version]``; ``points-at-graph-budget`` is
the point-cloud version trained on the graph version's sets and epochs (same data as the
graph rows), the fair reference for "graphs help over point clouds".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eqsolve.layers import shapes  # noqa: E402

BUDGETS = ("points", "graphs", "points-at-graph-budget")
TITLES = {"points": "point clouds", "graphs": "graphs", "points-at-graph-budget": "point clouds, graph budget"}


def table(rows) -> str:
    """Markdown table of accuracy mean +- std (number of seeds) and parameters per model."""
    versions = [v for v in BUDGETS if any(r["version"] == v for r in rows)]
    lines = ["| model | " + " | ".join(f"{TITLES[v]} | parameters" for v in versions) + " |",
             "|---|" + "---|---|" * len(versions)]
    for name in ("mean-shape",) + shapes.MODELS:
        cells = []
        for version in versions:
            found = [r for r in rows if r["model"] == name and r["version"] == version]
            if not found:
                cells += ["-", "-"]
                continue
            acc = [100 * r["accuracy"] for r in found]
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            cells += [f"{statistics.mean(acc):.1f} +- {sd:.1f} ({len(acc)})", str(found[0]["parameters"] or "-")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", choices=BUDGETS, nargs="*", default=list(shapes.VERSIONS))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--preset", default="small", choices=sorted(shapes.PRESETS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log", help="append one JSON line per run to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for budget in args.version:
        if budget not in shapes.PRESETS[args.preset]:
            parser.error(f"preset {args.preset!r} has no sizes for {budget!r}")
        cfg = shapes.PRESETS[args.preset][budget]
        version = "graphs" if budget == "graphs" else "points"
        for seed in args.seeds:
            data = (shapes.make_sets(cfg.train, seed=2 * seed, m=cfg.m, version=version),
                    shapes.make_sets(cfg.test, seed=2 * seed + 1, m=cfg.m, version=version))
            for name in ("mean-shape",) + shapes.MODELS:
                row = shapes.run_one(name, version, args.preset, seed, data, budget=budget)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                if args.log:
                    with open(args.log, "a") as handle:
                        handle.write(json.dumps(row) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
