"""``eqsolve export``: build a DSS model (or a baseline) for a group and write it as a torch program."""

from __future__ import annotations

from pathlib import Path

from ._common import (add_command, add_output_arguments, group_from_args, group_label, print_json,
                      print_table)

HELP = "build a DSS network (or a baseline) for a group and export it (torch.export, TorchScript, ONNX)"
MODELS = ("dss-invariant", "dss-selection", "dss-merging", "dss-equivariant", "mlp", "deepsets", "siamese",
          "siamese-ds")
TASKS = ("invariant", "selection", "merging", "equivariant")
FORMATS = ("pt2", "torchscript", "onnx")
DTYPES = ("float32", "float64", "bfloat16")
SUFFIX_FORMATS = {".pt2": "pt2", ".pt": "torchscript", ".ts": "torchscript", ".onnx": "onnx"}
EXAMPLES = """\
models:
  dss-invariant     sets -> class logits, invariant to S_n x H
  dss-selection     sets -> one score per element (permutes with the set, H-invariant)
  dss-merging       sets -> one (out_channels, d) signal, H-equivariant, S_n-invariant
  dss-equivariant   sets -> (n, out_channels, d), S_n x H-equivariant
  mlp, deepsets, siamese, siamese-ds
                    the paper's baselines for --task; unless --width is given, their width is
                    chosen so that their parameter count matches the DSS model of --widths

Weights: fresh random ones (--seed) unless --weights FILE loads a trained state_dict, which
is checked against the architecture (keys and shapes; a clear error on mismatch).
--save-weights FILE writes the exported weights (refusing to replace a file without --force).

The example input is a random (batch, n, in_channels, d) tensor; the batch (and, for set
models, the set size) stays dynamic in pt2 and ONNX programs. The artifact runs with torch
alone: torch.export.load(path).module(), torch.jit.load(path), or any ONNX runtime.

examples:
  eqsolve export --group cyclic:100 --model dss-invariant --widths 64 64 --classes 3 --out net.pt2
  eqsolve export --group cyclic:100 --widths 64 64 --weights trained.pt --out trained.pt2   # a trained model
  eqsolve export --group dihedral:8 --model dss-equivariant --in-channels 2 --widths 16 --out-channels 2 --out net.pt
  eqsolve export --gap "(1,2,3,4,5,6)" --model dss-selection --widths 8 --mask --out sel.onnx
  eqsolve export --group grid:8x8 --model siamese --task merging --widths 16 16 --out base.pt2 --save-weights base.pt
"""


def register(sub) -> None:
    parser = add_command(sub, "export", HELP, HELP, EXAMPLES)
    parser.add_argument("--model", choices=MODELS, default="dss-invariant", help="architecture (default dss-invariant)")
    parser.add_argument("--task", choices=TASKS, default="invariant",
                        help="task of a baseline model (the dss-* models name theirs; default invariant)")
    parser.add_argument("--in-channels", type=int, default=1, metavar="C",
                        help="channels of each input element (default 1)")
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 64], metavar="W",
                        help="output channels of each DSS layer, one number per layer (default 64 64)")
    parser.add_argument("--classes", type=int, default=3, metavar="K", help="logits of invariant models (default 3)")
    parser.add_argument("--out-channels", type=int, default=1, metavar="C",
                        help="output channels of merging / equivariant models (default 1)")
    parser.add_argument("--aggregation", default="sum", choices=("sum", "mean", "max", "aittala", "sridhar"),
                        help="DSS aggregation (default sum)")
    parser.add_argument("--norm", default="none", choices=("none", "set", "batch"),
                        help="equivariant normalisation after each DSS layer but the last (default none)")
    parser.add_argument("--width", type=int, metavar="W",
                        help="hidden width of a baseline (default: match the DSS model's parameter count)")
    parser.add_argument("--n", type=int, default=10, metavar="N",
                        help="set size of the example input (the MLP baseline is fixed to it; default 10)")
    parser.add_argument("--batch", type=int, default=2, metavar="B", help="batch of the example input (default 2)")
    parser.add_argument("--mask", action="store_true",
                        help="export the (x, mask) signature: mask (batch, n) bool marks real elements")
    parser.add_argument("--format", choices=FORMATS, help="pt2 | torchscript | onnx (default: from the --out suffix)")
    parser.add_argument("--dtype", choices=DTYPES, default="float32", help="parameter and input dtype (default float32)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random weights (without --weights) and of the example input (default 0)")
    parser.add_argument("--weights", metavar="FILE",
                        help="READ a trained state_dict from FILE (torch.save of model.state_dict()) and export it")
    parser.add_argument("--save-weights", metavar="FILE",
                        help="also write the exported state_dict to FILE (tensors only; see --force)")
    parser.add_argument("--force", action="store_true", help="let --save-weights replace an existing file")
    parser.add_argument("--out", required=True, metavar="FILE", help="file to write (.pt2, .pt, .onnx)")
    add_output_arguments(parser)
    parser.set_defaults(handler=run)


def _check_args(args) -> str:
    from .._errors import EqsolveError

    for i, c in enumerate(args.widths):
        if c < 1:
            raise EqsolveError(f"--widths must all be >= 1, got {c} at position {i}")
    for flag in ("in_channels", "classes", "out_channels", "n", "batch"):
        value = getattr(args, flag)
        if value < 1:
            raise EqsolveError(f"--{flag.replace('_', '-')} must be >= 1, got {value}")
    if args.width is not None and args.width < 1:
        raise EqsolveError(f"--width must be >= 1, got {args.width}")
    if args.width is not None and args.model.startswith("dss-"):
        raise EqsolveError("--width applies to the baselines; the dss-* models take --widths")
    out = Path(args.out)
    suffix_format = SUFFIX_FORMATS.get(out.suffix.lower())
    fmt = args.format or suffix_format or "pt2"
    if args.format and suffix_format and suffix_format != args.format:
        raise EqsolveError(f"--out {args.out} has the suffix of a {suffix_format} file, but --format is {args.format}")
    from .._io import check_target

    check_target(out)  # refuse a bad target before building anything
    if args.weights and not Path(args.weights).is_file():
        raise EqsolveError(f"--weights {args.weights}: no such file (--weights reads a trained state_dict; "
                           "--save-weights writes one)")
    if args.save_weights:
        check_target(args.save_weights)
        target = Path(args.save_weights)
        if target.exists() and not args.force:
            raise EqsolveError(f"--save-weights {args.save_weights} exists; pass --force to replace it")
        if target.resolve() == out.resolve():
            raise EqsolveError(f"--save-weights and --out name the same file {args.out}")
        if args.weights and target.resolve() == Path(args.weights).resolve():
            raise EqsolveError("--save-weights names the --weights file: the weights would be written onto themselves")
    return fmt


def _check_sizes(args, group) -> None:
    """Refuse a model or an example input that would not fit, before building either."""
    from .._budget import require_memory

    d, widths = group.degree, [args.in_channels, *args.widths]
    dim = min(d * d, 4 * d)  # basis size of the usual groups; the parameters grow with it
    params = 2 * dim * sum(a * b for a, b in zip(widths, widths[1:])) + (args.width or 0) ** 2 * 4
    activations = 8 * args.batch * args.n * d * max(widths + [args.out_channels, args.classes])
    itemsize = 8 if args.dtype == "float64" else 4
    # parameters, gradients-free export copies and the reload check hold a few copies of each
    require_memory(itemsize * (6 * params + 4 * activations),
                   f"a model with about {params} parameters on a ({args.batch}, {args.n}, {widths[0]}, {d}) input")


def build_model(args, basis):
    """The module named by ``--model`` (and the task it solves), from the one model registry
    (:func:`eqsolve.layers.build`)."""
    from eqsolve import layers

    task = args.model[len("dss-"):] if args.model.startswith("dss-") else args.task
    norm = None if args.norm == "none" else args.norm
    model = layers.build(args.model, basis, task, [args.in_channels, *args.widths], n=args.n, width=args.width,
                         n_classes=args.classes, out_channels=args.out_channels, aggregation=args.aggregation,
                         norm=norm)
    return model, task


def run(args) -> int:
    import numpy as np
    import torch

    import eqsolve
    from eqsolve import layers

    fmt = _check_args(args)
    group = group_from_args(args)
    if group.degree < 1:
        raise eqsolve.EqsolveError("export needs a group on at least one point")
    _check_sizes(args, group)
    basis = eqsolve.solve(group)
    torch.manual_seed(args.seed)
    model, task = build_model(args, basis)
    if args.weights:
        layers.load_state_dict(model, args.weights)
    dtype = getattr(torch, args.dtype)
    model = model.to(dtype)
    rng = np.random.default_rng(args.seed)
    x = torch.as_tensor(rng.standard_normal((args.batch, args.n, args.in_channels, group.degree)), dtype=dtype)
    example = (x,)
    if args.mask:
        keep = rng.random((args.batch, args.n)) < 0.8
        keep[:, 0] = True
        example = (x, torch.as_tensor(keep))
    label = group_label(group, args)
    metadata = {"group": label, "degree": group.degree, "dimension": basis.dim, "dtype": args.dtype}
    from contextlib import nullcontext

    from .._io import atomic_path
    from .._progress import progress

    # the weights are written first into a temporary file that replaces --save-weights only once
    # the export has succeeded: a failure leaves neither file half written nor changed
    with atomic_path(args.save_weights) if args.save_weights else nullcontext() as weights_tmp:
        if weights_tmp is not None:
            layers.save_state_dict(model, weights_tmp)
        with progress(total=1, desc=f"exporting ({fmt}, then reloading to compare)", unit="file") as bar:
            result = layers.export(model, example, args.out, format=fmt, metadata=metadata)
            bar.update(1)
    record = {
        "group": label,
        "degree": group.degree,
        "dimension": basis.dim,
        "model": args.model,
        "task": task,
        "parameters": result.parameters,
        "input": {name: shape for name, shape in result.inputs.items()},
        "output": result.outputs[0] if len(result.outputs) == 1 else result.outputs,
        "dynamic": result.dynamic,
        "format": result.format,
        "method": result.method,
        "dtype": args.dtype,
        "max_abs_error": result.max_abs_error,
        "bytes": result.bytes,
        "out": str(args.out),
    }
    record["in_channels"] = args.in_channels
    if args.model.startswith("dss-"):
        record["widths"] = list(args.widths)
        record["aggregation"] = args.aggregation
    else:
        record["width"] = model.config.get("width")
    record["weights"] = args.weights or f"random (seed {args.seed})"
    if args.save_weights:
        record["saved_weights"] = args.save_weights
    if result.notes:
        record["notes"] = result.notes
    if args.json:
        print_json(record)
        return 0
    rows = []
    for key, value in record.items():
        if key == "input":
            value = ", ".join(f"{k} {tuple(v)}" for k, v in value.items())
        elif key == "dynamic":
            value = ", ".join(f"{k}: {'all axes' if v == 'all' else ('axes ' + str(v) if v else 'none')}"
                              for k, v in value.items())
        elif key == "output":
            value = tuple(value)
        elif key == "max_abs_error":
            value = "not checked" if value is None else f"{value:.3g} (reloaded and compared)"
        elif key == "notes":
            value = "; ".join(value)
        rows.append((key, value))
    print(f"wrote {args.out}: {task} {args.model} model, {result.parameters} parameters, {result.format}")
    print_table(rows)
    return 0
