"""MkDocs hook: lay out the installed package tree for the API reference.

``layers/`` and ``theory/`` sit at the top of the repository but install as ``eqsolve.layers``
and ``eqsolve.theory`` (``package_dir`` in setup.cfg). mkdocstrings reads sources statically
and would look for them inside ``eqsolve/``, so this hook copies the three folders into
``build/apisrc/eqsolve/`` as they are installed, and mkdocs.yml points mkdocstrings there.
The copy is made when mkdocs loads this hook, before mkdocstrings sets up its search paths.
"""

import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[1]
TREE = ROOT / "build" / "apisrc"
PACKAGES = {"eqsolve": "eqsolve", "layers": "eqsolve/layers", "theory": "eqsolve/theory"}


def lay_out_packages() -> None:
    shutil.rmtree(TREE, ignore_errors=True)
    for source, target in PACKAGES.items():
        shutil.copytree(ROOT / source, TREE / target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


lay_out_packages()
