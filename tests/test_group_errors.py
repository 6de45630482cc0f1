"""Bad group input (issue 2, part 6): an EqsolveError naming the value, in Python and the CLI.

The CLI takes groups as cycle strings, GAP strings or names only, so array-form mistakes
(non-bijective arrays, generators of different lengths) are Python-only; every other item is
checked through both doors, in ``solve`` and ``count``.
"""

import re

import numpy as np
import pytest

import eqsolve
from eqsolve import groups
from eqsolve.cli import main

P = eqsolve.PermutationGroup
E = eqsolve

# id -> (python call, expected error class, regex naming the value, CLI argv or None)
CASES = {
    "non-bijective array": (lambda: P([[0, 0, 1]]), E.NotABijectionError, r"point 0 appears twice in \[0, 0, 1\]", None),
    "non-bijective numpy array": (
        lambda: P(np.array([[1, 2, 0], [2, 2, 0]])), E.NotABijectionError, r"generator 1 .*point 2 appears twice", None),
    "array point out of range": (lambda: P([[0, 5, 1]]), E.PointOutOfRangeError, r"point 5, outside 0\.\.2", None),
    "negative array point": (lambda: P([[0, -1, 1]]), E.PointOutOfRangeError, r"point -1", None),
    "non-integer array": (lambda: P([[0.5, 1]]), E.NotABijectionError, r"integers, got \[0\.5, 1\.0\]", None),
    "nested array": (lambda: P([[[0, 1]]]), E.NotABijectionError, r"shape \(1, 2\)", None),
    "negative degree": (lambda: P.parse("(0 1)", degree=-3), E.DegreeMismatchError, r"got -3",
                        ["solve", "(0 1)", "--degree", "-3"]),
    "negative degree, empty group": (lambda: P([], degree=-1), E.DegreeMismatchError, r"got -1", None),
    "non-integer degree": (lambda: P([], degree=2.5), E.DegreeMismatchError, r"got 2\.5", None),
    "missing degree": (lambda: P([]), E.DegreeMismatchError, r"degree is missing", ["count"]),
    "generators of different degrees": (lambda: P([[1, 0], [1, 2, 0]]), E.DegreeMismatchError,
                                        r"generator 1 has degree 3, expected 2", None),
    "array shorter than degree": (lambda: P([[1, 0]], degree=3), E.DegreeMismatchError,
                                  r"generator 0 has degree 2, expected 3", None),
    "sympy permutation longer than degree": (
        lambda: P([__import__("sympy.combinatorics").combinatorics.Permutation(0, 4)], degree=3), E.DegreeMismatchError, r"degree 5", None),
    "unbalanced: not closed": (lambda: P.parse("(0 1"), E.CycleSyntaxError, r"unbalanced parenthesis.*'\(0 1'",
                               ["solve", "(0 1"]),
    "unbalanced: extra ')'": (lambda: P.parse("(0 1))"), E.CycleSyntaxError, r"unbalanced parenthesis: '\)'",
                              ["count", "(0 1))"]),
    "unbalanced: nested": (lambda: P.parse("((0 1))"), E.CycleSyntaxError, r"unbalanced parenthesis: '\('",
                           ["solve", "((0 1))"]),
    "unbalanced GAP": (lambda: P.from_gap("(1,2"), E.CycleSyntaxError, r"unbalanced parenthesis.*'\(1,2'",
                       ["solve", "--gap", "(1,2"]),
    "letters": (lambda: P.parse(" (0 a 1)"), E.CycleSyntaxError, r"unexpected character 'a' at position 5",
                ["solve", " (0 a 1)"]),
    "letters in GAP": (lambda: P.from_gap("(1,x)"), E.CycleSyntaxError, r"unexpected character 'x'",
                       ["count", "--gap", "(1,x)"]),
    "point outside a cycle": (lambda: P.parse("0 1"), E.CycleSyntaxError, r"point 0 outside a cycle", ["solve", "0 1"]),
    "empty cycle": (lambda: P.parse("(0 1)()"), E.CycleSyntaxError, r"empty cycle '\(\)' at position 6",
                    ["solve", "(0 1)()"]),
    "empty generator": (lambda: P.parse("(0 1);;(1 2)"), E.CycleSyntaxError, r"empty generator", ["solve", "(0 1);;(1 2)"]),
    "repeated point": (lambda: P.parse("(0 1 0)"), E.CycleSyntaxError, r"repeated point 0 in one cycle",
                       ["solve", "(0 1 0)"]),
    "repeated point in GAP": (lambda: P.from_gap("(1,2,1)"), E.CycleSyntaxError, r"repeated point 1 in one cycle",
                              ["count", "--gap", "(1,2,1)"]),
    "negative point in a cycle": (lambda: P.parse("(0 -1)"), E.PointOutOfRangeError, r"negative point -1",
                                  ["solve", "(0 -1)"]),
    "cycle beyond degree": (lambda: P.parse("(0 7)", degree=5), E.PointOutOfRangeError,
                            r"point 7 in cycle \(0 7\) exceeds degree 5", ["solve", "(0 7)", "--degree", "5"]),
    "cycle list beyond degree": (lambda: P(["(0 1)", "(2 9)"], degree=4), E.PointOutOfRangeError,
                                 r"point 9 in cycle \(2 9\) exceeds degree 4", None),
    "GAP beyond degree": (lambda: P.from_gap("(1,9)", degree=4), E.PointOutOfRangeError,
                          r"point 9 in cycle \(1,9\) exceeds degree 4 \(GAP points are 1\.\.4\)",
                          ["solve", "--gap", "(1,9)", "--degree", "4"]),
    "GAP string containing 0": (lambda: P.from_gap("(0,1,2)"), E.PointOutOfRangeError, r"1-based, but point 0",
                                ["solve", "--gap", "(0,1,2)"]),
    "GAP string containing 0 later": (lambda: P.from_gap("(1,2), (3,0)"), E.PointOutOfRangeError,
                                      r"point 0 appears at position 11", ["count", "--gap", "(1,2), (3,0)"]),
    "one string as generator list": (lambda: P("(0 1 2)"), E.EqsolveError, r"one string '\(0 1 2\)'.*parse", None),
    "two generators in one list entry": (lambda: P(["(0 1); (1 2)"]), E.EqsolveError, r"several generators", None),
    "not a string": (lambda: P.parse(17), E.CycleSyntaxError, r"got int: 17", None),
    "huge degree": (lambda: P([], degree=10**12), E.ProblemTooLargeError, r"1000000000000 points.*bytes", None),
    "huge GAP point": (lambda: P.from_gap("(1,99999999999)"), E.ProblemTooLargeError, r"99999999999 points", None),
    "unknown group name": (lambda: groups.from_name("cyclc:5"), E.EqsolveError, r"unknown group kind 'cyclc'",
                           ["solve", "--group", "cyclc:5"]),
    "bad group size": (lambda: groups.from_name("cyclic:x"), E.EqsolveError, r"'cyclic:x'",
                       ["count", "--group", "cyclic:x"]),
    "negative group size": (lambda: groups.from_name("cyclic:-3"), E.EqsolveError, r"got -3",
                            ["solve", "--group", "cyclic:-3"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_python_api(name):
    call, cls, pattern, _ = CASES[name]
    with pytest.raises(cls, match=pattern) as info:
        call()
    assert isinstance(info.value, eqsolve.EqsolveError) and isinstance(info.value, ValueError)


CLI = [name for name, case in CASES.items() if case[3]]


@pytest.mark.parametrize("name", CLI)
def test_cli_exit_2_message_on_stderr_no_traceback(name, capsys):
    _, _, pattern, argv = CASES[name]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    assert err.startswith(f"eqsolve {argv[0]}: error:"), err
    if name != "missing degree":  # the CLI says "no group given" instead
        assert re.search(pattern, err), err


def test_cli_without_any_group(capsys):
    assert main(["solve"]) == 2
    assert "no group given" in capsys.readouterr().err


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: groups.cyclic(4).contains([0, 0, 1, 2]), r"element is not a bijection: point 0 appears twice"),
        (lambda: groups.cyclic(4).contains([0, 1, 2]), r"element of degree 3 .* degree 4"),
        (lambda: groups.cyclic(4).contains("(0 9)"), r"point 9 .* exceeds degree 4"),
        (lambda: groups.cyclic(4).action().image_of([0, 1, 2]), r"shape \(3,\), the group has degree 4"),
        (lambda: groups.cyclic(4).action().tensor(-1), r"got -1"),
        (lambda: groups.cyclic(4).action().subsets(5), r"0\.\.4, got 5"),
        (lambda: groups.cyclic(4).action().subsets(True), r"got True"),
        (lambda: eqsolve.Action(groups.cyclic(4), [[0, 1], [1, 0]]), r"group has 1 generators.*\(2, 2\)"),
        (lambda: eqsolve.Action(groups.cyclic(4), [[1, 1, 0]]), r"image of generator 0 is not a bijection"),
        (lambda: eqsolve.Action(groups.cyclic(4), [[1, 0]]).image_of([0, 1, 2, 3]), r"eqsolve\.random_elements"),
        (lambda: groups.cyclic(-1), r"got -1"),
        (lambda: groups.symmetric(2.0), r"got 2\.0"),
        (lambda: groups.grid_translations((0, 3)), r"got 0"),
        (lambda: groups.sets_of(groups.cyclic(3), 0), r"got 0"),
        (lambda: groups.wreath(groups.cyclic(3), -2), r"got -2"),
        (lambda: groups.automorphisms([(0, 1)]), r"networkx graph, got list"),
        (lambda: groups.cyclic(3).action() + groups.cyclic(3, ).action().tensor(1) + groups.dihedral(3).action(),
         r"different groups|belongs to|of another group|group"),
    ],
    ids=lambda v: "" if callable(v) else None,
)
def test_other_group_and_action_errors(call, pattern):
    with pytest.raises(eqsolve.EqsolveError, match=pattern):
        call()
