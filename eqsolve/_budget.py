"""The one budget: memory and work a request may use, checked before allocating or looping.

Every entry point estimates what a request needs from its parameters (degree, order, points
of a derived action, samples, channels, image sizes) and calls :func:`require_memory`,
:func:`require_work` or :func:`require_at_most` first; these raise
:class:`~eqsolve.ProblemTooLargeError` naming the figure, the limit and how to raise it.

The memory limit is the smallest of

* the memory available on the machine (``MemAvailable``, psutil off Linux), or
  ``EQSOLVE_MAX_MEMORY`` when set (e.g. ``16G``: it replaces this figure, up or down);
* the head room under the process's address-space limit (``RLIMIT_AS``, ``ulimit -v``);
* the head room under the cgroup memory limit of a container (cgroup v1 or v2).

The work limit counts elementary steps (array entries touched, about 10^8-10^9 a second);
the default ``DEFAULT_WORK`` (about a minute) is changed with ``EQSOLVE_MAX_WORK``.

>>> require_memory(10, "a tiny table", limit=100)
>>> try:
...     require_memory(1000, "a big table", limit=100)
... except ProblemTooLargeError as err:
...     print(err)
a big table would need 1000 bytes (1000 bytes); the limit passed is 100 bytes (100 bytes); pass a larger limit to allow more
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from ._errors import EqsolveError, ProblemTooLargeError

ENV_MEMORY = "EQSOLVE_MAX_MEMORY"
ENV_WORK = "EQSOLVE_MAX_WORK"
DEFAULT_WORK = 5 * 10**10
UNLIMITED = 1 << 62


@dataclass(frozen=True)
class Limit:
    """One limit: its value, where it comes from, and how to raise it."""

    value: int
    source: str
    hint: str


def parse_size(text, what: str = "a size") -> int:
    """``"4G"`` -> 4 GiB in bytes (suffixes K, M, G, T, binary); plain numbers are bytes.

    >>> parse_size("512M"), parse_size("1.5k"), parse_size(1000)
    (536870912, 1536, 1000)
    """
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]{1,3})?)\s*([kKmMgGtTpP]?)(i?[bB])?\s*", str(text),
                         flags=re.ASCII)
    if not match:
        raise EqsolveError(f"{what} must look like 512M, 4G or a number of bytes, got {str(text)[:40]!r}")
    value = float(match.group(1)) * 1024 ** "_KMGTP".index(match.group(2).upper() or "_")
    if not math.isfinite(value) or value < 1:
        raise EqsolveError(f"{what} must be a positive size, got {str(text)[:40]!r}")
    return int(min(value, UNLIMITED))


def format_bytes(n) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def _read_int(path: str) -> int | None:
    try:
        with open(path) as handle:
            text = handle.read().strip()
    except (OSError, ValueError):
        return None
    if text == "max":
        return UNLIMITED
    try:
        return int(text)
    except ValueError:
        return None


def _available_ram() -> int:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # psutil missing or unsupported here
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return UNLIMITED


def _virtual_size() -> int:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.Process().memory_info().vms)
    except Exception:
        return 0


def _address_space_headroom() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    return max(0, soft - _virtual_size())


def _cgroup_dirs() -> list[str]:
    """Folders of this process's memory cgroup and its ancestors (v2 and v1 layouts)."""
    try:
        with open("/proc/self/cgroup") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hier, controllers, rel = parts
        if hier == "0" and controllers == "":
            roots = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        elif "memory" in controllers.split(","):
            roots = ["/sys/fs/cgroup/memory"]
        else:
            continue
        for root in roots:
            # inside a container the cgroup namespace may show the full path or just "/"
            for start in (root + rel.rstrip("/"), root):
                path = start
                while path.startswith(root):
                    if os.path.isdir(path):
                        found.append(path)
                    if path == root:
                        break
                    path = os.path.dirname(path)
    return list(dict.fromkeys(found))


def _cgroup_headroom() -> int | None:
    best = None
    for folder in _cgroup_dirs():
        for limit_name, usage_name in (("memory.max", "memory.current"),
                                       ("memory.limit_in_bytes", "memory.usage_in_bytes")):
            limit = _read_int(os.path.join(folder, limit_name))
            if limit is None or limit >= (1 << 60):
                continue
            usage = _read_int(os.path.join(folder, usage_name)) or 0
            room = max(0, limit - usage)
            best = room if best is None else min(best, room)
    return best


def memory_limit(limit: int | None = None) -> Limit:
    """The memory a single request may allocate now, with its source.

    ``limit`` (bytes), when given, replaces the machine's available memory (like
    ``EQSOLVE_MAX_MEMORY``); the process's own limits still apply.
    """
    if limit is not None:
        candidates = [Limit(int(limit), "the limit passed", "pass a larger limit to allow more")]
    elif os.environ.get(ENV_MEMORY):
        value = parse_size(os.environ[ENV_MEMORY], ENV_MEMORY)
        candidates = [Limit(value, f"{ENV_MEMORY}", f"set {ENV_MEMORY} higher (e.g. {ENV_MEMORY}=64G)")]
    else:
        candidates = [Limit(_available_ram(), "the memory available on this machine",
                            f"free memory, or set {ENV_MEMORY} (e.g. {ENV_MEMORY}=64G) to allow more")]
    room = _address_space_headroom()
    if room is not None:
        candidates.append(Limit(room, "the head room under this process's address-space limit (RLIMIT_AS)",
                                "raise the address-space limit (ulimit -v)"))
    room = _cgroup_headroom()
    if room is not None:
        candidates.append(Limit(room, "the head room under the container's memory limit (cgroup)",
                                "raise the container's memory limit"))
    return min(candidates, key=lambda c: c.value)


def work_limit(limit: int | None = None) -> Limit:
    """The number of elementary steps a single request may take."""
    if limit is not None:
        return Limit(int(limit), "the limit passed", "pass a larger limit to allow more")
    text = os.environ.get(ENV_WORK)
    if text:
        try:
            value = int(float(text))
        except (ValueError, OverflowError):
            raise EqsolveError(f"{ENV_WORK} must be a number of steps such as 1e11, got {text[:40]!r}") from None
        if value < 1:
            raise EqsolveError(f"{ENV_WORK} must be positive, got {text[:40]!r}")
        return Limit(value, ENV_WORK, f"set {ENV_WORK} higher (e.g. {ENV_WORK}=1e12)")
    return Limit(DEFAULT_WORK, "the default work limit",
                 f"set {ENV_WORK} (e.g. {ENV_WORK}=1e12) to allow more")


def require_memory(needed, what: str, limit: int | None = None) -> None:
    """Raise :class:`ProblemTooLargeError` when ``needed`` bytes exceed :func:`memory_limit`."""
    needed = int(needed)
    cap = memory_limit(limit)
    if needed > cap.value:
        raise ProblemTooLargeError(
            f"{what} would need {needed} bytes ({format_bytes(needed)}); "
            f"{cap.source} is {cap.value} bytes ({format_bytes(cap.value)}); {cap.hint}"
        )


def require_work(steps, what: str, limit: int | None = None) -> None:
    """Raise :class:`ProblemTooLargeError` when ``steps`` exceed :func:`work_limit`."""
    cap = work_limit(limit)
    if steps > cap.value:
        raise ProblemTooLargeError(
            f"{what} would take about {_magnitude(steps)} steps; {cap.source} is "
            f"{_magnitude(cap.value)} steps; {cap.hint}"
        )


def require_at_most(value, limit, what: str, hint: str) -> None:
    """Raise :class:`ProblemTooLargeError` when ``value`` exceeds a fixed cap ``limit``.

    >>> require_at_most(3, 5, "the set size", "use fewer")
    """
    if value > limit:
        raise ProblemTooLargeError(f"{what} is {_magnitude(value)}, above the limit {_magnitude(limit)}; {hint}")


def _magnitude(n) -> str:
    """Exact for ordinary numbers, ``about 10^k`` for huge ones."""
    if isinstance(n, float):
        return f"{n:.3g}"
    n = int(n)
    if n.bit_length() <= 64:
        return str(n)
    return f"about 10^{int(n.bit_length() * math.log10(2))}"
