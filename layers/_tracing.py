"""Helpers shared by the exporters (:mod:`eqsolve.layers.exporting`, :mod:`eqsolve.layers._onnx`):
example inputs and outputs, dynamic shapes for tracing, quiet exporter logs.

>>> import torch
>>> [t.shape[0] for t in tiled([torch.zeros(1, 3)], {0: [0]})]   # torch.export specialises size 1
[2]
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from typing import List

import torch

from eqsolve import EqsolveError

METADATA_NAME = "eqsolve.json"  # the metadata entry inside every artifact


def as_inputs(example_input) -> List[torch.Tensor]:
    items = list(example_input) if isinstance(example_input, (tuple, list)) else [example_input]
    if not items:
        raise EqsolveError("example_input must be a tensor or a non-empty tuple of tensors")
    for i, item in enumerate(items):
        if not isinstance(item, torch.Tensor):
            raise EqsolveError(f"example_input[{i}] must be a torch.Tensor, got {type(item).__name__}")
    return items


def as_outputs(out) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)) and all(isinstance(o, torch.Tensor) for o in out):
        return list(out)
    raise EqsolveError(f"export needs a module returning a tensor or a tuple of tensors, got {type(out).__name__}")


def output_names(model, inputs) -> List[str]:
    with torch.no_grad():
        outs = as_outputs(model(*inputs))
    return ["y"] if len(outs) == 1 else [f"y{i}" for i in range(len(outs))]


def float_dtype(inputs) -> torch.dtype:
    for t in inputs:
        if t.is_floating_point():
            return t.dtype
    return torch.float32


def shapes_arg(spec, names):
    if spec is None:
        return None
    return {name: {axis: torch.export.Dim.AUTO for axis in spec.get(i, [])} for i, name in enumerate(names)}


def tiled(inputs, spec) -> List[torch.Tensor]:
    """Inputs repeated to size >= 2 along their dynamic axes (torch.export specialises 0 and 1)."""
    if spec is None:
        return list(inputs)
    out = []
    for i, t in enumerate(inputs):
        for axis in spec.get(i, []):
            if 0 < t.shape[axis] < 2:
                reps = [1] * t.dim()
                reps[axis] = 2
                t = t.repeat(reps)
        out.append(t)
    return out


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__


@contextlib.contextmanager
def quiet():
    """Silence the exporters' warnings and log lines (they go to stderr even on success)."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._export", "torch.fx",
                                                    "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
