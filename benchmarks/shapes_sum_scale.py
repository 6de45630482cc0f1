"""Does DSS(sum) trail on point clouds because its set branch is ~n times the element branch?

DSS(sum) (``L1(x_i) + L2(sum_j x_j)``, the table's model) against the same network with the set
branch on the scale of one element (``aggregation="mean"``: ``L2(mean_j x_j)``, the same layer
space and parameter count), on the point-cloud version of the small preset, with the table's
data, seeds, initialisation seed and training (docs/graphs.md, "Scale of the set branch").

    python benchmarks/shapes_sum_scale.py --seeds 0 1 2                 # both variants
    python benchmarks/shapes_sum_scale.py --variant mean --seeds 0 1 2  # one (run two side by side)
    python benchmarks/shapes_sum_scale.py --scales --seeds 0            # branch sizes per layer
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eqsolve.layers import models, shapes  # noqa: E402
from eqsolve.layers.dss import DSSLinear  # noqa: E402
from eqsolve.layers.train import SetData, evaluate, fit  # noqa: E402

CFG = shapes.PRESETS["small"]["points"]


def build(aggregation: str):
    """The table's dss-sum network (width 16, set norm, mean over points) with ``aggregation``."""
    return models.selection(shapes.basis_for("points", CFG.m), [3] + [CFG.width] * 3,
                            aggregation=aggregation, pool="mean", norm=CFG.norm)


def branch_scales(net, x):
    """Per DSS layer: rms of the element branch L1(x_i) (no bias), of its part that differs
    between the elements of a set, and of the set branch L2(pool_j x_j)."""
    rms = lambda t: t.pow(2).mean().sqrt().item()
    rows = []

    def hook(mod, inp, out):
        z = inp[0]
        pooled = z.sum(-3) if mod.aggregation == "sum" else z.mean(-3)
        e = mod.single(z) - mod.single(torch.zeros_like(z))
        rows.append({"element": rms(e), "element_specific": rms(e - e.mean(-3, keepdim=True)),
                     "set": rms(mod.shared(pooled))})

    hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, DSSLinear)]
    was_training = net.training
    net.eval()
    with torch.no_grad():
        net(x)
    net.train(was_training)
    for h in hooks:
        h.remove()
    return rows


def run(aggregation: str, seed: int, scales: bool) -> dict:
    train = shapes.make_sets(CFG.train, seed=2 * seed, m=CFG.m, version="points")
    test = shapes.make_sets(CFG.test, seed=2 * seed + 1, m=CFG.m, version="points")
    start = time.perf_counter()
    torch.manual_seed(seed)
    net = build(aggregation)
    row = {"aggregation": aggregation, "seed": seed, "parameters": models.count_parameters(net)}
    probe = shapes.standardise(train.x[:200])
    if scales:
        row["scales_init"] = branch_scales(net, probe)
    fit(net, SetData(shapes.standardise(train.x), train.y), epochs=CFG.epochs, lr=CFG.lr,
        batch_size=CFG.batch_size, seed=seed)
    if scales:
        row["scales_trained"] = branch_scales(net, probe)
    row["accuracy"] = float(evaluate(net, SetData(shapes.standardise(test.x), test.y)))
    row["seconds"] = time.perf_counter() - start
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=("sum", "mean"), nargs="*", default=["sum", "mean"])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--scales", action="store_true", help="also report the branch sizes per layer")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for aggregation in args.variant:
        for seed in args.seeds:
            print(json.dumps(run(aggregation, seed, args.scales)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
