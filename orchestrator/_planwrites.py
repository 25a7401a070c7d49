"""Batches of plan edits, applied through the file store in one atomic write.

Each edit is a pure function ``(text, plan) -> text``. A batch re-parses between edits (spans
move when a cell grows) and refuses to write into a plan that does not check out: SPEC sec. 2
says Baton writes nothing into an invalid plan. An edit whose target a person changed
(``EditConflictError`` on fresh text) is skipped, not retried: the person's value wins, and
the caller sees ``applied`` False.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from protocol import (
    BLOCKED,
    IN_PROGRESS,
    NOT_STARTED,
    EditConflictError,
    Plan,
    check_plan,
    parse_plan,
    set_cell,
    set_header_field,
    set_log_cells,
)


class PlanNotWritable(Exception):
    """The plan on disk does not check out; the write waits until a person fixes it."""


@dataclass
class PlanEdit:
    fn: Callable[[str, Plan], str]
    what: str
    applied: bool = field(default=False)


@dataclass
class BatchResult:
    text: str
    before: Plan | None = None  # the plan the batch was applied to
    after: Plan | None = None  # the plan it produced


def run_batch(
    text: str,
    edits: Sequence[PlanEdit],
    *,
    file: str,
    worktree_parent: str,
    previous: Plan | None = None,
    known: tuple[str, Plan] | None = None,
    result: BatchResult | None = None,
) -> str:
    """Apply ``edits`` in order to ``text``; ``previous`` speeds up the re-parses, and
    ``known`` (a text and its plan) skips the first parse when ``text`` is that text."""
    for edit in edits:
        edit.applied = False
    if known is not None and known[0] == text:
        plan = known[1]
    else:
        plan = parse_plan(text, file=file, previous=previous)
    if check_plan(plan, worktree_parent=worktree_parent):
        raise PlanNotWritable(file)
    first = plan
    for edit in edits:
        try:
            new = edit.fn(text, plan)
        except EditConflictError:
            continue
        edit.applied = True
        if new != text:
            text, plan = new, parse_plan(new, file=file, previous=plan)
    if result is not None:
        result.text, result.before, result.after = text, first, plan
    return text


# -- the edits the daemon makes -------------------------------------------------------------


def _log(task_id: str, values: dict[str, str]) -> Callable[[str, Plan], str]:
    def fn(text: str, plan: Plan) -> str:
        if plan.log_table is None:
            return text
        return set_log_cells(text, plan, task_id, values)

    return fn


def start(task_id: str, agent_id: str, at: str) -> PlanEdit:
    """Not Started → In Progress, and the log row's Agent ID, Started and Status."""

    def fn(text: str, plan: Plan) -> str:
        task = plan.task(task_id)
        row = plan.log_row(task_id)
        values = {"Started": at, "Completed": "-", "Actual Duration": "-", "Status": IN_PROGRESS}
        if row is None or not row.agent_id:
            values["Agent ID"] = agent_id
        needs_status = task is not None and task.status != IN_PROGRESS
        needs_log = row is None or row.started != at
        below = task is not None and row is not None and row.line > task.line
        if needs_status and needs_log and below:
            # The log row lies below the matrix row: edit it first and the status cell's span,
            # computed from the same parse, still holds. One parse, not two.
            text = _log(task_id, values)(text, plan)
            return set_cell(text, plan, task_id, "Status", IN_PROGRESS, expected=NOT_STARTED)
        if needs_status:
            text = set_cell(text, plan, task_id, "Status", IN_PROGRESS, expected=NOT_STARTED)
            plan = parse_plan(text, file=plan.file, previous=plan)
        return _log(task_id, values)(text, plan) if needs_log else text

    return PlanEdit(fn, f"start {task_id}")


def adopt(task_id: str, agent_id: str, at: str) -> PlanEdit:
    """Someone else began the task: fill the log row's Started if it is empty."""

    def fn(text: str, plan: Plan) -> str:
        row = plan.log_row(task_id)
        values = {"Status": IN_PROGRESS}
        if row is None or not row.started:
            values["Started"] = at
        if row is None or not row.agent_id:
            values["Agent ID"] = agent_id
        return _log(task_id, values)(text, plan)

    return PlanEdit(fn, f"adopt {task_id}")


def finish(task_id: str, status: str, at: str, duration: str | None) -> PlanEdit:
    """The log row's Completed time, Actual Duration and Status, keeping what a person wrote."""

    def fn(text: str, plan: Plan) -> str:
        row = plan.log_row(task_id)
        values = {"Status": status}
        if row is None or not row.completed:
            values["Completed"] = at
        if duration is not None and (row is None or not row.duration):
            values["Actual Duration"] = duration
        return _log(task_id, values)(text, plan)

    return PlanEdit(fn, f"finish {task_id}")


def log_status(task_id: str, status: str) -> PlanEdit:
    return PlanEdit(_log(task_id, {"Status": status}), f"log status {task_id}")


def log_notes(task_id: str, notes: str) -> PlanEdit:
    """Fill the log row's Notes, but never over what a person wrote there."""

    def fn(text: str, plan: Plan) -> str:
        row = plan.log_row(task_id)
        if row is not None and row.notes:
            return text
        return _log(task_id, {"Notes": notes[:200]})(text, plan)

    return PlanEdit(fn, f"log notes {task_id}")


def status(task_id: str, value: str, expected: Sequence[str]) -> PlanEdit:
    """Set a task's Status, only from one of the ``expected`` values."""

    def fn(text: str, plan: Plan) -> str:
        task = plan.task(task_id)
        if task is None or task.status not in expected:
            raise EditConflictError(f"{task_id} is not in {', '.join(expected)}")
        return set_cell(text, plan, task_id, "Status", value, expected=task.status)

    return PlanEdit(fn, f"status {task_id} {value}")


def header_status(value: str) -> PlanEdit:
    return PlanEdit(lambda text, plan: set_header_field(text, plan, "Status", value), "header")


ACTIVE = (IN_PROGRESS, BLOCKED)
