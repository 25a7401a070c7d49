"""Watch the plan directory for changes to the two markdown files.

We watch the *directory*, not the files: editors such as vim save by writing a new file and
renaming it over the old one, which a watch on the old inode would never see. We drive
watchfiles' ``RustNotify`` ourselves (as ``watchfiles.awatch`` does inside) so that "ready"
is reported only once the OS watch is really armed; the daemon re-reads everything right
after, so nothing saved before that moment is missed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import anyio
import structlog
from anyio.abc import TaskStatus
from watchfiles._rust_notify import RustNotify  # the watcher awatch wraps; see module doc

log = structlog.get_logger()

# RustNotify returns after this long with nothing to report, so cancellation is prompt.
_RUST_TIMEOUT_MS = 200
_RETRY_SECONDS = 1.0


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
                with RustNotify(
                    [str(self.directory)], False, self.force_polling, 50, False, False
                ) as notify:
                    if not started:
                        started = True
                        task_status.started()
                    else:
                        on_change(self.names)  # we may have missed something while re-arming
                    await self._loop(notify, on_change)
            except OSError as exc:
                log.error("watcher_failed", directory=str(self.directory), error=str(exc))
                if not started:
                    raise
                await anyio.sleep(_RETRY_SECONDS)

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
