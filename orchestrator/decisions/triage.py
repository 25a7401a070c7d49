"""The orchestrator's decisions: its inbox, blocker triage, handoffs and timers — pure
functions of what they are given, returning actions (docs/user-guide.md, "Blockers").

- A Blocker message becomes an entry under Notes and Blockers (or is matched to the entry
  its sender already wrote), and its task goes Blocked.
- A Question is answered when an answer is at hand (configured, or the model's), else
  escalated.
- Every open entry gets a ``**Triage:**`` line as soon as Baton sees it: with
  ``Escalation: No`` the entry's own recommended option (or the model's choice) is decided
  and a ``**Resolution:**`` follows; otherwise a person is notified.
- A ``**Resolution:**`` line, whoever wrote it, goes to the blocked agent as a Directive and
  its task back to In Progress — once, recorded in the journal.
- An entry without a Resolution once its SLA has passed is an ``sla_breached`` error,
  notified once and then reminded; a message whose DEADLINE passes before it is Resolved is
  escalated.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from orchestrator.adapters.clock import iso, parse_iso
from orchestrator.decisions.actions import (
    Action,
    AppendTriage,
    Escalate,
    Notify,
    Once,
    RecordBlocker,
    Report,
    SendMessage,
    SetMark,
    SetTaskStatus,
)
from orchestrator.decisions.verdicts import ACTIVE
from protocol import BLOCKED, IN_PROGRESS, BlockerEntry, Message, Plan, agent_id
from protocol.blockers import entry_key, recommended_option

ORCHESTRATOR = "Orchestrator"
_PRIORITY_SEVERITY = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
_STAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?Z?\s*-\s*")


def minute(timestamp: str) -> str:
    """``2025-12-13T15:45:00Z`` → ``2025-12-13 15:45``, the entry heading's form."""
    moment = parse_iso(timestamp)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else timestamp[:16].replace("T", " ")


def resolution_text(entry: BlockerEntry) -> str:
    """What an entry's Resolution line tells the blocked agent: its words, no timestamp."""
    return _STAMP.sub("", entry.resolution or "")


def deadline_notice(m: Message) -> str:
    """The Update its sender gets when ``m`` passes its DEADLINE unresolved."""
    return (
        f"Your {m.type} of {m.timestamp} passed its deadline {m.deadline}"
        " unresolved; a person has been asked to act."
    )


def _about(m: Message) -> dict[str, str]:
    return {"message_id": m.id, "message_ts": m.timestamp, "sender": m.sender}


# -- the inbox --------------------------------------------------------------------------------


def question_prompt(m: Message) -> str:
    """What the model is asked for a Question to the Orchestrator."""
    return f"{m.sender} asks about task {m.task or '-'}: {m.text or ''}\n{m.body}".strip()


def on_message(m: Message, plan: Plan | None, answer: str | None) -> tuple[list[Action], bool]:
    """The actions for one new message to the Orchestrator, and whether it is now Resolved.
    ``answer`` is the answer to a Question, when one is at hand."""
    if m.type == "Blocker":
        return _blocker_message(m, plan), False
    if m.type == "Question":
        if answer is None:
            summary = f"Question from {m.sender}: {m.text or m.body}"
            return [Escalate("question", summary, _about(m))], False
        return [
            SendMessage(m.sender, "Directive", answer, task=m.task),
            Report(
                "question_answered", {"message_id": m.id, "sender": m.sender, "task_id": m.task}
            ),
        ], True
    fields = {"message_id": m.id, "type": m.type, "sender": m.sender}
    return [Report("message_recorded", fields)], True


def _blocker_message(m: Message, plan: Plan | None) -> list[Action]:
    if plan is None or not m.task or plan.task(m.task) is None:
        summary = f"Blocker from {m.sender} names no task"
        return [Escalate("blocker_without_task", summary, _about(m))]
    when = minute(m.timestamp)
    if any(entry_key(b) == f"{m.task}|{m.sender}|{when}" for b in plan.blockers):
        return []  # its sender wrote the entry too
    words = (m.text or m.body).replace("\n", " ").strip()
    options = re.search(r"Options?:\s*(.*)$", words)
    fields = {
        "Severity": _PRIORITY_SEVERITY.get((m.priority or "").casefold(), "Medium"),
        "Blocker Type": "Technical",
        "Description": words[: options.start()].strip() if options else words,
        "Required Resolution": options.group(1) if options else "A decision",
        "Escalation": "No" if "recommended" in words.casefold() else "Yes",
    }
    return [
        RecordBlocker(m.task, m.sender, when, fields),
        SetTaskStatus(m.task, BLOCKED, ACTIVE),
        Report("blocker_recorded", {"task_id": m.task, "message_id": m.id}),
    ]


# -- triage -----------------------------------------------------------------------------------


def open_entries(plan: Plan) -> list[BlockerEntry]:
    return [e for e in plan.blockers if e.problem is None]  # a broken one is the check's


def model_questions(plan: Plan) -> dict[str, str]:
    """The entries only the model can decide (``Escalation: No``, no recommended option),
    by key, with the question to ask it."""
    out = {}
    for entry in open_entries(plan):
        undecided = entry.resolution is None and entry.triage is None and not entry.escalate
        if undecided and recommended_option(entry) is None:
            f = entry.fields
            out[entry_key(entry)] = (
                f"Decide this blocker of task {entry.task_id}. {f.get('Description', '')} "
                f"Options: {f.get('Required Resolution', '')}. Reply with the decision only."
            )
    return out


def triage(
    plan: Plan,
    *,
    seen: Collection[str],
    acted: Collection[str],
    now: datetime,
    answers: Mapping[str, str | None],
) -> list[Action]:
    """Triage new entries and act on new resolutions. ``seen``: entries whose first sighting
    is journaled; ``acted``: entries whose resolution was handled; ``answers``: the model's
    choices for :func:`model_questions`."""
    actions: list[Action] = []
    for entry in open_entries(plan):
        key = entry_key(entry)
        if key not in seen:
            actions.append(Once(f"blocker_seen:{key}"))  # keeps its first time over restarts
        if entry.resolution is not None:
            if key not in acted:
                actions.append(Once(f"resolved:{key}", _resolve(plan, entry)))
        elif entry.triage is None:
            actions.append(_triage(entry, key, now, answers.get(key)))
    return actions


def _triage(entry: BlockerEntry, key: str, now: datetime, answer: str | None) -> AppendTriage:
    stamp = now.strftime("%Y-%m-%d %H:%M")
    choice = None if entry.escalate else (recommended_option(entry) or answer)
    if choice is not None:
        lines: tuple[str, ...] = (
            f"**Triage:** {stamp} - Decided by the orchestrator: {choice}.",
            f"**Resolution:** {stamp} - Orchestrator approved {choice}.",
        )
        return AppendTriage(key, entry.task_id, lines, choice)
    lines = (f"**Triage:** {stamp} - Escalated to a person: a decision is needed.",)
    summary = f"Blocker on {entry.task_id}: {entry.fields.get('Description', '')}"
    return AppendTriage(key, entry.task_id, lines, "escalated", Escalate("blocker", summary))


def _resolve(plan: Plan, entry: BlockerEntry) -> tuple[Action, ...]:
    task = plan.task(entry.task_id)
    if task is None:
        return ()
    resolution = resolution_text(entry)
    return (
        SendMessage(agent_id(plan, task), "Directive", resolution, task=task.id),
        SetTaskStatus(task.id, IN_PROGRESS, (BLOCKED,)),
        Report("blocker_resolved", {"task_id": task.id, "resolution": resolution}),
    )


# -- handoffs ---------------------------------------------------------------------------------


def downstream(plan: Plan, task_id: str) -> list[str]:
    """The agents of the tasks that wait for ``task_id``."""
    return [agent_id(plan, t) for t in plan.tasks if task_id in t.dependencies]


def handoff_sent(messages: Sequence[Message], task_id: str, since: str) -> bool:
    """Whether ``messages`` hold the Orchestrator's Handoff for ``task_id`` sent ``since``."""
    after = parse_iso(since)
    return any(
        m.type == "Handoff"
        and m.sender == ORCHESTRATOR
        and m.task == task_id
        and (after is None or ((sent := parse_iso(m.timestamp)) is not None and sent >= after))
        for m in messages
    )


# -- timers -----------------------------------------------------------------------------------


def sla(
    plan: Plan,
    *,
    seen: Mapping[str, str],
    breaches: Mapping[str, str],
    now: datetime,
    sla_minutes: float,
    remind_minutes: float,
) -> list[Action]:
    """SLA breaches and reminders for open entries. ``seen`` and ``breaches`` are the
    journal's ``blocker_seen:`` and ``sla_breached:`` marks."""
    actions: list[Action] = []
    for entry in open_entries(plan):
        if entry.resolution is not None:
            continue
        key = entry_key(entry)
        since = parse_iso(seen.get(f"blocker_seen:{key}", ""))
        if since is None or now - since < timedelta(minutes=sla_minutes):
            continue
        last = parse_iso(breaches.get(f"sla_breached:{key}", ""))
        if last is not None and now - last < timedelta(minutes=remind_minutes):
            continue
        waited = int((now - since).total_seconds() // 60)
        summary = (
            f"Blocker on {entry.task_id} unresolved for {waited} min (SLA {sla_minutes:g} min)"
        )
        fields = {"task_id": entry.task_id, "minutes": waited}
        actions += [
            SetMark(f"sla_breached:{key}", iso(now)),
            Notify("sla_breached", summary, fields),
            Report("sla_breached", {**fields, "reminder": last is not None}, "error"),
        ]
    return actions


def due(deadlines: Mapping[str, Message], now: datetime) -> list[Message]:
    """The watched messages whose DEADLINE has passed."""
    return [
        m for m in deadlines.values() if (d := parse_iso(m.deadline or "")) is not None and d <= now
    ]


def deadlines(passed: Sequence[Message], current: Mapping[str, Message]) -> list[Action]:
    """Escalate each message in ``passed`` that is still not Resolved in ``current`` (the
    log as it is now) — once — and tell its sender."""
    actions: list[Action] = []
    for m in passed:
        fresh = current.get(m.id)
        if fresh is None or fresh.status == "Resolved":
            continue
        summary = f"{m.type} from {m.sender} not resolved by {m.deadline}"
        inner: list[Action] = [Escalate("deadline_passed", summary, _about(m))]
        if m.sender != ORCHESTRATOR:
            inner.append(SendMessage(m.sender, "Update", deadline_notice(m), task=m.task))
        actions.append(Once(f"deadline:{m.id}", tuple(inner)))
    return actions
