"""Result objects: one per claim, with every computation that checked it.

>>> r = check("demo", "1 + 1 = 2", 2, [Computation("by hand", 2, exact=True, seconds=0.0)])
>>> r.agree, r.status
(True, 'agree')
>>> check("demo", "1 + 1 = 3", 3, [Computation("by hand", 2, exact=True, seconds=0.0)]).status
'disagree'
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction

from eqsolve._format import format_value, json_value, render_table

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
            "computations": [c.to_dict() for c in self.computations],
            "skipped": [s.to_dict() for s in self.skipped],
            "agree": self.agree,
            "status": self.status,
            "independent": self.independent,
            "fallback": self.fallback,
            "explanation": self.explanation,
            "seconds": round(self.seconds, 6),
        }

    def checks_text(self, full: bool = False, sep: str = "; ") -> str:
        """Compact ``method = value`` list for tables."""
        parts = []
        for c in self.computations:
            mark = "" if c.agrees else (" (inconclusive)" if c.agrees is None else " (DIFFERS)")
            parts.append(f"{c.method} = {format_value(c.value, full)}{mark}")
        return sep.join(parts) if parts else "(none ran)"

    def __str__(self) -> str:
        return Results([self]).text()


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
            "results": [r.to_dict() for r in self],
        }

    def text(self, verbose: bool = False, full: bool = False) -> str:
        """The table the CLI prints: one row per claim, then the skipped methods (all of
        them with ``verbose``, else how many) and the verdict."""
        lines = [claims_table(self, full=full)]
        notes = skipped_notes(self)
        if notes and verbose:
            lines.append("skipped methods and fallbacks:")
            lines += ["  " + n for n in notes]
        elif notes:
            fallbacks = sum(1 for r in self if r.fallback)
            lines.append(f"{len(notes) - fallbacks} skipped method(s)" + (f", {fallbacks} fallback(s)" if fallbacks else "")
                         + " (-v / text(verbose=True) lists them with the reasons)")
        lines.append(verdict(self))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


STATUS_TEXT = {"agree": "agree", "disagree": "DISAGREE", "unchecked": "UNCHECKED"}


def claims_table(results, markdown: bool = False, full: bool = False) -> str:
    """One row per claim, as aligned text (the CLI, ``str(results)``) or markdown (the report)."""
    if markdown:
        rows = []
        for r in results:
            status = {"agree": "agree", "disagree": "**DISAGREE**", "unchecked": "**unchecked**"}[r.status]
            rows.append((r.claim, r.statement, format_value(r.predicted, full),
                         r.checks_text(full, sep="<br>").replace("(DIFFERS)", "**(differs)**"),
                         status + (" (fallback)" if r.fallback else ""), f"{r.seconds:.3f}", r.explanation))
        header = ("claim", "statement", "predicted", "independent computations", "result", "time (s)", "what it means")
        return render_table(rows, header, markdown=True, right=(2, 5))
    rows = [(r.claim, format_value(r.predicted, full), STATUS_TEXT[r.status] + ("*" if r.fallback else ""),
             f"{r.seconds:.3f}", r.checks_text(full)) for r in results]
    return render_table(rows, ("claim", "predicted", "result", "seconds", "independent computations"))


def skipped_notes(results) -> list[str]:
    """Fallbacks and skipped methods with their reasons, one line each."""
    notes = []
    for r in results:
        if r.fallback:
            notes.append(f"* {r.claim}: fallback: {r.fallback}")
        for s in r.skipped:
            notes.append(f"{r.claim}: {s.method} skipped: {s.reason}")
    return notes


def verdict(results, seconds: float | None = None) -> str:
    seconds = results.seconds if seconds is None else seconds
    counts = {s: sum(1 for r in results if r.status == s) for s in ("agree", "disagree", "unchecked")}
    if counts["agree"] == len(results):
        return (f"the claim agrees ({seconds:.2f} s)" if len(results) == 1
                else f"all {len(results)} claims agree ({seconds:.2f} s)")
    return (f"{counts['agree']} of {len(results)} claims agree, {counts['disagree']} disagree, "
            f"{counts['unchecked']} could not be checked ({seconds:.2f} s)")


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


class Timer:
    """``with Timer() as t: ...``; ``t.seconds`` afterwards."""

    def __enter__(self):
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        return False
