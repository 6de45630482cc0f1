"""Packaging: every package folder is installed, under the eqsolve namespace."""

import configparser
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAPPED = {"layers": "eqsolve.layers", "theory": "eqsolve.theory"}


def _installed_packages() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return {line.strip() for line in config["options"]["packages"].splitlines() if line.strip()}


def _package_folders() -> set[str]:
    names = set()
    for top in ("eqsolve", *MAPPED):
        for init in (ROOT / top).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT).parts
            names.add(".".join((MAPPED.get(parts[0], parts[0]), *parts[1:])))
    return names


def test_every_package_folder_is_listed_in_setup_cfg():
    assert _package_folders() == _installed_packages()


def test_a_users_own_layers_and_theory_modules_do_not_collide(tmp_path):
    (tmp_path / "layers.py").write_text("MINE = 1\n")
    (tmp_path / "theory.py").write_text("MINE = 2\n")
    code = (
        "import layers, theory, sys; from eqsolve import layers as L, theory as T; "
        "assert layers.MINE == 1 and theory.MINE == 2; "
        "assert L.EquivariantLinear and T.verify; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_import_eqsolve_does_not_import_torch():
    code = "import sys, eqsolve; eqsolve.solve(eqsolve.groups.cyclic(4)); print('torch' in sys.modules)"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "False"
