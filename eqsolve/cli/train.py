"""``eqsolve train``: the paper's experiments (and your own tasks) as sweeps with results and plots."""

from __future__ import annotations

import argparse
import os

HELP = ("train and compare models on the paper's experiments ('eqsolve train --list': signals is Figure 4), "
        "on CPU, CUDA or several processes")
EXAMPLES = """\
tasks: {tasks} ('eqsolve train --list' describes each).
Models of signals: dss-sum dss-max dss-aittala dss-sridhar siamese siamese-ds deepsets mlp.

Every run writes to --out: config.json (the exact configuration), results.json and
results.csv (every model x size x seed cell: per-epoch loss and validation metric, best
epoch, test metric), figure.png (test metric against training-set size, mean +- std over
seeds, one line per model) and checkpoints/ (resumable state while a cell trains, its best
weights once done), and prints a final table. Protocol: Adam; the epoch of best validation
metric is scored on the test set. Progress bars appear only when stderr is a terminal.

On a CPU, --sweep trains its independent cells in parallel worker processes, one per thread
of --threads (default: torch's, the number of cores; at most 8 workers), the threads shared
among them; --workers N sets the number (1: one cell at a time in this process). A cell
computes the same numbers in a worker as in one process with the same number of threads.

examples:
  eqsolve train signals --model dss-sum --train-size 1000 --seeds 5             # one cell, 5 seeds
  eqsolve train signals --sweep --out results/signals/                           # Figure 4 (small preset)
  eqsolve train signals --sweep --workers 2 --out results/signals/               # 2 worker processes
  eqsolve train signals --sweep --preset paper --device cuda --amp --out runs/paper
  torchrun --nproc-per-node 2 -m eqsolve train signals --out runs/ddp             # DDP (gloo on CPU)
  eqsolve train signals --resume results/signals/                                # after an interruption
"""


def register(sub) -> None:
    parser = sub.add_parser("train", help=HELP, description=HELP, epilog=EXAMPLES, formatter_class=_TasksFormatter)
    parser.add_argument("task", nargs="?", help="task name: {tasks}")
    parser.add_argument("--list", action="store_true", help="list the tasks, their models and presets, and exit")
    parser.add_argument("--model", nargs="+", metavar="NAME", help="model(s) to train (default: the task's DSS model)")
    parser.add_argument("--train-size", nargs="+", type=int, metavar="N",
                        help="training-set size(s) (default: the largest of the task)")
    parser.add_argument("--sweep", action="store_true",
                        help="every model at every size of the task (Figure 4); --model / --train-size narrow it")
    parser.add_argument("--seeds", type=int, default=None, metavar="K",
                        help="seeds 0..K-1 per cell (default 1; 5 with --sweep; at most 100)")
    parser.add_argument("--preset", default="small", metavar="NAME", help="small (CPU-sized, default), paper (the paper's widths), or another preset of the task (see --list)")
    parser.add_argument("--epochs", type=int, metavar="N", help="override the preset's number of epochs")
    parser.add_argument("--batch-size", type=int, metavar="N", help="override the preset's global batch size")
    parser.add_argument("--lr", type=float, metavar="RATE", help="override the preset's learning rate")
    parser.add_argument("--val-size", type=int, metavar="N", help="use only the first N validation sets")
    parser.add_argument("--test-size", type=int, metavar="N",
                        help="test sets (signals: 300 as in the paper; e.g. 3000 for tighter error bars)")
    parser.add_argument("--data-seed", type=int, default=0, metavar="SEED", help="seed of the data generator (default 0)")
    parser.add_argument("--noise", metavar="SPEC",
                        help="quality: the degradation, gaussian:SIGMA (on 0-255), occlusion:PERCENT (a "
                             "square of a random colour) or blackout:PERCENT (the same square, black) "
                             "(default gaussian:30)")
    parser.add_argument("--start", choices=("median", "mean"),
                        help="deblur: where the U-net starts, the burst median (default, the trivial predictor) "
                             "or the burst mean")
    parser.add_argument("--out", metavar="DIR", help="results folder (default results/TASK)")
    parser.add_argument("--resume", metavar="DIR",
                        help="continue the run stored in DIR with its configuration (finished cells are kept)")
    parser.add_argument("--device", default="cpu", metavar="DEVICE", help="cpu (default), cuda or cuda:N")
    parser.add_argument("--amp", action="store_true", help="mixed precision: the forward pass in bfloat16 (autocast)")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the model; checked first on a tiny function: where torch.compile "
                             "is missing or fails (e.g. no C compiler for inductor) a warning says why and "
                             "the run trains uncompiled (config.json records compile: false)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch intra-op threads (default: torch's choice); with workers, shared among them")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="train independent cells in N processes (CPU; default with --sweep: one per thread, "
                             "at most 8; otherwise 1)")
    parser.add_argument("--quiet", action="store_true", help="print only the final table")
    parser.set_defaults(handler=run)


def _task_names() -> str:
    from eqsolve.layers.train import tasks  # only when help is printed: the registry imports torch

    return ", ".join(tasks.names())


class _TasksFormatter(argparse.RawDescriptionHelpFormatter):
    """Fills ``{tasks}`` in the help with the task registry's names when help is shown."""

    def _format_text(self, text):
        return super()._format_text(text.replace("{tasks}", _task_names()) if "{tasks}" in text else text)

    def _expand_help(self, action):
        text = super()._expand_help(action)
        return text.replace("{tasks}", _task_names()) if "{tasks}" in text else text


def run(args) -> int:
    from .._errors import EqsolveError

    if args.threads is not None and args.threads < 1:
        raise EqsolveError(f"--threads must be >= 1, got {args.threads}")
    if args.workers is not None and args.workers < 1:
        raise EqsolveError(f"--workers must be >= 1, got {args.workers}")
    if args.workers is not None and args.workers > 1 and args.device != "cpu":
        raise EqsolveError(f"--workers {args.workers} trains cells in parallel CPU processes; with --device "
                           f"{args.device} drop --workers (one cell at a time shares the GPU)")
    if args.workers is not None and args.workers > 1 and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise EqsolveError("--workers cannot be combined with torchrun (its processes already share each cell)")
    if args.list:
        from eqsolve.layers.train import tasks

        for name in tasks.names():
            task = tasks.get(name)
            print(f"{name}: {task.summary}")
            print(f"  models: {' '.join(task.models)}")
            print(f"  presets: {', '.join(task.presets)}; sweep sizes: {' '.join(map(str, task.sizes))}")
        return 0
    if not args.task:
        raise EqsolveError("name a task (e.g. 'eqsolve train signals'); 'eqsolve train --list' lists them")
    for flag in ("epochs", "batch_size", "val_size", "test_size"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise EqsolveError(f"--{flag.replace('_', '-')} must be >= 1, got {value}")
    for size in args.train_size or []:
        if size < 1:
            raise EqsolveError(f"--train-size must be >= 1, got {size}")
    if args.seeds is not None and not 1 <= args.seeds <= 100:
        raise EqsolveError(f"--seeds must be 1 to 100, got {args.seeds}")
    if args.out is not None and args.resume is not None and os.path.abspath(args.out) != os.path.abspath(args.resume):
        raise EqsolveError("--resume DIR continues DIR: do not pass a different --out")
    if args.resume is not None:
        given = [f"--{k.replace('_', '-')}" for k in ("model", "train_size", "sweep", "seeds", "epochs", "batch_size",
                                                       "lr", "val_size", "test_size", "amp", "compile", "noise",
                                                       "start")
                 if getattr(args, k) not in (None, False)]
        if given or args.preset != "small" or args.data_seed != 0:
            raise EqsolveError(f"--resume DIR continues the run with the options in DIR/config.json; drop "
                               f"{', '.join(given) or '--preset / --data-seed'}")

    import torch

    from eqsolve.layers.train import runner, tasks

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    task = tasks.get(args.task)
    if args.compile and args.resume is None:
        reason = compile_problem(args.device)
        if reason is not None:
            import sys

            print(f"eqsolve train: warning: --compile ignored, torch.compile does not work here ({reason}); "
                  "training without it", file=sys.stderr)
            args.compile = False
    rank, size = _init_distributed(args.device)
    try:
        if args.resume is not None:
            config = runner.load_config(args.resume)
            if config.get("task") != task.name:
                raise EqsolveError(f"{args.resume} holds a run of task {config.get('task')!r}, not {task.name!r}")
            kwargs = {k: config[k] for k in ("models", "sizes", "seeds", "preset", "epochs", "batch_size", "lr",
                                              "val_size", "test_size", "data_seed", "amp", "compile")}
            kwargs["options"] = config.get("options") or None
            out = args.resume
            resume = True
        else:
            models = args.model or (list(task.models) if args.sweep else None)
            sizes = args.train_size or (list(task.check_preset(args.preset).sizes or task.sizes) if args.sweep else None)
            seeds = args.seeds if args.seeds is not None else (5 if args.sweep else 1)
            kwargs = dict(models=models, sizes=sizes, seeds=seeds, preset=args.preset, epochs=args.epochs,
                          batch_size=args.batch_size, lr=args.lr, val_size=args.val_size, test_size=args.test_size,
                          data_seed=args.data_seed, amp=args.amp, compile=args.compile,
                          options={k: v for k, v in (("noise", args.noise), ("start", args.start)) if v is not None}
                          or None)
            out = args.out or os.path.join("results", task.name)
            resume = False
        workers = args.workers
        if workers is None:  # a CPU sweep: one single-threaded worker per thread (at most 8)
            sweep = args.sweep or (resume and len(kwargs["models"]) * len(kwargs["sizes"]) * len(kwargs["seeds"]) > 1)
            workers = min(torch.get_num_threads(), 8) if sweep and args.device == "cpu" and size == 1 else 1
        result = runner.run(task, out=out, device=_local_device(args.device, rank), resume=resume,
                            quiet=args.quiet or rank != 0, workers=workers,
                            worker_threads=None if workers == 1 else max(1, torch.get_num_threads() // workers),
                            **kwargs)
        if args.quiet and rank == 0:  # --quiet keeps the final table only
            config = result["config"]
            print(runner.table(result["summary"], config["models"], config["sizes"], task.metric_name))
    finally:
        if size > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    return 0


def compile_problem(device: str = "cpu") -> "str | None":
    """Why ``torch.compile`` (inductor) fails on ``device``, or None when a tiny function compiles and runs.

    torch.compile is lazy: without this check a missing compiler surfaces only at the first
    training step, deep inside torch (or a backend error is swallowed into a slow fallback).
    """
    import torch

    if not hasattr(torch, "compile"):
        return f"torch {torch.__version__} has no torch.compile"
    try:
        probe = torch.compile(lambda x: x * 2 + 1, backend="inductor")
        probe(torch.ones(4, device=device))
    except Exception as err:  # any backend failure: report it, train without compiling
        first = (str(err).strip().splitlines() or [""])[0][:200]
        return f"{type(err).__name__}: {first}"
    return None


def _local_device(device: str, rank: int) -> str:
    """Under torchrun each process takes its own GPU (LOCAL_RANK) for ``--device cuda``."""
    if device == "cuda" and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return device


def _init_distributed(device: str):
    """Join the process group torchrun describes (WORLD_SIZE > 1): NCCL on CUDA, gloo on CPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return 0, 1
    import torch
    import torch.distributed as dist

    from .._errors import EqsolveError

    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise EqsolveError(f"--device {device} requested but CUDA is not available; use --device cpu "
                           "(gloo) or a CUDA build of torch on a machine with GPUs")
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return dist.get_rank(), dist.get_world_size()
