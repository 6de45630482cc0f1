"""Equality patterns x translations (S_m x C_d, S_m x grid) against ``generic``, float64."""

import itertools

import numpy as np
import pytest
import torch

import eqsolve
from eqsolve import groups, layers
from eqsolve.layers import _pattern_grids
from eqsolve.layers.testing import assert_equivariant


def _setup(m, T):
    S = groups.symmetric(m)
    G = groups.product_action(S, T)
    rho = S.action()
    sides = {"t0": rho.tensor(0), "t1": rho, "t2": rho.tensor(2), "s2": rho.subsets(2), "t1+t2": rho + rho.tensor(2)}
    return G, {name: groups.product_of_actions(G, a, T.action()) for name, a in sides.items()}


def _compare(B, rng, path="patterns", support=None, bias=True):
    ref = layers.EquivariantLinear(B, 2, 3, path="generic", support=support, bias=bias).double()
    with torch.no_grad():
        ref.weight.normal_()
        if bias:
            ref.bias.normal_()
    fast = layers.EquivariantLinear(B, 2, 3, path=path, support=support, bias=bias).double()
    fast.load_state_dict(ref.state_dict())
    x = torch.from_numpy(rng.standard_normal((3, 2, B.shape[1])))
    with torch.no_grad():
        want = ref(x)
        err = (fast(x) - want).abs().max().item() / max(1.0, want.abs().max().item())
    # gradients too
    for lin in (ref, fast):
        lin.zero_grad()
        (lin(x) ** 2).sum().backward()
    gerr = (fast.weight.grad - ref.weight.grad).abs().max().item() / max(1.0, ref.weight.grad.abs().max().item())
    return max(err, gerr), fast


@pytest.mark.parametrize("m,T", [(4, "cyclic(3)"), (3, "grid(2x2)")])
def test_every_pattern_pair_equals_generic(m, T, rng):
    H = groups.cyclic(3) if T == "cyclic(3)" else groups.grid_translations((2, 2))
    G, acts = _setup(m, H)
    checked = 0
    for (a, out), (b, inp) in itertools.product(acts.items(), repeat=2):
        B = eqsolve.solve(out=out, inp=inp)
        if _pattern_grids.recognise(out, inp) is None:
            assert {a, b} <= {"t0", "t1"}  # points only: the translation path's territory
            continue
        err, fast = _compare(B, rng)
        assert err < 1e-12, (a, b, err)
        assert fast.path.startswith("patterns[") and "grid(" in fast.path, fast.path
        checked += 1
        if a == b == "t1+t2":  # masks: in the basis, and in the layer
            for _ in range(2):
                keep = rng.random(B.dim) < 0.5
                mask = keep[B.orbit_index]
                err, _ = _compare(eqsolve.solve(out=out, inp=inp, support=mask), rng)
                assert err < 1e-12
                err, _ = _compare(B, rng, support=mask, bias=False)
                assert err < 1e-12
    assert checked == len(acts) ** 2 - 4


def test_auto_equivariance_and_dss(rng):
    m, d = 5, 6
    S, C = groups.symmetric(m), groups.cyclic(d)
    G = groups.product_action(S, C)
    rho = groups.product_of_actions(G, S.action().tensor(2), C.action())
    B = eqsolve.solve(out=rho, inp=rho)
    assert B.dim == 15 * d
    lin = layers.EquivariantLinear(B, 2, 3).double()
    assert lin.path == "patterns[t2<-t2] x grid(6)"
    assert assert_equivariant(lin, B, trials=3, rng=rng).error < 1e-10
    dss = layers.DSSLinear(B, 2, 3).double()
    assert dss.path.startswith("patterns")
    ref = layers.DSSLinear(B, 2, 3, path="generic").double()
    ref.load_state_dict(dss.state_dict())
    x = torch.from_numpy(rng.standard_normal((2, 4, 2, B.shape[1])))
    with torch.no_grad():
        assert (dss(x) - ref(x)).abs().max().item() < 1e-12 * max(1.0, ref(x).abs().max().item())


def test_not_recognised():
    S, C = groups.symmetric(4), groups.cyclic(5)
    A = groups.alternating(4)
    for H in (groups.product_action(A, C), groups.product_action(S, groups.dihedral(5)),
              groups.direct_product(S, C)):
        assert _pattern_grids.factor(H) is None, H
    G = groups.product_action(S, C)
    assert _pattern_grids.factor(G)[:2] == (4, 5)
    with pytest.raises(eqsolve.EqsolveError, match="product_action"):
        groups.product_of_actions(G, C.action(), S.action())
