"""Telling a person: ``notify_command`` from ``baton.toml`` (docs/user-guide.md, "Configuration").

The command is an argument list, run without a shell, with the event as one JSON object on
stdin and a one-line summary as its last argument — enough for ``notify-send``, ``mail`` or
``curl`` to a chat webhook. It runs in the background with a time limit: a failing or slow
command is logged and never holds up the daemon.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup

log = structlog.get_logger()

_TIMEOUT_SECONDS = 30.0


class NotifyHook:
    """Runs the command in force (``command()``, read at each notification: a SIGHUP that
    changes ``notify_command`` takes effect on the next one) in ``tg``."""

    def __init__(self, command: Callable[[], Sequence[str]], tg: TaskGroup) -> None:
        self._command = command
        self._tg = tg

    def notify(self, event: str, summary: str, fields: Mapping[str, Any]) -> None:
        """Fire and forget: a person should look at ``summary``."""
        command = tuple(self._command())
        log.info("notified", notify_event=event, summary=summary, command=bool(command))
        if not command:
            return
        payload = json.dumps({"event": event, "summary": summary, **fields}, default=str)
        self._tg.start_soon(self._run, command, payload, summary)

    async def _run(self, command: tuple[str, ...], payload: str, summary: str) -> None:
        argv = [*command, summary]
        try:
            with anyio.fail_after(_TIMEOUT_SECONDS):
                result = await anyio.run_process(
                    argv, input=payload.encode("utf-8"), check=False, stderr=subprocess.PIPE
                )
        except TimeoutError:
            log.error("notify_failed", reason=f"no exit after {_TIMEOUT_SECONDS:.0f}s")
            return
        except OSError as exc:
            log.error("notify_failed", reason=str(exc))
            return
        if result.returncode != 0:
            err = result.stderr.decode("utf-8", "replace").strip().splitlines()
            log.error("notify_failed", exit_code=result.returncode, stderr=err[-1] if err else "")
