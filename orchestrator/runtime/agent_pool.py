"""Running agents: each task's inbox, worktree and coroutine, and the events its end
produces (docs/architecture.md, "Agents"). The executor spawns and stops; this module runs,
and owns which agents are running."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import anyio
import structlog
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from agents import Agent, TaskBrief
from orchestrator.adapters.worktrees import EnsureResult, WorktreeError
from orchestrator.config import Config
from orchestrator.decisions.verdicts import (
    AgentEvent,
    Crashed,
    EndedWithoutVerdict,
    GateRefused,
    WorktreeFailed,
)
from orchestrator.runtime.agent_context import (
    Context,
    brief_for,
    record_failure,
    record_inputs,
    recorded_inputs,
)
from orchestrator.runtime.faults import task_inputs
from orchestrator.runtime.services import Services
from protocol import Message, Task

log = structlog.get_logger()

_INBOX_SIZE = 1000

MakeAgent = Callable[[Task, Config], Agent]  # builds the agent of a task, by the config in force
# Renders an attempt's full brief for the agent that will run it.
Brief = Callable[[TaskBrief, Task, Agent], Awaitable[TaskBrief]]


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
    refused: str | None = None  # a gate's Directive its agent ended without answering


class AgentPool:
    """The agents of a run. ``started`` is awaited once an agent's worktree is ready (the
    router gives it what was held for it); ``events`` receives what its run ends with."""

    def __init__(
        self,
        services: Services,
        make_agent: MakeAgent,
        tg: TaskGroup,
        *,
        ensure: Callable[[Task], Awaitable[EnsureResult]],
        started: Callable[[Running], Awaitable[None]],
        events: Callable[[AgentEvent], Awaitable[None]],
        ended: Callable[[], None],
        brief: Brief | None = None,
    ) -> None:
        self._s = services
        self._completing = anyio.Lock()  # one gated completion at a time (agent_context.py)
        self._make_agent = make_agent
        self._tg = tg
        self._ensure = ensure  # the task's worktree (waiting while its base branch is gone)
        self._started = started
        self._events = events
        self._ended = ended
        self._brief = brief
        self.running: dict[str, Running] = {}

    def spawn(self, task_id: str, attempt: int, intent_key: str | None) -> None:
        """Start the task's agent unless it runs; ``intent_key`` is marked done once its
        worktree is ready."""
        plan = self._s.plan()
        task = plan.task(task_id) if plan else None
        if task_id in self.running or plan is None or task is None:
            return
        brief = brief_for(plan, task, attempt, self._s.parent / task.worktree)
        send, receive = anyio.create_memory_object_stream[Message](_INBOX_SIZE)
        known = self._s.journal.states.get(task_id)
        started_at = known.started_at if known is not None else None
        running = Running(
            task_id, attempt, brief, anyio.CancelScope(), send, receive, started_at=started_at
        )
        self.running[task_id] = running
        self._tg.start_soon(self._run, running, task, intent_key)

    def stop(self, task_id: str) -> bool:
        running = self.running.get(task_id)
        if running is not None:
            running.scope.cancel()
        return running is not None

    async def _run(self, running: Running, task: Task, intent_key: str | None) -> None:
        s, task_id = self._s, running.task_id
        with structlog.contextvars.bound_contextvars(
            task_id=task_id, agent_id=running.brief.agent_id
        ):
            try:
                with running.scope:
                    try:
                        result = await self._ensure(task)
                    except WorktreeError as exc:
                        log.error("worktree_failed", reason=str(exc))
                        await self._events(WorktreeFailed(task_id, str(exc)))
                        return
                    if result.created:
                        row: dict[str, object] = {
                            "attempt": running.attempt,
                            "path": str(result.path),
                        }
                        if result.start is not None:
                            await record_inputs(s, task_id, result.start)
                            row["merged"] = list(result.start.merged)
                            row["unmerged"] = [u.task_id for u in result.start.unmerged]
                        await s.journal.events([("worktree_created", task_id, row)])
                    elif task.dependencies:
                        await self._inputs_known(task)
                    if intent_key is not None:
                        await s.journal.done(intent_key)
                    path = str(result.path)
                    s.report("worktree_ready", level="debug", task_id=task_id, path=path)
                    agent = self._make_agent(task, s.config())
                    if self._brief is not None:
                        running.brief = await self._brief(running.brief, task, agent)
                    await self._started(running)
                    log.info("agent_started", backend=type(agent).__name__, attempt=running.attempt)
                    await agent.run(self._context(running))
                    while running.verdict is None and running.refused:
                        # Ended after a gate refused its completion (a command exits):
                        # run it again for its fix round, told why.
                        fix = f"\n\n## A quality gate failed\n\n{running.refused}\n"
                        running.refused = None
                        running.brief = replace(running.brief, text=running.brief.text + fix)
                        log.info("agent_fix_round", attempt=running.attempt)
                        await agent.run(self._context(running))
                    if running.verdict is None:
                        await self._events(EndedWithoutVerdict(task_id))
            except Exception as exc:
                log.exception("agent_crashed", error=str(exc))
                with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                    reason = f"agent crashed: {exc}"
                    await record_failure(s, task_id, running.attempt, reason)
                    await self._events(Crashed(task_id, str(exc)))
            finally:
                self.running.pop(task_id, None)
                running.deliver.close()
                running.inbox.close()
                self._ended()

    async def _inputs_known(self, task: Task) -> None:
        """A branch made before a crash could record what it started from: work it out
        again (read only) so the brief and the Handoff still name what was not merged."""
        s = self._s
        if (await recorded_inputs(s, task.id)) != ((), ()):
            return
        merge = s.config().inputs_for(task.id, task.role) == "merge"
        try:
            start = await s.worktrees.start_point(task_inputs(s, task), merge=merge)
        except WorktreeError as exc:
            log.info("inputs_unknown", reason=str(exc))
            return
        await record_inputs(s, task.id, start)

    def _context(self, running: Running) -> Context:
        return Context(
            self._s,
            running.brief,
            running.inbox,
            self._verdict(running),
            running.started_at,
            self._completing,
        )

    def _verdict(self, running: Running) -> Callable[[AgentEvent, str | None], Awaitable[None]]:
        async def submit(event: AgentEvent, verdict: str | None) -> None:
            running.refused = event.directive if isinstance(event, GateRefused) else None
            if verdict is not None:
                running.verdict = verdict
            await self._events(event)

        return submit
