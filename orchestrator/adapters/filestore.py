"""Writes that never lose a person's edit, and never cut a file short (docs/operations.md).

Every write is: read → pure edit → write a temp file beside the target (every byte, looping
on short writes; mode and owner kept; fsynced) → swap it in → fsync the directory. A write
the disk refuses (full, read-only, an I/O error) raises :class:`WriteFailed` before the swap:
the file stays as it was and the temp file is removed. On Linux the swap is
``renameat2(RENAME_EXCHANGE)``: it leaves whatever was at the path a moment ago in the temp
path, so we can see whether a save slipped in between our read and the swap. If one did,
we wait for it to settle (an editor that truncates and writes may still be writing into
that inode), apply our edit on top of it, and swap again — the person's save is merged,
never dropped. Elsewhere we fall back to compare-then-rename.

Edits are pure functions ``str -> str`` that raise ``EditConflictError`` when their target
is gone; the store serialises writers per file and runs the blocking part in a thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import anyio
import structlog

from protocol import EditConflictError

log = structlog.get_logger()

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_SETTLE_SECONDS = 0.02  # how long a displaced file must stay unchanged before we merge it
_SETTLE_LIMIT = 2.0  # an editor that writes for longer than this is merged as it stands
_TEMP_MARK = ".baton-"


class FileNotReady(Exception):
    """The file is missing or empty: an editor is between truncating and writing it."""


class StoreConflict(Exception):
    """The file kept changing under the edit for longer than the retry limit."""


class WriteFailed(OSError):
    """The disk refused a write (no space, read-only, an I/O error). Nothing changed: the
    file is as it was, and no temp file is left. Trying again later is safe."""

    event = "plan_write_failed"  # what the daemon logs when a file's writes start failing

    def __init__(self, file: Path, reason: str, code: int | None = None) -> None:
        super().__init__(code, reason, str(file))
        self.file = file
        self.reason = reason

    @classmethod
    def of(cls, file: Path, cause: OSError) -> WriteFailed:
        return cls(file, cause.strerror or str(cause), cause.errno)

    @property
    def code(self) -> str | None:
        """The errno's name (``ENOSPC``), when the system gave one."""
        return errno.errorcode.get(self.errno) if self.errno else None

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


Writer = Callable[[int, memoryview], int]  # os.write's shape: returns the bytes it took


class Store(Protocol):
    """What writers of the two files need: :class:`FileStore`, or the daemon's retrying one."""

    def read(self, path: Path) -> tuple[str, bytes]: ...

    async def update(self, path: Path, edit: Callable[[str], str]) -> str: ...

    async def create(self, path: Path, text: str) -> None: ...


def _load_renameat2() -> Callable[[bytes, bytes], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int

    def exchange(a: bytes, b: bytes) -> int:
        return int(fn(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE))

    return exchange


_RENAMEAT2 = _load_renameat2()


def exchange_supported() -> bool:
    """True when atomic exchange is available (Linux with glibc ≥ 2.28)."""
    return _RENAMEAT2 is not None


def _exchange(a: Path, b: Path) -> None:
    assert _RENAMEAT2 is not None
    if _RENAMEAT2(os.fsencode(a), os.fsencode(b)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStore:
    def __init__(self, *, max_retries: int = 50, writer: Writer = os.write) -> None:
        """``writer`` is ``os.write`` unless a test puts a failing disk in its place."""
        self.max_retries = max_retries
        self._writer = writer
        self._locks: dict[Path, anyio.Lock] = {}
        self._counter = itertools.count()
        self._exchange = exchange_supported()

    # -- reading ----------------------------------------------------------------------------

    def read(self, path: Path) -> tuple[str, bytes]:
        """The file's text (line endings and BOM kept) and its bytes."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise FileNotReady(f"{path}: missing") from None
        if not raw:
            raise FileNotReady(f"{path}: empty")
        return raw.decode("utf-8", errors="replace"), raw

    def _read_when_ready(self, path: Path) -> tuple[str, bytes]:
        """:meth:`read`, waiting out a short truncate-then-write save."""
        deadline = time.monotonic() + _SETTLE_LIMIT
        while True:
            try:
                return self.read(path)
            except FileNotReady:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(_SETTLE_SECONDS)

    @staticmethod
    def cleanup(directory: Path) -> list[Path]:
        """Remove temp files a crash left behind; returns what was removed."""
        removed = []
        for p in directory.glob(f".*{_TEMP_MARK}*.tmp"):
            p.unlink(missing_ok=True)
            removed.append(p)
        return removed

    # -- writing ----------------------------------------------------------------------------

    async def create(self, path: Path, text: str) -> None:
        """Write ``text`` as the file when it is missing (or empty), whole or not at all."""
        lock = self._locks.setdefault(path, anyio.Lock())
        async with lock:
            await anyio.to_thread.run_sync(self._create, path, text)

    def _create(self, path: Path, text: str) -> None:
        try:
            empty = path.stat().st_size == 0
        except FileNotFoundError:
            empty = False
        else:
            if not empty:
                return
        tmp = self._temp(path, text.encode("utf-8"), new=not empty)
        try:
            if empty:
                os.replace(tmp, path)
            else:
                os.link(tmp, path)  # never over a file someone created meanwhile
        except FileExistsError:
            pass
        except OSError as exc:
            raise WriteFailed.of(path, exc) from exc
        finally:
            tmp.unlink(missing_ok=True)
        self._sync_dir(path)

    async def update(self, path: Path, edit: Callable[[str], str]) -> str:
        """Apply ``edit`` to the file atomically; returns the text now on disk."""
        lock = self._locks.setdefault(path, anyio.Lock())
        async with lock:
            return await anyio.to_thread.run_sync(self._update, path, edit)

    def _update(self, path: Path, edit: Callable[[str], str]) -> str:
        for _ in range(self.max_retries):
            text, raw = self._read_when_ready(path)
            try:
                new = edit(text)
            except EditConflictError:
                continue
            if new == text:
                return text
            if self._exchange:
                return self._swap_in(path, raw, new, edit)
            if self._replace_if_unchanged(path, raw, new):
                return new
        raise StoreConflict(f"{path}: changed under the edit {self.max_retries} times")

    def _swap_in(self, path: Path, expected: bytes, new: str, edit: Callable[[str], str]) -> str:
        # No retry limit here: once a save was displaced, only swapping in the merge of it
        # keeps it, and each round waits for the displaced file to settle, so this cannot
        # spin; it ends as soon as the person pauses for a moment.
        failure: Exception | None = None  # why our edit could not go into their save
        held: Path | None = None  # their displaced save, kept on disk until its merge is in
        while True:
            data = new.encode("utf-8")
            try:
                tmp = self._temp(path, data)
                try:
                    _exchange(tmp, path)
                except OSError as exc:
                    tmp.unlink(missing_ok=True)
                    raise WriteFailed.of(path, exc) from exc
            except BaseException:
                if held is not None:
                    self._put_back(held, path, expected)
                raise
            if held is not None:
                held.unlink()  # its merge is what the path holds now
                held = None
            displaced = tmp.read_bytes()
            if displaced != expected:
                displaced = self._settled(tmp)  # a save is in progress or just landed
            # Truncated and never written back: nothing of theirs to keep, ours stands.
            if displaced == expected or not displaced or data == displaced:
                tmp.unlink()
                self._sync_dir(path)
                if failure is not None:
                    raise failure
                return new
            # Someone saved between our read and the swap: merge our edit into their save.
            log.info("save_merged", file=path.name)
            held = tmp
            theirs = displaced.decode("utf-8", errors="replace")
            try:
                new, failure = edit(theirs), None
            except EditConflictError:
                new = theirs  # their save changed our target: theirs wins
            except Exception as exc:  # e.g. their plan does not check out: put it back as is
                new, failure = theirs, exc
            expected = data  # what we just put at the path

    @staticmethod
    def _put_back(held: Path, path: Path, ours: bytes) -> None:
        """The merge of a displaced save cannot be written: put the save back at the path
        (a rename needs no space). Should a newer save have landed meanwhile, it stays."""
        try:
            _exchange(held, path)
        except FileNotFoundError:  # the path is gone: their save is all there is
            os.replace(held, path)
            return
        if held.read_bytes() != ours:
            _exchange(held, path)  # a newer save of theirs was there: it wins over the older
        held.unlink()

    @staticmethod
    def _sync_dir(path: Path) -> None:
        # The swap is done and visible; failing the write now would make the caller apply
        # its edit a second time, so a directory that cannot be synced is only logged.
        try:
            _fsync_dir(path.parent)
        except OSError as exc:
            log.warning("directory_sync_failed", file=str(path), reason=exc.strerror)

    def _replace_if_unchanged(self, path: Path, expected: bytes, new: str) -> bool:
        tmp = self._temp(path, new.encode("utf-8"))
        try:
            if path.read_bytes() != expected:
                return False
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise WriteFailed.of(path, exc) from exc
        finally:
            tmp.unlink(missing_ok=True)
        self._sync_dir(path)
        return True

    def _temp(self, path: Path, data: bytes, *, new: bool = False) -> Path:
        """A complete, fsynced copy of ``data`` beside ``path``, with its mode and owner (a
        ``new`` file: the umask's); on any failure, none."""
        tmp = path.with_name(f".{path.name}{_TEMP_MARK}{os.getpid()}-{next(self._counter)}.tmp")
        st = None if new else path.stat()
        mode = st.st_mode & 0o7777 if st is not None else 0o666
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except OSError as exc:  # a read-only directory, or no inode left
            raise WriteFailed.of(path, exc) from exc
        try:
            try:
                self._write_all(fd, data)
                if st is not None:
                    os.fchmod(fd, mode)
                if st is not None and (st.st_uid != os.geteuid() or st.st_gid != os.getegid()):
                    try:
                        os.fchown(fd, st.st_uid, st.st_gid)
                    except PermissionError:
                        log.warning("owner_not_kept", file=path.name)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise WriteFailed.of(path, exc) from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    def _write_all(self, fd: int, data: bytes) -> None:
        # A nearly full disk takes part of a write() and says so only in the count: keep
        # writing the rest until it is all on disk or the disk raises ENOSPC.
        view = memoryview(data)
        while view:
            n = self._writer(fd, view)
            if n <= 0:
                raise OSError(errno.EIO, f"write() took {n} bytes of {len(view)}")
            view = view[n:]

    @staticmethod
    def _settled(path: Path) -> bytes:
        """The file's bytes once they stop changing (an editor may still be writing).

        An empty file is an editor between truncating and writing, so it is waited out
        too; one still empty at the limit is returned as it is.
        """
        data = path.read_bytes()
        deadline = time.monotonic() + _SETTLE_LIMIT
        while time.monotonic() < deadline:
            time.sleep(_SETTLE_SECONDS)
            again = path.read_bytes()
            if again == data and data:
                return data
            data = again
        return data
