"""Watch the plan directory for changes to the two markdown files.

We watch the *directory*, not the files: editors such as vim save by writing a new file and
renaming it over the old one, which a watch on the old inode would never see. On Linux the
watch is inotify read on the event loop (``orchestrator/adapters/inotify.py``): a rename into
place or a close after a write is reported at once, and any other change (a write still in
progress, a delete) once the directory has been quiet for a step, so a save in several
steps is one report. Elsewhere, with ``force_polling`` (network file systems), or when the
kernel refuses inotify (then watchfiles polls the directory), we drive watchfiles'
``RustNotify`` ourselves (as ``watchfiles.awatch`` does inside), which checks for changes
once a step from a thread.
Either way "ready" is reported only once the watch is really armed; the daemon re-reads
everything right after, so nothing saved before that moment is missed.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable
from pathlib import Path

import anyio
import structlog
from anyio.abc import TaskStatus
from watchfiles._rust_notify import RustNotify  # the watcher awatch wraps; see module doc

from orchestrator.adapters import inotify
from orchestrator.adapters.inotify import GONE, IN_Q_OVERFLOW, SETTLED, Inotify

log = structlog.get_logger()

# RustNotify returns after this long with nothing to report, so cancellation is prompt.
_RUST_TIMEOUT_MS = 200
_RETRY_SECONDS = 1.0
# The kernel has no inotify, refuses it (a seccomp filter) or is out of instances or
# watches: watch by polling instead, since watchfiles' own watch would be refused too.
_NO_INOTIFY = {errno.ENOSYS, errno.EPERM, errno.EMFILE, errno.ENFILE, errno.ENOSPC, errno.ENOMEM}


class DirectoryWatcher:
    """Calls ``on_change(names)`` with the watched file names that changed in ``directory``."""

    def __init__(
        self,
        directory: Path,
        names: Iterable[str],
        *,
        step_ms: int = 5,
        max_debounce_ms: int = 200,
        force_polling: bool | None = None,
    ) -> None:
        self.directory = directory
        self.names = frozenset(names)
        self.step_ms = max(1, step_ms)
        self.max_debounce_ms = max(self.step_ms, max_debounce_ms)
        self.force_polling = bool(force_polling)
        self.kernel = not self.force_polling and inotify.available()  # inotify, not RustNotify

    async def run(
        self,
        on_change: Callable[[frozenset[str]], None],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Watch until cancelled; after a watcher error, re-arm and report every file changed."""
        started = False
        while True:
            try:
                if self.kernel:
                    try:
                        watch = Inotify(self.directory)
                    except OSError as exc:
                        if exc.errno not in _NO_INOTIFY:
                            raise
                        log.warning(
                            "watcher_polling", directory=str(self.directory), reason=str(exc)
                        )
                        self.kernel, self.force_polling = False, True
                        continue
                    with watch:
                        started = self._armed(started, task_status, on_change)
                        await self._kernel_loop(watch, on_change)
                else:
                    with RustNotify(
                        [str(self.directory)], False, self.force_polling, 50, False, False
                    ) as notify:
                        started = self._armed(started, task_status, on_change)
                        await self._loop(notify, on_change)
            except OSError as exc:
                log.error("watcher_failed", directory=str(self.directory), error=str(exc))
                if not started:
                    raise
                await anyio.sleep(_RETRY_SECONDS)

    def _armed(
        self,
        started: bool,
        task_status: TaskStatus[None],
        on_change: Callable[[frozenset[str]], None],
    ) -> bool:
        if not started:
            task_status.started()
        else:
            on_change(self.names)  # we may have missed something while re-arming
        return True

    async def _kernel_loop(
        self, watch: Inotify, on_change: Callable[[frozenset[str]], None]
    ) -> None:
        pending: set[str] = set()  # changed, but maybe not yet complete
        since = 0.0  # when the oldest of them changed
        while True:
            if pending:
                left = since + self.max_debounce_ms / 1000 - anyio.current_time()
                with anyio.move_on_after(max(0.0, min(self.step_ms / 1000, left))) as quiet:
                    await anyio.wait_readable(watch.fd)
                if quiet.cancelled_caught:
                    on_change(frozenset(pending))
                    pending.clear()
                    since = 0.0
                    continue
            else:
                await anyio.wait_readable(watch.fd)
            settled: set[str] = set()
            for event in watch.read():
                if event.mask & GONE:
                    raise OSError(f"{self.directory}: the watched directory was removed or moved")
                if event.mask & IN_Q_OVERFLOW:  # events were lost: anything may have changed
                    settled |= self.names
                elif event.name in self.names:
                    (settled if event.mask & SETTLED else pending).add(event.name)
            if settled:
                on_change(frozenset(settled | pending))
                pending.clear()
            if not pending:
                since = 0.0
            elif not since:
                since = anyio.current_time()

    async def _loop(self, notify: RustNotify, on_change: Callable[[frozenset[str]], None]) -> None:
        stop = anyio.Event()
        while True:
            try:
                raw = await anyio.to_thread.run_sync(
                    notify.watch, self.max_debounce_ms, self.step_ms, _RUST_TIMEOUT_MS, stop
                )
            except anyio.get_cancelled_exc_class():
                stop.set()  # lets the watch thread return
                raise
            if isinstance(raw, str):  # 'timeout', 'stop' or 'signal'
                continue
            changed = frozenset(Path(path).name for _, path in raw) & self.names
            if changed:
                on_change(changed)
