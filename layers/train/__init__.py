"""Training: the loop, the task registry and the sweeps behind ``eqsolve train``.

The Python API is the same loop the CLI uses, on your own data:

>>> import torch, eqsolve; from eqsolve import layers
>>> data = layers.train.synthetic_signal_sets(128, n=8, d=16, rng=0)
>>> net = layers.models.invariant(eqsolve.solve(eqsolve.groups.cyclic(16)), [1, 8, 8], n_classes=3)
>>> losses = layers.train.fit(net, data, epochs=4, lr=1e-2, seed=0)
>>> losses[-1] < losses[0]
True

Modules
-------
:mod:`~layers.train.data`
    :class:`SetData` (sets ``x`` ``(N, n, c, d)``, targets ``y``, optional ``mask``) and a toy
    generator (:func:`synthetic_signal_sets`).
:mod:`~layers.train.loop`
    :func:`train_model` (Adam, best-validation epoch, checkpoints and resume, CUDA, bfloat16
    autocast, ``torch.compile``, DDP under ``torchrun``), :func:`fit` (the plain loop),
    :func:`evaluate`.
:mod:`~layers.train.tasks`
    The task registry: a :class:`~layers.train.tasks.Task` names its data generator, model
    builder per model name and preset, loss, metric, trivial predictor and (optionally) an
    example-picture writer. ``eqsolve train TASK`` dispatches through it.
:mod:`~layers.train.runner`
    :func:`~layers.train.runner.run`: sweeps of models x training-set sizes x seeds with
    ``config.json``, ``results.json`` / ``.csv``, ``figure.png``, checkpoints and resume.
:mod:`~layers.train.signals`
    The paper's signal-classification experiment (section 6.1, Figure 4).

To add a task: write a module defining ``TASK = Task(...)`` and list it in
``layers.train.tasks.BUILTIN`` (or call ``tasks.register(TASK)`` at run time).
"""

from . import tasks
from .data import SIGNALS, SetData, synthetic_signal_sets
from .loop import History, accuracy, default_loss, evaluate, evaluate_metric, fit, train_model
from .tasks import Preset, Splits, Task

__all__ = ["SIGNALS", "SetData", "synthetic_signal_sets", "fit", "evaluate", "evaluate_metric", "default_loss",
           "accuracy", "train_model", "History", "Task", "Preset", "Splits", "tasks", "run"]


def run(task, **kwargs):
    """Shorthand for :func:`layers.train.runner.run` (a sweep; see there)."""
    from .runner import run as _run

    return _run(task, **kwargs)
