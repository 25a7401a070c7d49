"""After a crash: finish what the journal says was decided and not yet done, with the
parameters decided back then, before anything new is decided (docs/architecture.md).

Each replay is harmless to repeat: plan edits that are already on disk change nothing, an
agent already running is not started again, and an owed Handoff the message log already
holds is not sent again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import structlog

from orchestrator import _agentrun
from orchestrator import _planwrites as pw
from orchestrator.clock import format_duration, parse_iso
from orchestrator.journal import HANDOFF, Intent

if TYPE_CHECKING:
    from orchestrator.daemon import Daemon

log = structlog.get_logger()


async def replay(d: Daemon) -> None:
    """Replay the journal's pending intents; an owed Handoff goes in the background."""
    assert d.journal is not None
    for intent in await anyio.to_thread.run_sync(d.journal.pending):
        p = intent.payload
        log.info("intent_replayed", key=intent.key, kind=intent.kind)
        if intent.kind == "StartTask":
            await d.write_plan(
                [
                    pw.start(p["task_id"], p["at"]),
                    pw.start_log(p["task_id"], p["agent_id"], p["at"]),
                ]
            )
            _agentrun.spawn(d, p["task_id"], p["attempt"], intent.key)
            continue
        if intent.kind == HANDOFF:
            await d.soon(_owed_handoff, d, intent)
            continue
        if intent.kind == "FinishTask":
            start = parse_iso(p["started_at"]) if p.get("started_at") else None
            end = parse_iso(p["at"])
            duration = format_duration((end - start).total_seconds()) if start and end else None
            await d.write_plan([pw.finish(p["task_id"], p["status"], p["at"], duration)])
        elif intent.kind == "AdoptTask":
            await d.write_plan([pw.adopt(p["task_id"], p["agent_id"], p["at"])])
        await d.journaled(d.journal.done, intent.key, "done")
    d.wake()


async def _owed_handoff(d: Daemon, intent: Intent) -> None:
    await d._valid.wait()  # who is downstream is in the plan: wait for the first valid one
    await d.orchestrator.handoff(intent, replay=True)
