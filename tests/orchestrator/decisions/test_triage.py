"""The orchestrator's decisions, as pure functions: no daemon, no files, no clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from orchestrator.decisions import triage
from orchestrator.decisions.actions import (
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
from protocol import Message, parse_messages, parse_plan, render_message

TEMPLATE = (Path(__file__).parents[2] / "fixtures" / "plans" / "template.md").read_text("utf-8")
NOW = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
ESCALATED = (
    "### T1 - architect-001 - 2026-01-01 09:00\n**Severity:** High\n"
    "**Blocker Type:** Decision\n**Description:** Which cloud?\n"
    "**Required Resolution:** A person picks one\n**Escalation:** Yes\n\n"
)
RECOMMENDED = (
    "### T2 - builder-oauth-001 - 2026-01-01 09:05\n**Severity:** Medium\n"
    "**Blocker Type:** Technical\n**Description:** Which library?\n"
    "**Required Resolution:** Decide between: (1) A, (2) B\n"
    "**Escalation:** No - can proceed with B (recommended)\n\n"
)
UNDECIDED = (
    "### T3 - builder-jwt-001 - 2026-01-01 09:10\n**Severity:** Low\n"
    "**Blocker Type:** Technical\n**Description:** Tabs or spaces?\n"
    "**Required Resolution:** A choice\n**Escalation:** No\n\n"
)


def plan_with(*entries: str, resolution: str = "") -> object:
    text = TEMPLATE.replace(
        "\n## Execution Timeline", "\n" + "".join(entries) + resolution + "## Execution Timeline", 1
    )
    return parse_plan(text)


def message(**fields: str) -> Message:
    block = render_message(
        sender=fields.get("sender", "architect-001"),
        to=fields.get("to", "Orchestrator"),
        type=fields.get("type", "Question"),
        timestamp=fields.get("timestamp", "2026-01-01T09:00:00Z"),
        task=fields.get("task", "T1"),
        text=fields.get("text", "Which cloud?"),
        deadline=fields.get("deadline"),
    )
    return parse_messages("# Messages\n" + block).messages[0]


def test_a_question_with_an_answer_is_answered_and_resolved() -> None:
    """A Question with an answer at hand gets a Directive back and counts as Resolved."""
    actions, resolved = triage.on_message(message(), plan_with(), "Use AWS.")
    assert resolved
    assert actions[0] == SendMessage("architect-001", "Directive", "Use AWS.", task="T1")
    assert isinstance(actions[1], Report)
    assert actions[1].event == "question_answered"


def test_a_question_without_an_answer_is_escalated() -> None:
    """A Question nobody can answer goes to a person and stays open."""
    actions, resolved = triage.on_message(message(), plan_with(), None)
    assert not resolved
    assert [type(a) for a in actions] == [Escalate]
    assert actions[0].reason == "question"  # type: ignore[union-attr]


def test_a_blocker_message_becomes_an_entry_and_blocks_its_task() -> None:
    """A Blocker message is written as an entry and its task goes Blocked, in one decision."""
    m = message(type="Blocker", task="T1", text="Stuck. Options: (1) wait (2) skip")
    actions, resolved = triage.on_message(m, plan_with(), None)
    assert not resolved
    record, status = actions[0], actions[1]
    assert isinstance(record, RecordBlocker)
    assert record.timestamp == "2026-01-01 09:00"
    assert record.fields["Required Resolution"] == "(1) wait (2) skip"
    assert status == SetTaskStatus("T1", "Blocked", ("In Progress", "Blocked"))


def test_a_blocker_message_its_sender_already_wrote_adds_nothing() -> None:
    """The entry a Blocker message's sender wrote themselves is not written twice."""
    m = message(type="Blocker", task="T1", sender="architect-001", text="Which cloud?")
    assert triage.on_message(m, plan_with(ESCALATED), None) == ([], False)


def test_a_blocker_message_naming_no_task_is_escalated() -> None:
    """A Blocker message without a known task is a person's to sort out."""
    actions, _ = triage.on_message(message(type="Blocker", task="T99"), plan_with(), None)
    assert [type(a) for a in actions] == [Escalate]


def test_new_entries_are_remembered_and_triaged() -> None:
    """A new entry's first sighting is journaled; an escalated one notifies a person, a
    recommended one is decided and resolved by its recommendation."""
    plan = plan_with(ESCALATED, RECOMMENDED)
    actions = triage.triage(plan, seen=set(), acted=set(), now=NOW, answers={})
    seen = [a.key for a in actions if isinstance(a, Once)]
    assert seen == [
        "blocker_seen:T1|architect-001|2026-01-01 09:00",
        "blocker_seen:T2|builder-oauth-001|2026-01-01 09:05",
    ]
    escalated, decided = [a for a in actions if isinstance(a, AppendTriage)]
    assert escalated.decision == "escalated"
    assert escalated.escalation is not None
    assert escalated.lines == (
        "**Triage:** 2026-01-01 09:30 - Escalated to a person: a decision is needed.",
    )
    assert decided.escalation is None
    assert len(decided.lines) == 2
    assert decided.lines[1].startswith("**Resolution:** 2026-01-01 09:30 - Orchestrator approved")


def test_only_the_model_can_decide_an_entry_without_a_recommendation() -> None:
    """An Escalation: No entry with no recommended option is asked of the model; its
    answer decides the entry."""
    plan = plan_with(UNDECIDED)
    questions = triage.model_questions(plan)
    (key,) = questions
    assert "Tabs or spaces?" in questions[key]
    actions = triage.triage(plan, seen={key}, acted=set(), now=NOW, answers={key: "spaces"})
    (decided,) = actions
    assert isinstance(decided, AppendTriage)
    assert decided.decision == "spaces"


def test_a_resolution_is_sent_to_the_blocked_agent_once() -> None:
    """A Resolution line becomes a Directive and the task goes back In Progress — once."""
    resolution = "**Resolution:** 2026-01-01 09:20 - Use GCP.\n\n"
    plan = plan_with(ESCALATED.rstrip("\n") + "\n", resolution=resolution)
    key = "T1|architect-001|2026-01-01 09:00"
    (once,) = triage.triage(plan, seen={key}, acted=set(), now=NOW, answers={})
    assert isinstance(once, Once)
    assert once.key == f"resolved:{key}"
    send, status, _ = once.actions
    assert send == SendMessage("architect-001", "Directive", "Use GCP.", task="T1")
    assert status == SetTaskStatus("T1", "In Progress", ("Blocked",))
    assert triage.triage(plan, seen={key}, acted={key}, now=NOW, answers={}) == []


def test_sla_breach_is_notified_then_reminded() -> None:
    """Past its SLA an open entry is notified; again only after the reminder interval."""
    plan = plan_with(ESCALATED)
    key = "T1|architect-001|2026-01-01 09:00"
    seen = {f"blocker_seen:{key}": "2026-01-01T09:00:00Z"}
    args = {"now": NOW, "sla_minutes": 10.0, "remind_minutes": 30.0, "seen": seen}
    first = triage.sla(plan, breaches={}, **args)  # type: ignore[arg-type]
    assert first[0] == SetMark(f"sla_breached:{key}", "2026-01-01T09:30:00Z")
    assert isinstance(first[1], Notify)
    assert "unresolved for 30 min" in first[1].summary
    assert first[2] == Report(
        "sla_breached", {"task_id": "T1", "minutes": 30, "reminder": False}, "error"
    )
    recent = {f"sla_breached:{key}": "2026-01-01T09:15:00Z"}
    assert triage.sla(plan, breaches=recent, **args) == []  # type: ignore[arg-type]


def test_a_passed_deadline_is_escalated_once_unless_resolved() -> None:
    """A message past its DEADLINE and still open is escalated once and its sender told."""
    m = message(type="Update", sender="person", deadline="2026-01-01T09:10:00Z")
    assert triage.due({m.id: m}, NOW) == [m]
    (once,) = triage.deadlines([m], {m.id: m})
    assert isinstance(once, Once)
    assert once.key == f"deadline:{m.id}"
    assert [type(a) for a in once.actions] == [Escalate, SendMessage]
    resolved = parse_messages(
        "# Messages\n"
        + render_message(
            sender="person",
            to="Orchestrator",
            type="Update",
            timestamp=m.timestamp,
            task="T1",
            text="Which cloud?",
            deadline=m.deadline,
            status="Resolved",
        )
    ).messages[0]
    assert triage.deadlines([m], {m.id: resolved}) == []
