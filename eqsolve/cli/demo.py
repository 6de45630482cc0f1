"""``eqsolve demo``: the main job, end to end, on a built-in default example."""

from __future__ import annotations

import argparse
import os
import time

from ._common import order_text

EPOCHS = 8
SETS = 720
HELP = "run the whole pipeline on a built-in example: solve, count, verify, train a DSS model, export it"
EXAMPLES = """\
The default example is the paper's 1D-signal setting at a small size: H = C_32
(cyclic shifts of 32 samples), sets of n = 8 noisy, randomly shifted copies of
a periodic signal; the task is to tell the kind of signal (sine, square,
sawtooth). The demo

  1. solves the exact basis of the C_32-equivariant maps (E(H) = 32),
  2. counts E(H) by Lemma 1 (Burnside), the orbit count, the nullspace rank
     and Monte Carlo,
  3. verifies the paper's theorems for H and n (theory.verify),
  4. trains an invariant DSS network on synthetic data and, for comparison, a
     late-aggregation baseline of about the same size (a Siamese network: the
     elements meet only in the final pooling), checks the DSS network's S_n x H
     invariance with random elements, and reports both test accuracies,
  5. exports it with torch.export to OUT/dss-invariant.pt2, reloads it and
     compares outputs.

Training uses --threads torch threads (default 1): these models are small, and torch's
default of one thread per core oversubscribes a busy machine (one thread was 5x faster
with other work on 2 cores). Progress is shown on stderr when it is a terminal.

examples:
  eqsolve demo
  eqsolve demo --group dihedral:32 --n 6 --epochs 5 --out /tmp/demo
  eqsolve demo --device cuda --threads 4
"""


def register(sub) -> None:
    parser = sub.add_parser("demo", help=HELP, description=HELP, epilog=EXAMPLES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--group", default="cyclic:32", metavar="NAME",
                        help="element symmetry H as a named group (default cyclic:32); see 'eqsolve solve --help'")
    parser.add_argument("--n", type=int, default=8, help="elements per set (default 8)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs (default {EPOCHS})")
    parser.add_argument("--sets", type=int, default=SETS,
                        help=f"synthetic sets, 80%% train / 20%% test (default {SETS})")
    parser.add_argument("--threads", type=int, default=1, metavar="T",
                        help="torch CPU threads for training (default 1: fastest for small models on a busy machine)")
    parser.add_argument("--device", default="cpu", help="where to train: cpu (default), cuda, cuda:1, ...")
    parser.add_argument("--out", default="eqsolve-demo", metavar="DIR",
                        help="folder for the exported model (default ./eqsolve-demo)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    import eqsolve

    from .._errors import EqsolveError

    for name, low in (("n", 1), ("epochs", 1), ("sets", 10), ("threads", 1)):
        if getattr(args, name) < low:
            raise EqsolveError(f"--{name} must be >= {low}, got {getattr(args, name)}")
    _limit_threads(args.threads)
    from .._budget import require_at_most, require_memory, require_work

    require_at_most(args.n, 10_000, "--n", "use smaller sets")
    require_at_most(args.epochs, 10_000, "--epochs", "use fewer epochs")
    H = eqsolve.groups.from_name(args.group)
    # synthetic sets (float64, a few copies) and training (16 channels, forward and backward)
    require_memory(64 * args.sets * args.n * H.degree, f"{args.sets} synthetic sets of {args.n} x {H.degree}")
    require_work(args.epochs * args.sets * args.n * H.degree * 16 * 16 * 6,
                 f"training for {args.epochs} epochs on {args.sets} sets of {args.n} x {H.degree}")
    if H.degree < 2:
        raise EqsolveError(f"the demo needs a group on at least 2 points, {args.group} has {H.degree}")
    print(f"eqsolve demo: H = {args.group} on d = {H.degree} points, |H| = {order_text(H)}, sets of n = {args.n}")

    start = time.perf_counter()
    B = eqsolve.solve(H)
    print(f"\n[1] solve   E(H) = {B.dim} basis matrices, orbit table {B.shape[0]} x {B.shape[1]}, "
          f"{time.perf_counter() - start:.4f} s")

    print("\n[2] count   E(H) by Lemma 1 and by independent methods")
    exact = set()
    for method in ("burnside", "orbits", "nullspace", "montecarlo"):
        try:
            r = eqsolve.count(H, method=method, detail=True, rng=args.seed)
        except eqsolve.ProblemTooLargeError as err:
            print(f"    {method:<10} skipped: {err}")
            continue
        if r.exact:
            exact.add(r.value)
        extra = f"  95% interval [{r.interval[0]:.2f}, {r.interval[1]:.2f}]" if r.interval else ""
        print(f"    {method:<10} E = {r.to_dict()['value']:<8} {r.seconds:8.4f} s{extra}")
    ok = len(exact) == 1

    from eqsolve import theory

    print(f"\n[3] verify  the paper's theorems for H and n = {args.n}")
    results = theory.verify(H, args.n)
    for res in results:
        mark = "ok " if res.agree else "FAIL"
        methods = len(res.computations)
        print(f"    [{mark}] {res.claim:<30} predicted {str(res.predicted):<6} confirmed by {methods} method(s)")
    ok = ok and all(res.agree for res in results)

    ok = _train_and_export(B, H, args) and ok
    print("\nall checks passed" if ok else "\nSOME CHECKS FAILED")
    return 0 if ok else 1


def _limit_threads(threads: int) -> None:
    """Small models and small linear algebra: a deliberate thread count for torch and the BLAS."""
    import torch

    from .._threads import set_blas_threads

    torch.set_num_threads(threads)
    set_blas_threads(threads)


def _train_and_export(B, H, args) -> bool:
    import torch

    from eqsolve import layers
    from eqsolve.layers.testing import assert_equivariant

    from .._errors import EqsolveError

    try:
        device = torch.device(args.device)
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as err:
        raise EqsolveError(f"--device {args.device} is not usable here: {str(err).splitlines()[0]}") from None
    torch.manual_seed(args.seed)
    data = layers.train.synthetic_signal_sets(args.sets, args.n, H.degree, rng=args.seed, n_classes=3)
    train, test = data.split(0.8)
    net = layers.models.invariant(B, channels=[1, 16, 16], n_classes=3, aggregation="mean")
    size = layers.count_parameters(net)
    baseline = layers.baselines.matched("siamese", B, "invariant", size, depth=2, in_channels=1, n_classes=3)
    print(f"\n[4] train   {len(train)} training sets of {args.n} signals, {args.epochs} epochs, "
          f"{args.threads} thread(s) on {device}")
    start = time.perf_counter()
    accuracy = {}
    for name, model in (("DSS (invariant)", net), ("late aggregation (Siamese)", baseline)):
        t0 = time.perf_counter()
        losses = layers.train.fit(model, train, epochs=args.epochs, lr=3e-3, seed=args.seed, device=device)
        accuracy[name] = layers.train.evaluate(model, test)
        print(f"    {name:<27} {layers.count_parameters(model):>5} parameters  loss {losses[0]:.3f} -> "
              f"{losses[-1]:.3f}  test accuracy {accuracy[name]:.2f}  ({time.perf_counter() - t0:.1f} s)")
    dss = accuracy["DSS (invariant)"]
    print(f"    chance 0.33; {time.perf_counter() - start:.1f} s in all")
    net = net.to("cpu").eval()
    report = assert_equivariant(net, (B.inp, None), trials=5, rng=args.seed, set_size=args.n,
                                out_set_axis=None, in_channels=1)
    print(f"    S_n x H invariance under 5 random elements: worst relative error {report.error:.1e}")

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "dss-invariant.pt2")
    result = layers.export(net, test.x[:4], path)
    loaded = layers.load_exported(path)
    with torch.no_grad():
        diff = (loaded(test.x[:16]) - net(test.x[:16])).abs().max().item()
    print(f"\n[5] export  {result.method} -> {path} ({result.bytes} bytes); reloaded, max |difference| {diff:.1e}")
    return dss > 0.5 and diff <= 1e-5
