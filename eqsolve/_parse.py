"""Parsers for permutations written as cycles.

Two notations are accepted:

* 0-based (ours): cycles of points separated by spaces or commas, generators
  separated by ``;``: ``"(0 1 2)(3 4); (0 1)"``.
* GAP (1-based): ``"(1,2,3)(4,5), (1,2)"``; generators separated by commas
  (or ``;``) between cycles; ``()`` is the identity; an optional surrounding
  ``[...]`` or ``Group(...)`` is ignored.

>>> parse_cycles("(0 1 2)(3 4); (0 1)")
[[(0, 1, 2), (3, 4)], [(0, 1)]]
>>> parse_cycles("(1,2,3)(4,5), (1,2)", one_based=True)
[[(0, 1, 2), (3, 4)], [(0, 1)]]
"""

from __future__ import annotations

import re

import numpy as np

from ._errors import CycleSyntaxError, PointOutOfRangeError

Cycles = list[tuple[int, ...]]

# ASCII only: Unicode digits ('٣') and spaces are not points or separators
_TOKEN = re.compile(r"\s*(?:(\()|(\))|(-?\d+)|([,;])|(\S))", flags=re.ASCII)
MAX_DIGITS = 18  # longer numbers are refused before int() (Python's digit limit, int64 overflow)


def parse_cycles(text: str, one_based: bool = False) -> list[Cycles]:
    """Parse a generator list into lists of 0-based cycles (one list per generator)."""
    if not isinstance(text, str):
        raise CycleSyntaxError(f"expected a cycle string, got {type(text).__name__}: {repr(text)[:80]}")
    body = _strip_wrappers(text.strip()) if one_based else text.strip()
    offset = text.find(body) if body else 0  # positions in messages count in the text as given
    generators: list[Cycles] = []
    current: Cycles | None = None  # cycles of the generator being read
    cycle: list[int] | None = None  # points of the cycle being read
    seen_in_cycle: set[int] = set()
    after_comma = False  # inside a cycle, a comma must be followed by a point
    for match in _TOKEN.finditer(body):
        opening, closing, number, sep, other = match.groups()
        where = f"at position {offset + match.start(match.lastindex) + 1} of {_shown(text)}"
        if after_comma and (closing or sep is not None):
            raise CycleSyntaxError(f"missing point after ',' {where}")
        after_comma = False
        if other is not None:
            raise CycleSyntaxError(f"unexpected character {other!r} {where}")
        if opening:
            if cycle is not None:
                raise CycleSyntaxError(f"unbalanced parenthesis: '(' inside a cycle {where}")
            cycle, seen_in_cycle, cycle_where = [], set(), where
            if current is None:
                current = []
        elif closing:
            if cycle is None:
                raise CycleSyntaxError(f"unbalanced parenthesis: ')' without '(' {where}")
            if not cycle and not (current == [] and _generator_ends(body, match.end(0))):
                # "()" alone is the identity; an empty cycle inside a product is a typo
                raise CycleSyntaxError(f"empty cycle '()' {cycle_where}")
            if cycle:
                current.append(tuple(cycle))
            cycle = None
        elif number is not None:
            if cycle is None:
                raise CycleSyntaxError(f"point {number} outside a cycle {where}; write each cycle in "
                                       "parentheses, e.g. '(0 1 2)(3 4)' (in a shell, quote the whole string)")
            if len(number.lstrip("-")) > MAX_DIGITS:
                raise PointOutOfRangeError(
                    f"point {number[:12]}... ({len(number.lstrip('-'))} digits) is far too large {where}")
            point = int(number)
            if one_based and point < 1:
                raise PointOutOfRangeError(
                    f"GAP notation is 1-based, but point {point} appears {where}"
                )
            if point < 0:
                raise PointOutOfRangeError(f"negative point {point} {where}")
            point -= 1 if one_based else 0
            if point in seen_in_cycle:
                shown = point + (1 if one_based else 0)
                raise CycleSyntaxError(f"repeated point {shown} in one cycle {where}")
            seen_in_cycle.add(point)
            cycle.append(point)
        else:  # separator
            if cycle is not None:
                if sep == ";":
                    raise CycleSyntaxError(f"unbalanced parenthesis: ';' inside a cycle {where}")
                if not cycle:
                    raise CycleSyntaxError(f"missing point before ',' {where}")
                after_comma = True
                continue  # commas separate points inside a cycle
            if current is None:
                raise CycleSyntaxError(f"empty generator before {sep!r} {where}")
            generators.append(current)
            current = None
    if cycle is not None:
        raise CycleSyntaxError(f"unbalanced parenthesis: cycle not closed in {text!r}")
    if current is not None:
        generators.append(current)
    elif generators:
        raise CycleSyntaxError(f"empty generator after the last separator in {text!r}")
    return generators


def _shown(text: str, limit: int = 80) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def _generator_ends(body: str, pos: int) -> bool:
    rest = body[pos:].lstrip()
    return not rest or rest[0] in ",;"


def _strip_wrappers(body: str) -> str:
    for head, tail in (("Group(", ")"), ("[", "]")):
        if body.startswith(head) and body.endswith(tail):
            body = body[len(head):-len(tail)].strip()
    return body


def cycles_to_array(cycles: Cycles, degree: int, one_based: bool = False) -> np.ndarray:
    """Array form of a product of 0-based cycles, applied left to right as in GAP and sympy:
    ``(0 1)(1 2)`` sends 0 to 1 by ``(0 1)``, then 1 to 2 by ``(1 2)``.

    ``one_based`` only changes error messages: they then quote points and
    cycles in the 1-based notation the user typed.

    >>> cycles_to_array([(0, 1), (1, 2)], 3).tolist()
    [2, 0, 1]
    """
    perm = np.arange(degree, dtype=np.int64)
    for cycle in cycles:
        for point in cycle:
            if point >= degree:
                offset = 1 if one_based else 0
                points = f"GAP points are 1..{degree}" if one_based else f"points are 0..{degree - 1}"
                raise PointOutOfRangeError(
                    f"point {point + offset} in cycle {format_cycle(cycle, one_based)} exceeds degree {degree} "
                    f"({points})"
                )
        step = np.arange(degree, dtype=np.int64)
        step[list(cycle)] = list(cycle[1:]) + [cycle[0]]
        perm = step[perm]
    return perm


def format_cycle(cycle, one_based: bool = False) -> str:
    offset = 1 if one_based else 0
    sep = "," if one_based else " "
    return "(" + sep.join(str(p + offset) for p in cycle) + ")"


def array_to_cycles(perm: np.ndarray) -> Cycles:
    """Non-trivial cycles of ``perm``, each starting at its smallest point."""
    seen = np.zeros(len(perm), dtype=bool)
    out: Cycles = []
    for start in range(len(perm)):
        if seen[start] or perm[start] == start:
            seen[start] = True
            continue
        cycle, i = [], start
        while not seen[i]:
            seen[i] = True
            cycle.append(int(i))
            i = int(perm[i])
        out.append(tuple(cycle))
    return out


def format_permutation(perm: np.ndarray, one_based: bool = False) -> str:
    """Cycle string of one permutation; ``()`` for the identity."""
    cycles = array_to_cycles(perm)
    return "".join(format_cycle(c, one_based) for c in cycles) if cycles else "()"
