"""Writes the daemon must not lose, tried again while the disk refuses them.

A write the disk refuses (full, read-only, an I/O error) raises ``WriteFailed`` and changes
nothing: the file store leaves the file as it was, the journal rolls its transaction back.
What the daemon decided must still happen, exactly once, so the same write is tried again —
after 0.5 s, doubling up to 30 s, on the injected clock — until it lands; nothing is decided
on top of a write that has not landed. A file's trouble is logged once when it starts (or its
reason changes) and once when it ends, however many writers wait on it (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import structlog

from orchestrator.adapters.clock import Clock
from orchestrator.adapters.filestore import FileStore, WriteFailed

log = structlog.get_logger()

T = TypeVar("T")

FIRST_DELAY = 0.5
MAX_DELAY = 30.0


class Backoff:
    """0.5 s, 1 s, 2 s … up to 30 s between the attempts of one thing that keeps failing."""

    def __init__(self) -> None:
        self._delay = FIRST_DELAY

    def next(self) -> float:
        delay = self._delay
        self._delay = min(delay * 2, MAX_DELAY)
        return delay

    def reset(self) -> None:
        self._delay = FIRST_DELAY


class Retry:
    def __init__(self, clock: Clock, report: Callable[..., None]) -> None:
        """``report(event, **fields)`` tells the progress observer of every failed attempt."""
        self.clock = clock
        self.report = report
        self._failing: dict[Path, tuple[str, int]] = {}  # file → (reason, failed attempts)

    async def until_written(self, file: Path, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt()``, again and again while it raises ``WriteFailed``."""
        backoff = Backoff()
        while True:
            try:
                result = await attempt()
            except WriteFailed as exc:
                self._failed(exc)
                await self.clock.sleep(backoff.next())
                continue
            self._worked(file)
            return result

    async def in_thread(self, file: Path, fn: Callable[..., T], *args: Any) -> T:
        """A blocking write (the journal's) in a worker thread, until it lands."""
        return await self.until_written(file, lambda: anyio.to_thread.run_sync(fn, *args))

    def _failed(self, exc: WriteFailed) -> None:
        reason, attempts = self._failing.get(exc.file, (None, 0))
        self._failing[exc.file] = (exc.reason, attempts + 1)
        if reason != exc.reason:
            log.error(exc.event, file=str(exc.file), reason=exc.reason, errno=exc.code)
        self.report("write_failed", file=str(exc.file), reason=exc.reason)

    def _worked(self, file: Path) -> None:
        state = self._failing.pop(file, None)
        if state is not None:
            log.info("write_recovered", file=str(file), failed_attempts=state[1])


class RetryingStore:
    """The daemon's file store: every update is tried again until the disk takes it."""

    def __init__(self, store: FileStore, retry: Retry) -> None:
        self.store = store
        self.retry = retry

    def read(self, path: Path) -> tuple[str, bytes]:
        return self.store.read(path)

    async def update(self, path: Path, edit: Callable[[str], str]) -> str:
        return await self.retry.until_written(path, lambda: self.store.update(path, edit))

    async def create(self, path: Path, text: str) -> None:
        await self.retry.until_written(path, lambda: self.store.create(path, text))
