"""One call that logs an event and tells the progress observer (the demo's printer, tests)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog

log = structlog.get_logger()

Progress = Callable[[str, Mapping[str, Any]], None]


class Reporter:
    """``report("task_started", task_id="T1")`` logs ``task_started`` at ``level`` with its
    fields and hands the same event to the observer, so the two never disagree."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress

    def __call__(self, event: str, *, level: str = "info", **fields: Any) -> None:
        getattr(log, level)(event, **fields)
        self.observe(event, **fields)

    def observe(self, event: str, **fields: Any) -> None:
        """Tell only the observer: for what repeats on every attempt (a write retried, a
        failing pass), which the log says once when it starts and once when it ends."""
        if self._progress is None:
            return
        try:
            self._progress(event, fields)
        except Exception as exc:  # an observer's failure (a closed pipe) is not the run's
            log.warning("progress_failed", progress_event=event, error=str(exc))
            self._progress = None
