"""Controlled burst-deblurring runs behind docs/images.md ("Deblurring: why DSS(sum) leads here").

The ``small`` preset's deblurring protocol (data seed 0, 64 validation and 128 test sets,
batch 16, Adam 2e-3, L1, the epoch of best validation scored) with one thing changed at a
time: the blur kernel, the noise range, the training budget, or where the U-net starts.

    python benchmarks/deblur_controls.py                              # the preset: 3 models x seeds 0-2
    python benchmarks/deblur_controls.py --residual mean              # start at the burst mean
    python benchmarks/deblur_controls.py --kernel 9 --noise 0 2       # larger blur, little noise
    python benchmarks/deblur_controls.py --epochs 16 --seeds 0 1 --log runs.jsonl
    python benchmarks/deblur_controls.py --data-only                  # burst statistics only

It prints the test bursts' statistics (median, mean, one frame, the best frame chosen by
an oracle: MAE on [0, 255]), one JSON line per run and a mean +- std table. One torch thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eqsolve.layers.images import experiment, nets, sets  # noqa: E402
from eqsolve.layers.train.loop import evaluate_metric, train_model  # noqa: E402

RESIDUALS = {"median": True, "mean": "mean", "none": False}


def bursts(args, split: str, count: int, stream) -> sets.ImageSets:
    source = "test" if split == "test" else "train"
    return sets.burst_sets(count, args.size, source, np.random.default_rng(stream), kernel=args.kernel,
                           noise=tuple(args.noise), short_side=args.short_side)


def statistics_of(data: sets.ImageSets) -> dict:
    x, y = data.x.double(), data.y.double()
    frames = (x - y[:, None]).abs().mean((-2, -1)) * 255  # (sets, frames)
    return {"median": sets.mae255(x.median(1).values, y), "mean": sets.mae255(x.mean(1), y),
            "one_frame": float(frames.mean()),
            "oracle_best_frame": float(frames.min(1).values.mean())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["dss-sum", "dss-max", "dss-aittala"], choices=nets.MODELS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--train-size", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--kernel", type=int, default=experiment.PRESETS["small"].blur_kernel)
    ap.add_argument("--noise", nargs=2, type=float, default=[2.0, 10.0], metavar=("LOW", "HIGH"))
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--short-side", type=int, default=64)
    ap.add_argument("--residual", choices=sorted(RESIDUALS), default="median")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--data-only", action="store_true")
    ap.add_argument("--log", help="append one JSON line per run to this file")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    train = bursts(args, "train", args.train_size, [0, 0])
    val = bursts(args, "val", 64, [0, 1])
    test = bursts(args, "test", 128, [experiment.TEST_SEED, 2])
    print(json.dumps({"test_bursts": {k: round(v, 3) for k, v in statistics_of(test).items()}}), flush=True)
    if args.data_only:
        return 0
    metric = experiment.metric("deblur")
    results = {}
    for model in args.models:
        widths = experiment.WIDTHS["small"]["deblur"][model]
        for seed in args.seeds:
            torch.manual_seed(seed)
            net = nets.build("deblur", model, args.size, widths, residual=RESIDUALS[args.residual])
            start, cpu = time.perf_counter(), time.process_time()
            history = train_model(net, train, val=val, epochs=args.epochs, lr=args.lr, batch_size=16,
                                  loss=experiment.loss("deblur"), metric=metric, higher_is_better=False,
                                  seed=seed, progress=False)
            last = evaluate_metric(net, test, metric)
            net.load_state_dict(history.best_state)
            record = {"model": model, "seed": seed, "test": round(evaluate_metric(net, test, metric), 3),
                      "test_last_epoch": round(last, 3), "best_epoch": history.best_epoch,
                      "val": [round(v, 2) for v in history.val], "seconds": round(time.perf_counter() - start, 1),
                      "cpu_seconds": round(time.process_time() - cpu, 1), "config": vars(args)}
            results.setdefault(model, []).append(record["test"])
            print(json.dumps(record), flush=True)
            if args.log:
                with open(args.log, "a") as f:
                    f.write(json.dumps(record) + "\n")
    for model, values in results.items():
        spread = f" +- {statistics.stdev(values):.2f}" if len(values) > 1 else ""
        print(f"{model:12s} {statistics.mean(values):.2f}{spread}  ({', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
