"""Running one task's agent: its inbox, its worktree, its coroutine, and what happens when
it ends without a verdict or crashes (SPEC sec. 6). The daemon spawns; this module runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from agents import TaskBrief
from orchestrator import _faults
from orchestrator import _planwrites as pw
from orchestrator._context import Context, brief_for
from orchestrator.filestore import FileNotReady
from orchestrator.worktrees import WorktreeError
from protocol import FAILED, IN_PROGRESS, Message, Task, parse_plan

if TYPE_CHECKING:
    from orchestrator.daemon import Daemon

log = structlog.get_logger()

_INBOX_SIZE = 1000


@dataclass
class Running:
    task_id: str
    attempt: int
    brief: TaskBrief
    scope: anyio.CancelScope
    deliver: MemoryObjectSendStream[Message]  # the router's end
    inbox: MemoryObjectReceiveStream[Message]  # the agent's end
    verdict: str | None = None  # Completed or Failed, once the agent said so
    delivered: set[str] = field(default_factory=set)  # ids of the messages it was given
    started_at: str | None = None  # when the attempt began (ISO 8601), as the journal says


def spawn(d: Daemon, task_id: str, attempt: int, intent_key: str | None) -> None:
    if task_id in d.running or d._tg is None:
        return
    plan = d.plan
    task = plan.task(task_id) if plan else None
    if plan is None or task is None:
        return
    brief = brief_for(plan, task, attempt, d.parent / task.worktree)
    send, receive = anyio.create_memory_object_stream[Message](_INBOX_SIZE)
    started_at = d._states[task_id].started_at if task_id in d._states else None
    running = Running(
        task_id, attempt, brief, anyio.CancelScope(), send, receive, started_at=started_at
    )
    d.running[task_id] = running
    d._tg.start_soon(_run_agent, d, running, task, intent_key)


async def _run_agent(d: Daemon, running: Running, task: Task, intent_key: str | None) -> None:
    task_id = running.task_id
    with structlog.contextvars.bound_contextvars(task_id=task_id, agent_id=running.brief.agent_id):
        try:
            with running.scope:
                try:
                    result = await _faults.worktree_for(d, task)
                except WorktreeError as exc:
                    log.error("worktree_failed", reason=str(exc))
                    await d.write_plan(
                        [pw.status(task_id, FAILED, pw.ACTIVE), pw.log_notes(task_id, str(exc))]
                    )
                    return
                d.report("worktree_ready", task_id=task_id, path=str(result.path))
                if result.created:
                    assert d.journal is not None
                    journal = d.journal
                    await d.journaled(
                        lambda: journal.event(
                            "worktree_created",
                            task_id,
                            attempt=running.attempt,
                            path=str(result.path),
                        )
                    )
                    log.info("worktree_created", path=str(result.path), branch=result.branch)
                if intent_key is not None:
                    await d._done_later(intent_key)()
                await d.router.on_agent_started(running)
                agent = d.agent_factory(task, d.config)
                log.info("agent_started", backend=type(agent).__name__, attempt=running.attempt)
                await agent.run(Context(d, running))
                if running.verdict is None:
                    await _ended_without_verdict(d, task_id)
        except Exception as exc:
            log.exception("agent_crashed", error=str(exc))
            with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                await d.write_plan(
                    [
                        pw.status(task_id, FAILED, pw.ACTIVE),
                        pw.log_notes(task_id, f"agent crashed: {exc}"),
                    ]
                )
        finally:
            d.running.pop(task_id, None)
            running.deliver.close()
            running.inbox.close()
            d.wake()


async def _ended_without_verdict(d: Daemon, task_id: str) -> None:
    try:
        text, _ = await anyio.to_thread.run_sync(d.store.read, d.config.plan_path)
    except FileNotReady:
        return
    task = parse_plan(text).task(task_id)
    if task is not None and task.status == IN_PROGRESS:
        await d.write_plan(
            [
                pw.status(task_id, FAILED, (IN_PROGRESS,)),
                pw.log_notes(task_id, "agent ended without completing the task"),
            ]
        )
