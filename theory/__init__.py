"""Numerical verification of the dimension theorems of Maron et al., *On Learning Sets of
Symmetric Elements* (ICML 2020), for any permutation group (see docs/theory.md).

Every function returns result objects (:class:`ClaimResult`, or :class:`Results`, a list
of them) carrying the claim in words, the predicted value, the value from each
independent method with its time, ``agree``, and the methods skipped with the reason.

>>> from eqsolve import theory
>>> from eqsolve import groups
>>> r = theory.theorem1(groups.cyclic(100), 25)
>>> [x.claim for x in r], r.agree
(['E(S_n)', 'Theorem 1', 'Theorem 1: DSS form'], True)
"""

from ._claims import (
    as_subject,
    bell,
    block_action,
    dss_matrices,
    dss_rank_check,
    dss_structure,
    element_action,
    factorised_structure,
    generalizations,
    lemma1,
    products,
    symmetric,
    theorem1,
    verify,
    wreath,
)
from ._combinatorics import (
    fixed_point_moment,
    partition_count,
    rencontres,
    stirling2,
    subfactorial,
    symmetric_dimension,
)
from ._methods import Limits
from ._result import ClaimResult, Computation, Results, Skipped, check

__all__ = [
    "lemma1", "symmetric", "theorem1", "generalizations", "products", "wreath", "bell", "verify",
    "ClaimResult", "Computation", "Skipped", "Results", "Limits", "check",
    "dss_structure", "factorised_structure", "dss_matrices", "dss_rank_check", "block_action", "element_action", "as_subject",
    "rencontres", "subfactorial", "symmetric_dimension", "fixed_point_moment", "stirling2", "partition_count",
    "suite",
]


def __getattr__(name):
    if name == "suite":  # the paper suite and its report (imports matplotlib lazily, only for pictures)
        import importlib

        return importlib.import_module(".suite", __name__)
    raise AttributeError(f"module 'eqsolve.theory' has no attribute {name!r}")
