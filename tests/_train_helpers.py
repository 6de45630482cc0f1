"""Helpers of the training tests (child processes of tests/test_train.py import them) and the
examples' tests: the one-thread fixture, a tiny problem, the DDP worker."""

import json

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Run each training test with one torch thread (results and speed do not depend on the machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_problem():
    """A small invariant DSS model without batch statistics and 64 toy sets (deterministic)."""
    import eqsolve
    from eqsolve import layers

    data = layers.train.synthetic_signal_sets(64, n=4, d=12, rng=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = layers.models.invariant(eqsolve.solve(eqsolve.groups.cyclic(12)), [1, 6, 6], n_classes=3)
    return net, data


def ddp_worker(rank: int, world_size: int, store: str, out: str) -> None:
    import torch.distributed as dist

    from eqsolve import layers

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world_size)
    try:
        net, data = tiny_problem()
        history = layers.train.train_model(net, data, epochs=3, batch_size=16, lr=1e-2, seed=0, progress=False)
        if rank == 0:
            with open(out, "w") as f:
                json.dump({"losses": history.losses,
                           "weights": [p.detach().double().sum().item() for p in net.parameters()]}, f)
    finally:
        dist.destroy_process_group()
