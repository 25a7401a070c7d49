"""What a running agent can do: the daemon's side of :class:`agents.AgentContext`.

Everything goes through the files: a message is appended to the message log; a verdict or a
blocker is an event (:mod:`orchestrator.decisions.verdicts`) that becomes a status edit.
File tools are confined to the task's worktree (resolved, symlinks followed, then checked;
``.git`` is off limits).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream

from agents import Blocker, HandoffReport, TaskBrief
from agents.base import GATE_BLOCKED
from agents.tools import confine
from orchestrator.adapters.clock import iso, parse_iso
from orchestrator.adapters.filestore import FileNotReady
from orchestrator.adapters.merge_inputs import StartPoint, Unmerged
from orchestrator.decisions.gate_ticks import gate_ticks
from orchestrator.decisions.verdicts import (
    AgentEvent,
    BlockerReported,
    Completed,
    Failed,
    GateRefused,
)
from orchestrator.routing.message_log import append_to_log
from orchestrator.runtime import plan_edits as pw
from orchestrator.runtime.gating import GateVerdict, gate_completion, gate_results, passed_checks
from orchestrator.runtime.services import Services
from protocol import (
    BLOCKED,
    COMPLETED,
    FAILED,
    Message,
    Plan,
    Task,
    agent_id,
    parse_messages,
    render_message,
)

log = structlog.get_logger()

Submit = Callable[[AgentEvent, "str | None"], Awaitable[None]]  # (event, verdict it sets)


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
        inputs=tuple(
            (dep.id, worktree.parent / dep.worktree)
            for dep_id in task.dependencies
            if (dep := plan.task(dep_id)) is not None and dep.worktree
        ),
    )


class Context:
    def __init__(
        self,
        services: Services,
        brief: TaskBrief,
        inbox: MemoryObjectReceiveStream[Message],
        submit: Submit,
        started_at: str | None = None,
        completing: anyio.Lock | None = None,
    ) -> None:
        self._s = services
        self._started_at = started_at  # when the attempt began, as the journal says
        self._inbox = inbox
        self._submit = submit
        # Held by one gated completion at a time, from reading the plan to its write: of
        # tasks completing together, the last sees the others Completed (gate_ticks).
        self._completing = completing or anyio.Lock()
        self.brief = brief

    async def next_message(self) -> Message:
        message: Message = await self._inbox.receive()
        return message

    def pending_messages(self) -> Sequence[Message]:
        out: list[Message] = []
        while True:
            try:
                out.append(self._inbox.receive_nowait())
            except anyio.WouldBlock:
                return out

    async def sleep(self, seconds: float) -> None:
        await self._s.clock.sleep(seconds)

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
        sha = await self._s.worktrees.commit_all(folder, message)
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
        block = render_message(
            sender=self.brief.agent_id,
            to=to,
            type=type,
            timestamp=iso(self._s.clock.now()),
            task=self.brief.task_id,
            priority=priority,
            deadline=deadline,
            text=text,
            body=body,
        )
        await append_to_log(self._s.store, self._s.config().messages_path, block, before_open=True)
        log.info("message_sent", to=to, type=type)

    async def sent_messages(self) -> Sequence[Message]:
        s, brief = self._s, self.brief
        since = parse_iso(self._started_at or "")
        path = s.config().messages_path

        def mine() -> list[Message]:
            try:
                text, _ = s.store.read(path)
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
        at = self._s.clock.now().strftime("%Y-%m-%d %H:%M")
        await self._submit(BlockerReported(b.task_id, b.agent_id, at, fields), None)
        log.info("blocker_reported", severity=blocker.severity, escalate=blocker.escalate)

    async def complete(self, summary: str, report: HandoffReport | None = None) -> str | None:
        b = self.brief
        await self.commit(f"{b.task_id}: {summary}")
        plan = self._s.plan()
        task = plan.task(b.task_id) if plan is not None else None
        if task is not None and task.status == BLOCKED and await gate_results(self._s, b.task_id):
            # Blocked by its gates: nothing counts until a person resolves the blocker.
            return f"{GATE_BLOCKED}the task is Blocked; wait for its blocker's Resolution."
        verdict = await gate_completion(self._s, b)  # None: no gate applies
        if verdict is not None and not verdict.passed:
            await self._gate_failed(verdict)
            return verdict.directive
        # Kept before the verdict, so the Handoff written after Completed finds it.
        stated = {"summary": summary, **asdict(report or HandoffReport())}
        await self._s.journal.set_mark(report_key(b.task_id, b.attempt), json.dumps(stated))
        if verdict is None:
            await self._submit(Completed(b.task_id, summary), COMPLETED)
            return None
        note = f"{summary} · gates: {verdict.summary}"
        async with self._completing:
            known = self._s.writer.known  # Baton's own last write, or the last read
            plan = known[1] if known is not None else self._s.plan()
            passed = await passed_checks(self._s)
            ticks = gate_ticks(plan, passed, b.task_id) if plan is not None else ()
            await self._submit(Completed(b.task_id, note, ticks), COMPLETED)
        return None

    async def _gate_failed(self, verdict: GateVerdict) -> None:
        """Tell the agent as a Directive; with no fix round left, Block the task."""
        b, s = self.brief, self._s
        names = ", ".join(o.name for o in verdict.failed)
        if verdict.blocked:
            await self._block(verdict, names)
            return
        first = f"Gate {names} failed on your branch (round {verdict.round})."
        block = render_message(
            sender="Orchestrator",
            to=b.agent_id,
            type="Directive",
            timestamp=iso(s.clock.now()),
            task=b.task_id,
            text=first,
            body=verdict.directive,
        )
        await append_to_log(s.store, s.config().messages_path, block, before_open=True)
        log.info("gate_directive_sent", gates=names, round=verdict.round)
        await self._submit(GateRefused(b.task_id, verdict.directive), None)

    async def _block(self, verdict: GateVerdict, names: str) -> None:
        """No fix round left: a Technical blocker (the refusal tells the agent)."""
        b, s = self.brief, self._s
        log.info("gate_blocked", gates=names, round=verdict.round)
        failures = "; ".join(f"{o.name}: {'; '.join(o.failed)}" for o in verdict.failed)
        logs = ", ".join(o.log for o in verdict.failed)
        fields = {
            "Severity": "High",
            "Blocker Type": "Technical",
            "Description": f"Quality gate failed {verdict.round} times: {failures} (log {logs})",
            "Required Resolution": "Fix the failures on the branch, or change the gate; then "
            "set the task back to In Progress",
            "Escalation": "Yes",
        }
        at = s.clock.now().strftime("%Y-%m-%d %H:%M")
        await self._submit(BlockerReported(b.task_id, b.agent_id, at, fields), None)

    async def write_plan_line(self, prefix: str, line: str) -> bool:
        edit = pw.plan_line(prefix, line)
        await self._s.writer.write([edit])
        log.info("agent_wrote_plan_line", prefix=prefix, applied=edit.applied)
        return edit.applied

    async def record_usage(self, model: str, tokens: Mapping[str, int], usd: float) -> None:
        await self._s.journal.add_cost(self.brief.task_id, model, tokens, usd)

    def budget_left(self) -> float | None:
        budget = self._s.budget()
        return None if budget is None else budget - self._s.journal.spent_usd

    async def remember(self, key: str, value: str) -> None:
        b = self.brief
        await self._s.journal.set_mark(f"agent:{b.task_id}:{b.attempt}:{key}", value)

    async def recall(self, key: str) -> str | None:
        b = self.brief
        name = f"agent:{b.task_id}:{b.attempt}:{key}"
        return (await self._s.journal.marks(name)).get(name)

    async def fail(self, reason: str, *, output: str = "") -> None:
        b = self.brief
        await record_failure(self._s, b.task_id, b.attempt, reason, output)
        await self._submit(Failed(b.task_id, reason), FAILED)


def inputs_key(task_id: str) -> str:
    """The journal mark holding what the task's branch started from (merged, unmerged)."""
    return f"inputs:{task_id}"


async def record_inputs(services: Services, task_id: str, start: StartPoint) -> None:
    value = {"merged": list(start.merged), "unmerged": [u.to_json() for u in start.unmerged]}
    await services.journal.set_mark(inputs_key(task_id), json.dumps(value))


async def recorded_inputs(
    services: Services, task_id: str
) -> tuple[tuple[str, ...], tuple[Unmerged, ...]]:
    """What :func:`record_inputs` kept: the merged task ids and the unmerged branches."""
    key = inputs_key(task_id)
    data = json.loads((await services.journal.marks(key)).get(key) or "{}")
    merged = tuple(str(t) for t in data.get("merged", ()))
    return merged, tuple(Unmerged.from_json(u) for u in data.get("unmerged", ()))


def report_key(task_id: str, attempt: int) -> str:
    """The journal mark holding what an attempt's agent stated at completion."""
    return f"handoff_report:{task_id}:{attempt}"


def failure_key(task_id: str, attempt: int) -> str:
    """The journal mark holding why an attempt failed, for the next attempt's brief."""
    return f"failure:{task_id}:{attempt:06d}"


async def record_failure(
    services: Services, task_id: str, attempt: int, reason: str, output: str = ""
) -> None:
    value = json.dumps({"attempt": attempt, "reason": reason, "output": output[-4000:]})
    await services.journal.set_mark(failure_key(task_id, attempt), value)
