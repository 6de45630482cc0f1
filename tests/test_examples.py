"""Every script in examples/ runs in its small setting and shows what its docstring says.

The scripts run in this process (``main(argv)``, so torch is imported once for all of them);
the export example starts its own torch-only Python. Claims are checked against methods
other than the ones the scripts print: orders and dimensions against closed forms and
``count(method="nullspace")``, learned weights against the graph, accuracies against chance.
"""

import math
import pathlib
import runpy

import pytest

import eqsolve
from _train_helpers import one_thread  # noqa: E402,F401  (autouse fixture: one torch thread)

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))


def run_example(name, *argv):
    return runpy.run_path(str(EXAMPLES / name), run_name="example")["main"](list(argv))


def test_examples_are_the_documented_five():
    assert SCRIPTS == ["export_without_eqsolve.py", "gap_group_to_layer.py", "graph_automorphisms.py",
                       "graph_sets.py", "point_clouds.py"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_full_setting_is_behind_a_flag(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_example(name, "--help")
    assert exit_info.value.code == 0
    assert "--full" in capsys.readouterr().out


def test_gap_group_to_layer(capsys):
    result = run_example("gap_group_to_layer.py")
    H = eqsolve.PermutationGroup.from_gap("(1,2,3,4,5,6), (2,6)(3,5)")
    assert result["order"] == 12 == H.order()  # the dihedral group of the hexagon
    assert result["dim"] == eqsolve.count(H, method="nullspace") == 4  # distances 0..3 on a hexagon
    assert result["theorem1_agree"]
    assert result["history"][-1] < result["history"][0]
    assert result["accuracy"] >= 0.4  # four classes: chance is 0.25
    assert result["invariance_error"] < 1e-10
    assert "test accuracy" in capsys.readouterr().out


def test_graph_sets():
    result = run_example("graph_sets.py")
    assert result["dim"] == 15  # Bell(4): set partitions of the 4 indices of a map on [m]^2
    assert result["bell_agree"]
    assert result["history"][-1] < result["history"][0]
    assert result["accuracy"] >= 0.5  # three classes
    assert result["invariance_error"] < 1e-10


def test_point_clouds():
    result = run_example("point_clouds.py")
    assert result["dim"] == 2  # E(S_k) = 2: a I + b 11^T
    assert result["history"][-1] < result["history"][0]
    assert result["accuracy"] >= 0.5  # three classes
    assert result["invariance_error"] < 1e-10


def test_graph_automorphisms():
    result = run_example("graph_automorphisms.py")
    assert result["order"] == math.factorial(5)  # Aut(Petersen) = S_5
    assert result["dim"] == 3  # same node, adjacent, distance 2
    assert result["adjacency_error"] < 1e-5  # the fitted layer is the adjacency matrix
    assert result["weights"] == pytest.approx([0.0, 1.0, 0.0], abs=1e-4)
    assert result["equivariance_error"] < 1e-10


def test_export_without_eqsolve(tmp_path):
    report = run_example("export_without_eqsolve.py", "--out", str(tmp_path))
    assert report["eqsolve_importable"] is False
    assert [pathlib.Path(p).name for p in report["errors"]] == ["net.pt2"]
    assert max(report["errors"].values()) < 1e-5
    assert (tmp_path / "net.pt2").is_file()
