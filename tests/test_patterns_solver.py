"""The solver's equality-pattern method (S_m on tensors / subsets) against the general solver,
the m = 128 graph layer without an m^4 table, and the translation prefilter of the planner."""

import itertools
import tracemalloc

import numpy as np
import pytest
import torch

import eqsolve
from eqsolve import groups, layers
from eqsolve._solve import solve_compact
from eqsolve.layers import _fastpaths

from _layer_zoo import symmetric_actions


def _actions(m):
    rho, acts = symmetric_actions(m)
    acts["t1+t2"] = rho + rho.tensor(2)
    acts["t0+s2"] = rho.tensor(0) + (rho.subsets(2) if m >= 2 else rho)
    return acts


@pytest.mark.parametrize("m", range(1, 8))
def test_patterns_basis_equals_general_solver(m):
    """Identical Basis (dim, orbit labels, every row) for every pair of actions, k <= 3."""
    acts = _actions(m)
    checked = 0
    for (a, out), (b, inp) in itertools.product(acts.items(), repeat=2):
        if out.degree * inp.degree > 150_000:
            continue  # t3 x t3 at m = 7 (117,649 entries) is the largest pair kept
        fast = solve_compact(out, inp, method="patterns")
        ref = solve_compact(out, inp, method="table")
        assert fast.dim == ref.dim, (m, a, b)
        assert np.array_equal(fast.bias_index, ref.bias_index)
        assert np.array_equal(fast.in_orbit_index, ref.in_orbit_index)
        every = np.arange(out.degree)
        assert np.array_equal(fast.rows(every), ref.rows(every)), (m, a, b)
        checked += 1
    assert checked >= len(acts) ** 2 - 1


def test_auto_uses_patterns_only_for_the_symmetric_group():
    rho = groups.symmetric(6).action()
    B = eqsolve.solve(out=rho.tensor(2), inp=rho.tensor(2), cache=False)
    assert B.dim == 15 and B.is_compact
    # the same images under a smaller group (alternating on 2-tensors): not patterns, and right
    A = groups.alternating(6).action()
    for out, inp in ((A.tensor(2), A.tensor(2)), (A.subsets(2), A.tensor(2))):
        assert eqsolve._patterns.recognise(out, inp) is None
        assert solve_compact(out, inp) == solve_compact(out, inp, method="table")
    with pytest.raises(eqsolve.EqsolveError, match="patterns"):
        solve_compact(A.tensor(2), A.tensor(2), method="patterns")


def test_graph_layer_at_m128_has_no_m4_table(monkeypatch):
    """S_128 on adjacency matrices (16,384 points; the dense table has 2^28 entries = 1 GiB):
    solved and built under a 256 MiB budget, with every allocation far below m^4."""
    m = 128
    monkeypatch.setenv("EQSOLVE_MAX_MEMORY", str(256 << 20))
    rho = groups.symmetric(m).action()
    act = rho + rho.tensor(2)
    tracemalloc.start()
    try:
        B = eqsolve.solve(out=act, inp=act, cache=False)
        lin = layers.EquivariantLinear(B, 2, 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert B.is_compact and B.dim == 27 and B.nbytes < m ** 3 * 4
    assert peak < m ** 4 // 16, peak  # numpy's allocations while solving and planning
    assert lin.path == "patterns[t1+t2<-t1+t2]"
    assert not any(isinstance(mod, layers._executors.Generic) for mod in lin.modules())
    # equivariance under a random vertex permutation, on the 16,512 points
    rng = np.random.default_rng(0)
    g = rng.permutation(m)
    perm = act.image_of(g)
    x = torch.randn(2, 2, act.degree, dtype=torch.float64)
    lin = lin.double()
    moved = torch.empty_like(x)
    moved[..., perm] = x
    with torch.no_grad():
        y, y_moved = lin(x), lin(moved)
    expect = torch.empty_like(y)
    expect[..., perm] = y
    assert (y_moved - expect).abs().max().item() < 1e-9 * max(1.0, y.abs().max().item())


def _plan_zoo():
    G = groups.grid_translations((4, 6))
    C = groups.cyclic(12)
    S = groups.symmetric(5)
    P = groups.product_action(groups.symmetric(3), groups.cyclic(4))
    rho = S.action()
    graph = groups.automorphisms(__import__("networkx").cycle_graph(8))
    return {
        "grid": eqsolve.solve(G),
        "cyclic": eqsolve.solve(C),
        "strided": eqsolve.solve(out=groups.cyclic(6).action(), inp=groups.finer_grid(groups.cyclic(6), 2)),
        "transposed": eqsolve.solve(out=groups.finer_grid(groups.cyclic(6), 2), inp=groups.cyclic(6).action()),
        "sets": eqsolve.solve(P),
        "symmetric": eqsolve.solve(S),
        "adjacency": eqsolve.solve(out=rho.tensor(2), inp=rho.tensor(2)),
        "nodes+adjacency": eqsolve.solve(out=rho + rho.tensor(2), inp=rho + rho.tensor(2)),
        "graph": eqsolve.solve(graph),
        "graph pairs": eqsolve.solve(out=graph.action().tensor(2), inp=graph.action()),
        "dihedral": eqsolve.solve(groups.dihedral(6)),
        "direct": eqsolve.solve(groups.direct_product(C, groups.cyclic(4))),
    }


def test_translation_prefilter_keeps_every_plan(monkeypatch):
    """The cheap pre-check of the translation recogniser changes no chosen path."""
    zoo = _plan_zoo()
    with_filter = {name: (layers.EquivariantLinear(B, 2, 3).path, layers.EquivariantLinear(B, 2, 3).available_paths)
                   for name, B in zoo.items()}
    monkeypatch.setattr(_fastpaths, "PREFILTER", False)
    without = {name: (layers.EquivariantLinear(B, 2, 3).path, layers.EquivariantLinear(B, 2, 3).available_paths)
               for name, B in zoo.items()}
    assert with_filter == without
    assert "conv" in with_filter["grid"][1] and "conv" in with_filter["strided"][1]
    assert "conv" in with_filter["transposed"][1] and "conv" not in with_filter["adjacency"][1]


def test_prefilter_skips_the_grid_search(monkeypatch):
    """On the off-diagonal block of an adjacency basis (132 points, many factorisations, no
    transitive translations) the prefilter tries no grid shape; without it, dozens; the plan
    of the whole layer is the same either way."""
    from eqsolve.layers.linear import _spec
    from eqsolve.layers._executors import RowSource

    rho = groups.symmetric(12).action()
    B = eqsolve.solve(out=rho.tensor(2), inp=rho.tensor(2))
    spec = _spec(RowSource(B), 2, 2)
    off = np.flatnonzero(B.bias_index == B.bias_index[1])
    block = spec.block(off, off)
    real = _fastpaths.translation_vectors
    counts = {}
    for flag in (True, False):
        calls = []
        monkeypatch.setattr(_fastpaths, "translation_vectors", lambda *a: calls.append(1) or real(*a))
        monkeypatch.setattr(_fastpaths, "PREFILTER", flag)
        found = _fastpaths._find_translation(block)
        counts[flag] = (len(calls), found, layers.EquivariantLinear(B, 2, 2).path)
    assert counts[True][0] == 0 and counts[False][0] > 20, counts
    assert counts[True][1:] == counts[False][1:] and counts[True][1] is None


@pytest.mark.parametrize("inner", ["cyclic(6)", "grid(2x3)"])
def test_sets_times_translations_compose_exactly(inner, rng):
    """S_m x C_d (and S_m x grid translations) on [m] x [d]: the planner runs it as one
    circular convolution over the m x d grid (the m-cycle of S_m is a translation of it),
    exactly equal to generic, with and without masks, also inside DSS."""
    H = groups.cyclic(6) if inner == "cyclic(6)" else groups.grid_translations((2, 3))
    G = groups.sets_of(H, 4)
    B = eqsolve.solve(G)
    bases = [B]
    for _ in range(2):
        keep = rng.random(B.dim) < 0.5
        bases.append(eqsolve.solve(G, support=keep[B.orbit_index]))
    for basis in bases:
        fast = layers.EquivariantLinear(basis, 2, 3).double()
        ref = layers.EquivariantLinear(basis, 2, 3, path="generic").double()
        ref.load_state_dict(fast.state_dict())
        assert fast.path.startswith(("conv", "fft")), fast.path
        x = torch.from_numpy(rng.standard_normal((3, 2, basis.shape[1])))
        with torch.no_grad():
            assert (fast(x) - ref(x)).abs().max().item() < 1e-12 * max(1.0, ref(x).abs().max().item())
    dss = layers.DSSLinear(B, 2, 3).double()
    ref = layers.DSSLinear(B, 2, 3, path="generic").double()
    ref.load_state_dict(dss.state_dict())
    x = torch.from_numpy(rng.standard_normal((2, 3, 2, B.shape[1])))
    with torch.no_grad():
        assert (dss(x) - ref(x)).abs().max().item() < 1e-12 * max(1.0, ref(x).abs().max().item())


@pytest.mark.parametrize("m,T", [(3, "cyclic(4)"), (4, "grid(2x2)"), (3, "cyclic(2)")])
def test_patterns_basis_times_translations_equals_general_solver(m, T):
    """S_m x T (product_action, actions from groups.product_of_actions): identical Basis."""
    H = groups.cyclic(int(T[7])) if T.startswith("cyclic") else groups.grid_translations((2, 2))
    S = groups.symmetric(m)
    G = groups.product_action(S, H)
    rho = S.action()
    sides = [rho.tensor(0), rho, rho.tensor(2), rho + rho.tensor(2)] + ([rho.subsets(2)] if m >= 2 else [])
    acts = [groups.product_of_actions(G, a, H.action()) for a in sides]
    checked = 0
    for out, inp in itertools.product(acts, repeat=2):
        if out.degree * inp.degree > 40_000:
            continue
        ref = solve_compact(out, inp, method="table")
        if eqsolve._patterns.recognise_product(out, inp) is None:
            continue
        fast = solve_compact(out, inp, method="patterns")
        every = np.arange(out.degree)
        assert fast.dim == ref.dim and np.array_equal(fast.rows(every), ref.rows(every))
        assert np.array_equal(fast.bias_index, ref.bias_index)
        checked += 1
    assert checked >= 16
