"""Numbers and tables as people and JSON read them: one vocabulary for every output.

JSON: exact integers are numbers while they fit a double exactly (below 2^53), decimal
strings beyond; fractions are ``"p/q"`` strings; floats stay floats. Text: integers of
more than 15 digits are abbreviated (``2.65e32, 33 digits``) unless ``full=True``.

>>> json_value(7), json_value(2**60), json_value(Fraction(1, 3))
(7, '1152921504606846976', '1/3')
>>> abbreviate(2**107)
'1.62e32, 33 digits'
>>> print(render_table([("a", 1), ("bb", 22)], header=("key", "value")))
key  value
a    1
bb   22
"""

from __future__ import annotations

import math
from fractions import Fraction

JSON_EXACT_LIMIT = 2**53  # integers at or above this are JSON strings (doubles lose digits there)
SHORT_DIGITS = 15  # longer integers are abbreviated in text output


def json_value(value):
    """``value`` in the JSON vocabulary of every eqsolve command (see the module docstring).

    >>> json_value([1, 2.5, None, True])
    [1, 2.5, None, True]
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Fraction):
        if value.denominator != 1:
            return f"{value.numerator}/{value.denominator}"
        value = value.numerator
    if _is_integer(value):
        value = int(value)
        return value if abs(value) < JSON_EXACT_LIMIT else str(value)
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays
        return json_value(value.tolist())
    return value if isinstance(value, str) else str(value)


def _is_integer(value) -> bool:
    if isinstance(value, int):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and getattr(value, "ndim", 1) == 0 and dtype.kind in "iu"


def abbreviate(value: int, full: bool = False) -> str:
    """An exact integer for people: in full up to 15 digits, else ``2.65e32, 33 digits``.

    >>> abbreviate(12345), abbreviate(-10**20), abbreviate(10**20, full=True)
    ('12345', '-1.00e20, 21 digits', '100000000000000000000')
    """
    value = int(value)
    if full or abs(value) < 10**SHORT_DIGITS:
        return str(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value.bit_length() > 13_000:  # str() refuses integers of more than 4300 digits by default
        exponent = math.floor(math.log10(value))
        lead = value // 10 ** (exponent - 2)
        while lead >= 1000:  # the float logarithm can be one off at a power of ten
            exponent, lead = exponent + 1, lead // 10
        while lead < 100:
            exponent, lead = exponent - 1, value // 10 ** (exponent - 3)
    else:
        exponent, lead = len(str(value)) - 1, value
    head = str(lead)[:3]
    return f"{sign}{head[0]}.{head[1:3]}e{exponent}, {exponent + 1} digits"


def format_value(value, full: bool = False) -> str:
    """One value for a table cell: exact integers abbreviated, floats to 4 significant digits.

    >>> format_value(Fraction(6, 1)), format_value(0.123456), format_value(Fraction(1, 2))
    ('6', '0.1235', '1/2')
    """
    if isinstance(value, Fraction) and value.denominator == 1:
        value = value.numerator
    if isinstance(value, bool) or value is None:
        return str(value)
    if _is_integer(value):
        return abbreviate(int(value), full)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_table(rows, header=None, markdown: bool = False, right=()) -> str:
    """Rows of cells as aligned plain text, or as a markdown table.

    ``right``: indices of right-aligned columns. Cells are converted with ``str``; in
    markdown, ``|`` and newlines inside cells are escaped.

    >>> print(render_table([("x", 1)], header=("name", "n"), markdown=True, right=(1,)))
    | name | n |
    |---|---:|
    | x | 1 |
    """
    rows = [[str(c) for c in row] for row in rows]
    head = [str(c) for c in header] if header is not None else None
    if markdown:
        esc = lambda c: c.replace("|", "\\|").replace("\n", " ")
        ncols = len(head) if head else len(rows[0]) if rows else 0
        lines = []
        if head:
            lines.append("| " + " | ".join(esc(c) for c in head) + " |")
            lines.append("|" + "|".join("---:" if i in right else "---" for i in range(ncols)) + "|")
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
        return "\n".join(lines)
    everything = ([head] if head else []) + rows
    if not everything:
        return ""
    ncols = max(len(r) for r in everything)
    widths = [max((len(r[i]) for r in everything if i < len(r)), default=0) for i in range(ncols)]
    lines = []
    for row in everything:
        cells = [(c.rjust(widths[i]) if i in right else c.ljust(widths[i])) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
