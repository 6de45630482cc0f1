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


def test_every_page_is_in_the_nav(site):
    import yaml

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]

    def pages(entry):
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict):
            for value in entry.values():
                yield from pages(value)
        else:
            for item in entry:
                yield from pages(item)

    listed = set(pages(nav))
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert on_disk - listed == set(), "pages missing from the nav in mkdocs.yml"
    assert all((site / p.replace(".md", "") / "index.html").is_file() or p == "index.md" for p in listed)
