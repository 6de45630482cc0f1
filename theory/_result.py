"""Result objects: one per claim, with every computation that checked it.

>>> r = check("demo", "1 + 1 = 2", 2, [Computation("by hand", 2, exact=True, seconds=0.0)])
>>> r.agree, r.status
(True, 'agree')
>>> check("demo", "1 + 1 = 3", 3, [Computation("by hand", 2, exact=True, seconds=0.0)]).status
'disagree'
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

# a Monte Carlo estimate agrees when the prediction lies within this many standard errors
MONTECARLO_Z = 4.0


@dataclass
class Computation:
    """One independent computation of the claimed quantity.

    ``value`` is an exact ``int`` / ``Fraction`` (``exact=True``), a float estimate
    with a confidence ``interval`` (``exact=False``), or a string describing a
    structural mismatch. ``agrees`` is filled in by :func:`check`.
    """

    method: str
    value: object
    exact: bool
    seconds: float
    note: str = ""
    interval: tuple[float, float] | None = None
    agrees: bool | None = None

    def to_dict(self) -> dict:
        out = {
            "method": self.method,
            "value": json_value(self.value),
            "exact": self.exact,
            "seconds": round(self.seconds, 6),
            "agrees": self.agrees,
        }
        if self.interval is not None:
            out["interval"] = [float(self.interval[0]), float(self.interval[1])]
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Skipped:
    """A method that did not run, and why."""

    method: str
    reason: str

    def to_dict(self) -> dict:
        return {"method": self.method, "reason": self.reason}


@dataclass
class ClaimResult:
    """The outcome of checking one claim.

    Attributes
    ----------
    claim:
        Short name ("Lemma 1", "Theorem 1", ...).
    statement:
        The claim in words, with this case's numbers.
    predicted:
        The value the theorem predicts (exact), and ``predicted_by``: how it was obtained.
    computations:
        Independent computations of the same quantity, each with method, value,
        time and whether it agrees.
    skipped:
        Methods that could not run here, with the reason.
    agree:
        True when at least one computation checked the prediction and none contradicts it.
    status:
        ``"agree"``, ``"disagree"`` (some computation contradicts the prediction) or
        ``"unchecked"`` (nothing conclusive could run).
    fallback:
        Non-empty when the usual direct methods were too large and a fallback was used.
    explanation:
        One line for readers who have not read the paper.
    """

    claim: str
    statement: str
    predicted: object
    predicted_by: str
    computations: list[Computation] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    agree: bool = False
    status: str = "unchecked"
    fallback: str = ""
    explanation: str = ""
    setting: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def independent(self) -> int:
        """Number of independent computations: the prediction plus each conclusive check."""
        return 1 + sum(1 for c in self.computations if c.agrees is not None)

    def to_dict(self) -> dict:
        return {
            "claim": self.claim,
            "statement": self.statement,
            "setting": {k: json_value(v) for k, v in self.setting.items()},
            "predicted": json_value(self.predicted),
            "predicted_by": self.predicted_by,
            "methods": [c.to_dict() for c in self.computations],
            "skipped": [s.to_dict() for s in self.skipped],
            "agree": self.agree,
            "status": self.status,
            "independent_computations": self.independent,
            "fallback": self.fallback,
            "explanation": self.explanation,
            "seconds": round(self.seconds, 6),
        }

    def checks_text(self) -> str:
        """Compact ``method=value`` list for tables."""
        parts = []
        for c in self.computations:
            mark = "" if c.agrees else (" (inconclusive)" if c.agrees is None else " (DIFFERS)")
            parts.append(f"{c.method} = {format_value(c.value)}{mark}")
        return "; ".join(parts) if parts else "(none ran)"


class Results(list):
    """A list of :class:`ClaimResult` with an overall verdict.

    >>> Results().agree
    True
    """

    @property
    def agree(self) -> bool:
        return all(r.agree for r in self)

    @property
    def status(self) -> str:
        statuses = {r.status for r in self}
        if "disagree" in statuses:
            return "disagree"
        if "unchecked" in statuses:
            return "unchecked"
        return "agree"

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self)

    def to_dict(self) -> dict:
        return {
            "agree": self.agree,
            "status": self.status,
            "seconds": round(self.seconds, 6),
            "claims": [r.to_dict() for r in self],
        }


def check(claim: str, statement: str, predicted, computations, skipped=(), *, predicted_by: str = "",
          fallback: str = "", explanation: str = "", setting: dict | None = None,
          seconds: float | None = None) -> ClaimResult:
    """Compare every computation with the prediction and build the :class:`ClaimResult`.

    Exact values (and structural results) must equal ``predicted``. A Monte Carlo
    estimate agrees when ``predicted`` lies within ``MONTECARLO_Z`` standard errors;
    an estimate whose samples were all equal says nothing about a rare-element
    sum and is marked inconclusive (``agrees=None``), never silently counted.
    """
    computations = list(computations)
    for c in computations:
        c.agrees = None if predicted is None else _agrees(c, predicted)
    conclusive = [c for c in computations if c.agrees is not None]
    if any(c.agrees is False for c in conclusive):
        status = "disagree"
    elif conclusive:
        status = "agree"
    else:
        status = "unchecked"
    total = sum(c.seconds for c in computations) if seconds is None else seconds
    return ClaimResult(
        claim=claim, statement=statement, predicted=predicted, predicted_by=predicted_by,
        computations=computations, skipped=list(skipped), agree=status == "agree", status=status,
        fallback=fallback, explanation=explanation, setting=dict(setting or {}), seconds=total,
    )


def _agrees(c: Computation, predicted) -> bool | None:
    if c.exact or isinstance(c.value, str):
        return _same(c.value, predicted)
    if c.interval is None:
        return None
    low, high = c.interval
    mean = float(c.value)
    half = max(mean - low, high - mean)
    if half <= 0:
        if _same(c.value, predicted):
            return True
        c.note = (c.note + "; " if c.note else "") + (
            "inconclusive: every sample gave the same value, so the rare elements that "
            "carry the sum were never drawn")
        return None
    wide = half * MONTECARLO_Z / 1.96  # the interval is a 95% one (1.96 standard errors)
    return abs(mean - float(predicted)) <= wide


def _same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        return Fraction(a) == Fraction(b)
    except (TypeError, ValueError):
        return a == b


def json_value(value):
    """Exact integers as ints (strings above 2^53), fractions as "p/q", floats as floats."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Fraction):
        if value.denominator == 1:
            value = value.numerator
        else:
            return f"{value.numerator}/{value.denominator}"
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and "int" in str(value.dtype)):
        value = int(value)
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value if isinstance(value, str) else str(value)


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Fraction) and value.denominator == 1:
        return str(value.numerator)
    return str(value)


class Timer:
    """``with Timer() as t: ...``; ``t.seconds`` afterwards."""

    def __enter__(self):
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        return False
