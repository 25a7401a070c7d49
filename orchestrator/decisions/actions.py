"""Every effect a decision may ask for, as a frozen dataclass: the one action table.

The scheduler, the triage, the checklist, the retrospective and the agents' verdicts all
return these; :mod:`orchestrator.runtime.executor` applies them, one ``match`` with
``assert_never``, so an action nobody handles is a type error. Actions that move a task's
remembered state are journaled as intents first, under a *kind* (the constants below) that
crash recovery reads back: the kinds are the strings journals already hold, so renaming a
class never orphans an old journal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from protocol import ChecklistItem

# -- the scheduler's actions ----------------------------------------------------------------


@dataclass(frozen=True)
class StartTask:
    task_id: str
    attempt: int
    agent_id: str
    at: str


@dataclass(frozen=True)
class ResumeTask:
    """The task is In Progress (or Blocked) in Baton's care but its agent is not running."""

    task_id: str
    attempt: int
    agent_id: str


@dataclass(frozen=True)
class AdoptTask:
    """Someone else set the task In Progress: record the attempt, start no agent."""

    task_id: str
    attempt: int
    agent_id: str
    at: str


@dataclass(frozen=True)
class FinishTask:
    task_id: str
    attempt: int
    status: str  # Completed or Failed
    at: str
    started_at: str | None


@dataclass(frozen=True)
class ResetTask:
    """A person set a task back to Not Started: the next attempt may begin."""

    task_id: str
    attempt: int  # the attempt that ends


@dataclass(frozen=True)
class StopAgent:
    task_id: str
    reason: str


@dataclass(frozen=True)
class SyncLogStatus:
    task_id: str
    status: str


@dataclass(frozen=True)
class SetPlanStatus:
    value: str


@dataclass(frozen=True)
class BudgetExhausted:
    spent_usd: float
    budget_usd: float
    waiting: tuple[str, ...]


# -- the other decisions' actions -----------------------------------------------------------


@dataclass(frozen=True)
class SetTaskStatus:
    """Set a task's Status cell (only from one of ``expected``) and, when given, fill its
    log row's Notes: the one action by which an agent's verdict, a blocker or its
    resolution changes a task's status."""

    task_id: str
    status: str
    expected: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class RecordBlocker:
    """Add an entry under Notes and Blockers."""

    task_id: str
    agent_id: str
    timestamp: str  # the heading's ``YYYY-MM-DD HH:MM``
    fields: Mapping[str, str]


@dataclass(frozen=True)
class AppendTriage:
    """Append ``lines`` to the open entry ``key``; once they landed, report the decision and
    raise ``escalation`` (if any). A person who triaged the entry first wins."""

    key: str
    task_id: str
    lines: tuple[str, ...]
    decision: str
    escalation: Escalate | None = None


@dataclass(frozen=True)
class TickChecklist:
    items: tuple[ChecklistItem, ...]


@dataclass(frozen=True)
class WriteMetrics:
    """Fill the Retrospective's Metrics cells that are still empty."""

    values: Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class WriteGoNoGo:
    """Write the Integration Summary's ``**Go/No-Go:**`` line (and, with ``approval_box``,
    the approval checkbox a person ticks, when there is none)."""

    value: str
    approval_box: bool = False


@dataclass(frozen=True)
class WriteComparison:
    """Fill the Integration Summary's per-approach cells still ``-`` with gate numbers."""

    values: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Integrate:
    """On GO: integrate the selected work into the base branch, archive the alternatives
    and finish the plan (journaled by :mod:`orchestrator.runtime.integration`)."""

    selected: str
    alternatives: tuple[str, ...]
    strategy: str
    line: str  # the Go/No-Go it carries out


@dataclass(frozen=True)
class SendMessage:
    """Append a message from the Orchestrator to the message log."""

    to: str
    type: str
    text: str
    task: str | None = None
    body: str = ""


@dataclass(frozen=True)
class Escalate:
    """A person should look: log ``escalated``, tell the observer, run the notify hook."""

    reason: str
    summary: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notify:
    """Run the notify hook for ``event`` (the log line is the decision's own Report)."""

    event: str
    summary: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """Log ``event`` at ``level`` and tell the progress observer."""

    event: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    level: str = "info"


@dataclass(frozen=True)
class SetMark:
    """Remember ``value`` under ``key`` in the journal (a timer's last firing)."""

    key: str
    value: str


@dataclass(frozen=True)
class Once:
    """Record ``key`` in the journal; only if it was not recorded before (in this run or an
    earlier one), apply ``actions``. ``value`` defaults to the current time."""

    key: str
    actions: tuple[Action, ...] = ()
    value: str = ""


Action = (
    StartTask
    | ResumeTask
    | AdoptTask
    | FinishTask
    | ResetTask
    | StopAgent
    | SyncLogStatus
    | SetPlanStatus
    | BudgetExhausted
    | SetTaskStatus
    | RecordBlocker
    | AppendTriage
    | TickChecklist
    | WriteMetrics
    | WriteGoNoGo
    | WriteComparison
    | Integrate
    | SendMessage
    | Escalate
    | Notify
    | Report
    | SetMark
    | Once
)

# -- journal kinds ---------------------------------------------------------------------------
# The ``kind`` column of the journal's intents. Their values are the strings journals written
# before this table existed hold; never change one.

KIND_START = "StartTask"
KIND_ADOPT = "AdoptTask"
KIND_FINISH = "FinishTask"
KIND_RESET = "ResetTask"
KIND_UNDO = "undo"  # a start a person pre-empted; nothing to replay
KIND_HANDOFF = "Handoff"  # a handoff owed to a finished task's downstream agents

Journaled = StartTask | AdoptTask | FinishTask | ResetTask
_BY_KIND: dict[str, type[Journaled]] = {
    KIND_START: StartTask,
    KIND_ADOPT: AdoptTask,
    KIND_FINISH: FinishTask,
    KIND_RESET: ResetTask,
}
_KIND_OF = {cls: kind for kind, cls in _BY_KIND.items()}


def kind_of(action: Journaled) -> str:
    return _KIND_OF[type(action)]


def start_key(task_id: str, attempt: int) -> str:
    """The journal key of the start of ``attempt`` of ``task_id``."""
    return f"start:{task_id}:{attempt}"


def handoff_key(task_id: str, attempt: int) -> str:
    """The journal key of the handoff owed when ``attempt`` of ``task_id`` completed."""
    return f"handoff:{task_id}:{attempt}"


def intent_key(action: Journaled) -> str:
    """The journal key of an action: the same decision always gets the same key, so a
    replay or a second decision of it is recognised (its idempotency key)."""
    match action:
        case StartTask():
            return start_key(action.task_id, action.attempt)
        case AdoptTask():
            return f"adopt:{action.task_id}:{action.attempt}"
        case FinishTask():
            return f"finish:{action.task_id}:{action.attempt}:{action.status}"
        case ResetTask():
            return f"reset:{action.task_id}:{action.attempt}"


def to_payload(action: Journaled) -> dict[str, Any]:
    """What the journal keeps of an action: its fields and, as ``type``, its kind."""
    return {"type": kind_of(action), **{f.name: getattr(action, f.name) for f in fields(action)}}


def from_journal(kind: str, payload: Mapping[str, Any]) -> Journaled | None:
    """The action an intent recorded, or None for a kind with nothing to replay."""
    cls = _BY_KIND.get(kind)
    if cls is None:
        return None
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in payload.items() if k in names}
    if cls is FinishTask:
        values.setdefault("started_at", None)
    return cls(**values)
