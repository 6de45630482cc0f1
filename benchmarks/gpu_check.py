"""GPU check in one go: the CUDA-marked tests, the layer benchmark, the training benchmarks (the
signals network; the image tasks' ``paper`` preset, ``images_paper.py``) and a short
``eqsolve train`` run on CUDA (one process, then DDP over every GPU with NCCL when there are
two or more).

    python benchmarks/gpu_check.py                 # tests -m gpu; layers.py, train.py and images_paper.py
                                                   # --device cuda; eqsolve train signals --device cuda --amp
    python benchmarks/gpu_check.py --tests-only
    python benchmarks/gpu_check.py --require-cuda  # exit 1 (not 0) when there is no CUDA

Without CUDA it prints why and exits 0 (or 1 with ``--require-cuda``) without running anything.
Exit status otherwise: 0 when the tests pass and every benchmark target is met.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests-only", action="store_true", help="skip the benchmark")
    parser.add_argument("--bench-only", action="store_true", help="skip the tests")
    parser.add_argument("--require-cuda", action="store_true", help="fail (exit 1) when CUDA is missing")
    parser.add_argument("--reps", type=int, default=5, help="benchmark repetitions (default 5)")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print(f"gpu_check: CUDA is not available (torch {torch.__version__}, "
              f"built with CUDA {torch.version.cuda}); nothing to run.")
        return 1 if args.require_cuda else 0
    print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}",
          flush=True)
    status = 0
    if not args.bench_only:
        tests = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", str(ROOT / "tests")],
            cwd=ROOT,
        )
        print(f"gpu_check: GPU tests exit status {tests.returncode}", flush=True)
        status |= tests.returncode not in (0,)
    if not args.tests_only:
        bench = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "layers.py"), "--device", "cuda", "--reps", str(args.reps)],
            cwd=ROOT,
        )
        print(f"gpu_check: layer benchmark exit status {bench.returncode}", flush=True)
        status |= bench.returncode != 0
        for extra in ([], ["--amp"], ["--preset", "small"]):
            train = subprocess.run(
                [sys.executable, str(ROOT / "benchmarks" / "train.py"), "--device", "cuda", "--steps",
                 str(args.reps)] + extra, cwd=ROOT,
            )
            print(f"gpu_check: training benchmark {' '.join(extra) or '(float32)'} exit status {train.returncode}",
                  flush=True)
            status |= train.returncode != 0
        images = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "images_paper.py"), "--device", "cuda", "--amp", "--batch", "32",
             "--steps", str(args.reps)], cwd=ROOT,
        )
        print(f"gpu_check: image paper-preset benchmark exit status {images.returncode}", flush=True)
        status |= images.returncode != 0
        status |= _train_run(torch)
    return int(bool(status))


def _train_run(torch) -> int:
    """``eqsolve train signals`` on CUDA with bfloat16 autocast: 2 epochs at 300 sets, then under
    torchrun with NCCL on every GPU when there are several. Returns 0 when each exits 0."""
    import tempfile

    status = 0
    with tempfile.TemporaryDirectory() as out:
        base = ["train", "signals", "--model", "dss-sum", "siamese", "--train-size", "300", "--epochs", "2",
                "--device", "cuda", "--amp"]
        run = subprocess.run([sys.executable, "-m", "eqsolve"] + base + ["--out", f"{out}/one"], cwd=ROOT)
        print(f"gpu_check: eqsolve train on CUDA exit status {run.returncode}", flush=True)
        status |= run.returncode != 0
        gpus = torch.cuda.device_count()
        if gpus >= 2:
            ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={gpus}",
                                  "-m", "eqsolve"] + base + ["--out", f"{out}/ddp"], cwd=ROOT)
            print(f"gpu_check: eqsolve train under torchrun (NCCL, {gpus} GPUs) exit status {ddp.returncode}",
                  flush=True)
            status |= ddp.returncode != 0
    return int(bool(status))


if __name__ == "__main__":
    sys.exit(main())
