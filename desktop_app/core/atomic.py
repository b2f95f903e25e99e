"""The one way SatSeg writes a file: a temporary file beside the target, verified, then renamed.

Rules (docs/data-safety.md):

- Nothing is written under the final name until the file is complete: the
  data goes to a hidden ``.<name>.<random>.part<ext>`` file in the target's
  folder, which is flushed to disk (fsync), checked (final size, and the
  caller's own check such as a GeoTIFF's block table) and only then renamed
  over the target. On any failure the temporary file is removed and the old
  target stays as it was.
- Temporary files are created like any other file (mode 0666 minus the
  umask), so exports are readable by whoever the user's umask allows.
- ``atomic_batch()`` groups the writes of one run or one project save: each
  file is written and verified, but none is switched in until the block ends
  without error; then all are renamed in the order they were written (write
  the commit-point file last). A failure leaves every target untouched.
- ``check_outputs`` checks every output location of a run before any work.

GeoTIFFs go through here too, via ``core.geotiff.GeoTiffWriter``.
"""
from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, Mapping, Optional

from .errors import SatSegError

_COPY_CHUNK = 1 << 20


def _os_message(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "the disk is full"
    if exc.errno == errno.EFBIG:
        return "the file is larger than this disk or account allows"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    if exc.errno == errno.EISDIR:
        return "it is a folder"
    return exc.strerror or str(exc)


def incomplete_reason(folder: Path) -> str:
    """Why a written file came out short: a full disk when the folder's disk has (almost) no room."""
    try:
        if shutil.disk_usage(folder).free < (1 << 20):
            return "the disk is full"
    except OSError:
        pass
    return "the written file is incomplete"


def check_writable(path: str | os.PathLike, label: Optional[str] = None) -> Path:
    """The target as a Path; a SatSegError if its folder is missing or not writable, or it is a folder."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    who = f"{label} {path}" if label else str(path)
    if path.is_dir():
        raise SatSegError(f"cannot write {who}: it is a folder; give a file name")
    if not parent.exists():
        raise SatSegError(f"cannot write {who}: its folder does not exist")
    if not parent.is_dir():
        raise SatSegError(f"cannot write {who}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise SatSegError(f"cannot write {who}: its folder is not writable")
    return path


def check_outputs(outputs: Mapping[str, Optional[str | os.PathLike]],
                  inputs: Iterable[str | os.PathLike] = ()) -> dict[str, Path]:
    """Check every output of a run before any work starts.

    ``outputs`` maps a label the user knows (``--vector``) to a path (None =
    not asked for). Each must be writable and not a folder, no two may be the
    same file and none may be one of ``inputs``.
    """
    checked: dict[str, Path] = {}
    seen: dict[Path, str] = {}
    ins = {Path(p).resolve() for p in inputs if p}
    for label, path in outputs.items():
        if not path:
            continue
        p = check_writable(path, label)
        key = p.resolve()
        if key in ins:
            raise SatSegError(f"{label} {p} is one of the input files; choose another name")
        if key in seen:
            raise SatSegError(f"{seen[key]} and {label} both name {p}; give each output its own file")
        seen[key] = label
        checked[label] = p
    return checked


def _temp_name(dest: Path, tag: str = "part") -> Path:
    # The extension stays last: GDAL and OGR choose their driver by it.
    return dest.with_name(f".{dest.stem}.{secrets.token_hex(6)}.{tag}{dest.suffix}")


def _fsync_path(path: Path) -> int:
    """Flush a closed file to disk; returns its size."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicFile:
    """One file being written under a temporary name beside its target.

    ``tmp`` does not exist yet: the writer (our code, GDAL, OGR) creates it.
    ``commit()`` flushes and verifies it and renames it over the target (or,
    inside ``atomic_batch()``, stages it); ``discard()`` removes it.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.dest = check_writable(path)
        self.tmp = _temp_name(self.dest)

    def commit(self, verify: Optional[Callable[[Path], None]] = None,
               expected_size: Optional[int] = None) -> Path:
        try:
            size = _fsync_path(self.tmp)
            if expected_size is not None and size != expected_size:
                raise SatSegError(f"cannot write {self.dest}: {incomplete_reason(self.dest.parent)} "
                                  f"({size:,} of {expected_size:,} bytes written)")
            if verify is not None:
                verify(self.tmp)
        except BaseException as exc:
            self.discard()
            if isinstance(exc, OSError):
                raise SatSegError(f"cannot write {self.dest}: {_os_message(exc)}") from exc
            raise
        batch = _BATCH.get()
        if batch is not None:
            batch._stage(self)
            return self.dest
        try:
            os.replace(self.tmp, self.dest)
        except OSError as exc:
            self.discard()
            raise SatSegError(f"cannot write {self.dest}: {_os_message(exc)}") from exc
        _fsync_dir(self.dest.parent)
        return self.dest

    def discard(self) -> None:
        try:
            self.tmp.unlink(missing_ok=True)
        except OSError:
            pass


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, verify: Optional[Callable[[Path], None]] = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a library that writes by name; commit it on success.

    ``verify(tmp)`` may raise to refuse the file (the target is then kept).
    """
    f = AtomicFile(path)
    try:
        yield f.tmp
    except OSError as exc:
        f.discard()
        raise SatSegError(f"cannot write {f.dest}: {_os_message(exc)}") from exc
    except BaseException:
        f.discard()
        raise
    f.commit(verify)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through; its final size must equal what was written."""
    f = AtomicFile(path)
    try:
        with open(f.tmp, "xb") as fh:   # a fresh file, mode 0666 minus the umask
            yield fh
            fh.flush()
            written = fh.tell()
    except OSError as exc:
        f.discard()
        raise SatSegError(f"cannot write {f.dest}: {_os_message(exc)}") from exc
    except BaseException:
        f.discard()
        raise
    f.commit(expected_size=written)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (on disk before the rename)."""
    with atomic_open(path) as fh:
        fh.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, newlines as given)."""
    return write_bytes_atomic(path, text.encode(encoding))


def copy_file_atomic(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy a file atomically; the copy must have the source's size."""
    src = Path(src)
    try:
        with open(src, "rb") as fin, atomic_open(dest) as fout:
            shutil.copyfileobj(fin, fout, _COPY_CHUNK)
            if fout.tell() != os.fstat(fin.fileno()).st_size:
                raise SatSegError(f"cannot copy {src}: it changed while being copied")
    except OSError as exc:
        raise SatSegError(f"cannot read {src}: {_os_message(exc)}") from exc
    return Path(dest)


# ------------------------------------------------------------------ batches
_BATCH: contextvars.ContextVar[Optional["AtomicBatch"]] = contextvars.ContextVar("satseg_atomic_batch",
                                                                                  default=None)


class AtomicBatch:
    """Verified files waiting to be switched in together (see ``atomic_batch``)."""

    def __init__(self) -> None:
        self._files: dict[Path, AtomicFile] = {}
        self._after: list[Callable[[], None]] = []

    def staged_path(self, path: str | os.PathLike) -> Path:
        """Where a file written in this batch can be read before the switch (the target otherwise)."""
        f = self._files.get(Path(path).resolve())
        return f.tmp if f is not None else Path(path)

    def after_switch(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once every file is in place (e.g. drop an autosave the save replaces)."""
        self._after.append(callback)

    def _stage(self, f: AtomicFile) -> None:
        key = f.dest.resolve()
        old = self._files.pop(key, None)
        if old is not None:
            old.discard()          # written twice in one run: the later one wins
        self._files[key] = f

    def discard(self) -> None:
        for f in self._files.values():
            f.discard()
        self._files.clear()

    def switch_in(self) -> None:
        """Rename every staged file over its target; on a failure undo the ones already switched."""
        # (file, backup of the old target or None, target replaced yet?)
        steps: list[list] = []
        try:
            for f in self._files.values():
                step = [f, None, False]
                steps.append(step)
                if f.dest.exists():
                    step[1] = _temp_name(f.dest, "old")
                    try:
                        os.link(f.dest, step[1])      # the old file stays in place until the rename
                    except OSError:
                        os.replace(f.dest, step[1])   # no hard links here (FAT): move it aside
                        step[2] = True
                os.replace(f.tmp, f.dest)
                step[2] = True
        except OSError as exc:
            for f, backup, replaced in reversed(steps):
                try:
                    if replaced and backup is not None:
                        os.replace(backup, f.dest)    # the old file back under its name
                    elif replaced:
                        f.dest.unlink(missing_ok=True)
                    elif backup is not None:
                        backup.unlink(missing_ok=True)
                except OSError:
                    pass   # a backup that cannot be put back stays beside the target, never deleted
            self.discard()
            raise SatSegError(f"cannot write {steps[-1][0].dest}: {_os_message(exc)}") from exc
        for folder in {f.dest.parent for f, _b, _r in steps}:
            _fsync_dir(folder)
        for _f, backup, _r in steps:
            if backup is not None:
                backup.unlink(missing_ok=True)
        self._files.clear()
        for callback in self._after:
            callback()


def staged_path(path: str | os.PathLike) -> Path:
    """Where to read ``path`` now: its temporary name if the current batch wrote it, else ``path``."""
    batch = _BATCH.get()
    return batch.staged_path(path) if batch is not None else Path(path)


@contextlib.contextmanager
def atomic_batch() -> Iterator[AtomicBatch]:
    """Switch in every atomic write of the block together, or none of them.

    Inside the block, writes are verified but wait under their temporary
    names; when the block ends without error they are renamed in the order
    they were written. An error removes them all, so every target keeps its
    previous file. A batch inside a batch joins the outer one.
    """
    outer = _BATCH.get()
    if outer is not None:
        yield outer
        return
    batch = AtomicBatch()
    token = _BATCH.set(batch)
    try:
        yield batch
    except BaseException:
        batch.discard()
        raise
    finally:
        _BATCH.reset(token)
    batch.switch_in()
