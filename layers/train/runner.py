"""Sweeps of ``eqsolve train``: models x training-set sizes x seeds, with results, plot and resume.

:func:`run` trains every cell ``(model, train_size, seed)`` of a task (see
:mod:`layers.train.tasks`) with :func:`layers.train.train_model`, and keeps in ``out``:

=========================== ===================================================================
``config.json``             the exact configuration (task, models, sizes, seeds, preset and its
                            hyper-parameters, data seed, test size, device, versions)
``results.json``            every finished cell (per-epoch loss / validation metric / seconds,
                            best epoch, its validation and test metric, parameters) and the
                            summary (mean and standard deviation over seeds)
``results.csv``             one row per finished cell
``figure.png``              test metric against training-set size, mean +- std over seeds, one
                            line per model (the paper's Figure 4 layout); needs matplotlib
``checkpoints/CELL.pt``     while a cell trains: its resumable state (every epoch); once it is
                            done: its best weights (``state_dict`` only)
=========================== ===================================================================

Every file is written atomically by rank 0. Protocol: the model of the epoch with the best
validation metric is evaluated on the test set. ``run(..., resume=True)`` on the same folder
skips finished cells and continues a cell from its last checkpoint; a folder holding another
configuration, a damaged or foreign checkpoint are refused before anything is written.

>>> import tempfile; from eqsolve.layers.train import runner
>>> with tempfile.TemporaryDirectory() as out:
...     r = runner.run("signals", models=["dss-sum"], sizes=[30], seeds=1, out=out, epochs=1,
...                    val_size=30, test_size=30, progress=False, quiet=True)
>>> c = r["cells"][0]
>>> c["model"], c["train_size"], c["epochs"], 0.0 <= c["test"] <= 1.0
('dss-sum', 30, 1, True)
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch

import eqsolve
from eqsolve import EqsolveError

from . import tasks as _tasks
from .loop import evaluate_metric, train_model, world

__all__ = ["run", "summary", "table", "plot", "MAX_SEEDS", "RESULTS_FORMAT"]

MAX_SEEDS = 100
RESULTS_FORMAT = "eqsolve.train.results/1"


def _write_text(path: str, text: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _write_bytes(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@dataclass(frozen=True)
class CellSpec:
    """What every cell of one sweep shares (picklable: worker processes receive it)."""

    task: str
    preset: str
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    data_seed: int
    amp: bool
    compile: bool
    compile_backend: str
    ckdir: str


_BUILT: set = set()  # (task, model, preset) built once in this process


def _build(task, model_name: str, preset: str, part, seed: int):
    """Model ``model_name`` with the initial weights of ``seed``, whatever was built before.

    A builder may fill caches on its first call (e.g. a width search that builds trial
    models and so draws random numbers); the first build of each model in a process is a
    throw-away one off the random stream, so a cell's weights never depend on which cells
    ran before it in this process (a worker, a resumed run)."""
    if (task.name, model_name, preset) not in _BUILT:
        with torch.random.fork_rng(devices=[]):
            task.build_model(model_name, preset, part)
        _BUILT.add((task.name, model_name, preset))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return task.build_model(model_name, preset, part)


def train_cell(task, splits, spec: CellSpec, key, device="cpu", progress=None, callback=None):
    """Train one cell ``key = (model, train_size, seed)``; returns ``(record, best_state)``,
    the ``results.json`` entry and the best weights as ``torch.save`` bytes.

    The same function runs in the sweep's process and in its worker processes, so a cell
    computes the same numbers either way (at the same number of torch threads). It writes
    only the cell's own resumable checkpoint, every epoch.
    """
    model_name, n_train, seed = key
    cell = _cell_name(model_name, n_train, seed)
    part = splits.with_train_size(n_train)
    net = _build(task, model_name, spec.preset, part, seed)
    params = int(sum(p.numel() for p in net.parameters() if p.requires_grad))
    fingerprint = {"task": task.name, "model": model_name, "train_size": n_train, "seed": seed,
                   "preset": spec.preset, "parameters": params, "epochs": spec.epochs, "batch_size": spec.batch_size,
                   "lr": spec.lr, "data_seed": spec.data_seed}
    start = time.perf_counter()
    cb = None if callback is None else (lambda e, h: callback(cell, e, h))
    history = train_model(net, part.train, val=part.val, epochs=spec.epochs, lr=spec.lr, batch_size=spec.batch_size,
                          weight_decay=spec.weight_decay, loss=task.loss, metric=task.metric,
                          higher_is_better=task.higher_is_better, seed=seed, device=device, amp=spec.amp,
                          compile=spec.compile, compile_backend=spec.compile_backend,
                          checkpoint=os.path.join(spec.ckdir, cell + ".pt"), fingerprint=fingerprint,
                          progress=progress, desc=cell, callback=cb)
    net.load_state_dict(history.best_state)
    test = evaluate_metric(net, part.test, task.metric, device=device, amp=spec.amp)
    record = {"model": model_name, "train_size": n_train, "seed": seed, "parameters": params,
              "epochs": len(history.losses), "best_epoch": history.best_epoch, "val": history.best_val,
              "test": test, "losses": history.losses, "val_curve": history.val,
              "epoch_seconds": history.seconds, "seconds": float(sum(history.seconds)),
              "session_seconds": time.perf_counter() - start}
    buf = io.BytesIO()
    torch.save(history.best_state, buf)
    return record, buf.getvalue()


def _cell_name(model: str, size: int, seed: int) -> str:
    return f"{model.replace('+', '-')}-n{size}-s{seed}"


def _prepare_out(out: str, config: Dict[str, object], resume: bool) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise EqsolveError(f"results folder {out} is a file; choose a folder with --out")
    path = os.path.join(out, "config.json")
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as f:
                old = json.load(f)
        except (OSError, ValueError) as err:
            raise EqsolveError(f"{path} is not readable JSON ({err}); not touching {out}") from None
        if not resume:
            raise EqsolveError(f"{out} already holds results ({path}); pass --resume {out} to continue them, "
                               f"or choose another --out")
        keys = [k for k in config if k not in ("versions", "device", "processes", "workers")]
        diff = [k for k in keys if old.get(k) != config[k]]
        if diff:
            raise EqsolveError(f"{out} holds a run of another configuration (differs in {', '.join(diff)}: "
                               f"{', '.join(f'{k}={old.get(k)!r}' for k in diff)}); resume it with the same options "
                               f"or choose another --out")
    elif resume and os.path.isdir(out) and os.listdir(out):
        raise EqsolveError(f"nothing to resume in {out}: it has no config.json")


def load_config(out: str) -> Dict[str, object]:
    """The configuration stored in ``out/config.json`` (for ``--resume OUT``)."""
    path = os.path.join(out, "config.json")
    if os.path.isfile(out):
        raise EqsolveError(f"results folder {out} is a file")
    if not os.path.exists(path):
        raise EqsolveError(f"nothing to resume: {path} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as err:
        raise EqsolveError(f"{path} is not readable JSON ({err})") from None
    if not isinstance(config, dict) or config.get("format") != RESULTS_FORMAT:
        raise EqsolveError(f"{path} is not an eqsolve train configuration")
    return config


def _load_results(out: str) -> List[Dict[str, object]]:
    path = os.path.join(out, "results.json")
    if not os.path.exists(path):
        return []
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return list(data["cells"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise EqsolveError(f"{path} is damaged ({err}); not touching {out}") from None


def summary(cells: Sequence[Dict[str, object]]) -> List[Dict[str, object]]:
    """Mean and (sample) standard deviation of the test metric over seeds, per (model, size)."""
    groups: Dict[tuple, List[float]] = {}
    for c in cells:
        groups.setdefault((c["model"], c["train_size"]), []).append(float(c["test"]))
    rows = []
    for (model, size), values in groups.items():
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
        rows.append({"model": model, "train_size": size, "mean": mean, "std": std, "seeds": len(values)})
    return rows


def table(rows: Sequence[Dict[str, object]], models: Sequence[str], sizes: Sequence[int], metric: str) -> str:
    """Plain-text table: one row per model, one column per training-set size, ``mean +- std``."""
    by = {(r["model"], r["train_size"]): r for r in rows}
    header = [f"{metric} (test)"] + [f"n={s}" for s in sizes]
    lines = [header]
    for m in models:
        line = [m]
        for s in sizes:
            r = by.get((m, s))
            line.append("-" if r is None else f"{r['mean']:.3f} +- {r['std']:.3f} ({r['seeds']})")
        lines.append(line)
    widths = [max(len(l[i]) for l in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(l))
                     for l in lines)


def plot(rows: Sequence[Dict[str, object]], models: Sequence[str], path: str, metric: str, title: str,
         baseline: Optional[float] = None) -> Optional[str]:
    """Figure 4 layout: test metric against training-set size (log axis), mean +- std per model.

    Returns the path, or None when matplotlib is not installed (``pip install eqsolve[plot]``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for m in models:
        pts = sorted((r["train_size"], r["mean"], r["std"]) for r in rows if r["model"] == m)
        if not pts:
            continue
        xs, ys, es = zip(*pts)
        ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=m)
    if baseline is not None:
        ax.axhline(baseline, color="gray", linestyle="--", linewidth=1, label="trivial predictor")
    ax.set_xscale("log")
    ax.set_xlabel("training-set size")
    ax.set_ylabel(f"test {metric}")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)
    return path


def _write_results(out: str, task, config, cells, baseline) -> List[Dict[str, object]]:
    rows = summary(cells)
    _write_text(os.path.join(out, "results.json"), json.dumps(
        {"format": RESULTS_FORMAT, "task": task.name, "metric": task.metric_name, "baseline": baseline,
         "summary": rows, "cells": cells}, indent=1) + "\n")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["model", "train_size", "seed", "parameters", "best_epoch", "epochs", f"val_{task.metric_name}",
                f"test_{task.metric_name}", "final_train_loss", "seconds"])
    for c in cells:
        w.writerow([c["model"], c["train_size"], c["seed"], c["parameters"], c["best_epoch"], c["epochs"],
                    f"{c['val']:.6f}", f"{c['test']:.6f}", f"{c['losses'][-1]:.6f}", f"{c['seconds']:.2f}"])
    _write_text(os.path.join(out, "results.csv"), buf.getvalue())
    return rows


def run(task, *, models: Optional[Sequence[str]] = None, sizes: Optional[Sequence[int]] = None, seeds=1,
        preset: str = "small", out: str = "results", device="cpu", amp: bool = False, compile: bool = False,
        compile_backend: str = "inductor", epochs: Optional[int] = None, batch_size: Optional[int] = None,
        lr: Optional[float] = None, val_size: Optional[int] = None, test_size: Optional[int] = None,
        data_seed: int = 0, options: Optional[Dict[str, str]] = None, resume: bool = False,
        progress: Optional[bool] = None, quiet: bool = False, workers: int = 1,
        worker_threads: Optional[int] = None, callback=None, write=print) -> Dict[str, object]:
    """Train every ``(model, size, seed)`` cell of ``task`` and write the results to ``out``.

    Parameters
    ----------
    task:
        A task name (``eqsolve.layers.train.tasks.names()``) or a :class:`~layers.train.tasks.Task`.
    models, sizes:
        Default: the task's default model and its largest size.
    seeds:
        Number of seeds (0 .. seeds-1, at most :data:`MAX_SEEDS`) or a list of seeds.
    preset, epochs, batch_size, lr:
        The preset's hyper-parameters, any of them overridden.
    val_size, test_size, data_seed:
        Sizes of the validation / test sets (default: the task's) and the data seed.
    resume:
        Continue the run stored in ``out`` (same configuration).
    workers, worker_threads:
        Train independent cells in ``workers`` processes (CPU only; not under ``torchrun``),
        each with ``worker_threads`` torch threads (default ``max(1, torch.get_num_threads()
        // workers)``). Every cell computes what it computes in one process at the same thread
        count; this process alone writes ``results.json`` / ``.csv``, the plot and the finished
        cells' weights, each worker only the checkpoint of the cell it trains.
    callback:
        ``callback(cell, epoch, history)`` after each epoch (tests use it to interrupt a run);
        with workers it runs in this process as each worker reports an epoch.

    Returns the ``results.json`` content as a dict.
    """
    task = _tasks.get(task) if isinstance(task, str) else task
    if not isinstance(task, _tasks.Task):
        raise EqsolveError(f"task must be a task name or a Task, got {type(task).__name__}")
    hyper = task.check_preset(preset)
    models = [task.default_model or task.models[0]] if models is None else list(models)
    if not models:
        raise EqsolveError("no model to train")
    for m in models:
        task.check_model(m)
    sizes = [max(hyper.sizes or task.sizes)] if sizes is None else _tasks.check_sizes(task, list(sizes))
    options = _check_options(task, options)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if not 1 <= seeds <= MAX_SEEDS:
            raise EqsolveError(f"seeds must be 1 to {MAX_SEEDS}, got {seeds}")
        seed_list = list(range(seeds))
    else:
        seed_list = [int(s) for s in seeds]
        if not seed_list or len(seed_list) > MAX_SEEDS or len(set(seed_list)) != len(seed_list) or min(seed_list) < 0:
            raise EqsolveError(f"seeds must be 1 to {MAX_SEEDS} distinct integers >= 0, got {seeds!r}")
    epochs = hyper.epochs if epochs is None else epochs
    batch_size = hyper.batch_size if batch_size is None else batch_size
    lr = hyper.lr if lr is None else lr
    for value, name in ((epochs, "epochs"), (batch_size, "batch_size")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise EqsolveError(f"{name} must be an integer >= 1, got {value!r}")
    if not (isinstance(lr, (int, float)) and 0 < lr < 10):
        raise EqsolveError(f"lr must be a number in (0, 10), got {lr!r}")
    for value, name in ((val_size, "val_size"), (test_size, "test_size")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000):
            raise EqsolveError(f"{name} must be an integer in [1, 100000], got {value!r}")
    from .loop import _check_device

    dev = _check_device(device)
    rank, size = world()
    workers = _check_workers(task, workers, worker_threads, dev, size)
    config: Dict[str, object] = {
        "format": RESULTS_FORMAT, "task": task.name, "models": models, "sizes": sizes, "seeds": seed_list,
        "preset": preset, "epochs": epochs, "batch_size": batch_size, "lr": lr,
        "weight_decay": hyper.weight_decay, "val_size": val_size, "test_size": test_size, "data_seed": int(data_seed),
        "amp": bool(amp), "compile": bool(compile), "processes": size, "workers": workers, "device": str(dev),
        "protocol": f"Adam; the epoch of best validation {task.metric_name} is scored on the test set",
        "versions": {"eqsolve": eqsolve.__version__, "torch": torch.__version__, "python": platform.python_version()},
    }
    if options:
        config["options"] = options
    _prepare_out(out, config, resume)  # every rank checks before any rank writes
    if size > 1:
        import torch.distributed as dist

        dist.barrier()
    splits = _make_splits(task, data_seed, val_size, test_size, preset, options, train_size=max(sizes))
    config["data"] = {"train_pool": len(splits.train), "val": len(splits.val), "test": len(splits.test),
                      **{k: v for k, v in splits.info.items() if isinstance(v, (int, float, str, list))}}
    baseline = float(task.baseline(splits))
    ckdir = os.path.join(out, "checkpoints")
    if rank == 0:
        os.makedirs(ckdir, exist_ok=True)
        if not os.path.exists(os.path.join(out, "config.json")):
            _write_text(os.path.join(out, "config.json"), json.dumps(config, indent=1) + "\n")
    cells = _load_results(out) if resume else []
    done = {(c["model"], c["train_size"], c["seed"]) for c in cells}
    began = time.perf_counter()
    # seed-major, then size, then model: an interrupted sweep has every model at the sizes it reached
    order = [(m, n, s) for s in seed_list for n in sizes for m in models]
    rank_of = {key: i for i, key in enumerate(order)}
    todo = [key for key in order if key not in done]
    spec = CellSpec(task.name, preset, epochs, batch_size, lr, hyper.weight_decay, int(data_seed), bool(amp),
                    bool(compile), compile_backend, ckdir)

    def finished(key, record, best_state: bytes) -> None:
        model_name, n_train, seed = key
        cell = _cell_name(model_name, n_train, seed)
        cells.append(record)
        cells.sort(key=lambda c: rank_of.get((c["model"], c["train_size"], c["seed"]), len(order)))
        if rank == 0:
            _write_results(out, task, config, cells, baseline)
            _write_bytes(os.path.join(ckdir, cell + ".pt"), best_state)  # the finished cell keeps its best weights only
            if task.write_examples is not None and seed == seed_list[0]:
                net = _build(task, model_name, preset, splits.with_train_size(n_train), seed)
                net.load_state_dict(torch.load(io.BytesIO(best_state), weights_only=True))
                task.write_examples(net.to(dev), splits.with_train_size(n_train), os.path.join(out, "examples", cell))
        if not quiet and rank == 0:
            write(f"{cell}: {task.metric_name} val {record['val']:.3f} test {record['test']:.3f} "
                  f"(best epoch {record['best_epoch']}/{epochs}, {record['parameters']} parameters, "
                  f"{record['seconds']:.1f} s)")

    if workers > 1 and len(todo) > 1:
        from .parallel import run_cells

        run_cells(task, splits, spec, todo, workers, worker_threads, finished, callback, progress)
    else:
        for key in todo:
            record, best_state = train_cell(task, splits, spec, key, device=dev, progress=progress,
                                            callback=callback)
            finished(key, record, best_state)
    rows = summary(cells)
    result = {"format": RESULTS_FORMAT, "task": task.name, "metric": task.metric_name, "baseline": baseline,
              "summary": rows, "cells": cells, "config": config, "seconds": time.perf_counter() - began}
    if rank == 0:
        _write_results(out, task, config, cells, baseline)
        figure = plot(rows, models, os.path.join(out, "figure.png"), task.metric_name,
                      f"{task.name} ({preset} preset, {len(seed_list)} seed(s))", baseline)
        result["figure"] = figure
        if not quiet:
            write("")
            write(table(rows, models, sizes, task.metric_name))
            write(f"trivial predictor: {baseline:.3f}; results in {out} (config.json, results.json, results.csv"
                  + (", figure.png)" if figure else "; no figure: matplotlib is not installed)"))
    return result


def _check_workers(task, workers, worker_threads, device, processes) -> int:
    """Refuse worker settings that cannot work (before anything is written)."""
    for value, name in ((workers, "workers"), (worker_threads, "worker_threads")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise EqsolveError(f"{name} must be an integer >= 1, got {value!r}")
    if workers is None or workers == 1:
        return 1
    if device.type != "cpu":
        raise EqsolveError(f"workers={workers} trains cells in parallel CPU processes; on {device} train one cell at "
                           "a time (drop --workers), the GPU is shared anyway")
    if processes > 1:
        raise EqsolveError(f"workers={workers} cannot be combined with torchrun ({processes} processes already share "
                           "each cell); drop --workers or run without torchrun")
    if _tasks.BUILTIN.get(task.name) is None or _tasks.get(task.name) is not task:
        raise EqsolveError(f"workers={workers} needs a task shipped with eqsolve ({', '.join(_tasks.BUILTIN)}): worker "
                           f"processes cannot see task {task.name!r} registered in this process; use workers=1")
    return workers


def _check_options(task, options) -> Dict[str, str]:
    """The task's ``make_data`` options: its defaults, updated by ``options`` (unknown ones refused)."""
    given = dict(options or {})
    unknown = sorted(set(given) - set(task.options))
    if unknown:
        known = ", ".join(task.options) or "none"
        raise EqsolveError(f"task {task.name} has no option {unknown[0]!r} (its options: {known})")
    return {**dict(task.options), **{k: str(v) for k, v in given.items()}}


def _make_splits(task, data_seed, val_size, test_size, preset, options=None, train_size=None):
    kwargs = {"seed": int(data_seed), "preset": preset, **(options or {})}
    if test_size is not None:
        kwargs["test_size"] = test_size
    accepts = inspect.signature(task.make_data).parameters
    for name, value in (("train_size", train_size), ("val_size", val_size)):
        if value is not None and name in accepts:
            kwargs[name] = int(value)  # the task may draw fewer sets (the image tasks' paper preset)
    splits = task.make_data(**kwargs)
    if val_size is not None:
        if val_size > len(splits.val):
            raise EqsolveError(f"val_size {val_size} exceeds the task's validation set of {len(splits.val)}")
        splits = _tasks.Splits(splits.train, splits.val.subset(slice(0, val_size)), splits.test, splits.info)
    return splits
