"""Faults a development box really has, for tests: a disk that fills up under ``os.write``,
a read-only directory, a small real tmpfs."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


class Disk:
    """``os.write`` as a nearly full disk does it: at most ``chunk`` bytes per call, ``free``
    bytes in all, then ``OSError(fail)``; ``fail`` at once while ``full``. With ``only``, the
    fault hits only writes into temp files of that name (Linux: read from /proc)."""

    def __init__(
        self,
        *,
        free: int | None = None,
        chunk: int | None = None,
        fail: int = errno.ENOSPC,
        only: str | None = None,
    ) -> None:
        self.free, self.chunk, self.fail, self.only = free, chunk, fail, only
        self.full = False
        self.failures = 0

    def __call__(self, fd: int, data: bytes | memoryview) -> int:
        if self.only is not None and f".{self.only}." not in os.readlink(f"/proc/self/fd/{fd}"):
            return os.write(fd, data)
        if self.full or self.free == 0:
            self.failures += 1
            raise OSError(self.fail, os.strerror(self.fail))
        n = len(data)
        if self.chunk is not None:
            n = min(n, self.chunk)
        if self.free is not None:
            n = min(n, self.free)
            self.free -= n
        return os.write(fd, data[:n])


def temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def _mount(*args: str) -> bool:
    result = subprocess.run(["mount", *args], capture_output=True, check=False)
    return result.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` at ``path``; the test is skipped where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)):
        pytest.skip("mounting a tmpfs needs root (or CAP_SYS_ADMIN) on this machine")
    try:
        yield path
    finally:
        _umount(path)


def fill(directory: Path, leave: int = 0) -> Path:
    """Fill the file system of ``directory`` up to ``leave`` free bytes with a filler file."""
    filler = directory / "filler.bin"
    with filler.open("wb") as f:
        while True:
            free = os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize
            if free <= leave:
                break
            try:
                f.write(b"\0" * min(1 << 16, free - leave))
                f.flush()
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return filler


@contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """``directory`` read-only for the test's duration: by its mode for an ordinary user, by a
    read-only bind mount for root (whom modes do not stop); skipped when neither works."""
    if os.geteuid() != 0:
        mode = directory.stat().st_mode
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(mode)
        return
    if not _mount("--bind", str(directory), str(directory)):
        pytest.skip("root cannot bind-mount here, and modes do not stop root")
    try:
        if not _mount("-o", "remount,bind,ro", str(directory)):
            pytest.skip("root cannot remount a bind mount read-only here")
        yield
    finally:
        _umount(directory)
