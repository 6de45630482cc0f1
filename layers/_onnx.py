"""ONNX specifics of :mod:`eqsolve.layers.exporting`: whether ONNX export can run, a copy of a
model whose fast paths all have ONNX kernels, the writer, and a runner for ONNX files.

>>> onnx_available() in (True, False)
True
"""

from __future__ import annotations

import copy
import importlib.util
from typing import Dict, List, Tuple

import torch
from torch import nn

from eqsolve import EqsolveError

from . import _executors
from ._tracing import METADATA_NAME, first_line, output_names, quiet, shapes_arg, tiled


def onnx_available() -> bool:
    """Whether ``torch.onnx.export(dynamo=True)`` can run here (needs ``onnx`` and ``onnxscript``)."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxscript"))


def onnx_compatible(model: nn.Module) -> Tuple[nn.Module, List[str]]:
    """A copy of ``model`` whose fast paths all have ONNX kernels, and what was changed.

    The FFT path of translation-group layers multiplies complex spectra, which ONNX cannot
    express: those executors run as circular convolutions instead (same numbers, up to
    rounding), or as the generic gather for grids of more than 3 axes.
    """
    changed: List[str] = []
    if not any(isinstance(m, _executors.Translation) and m.mode == "fft" for m in model.modules()):
        return model, changed
    model = copy.deepcopy(model)
    for name, module in model.named_modules():
        kernel = getattr(module, "kernel", None)
        if isinstance(kernel, _executors.Translation) and kernel.mode == "fft" and kernel.ndim > 3:
            module.kernel = _executors.materialize(_executors.Generic(module._source).to(kernel.ids.device))
            changed.append(f"{name}: fft -> generic")
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, _executors.Translation) and child.mode == "fft":
                setattr(module, child_name, child.as_conv())
                changed.append(f"{name + '.' if name else ''}{child_name}: fft -> conv")
    return model, changed


class OnnxProgram:
    """Runs an ONNX file on tensors: ``onnxruntime`` when installed, else ``onnx.reference``."""

    def __init__(self, path):
        import onnx

        self.path = str(path)
        model = onnx.load(self.path)
        self.input_names = [i.name for i in model.graph.input]
        try:
            import onnxruntime

            session = onnxruntime.InferenceSession(self.path, providers=["CPUExecutionProvider"])
            self.backend = "onnxruntime"
            self._run = lambda feeds: session.run(None, feeds)
        except ImportError:
            from onnx.reference import ReferenceEvaluator

            evaluator = ReferenceEvaluator(model)
            self.backend = "onnx.reference"
            self._run = lambda feeds: evaluator.run(None, feeds)

    def __call__(self, *args):
        if len(args) != len(self.input_names):
            raise EqsolveError(f"{self.path} takes {len(self.input_names)} inputs {self.input_names}, got {len(args)}")
        feeds = {name: _to_numpy(a) for name, a in zip(self.input_names, args)}
        outs = [_from_numpy(o) for o in self._run(feeds)]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def __repr__(self) -> str:
        return f"OnnxProgram({self.path!r}, inputs={self.input_names}, backend={self.backend!r})"


def _to_numpy(a):
    """Tensor -> numpy; bfloat16 through ``ml_dtypes`` (installed with onnx)."""
    if not isinstance(a, torch.Tensor):
        return a
    a = a.detach().cpu()
    if a.dtype == torch.bfloat16:
        import ml_dtypes

        return a.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return a.numpy()


def _from_numpy(o) -> torch.Tensor:
    import numpy as np

    o = np.ascontiguousarray(o)
    if o.dtype.name == "bfloat16":
        return torch.from_numpy(o.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(o.copy())


# -- the writer ---------------------------------------------------------------------------------
def write_onnx(model, inputs, names, path, spec, meta_text, opset, notes):
    import onnx

    model, changed = onnx_compatible(model)
    if changed:
        notes.append("for ONNX, " + "; ".join(changed))
    trace_inputs = tiled(inputs, spec)
    kwargs = {"dynamo": True, "input_names": names, "output_names": output_names(model, inputs),
              "dynamic_shapes": shapes_arg(spec, names), "verbose": False}
    if opset is not None:
        kwargs["opset_version"] = int(opset)
    try:
        with quiet():
            program = torch.onnx.export(model, tuple(trace_inputs), **kwargs)
    except Exception as err:
        raise EqsolveError(f"ONNX export failed for {type(model).__name__}: {type(err).__name__}: {first_line(err)}") from None
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_NAME, meta_text
    dyn: Dict[str, object] = {}
    for value in proto.graph.input:
        dims = value.type.tensor_type.shape.dim
        dyn[value.name] = [i for i, dim in enumerate(dims) if dim.dim_param]
    with open(path, "wb") as handle:
        handle.write(proto.SerializeToString())
    onnx.checker.check_model(str(path))
    return "torch.onnx (dynamo)", dyn
