"""Atomic file writes: a temporary file beside the destination, renamed when complete.

A user who exports a report or a vector file must never find a half-written
file under the final name (full disk, cancel, crash). Everything SatSeg
writes goes through here (GeoTIFFs use ``core.geotiff.GeoTiffWriter``,
which follows the same rule).
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import SatSegError


def _os_message(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    return exc.strerror or str(exc)


def check_writable(path: str | os.PathLike) -> Path:
    """The destination as a Path; a SatSegError if its folder is missing, not writable or it is a folder."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SatSegError(f"cannot write {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise SatSegError(f"cannot write {path}: folder {parent} is not writable")
    if path.is_dir():
        raise SatSegError(f"cannot write {path}: it is a folder")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the destination's folder; rename it to ``path`` on success.

    For libraries that insist on writing a file by name themselves. On any
    exception the temporary file is removed and the destination left as it was.
    """
    dest = check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise SatSegError(f"cannot write {dest}: {_os_message(exc)}") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise SatSegError(f"cannot write {dest}: {_os_message(exc)}") from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk before the rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, newlines as given)."""
    return write_bytes_atomic(path, text.encode(encoding))
