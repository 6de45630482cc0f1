"""Griffe extension: show docstring examples as code on the API pages.

Our docstrings put ``>>>`` examples anywhere (the doctest suite runs them all); Markdown would
read their ``>>>`` as block quotes and ``[[1, 0]]`` as links. This fences every doctest block
(a ``>>>`` line up to the next blank line) outside an existing fence as ``pycon`` code, and
drops Sphinx roles (``:class:`Basis``` reads as ``Basis`` in code).
"""

import re

import griffe

ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):(?=`)")


def fence_doctests(text: str) -> str:
    lines = text.splitlines()
    out, in_fence, in_test = [], False, False
    for line in lines:
        stripped = line.strip()
        if not in_test and stripped.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and not in_test and stripped.startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + "```pycon")
            in_test = True
        elif in_test and not stripped:
            out.append(indent + "```")
            in_test = False
        out.append(line if in_fence or in_test else ROLE.sub("", line))
    if in_test:
        out.append(indent + "```")
    return "\n".join(out)


class FenceDoctests(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
