"""eqsolve: exact bases of permutation-equivariant linear maps.

>>> import eqsolve
>>> H = eqsolve.PermutationGroup.parse("(0 1 2 3)(4 5); (0 1)", degree=6)
>>> eqsolve.solve(H).dim == eqsolve.count(H, method="burnside")
True
"""

__version__ = "0.1.0"

from . import groups
from ._basis import Basis, load
from ._count import count
from ._errors import (
    ActionMismatchError,
    CycleSyntaxError,
    DegreeMismatchError,
    EqsolveError,
    MaskNotInvariantError,
    NotABijectionError,
    NotAnActionError,
    PointOutOfRangeError,
    ProblemTooLargeError,
)
from ._group import Action, PermutationGroup
from ._sampling import random_elements
from ._solve import solve

__all__ = [
    "__version__",
    "PermutationGroup",
    "Action",
    "Basis",
    "solve",
    "count",
    "load",
    "random_elements",
    "groups",
    "EqsolveError",
    "NotABijectionError",
    "PointOutOfRangeError",
    "DegreeMismatchError",
    "CycleSyntaxError",
    "MaskNotInvariantError",
    "ProblemTooLargeError",
    "ActionMismatchError",
    "NotAnActionError",
]


def __getattr__(name):
    # ``eqsolve.layers`` (torch) and ``eqsolve.theory`` load on first use, so that
    # ``import eqsolve`` stays light and never imports torch.
    if name in ("layers", "theory"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'eqsolve' has no attribute {name!r}")
