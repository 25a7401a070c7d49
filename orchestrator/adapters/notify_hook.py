"""Telling a person: ``notify_command`` from ``baton.toml`` (SPEC sec. 9).

The command is an argument list, run without a shell, with the event as one JSON object on
stdin and a one-line summary as its last argument — enough for ``notify-send``, ``mail`` or
``curl`` to a chat webhook. It runs in the background with a time limit: a failing or slow
command is logged and never holds up the daemon.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup

log = structlog.get_logger()

_TIMEOUT_SECONDS = 30.0


class Notifier:
    def __init__(self, command: Sequence[str], tg: TaskGroup | None = None) -> None:
        self.command = tuple(command)
        self.tg = tg

    def notify(self, event: str, summary: str, fields: Mapping[str, Any]) -> None:
        """Fire and forget: a person should look at ``summary``."""
        log.info("notified", notify_event=event, summary=summary, command=bool(self.command))
        if not self.command or self.tg is None:
            return
        payload = json.dumps({"event": event, "summary": summary, **fields}, default=str)
        self.tg.start_soon(self._run, payload, summary)

    async def _run(self, payload: str, summary: str) -> None:
        argv = [*self.command, summary]
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
