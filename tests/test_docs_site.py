"""The documentation site builds strictly and its API reference covers every public name.

Needs the ``docs`` extra (``pip install -e '.[docs]'``, as .ci/run does); skipped without it.
"""

import importlib
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PUBLIC = ["eqsolve", "eqsolve.groups", "eqsolve.layers", "eqsolve.theory"]

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("mkdocs", "material", "mkdocstrings_handlers")),
    reason="needs the docs extra: pip install -e '.[docs]'",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, "mkdocs build --strict failed:\n" + run.stderr[-4000:]
    return out


def test_every_public_name_has_a_reference_entry(site):
    ids = set()
    for page in (site / "reference").rglob("*.html"):
        ids |= set(re.findall(r'id="([\w.]+)"', page.read_text()))
    missing = []
    for module_name in PUBLIC:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not name.startswith("__") and f"{module_name}.{name}" not in ids:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"not in the API reference: {missing}"


def test_every_page_is_reachable_from_the_nav(site):
    # pages that mkdocs.yml does not list are appended under "More" by docs/_hooks.py
    home = (site / "index.html").read_text()
    for page in (ROOT / "docs").rglob("*.md"):
        target = page.relative_to(ROOT / "docs").with_suffix("").as_posix()
        if target != "index":
            assert f'href="{target}/"' in home or f'href="./{target}/"' in home, f"{target} is not in the nav"
