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

ERRNO_REASONS = {
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
    reason = ERRNO_REASONS.get(err.errno)
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


# -- reading untrusted archives ------------------------------------------------------------------
NPZ_MAX_MEMBERS = 64
DEFLATE_MAX_RATIO = 1100  # deflate cannot expand more than 1032:1; more is a lie or a bomb
METADATA_MAX_BYTES = 1 << 16
METADATA_MAX_DEPTH = 32


def read_npz(path, what: str = "an .npz archive", max_bytes: int | None = None) -> dict:
    """The arrays of an ``.npz`` file, checked before anything large is read.

    Refuses (:class:`EqsolveError`) anything but a regular file; a zip whose members
    declare more bytes than their compressed size allows; an ``.npy`` header that cannot be
    parsed, holds objects, or declares a shape whose size differs from the member's; and
    (:class:`ProblemTooLargeError`) arrays whose total size exceeds the memory budget.
    """
    import zipfile
    import zlib

    import numpy as np
    from numpy.lib import format as npy

    from ._budget import require_memory

    with open_regular(path) as handle:
        if handle.read(4) != b"PK\x03\x04":
            raise EqsolveError(f"{path} is not {what} (not an .npz archive)")
        handle.seek(0)
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError) as err:
            raise EqsolveError(f"{path} is not {what}: {_short(err)}") from None
        with archive:
            members = archive.infolist()
            if len(members) > NPZ_MAX_MEMBERS:
                raise EqsolveError(f"{path} is not {what}: {len(members)} members (at most {NPZ_MAX_MEMBERS})")
            total = 0
            for info in members:
                if info.compress_type == zipfile.ZIP_STORED:
                    honest = info.file_size == info.compress_size
                else:
                    honest = info.file_size <= DEFLATE_MAX_RATIO * info.compress_size + 4096
                if not honest:
                    raise EqsolveError(
                        f"{path} is not {what}: member {info.filename[:60]!r} declares {info.file_size} bytes "
                        f"from {info.compress_size} compressed bytes")
                total += info.file_size
            require_memory(total, f"reading {path} ({len(members)} arrays)", max_bytes)
            arrays = {}
            for info in members:
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                try:
                    with archive.open(info) as member:
                        arrays[name] = _read_npy(member, info.file_size, np, npy)
                except EqsolveError as err:
                    raise EqsolveError(f"{path} is not {what}: array {name[:60]!r}: {err}") from None
                except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError,
                        RuntimeError, KeyError) as err:
                    raise EqsolveError(f"{path} is not {what}: array {name[:60]!r}: {_short(err)}") from None
    return arrays


def _read_npy(member, size: int, np, npy):
    try:
        version = npy.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(member)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy.read_array_header_2_0(member)
        else:
            raise EqsolveError(f"unsupported .npy version {version}")
    except EqsolveError:
        raise
    except Exception as err:  # numpy's header parser raises tokenizer, syntax and value errors
        raise EqsolveError(f"unreadable .npy header ({_short(err)})") from None
    if dtype.hasobject:
        raise EqsolveError("holds Python objects (refused: nothing is unpickled)")
    count = 1
    for n in shape:
        count *= int(n)
    need = count * dtype.itemsize
    header = member.tell() if hasattr(member, "tell") else None
    if header is not None and header + need != size:
        raise EqsolveError(f"header declares shape {tuple(shape)} of {dtype} ({need} bytes), "
                           f"but the member holds {size - header} bytes")
    data = member.read(need)
    if len(data) != need:
        raise EqsolveError(f"truncated: {len(data)} of {need} bytes")
    array = np.frombuffer(data, dtype=dtype)
    if fortran:
        return array.reshape(shape[::-1]).T.copy()
    return array.reshape(shape).copy()


def loads_json_bounded(data: bytes, what: str, max_bytes: int = METADATA_MAX_BYTES,
                       max_depth: int = METADATA_MAX_DEPTH):
    """``json.loads`` of untrusted bytes, refusing more than ``max_bytes`` or nesting deeper
    than ``max_depth`` (checked before parsing, so no RecursionError can escape).

    >>> loads_json_bounded(b'{"a": [1, 2]}', "metadata")
    {'a': [1, 2]}
    """
    import json

    if len(data) > max_bytes:
        raise EqsolveError(f"{what}: {len(data)} bytes of metadata (at most {max_bytes})")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise EqsolveError(f"{what}: metadata is not UTF-8 text") from None
    depth, deepest, in_string, escaped = 0, 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    if deepest > max_depth:
        raise EqsolveError(f"{what}: metadata nested {deepest} levels deep (at most {max_depth})")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise EqsolveError(f"{what}: unreadable metadata ({_short(err)})") from None


def _short(err: BaseException, limit: int = 160) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[:limit] + "..."
