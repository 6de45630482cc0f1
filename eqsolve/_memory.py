"""Memory checks made before allocating large tables."""

from __future__ import annotations

from ._errors import ProblemTooLargeError


def available_bytes() -> int:
    """Memory available to this process now (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 1 << 40


def format_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def require_memory(needed: int, what: str, limit: int | None = None) -> None:
    """Raise :class:`ProblemTooLargeError` if ``needed`` bytes exceed the limit.

    >>> require_memory(10, "a tiny table", limit=100)
    >>> require_memory(1000, "a big table", limit=100)
    Traceback (most recent call last):
    ...
    eqsolve._errors.ProblemTooLargeError: a big table would need 1000 bytes (1000 bytes); the limit is 100 bytes (100 bytes)
    """
    cap = available_bytes() if limit is None else int(limit)
    if needed > cap:
        source = "available memory" if limit is None else "the limit"
        raise ProblemTooLargeError(
            f"{what} would need {needed} bytes ({format_bytes(needed)}); "
            f"{source} is {cap} bytes ({format_bytes(cap)})"
        )
