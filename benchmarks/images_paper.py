"""What the image tasks' ``paper`` preset costs: seconds per training step of every model, and
the time of one cell and of the whole ``--sweep`` extrapolated from it.

One step is forward + backward + Adam on a batch of random sets of the preset's shape
(64 x 64 crops; 6, 20 or 5 images per set) with the task's loss; the data does not change
the cost. The first step (allocation, autotuning) is not timed.

    python benchmarks/images_paper.py                                # CPU, every task, dss-sum and siamese-ds
    python benchmarks/images_paper.py --tasks colors --models dss-sum dss-max dss-aittala dss-sridhar siamese-ds
    python benchmarks/images_paper.py --device cuda --amp --batch 32 # GPU, the preset's batch

Prints one row per model (build seconds, seconds per step, sets per second, one cell of
20,000 sets x 50 epochs, the sweep of 5 models x 5 seeds at that speed) with the machine's
load average and threads. Exit status 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from eqsolve.layers.images import experiment, nets, sets


def _batch(task: str, batch: int, device: torch.device, generator: torch.Generator):
    p = experiment.PRESETS["paper"]
    n, pixels = sets.SET_SIZES[task], p.size * p.size
    x = torch.rand(batch, n, 3, pixels, generator=generator).to(device)
    if task == "quality":
        return x, torch.randint(0, n, (batch,), generator=generator).to(device)
    shape = (batch, n, 3, pixels) if task == "colors" else (batch, 3, pixels)
    return x, torch.rand(shape, generator=generator).to(device)


def time_model(task: str, model: str, batch: int, steps: int, device: torch.device, amp: bool):
    """``(build seconds, seconds per step)`` of ``model`` for ``task`` at the ``paper`` preset."""
    start = time.perf_counter()
    net = experiment.build_model(task, model, "paper").to(device)
    built = time.perf_counter() - start
    optimiser = torch.optim.Adam(net.parameters(), lr=experiment.PRESETS["paper"].lr)
    loss_fn = experiment.loss(task)
    x, y = _batch(task, batch, device, torch.Generator().manual_seed(0))

    def step():
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = net(x)
        loss_fn(out.float(), y).backward()
        optimiser.step()

    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return built, (time.perf_counter() - start) / steps


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(sets.TASKS), choices=sets.TASKS)
    parser.add_argument("--models", nargs="+", default=["dss-sum", "siamese-ds"], choices=nets.MODELS)
    parser.add_argument("--batch", type=int, default=4, help="sets per step (default 4; the preset trains with 32)")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per model (default 2)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    parser.add_argument("--threads", type=int, default=None, help="torch threads on the CPU (default: torch's)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("images_paper: CUDA is not available; nothing to run")
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    p = experiment.PRESETS["paper"]
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"paper preset ({p.size} x {p.size}, {p.train_size} sets x {p.epochs} epochs), {where}, batch {args.batch}"
          f"{', bfloat16' if args.amp else ''}; load average {os.getloadavg()[0]:.1f} at the start")
    print(f"{'task':8} {'model':12} {'build s':>8} {'s / step':>9} {'sets / s':>9} {'one cell':>10} {'sweep 5x5':>10}")
    for task in args.tasks:
        for model in args.models:
            built, per_step = time_model(task, model, args.batch, args.steps, device, args.amp)
            rate = args.batch / per_step
            cell = p.train_size * p.epochs / rate
            print(f"{task:8} {model:12} {built:8.1f} {per_step:9.3f} {rate:9.2f} {_duration(cell):>10} "
                  f"{_duration(25 * cell):>10}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end; one cell = {p.train_size} sets x {p.epochs} epochs "
          "(validation and test passes not counted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
