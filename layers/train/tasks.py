"""The task registry of ``eqsolve train``: what a task must provide.

A :class:`Task` bundles everything the sweep runner (:mod:`layers.train.runner`) and the CLI
need to train and compare models on one problem:

================== ======================================================================
field              meaning
================== ======================================================================
``name``           the CLI name (``eqsolve train NAME``)
``summary``        one line for ``--help`` and the results
``make_data``      ``make_data(seed=, test_size=, preset=) -> Splits``: the full training
                   pool, validation and test sets (:class:`Splits`), deterministic in
                   ``seed``; the runner trains on the first ``train_size`` sets of the pool.
                   A ``make_data`` with ``train_size=`` (``val_size=``) parameters is told
                   how many sets the run uses and may draw fewer (the image tasks do)
``build_model``    ``build_model(name, preset, splits) -> nn.Module``: model ``name`` (one of
                   ``models``) for ``preset``; called under a fixed torch seed
``models``         the model names, in the order of tables and plots
``loss``           ``loss(output, target) -> scalar`` (mean over the batch)
``metric``         ``metric(output, target) -> (batch,)`` per-set scores; reported as the mean
``baseline``       ``baseline(splits) -> float``: the metric of a trivial predictor on the
                   test set (chance for classification), drawn in plots and tables
``presets``        ``{preset: Preset(...)}``: epochs, batch size, learning rate, ...
``sizes``          training-set sizes of ``--sweep`` (a preset may give its own, ``Preset.sizes``)
``metric_name``    e.g. ``"accuracy"``; ``higher_is_better`` picks the best epoch
``write_examples`` optional ``write_examples(model, splits, folder) -> [paths]`` (example
                   pictures written next to the results)
``default_model``  what ``eqsolve train NAME`` trains without ``--model``
``options``        extra keyword options of ``make_data`` and their defaults, e.g.
                   ``{"noise": "gaussian:30"}`` (``eqsolve train quality --noise ...``)
================== ======================================================================

Tasks shipped with eqsolve are listed in :data:`BUILTIN` (module path, imported on first
use; each module defines ``TASK``, or ``"module:NAME"`` names the attribute);
:func:`register` adds your own at run time.

>>> from eqsolve.layers.train import tasks
>>> "signals" in tasks.names()
True
>>> tasks.get("signals").metric_name
'accuracy'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from eqsolve import EqsolveError

from .data import SetData

__all__ = ["Preset", "Splits", "Task", "BUILTIN", "register", "get", "names"]

#: name -> module defining ``TASK`` (imported lazily: tasks may need extra packages)
BUILTIN: Dict[str, str] = {
    "signals": "eqsolve.layers.train.signals",
    "shapes": "eqsolve.layers.train.shapes",
    "colors": "eqsolve.layers.images.experiment:COLORS",
    "quality": "eqsolve.layers.images.experiment:QUALITY",
    "deblur": "eqsolve.layers.images.experiment:DEBLUR",
}

_REGISTERED: Dict[str, "Task"] = {}


@dataclass(frozen=True)
class Preset:
    """Training hyper-parameters of one preset (``small``: CPU-sized, ``paper``: the paper's widths)."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    note: str = ""
    sizes: Tuple[int, ...] = ()  # training-set sizes of this preset's sweep (default: the task's)


@dataclass
class Splits:
    """Training pool, validation and test sets of one task, plus task facts (``info``)."""

    train: SetData
    val: SetData
    test: SetData
    info: Dict[str, object] = field(default_factory=dict)

    def with_train_size(self, size: int) -> "Splits":
        """The same splits with only the first ``size`` training sets."""
        if size > len(self.train):
            raise EqsolveError(f"train size {size} exceeds the training pool of {len(self.train)} sets")
        return Splits(self.train.subset(slice(0, size)), self.val, self.test, dict(self.info))


@dataclass(frozen=True)
class Task:
    """One problem for ``eqsolve train`` (see the module docstring for each field)."""

    name: str
    summary: str
    make_data: Callable[..., Splits]
    build_model: Callable[..., object]
    models: Tuple[str, ...]
    loss: Callable
    metric: Callable
    baseline: Callable[[Splits], float]
    presets: Mapping[str, Preset]
    sizes: Tuple[int, ...]
    metric_name: str = "accuracy"
    higher_is_better: bool = True
    write_examples: Optional[Callable[..., List[str]]] = None
    default_model: Optional[str] = None
    max_train_size: Optional[int] = None
    options: Mapping[str, str] = field(default_factory=dict)  # extra make_data options -> their defaults

    def check_model(self, name: str) -> str:
        if name not in self.models:
            raise EqsolveError(f"unknown model {name!r} for task {self.name}; expected one of {', '.join(self.models)}")
        return name

    def check_preset(self, preset: str) -> Preset:
        if preset not in self.presets:
            raise EqsolveError(f"unknown preset {preset!r} for task {self.name}; expected one of {', '.join(self.presets)}")
        return self.presets[preset]


def register(task: Task) -> Task:
    """Make ``task`` available to :func:`get` (and to the runner) under ``task.name``."""
    if not isinstance(task, Task):
        raise EqsolveError(f"register takes a layers.train.tasks.Task, got {type(task).__name__}")
    _REGISTERED[task.name] = task
    return task


def names() -> List[str]:
    """Every task name: the built-in ones, then those registered at run time."""
    return list(dict.fromkeys(list(BUILTIN) + list(_REGISTERED)))


def get(name: str) -> Task:
    """The task called ``name`` (importing its module on first use)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in BUILTIN:
        raise EqsolveError(f"unknown task {name!r}; expected one of {', '.join(names())}")
    path, _, attr = BUILTIN[name].partition(":")  # "module" (defines TASK) or "module:NAME"
    module = importlib.import_module(path)
    task = getattr(module, attr or "TASK", None)
    if not isinstance(task, Task):
        raise EqsolveError(f"task module {path} defines no {attr or 'TASK'}")
    return register(task)


def check_sizes(task: Task, sizes: Sequence[int]) -> List[int]:
    """Training-set sizes: integers >= 1 and at most the task's pool."""
    out = []
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, int) or s < 1:
            raise EqsolveError(f"training-set sizes must be integers >= 1, got {s!r}")
        if task.max_train_size is not None and s > task.max_train_size:
            raise EqsolveError(f"training-set size {s} exceeds the {task.name} pool of {task.max_train_size} sets")
        out.append(int(s))
    return out
