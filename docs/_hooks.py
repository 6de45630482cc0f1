"""MkDocs hooks for the eqsolve site.

1. The API reference: ``layers/`` and ``theory/`` sit at the top of the repository but install
   as ``eqsolve.layers`` and ``eqsolve.theory`` (``package_dir`` in setup.cfg). mkdocstrings
   reads sources statically and would look for them inside ``eqsolve/``, so the three folders
   are copied into ``build/apisrc/eqsolve/`` as they are installed, and mkdocs.yml points
   mkdocstrings there. The copy is made when mkdocs loads this file, before mkdocstrings sets
   up its search paths.
2. No orphan pages: a page in ``docs/`` that the nav of mkdocs.yml does not list is appended
   to the nav under "More", so a page added by anyone is always reachable from the site.
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


def nav_pages(entry):
    """Every page path named in a nav entry (a string, a {title: entry} dict or a list)."""
    if isinstance(entry, str):
        yield entry
    elif isinstance(entry, dict):
        for value in entry.values():
            yield from nav_pages(value)
    elif isinstance(entry, list):
        for item in entry:
            yield from nav_pages(item)


def unlisted_pages(nav, docs_dir) -> list:
    listed = set(nav_pages(nav))
    pages = sorted(p.relative_to(docs_dir).as_posix() for p in pathlib.Path(docs_dir).rglob("*.md"))
    return [p for p in pages if p not in listed]


def on_config(config):
    extra = unlisted_pages(config.nav, config.docs_dir)
    if config.nav is not None and extra:
        config.nav.append({"More": extra})
    return config


lay_out_packages()
