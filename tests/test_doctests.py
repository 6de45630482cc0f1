"""Every docstring example in the eqsolve package runs and prints what it says."""

import doctest
import inspect
import importlib
import pkgutil

import pytest

import eqsolve

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(eqsolve.__path__, prefix="eqsolve.")
    if not name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
    source = inspect.getsource(module)
    if ">>>" in source:
        assert result.attempted > 0, f"{name} has examples that doctest did not find"
