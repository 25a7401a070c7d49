"""The scheduler: a pure function from (plan, journal state, limits, now) to actions.

It is level-triggered: it compares what the plan says with what the journal remembers and
returns what must happen to bring them together. Running it twice on the same inputs returns
the same actions, and after a crash it returns exactly what was left undone; the daemon
records each action in the journal before carrying it out (docs/architecture.md).
Its actions are defined with all the others in :mod:`orchestrator.decisions.actions`.

All lifecycle transitions live in :func:`decide`, in one place on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestrator.decisions.actions import (
    Action,
    AdoptTask,
    BudgetExhausted,
    FinishTask,
    RecordBlocker,
    ResetTask,
    ResumeTask,
    SetPlanStatus,
    SetTaskStatus,
    StartTask,
    StopAgent,
    SyncLogStatus,
)
from protocol import (
    BLOCKED,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    NOT_STARTED,
    Plan,
    Task,
    ready_tasks,
)
from protocol.plan import agent_id

# The plan header's Status follows the run; a person's "Completed" is final and never undone.
PLAN_PLANNING, PLAN_RUNNING, PLAN_INTEGRATION, PLAN_DONE = (
    "Planning",
    "In Progress",
    "Integration",
    "Completed",
)


@dataclass(frozen=True)
class TaskState:
    """What the journal remembers of a task's current attempt."""

    attempt: int = 0  # 0: never started by Baton
    started: bool = False  # Baton decided to start this attempt (intent recorded)
    finished: str | None = None  # Completed/Failed once Baton recorded the end of the attempt
    started_at: str | None = None  # when Baton started the attempt (ISO 8601)
    external: bool = False  # the attempt was begun by someone else (a person set In Progress)


@dataclass(frozen=True)
class RunState:
    tasks: Mapping[str, TaskState] = field(default_factory=dict)
    running: frozenset[str] = frozenset()  # tasks whose agent coroutine is alive
    spent_usd: float = 0.0


@dataclass(frozen=True)
class Limits:
    max_agents: int = 4
    budget_usd: float | None = None


def decide(plan: Plan, state: RunState, limits: Limits, now: str) -> list[Action]:
    """Every action that brings the journal and the running agents in line with the plan."""
    actions: list[Action] = []
    busy = 0  # agent slots held: tasks in Baton's care that are In Progress or Blocked
    for task in plan.tasks:
        ts = state.tasks.get(task.id, TaskState())
        live = task.id in state.running
        in_care = ts.started and ts.finished is None and not ts.external
        status = task.status
        if status == NOT_STARTED:
            if ts.started:
                if live:
                    actions.append(StopAgent(task.id, "task set back to Not Started"))
                actions.append(ResetTask(task.id, ts.attempt))
        elif status in (IN_PROGRESS, BLOCKED):
            if in_care:
                busy += 1
                if not live:
                    actions.append(ResumeTask(task.id, ts.attempt, agent_id(plan, task)))
            elif not ts.started or ts.finished is not None:
                # Begun by someone else, or re-opened after an end Baton recorded.
                attempt = ts.attempt + 1
                actions.append(AdoptTask(task.id, attempt, agent_id(plan, task), now))
        elif status in (COMPLETED, FAILED) and ts.finished != status:
            if live:
                actions.append(StopAgent(task.id, f"task {status.casefold()}"))
            actions.append(FinishTask(task.id, max(ts.attempt, 1), status, now, ts.started_at))
            continue  # finishing writes the log row's Status too
        row = plan.log_row(task.id)
        if row is not None and row.status != status and status in _SYNCED:
            actions.append(SyncLogStatus(task.id, status))

    actions.extend(_starts(plan, state, limits, busy, now))
    target = plan_status(plan)
    current = plan.header.get("Status")
    shown = current.value.strip() if current is not None else None
    if target is not None and shown is not None and shown not in (target, PLAN_DONE):
        actions.append(SetPlanStatus(target))
    return actions


_SYNCED = (NOT_STARTED, IN_PROGRESS, BLOCKED, COMPLETED, FAILED)


def _starts(plan: Plan, state: RunState, limits: Limits, busy: int, now: str) -> list[Action]:
    candidates = []
    for task in ready_tasks(plan.tasks):
        ts = state.tasks.get(task.id, TaskState())
        # A Not Started task whose attempt is still open is being reset, not started.
        if ts.started and ts.finished is None:
            continue
        candidates.append(task)
    if not candidates:
        return []
    free = max(0, limits.max_agents - busy)
    if limits.budget_usd is not None and state.spent_usd >= limits.budget_usd:
        spent, budget = state.spent_usd, limits.budget_usd
        out: list[Action] = [BudgetExhausted(spent, budget, tuple(t.id for t in candidates))]
        for task in candidates[:free]:  # the tasks that would start now wait for a person
            out += _budget_blocker(plan, task, spent, budget, now)
        return out
    out = []
    for task in candidates[:free]:
        ts = state.tasks.get(task.id, TaskState())
        out.append(StartTask(task.id, ts.attempt + 1, agent_id(plan, task), now))
    return out


def _budget_blocker(plan: Plan, task: Task, spent: float, budget: float, now: str) -> list[Action]:
    """Block a ready task the spent budget keeps from starting, with a Resource blocker."""
    fields = {
        "Severity": "High",
        "Blocker Type": "Resource",
        "Description": f"The run's budget is spent (${spent:.2f} of ${budget:.2f}); "
        "the task was not started.",
        "Required Resolution": "Raise the budget (baton.toml budget_usd or the plan's "
        "Constraints), then set this task back to Not Started.",
        "Escalation": "Yes - only a person can raise the budget",
    }
    when = now[:16].replace("T", " ")
    return [
        RecordBlocker(task.id, agent_id(plan, task), when, fields),
        SetTaskStatus(task.id, BLOCKED, (NOT_STARTED,)),
    ]


def plan_status(plan: Plan) -> str | None:
    """Where the run stands: Planning, In Progress or Integration (all tasks Completed)."""
    if not plan.tasks:
        return None
    statuses = [t.status for t in plan.tasks]
    if all(s == COMPLETED for s in statuses):
        return PLAN_INTEGRATION
    if all(s == NOT_STARTED for s in statuses):
        return PLAN_PLANNING
    return PLAN_RUNNING


def run_budget(configured: float | None, plan: Plan | None) -> float | None:
    """The run's budget: ``baton.toml``'s when set (``0`` included), else the plan's."""
    if configured is not None:
        return configured
    return plan.constraints.budget_usd if plan is not None else None


__all__ = [
    "PLAN_DONE",
    "PLAN_INTEGRATION",
    "PLAN_PLANNING",
    "PLAN_RUNNING",
    "Action",
    "AdoptTask",
    "BudgetExhausted",
    "FinishTask",
    "Limits",
    "ResetTask",
    "ResumeTask",
    "RunState",
    "SetPlanStatus",
    "StartTask",
    "StopAgent",
    "SyncLogStatus",
    "TaskState",
    "decide",
    "plan_status",
    "run_budget",
]
