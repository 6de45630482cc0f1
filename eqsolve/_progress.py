"""Progress on long work: a tqdm bar on stderr when stderr is a terminal, silence otherwise.

>>> with progress(range(3), desc="demo", enabled=False) as bar:
...     sum(bar)
3
"""

from __future__ import annotations

import sys


def progress(iterable=None, *, total=None, desc: str | None = None, enabled: bool | None = None,
             unit: str = "it"):
    """Wrap ``iterable`` (or count ``update()`` calls up to ``total``) with a progress bar.

    ``enabled=None`` shows the bar only when stderr is a terminal, so pipes, files, CI logs
    and ``--json`` output stay clean. The returned object iterates like ``iterable`` and has
    ``update(n)``, ``set_description(text)``, ``set_postfix_str(text)`` and ``close()``
    whether or not a bar is shown.
    """
    show = _is_terminal() if enabled is None else bool(enabled)
    if show:
        try:
            from tqdm import tqdm
        except ImportError:  # tqdm is a dependency; a broken install degrades to silence
            show = False
        else:
            return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                        dynamic_ncols=True)
    return _Quiet(iterable)


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


class _Quiet:
    """The no-op bar: iterates, counts nothing, prints nothing."""

    def __init__(self, iterable):
        self._iterable = iterable

    def __iter__(self):
        return iter(self._iterable if self._iterable is not None else ())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int = 1) -> None:
        pass

    def set_description(self, text: str = "") -> None:
        pass

    def set_postfix_str(self, text: str = "") -> None:
        pass

    def close(self) -> None:
        pass
