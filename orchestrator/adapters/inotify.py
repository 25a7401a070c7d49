"""Linux inotify on one directory, read without a thread (docs/architecture.md).

The kernel queues an event the moment a file in the directory is renamed, closed after a
write, created, changed or deleted; the event loop learns of it through the descriptor
becoming readable, so a save is seen within a fraction of a millisecond and an idle watch
costs nothing. watchfiles, by contrast, polls its queue every step from a thread
(``orchestrator/adapters/watcher.py`` falls back to it where inotify is not available).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000

# What a save can do to a file in the directory, and what can happen to the directory.
WATCHED = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)
# The file is complete: renamed into place, or closed after a write.
SETTLED = IN_MOVED_TO | IN_CLOSE_WRITE
# The watch itself has ended: the directory was removed, moved or unmounted.
GONE = IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED

_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of NUL-padded name
_READ_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Event:
    mask: int
    name: str  # "" for an event of the directory itself or of the queue


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    return libc if hasattr(libc, "inotify_init1") else None


_LIBC = _libc()


def available() -> bool:
    """Whether this system has inotify (Linux)."""
    return _LIBC is not None


class Inotify:
    """An inotify descriptor watching ``directory`` (not its subdirectories).

    Raises ``OSError`` when the kernel refuses (no inotify, too many instances or watches,
    the directory missing); the caller then falls back to polling.
    """

    def __init__(self, directory: Path) -> None:
        if _LIBC is None:
            raise OSError(errno.ENOSYS, "inotify is not available on this system")
        fd = _LIBC.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"inotify_init1: {os.strerror(code)}")
        wd = _LIBC.inotify_add_watch(fd, os.fsencode(directory), WATCHED)
        if wd < 0:
            code = ctypes.get_errno()
            os.close(fd)
            raise OSError(code, os.strerror(code), str(directory))
        self.fd = fd

    def read(self) -> list[Event]:
        """Every event queued now (none when the queue is empty)."""
        events: list[Event] = []
        while True:
            try:
                data = os.read(self.fd, _READ_SIZE)
            except BlockingIOError:
                return events
            if not data:
                return events
            events.extend(decode(data))

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Inotify:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decode(data: bytes) -> Iterator[Event]:
    """The events in one read of an inotify descriptor."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        _, mask, _, length = _HEADER.unpack_from(data, offset)
        offset += _HEADER.size
        raw = data[offset : offset + length].split(b"\0", 1)[0]
        offset += length
        yield Event(mask, os.fsdecode(raw))


__all__ = ["GONE", "IN_Q_OVERFLOW", "SETTLED", "Event", "Inotify", "available", "decode"]
