"""What an agent's end means for its task, as a pure function of the event."""

from __future__ import annotations

from orchestrator.decisions.actions import RecordBlocker, SetTaskStatus
from orchestrator.decisions.verdicts import (
    ACTIVE,
    BlockerReported,
    Completed,
    Crashed,
    EndedWithoutVerdict,
    Failed,
    WorktreeFailed,
    on_agent_event,
)


def test_a_verdict_sets_the_status_from_an_active_one_with_its_note() -> None:
    """Completed and Failed set the Status (only from In Progress/Blocked) and the Notes."""
    assert on_agent_event(Completed("T1", "done")) == [
        SetTaskStatus("T1", "Completed", ACTIVE, "done")
    ]
    assert on_agent_event(Failed("T1", "no")) == [SetTaskStatus("T1", "Failed", ACTIVE, "no")]
    assert on_agent_event(WorktreeFailed("T1", "git")) == [
        SetTaskStatus("T1", "Failed", ACTIVE, "git")
    ]


def test_a_crash_fails_the_task_saying_so() -> None:
    """An agent that raised fails its task with the error in the Notes."""
    (action,) = on_agent_event(Crashed("T1", "boom"))
    assert action == SetTaskStatus("T1", "Failed", ACTIVE, "agent crashed: boom")


def test_an_agent_that_just_ends_fails_only_a_task_still_in_progress() -> None:
    """No verdict: the task fails if still In Progress; a Blocked task is left alone."""
    (action,) = on_agent_event(EndedWithoutVerdict("T1"))
    assert action == SetTaskStatus(
        "T1", "Failed", ("In Progress",), "agent ended without completing the task"
    )


def test_a_blocker_is_an_entry_and_a_blocked_task_in_one_decision() -> None:
    """A reported blocker writes its entry and sets the task Blocked together."""
    fields = {"Severity": "High"}
    event = BlockerReported("T1", "architect-001", "2026-01-01 09:00", fields)
    assert on_agent_event(event) == [
        RecordBlocker("T1", "architect-001", "2026-01-01 09:00", fields),
        SetTaskStatus("T1", "Blocked", ACTIVE),
    ]
