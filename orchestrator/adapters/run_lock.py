"""One daemon per plan directory: an exclusive ``flock`` on ``.baton/lock``.

The kernel releases a flock when its holder dies in any way (``kill -9`` included), so a
stale lock never needs cleaning up. The holder writes its pid into the file so that a
second daemon can say who is in its way. The read-only commands never take the lock.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

LOCK_FILE = "lock"
_PID_WAIT_SECONDS = 1.0  # how long to wait for a holder that has not written its pid yet
_PID_STEP_SECONDS = 0.02


class AlreadyRunning(Exception):
    """Another daemon holds the plan directory's lock; the message says which and where."""


class RunLock:
    """The lock of one plan directory, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`AlreadyRunning` naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            who = f"another baton run (pid {holder})" if holder else "another baton run"
            raise AlreadyRunning(f"{who} holds {self.path}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None

    def lost(self) -> bool:
        """True when the lock file was removed under us (``rm -r .baton``): the flock is on
        a file nobody else can see, so a second daemon could start. Blocking."""
        if self._fd is None:
            return False
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return True
        held = os.fstat(self._fd)
        return (on_disk.st_dev, on_disk.st_ino) != (held.st_dev, held.st_ino)

    def retake(self) -> None:
        """After :meth:`lost`: lock a fresh file at the path (AlreadyRunning if someone else
        took it meanwhile)."""
        self.release()
        self.acquire()


def _holder(fd: int) -> int | None:
    """The pid the holder wrote, waiting a moment for one that has only just locked."""
    deadline = time.monotonic() + _PID_WAIT_SECONDS
    while True:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        if text.isdigit():
            return int(text)
        if time.monotonic() >= deadline:
            return None
        time.sleep(_PID_STEP_SECONDS)
