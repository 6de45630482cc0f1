"""Issue 2, part 6: every bad input is an EqsolveError naming the value, in Python and in the CLI."""

import numpy as np
import pytest

import eqsolve
from eqsolve.cli import main

# (description, python call, CLI argv, regex the message must match)
CASES = [
    ("non-bijective array", lambda: eqsolve.PermutationGroup([[0, 0, 1]]), None, r"not a bijection: point 0 appears twice"),
    ("point out of range (array)", lambda: eqsolve.PermutationGroup([[0, 5, 1]]), None, r"point 5, outside 0\.\.2"),
    ("negative degree", lambda: eqsolve.PermutationGroup([], degree=-3), ["solve", "(0 1)", "--degree", "-3"], r"-3"),
    ("missing degree", lambda: eqsolve.PermutationGroup([]), None, r"degree is missing"),
    ("generators of different degrees", lambda: eqsolve.PermutationGroup([[1, 0], [1, 2, 0]]), None,
     r"different degrees: generator 1 has degree 3"),
    ("unbalanced parenthesis", lambda: eqsolve.PermutationGroup.parse("(0 1"), ["solve", "(0 1"], r"unbalanced parenthesis"),
    ("extra closing parenthesis", lambda: eqsolve.PermutationGroup.parse("(0 1))"), ["solve", "(0 1))"], r"unbalanced parenthesis"),
    ("letters", lambda: eqsolve.PermutationGroup.parse("(0 a 1)"), ["solve", "(0 a 1)"], r"unexpected character 'a'"),
    ("empty cycle", lambda: eqsolve.PermutationGroup.parse("(0 1)()"), ["solve", "(0 1)()"], r"empty cycle"),
    ("repeated point", lambda: eqsolve.PermutationGroup.parse("(0 1 0)"), ["solve", "(0 1 0)"], r"repeated point 0"),
    ("cycle beyond degree", lambda: eqsolve.PermutationGroup.parse("(0 7)", degree=5), ["solve", "(0 7)", "--degree", "5"],
     r"point 7 .* exceeds degree 5"),
    ("GAP string with 0", lambda: eqsolve.PermutationGroup.from_gap("(0,1,2)"), ["solve", "--gap", "(0,1,2)"], r"1-based.*point 0"),
    ("unknown named group", lambda: eqsolve.groups.from_name("cyclc:5"), ["solve", "--group", "cyclc:5"], r"unknown group kind 'cyclc'"),
]


@pytest.mark.parametrize("what, call, argv, pattern", CASES, ids=[c[0] for c in CASES])
def test_python_api(what, call, argv, pattern):
    with pytest.raises(eqsolve.EqsolveError, match=pattern):
        call()


@pytest.mark.parametrize("what, call, argv, pattern", [c for c in CASES if c[2]], ids=[c[0] for c in CASES if c[2]])
def test_cli_exit_code_2_without_traceback(what, call, argv, pattern, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("eqsolve solve: error:")
    import re

    assert re.search(pattern, err), err


def test_mask_of_wrong_shape_and_not_invariant():
    H = eqsolve.groups.cyclic(4)
    with pytest.raises(eqsolve.DegreeMismatchError, match=r"shape \(3, 3\), expected \(4, 4\)"):
        eqsolve.solve(H, support=np.ones((3, 3), bool))
    mask = np.eye(4, dtype=bool)
    mask[0, 0] = False
    with pytest.raises(eqsolve.MaskNotInvariantError, match="not invariant"):
        eqsolve.solve(H, support=mask)


def test_action_of_another_group():
    with pytest.raises(eqsolve.ActionMismatchError, match="belongs to"):
        eqsolve.solve(eqsolve.groups.cyclic(4), out=eqsolve.groups.symmetric(4).action())


def test_too_large_is_refused_before_allocating():
    import tracemalloc

    # S_300000 solves in compact form (one root row); its 360 GB dense table is refused
    B = eqsolve.solve(eqsolve.groups.symmetric(300_000))
    tracemalloc.start()
    with pytest.raises(eqsolve.ProblemTooLargeError, match=r"would need \d+ bytes"):
        B.orbit_index
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**30  # the 360 GB table was never allocated


@pytest.mark.parametrize("d", [0, 1])
def test_degree_zero_and_one_and_trivial_group_work(d):
    for H in (eqsolve.PermutationGroup([], degree=d), eqsolve.groups.trivial(d), eqsolve.groups.symmetric(d)):
        B = eqsolve.solve(H)
        assert B.dim == d * d == eqsolve.count(H, method="burnside") == eqsolve.count(H, method="nullspace")
        assert B.orbit_index.shape == (d, d)
