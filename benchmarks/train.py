"""Training speed: the ``paper`` preset's DSS(sum) signal network, eqsolve layers vs a hand-written twin.

The twin is the published network written as the paper's code does it: circular ``Conv1d``
layers with full-width kernels (100 and 50 taps, stride 2; the last layer as in our preset:
25 taps, stride 1 on 25 points), one convolution on every element and one on every element
again for the set branch, batch norm after each, ReLU, mean over time and set, linear head.
Both networks have the same parameters up to the norms' placement; one training step is
forward + backward + Adam on a batch of 32 sets of 25 signals of 100 samples.

    python benchmarks/train.py                      # CPU, 2 threads
    python benchmarks/train.py --threads 1 --steps 3
    python benchmarks/train.py --device cuda --amp  # GPU (bfloat16 autocast)
    python benchmarks/train.py --preset small       # the small preset (sets / s of a sweep)

Prints one table (sets per second, seconds per step, ratio) measured in one run, with the
machine's load average; exit status 0 when the ``paper`` target (ours >= 5x the twin on CPU)
is met or another preset was measured.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class CircularTwin(nn.Module):
    """The DSS(sum) signal network with ``nn.Conv1d`` (circular padding), as in the paper's code."""

    def __init__(self, widths=(160, 160, 80), d: int = 100, classes: int = 3):
        super().__init__()
        c1, c2, c3 = widths
        specs = [(1, c1, d, 2), (c1, c2, d // 2, 2), (c2, c3, d // 4, 1)]
        self.single = nn.ModuleList(nn.Conv1d(i, o, k, stride=s) for i, o, k, s in specs)
        self.shared = nn.ModuleList(nn.Conv1d(i, o, k, stride=s, bias=False) for i, o, k, s in specs)
        self.norms = nn.ModuleList(nn.BatchNorm1d(o) for _, o, _, _ in specs)
        self.kernels = [k for _, _, k, _ in specs]
        self.head = nn.Linear(c3, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n = x.shape[0], x.shape[1]
        h = x.reshape(b * n, x.shape[2], x.shape[3])
        for single, shared, norm, k in zip(self.single, self.shared, self.norms, self.kernels):
            padded = F.pad(h, (0, k - 1), mode="circular")
            y1 = single(padded)
            y2 = shared(padded).reshape(b, n, y1.shape[1], y1.shape[2]).sum(1, keepdim=True)
            y = y1.reshape(b, n, y1.shape[1], y1.shape[2]) + y2
            h = torch.relu(norm(y.reshape(b * n, y.shape[2], y.shape[3])))
        h = h.reshape(b, n, h.shape[1], h.shape[2]).mean(dim=(1, 3))
        return self.head(h)


def _step_time(model, x, y, steps: int, device, amp: bool) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = model(x)
        loss = F.cross_entropy(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up (plans, allocator)
    if device.type == "cuda":
        torch.cuda.synchronize()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="paper", choices=("paper", "small"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model (median reported)")
    parser.add_argument("--no-twin", action="store_true", help="time only the eqsolve network")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("benchmarks/train.py: CUDA is not available", file=sys.stderr)
        return 2
    from eqsolve.layers import count_parameters
    from eqsolve.layers.train import signals

    torch.manual_seed(0)
    ours = signals.build("dss-sum", args.preset).to(device)
    widths = signals.WIDTHS[args.preset]
    twin = CircularTwin(widths).to(device)
    x = torch.randn(args.batch, 25, 1, 100, device=device)
    y = torch.randint(0, 3, (args.batch,), device=device)
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"]
    print(f"training step, {args.preset} preset DSS(sum), batch {args.batch} sets of 25 x 100, device {device}, "
          f"amp {args.amp}, {args.threads} thread(s), torch {torch.__version__}, load average {' '.join(load)}")
    rows = []
    t_ours = _step_time(ours, x, y, args.steps, device, args.amp)
    rows.append(("eqsolve layers", count_parameters(ours), t_ours))
    if not args.no_twin:
        t_twin = _step_time(twin, x, y, args.steps, device, args.amp)
        rows.append(("circular Conv1d twin", count_parameters(twin), t_twin))
    print(f"{'network':<22} {'parameters':>10} {'s / step':>9} {'sets / s':>9} {'speed-up':>9}")
    base = rows[-1][2]
    for name, params, t in rows:
        print(f"{name:<22} {params:>10} {t:>9.4f} {args.batch / t:>9.1f} {base / t:>8.2f}x")
    if args.no_twin or args.preset != "paper" or device.type != "cpu":
        return 0
    ratio = t_twin / t_ours
    print(f"target (paper preset, CPU): eqsolve >= 5x the twin: {'met' if ratio >= 5 else 'NOT met'} ({ratio:.1f}x)")
    return 0 if ratio >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
