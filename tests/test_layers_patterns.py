"""The equality-pattern executor (S_m on tensors, subsets and their sums) against ``generic``."""

import math

import numpy as np
import pytest
import torch

import eqsolve
from eqsolve import groups, layers
from eqsolve.layers import _fastpaths, _patterns
from eqsolve.layers.testing import assert_equivariant

from _layer_zoo import symmetric_actions as _actions


def _compare(B, rng, c_in=2, c_out=3, support=None, bias=True):
    """Max relative difference between the patterns path and generic, float64, random weights."""
    generic = layers.EquivariantLinear(B, c_in, c_out, path="generic", support=support, bias=bias).double()
    fast = layers.EquivariantLinear(B, c_in, c_out, path="patterns", support=support, bias=bias).double()
    with torch.no_grad():
        generic.weight.normal_()
        if bias:
            generic.bias.normal_()
    fast.load_state_dict(generic.state_dict())
    x = torch.from_numpy(rng.standard_normal((3, c_in, B.shape[1])))
    with torch.no_grad():
        ref, got = generic(x), fast(x)
    return (got - ref).abs().max().item() / max(1.0, ref.abs().max().item()), fast


@pytest.mark.parametrize("m", [1, 2, 3, 6])
def test_every_pattern_equals_generic(m, rng):
    """All pairs of tensor(k) / subsets(k), k <= 3; m = 6 realises every pattern of 3 -> 3."""
    _, acts = _actions(m)
    checked = 0
    for out_name, out in acts.items():
        for in_name, inp in acts.items():
            if all(a.degree == 1 or name == "t1" for name, a in ((out_name, out), (in_name, inp))):
                # one point or the natural action on both sides: deepsets / const territory
                assert _patterns.recognise(out, inp) is None
                continue
            B = eqsolve.solve(out=out, inp=inp)
            err, fast = _compare(B, rng)
            assert err < 1e-12, (out_name, in_name, err)
            assert fast.path.startswith("patterns["), fast.path
            checked += 1
    assert checked >= (0 if m == 1 else 10)


def test_bell_numbers_and_moebius():
    assert [len(_patterns.partitions(n)) for n in range(7)] == [1, 1, 2, 5, 15, 52, 203]
    inv = _patterns.moebius(4)
    parts = np.array(_patterns.partitions(4))
    # mu(finest, coarsest) of the partition lattice on 4 points is (-1)^3 3! = -6
    finest = int(np.flatnonzero((parts == [0, 1, 2, 3]).all(1))[0])
    coarsest = int(np.flatnonzero((parts == [0, 0, 0, 0]).all(1))[0])
    assert inv[coarsest, finest] == -6 and inv[finest, coarsest] == 0


def test_direct_sums_masks_and_orders(rng):
    m = 5
    rho, acts = _actions(m)
    node_adj = rho + rho.tensor(2)
    cases = {
        "nodes+adj <- nodes+adj": (node_adj, node_adj),
        "nodes <- adj": (rho, rho.tensor(2)),
        "adj <- nodes": (rho.tensor(2), rho),
        "graph-level <- nodes+adj": (rho.tensor(0), node_adj),
        "edges <- nodes+adj": (rho.subsets(2), node_adj),
        "t0+t1+t2 <- s2+t3": (rho.tensor(0) + rho + rho.tensor(2), rho.subsets(2) + rho.tensor(3)),
    }
    for name, (out, inp) in cases.items():
        B = eqsolve.solve(out=out, inp=inp)
        err, fast = _compare(B, rng)
        assert err < 1e-12, (name, err)
    # masks: keep a random union of orbits, in the basis and in the layer
    B = eqsolve.solve(out=node_adj, inp=node_adj)
    for trial in range(3):
        keep = rng.random(B.dim) < 0.5
        mask = keep[B.orbit_index]
        Bm = eqsolve.solve(out=node_adj, inp=node_adj, support=mask)
        err, fast = _compare(Bm, rng)
        assert err < 1e-12
        err, fast = _compare(B, rng, support=mask, bias=False)
        assert err < 1e-12 and fast.path.startswith("patterns")


def test_auto_picks_patterns_and_reads_few_rows():
    m = 12
    rho = groups.symmetric(m).action()
    B = eqsolve.solve(out=rho.tensor(2), inp=rho.tensor(2))
    assert layers.EquivariantLinear(B, 4, 4).path == "patterns[t2<-t2]"
    found = _patterns.recognise(B.out, B.inp)
    read = []

    def rows(idx):
        read.extend(np.asarray(idx).tolist())
        return B.rows(idx)

    executor = _patterns.build(*found, rows, B.dim, *B.shape)
    assert executor is not None and len(read) <= 5  # one row per output pattern of a 2-tensor


def test_recognition_rejects_other_groups_and_actions():
    A = groups.alternating(5)
    a = A.action()
    assert _patterns.recognise(a.tensor(2), a.tensor(2)) is None  # right images, wrong group
    C = groups.cyclic(5)
    assert _patterns.recognise(C.action().tensor(2), C.action().tensor(2)) is None
    S = groups.symmetric(5)
    s = S.action()
    assert _patterns.recognise(s, s) is None  # deepsets already does S_m on points
    assert _patterns.recognise(s.tensor(2) * s, s) is not None  # tensor(3) built another way...
    # ...but a relabelled tensor square is not recognised (point order matters)
    perm = np.random.default_rng(0).permutation(25)
    inv = np.argsort(perm)
    shuffled = eqsolve.Action(S, perm[s.tensor(2).images[:, inv]])
    assert _patterns.recognise(shuffled, s.tensor(2)) is None
    assert _patterns.recognise(s.tensor(2), s.tensor(2)) is not None


def test_subset_rank_matches_itertools():
    from itertools import combinations

    for m, k in ((6, 2), (7, 3), (4, 3)):
        subsets = np.array(list(combinations(range(m), k)))
        assert _patterns.subset_rank(subsets, m).tolist() == list(range(math.comb(m, k)))


def test_inside_blocks_and_gradients(rng):
    """Patterns executors as the inner executors of ``blocks`` (one per piece pair), and the
    gradients of the patterns path equal those of generic."""
    m = 4
    rho = groups.symmetric(m).action()
    act = rho.tensor(2) + rho.subsets(2)
    B = eqsolve.solve(out=act, inp=act)
    table = np.asarray(B.orbit_index)
    found = _patterns.recognise(B.out, B.inp)
    _, out_pieces, in_pieces = found
    blocks = []
    for po in out_pieces:
        for pi in in_pieces:
            sub = table[po.offset:po.offset + po.size, pi.offset:pi.offset + pi.size]
            local_o = _patterns.Piece(po.kind, po.k, 0, po.size)
            local_i = _patterns.Piece(pi.kind, pi.k, 0, pi.size)
            inner = _patterns.build(m, [local_o], [local_i], lambda idx, s=sub: s[idx], B.dim, po.size, pi.size,
                                    complete=False)
            assert inner is not None
            blocks.append(_fastpaths.Block(np.arange(po.offset, po.offset + po.size),
                                           np.arange(pi.offset, pi.offset + pi.size), inner))
    executor = _fastpaths.Blocks(blocks, act.degree, "patterns per piece")
    generic = layers.EquivariantLinear(B, 2, 3, path="generic").double()
    theta_pad = torch.nn.functional.pad(generic.weight.detach(), (0, 1))
    x = torch.from_numpy(rng.standard_normal((3, 2, act.degree)))
    with torch.no_grad():
        assert torch.allclose(executor(theta_pad, x, None), generic(x) - generic.dense_bias(), atol=1e-12, rtol=0)
    # gradients
    fast = layers.EquivariantLinear(B, 2, 3, path="patterns").double()
    fast.load_state_dict(generic.state_dict())
    for lin in (generic, fast):
        xg = x.clone().requires_grad_(True)
        (lin(xg) ** 2).sum().backward()
        lin.xgrad = xg.grad
    assert torch.allclose(fast.weight.grad, generic.weight.grad, atol=1e-10, rtol=1e-12)
    assert torch.allclose(fast.xgrad, generic.xgrad, atol=1e-10, rtol=1e-12)


def test_equivariance_and_dss_composition(rng):
    m = 7
    rho = groups.symmetric(m).action()
    act = rho + rho.tensor(2)
    B = eqsolve.solve(out=act, inp=act)
    lin = layers.EquivariantLinear(B, 2, 3).double()
    assert lin.path.startswith("patterns")
    assert assert_equivariant(lin, B, trials=3, rng=rng).error < 1e-10
    # sets of graphs: DSS over the graph basis runs its inner layers on the patterns path
    for aggregation in ("sum", "max", "aittala", "sridhar"):
        dss = layers.DSSLinear(B, 2, 4, aggregation=aggregation).double()
        assert dss.path.startswith("patterns")
        ref = layers.DSSLinear(B, 2, 4, aggregation=aggregation, path="generic").double()
        ref.load_state_dict(dss.state_dict())
        x = torch.from_numpy(rng.standard_normal((2, 5, 2, act.degree)))
        with torch.no_grad():
            assert (dss(x) - ref(x)).abs().max().item() < 1e-12 * max(1.0, ref(x).abs().max().item())
        assert assert_equivariant(dss, B, trials=2, rng=rng, set_size=5).error < 1e-10


def _graph_layer(m=6):
    rho = groups.symmetric(m).action()
    B = eqsolve.solve(out=rho.tensor(2), inp=rho.tensor(2))
    return B, layers.EquivariantLinear(B, 3, 3), torch.randn(4, 3, m * m)


def test_float32():
    B, lin, x = _graph_layer()
    ref = layers.EquivariantLinear(B, 3, 3, path="generic")
    ref.load_state_dict(lin.state_dict())
    with torch.no_grad():
        assert torch.allclose(lin(x), ref(x), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_export(tmp_path):
    B, lin, x = _graph_layer()
    layers.export(lin, x, tmp_path / "graph.pt2")
    program = layers.load_exported(tmp_path / "graph.pt2")
    with torch.no_grad():
        assert torch.allclose(program(x), lin(x), atol=1e-6)
