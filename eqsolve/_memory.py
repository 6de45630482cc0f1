"""Memory checks made before allocating large tables (see :mod:`eqsolve._budget`).

Kept for the modules that import from here; the budget itself lives in ``_budget``.

>>> require_memory(10, "a tiny table", limit=100)
"""

from __future__ import annotations

from ._budget import format_bytes, memory_limit, require_memory

__all__ = ["available_bytes", "format_bytes", "require_memory"]


def available_bytes() -> int:
    """Memory a request may allocate now: the smallest of available memory,
    ``EQSOLVE_MAX_MEMORY``, the ``RLIMIT_AS`` head room and the cgroup head room."""
    return memory_limit().value
