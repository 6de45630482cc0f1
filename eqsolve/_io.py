"""The one way eqsolve writes and opens files: atomic writes and guarded reads.

Writes go to a temporary file next to the target, are flushed to disk, get the mode a
plain ``open`` would give (``0666 & ~umask``, or the existing file's mode), and only then
replace the target by a rename. A write that fails for any reason (a full disk, a
read-only folder, an exception in the writer, a refused request) leaves no partial file
and the previous file untouched; OS failures become :class:`~eqsolve.EqsolveError`
naming the file and the cause.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> atomic_write_text(path, "hello")
>>> open(path).read()
'hello'
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from ._errors import EqsolveError

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.EISDIR: "it is a directory",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENOENT: "no such file or directory",
    errno.ENAMETOOLONG: "file name too long",
    errno.EFBIG: "file too large",
}


def os_reason(err: OSError) -> str:
    """Short lower-case cause of an OS error (``'no space left on device'``)."""
    reason = _REASONS.get(err.errno)
    if reason is None:
        reason = (err.strerror or str(err) or type(err).__name__).lower()
    return reason


def _umask() -> int:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # not thread-safe, hence the /proc reading above
    os.umask(mask)
    return mask


def check_target(path) -> Path:
    """Refuse a target that cannot be written (missing folder, a folder, not a regular file),
    before any work is done; returns its folder."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.exists():
        raise EqsolveError(f"cannot write {path}: directory {directory} does not exist")
    if not directory.is_dir():
        raise EqsolveError(f"cannot write {path}: {directory} is not a directory")
    if path.is_dir():
        raise EqsolveError(f"cannot write {path}: it is a directory")
    if path.exists() and not path.is_file():
        raise EqsolveError(f"cannot write {path}: it exists and is not a regular file")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise EqsolveError(f"cannot write {path}: permission denied in {directory}")
    return directory


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a fresh temporary path next to ``path``; on success it replaces ``path``.

    For writers that need a file name (``torch.export.save``, ``savefig``). Whatever the
    block raises, the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    directory = check_target(path)
    mode = None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name[:200]}.", suffix=".tmp")
        os.close(fd)
    except OSError as err:
        raise EqsolveError(f"cannot write {path}: {os_reason(err)}") from None
    tmp = Path(tmp)
    try:
        yield tmp
        _sync(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(err, OSError) and not isinstance(err, (BrokenPipeError, InterruptedError)):
            raise EqsolveError(f"cannot write {path}: {os_reason(err)}") from None
        raise


def atomic_write(path, write: Callable, text: bool = False) -> None:
    """Call ``write(handle)`` on a temporary file next to ``path``, then rename it into place.

    ``handle`` is a binary file, or a UTF-8 text file with ``text=True``.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as handle:
            write(handle)


def atomic_write_text(path, content: str) -> None:
    """Write ``content`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, lambda handle: handle.write(content), text=True)


def _sync(path: Path) -> None:
    # a full disk may only show when the data is flushed: find out before the rename
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_regular(path, what: str = "file"):
    """Open ``path`` for reading in binary, refusing anything but a regular file.

    Named pipes, devices, sockets and folders are refused without blocking (the file is
    opened non-blocking and checked with ``fstat`` before any read).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise EqsolveError(f"no such file: {path}") from None
    except OSError as err:
        raise EqsolveError(f"cannot read {path}: {os_reason(err)}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (a pipe, device or socket)"
        raise EqsolveError(f"cannot read {path}: it is {kind}")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise EqsolveError(f"cannot read {path}: {os_reason(err)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between stat and open
            raise EqsolveError(f"cannot read {path}: it is not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
