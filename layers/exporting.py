"""Export layers and models to artifacts that run with torch alone (no eqsolve, no layers).

Three formats:

============== ======== ==================================================================
format         suffix   how it is made / loaded with torch only
============== ======== ==================================================================
``pt2``        .pt2     ``torch.export.export`` -> ``torch.export.save``;
                        ``torch.export.load(path).module()``
``torchscript`` .pt     ``torch.jit.script`` (``torch.jit.trace`` on the example when a
                        submodule is not scriptable) -> ``torch.jit.save``; ``torch.jit.load``
``onnx``       .onnx    ``torch.onnx.export(dynamo=True)`` (needs the ``onnx`` and
                        ``onnxscript`` packages); any ONNX runtime, or ``onnx.reference``
============== ======== ==================================================================

Dynamic shapes: the batch axis (axis 0 of every input) and, for models on sets of any size,
the set axis (axis 1 of ``x`` and ``mask``) are exported as dynamic dimensions
(``torch.export.Dim.AUTO``) in ``pt2`` and ``onnx``; ``torch.export`` specialises sizes 0 and 1,
so the example is tiled to at least 2 along those axes while tracing (values do not matter:
the networks have no data-dependent control flow). A scripted TorchScript module is dynamic
in every axis; a traced one is checked on a second batch size. :class:`ExportResult.dynamic`
says what each artifact accepts.

Every write is atomic (temporary file next to the target, then a rename) and, with
``check=True`` (the default), the written file is loaded back and its outputs compared with
the module's (``rtol = atol = 1e-5`` in float32). Exporting runs the module in eval mode.

Weights alone: :func:`save_state_dict` / :func:`load_state_dict` (``torch.load(weights_only=True)``).

The module is ``eqsolve.layers.exporting``; ``eqsolve.layers.export`` is the function
:func:`export` itself (ONNX specifics live in ``eqsolve.layers._onnx``).

Examples
--------
>>> import os, tempfile, torch, eqsolve; from eqsolve import layers
>>> B = eqsolve.solve(eqsolve.groups.cyclic(8))
>>> net = layers.models.invariant(B, channels=[1, 8], n_classes=3)
>>> x = torch.randn(2, 5, 1, 8)
>>> path = os.path.join(tempfile.mkdtemp(), "net.pt2")
>>> result = layers.export(net, x, path)
>>> result.format, result.dynamic["x"]
('pt2', [0, 1])
>>> program = layers.load_exported(path)
>>> program(torch.randn(3, 4, 1, 8)).shape
torch.Size([3, 3])
"""

from __future__ import annotations

import inspect
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import torch
from torch import nn

from eqsolve import EqsolveError
from eqsolve._io import atomic_path, atomic_write

from . import _executors
from ._onnx import OnnxProgram, onnx_available, onnx_compatible, write_onnx
from ._tracing import METADATA_NAME, as_inputs, as_outputs, first_line, float_dtype, quiet, shapes_arg, tiled
from .models import SetNet, count_parameters
from .testing import TOLERANCES

FORMATS = ("pt2", "torchscript", "onnx")
SUFFIXES = {".pt2": "pt2", ".pt": "torchscript", ".ts": "torchscript", ".onnx": "onnx"}
#: tolerance of the round-trip check per dtype: (rtol, atol), from the one table in layers.testing
CHECK_TOLERANCE = {dtype: (tol.round_trip, tol.round_trip) for dtype, tol in TOLERANCES.items()}

__all__ = [
    "FORMATS",
    "ExportResult",
    "export",
    "load_exported",
    "read_metadata",
    "save_state_dict",
    "load_state_dict",
    "onnx_available",
    "onnx_compatible",
]


@dataclass
class ExportResult:
    """What :func:`export` wrote.

    Attributes
    ----------
    path, format:
        The file and its format (``"pt2"``, ``"torchscript"``, ``"onnx"``).
    method:
        ``"torch.export"``, ``"torch.jit.script"``, ``"torch.jit.trace"`` or ``"torch.onnx (dynamo)"``.
    inputs, outputs:
        Names and shapes of the example inputs and of the module's outputs on them.
    dynamic:
        For each input name, the axes the artifact accepts at any size (``"all"`` for a
        scripted TorchScript module).
    parameters:
        Number of parameters of the module.
    max_abs_error:
        Largest difference between the loaded artifact and the module on the example (and on a
        second batch size where the batch is dynamic); None without ``check``.
    bytes:
        Size of the written file.
    notes:
        Anything worth knowing (why tracing was used, fast paths rewritten for ONNX, ...).
    """

    path: str
    format: str
    method: str
    inputs: Dict[str, List[int]]
    outputs: List[List[int]]
    dynamic: Dict[str, object]
    parameters: int
    max_abs_error: Optional[float]
    bytes: int
    dtype: str
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


# -- public API ---------------------------------------------------------------------------------
def export(model: nn.Module, example_input, path, format: Optional[str] = None, *, dynamic: bool = True,
           check: bool = True, metadata: Optional[Dict[str, object]] = None,
           opset: Optional[int] = None) -> ExportResult:
    """Write ``model`` to ``path`` as a program that runs without eqsolve.

    Parameters
    ----------
    model:
        Any ``torch.nn.Module`` (layers, :mod:`layers.models`, :mod:`layers.baselines`).
    example_input:
        A tensor or a tuple of tensors, the positional arguments of ``model`` (e.g. ``(x, mask)``).
    path:
        Target file. Its directory must exist; an existing file is replaced atomically.
    format:
        ``"pt2"``, ``"torchscript"`` or ``"onnx"``; default from the suffix (``.pt2``, ``.pt`` /
        ``.ts``, ``.onnx``), else ``"pt2"``.
    dynamic:
        Export the batch axis (and the set axis of set models) as dynamic dimensions.
    check:
        Load the written file and compare its outputs with the module's.
    metadata:
        JSON-serialisable dict stored in the artifact (``eqsolve.json`` extra file in pt2 /
        TorchScript, ``metadata_props`` in ONNX); read it with :func:`read_metadata`.
    opset:
        ONNX opset version (default: the exporter's).

    Returns
    -------
    ExportResult

    Raises
    ------
    EqsolveError
        Unknown format, missing ``onnx`` package, bad example input, a failed export, or a
        round-trip check that does not match.
    """
    if not isinstance(model, nn.Module):
        raise EqsolveError(f"export takes a torch.nn.Module, got {type(model).__name__}")
    path = Path(path)
    fmt = _format_of(path, format)
    inputs = as_inputs(example_input)
    names = _input_names(model, len(inputs))
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise EqsolveError(f"cannot write {path}: directory {directory} does not exist")
    if fmt == "onnx" and not onnx_available():
        raise EqsolveError("ONNX export needs the 'onnx' and 'onnxscript' packages: pip install onnx onnxscript")
    meta = {"format": fmt, "parameters": count_parameters(model), "inputs": {n: list(t.shape) for n, t in zip(names, inputs)}}
    if isinstance(model, SetNet):
        meta.update(model.describe())
    meta.update(metadata or {})
    try:
        meta_text = json.dumps(meta)
    except (TypeError, ValueError) as err:
        raise EqsolveError(f"metadata must be JSON-serialisable: {err}") from None

    was_training = model.training
    model.eval()
    _executors.materialize(model)  # lazy gather indices cannot be built inside a traced forward
    notes: List[str] = []
    with atomic_path(path) as tmp:  # only a checked file replaces the target
        try:
            with torch.no_grad():
                reference = as_outputs(model(*inputs))
            dynamic_spec = _dynamic_spec(model, inputs) if dynamic else None
            if fmt == "pt2":
                method, dyn = _write_pt2(model, inputs, names, tmp, dynamic_spec, meta_text)
            elif fmt == "torchscript":
                method, dyn = _write_torchscript(model, inputs, names, tmp, meta_text, notes)
            else:
                method, dyn = write_onnx(model, inputs, names, tmp, dynamic_spec, meta_text, opset, notes)
        finally:
            model.train(was_training)
        error = _check(tmp, fmt, model, inputs, reference, dyn, notes) if check else None
        size = tmp.stat().st_size
    return ExportResult(
        path=str(path), format=fmt, method=method, inputs={n: list(t.shape) for n, t in zip(names, inputs)},
        outputs=[list(t.shape) for t in reference], dynamic=dyn, parameters=count_parameters(model),
        max_abs_error=error, bytes=size, dtype=str(float_dtype(inputs)).replace("torch.", ""),
        notes=notes,
    )


def load_exported(path, format: Optional[str] = None):
    """Load an artifact written by :func:`export`; returns a callable taking tensors.

    ``pt2``: the ``torch.export`` program's ``.module()``; ``torchscript``: ``torch.jit.load``;
    ``onnx``: a small wrapper running the graph with ``onnxruntime`` when installed, else with
    ``onnx.reference.ReferenceEvaluator`` (tensors in, tensors out). Nothing is unpickled.
    """
    path = Path(path)
    fmt = _format_of(path, format)
    if not path.is_file():
        raise EqsolveError(f"no such file: {path}")
    try:
        if fmt == "pt2":
            with open(path, "rb") as handle:  # a handle: torch.export.load wants a .pt2 suffix on names
                return torch.export.load(handle).module()
        if fmt == "torchscript":
            return torch.jit.load(str(path), map_location="cpu")
        return OnnxProgram(path)
    except EqsolveError:
        raise
    except Exception as err:  # the loaders raise many types on a bad file
        raise EqsolveError(f"cannot load {path} as {fmt}: {type(err).__name__}: {err}") from None


def read_metadata(path, format: Optional[str] = None) -> Dict[str, object]:
    """The metadata dict stored by :func:`export` (model, task, parameters, input shapes, ...)."""
    path = Path(path)
    fmt = _format_of(path, format)
    if not path.is_file():
        raise EqsolveError(f"no such file: {path}")
    if fmt == "pt2":
        extra = {METADATA_NAME: ""}
        with open(path, "rb") as handle:
            torch.export.load(handle, extra_files=extra)
        text = extra[METADATA_NAME]
    elif fmt == "torchscript":
        extra = {METADATA_NAME: ""}
        torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        text = extra[METADATA_NAME]
    else:
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        text = props.get(METADATA_NAME, "")
    if isinstance(text, bytes):
        text = text.decode()
    return json.loads(text) if text else {}


def save_state_dict(model: nn.Module, path) -> None:
    """Write ``model.state_dict()`` to ``path`` with ``torch.save``, atomically.

    Only tensors and the layers' basis fingerprints (dicts of strings) are stored, so
    :func:`load_state_dict` reads it with ``weights_only=True``.
    """
    if not isinstance(model, nn.Module):
        raise EqsolveError(f"save_state_dict takes a torch.nn.Module, got {type(model).__name__}")
    state = {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v for k, v in model.state_dict().items()}
    atomic_write(path, lambda handle: _via_memory(handle, lambda buffer: torch.save(state, buffer)))


def load_state_dict(model: nn.Module, path, strict: bool = True, map_location="cpu") -> nn.Module:
    """Load weights written by :func:`save_state_dict` into ``model`` (``torch.load(weights_only=True)``).

    Raises ``EqsolveError`` when the file is missing or unreadable, or (``strict``) when its
    keys or shapes do not match the model's, naming the first mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise EqsolveError(f"no such file: {path}")
    try:
        state = torch.load(str(path), map_location=map_location, weights_only=True)
    except Exception as err:
        raise EqsolveError(f"cannot read weights from {path}: {type(err).__name__}: {err}") from None
    if not isinstance(state, dict):
        raise EqsolveError(f"{path} does not hold a state_dict (got {type(state).__name__})")
    own = model.state_dict()
    if strict:
        missing = sorted(set(own) - set(state))
        extra = sorted(set(state) - set(own))
        if missing or extra:
            raise EqsolveError(f"{path} does not match the model: missing keys {missing[:5]}, unexpected keys {extra[:5]}")
    for key, value in state.items():
        if key in own and isinstance(own[key], torch.Tensor) and tuple(own[key].shape) != tuple(getattr(value, "shape", ())):
            raise EqsolveError(
                f"{path}: {key} has shape {tuple(value.shape)}, the model expects {tuple(own[key].shape)}"
            )
    model.load_state_dict(state, strict=strict)
    return model


# -- writers ------------------------------------------------------------------------------------
def _write_pt2(model, inputs, names, path, spec, meta_text):
    trace_inputs = tiled(inputs, spec)
    try:
        with quiet():
            program = torch.export.export(model, tuple(trace_inputs), dynamic_shapes=shapes_arg(spec, names))
    except EqsolveError:
        raise
    except Exception as err:
        raise EqsolveError(f"torch.export failed for {type(model).__name__}: {type(err).__name__}: {first_line(err)}") from None
    dyn = _dynamic_axes(program, names)
    program.example_inputs = None  # torch.export.save would store the whole example in the file
    _via_memory(path, lambda buffer: torch.export.save(program, buffer, extra_files={METADATA_NAME: meta_text}))
    return "torch.export", dyn


def _write_torchscript(model, inputs, names, path, meta_text, notes):
    try:
        with quiet():
            module = torch.jit.script(model)
        method, dyn = "torch.jit.script", {n: "all" for n in names}
    except Exception as err:  # scripting failed: fall back to tracing the example
        notes.append(f"torch.jit.script failed ({first_line(err)}); traced on the example instead")
        try:
            with quiet():
                module = torch.jit.trace(model, tuple(inputs), check_trace=False)
        except Exception as err2:
            raise EqsolveError(
                f"TorchScript export failed for {type(model).__name__}: script: {first_line(err)}; "
                f"trace: {type(err2).__name__}: {first_line(err2)}"
            ) from None
        method, dyn = "torch.jit.trace", {n: [0] for n in names}
    with quiet():
        _via_memory(path, lambda buffer: torch.jit.save(module, buffer, _extra_files={METADATA_NAME: meta_text}))
    return method, dyn


def _check(path, fmt, model, inputs, reference, dyn, notes) -> float:
    """Load ``path`` and compare it with the module on the example; where axes are claimed
    dynamic, also on an example one larger along each of them. A program that fails there has
    its claim withdrawn (``dyn`` is emptied, with a note); a mismatch on the example raises."""
    with quiet():
        program = load_exported(path, fmt)
    dtype = float_dtype(inputs)
    rtol, atol = CHECK_TOLERANCE.get(dtype, (1e-5, 1e-5))
    worst = _compare(program, fmt, inputs, reference, rtol, atol)
    axes = _claimed_axes(model, inputs, dyn)
    if any(axes.values()):
        bigger = _grown(inputs, axes)
        with torch.no_grad():
            expected = as_outputs(model(*bigger))
        try:
            worst = max(worst, _compare(program, fmt, bigger, expected, rtol, atol))
        except EqsolveError as err:
            notes.append(f"not dynamic after all ({err}); use inputs of the example's shapes")
            for name in dyn:
                dyn[name] = []
    return worst


def _compare(program, fmt, args, expected, rtol, atol) -> float:
    with torch.no_grad():
        try:
            got = as_outputs(program(*args))
        except Exception as err:
            raise EqsolveError(
                f"the exported {fmt} program fails on inputs of shape {[list(a.shape) for a in args]}: "
                f"{type(err).__name__}: {first_line(err)}"
            ) from None
    if len(got) != len(expected):
        raise EqsolveError(f"the exported {fmt} program returns {len(got)} outputs, the module {len(expected)}")
    worst = 0.0
    for g, e in zip(got, expected):
        g = g.to(e.device)
        if tuple(g.shape) != tuple(e.shape):
            raise EqsolveError(f"the exported {fmt} program returns shape {list(g.shape)}, the module {list(e.shape)}")
        if not e.is_floating_point():
            if not torch.equal(g, e):
                raise EqsolveError(f"the exported {fmt} program's outputs differ from the module's")
            continue
        finite = torch.isfinite(e)
        if not torch.equal(finite, torch.isfinite(g)) or not torch.equal(e[~finite], g[~finite].to(e.dtype)):
            raise EqsolveError(f"the exported {fmt} program's infinities differ from the module's")
        if finite.any():
            e64, g64 = e[finite].double(), g[finite].double()
            err = (e64 - g64).abs().max().item()
            worst = max(worst, err)
            if not torch.allclose(g64, e64, rtol=rtol, atol=atol):
                raise EqsolveError(
                    f"the exported {fmt} program differs from the module by {err:.3g} on inputs of shape "
                    f"{[list(a.shape) for a in args]} (rtol {rtol:g}, atol {atol:g})"
                )
    return worst


def _claimed_axes(model, inputs, dyn) -> Dict[int, List[int]]:
    names = list(dyn)
    spec = _dynamic_spec(model, inputs)
    claimed: Dict[int, List[int]] = {}
    for i in range(len(inputs)):
        axes = dyn.get(names[i], []) if i < len(names) else []
        claimed[i] = list(spec.get(i, [])) if axes == "all" else list(axes)
    return claimed


def _grown(inputs, axes) -> List[torch.Tensor]:
    """The example one larger along each dynamic axis (its first slice repeated at the end)."""
    out = []
    for i, t in enumerate(inputs):
        for axis in axes.get(i, []):
            if t.shape[axis] > 0:
                t = torch.cat([t, t.narrow(axis, 0, 1)], dim=axis)
        out.append(t)
    return out


# -- helpers ------------------------------------------------------------------------------------
def _via_memory(target, write) -> None:
    """Let torch serialise into memory, then write the bytes from Python: torch's zip writer
    aborts the process when a write fails inside it (a full disk), instead of raising."""
    buffer = io.BytesIO()
    write(buffer)
    if hasattr(target, "write"):
        target.write(buffer.getbuffer())
    else:
        with open(target, "wb") as handle:
            handle.write(buffer.getbuffer())


def _format_of(path: Path, format: Optional[str]) -> str:
    if format is not None:
        if format not in FORMATS:
            raise EqsolveError(f"unknown export format {format!r}; expected one of {', '.join(map(repr, FORMATS))}")
        return format
    return SUFFIXES.get(path.suffix.lower(), "pt2")


def _input_names(model: nn.Module, count: int) -> List[str]:
    try:
        params = [p for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) < count:
        if params and any(p.kind == p.VAR_POSITIONAL for p in inspect.signature(model.forward).parameters.values()):
            return [f"input_{i}" for i in range(count)]
        raise EqsolveError(
            f"example_input has {count} tensors but {type(model).__name__}.forward takes {len(params)} positional arguments"
        )
    return [p.name for p in params[:count]]


def _dynamic_spec(model, inputs) -> Dict[int, List[int]]:
    """Axes to export as dynamic, per input index: the batch (axis 0) of every input with
    ndim >= 1, and axis 1 of ``x`` / ``mask`` for set models of any set size."""
    set_axis = isinstance(model, SetNet) and model.n is None
    spec: Dict[int, List[int]] = {}
    for i, t in enumerate(inputs):
        axes = [0] if t.dim() >= 1 else []
        if set_axis and t.dim() >= 2:
            axes.append(1)
        spec[i] = axes
    return spec


def _dynamic_axes(program, names) -> Dict[str, List[int]]:
    placeholders = {node.name: node for node in program.graph.nodes if node.op == "placeholder"}
    user = list(program.graph_signature.user_inputs)
    dyn: Dict[str, List[int]] = {}
    for name, graph_name in zip(names, user):
        node = placeholders.get(graph_name)
        val = None if node is None else node.meta.get("val")
        shape = getattr(val, "shape", ())
        dyn[name] = [i for i, s in enumerate(shape) if not isinstance(s, int)]
    return dyn


