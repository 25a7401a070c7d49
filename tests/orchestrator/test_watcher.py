"""The directory watcher on real files: inotify on Linux, watchfiles when polling."""

from __future__ import annotations

import os
import shutil
import struct
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from orchestrator.adapters import inotify
from orchestrator.adapters.watcher import DirectoryWatcher

PLAN, MESSAGES = "MULTI_AGENT_PLAN.md", "INTER_AGENT_MESSAGES.md"
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


class Reports:
    """Each report of the watcher, waited on by content, never by time."""

    def __init__(self) -> None:
        self.seen: list[frozenset[str]] = []
        self._changed = anyio.Event()

    def __call__(self, names: frozenset[str]) -> None:
        self.seen.append(names)
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_for(self, names: set[str], *, after: int = 0) -> frozenset[str]:
        """The first report after the first ``after`` that names all of ``names``."""
        with anyio.fail_after(10):
            while True:
                for report in self.seen[after:]:
                    if names <= report:
                        return report
                await self._changed.wait()


@asynccontextmanager
async def watching(directory: Path, **kw: object) -> AsyncIterator[Reports]:
    reports = Reports()
    watcher = DirectoryWatcher(directory, {PLAN, MESSAGES}, **kw)  # type: ignore[arg-type]
    async with anyio.create_task_group() as tg:
        await tg.start(watcher.run, reports)
        yield reports
        tg.cancel_scope.cancel()


def _save_by_rename(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@linux
def test_the_kernel_watch_is_used_on_linux(tmp_path: Path) -> None:
    assert inotify.available()
    assert DirectoryWatcher(tmp_path, {PLAN}).kernel
    assert not DirectoryWatcher(tmp_path, {PLAN}, force_polling=True).kernel


@pytest.mark.parametrize("polling", [False, True], ids=["kernel", "polling"])
async def test_a_save_by_rename_is_reported_with_its_name_only(
    tmp_path: Path, polling: bool
) -> None:
    async with watching(tmp_path, force_polling=polling) as reports:
        _save_by_rename(tmp_path / "notes.txt", "not watched\n")
        _save_by_rename(tmp_path / PLAN, "# plan\n")
        assert await reports.wait_for({PLAN}) == {PLAN}
        assert all(report <= {PLAN, MESSAGES} for report in reports.seen)


@linux
async def test_a_write_closed_is_reported_and_one_left_open_after_a_quiet_step(
    tmp_path: Path,
) -> None:
    async with watching(tmp_path, step_ms=5) as reports:
        (tmp_path / MESSAGES).write_text("closed\n", encoding="utf-8")
        await reports.wait_for({MESSAGES})
        count = len(reports.seen)
        with (tmp_path / PLAN).open("w", encoding="utf-8") as writer:
            writer.write("# still being written\n")
            writer.flush()  # changed on disk, not yet closed: reported once it is quiet
            assert await reports.wait_for({PLAN}, after=count) == {PLAN}


@linux
async def test_a_removed_directory_is_watched_again_once_it_is_back(tmp_path: Path) -> None:
    watched = tmp_path / "plan"
    watched.mkdir()
    async with watching(watched) as reports:
        shutil.rmtree(watched)
        watched.mkdir()
        # Re-armed: both files are reported, since anything may have changed meanwhile.
        assert await reports.wait_for({PLAN, MESSAGES}) == {PLAN, MESSAGES}
        count = len(reports.seen)
        _save_by_rename(watched / PLAN, "# back\n")
        assert await reports.wait_for({PLAN}, after=count) == {PLAN}


async def test_a_missing_directory_fails_at_start(tmp_path: Path) -> None:
    failed = False
    try:
        async with watching(tmp_path / "missing"):
            pass
    except* FileNotFoundError:
        failed = True
    assert failed


def test_events_are_decoded_from_the_kernels_layout() -> None:
    def event(mask: int, name: bytes, length: int) -> bytes:
        return struct.pack("iIII", 1, mask, 0, length) + name.ljust(length, b"\0")

    data = event(inotify.IN_MOVED_TO, PLAN.encode(), 32) + event(inotify.IN_Q_OVERFLOW, b"", 0)
    assert list(inotify.decode(data)) == [
        inotify.Event(inotify.IN_MOVED_TO, PLAN),
        inotify.Event(inotify.IN_Q_OVERFLOW, ""),
    ]
