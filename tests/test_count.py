"""Tests of ``eqsolve.count`` (Lemma 1 by several methods) and of the ``count`` and
``solve`` commands of the CLI.

Every exact method must give the same number, and that number must equal the
brute-force oracle's (tests/_oracle.py); Monte Carlo must land within a few
standard errors of it.
"""

from __future__ import annotations

import json
import math
import re
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eqsolve
from eqsolve import ActionMismatchError, EqsolveError, PermutationGroup, ProblemTooLargeError, groups
from eqsolve._count import BURNSIDE_MAX_ELEMENTS, NULLSPACE_EXACT_MAX, NULLSPACE_NUMERIC_MAX, CountResult, stacked_system
from eqsolve.cli import main

import _oracle as oracle

EXACT = ("burnside", "orbits", "nullspace")
MC_SAMPLES = 400


@st.composite
def random_groups(draw, max_degree=7, max_gens=4):
    d = draw(st.integers(0, max_degree))
    k = draw(st.integers(0, max_gens))
    return PermutationGroup([draw(st.permutations(range(d))) for _ in range(k)], degree=d)


def check_all_methods(out, inp, seed=0):
    """Every method agrees with the oracle: exact methods exactly, Monte Carlo within 5 standard errors."""
    expected = oracle.count_pair_orbits_unionfind(out.images, inp.images)
    assert oracle.burnside(out.images, inp.images) == expected
    values = {}
    for method in EXACT:
        result = eqsolve.count(out=out, inp=inp, method=method, detail=True)
        assert isinstance(result, CountResult) and result.method == method
        assert result.seconds >= 0
        values[method] = result.value
    assert isinstance(values["burnside"], Fraction)
    assert isinstance(values["orbits"], int) and isinstance(values["nullspace"], int)
    assert values == {m: expected for m in EXACT}, values
    mc = eqsolve.count(out=out, inp=inp, method="montecarlo", detail=True, samples=MC_SAMPLES, rng=seed)
    low, high = mc.interval
    se = (high - low) / (2 * 1.96)
    assert abs(mc.value - expected) <= 5 * se + 1e-9 or mc.value == expected, (mc.value, mc.interval, expected)
    return expected


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(random_groups())
def test_all_methods_agree_on_random_groups(H):
    rho = H.action()
    assert check_all_methods(rho, rho) == eqsolve.solve(H).dim


def action_zoo(H):
    rho = H.action()
    acts = {"points": rho, "trivial": H.trivial(), "points+trivial": rho + H.trivial()}
    if H.degree <= 4:
        acts["tensor2"] = rho.tensor(2)
    if H.degree >= 2:
        acts["subsets2"] = rho.subsets(2)
    return acts


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(random_groups(max_degree=5, max_gens=3), st.data())
def test_all_methods_agree_between_actions(H, data):
    acts = action_zoo(H)
    names = sorted(acts)
    out = acts[data.draw(st.sampled_from(names), label="out")]
    inp = acts[data.draw(st.sampled_from(names), label="inp")]
    check_all_methods(out, inp)


NAMED = [groups.cyclic(7), groups.dihedral(8), groups.symmetric(6), groups.alternating(6), groups.trivial(5),
         groups.grid_translations((3, 5)), groups.sets_of(groups.cyclic(3), 3), groups.wreath(groups.symmetric(2), 3),
         groups.product_action(groups.symmetric(3), groups.cyclic(4)), groups.subsets(groups.symmetric(6), 2)]


@pytest.mark.parametrize("H", NAMED, ids=lambda H: H.name)
def test_all_methods_agree_on_named_groups(H):
    rho = H.action()
    check_all_methods(rho, rho)


@pytest.mark.parametrize("H", [groups.symmetric(5), groups.dihedral(5), groups.cyclic(6)], ids=lambda H: H.name)
def test_numerical_nullspace_between_actions(H):
    """Tables of 400 < n <= 2048 unknowns take the floating-point rank."""
    rho = H.action()
    out, inp = rho.tensor(2), rho.tensor(2) if H.degree <= 5 else rho.subsets(2)
    n = out.degree * inp.degree
    assert NULLSPACE_EXACT_MAX < n <= NULLSPACE_NUMERIC_MAX
    result = eqsolve.count(out=out, inp=inp, method="nullspace", detail=True)
    assert result.note == "numerical rank" and not result.exact
    assert result.value == oracle.pair_orbit_table(out.images, inp.images)[1]


@pytest.mark.parametrize("d, expected", [(21, 11), (30, 16), (45, 23)])
def test_numerical_nullspace_dihedral(d, expected):
    # D_d: floor(d/2) + 1
    result = eqsolve.count(groups.dihedral(d), method="nullspace", detail=True)
    assert result.note == "numerical rank"
    assert result.value == expected == d // 2 + 1


def test_exact_nullspace_is_exact():
    result = eqsolve.count(groups.dihedral(20), method="nullspace", detail=True)
    assert result.exact and result.note == "exact rank" and result.value == 11


def test_stacked_system_nullspace_is_spanned_by_the_orbit_matrices():
    H = groups.dihedral(6)
    rho = H.action()
    S = stacked_system(rho, rho)
    n = H.degree ** 2
    assert S.shape == (H.ngens * n, n)
    table, E = oracle.pair_orbit_table(H.generators, H.generators)
    for k in range(E):
        assert np.abs(S @ (table.ravel() == k).astype(float)).max() == 0
    assert np.linalg.matrix_rank(S.toarray()) == n - E
    assert stacked_system(groups.trivial(3).action(), groups.trivial(3).action()).shape == (0, 9)


# -- limits ------------------------------------------------------------------------------


def test_burnside_refuses_above_max_elements_and_accepts_when_raised():
    H = groups.symmetric(7)
    with pytest.raises(ProblemTooLargeError, match=r"5040 group elements.*max_elements"):
        eqsolve.count(H, method="burnside", max_elements=1000)
    assert eqsolve.count(H, method="burnside", max_elements=5040) == 2


def test_burnside_default_limit():
    H = groups.symmetric(10)  # 3628800 > 10^6 elements
    assert H.order() > BURNSIDE_MAX_ELEMENTS
    with pytest.raises(ProblemTooLargeError, match=str(BURNSIDE_MAX_ELEMENTS)):
        eqsolve.count(H, method="burnside")


def test_burnside_refusal_of_a_huge_group_names_its_size():
    with pytest.raises(ProblemTooLargeError, match=r"about 10\^\d+ group elements"):
        eqsolve.count(groups.symmetric(3000), method="burnside")


def test_burnside_refuses_too_much_work():
    # few elements, but elements x points above the work limit
    H = groups.cyclic(15000)
    with pytest.raises(ProblemTooLargeError, match="element-points"):
        eqsolve.count(H, method="burnside")


def test_nullspace_refuses_above_its_limit():
    H = groups.symmetric(46)  # 2116 unknowns
    with pytest.raises(ProblemTooLargeError, match=rf"2116 unknowns.*{NULLSPACE_NUMERIC_MAX}.*bytes"):
        eqsolve.count(H, method="nullspace")
    with pytest.raises(ProblemTooLargeError, match="100 unknowns"):
        eqsolve.count(groups.symmetric(10), method="nullspace", max_unknowns=99)
    assert eqsolve.count(groups.symmetric(10), method="nullspace", max_unknowns=100) == 2


def test_montecarlo_needs_two_samples():
    with pytest.raises(EqsolveError, match="at least 2 samples"):
        eqsolve.count(groups.cyclic(3), method="montecarlo", samples=1)


def test_unknown_method():
    with pytest.raises(EqsolveError, match="'exact'"):
        eqsolve.count(groups.cyclic(3), method="exact")


def test_actions_of_different_groups():
    with pytest.raises(ActionMismatchError):
        eqsolve.count(out=groups.cyclic(3).action(), inp=groups.symmetric(3).action())


# -- auto ----------------------------------------------------------------------------------


def test_auto_uses_the_solver_when_the_table_fits():
    result = eqsolve.count(groups.dihedral(50), detail=True)
    assert result.method == "orbits" and result.value == 26 and result.exact


def test_auto_uses_burnside_for_a_small_group_on_many_points():
    # order 2 on 10003 points: the table (10^8 entries) is too big, the group is tiny.
    # Lemma 1 by hand: (fix(id)^2 + fix(swap)^2) / 2 = (10003^2 + 10001^2) / 2
    H = groups.direct_product(groups.cyclic(2), groups.trivial(10001))
    result = eqsolve.count(H, detail=True)
    assert result.method == "burnside" and result.exact
    assert result.value == (10003 ** 2 + 10001 ** 2) // 2
    # the same by the direct-product formula E1 + E2 + 2 o1 o2
    assert result.value == 2 + 10001 ** 2 + 2 * 1 * 10001


def test_auto_uses_montecarlo_for_a_huge_group():
    result = eqsolve.count(groups.symmetric(12000), detail=True, samples=1000, rng=1)
    assert result.method == "montecarlo" and not result.exact
    low, high = result.interval
    assert low <= 2 <= high


def test_auto_never_picks_a_method_that_refuses():
    # cyclic(11000): table 1.2e8 entries (too big for "orbits"), Burnside over its work limit
    result = eqsolve.count(groups.cyclic(11000), detail=True, samples=50, rng=0)
    assert result.method == "montecarlo"


# -- Monte Carlo ------------------------------------------------------------------------------


@pytest.mark.parametrize("H, exact", [(groups.symmetric(30), 2), (groups.alternating(9), 2),
                                      (groups.dihedral(9), 5), (groups.wreath(groups.symmetric(3), 3), 2 + 1)],
                         ids=["S30", "A9", "D9", "S3wrS3"])
def test_montecarlo_interval_contains_the_exact_value(H, exact):
    result = eqsolve.count(H, method="montecarlo", detail=True, rng=2024)
    low, high = result.interval
    assert low <= exact <= high
    assert low <= result.value <= high
    assert result.note.startswith(f"{eqsolve._count.MONTECARLO_SAMPLES} samples")


def test_montecarlo_is_reproducible_with_a_seed():
    H = groups.symmetric(8)
    a = eqsolve.count(H, method="montecarlo", rng=7, samples=500)
    b = eqsolve.count(H, method="montecarlo", rng=7, samples=500)
    c = eqsolve.count(H, method="montecarlo", rng=np.random.default_rng(7), samples=500)
    assert a == b == c


def test_montecarlo_between_actions_given_by_images_only():
    # an action built from images alone (no recipe) is sampled through the joint chain
    H = groups.symmetric(5)
    custom = eqsolve.Action(H, H.action().subsets(2).images)
    result = eqsolve.count(out=custom, inp=H.action(), method="montecarlo", detail=True, samples=2000, rng=3)
    assert result.interval[0] <= 2 <= result.interval[1]


def test_montecarlo_flags_estimates_below_the_lower_bound():
    # C_n on n points: E = n, but only the identity (probability 1/n) fixes anything
    n = 100000
    result = eqsolve.count(groups.cyclic(n), method="montecarlo", detail=True, samples=100, rng=0)
    assert result.extra["lower_bound"] == n * n / n
    low, high = result.interval
    assert (high < n) == ("UNRELIABLE" in result.note)
    assert high < n  # with seed 0 the identity is never drawn: the estimate is 0


def test_count_result_to_dict():
    r = eqsolve.count(groups.cyclic(5), method="burnside", detail=True).to_dict()
    assert r["value"] == 5 and r["exact"] is True and r["method"] == "burnside"
    m = eqsolve.count(groups.cyclic(5), method="montecarlo", detail=True, samples=50).to_dict()
    assert isinstance(m["value"], float) and len(m["interval"]) == 2
    json.dumps([r, m])


# -- the CLI ---------------------------------------------------------------------------------


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, degree, order, orbits, dimension", [
    (["(0 1 2 3 4 5 6)"], 7, 7, 1, 7),
    (["(0 1 2 3)(4 5); (0 1)", "--degree", "6"], 6, 48, 2, 6),
    (["--gap", "(1,2,3,4,5), (1,2)"], 5, 120, 1, 2),
    (["--group", "dihedral:8"], 8, 16, 1, 5),
    (["--group", "subsets:5:2"], 10, 120, 1, 3),
])
def test_cli_count_all_json(capsys, argv, degree, order, orbits, dimension):
    code, out, err = run_cli(capsys, "count", *argv, "--method", "all", "--json")
    assert code == 0, err
    record = json.loads(out)
    for key in ("degree", "order", "orbits", "dimension", "method", "seconds"):
        assert key in record
    assert record["degree"] == degree
    assert record["order"] == order  # an exact integer below 2^53 is a JSON number
    assert record["orbits"] == orbits
    assert record["dimension"] == dimension
    assert record["method"] == "all"
    assert record["seconds"] >= 0
    assert record["agree"] is True
    assert {r["method"] for r in record["results"]} == {"burnside", "orbits", "nullspace", "montecarlo"}


def test_cli_count_order_is_exact_beyond_64_bits(capsys):
    code, out, err = run_cli(capsys, "count", "--group", "symmetric:30", "--method", "orbits", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["order"] == str(math.factorial(30)) and int(record["order"]) > 2**64
    assert record["method"] == "orbits" and record["dimension"] == 2


def test_cli_count_all_reports_skipped_methods(capsys):
    code, out, err = run_cli(capsys, "count", "--group", "symmetric:12", "--method", "all", "--json", "--samples", "500")
    assert code == 0, err
    record = json.loads(out)
    skipped = {s["method"]: s["reason"] for s in record["skipped"]}
    assert "burnside" in skipped and "max_elements" in skipped["burnside"]
    assert record["dimension"] == 2


@pytest.mark.parametrize("method", ["burnside", "orbits", "nullspace", "montecarlo", "auto"])
def test_cli_count_one_method(capsys, method):
    code, out, err = run_cli(capsys, "count", "--group", "cyclic:6", "--method", method, "--json", "--samples", "300")
    assert code == 0, err
    record = json.loads(out)
    assert record["method"] == ("orbits" if method == "auto" else method)
    if method != "montecarlo":
        assert record["dimension"] == 6


def test_cli_count_table(capsys):
    code, out, err = run_cli(capsys, "count", "--group", "cyclic:5", "--method", "all", "--samples", "200")
    assert code == 0, err
    assert "burnside" in out and "E = 5" in out


def test_cli_solve_json(capsys):
    code, out, err = run_cli(capsys, "solve", "(0 1 2 3)(4 5); (0 1)", "--degree", "6", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["degree"] == 6
    assert record["order"] == 48
    assert record["orbits"] == 2
    assert record["dimension"] == 6
    assert record["method"] == "orbits"
    assert record["seconds"] >= 0


def test_cli_solve_json_between_powers(capsys):
    code, out, err = run_cli(capsys, "solve", "--group", "symmetric:5", "--out-power", "2", "--in-power", "1", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert (record["degree_out"], record["degree_in"]) == (25, 5)
    assert record["dimension"] == oracle.bell(3)


def test_cli_solve_symbolic(capsys):
    code, out, err = run_cli(capsys, "solve", "--group", "symmetric:3", "--symbolic")
    assert code == 0, err
    assert "theta_0" in out and "theta_1" in out and "theta_2" not in out
    code, out, err = run_cli(capsys, "solve", "--group", "cyclic:3", "--symbolic", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["symbolic"] == [["theta_0", "theta_1", "theta_2"], ["theta_2", "theta_0", "theta_1"],
                                  ["theta_1", "theta_2", "theta_0"]]


def test_cli_solve_save(capsys, tmp_path):
    path = tmp_path / "basis.npz"
    code, out, err = run_cli(capsys, "solve", "--group", "dihedral:6", "--save", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["saved"] == str(path)
    assert eqsolve.load(path) == eqsolve.solve(groups.dihedral(6))


def test_cli_failing_save_leaves_no_file(capsys, tmp_path, monkeypatch):
    import eqsolve._basis as basis_module

    def broken(handle, **arrays):
        handle.write(b"PK\x03\x04 partial")
        raise OSError("no space left on device")

    monkeypatch.setattr(basis_module.np, "savez_compressed", broken)
    code, out, err = run_cli(capsys, "solve", "--group", "cyclic:5", "--save", str(tmp_path / "b.npz"))
    assert code == 2
    assert "no space left" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["DIR", "DIR/missing/b.npz"])
def test_cli_save_to_a_bad_place(capsys, tmp_path, target):
    code, out, err = run_cli(capsys, "solve", "--group", "cyclic:5", "--save", target.replace("DIR", str(tmp_path)))
    assert code == 2
    assert "cannot write" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["solve", "count"])
@pytest.mark.parametrize("argv, needle", [
    (["--group", "nosuch:3"], "nosuch"),
    (["--group", "cyclic"], "cyclic"),
    (["--group", "cyclic:x"], "cyclic:x"),
    (["--group", "cyclic:5", "--degree", "6"], "--degree 6"),
    (["(0 1 2", "--degree", "3"], "unbalanced"),
    (["(0 1 a)"], "'a'"),
    (["(0 1 1)"], "repeated point 1"),
    (["(0 7)", "--degree", "5"], "point 7"),
    (["--gap", "(0,1)"], "1-based"),
    (["(0 1)", "--degree", "-3"], "-3"),
    (["(0 1)", "--group", "cyclic:3"], "once"),
    ([], "no group"),
])
def test_cli_bad_input_exits_2(capsys, command, argv, needle):
    code, out, err = run_cli(capsys, command, *argv)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("flag", ["--out-power", "--in-power"])
def test_cli_negative_powers(capsys, flag):
    code, out, err = run_cli(capsys, "solve", "--group", "cyclic:4", flag, "-1")
    assert code == 2
    assert re.search(rf"{flag} must be >= 0, got -1", err)
    assert "Traceback" not in err


def test_cli_too_large(capsys):
    # S_200000 solves in compact form (one root row); the trivial group's 200000 rows of
    # 200000 ids (160 GB) do not fit
    code, out, err = run_cli(capsys, "solve", "--group", "trivial:200000")
    assert code == 2
    assert re.search(r"would need \d+ bytes", err) and "Traceback" not in err


def test_cli_solve_json_order_with_thousands_of_digits(capsys):
    code, out, err = run_cli(capsys, "solve", "--group", "symmetric:2000", "--json")
    assert code == 0, err
    order = json.loads(out)["order"]
    # 2000! has floor(log10(2000!)) + 1 = 5736 digits, above Python's default int-to-str limit (4300)
    log10 = math.lgamma(2001) / math.log(10)
    assert order.isdigit() and len(order) == int(log10) + 1
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        assert order == str(math.factorial(2000))
    finally:
        sys.set_int_max_str_digits(old)
