"""GPU check in one go: the CUDA-marked tests, then the layer benchmark on CUDA.

    python benchmarks/gpu_check.py                 # tests -m gpu, then benchmarks/layers.py --device cuda
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
    return int(bool(status))


if __name__ == "__main__":
    sys.exit(main())
