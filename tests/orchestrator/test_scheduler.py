"""The scheduler's decisions (docs/contract.md sec. 3), as a pure function of plan, state and
limits."""

from __future__ import annotations

from pathlib import Path

from orchestrator.decisions.actions import RecordBlocker, SetTaskStatus
from orchestrator.decisions.scheduler import (
    AdoptTask,
    BudgetExhausted,
    FinishTask,
    Limits,
    ResetTask,
    ResumeTask,
    RunState,
    SetPlanStatus,
    StartTask,
    StopAgent,
    SyncLogStatus,
    TaskState,
    decide,
)
from protocol import (
    BLOCKED,
    NOT_STARTED,
    Plan,
    parse_plan,
    set_cell,
    set_header_field,
    set_log_cells,
)

TEMPLATE = (Path(__file__).parent.parent / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)
NOW = "2026-01-01T09:00:00Z"


def plan_with(header: str = "Planning", *, log_too: bool = False, **statuses: str) -> Plan:
    text = TEMPLATE
    for task_id, status in statuses.items():
        text = set_cell(text, parse_plan(text), task_id, "Status", status)
        if log_too:
            text = set_log_cells(text, parse_plan(text), task_id, {"Status": status})
    text = set_header_field(text, parse_plan(text), "Status", header)
    return parse_plan(text)


def started(attempt: int = 1, finished: str | None = None) -> TaskState:
    return TaskState(attempt=attempt, started=True, finished=finished, started_at=NOW)


def kinds(actions: list[object], kind: type) -> list[object]:
    return [a for a in actions if isinstance(a, kind)]


def test_first_decision_starts_only_t1() -> None:
    """On a fresh template only T1 (group A, no deps) starts; the rest wait for their group."""
    actions = decide(plan_with(), RunState(), Limits(), NOW)
    assert kinds(actions, StartTask) == [StartTask("T1", 1, "architect-001", NOW)]


def test_placeholder_header_is_set_to_planning() -> None:
    """The template's placeholder header Status becomes Planning."""
    plan = parse_plan(TEMPLATE)
    assert SetPlanStatus("Planning") in decide(plan, RunState(), Limits(), NOW)


def test_completion_finishes_and_starts_the_next_wave() -> None:
    """T1 Completed → its end is recorded and T2, T3, T4 start together."""
    plan = plan_with("In Progress", T1="Completed")
    state = RunState({"T1": started()})
    actions = decide(plan, state, Limits(), NOW)
    assert kinds(actions, FinishTask) == [FinishTask("T1", 1, "Completed", NOW, NOW)]
    assert [a.task_id for a in kinds(actions, StartTask)] == ["T2", "T3", "T4"]  # type: ignore[attr-defined]
    assert kinds(actions, SyncLogStatus) == []  # the finish writes the log row's Status itself


def test_agent_slots_limit_starts() -> None:
    """With two slots and one busy, only one of the ready tasks starts."""
    plan = plan_with("In Progress", T1="Completed", T2="In Progress")
    state = RunState({"T1": started(finished="Completed"), "T2": started()}, frozenset({"T2"}))
    actions = decide(plan, state, Limits(max_agents=2), NOW)
    assert [a.task_id for a in kinds(actions, StartTask)] == ["T3"]  # type: ignore[attr-defined]


def test_budget_spent_starts_nothing() -> None:
    """When the budget is spent no task starts and the exhaustion is reported."""
    plan = plan_with()
    actions = decide(plan, RunState(spent_usd=5.0), Limits(budget_usd=5.0), NOW)
    assert kinds(actions, StartTask) == []
    assert kinds(actions, BudgetExhausted) == [BudgetExhausted(5.0, 5.0, ("T1",))]
    assert SetTaskStatus("T1", BLOCKED, (NOT_STARTED,)) in actions
    (blocker,) = kinds(actions, RecordBlocker)
    assert blocker.fields["Blocker Type"] == "Resource"  # type: ignore[attr-defined]
    assert "$5.00 of $5.00" in blocker.fields["Description"]  # type: ignore[attr-defined]


def test_budget_blocked_task_is_left_to_a_person() -> None:
    """Once Blocked for the budget, the task is held as a person's, not started or blocked again."""
    plan = plan_with(T1="Blocked")
    actions = decide(plan, RunState(spent_usd=5.0), Limits(budget_usd=5.0), NOW)
    assert kinds(actions, StartTask) == []
    assert kinds(actions, RecordBlocker) == []


def test_person_reruns_a_completed_task() -> None:
    """A Completed task set back to Not Started is reset and started as attempt 2."""
    plan = plan_with("In Progress")
    state = RunState({"T1": started(finished="Completed")})
    actions = decide(plan, state, Limits(), NOW)
    assert ResetTask("T1", 1) in actions
    assert StartTask("T1", 2, "architect-001", NOW) in actions


def test_running_task_reset_stops_its_agent() -> None:
    """An In Progress task set back to Not Started has its agent stopped and is reset."""
    plan = plan_with("In Progress")
    state = RunState({"T1": started()}, frozenset({"T1"}))
    actions = decide(plan, state, Limits(), NOW)
    assert actions[:2] == [StopAgent("T1", "task set back to Not Started"), ResetTask("T1", 1)]
    assert kinds(actions, StartTask) == []


def test_in_progress_without_agent_is_resumed() -> None:
    """After a restart an In Progress task in Baton's care gets its agent back."""
    plan = plan_with("In Progress", T1="In Progress")
    actions = decide(plan, RunState({"T1": started()}), Limits(), NOW)
    assert ResumeTask("T1", 1, "architect-001") in actions


def test_task_begun_by_a_person_is_adopted() -> None:
    """A task a person set In Progress is adopted: recorded, no agent started."""
    plan = plan_with("In Progress", T1="In Progress")
    actions = decide(plan, RunState(), Limits(), NOW)
    assert AdoptTask("T1", 1, "architect-001", NOW) in actions
    assert kinds(actions, StartTask) == []
    assert kinds(actions, ResumeTask) == []


def test_failed_task_is_finished_and_blocks_downstream() -> None:
    """A Failed task is recorded; its dependents do not start."""
    plan = plan_with("In Progress", T1="Failed")
    actions = decide(plan, RunState({"T1": started()}, frozenset({"T1"})), Limits(), NOW)
    assert StopAgent("T1", "task failed") in actions
    assert FinishTask("T1", 1, "Failed", NOW, NOW) in actions
    assert kinds(actions, StartTask) == []


def test_all_completed_moves_plan_to_integration_but_not_past_a_person() -> None:
    """All tasks Completed → Integration; a header a person set to Completed stays."""
    done = {f"T{i}": "Completed" for i in range(1, 8)}
    state = RunState({t: started(finished="Completed") for t in done})
    assert decide(plan_with("In Progress", log_too=True, **done), state, Limits(), NOW) == [
        SetPlanStatus("Integration")
    ]
    assert decide(plan_with("Completed", log_too=True, **done), state, Limits(), NOW) == []


def test_decisions_are_idempotent_once_recorded() -> None:
    """Once the state records a decision's effects, deciding again asks for nothing more."""
    plan = plan_with("In Progress", log_too=True, T1="In Progress")
    state = RunState({"T1": started()}, frozenset({"T1"}))
    assert decide(plan, state, Limits(), NOW) == []
