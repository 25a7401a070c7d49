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
from orchestrator.adapters.journal import Intent
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
            done = f"handled:{m.id}"
            if await self._s.journal.marks(done):
                continue  # handled before a restart
            answer = None
            if m.type == "Question":
                answer = self._s.config().orchestrator_answer
                if answer is None:
                    answer = await self._model.ask(decide.question_prompt(m))
            actions, now_resolved = decide.on_message(m, self._s.plan(), answer)
            await self._apply(actions)
            if now_resolved:
                resolved.add(m.id)
            # Marked once handled, not before: a crash in between handles it again after the
            # restart (at least once) rather than never (a Question nobody answers).
            await self._s.journal.mark(done, iso(self._s.clock.now()))
        return resolved

    async def handoff(self, owed: Intent, *, replay: bool = False) -> None:
        """Tell the agents of the tasks that wait for a finished task what it delivered,
        then mark the journal's handoff intent done. On ``replay`` (a restart found it
        pending) a Handoff the log already holds is not sent again."""
        s = self._s
        task_id, at = owed.payload["task_id"], owed.payload["at"]
        plan = s.plan()
        if plan is None:
            return  # still owed: the next start sends it
        task = plan.task(task_id)
        wanted = task is not None and decide.downstream(plan, task_id)
        if task is not None and wanted and not (replay and await self._sent(task_id, at)):
            known = list(self._router.known.values())
            attempt = int(owed.payload.get("attempt") or 1)
            await self._apply([await gather_handoff(s, plan, task, attempt, known)])
        await s.journal.done(owed.key)

    async def _sent(self, task_id: str, since: str) -> bool:
        """Whether the log holds the Orchestrator's Handoff for ``task_id`` sent ``since``."""
        s = self._s
        try:
            text, _ = await anyio.to_thread.run_sync(s.store.read, s.config().messages_path)
        except FileNotReady:
            return False
        return decide.handoff_sent(parse_messages(text).messages, task_id, since)

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
