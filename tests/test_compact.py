"""The compact basis (root rows + Schreier forest) against the dense table and the oracle.

Both ways of finding the root rows are run on every case: ``"table"`` (fill the dense
table, keep its root rows) and ``"stabilizers"`` (suborbits from point stabilizers,
never building the table); they must agree entry by entry with each other and with the
brute-force oracle of ``tests/_oracle.py``. Rows read from the compact form
(``Basis.rows``: walks up the forest or fills from the top) must equal the dense rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eqsolve
from eqsolve import EqsolveError, MaskNotInvariantError, PermutationGroup, groups
from eqsolve._solve import solve_compact

import _oracle as oracle

DATA = Path(__file__).parent / "data"
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def both(out, inp):
    a = solve_compact(out, inp, method="table")
    b = solve_compact(out, inp, method="stabilizers")
    return a, b


def check_against_oracle(out, inp):
    table, n = oracle.pair_orbit_table(out.images, inp.images)
    a, b = both(out, inp)
    for B in (a, b):
        assert B.is_compact and B.dim == n
        np.testing.assert_array_equal(B.orbit_index, table)  # canonical ids: identical arrays
        np.testing.assert_array_equal(B.root_rows, table[B.roots])
    np.testing.assert_array_equal(a.root_rows, b.root_rows)
    assert a == b
    # random access: every row, in a shuffled order, and a few repeated
    rng = np.random.default_rng(out.degree * 31 + inp.degree)
    idx = np.concatenate([rng.permutation(out.degree), rng.integers(0, max(out.degree, 1), 3 if out.degree else 0)])
    np.testing.assert_array_equal(b.rows(idx), table[idx])
    return b


@st.composite
def random_groups(draw, max_degree=7, max_gens=3):
    d = draw(st.integers(1, max_degree))
    k = draw(st.integers(0, max_gens))
    return PermutationGroup([draw(st.permutations(range(d))) for _ in range(k)], degree=d)


@SETTINGS
@given(random_groups())
def test_both_methods_match_the_oracle_on_random_groups(H):
    check_against_oracle(H.action(), H.action())


ORACLE_GROUPS = {
    "dihedral(7)": groups.dihedral(7),
    "symmetric(6)": groups.symmetric(6),
    "alternating(8)": groups.alternating(8),  # a giant, certified by its order
    "grid(4, 5)": groups.grid_translations((4, 5)),
    "sets_of(C3, 3)": groups.sets_of(groups.cyclic(3), 3),
    "wreath(C2, 3)": groups.wreath(groups.cyclic(2), 3),
    "C3 x S3 (intransitive)": groups.direct_product(groups.cyclic(3), groups.symmetric(3)),
    "C2^6 (many orbits)": groups.direct_product(*[groups.cyclic(2)] * 6),
}


@pytest.mark.parametrize("name", list(ORACLE_GROUPS))
def test_both_methods_match_the_oracle_on_named_groups(name):
    H = ORACLE_GROUPS[name]
    check_against_oracle(H.action(), H.action())


@pytest.mark.parametrize("H", [groups.alternating(13), groups.symmetric(40)], ids=["A13", "S40"])
def test_giants_by_their_order(H):
    a, b = both(H.action(), H.action())
    assert a == b and b.dim == 2
    pair = H.action().subsets(2)  # joint action of points and pairs: no order certificate, find_giant fails
    a, b = both(pair, H.action())
    assert a == b and b.dim == 2


def _actions(H):
    rho = H.action()
    return {
        "points": rho, "trivial": H.trivial(), "sum": rho + H.trivial(), "subsets2": rho.subsets(2),
        "tensor2": rho.tensor(2), "product": rho * rho.subsets(2),
    }


@pytest.mark.parametrize("group", ["symmetric(4)", "dihedral(5)", "C2 x C3"])
@pytest.mark.parametrize("pair", [("subsets2", "points"), ("points", "tensor2"), ("sum", "subsets2"),
                                  ("trivial", "points"), ("points", "trivial"), ("tensor2", "product")])
def test_maps_between_actions(group, pair):
    H = {"symmetric(4)": groups.symmetric(4), "dihedral(5)": groups.dihedral(5),
         "C2 x C3": groups.direct_product(groups.cyclic(2), groups.cyclic(3))}[group]
    acts = _actions(H)
    B = check_against_oracle(acts[pair[0]], acts[pair[1]])
    assert B.shape == (acts[pair[0]].degree, acts[pair[1]].degree)


def test_actions_given_by_images_only():
    # the group's natural action is not among them: the order comes from a chain of the joint action
    H = groups.dihedral(6)
    rho = H.action()
    out = eqsolve.Action(H, np.asarray(rho.subsets(2).images))
    inp = eqsolve.Action(H, np.asarray((rho + rho).images))
    check_against_oracle(out, inp)


@pytest.mark.parametrize("shape", [(5, 6), (6, 6)])
def test_masks_on_the_compact_form(shape):
    H = groups.grid_translations(shape)
    h, w = shape
    y, x = np.indices(shape).reshape(2, -1)
    dy = (y[None, :] - y[:, None]) % h
    dx = (x[None, :] - x[:, None]) % w
    dy, dx = np.minimum(dy, h - dy), np.minimum(dx, w - dx)
    mask = np.maximum(dy, dx) <= 1
    a, b = both(H.action(), H.action())
    ra, rb = a.restrict(mask), b.restrict(mask)
    assert ra.dim == rb.dim == 9 and ra.is_compact
    np.testing.assert_array_equal(ra.orbit_index, rb.orbit_index)
    np.testing.assert_array_equal(rb.orbit_index >= 0, mask)
    np.testing.assert_array_equal(rb.rows(np.arange(h * w)[::-1]), ra.orbit_index[::-1])
    assert rb == eqsolve.solve(H, support=mask)
    # restricting twice is restricting once; the empty mask leaves nothing
    assert rb.restrict(mask) == rb
    assert b.restrict(np.zeros_like(mask)).dim == 0
    # restricting a dense (version-1) basis gives the same arrays
    dense = eqsolve.Basis(a.orbit_index, a.dim, a.bias_index)
    np.testing.assert_array_equal(dense.restrict(mask).orbit_index, rb.orbit_index)


def test_restrict_names_two_entries_of_a_cut_orbit():
    B = eqsolve.solve(groups.cyclic(5))
    mask = np.eye(5, dtype=bool)
    mask[3, 3] = False
    with pytest.raises(MaskNotInvariantError, match=r"orbit 0 has entry \(\d, \d\) inside .* \(3, 3\) outside"):
        B.restrict(mask)
    with pytest.raises(eqsolve.DegreeMismatchError, match=r"shape \(4, 5\), expected \(5, 5\)"):
        B.restrict(np.ones((4, 5), bool))
    with pytest.raises(EqsolveError, match="boolean"):
        B.restrict(np.full((5, 5), 2))


def test_ids_first_appear_in_root_rows():
    H = groups.direct_product(groups.dihedral(5), groups.cyclic(3), groups.symmetric(3))
    B = eqsolve.solve(H, cache=False)
    seen = np.concatenate([row[row >= 0] for row in B.root_rows])
    _, first = np.unique(seen, return_index=True)
    assert np.array_equal(np.argsort(first), np.arange(B.dim))  # numbered by first appearance
    flat = B.orbit_index.ravel()
    _, first_full = np.unique(flat, return_index=True)
    assert np.array_equal(np.argsort(first_full), np.arange(B.dim))
    assert set(np.unique(first_full // B.shape[1])) <= set(B.roots.tolist())


def test_orbit_sizes_from_the_compact_form():
    H = groups.direct_product(groups.dihedral(6), groups.cyclic(4))
    B = eqsolve.solve(H, cache=False)
    np.testing.assert_array_equal(B.orbit_sizes(), np.bincount(B.orbit_index.ravel(), minlength=B.dim))


def test_rows_of_a_deep_forest_walk_and_fill():
    # C_1001 has a forest of depth 500: single rows walk up, many rows fill from the top
    H = groups.cyclic(1001)
    B = eqsolve.solve(H, cache=False)
    i = np.arange(1001)
    np.testing.assert_array_equal(B.rows([500]), ((i - 500) % 1001)[None])
    idx = np.array([5, 999, 500, 7, 7])
    np.testing.assert_array_equal(B.rows(idx), (i[None, :] - idx[:, None]) % 1001)
    np.testing.assert_array_equal(B.rows(np.arange(1001))[::97], B.orbit_index[::97])
    with pytest.raises(EqsolveError, match="row numbers"):
        B.rows([1001])
    with pytest.raises(EqsolveError, match="row numbers"):
        B.rows([[0]])


def test_large_groups_stay_compact():
    # 2^18 points: the dense table would be 256 GiB; the compact form is a few MB
    G = groups.grid_translations((512, 512))
    B = eqsolve.solve(G, cache=False)
    assert B.dim == 512 * 512 and B.nbytes < 64 * G.degree
    i = np.array([0, 513, 262143])
    rows = B.rows(i)
    y, x = np.divmod(np.arange(G.degree), 512)
    for r, point in zip(rows, i):
        py, px = divmod(int(point), 512)
        np.testing.assert_array_equal(r, ((y - py) % 512) * 512 + (x - px) % 512)
    with pytest.raises(eqsolve.ProblemTooLargeError, match="262144 x 262144 orbit table"):
        B.orbit_index


def test_sets_of_a_grid_by_stabilizers():
    # S_5 x (C_4 x C_4) on 80 points: 2 E(H) ids, the DSS pattern (Theorem 1)
    H = groups.grid_translations((4, 4))
    G = groups.sets_of(H, 5)
    a, b = both(G.action(), G.action())
    assert a == b and b.dim == 2 * 16
    h = eqsolve.solve(H).orbit_index
    T = b.orbit_index
    np.testing.assert_array_equal(T[:16, :16], h)
    np.testing.assert_array_equal(T[:16, 16:32], h + 16)


# -- saved files ------------------------------------------------------------------------


@pytest.mark.parametrize("name,dim,shape", [("basis_v1_dihedral6_subsets2.npz", 9, (15, 6)),
                                            ("basis_v1_grid4x4_3x3.npz", 9, (16, 16))])
def test_version_1_files_still_load(name, dim, shape, tmp_path):
    # written by eqsolve before the compact form (format version 1: the dense table)
    L = eqsolve.load(DATA / name)
    assert L.dim == dim and L.shape == shape and not L.is_compact
    if name.startswith("basis_v1_dihedral6"):
        H = groups.dihedral(6)
        fresh = eqsolve.solve(out=H.action().subsets(2), inp=H.action())
    else:
        H = groups.grid_translations((4, 4))
        y, x = np.indices((4, 4)).reshape(2, -1)
        dy = (y[None, :] - y[:, None]) % 4
        dx = (x[None, :] - x[:, None]) % 4
        dy, dx = np.minimum(dy, 4 - dy), np.minimum(dx, 4 - dx)
        fresh = eqsolve.solve(H, support=np.maximum(dy, dx) <= 1)
    assert L == fresh and fresh == L
    np.testing.assert_array_equal(L.rows([3, 1]), fresh.rows([3, 1]))
    np.testing.assert_array_equal(L.root_rows, fresh.root_rows)
    L.save(tmp_path / "again.npz")  # still a version-1 file
    assert eqsolve.load(tmp_path / "again.npz") == fresh


def test_version_2_round_trip_keeps_the_compact_form(tmp_path):
    H = groups.dihedral(9)
    B = eqsolve.solve(out=H.action().subsets(2), inp=H.action() + H.trivial(), cache=False)
    B.save(tmp_path / "b.npz")
    L = eqsolve.load(tmp_path / "b.npz")
    assert L.is_compact and L == B
    np.testing.assert_array_equal(L.rows(np.arange(B.shape[0])), B.orbit_index)
    np.testing.assert_array_equal(L.in_orbit_index, B.in_orbit_index)


def _v2_arrays(B):
    import json

    meta = {"format": "eqsolve-basis", "version": 2, "dim": B.dim, "shape": list(B.shape)}
    return {"root_rows": np.array(B.root_rows), "parent": np.array(B._tree.parent),
            "label": np.array(B._tree.label), "gathers": np.array(B._tree.gathers),
            "bias_index": np.array(B.bias_index),
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}


def _cycle(a):
    a["parent"][[1, 2]] = [2, 1]
    a["label"][[1, 2]] = 0


def _not_perm(a):
    a["gathers"][0, 0] = a["gathers"][0, 1]


def _bad_label(a):
    a["label"][1] = 99


def _few_roots(a):
    a["root_rows"] = a["root_rows"][:0]


def _id_too_big(a):
    a["root_rows"][0, 0] = 1000


def _bias(a):
    a["bias_index"][-1] = 1


@pytest.mark.parametrize("spoil", [_cycle, _not_perm, _bad_label, _few_roots, _id_too_big, _bias])
def test_bad_version_2_files_are_refused(tmp_path, spoil):
    arrays = _v2_arrays(eqsolve.solve(groups.dihedral(6), cache=False))
    spoil(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(EqsolveError, match="bad.npz"):
        eqsolve.load(path)
