"""Export a DSS network and run it where eqsolve is not installed.

The network: sets of small images with the translations of an 8 x 8 grid as the element
symmetry. ``layers.export`` writes it as a ``torch.export`` program (``.pt2``; with --full also
TorchScript, and ONNX when the ``onnx`` extra is installed), checks the file and records
which axes are dynamic. A second Python, started with ``-I`` and an import system that
refuses ``eqsolve``, then loads each file with torch alone and runs it on a batch and a set
size that the export never saw; the outputs must match the original module's.

    python examples/export_without_eqsolve.py [--out DIR] [--full]
"""

import argparse
import importlib.util
import json
import pathlib
import subprocess
import sys
import tempfile

import torch

import eqsolve
from eqsolve import layers

# what a user of the exported file runs: torch only (the first lines prove eqsolve is absent)
LOADER = '''
import importlib.abc, json, sys

class NoEqsolve(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "eqsolve":
            raise ModuleNotFoundError("eqsolve is blocked here: " + name)

sys.meta_path.insert(0, NoEqsolve())
try:
    import eqsolve
    eqsolve_importable = True
except ImportError:
    eqsolve_importable = False
import torch

def load(path):
    if path.endswith(".pt2"):
        return torch.export.load(path).module()
    if path.endswith(".pt"):
        return torch.jit.load(path)
    import numpy as np, onnx
    from onnx.reference import ReferenceEvaluator
    session = ReferenceEvaluator(onnx.load(path))
    return lambda x: torch.from_numpy(np.asarray(session.run(None, {"x": x.numpy()})[0]))

case = torch.load("case.pt", weights_only=True)
errors = {}
for path in sys.argv[1:]:
    with torch.no_grad():
        out = load(path)(case["x"])
    errors[path] = float((out - case["expected"]).abs().max())
print(json.dumps({"eqsolve_importable": eqsolve_importable, "errors": errors}))
'''


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the exported files (default: a temporary one)")
    parser.add_argument("--full", action="store_true", help="also TorchScript and (if installed) ONNX")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        out = pathlib.Path(args.out or scratch)
        out.mkdir(parents=True, exist_ok=True)
        return run(out, args.full)


def run(out: pathlib.Path, full: bool):
    B = eqsolve.solve(eqsolve.groups.grid_translations((8, 8)))
    net = layers.models.invariant(B, channels=[1, 8, 8], n_classes=4).eval()
    formats = [".pt2"]
    if full:
        formats.append(".pt")
        if all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript")):
            formats.append(".onnx")

    written = []
    for suffix in formats:
        result = layers.export(net, torch.randn(2, 5, 1, 64), out / f"net{suffix}")
        print(f"wrote {result.path}: {result.format} by {result.method}, dynamic axes {result.dynamic}, "
              f"check error {result.max_abs_error:.1e}")
        written.append(str(pathlib.Path(result.path).resolve()))

    x = torch.randn(3, 11, 1, 64)  # a batch and a set size the export never saw
    with torch.no_grad():
        torch.save({"x": x, "expected": net(x)}, out / "case.pt")
    (out / "load.py").write_text(LOADER)
    run = subprocess.run([sys.executable, "-I", "load.py", *written], cwd=out, capture_output=True, text=True,
                         timeout=300)
    if run.returncode != 0:
        raise RuntimeError(f"loading without eqsolve failed:\n{run.stderr}")
    report = json.loads(run.stdout.strip().splitlines()[-1])
    for path, error in report["errors"].items():
        print(f"torch alone ran {pathlib.Path(path).name} on x {list(x.shape)}: max |difference| {error:.1e}")
    return report


if __name__ == "__main__":
    main()
