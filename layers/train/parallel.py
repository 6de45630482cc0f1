"""Worker processes of a sweep: independent cells ``(model, train_size, seed)`` side by side.

:func:`run_cells` starts ``workers`` processes (see :func:`_context`: forked from a server
process that only imported torch and eqsolve, or spawned), hands each the sweep's data once
and then one cell at a time, and reports back to the sweep's process, which alone writes
the results files:

* ``("epoch", cell, epoch, history)`` after every epoch (for ``callback``),
* ``("done", key, record, best_state_bytes)`` when a cell is finished,
* ``("error", key, exception, traceback)`` when it failed.

A worker runs :func:`layers.train.runner.train_cell`, the function the one-process sweep
runs, with ``torch.set_num_threads(threads)``: a cell gives the same numbers as in one
process at the same thread count. Each worker writes only the resumable checkpoint of the
cell it trains (atomically, every epoch), so an interrupted parallel sweep resumes like a
serial one. On any error or interruption the workers are terminated; if the sweep's process
is killed outright, each worker stops after its current epoch.

Used by ``runner.run(..., workers=N)`` and ``eqsolve train ... --workers N``:

>>> import tempfile; from eqsolve.layers.train import runner
>>> with tempfile.TemporaryDirectory() as out:  # doctest: +SKIP
...     r = runner.run("signals", models=["dss-sum", "mlp"], sizes=[30], out=out, epochs=1, workers=2)
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from typing import Callable, List, Optional, Sequence, Tuple

import torch

from eqsolve import EqsolveError

__all__ = ["run_cells", "default_threads"]


def default_threads(workers: int) -> int:
    """Torch threads per worker: this process's share, ``max(1, torch.get_num_threads() // workers)``."""
    return max(1, torch.get_num_threads() // workers)


def run_cells(task, splits, spec, todo: Sequence[Tuple[str, int, int]], workers: int, threads: Optional[int],
              finished: Callable, callback: Optional[Callable] = None, progress: Optional[bool] = None) -> None:
    """Train the cells ``todo`` in ``workers`` processes; ``finished(key, record, best_state)``
    is called here, in the order the cells finish."""
    import sys

    threads = default_threads(workers) if threads is None else threads
    ctx = _context()
    tasks, reports = ctx.Queue(), ctx.Queue()
    for key in todo:
        tasks.put(key)
    count = min(workers, len(todo))
    for _ in range(count):
        tasks.put(None)
    procs = [ctx.Process(target=_worker_main, args=(spec, splits, threads, tasks, reports, callback is not None,
                                                    os.getpid()),
                         daemon=True, name=f"eqsolve-train-worker-{i}") for i in range(count)]
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"{task.name} cells ({count} workers)", unit="cell", file=sys.stderr)
    left = set(todo)
    try:
        for p in procs:
            p.start()
        while left:
            try:
                message = reports.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in procs if not p.is_alive() and p.exitcode != 0]
                if not dead:
                    continue
                try:  # a worker that failed reported why before it exited
                    message = reports.get(timeout=2.0)
                except queue.Empty:
                    raise EqsolveError(
                        f"a worker process died (exit code {dead[0].exitcode}) with cells unfinished: "
                        f"{', '.join(map(str, sorted(left)))}; its error, if any, is printed above (a script that "
                        "calls runner.run(..., workers=N) needs the 'if __name__ == \"__main__\":' guard); "
                        "resume the run to continue") from None
            kind = message[0]
            if kind == "epoch":
                _, cell, epoch, history = message
                if callback is not None:
                    callback(cell, epoch, history)
            elif kind == "done":
                _, key, record, best_state = message
                left.discard(key)
                finished(key, record, best_state)
                if bar is not None:
                    bar.update(1)
            else:
                _, key, error, trace = message
                if isinstance(error, (EqsolveError, KeyboardInterrupt)):
                    raise error
                raise RuntimeError(f"training cell {key} failed in a worker process:\n{trace}")
    finally:
        if bar is not None:
            bar.close()
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            if p.pid is not None:
                p.join(timeout=10)
        for q in (tasks, reports):
            q.cancel_join_thread()
            q.close()


def _context():
    """``forkserver`` where there is one (POSIX): a server process imports torch, eqsolve and
    torch's optimiser machinery once, and every worker of this process's sweeps is forked from
    it, ready (about 5 s less per worker). It never computes, so no thread pool is forked.
    Elsewhere ``spawn`` (a fresh interpreter per worker)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["torch", "torch._dynamo", "eqsolve.layers.train.runner"])
    return ctx


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_main(spec, splits, threads: int, tasks, reports, epochs_wanted: bool, sweep_pid: int) -> None:
    torch.set_num_threads(threads)
    from . import tasks as _tasks
    from .loop import History
    from .runner import train_cell

    task = _tasks.get(spec.task)

    def epoch_report(cell: str, epoch: int, history: History) -> None:
        if not _alive(sweep_pid):  # the sweep was killed: stop at this epoch's checkpoint
            os._exit(1)
        if not epochs_wanted:
            return
        public = History(list(history.losses), list(history.val), list(history.seconds), history.best_epoch,
                         history.best_val, None)
        reports.put(("epoch", cell, epoch, public))

    while True:
        key = tasks.get()
        if key is None:
            return
        try:
            record, best_state = train_cell(task, splits, spec, key, device="cpu", progress=False,
                                            callback=epoch_report)
        except BaseException as err:  # reported, then this worker stops
            trace = traceback.format_exc()
            try:
                reports.put(("error", key, err, trace))
            except Exception:  # an exception that does not pickle
                reports.put(("error", key, RuntimeError(repr(err)), trace))
            reports.close()
            reports.join_thread()
            os._exit(1)
        reports.put(("done", key, record, best_state))
