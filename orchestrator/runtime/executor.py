"""The executor: the one place actions become effects (docs/architecture.md).

:meth:`Executor.apply` takes the actions of one decision and carries them out in three
steps. First, in order, what must happen before the plan is written: the journaled actions'
intents (with the task states they lead to, in one transaction, and before any effect that
follows them), stopping and resuming agents, messages, marks and notifications. Then all
plan edits of the decision in one atomic write. Then what depends on that write: reports
are made, agents start for the starts that landed, intents are marked done (again in one
transaction) and handoffs begin. :meth:`Executor.replay` does the same for an intent a
crash left pending, from the parameters journaled back then. Every action type has its
``case``; a new one that does not is a type error (``assert_never``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, assert_never

import structlog

from orchestrator.adapters.clock import format_duration, iso, parse_iso
from orchestrator.adapters.journal import Begin, Intent
from orchestrator.adapters.notify_hook import NotifyHook
from orchestrator.decisions.actions import (
    KIND_HANDOFF,
    KIND_UNDO,
    Action,
    AdoptTask,
    AppendTriage,
    BudgetExhausted,
    Escalate,
    FinishTask,
    Integrate,
    Journaled,
    Notify,
    Once,
    RecordBlocker,
    Report,
    ResetTask,
    ResumeTask,
    SendMessage,
    SetMark,
    SetPlanStatus,
    SetTaskStatus,
    StartTask,
    StopAgent,
    SyncLogStatus,
    TickChecklist,
    WriteComparison,
    WriteGoNoGo,
    WriteMetrics,
    handoff_key,
    intent_key,
    kind_of,
    start_key,
    to_payload,
)
from orchestrator.decisions.scheduler import TaskState
from orchestrator.routing.message_log import append_to_log
from orchestrator.runtime import plan_edits as pw
from orchestrator.runtime.agent_pool import AgentPool
from orchestrator.runtime.briefing import brief_path
from orchestrator.runtime.integration import run_integration
from orchestrator.runtime.services import Services
from protocol import COMPLETED, FAILED, render_message

log = structlog.get_logger()

ORCHESTRATOR = "Orchestrator"  # the sender of the orchestrator's own messages
Handoff = Callable[[Intent], Awaitable[None]]  # sends an owed handoff, marks it done
# Starts a coroutine function in the run's task group.
Background = Callable[[Callable[[], Coroutine[Any, Any, None]]], object]


@dataclass
class _Batch:
    """One decision's work, by the step it belongs to."""

    edits: list[pw.PlanEdit] = field(default_factory=list)
    starts: list[tuple[StartTask, pw.PlanEdit, TaskState]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # intent keys, marked after the write
    after: list[tuple[Report | AppendTriage, pw.PlanEdit | None]] = field(default_factory=list)
    handoffs: list[Intent] = field(default_factory=list)
    # The intents staged and not yet journaled, the task states they lead to, and the
    # handoffs owed only if their finish is new (its index in `begins`).
    begins: list[Begin] = field(default_factory=list)
    states: dict[str, TaskState] = field(default_factory=dict)
    owed: list[tuple[int, Intent]] = field(default_factory=list)


class Executor:
    """Applies actions with the run's services; the agent pool starts and stops agents, the
    notify hook tells people, ``handoff`` tells a completed task's downstream agents, in the
    ``background``."""

    def __init__(
        self,
        services: Services,
        agents: AgentPool,
        notify: NotifyHook,
        *,
        handoff: Handoff,
        background: Background,
    ) -> None:
        self._s = services
        self._agents = agents
        self._notify = notify
        self._handoff = handoff
        self._background = background
        self._budget_warned = False

    async def apply(self, actions: Sequence[Action]) -> str | None:
        """Carry out one decision; returns the plan text written, or None if none was."""
        batch = _Batch()
        for action in actions:
            await self._stage(action, batch)
        await self._journal(batch)
        s = self._s
        written = await s.writer.write(batch.edits, defer=True) if batch.edits else None
        for done, landed in batch.after:
            self._after(done, landed)
        for start, edit, previous in batch.starts:  # agents first: bookkeeping can wait
            await self._started(start, edit, previous)
        await s.journal.done_all(batch.done)
        for owed in batch.handoffs:
            # In the background: git and the message log must not delay the next decision.
            self._background(_guarded(self._handoff, owed))
        s.writer.flush()
        return written

    async def _journal(self, batch: _Batch) -> None:
        """Journal the intents staged so far, in one transaction: before the plan write
        they lead to, and before any other effect that follows them in the decision."""
        if not batch.begins:
            return
        fresh = await self._s.journal.begin_all(batch.begins)
        batch.handoffs += [handoff for i, handoff in batch.owed if fresh[i]]
        batch.begins, batch.owed = [], []

    async def _stage(self, action: Action, batch: _Batch) -> None:
        s = self._s
        if isinstance(action, (StopAgent, Integrate, SendMessage, Notify, Escalate)):
            await self._journal(batch)  # effects outside the plan come after their intents
        match action:
            case StartTask(task_id, attempt, agent_id, at):
                previous = self._state(batch, task_id)
                self._begin(batch, action, TaskState(attempt, True, None, at))
                edit = pw.start(task_id, at)
                batch.edits += [edit, pw.start_log(task_id, agent_id, at)]
                batch.starts.append((action, edit, previous))
            case ResumeTask(task_id, attempt):
                log.info("task_resumed", task_id=task_id, attempt=attempt)
                # A start replayed before the first plan was read could not spawn its
                # agent: this one marks that start done once its worktree is ready.
                self._agents.spawn(task_id, attempt, start_key(task_id, attempt))
            case AdoptTask(task_id, attempt, agent_id, at):
                self._begin(batch, action, TaskState(attempt, True, None, at, True))
                batch.edits.append(pw.adopt(task_id, agent_id, at))
                batch.done.append(intent_key(action))
                batch.after.append((Report("task_adopted", _task(action)), None))
            case FinishTask(task_id, attempt, status, at):
                previous = self._state(batch, task_id)
                state = TaskState(
                    previous.attempt or attempt,
                    previous.started,
                    status,
                    previous.started_at,
                    previous.external,
                )
                # The handoff is owed from the moment the finish is decided: journaled with
                # it, it is sent after a crash too (at least once), found pending at restart.
                handoff = Intent(
                    handoff_key(task_id, state.attempt),
                    KIND_HANDOFF,
                    {"task_id": task_id, "attempt": state.attempt, "at": at},
                )
                owed = (handoff,) if status == COMPLETED else ()
                index = self._begin(batch, action, state, owed)
                duration = self._duration(action)
                batch.edits.append(pw.finish(task_id, status, at, duration))
                batch.done.append(intent_key(action))
                event = "task_completed" if status == COMPLETED else "task_failed"
                fields = {"task_id": task_id, "attempt": attempt, "duration": duration}
                batch.after.append((Report(event, fields), None))
                if status == FAILED:
                    log.warning("escalated", task_id=task_id, reason="task_failed")
                else:
                    batch.owed.append((index, handoff))  # if the finish is new
            case ResetTask():
                self._begin(batch, action, TaskState(action.attempt))
                batch.done.append(intent_key(action))
                batch.after.append((Report("task_reset", _task(action)), None))
            case StopAgent(task_id, reason):
                if self._agents.stop(task_id):
                    log.info("agent_stopped", task_id=task_id, reason=reason)
            case SyncLogStatus(task_id, status):
                batch.edits.append(pw.log_status(task_id, status))
            case SetPlanStatus(value):
                batch.edits.append(pw.header_status(value))
                batch.after.append((Report("plan_status_changed", {"status": value}), None))
            case BudgetExhausted():
                if not self._budget_warned:
                    self._budget_warned = True
                    log.warning("escalated", reason="budget_exhausted", **asdict(action))
            case SetTaskStatus(task_id, status, expected, note):
                if note is not None:
                    batch.edits.append(pw.log_notes(task_id, note))
                batch.edits.append(pw.status(task_id, status, expected))
            case RecordBlocker():
                batch.edits.append(
                    pw.blocker(action.task_id, action.agent_id, action.timestamp, action.fields)
                )
            case AppendTriage(key, _, lines):
                edit = pw.triage_lines(key, lines)
                batch.edits.append(edit)
                batch.after.append((action, edit))
            case TickChecklist(items):
                batch.edits += [pw.tick(item) for item in items]
            case WriteMetrics(values):
                batch.edits.append(pw.metrics(values))
            case WriteGoNoGo(value, box):
                batch.edits.append(pw.go_no_go(value, box))
            case WriteComparison(values):
                batch.edits.append(pw.comparison(values))
            case Integrate():
                plan = s.plan()
                if plan is not None:
                    for done in await run_integration(s, plan, action):
                        await self._stage(done, batch)
            case SendMessage():
                await self._send(action)
            case Escalate(reason, summary, fields):
                self._escalate(reason, summary, fields)
            case Notify(event, summary, fields):
                self._notify.notify(event, summary, fields)
            case Report():
                batch.after.append((action, None))
            case SetMark(key, value):
                await s.journal.set_mark(key, value)
            case Once(key, inner, value):
                if await s.journal.mark(key, value or iso(s.clock.now())):
                    for a in inner:
                        await self._stage(a, batch)
            case _:
                assert_never(action)

    def _after(self, action: Report | AppendTriage, edit: pw.PlanEdit | None) -> None:
        match action:
            case Report(event, fields, level):
                self._s.report(event, level=level, **fields)
            case AppendTriage(_, task_id, _, decision, escalation):
                if edit is None or not edit.applied:
                    return  # a person triaged it first
                self._s.report("blocker_triaged", task_id=task_id, decision=decision)
                if escalation is not None:
                    self._escalate(escalation.reason, escalation.summary, escalation.fields)
            case _:
                assert_never(action)

    def _state(self, batch: _Batch, task_id: str) -> TaskState:
        """The task's state as the decision so far leaves it."""
        return batch.states.get(task_id) or self._s.journal.states.get(task_id, TaskState())

    @staticmethod
    def _begin(
        batch: _Batch, action: Journaled, state: TaskState, also: Sequence[Intent] = ()
    ) -> int:
        """Stage the action's intent; returns its index among the staged intents."""
        intent = Intent(intent_key(action), kind_of(action), to_payload(action))
        batch.begins.append(Begin(intent, state, action.task_id, tuple(also)))
        batch.states[action.task_id] = state
        return len(batch.begins) - 1

    async def _started(self, a: StartTask, edit: pw.PlanEdit, previous: TaskState) -> None:
        key = intent_key(a)
        if edit.applied:
            brief = str(brief_path(Path(".baton"), a.task_id))  # relative to the plan directory
            self._s.report(
                "task_started",
                task_id=a.task_id,
                agent_id=a.agent_id,
                attempt=a.attempt,
                brief=brief,
            )
            self._agents.spawn(a.task_id, a.attempt, key)
            return
        # A person changed the Status cell first: their value wins, the start is void.
        journal = self._s.journal
        await journal.done(key, "cancelled")
        await journal.begin(f"undo:{key}", KIND_UNDO, {}, previous, a.task_id)
        log.info("task_start_cancelled", task_id=a.task_id, reason="status changed by someone")

    def _duration(self, a: FinishTask) -> str | None:
        if a.started_at:
            start = parse_iso(a.started_at)
        else:  # begun by someone else: the log row says since when
            plan = self._s.plan()
            row = plan.log_row(a.task_id) if plan else None
            start = parse_iso(row.started) if row is not None and row.started else None
        end = parse_iso(a.at)
        if start is None or end is None:
            return None
        return format_duration((end - start).total_seconds())

    async def _send(self, m: SendMessage) -> None:
        s = self._s
        block = render_message(
            sender=ORCHESTRATOR,
            to=m.to,
            type=m.type,
            timestamp=iso(s.clock.now()),
            task=m.task,
            text=m.text,
            body=m.body,
        )
        await append_to_log(s.store, s.config().messages_path, block, before_open=True)
        log.info("message_sent", sender=ORCHESTRATOR, to=m.to, type=m.type, task_id=m.task)

    def _escalate(self, reason: str, summary: str, fields: Mapping[str, Any]) -> None:
        every = {"reason": reason, **fields}
        self._s.report("escalated", level="warning", summary=summary, **every)
        self._notify.notify("escalated", summary, every)

    # -- recovery ---------------------------------------------------------------------------

    async def replay(self, action: Journaled, key: str) -> None:
        """Finish an intent a crash left pending, with the parameters decided back then."""
        write = self._s.writer.write
        match action:
            case StartTask(task_id, attempt, agent_id, at):
                await write([pw.start(task_id, at), pw.start_log(task_id, agent_id, at)])
                self._agents.spawn(task_id, attempt, key)
                return  # done once the agent's worktree is ready
            case FinishTask(task_id, _, status, at, started_at):
                start = parse_iso(started_at) if started_at else None
                end = parse_iso(at)
                duration = format_duration((end - start).total_seconds()) if start and end else None
                await write([pw.finish(task_id, status, at, duration)])
            case AdoptTask(task_id, _, agent_id, at):
                await write([pw.adopt(task_id, agent_id, at)])
            case ResetTask():
                pass  # its state was journaled with the intent: nothing is left to do
            case _:
                assert_never(action)
        await self._s.journal.done(key)


def _task(a: AdoptTask | ResetTask) -> dict[str, object]:
    return {"task_id": a.task_id, "attempt": a.attempt}


def _guarded(fn: Handoff, owed: Intent) -> Callable[[], Coroutine[Any, Any, None]]:
    async def run() -> None:
        try:
            await fn(owed)
        except Exception as exc:  # a handoff that fails is logged, never fatal
            log.exception("background_failed", error=str(exc))

    return run
