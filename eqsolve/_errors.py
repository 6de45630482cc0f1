"""The one error hierarchy of eqsolve.

Every bad input raises :class:`EqsolveError` (a :class:`ValueError`) or a
subclass, with a message that names the problem and the offending value.

Examples
--------
>>> import eqsolve
>>> try:
...     eqsolve.PermutationGroup([[0, 0, 1]])
... except eqsolve.EqsolveError as err:
...     print(err)
generator 0 is not a bijection: point 0 appears twice in [0, 0, 1]
"""

from __future__ import annotations

__all__ = [
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


class EqsolveError(ValueError):
    """Base class of every error eqsolve raises on bad input."""


class NotABijectionError(EqsolveError):
    """An array form that is not a permutation of 0..d-1."""


class PointOutOfRangeError(EqsolveError):
    """A point outside 0..degree-1 (or 1..degree in GAP notation)."""


class DegreeMismatchError(EqsolveError):
    """Generators, masks or actions whose sizes do not fit together."""


class CycleSyntaxError(EqsolveError):
    """A cycle string that cannot be parsed."""


class MaskNotInvariantError(EqsolveError):
    """A support mask that is not a union of orbits."""


class ProblemTooLargeError(EqsolveError):
    """A request whose tables would not fit in memory (checked before allocating)."""


class ActionMismatchError(EqsolveError):
    """Two actions that do not belong to the same group."""


class NotAnActionError(EqsolveError):
    """Generator images that break a relation of the group's generators (no action)."""
