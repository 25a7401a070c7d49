"""The orchestrator's own work: its inbox, blocker triage and the SLA (SPEC sec. 4 and 5).

- A Blocker message becomes an entry under Notes and Blockers (or is matched to the entry
  its sender already wrote), and its task goes Blocked.
- A Question is answered when an orchestrator answer is configured, else escalated.
- Every open entry gets a ``**Triage:**`` line as soon as Baton sees it: with
  ``Escalation: No`` the entry's own recommended option is decided and a ``**Resolution:**``
  follows; otherwise a person is notified.
- A ``**Resolution:**`` line, whoever wrote it, goes to the blocked agent as a Directive and
  its task back to In Progress — once, recorded in the journal.
- An entry without a Resolution once its SLA has passed is an ``sla_breached`` error,
  notified once and then reminded every ``triage_reminder_minutes``; a message whose
  DEADLINE passes before it is Resolved is escalated. Timers live in the journal, so a
  restart keeps their start; the clock is injected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import structlog

from orchestrator import _planwrites as pw
from orchestrator.clock import iso, parse_iso
from orchestrator.filestore import FileNotReady
from orchestrator.journal import Intent
from orchestrator.model import OrchestratorModel
from orchestrator.notify import Notifier
from orchestrator.router import append_to_log
from protocol import (
    BLOCKED,
    IN_PROGRESS,
    BlockerEntry,
    EditConflictError,
    Message,
    Plan,
    Task,
    add_blocker_entry,
    agent_id,
    append_blocker_line,
    parse_messages,
    render_message,
)
from protocol.blockers import entry_key, recommended_option

if TYPE_CHECKING:
    from orchestrator.daemon import Daemon

log = structlog.get_logger()

ORCHESTRATOR = "Orchestrator"
_PRIORITY_SEVERITY = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}


def _minute(timestamp: str) -> str:
    """``2025-12-13T15:45:00Z`` → ``2025-12-13 15:45``, the entry heading's form."""
    moment = parse_iso(timestamp)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else timestamp[:16].replace("T", " ")


def resolution_text(entry: BlockerEntry) -> str:
    """What an entry's Resolution line tells the blocked agent: its words, no timestamp."""
    return re.sub(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?Z?\s*-\s*", "", entry.resolution or "")


def deadline_notice(m: Message) -> str:
    """The Update its sender gets when ``m`` passes its DEADLINE unresolved."""
    return (
        f"Your {m.type} of {m.timestamp} passed its deadline {m.deadline}"
        " unresolved; a person has been asked to act."
    )


class Orchestrator:
    def __init__(self, daemon: Daemon, notifier: Notifier) -> None:
        self.daemon = daemon
        self.notifier = notifier
        self.model = OrchestratorModel(daemon)
        self._seen: set[str] = set()  # entries whose first sighting is in the journal
        self._acted: set[str] = set()  # entries whose resolution was sent

    @property
    def journal(self) -> Any:
        return self.daemon.journal

    def now(self) -> datetime:
        return self.daemon.clock.now()

    async def _mark(self, key: str, value: str = "") -> bool:
        return bool(await self.daemon.journaled(self.journal.mark, key, value or iso(self.now())))

    # -- the inbox ---------------------------------------------------------------------------

    async def handle(self, messages: Sequence[Message]) -> set[str]:
        """Handle messages to the Orchestrator; returns the ids that are now Resolved."""
        resolved: set[str] = set()
        for m in messages:
            done = f"handled:{m.id}"
            if await anyio.to_thread.run_sync(self.journal.marks, done):
                continue  # handled before a restart
            if m.type == "Blocker":
                await self._blocker_message(m)
            elif m.type == "Question":
                if await self._question(m):
                    resolved.add(m.id)
            else:
                log.info("message_recorded", message_id=m.id, type=m.type, sender=m.sender)
                resolved.add(m.id)
            # Marked once handled, not before: a crash in between handles it again after the
            # restart (at least once) rather than never (a Question nobody answers).
            await self._mark(done)
        return resolved

    async def _blocker_message(self, m: Message) -> None:
        plan = self.daemon.plan
        if plan is None or not m.task or plan.task(m.task) is None:
            self._escalate("blocker_without_task", f"Blocker from {m.sender} names no task", m)
            return
        when = _minute(m.timestamp)
        if any(entry_key(b) == f"{m.task}|{m.sender}|{when}" for b in plan.blockers):
            return  # its sender wrote the entry too
        words = (m.text or m.body).replace("\n", " ").strip()
        options = re.search(r"Options?:\s*(.*)$", words)
        fields = {
            "Severity": _PRIORITY_SEVERITY.get((m.priority or "").casefold(), "Medium"),
            "Blocker Type": "Technical",
            "Description": words[: options.start()].strip() if options else words,
            "Required Resolution": options.group(1) if options else "A decision",
            "Escalation": "No" if "recommended" in words.casefold() else "Yes",
        }
        task_id, sender = m.task, m.sender

        def add(text: str, current: Plan) -> str:
            return add_blocker_entry(
                text, current, task_id=task_id, agent_id=sender, timestamp=when, fields=fields
            )

        await self.daemon.write_plan(
            [pw.PlanEdit(add, f"blocker {task_id}"), pw.status(task_id, BLOCKED, pw.ACTIVE)]
        )
        log.info("blocker_recorded", task_id=task_id, message_id=m.id)

    async def _question(self, m: Message) -> bool:
        answer = self.daemon.config.orchestrator_answer
        if answer is None:
            words = f"{m.sender} asks about task {m.task or '-'}: {m.text or ''}\n{m.body}"
            answer = await self.model.ask(words.strip())
        if answer is None:
            self._escalate("question", f"Question from {m.sender}: {m.text or m.body}", m)
            return False
        await self.send(m.sender, "Directive", answer, task=m.task)
        log.info("question_answered", message_id=m.id, sender=m.sender)
        self.daemon.report("question_answered", sender=m.sender, task_id=m.task)
        return True

    def _escalate(self, reason: str, summary: str, m: Message | None = None) -> None:
        fields: dict[str, Any] = {"reason": reason}
        if m is not None:
            fields.update(message_id=m.id, message_ts=m.timestamp, sender=m.sender)
        log.warning("escalated", summary=summary, **fields)
        self.daemon.report("escalated", summary=summary, **fields)
        self.notifier.notify("escalated", summary, fields)

    async def send(
        self, to: str, type: str, text: str, *, task: str | None = None, body: str = ""
    ) -> None:
        """Append an ordinary message from the Orchestrator to the log."""
        block = render_message(
            sender=ORCHESTRATOR,
            to=to,
            type=type,
            timestamp=iso(self.now()),
            task=task,
            text=text,
            body=body,
        )
        await append_to_log(
            self.daemon.store, self.daemon.config.messages_path, block, before_open=True
        )
        log.info("message_sent", sender=ORCHESTRATOR, to=to, type=type, task_id=task)

    # -- handoffs ----------------------------------------------------------------------------

    async def handoff(self, owed: Intent, *, replay: bool = False) -> None:
        """Tell the agents of the tasks that wait for a finished task what it delivered,
        then mark the journal's handoff intent done. On ``replay`` (a restart found it
        pending) a Handoff the log already holds is not sent again."""
        task_id, at = owed.payload["task_id"], owed.payload["at"]
        plan = self.daemon.plan
        if plan is None:
            return  # still owed: the next start sends it
        task = plan.task(task_id)
        downstream = [agent_id(plan, t) for t in plan.tasks if task_id in t.dependencies]
        if task is not None and downstream and not (replay and await self._sent(task_id, at)):
            await self._send_handoff(plan, task, downstream)
        await self.daemon.journaled(self.journal.done, owed.key, "done")

    async def _sent(self, task_id: str, since: str) -> bool:
        """Whether the log holds the Orchestrator's Handoff for ``task_id`` sent ``since``."""
        try:
            text, _ = await anyio.to_thread.run_sync(
                self.daemon.store.read, self.daemon.config.messages_path
            )
        except FileNotReady:
            return False
        after = parse_iso(since)
        return any(
            m.type == "Handoff"
            and m.sender == ORCHESTRATOR
            and m.task == task_id
            and (after is None or ((sent := parse_iso(m.timestamp)) is not None and sent >= after))
            for m in parse_messages(text).messages
        )

    async def _send_handoff(self, plan: Plan, task: Task, downstream: list[str]) -> None:
        sender = agent_id(plan, task)
        own = [
            m
            for m in self.daemon.router.known.values()
            if m.type == "Handoff" and m.sender == sender and m.task == task.id
        ]
        lines = ["**Deliverables:**", f"- Branch: {task.branch}"]
        try:
            summary = await self.daemon.worktrees.changes(task.worktree)
        except Exception as exc:  # no worktree (a person did it by hand), or git failed
            log.info("handoff_without_git", task_id=task.id, reason=str(exc))
        else:
            lines.append(
                f"- Commits: {summary.commit_count} commits, "
                f"+{summary.lines_added}/-{summary.lines_removed} lines"
            )
            if summary.files:
                lines.append(f"- Files Modified: {', '.join(summary.files[:20])}")
        if own:
            m = own[-1]
            lines += ["", f"**Notes for Downstream:** see {m.sender}'s Handoff of {m.timestamp}."]
        await self.send(
            ", ".join(downstream),
            "Handoff",
            f"{task.id} is Completed; its work is on {task.branch}.",
            task=task.id,
            body="\n".join(lines),
        )

    # -- triage ------------------------------------------------------------------------------

    async def triage(self, plan: Plan) -> None:
        """Triage new entries and act on new resolutions; called on every valid plan."""
        for entry in plan.blockers:
            if entry.problem is not None:
                continue  # reported by the plan check; left as it is
            key = entry_key(entry)
            if key not in self._seen:
                await self._mark(f"blocker_seen:{key}")  # keeps its first time over restarts
                self._seen.add(key)
            if entry.resolution is not None:
                await self._resolved(plan, entry, key)
            elif entry.triage is None:
                await self._triage(entry, key)

    async def _triage(self, entry: BlockerEntry, key: str) -> None:
        stamp = self.now().strftime("%Y-%m-%d %H:%M")
        choice = None if entry.escalate else recommended_option(entry)
        if choice is None and not entry.escalate and self.model.available():
            f = entry.fields
            choice = await self.model.ask(
                f"Decide this blocker of task {entry.task_id}. {f.get('Description', '')} "
                f"Options: {f.get('Required Resolution', '')}. Reply with the decision only."
            )
        if choice is None:
            lines = [f"**Triage:** {stamp} - Escalated to a person: a decision is needed."]
        else:
            lines = [
                f"**Triage:** {stamp} - Decided by the orchestrator: {choice}.",
                f"**Resolution:** {stamp} - Orchestrator approved {choice}.",
            ]

        def append(text: str, plan: Plan) -> str:
            current = next((b for b in plan.blockers if entry_key(b) == key), None)
            if current is None or current.triage is not None or current.resolution is not None:
                raise EditConflictError(f"blocker {key} changed")
            return append_blocker_line(text, current, *lines)

        edit = pw.PlanEdit(append, f"triage {key}")
        await self.daemon.write_plan([edit])
        if not edit.applied:
            return
        log.info("blocker_triaged", task_id=entry.task_id, decision=choice or "escalated")
        self.daemon.report("blocker_triaged", task_id=entry.task_id, decision=choice or "escalated")
        if choice is None:
            self._escalate(
                "blocker", f"Blocker on {entry.task_id}: {entry.fields.get('Description', '')}"
            )

    async def _resolved(self, plan: Plan, entry: BlockerEntry, key: str) -> None:
        if key in self._acted:
            return
        self._acted.add(key)
        if not await self._mark(f"resolved:{key}"):
            return
        task = plan.task(entry.task_id)
        if task is None:
            return
        resolution = resolution_text(entry)
        await self.send(agent_id(plan, task), "Directive", resolution, task=task.id)
        await self.daemon.write_plan([pw.status(task.id, IN_PROGRESS, (BLOCKED,))])
        log.info("blocker_resolved", task_id=task.id, resolution=resolution)
        self.daemon.report("blocker_resolved", task_id=task.id, resolution=resolution)

    # -- timers ------------------------------------------------------------------------------

    async def check_timers(self) -> None:
        """SLA breaches and reminders for open entries, and passed message deadlines."""
        plan = self.daemon.plan
        if plan is None or self.journal is None:
            return
        now = self.now()
        if any(b.resolution is None and b.problem is None for b in plan.blockers):
            await self._sla(plan, now)
        await self._deadlines(now)

    async def _sla(self, plan: Plan, now: datetime) -> None:
        sla = timedelta(minutes=self.daemon.config.triage_sla_minutes)
        remind = timedelta(minutes=self.daemon.config.triage_reminder_minutes)
        seen = await anyio.to_thread.run_sync(self.journal.marks, "blocker_seen:")
        breaches = await anyio.to_thread.run_sync(self.journal.marks, "sla_breached:")
        for entry in plan.blockers:
            if entry.resolution is not None or entry.problem is not None:
                continue
            key = entry_key(entry)
            since = parse_iso(seen.get(f"blocker_seen:{key}", ""))
            if since is None or now - since < sla:
                continue
            last = parse_iso(breaches.get(f"sla_breached:{key}", ""))
            if last is not None and now - last < remind:
                continue
            first = last is None
            await self.daemon.journaled(self.journal.set_mark, f"sla_breached:{key}", iso(now))
            waited = int((now - since).total_seconds() // 60)
            limit = self.daemon.config.triage_sla_minutes
            summary = f"Blocker on {entry.task_id} unresolved for {waited} min (SLA {limit:g} min)"
            log.error("sla_breached", task_id=entry.task_id, minutes=waited, reminder=not first)
            self.daemon.report("sla_breached", task_id=entry.task_id, reminder=not first)
            self.notifier.notify(
                "sla_breached", summary, {"task_id": entry.task_id, "minutes": waited}
            )

    async def _deadlines(self, now: datetime) -> None:
        router = self.daemon.router
        due = [
            m
            for m in router.deadlines.values()
            if (d := parse_iso(m.deadline or "")) is not None and d <= now
        ]
        if not due:
            return
        try:  # statuses move in place: read them fresh, once per passed deadline
            text, _ = await anyio.to_thread.run_sync(
                self.daemon.store.read, self.daemon.config.messages_path
            )
        except FileNotReady:
            return
        current = {m.id: m for m in parse_messages(text).messages}
        for m in due:
            fresh = current.get(m.id)
            if fresh is None or fresh.status == "Resolved":
                router.deadlines.pop(m.id, None)
                continue
            router.deadlines.pop(m.id, None)  # escalated once; never again
            if not await self._mark(f"deadline:{m.id}"):
                continue
            self._escalate(
                "deadline_passed", f"{m.type} from {m.sender} not resolved by {m.deadline}", m
            )
            if m.sender != ORCHESTRATOR:
                await self.send(m.sender, "Update", deadline_notice(m), task=m.task)
