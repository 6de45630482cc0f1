"""End-to-end smoke checks of the public surface (details live in the other test files)."""

import subprocess
import sys

import eqsolve


def test_import_does_not_load_torch():
    code = "import sys, eqsolve, eqsolve.cli; print('torch' in sys.modules)"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "False"


def test_solve_count_agree_on_issue_example():
    H = eqsolve.PermutationGroup.parse("(0 1 2 3)(4 5); (0 1)", degree=6)
    assert eqsolve.solve(H).dim == eqsolve.count(H, method="burnside") == eqsolve.count(H, method="nullspace") == 6
