"""The mistakes a newcomer makes first get a message that says what to do instead."""

import pytest

import eqsolve


@pytest.mark.parametrize("given, advice", [
    (lambda: eqsolve.groups.cyclic(4).action().tensor(2), "solve(out=rho, inp=rho)"),
    (lambda: "(0 1 2)", "PermutationGroup.parse(text)"),
    (lambda: [[1, 2, 0]], "eqsolve.PermutationGroup(generators)"),
])
def test_solve_says_how_to_pass_what_it_was_given(given, advice):
    with pytest.raises(eqsolve.EqsolveError) as err:
        eqsolve.solve(given())
    assert advice in str(err.value)


def test_the_advice_for_an_action_works():
    rho = eqsolve.groups.symmetric(4).action().tensor(2)
    assert eqsolve.solve(out=rho, inp=rho).dim == 15  # Bell(4)


def test_cycles_without_parentheses_say_how_to_write_them():
    with pytest.raises(eqsolve.CycleSyntaxError) as err:
        eqsolve.PermutationGroup.parse("0 1 2")
    assert "'(0 1 2)(3 4)'" in str(err.value) and "quote" in str(err.value)
    # and the advice parses
    assert eqsolve.PermutationGroup.parse("(0 1 2)(3 4)").order() == 6


@pytest.mark.parametrize("argv, advice", [
    (["solve", "(0", "1", "2)"], 'quote the generators as one argument, e.g. eqsolve solve "(0 1 2)'),
    (["count", "0", "1", "2"], 'e.g. eqsolve count "(0 1 2)'),
    (["verify", "--group", "cyclic:5", "--channels", "3", "4"], "use --in-channels C and --out-channels C"),
])
def test_unparsed_arguments_get_a_hint(argv, advice, capsys):
    from eqsolve.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert advice in capsys.readouterr().err


def test_an_unknown_flag_gets_no_made_up_hint(capsys):
    from eqsolve.cli import main

    with pytest.raises(SystemExit):
        main(["solve", "--group", "cyclic:4", "--bogus"])
    assert capsys.readouterr().err.rstrip().endswith("unrecognized arguments: --bogus")
