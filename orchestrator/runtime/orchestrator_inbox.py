"""The orchestrator's own work, carried out: it gathers what the pure decisions of
:mod:`orchestrator.decisions.triage` need (journal marks, the model's answers, git's view of
a branch, the message log as it is now) and hands their actions to the executor. Timers run
on the injected clock and live in the journal, so a restart keeps their start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import anyio
import structlog

from orchestrator.adapters.clock import iso
from orchestrator.adapters.filestore import FileNotReady
from orchestrator.adapters.orchestrator_model import OrchestratorModel
from orchestrator.decisions import triage as decide
from orchestrator.decisions.actions import Action
from orchestrator.routing.router import Router
from orchestrator.runtime.briefing import gather_handoff
from orchestrator.runtime.services import Services
from protocol import Message, Plan, parse_messages
from protocol.blockers import entry_key

log = structlog.get_logger()

Apply = Callable[[Sequence[Action]], Awaitable[object]]


class OrchestratorInbox:
    def __init__(
        self, services: Services, model: OrchestratorModel, router: Router, apply: Apply
    ) -> None:
        self._s = services
        self._model = model
        self._router = router
        self._apply = apply
        self._seen: set[str] = set()  # entries whose first sighting is in the journal
        self._acted: set[str] = set()  # entries whose resolution was handled

    async def handle(self, messages: Sequence[Message]) -> set[str]:
        """Handle messages to the Orchestrator; returns the ids that are now Resolved."""
        resolved: set[str] = set()
        for m in messages:
            if not await self._s.journal.mark(f"handled:{m.id}", iso(self._s.clock.now())):
                continue  # handled before a restart
            answer = None
            if m.type == "Question":
                answer = self._s.config().orchestrator_answer
                if answer is None:
                    answer = await self._model.ask(decide.question_prompt(m))
            actions, done = decide.on_message(m, self._s.plan(), answer)
            await self._apply(actions)
            if done:
                resolved.add(m.id)
        return resolved

    async def handoff(self, task_id: str, attempt: int) -> None:
        """Tell the agents of the tasks that wait for ``task_id`` what it delivered."""
        s = self._s
        plan = s.plan()
        task = plan.task(task_id) if plan else None
        if plan is None or task is None or not decide.downstream(plan, task_id):
            return
        if not await s.journal.mark(f"handoff:{task_id}:{attempt}", iso(s.clock.now())):
            return
        known = list(self._router.known.values())
        message = await gather_handoff(s, plan, task, attempt, known)
        await self._apply([message])

    async def triage(self, plan: Plan) -> None:
        """Triage new entries and act on new resolutions; called on every valid plan."""
        answers: dict[str, str | None] = {}
        if self._model.available():
            for key, question in decide.model_questions(plan).items():
                answers[key] = await self._model.ask(question)
        now = self._s.clock.now()
        actions = decide.triage(plan, seen=self._seen, acted=self._acted, now=now, answers=answers)
        if actions:
            await self._apply(actions)
        for entry in decide.open_entries(plan):
            self._seen.add(entry_key(entry))
            if entry.resolution is not None:
                self._acted.add(entry_key(entry))

    async def check_timers(self) -> None:
        """SLA breaches and reminders for open entries, and passed message deadlines."""
        s = self._s
        plan, now = s.plan(), s.clock.now()
        if plan is None:
            return
        if any(b.resolution is None for b in decide.open_entries(plan)):
            config = s.config()
            actions = decide.sla(
                plan,
                seen=await s.journal.marks("blocker_seen:"),
                breaches=await s.journal.marks("sla_breached:"),
                now=now,
                sla_minutes=config.triage_sla_minutes,
                remind_minutes=config.triage_reminder_minutes,
            )
            if actions:
                await self._apply(actions)
        passed = decide.due(self._router.deadlines, now)
        if not passed:
            return
        try:  # statuses move in place: read them fresh, once per passed deadline
            text, _ = await anyio.to_thread.run_sync(s.store.read, s.config().messages_path)
        except FileNotReady:
            return
        for m in passed:
            self._router.deadlines.pop(m.id, None)  # escalated once; never again
        current = {m.id: m for m in parse_messages(text).messages}
        await self._apply(decide.deadlines(passed, current))
