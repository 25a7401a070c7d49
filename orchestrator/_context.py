"""What a running agent can do: the daemon's side of :class:`agents.AgentContext`.

Everything goes through the files: a status is a cell edit, a message is appended to the
message log, a blocker is an entry in Notes and Blockers. File tools are confined to the
task's worktree (resolved, symlinks followed, then checked; ``.git`` is off limits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import structlog

from agents import Blocker, TaskBrief
from agents.tools import confine
from orchestrator import _planwrites as pw
from orchestrator.clock import iso, parse_iso
from orchestrator.filestore import FileNotReady
from orchestrator.router import append_to_log
from protocol import (
    BLOCKED,
    COMPLETED,
    FAILED,
    Message,
    Plan,
    Task,
    add_blocker_entry,
    agent_id,
    parse_messages,
    render_message,
)

if TYPE_CHECKING:
    from orchestrator._agentrun import Running
    from orchestrator.daemon import Daemon

log = structlog.get_logger()


def brief_for(plan: Plan, task: Task, attempt: int, worktree: Path) -> TaskBrief:
    model = plan.model_for(task.id)
    return TaskBrief(
        task_id=task.id,
        agent_id=agent_id(plan, task),
        attempt=attempt,
        role=task.role,
        description=task.description,
        skills=task.skills,
        branch=task.branch,
        worktree=worktree,
        dependencies=task.dependencies,
        model=model.model if model else None,
    )


class Context:
    def __init__(self, daemon: Daemon, running: Running) -> None:
        self._daemon = daemon
        self._running = running
        self.brief: TaskBrief = running.brief

    async def next_message(self) -> Message:
        message: Message = await self._running.inbox.receive()
        return message

    def pending_messages(self) -> Sequence[Message]:
        out: list[Message] = []
        while True:
            try:
                out.append(self._running.inbox.receive_nowait())
            except anyio.WouldBlock:
                return out

    async def sleep(self, seconds: float) -> None:
        await self._daemon.clock.sleep(seconds)

    async def write_file(self, relative: str, content: str) -> Path:
        target = confine(self.brief.worktree, relative)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")

        await anyio.to_thread.run_sync(write)
        log.info("agent_wrote_file", path=relative)
        return target

    async def commit(self, message: str) -> str | None:
        folder = self.brief.worktree.name
        sha = await self._daemon.worktrees.commit_all(folder, message)
        if sha:
            log.info("agent_committed", commit=sha[:12], branch=self.brief.branch)
        return sha

    async def send_message(
        self,
        to: str,
        type: str,
        text: str,
        *,
        body: str = "",
        priority: str | None = None,
        deadline: str | None = None,
    ) -> None:
        daemon = self._daemon
        block = render_message(
            sender=self.brief.agent_id,
            to=to,
            type=type,
            timestamp=iso(daemon.clock.now()),
            task=self.brief.task_id,
            priority=priority,
            deadline=deadline,
            text=text,
            body=body,
        )
        await append_to_log(daemon.store, daemon.config.messages_path, block, before_open=True)
        log.info("message_sent", to=to, type=type)

    async def sent_messages(self) -> Sequence[Message]:
        daemon, brief = self._daemon, self.brief
        since = parse_iso(self._running.started_at or "")

        def mine() -> list[Message]:
            try:
                text, _ = daemon.store.read(daemon.config.messages_path)
            except FileNotReady:
                return []
            return [
                m
                for m in parse_messages(text).messages
                if m.sender == brief.agent_id
                and m.task == brief.task_id
                and (since is None or ((at := parse_iso(m.timestamp)) is not None and at >= since))
            ]

        return await anyio.to_thread.run_sync(mine)

    async def report_blocker(self, blocker: Blocker) -> None:
        b = self.brief
        escalation = blocker.escalation_note or ("Yes" if blocker.escalate else "No")
        fields = {
            "Severity": blocker.severity,
            "Blocker Type": blocker.kind,
            "Description": blocker.description,
            "Required Resolution": blocker.resolution,
            "Escalation": escalation,
        }
        at = self._daemon.clock.now().strftime("%Y-%m-%d %H:%M")

        def add(text: str, plan: Plan) -> str:
            return add_blocker_entry(
                text, plan, task_id=b.task_id, agent_id=b.agent_id, timestamp=at, fields=fields
            )

        await self._daemon.write_plan(
            [pw.PlanEdit(add, f"blocker {b.task_id}"), pw.status(b.task_id, BLOCKED, pw.ACTIVE)]
        )
        log.info("blocker_reported", severity=blocker.severity, escalate=blocker.escalate)

    async def complete(self, summary: str) -> None:
        await self.commit(f"{self.brief.task_id}: {summary}")
        self._running.verdict = COMPLETED
        await self._daemon.write_plan(
            [
                pw.log_notes(self.brief.task_id, summary),
                pw.status(self.brief.task_id, COMPLETED, pw.ACTIVE),
            ]
        )

    async def record_usage(self, model: str, tokens: Mapping[str, int], usd: float) -> None:
        daemon = self._daemon
        assert daemon.journal is not None
        journal, task_id = daemon.journal, self.brief.task_id
        await daemon.journaled(lambda: journal.add_cost(task_id, model, tokens, usd))
        daemon.spent += usd

    def budget_left(self) -> float | None:
        budget = self._daemon.budget()
        return None if budget is None else budget - self._daemon.spent

    async def fail(self, reason: str) -> None:
        self._running.verdict = FAILED
        await self._daemon.write_plan(
            [
                pw.log_notes(self.brief.task_id, reason),
                pw.status(self.brief.task_id, FAILED, pw.ACTIVE),
            ]
        )
