"""Batches of plan edits, applied through the file store in one atomic write.

Each edit is a pure function ``(text, plan) -> text``. Spans move when a cell grows, so an
edit needs a parse of the text it applies to — unless everything edited since the last parse
lies *below* it in the file. Edits that say where they touch (``where``) are therefore applied
bottom-up, and the batch re-parses only when an edit overlaps what was already changed. A
batch refuses to write into a plan that does not check out: Baton writes nothing into an
invalid plan (docs/user-guide.md, "Reading errors"). An edit whose target a person changed
(``EditConflictError`` on fresh text) is skipped, not retried: the person's value wins, and
the caller sees ``applied`` False.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from protocol import (
    IN_PROGRESS,
    NOT_STARTED,
    ChecklistItem,
    EditConflictError,
    Plan,
    add_blocker_entry,
    append_blocker_line,
    check_plan,
    parse_plan,
    set_checkbox,
    set_header_field,
    set_log_cells,
    set_revision,
    set_status,
)
from protocol.blockers import entry_key
from protocol.comparison import set_comparison
from protocol.integration import set_go_no_go, set_plan_line
from protocol.retro import set_metrics


class PlanNotWritable(Exception):
    """The plan on disk does not check out; the write waits until a person fixes it."""


Where = Callable[[Plan], "tuple[int, int] | None"]


@dataclass
class PlanEdit:
    fn: Callable[[str, Plan], str]
    what: str
    where: Where | None = None  # the offsets the edit may change, in the plan it is given
    applied: bool = field(default=False)


@dataclass
class BatchResult:
    text: str
    before: Plan | None = None  # the plan the batch was applied to
    last: Plan | None = None  # the last plan parsed; of `text` itself unless `stale`
    stale: bool = False
    revision: int = 0  # the revision marker the batch wrote

    def after(self, file: str) -> Plan:
        """The plan of the text the batch produced, parsed only when someone asks."""
        assert self.last is not None
        if self.stale:
            self.last, self.stale = parse_plan(self.text, file=file, previous=self.last), False
        return self.last


def run_batch(
    text: str,
    edits: Sequence[PlanEdit],
    *,
    file: str,
    worktree_parent: str,
    previous: Plan | None = None,
    known: tuple[str, Plan] | None = None,
    result: BatchResult | None = None,
    revision: int | None = None,
) -> str:
    """Apply ``edits`` in order to ``text``; ``previous`` speeds up the re-parses, and
    ``known`` (a text and its checked plan) skips the first parse and the check when
    ``text`` is that text.
    When the edits change anything, the text is marked with ``revision``."""
    original = text
    for edit in edits:
        edit.applied = False
    if known is not None and known[0] == text:
        plan = known[1]  # checked when it was read (or written by Baton, which keeps it valid)
    else:
        plan = parse_plan(text, file=file, previous=previous)
        if check_plan(plan, worktree_parent=worktree_parent):
            raise PlanNotWritable(file)
    first = plan
    ordered: Sequence[PlanEdit] = edits
    if all(e.where is not None and e.where(plan) is not None for e in edits):
        ordered = sorted(edits, key=lambda e: -e.where(plan)[0])  # type: ignore[misc,index]
    stale = False  # whether `text` changed since `plan` was parsed
    low = 0  # when stale: the lowest offset changed since then; below it `plan` still holds
    for edit in ordered:
        region = edit.where(plan) if edit.where is not None else None
        if stale and (region is None or region[1] > low):
            plan = parse_plan(text, file=file, previous=plan)
            stale = False
            region = edit.where(plan) if edit.where is not None else None
        try:
            new = edit.fn(text, plan)
        except EditConflictError:
            continue
        edit.applied = True
        if new != text:
            text = new
            start = region[0] if region is not None else 0
            low = min(low, start) if stale else start
            stale = True
    if revision is not None and text != original:
        text = set_revision(text, revision)  # at the very end: no offset above it moves
        stale = True
    if result is not None:
        result.text, result.before, result.last, result.stale = text, first, plan, stale
    return text


# -- the edits the daemon makes -------------------------------------------------------------


def _log(task_id: str, values: dict[str, str]) -> Callable[[str, Plan], str]:
    def fn(text: str, plan: Plan) -> str:
        if plan.log_table is None:
            return text
        status = values.get("Status")
        if status is None:
            return set_log_cells(text, plan, task_id, values)
        row = plan.log_row(task_id)
        if row is not None and row.status == status:  # already says so, in its own words
            rest = {k: v for k, v in values.items() if k != "Status"}
            return set_log_cells(text, plan, task_id, rest) if rest else text
        # Written as the plan spells it, as in the matrix.
        return set_log_cells(text, plan, task_id, {**values, "Status": plan.spell(status)})

    return fn


def _row(task_id: str) -> Where:
    def where(plan: Plan) -> tuple[int, int] | None:
        task = plan.task(task_id)
        return (task.row.span.start, task.row.span.end) if task is not None else None

    return where


def _log_row(task_id: str) -> Where:
    """The task's log row; or, when it has none yet, just past the table's last row."""

    def where(plan: Plan) -> tuple[int, int] | None:
        row = plan.log_row(task_id)
        if row is not None:
            return row.row.span.start, row.row.span.end
        table = plan.log_table
        if table is None or not table.rows:
            return None
        end = table.rows[-1].span.end
        return end, end + 2

    return where


def start(task_id: str, at: str) -> PlanEdit:
    """Not Started → In Progress (already In Progress, as on a replay, is fine)."""

    def fn(text: str, plan: Plan) -> str:
        task = plan.task(task_id)
        if task is not None and task.status == IN_PROGRESS:
            return text
        return set_status(text, plan, task_id, IN_PROGRESS, expected=(NOT_STARTED,))

    return PlanEdit(fn, f"start {task_id}", _row(task_id))


def start_log(task_id: str, agent_id: str, at: str) -> PlanEdit:
    """The log row of a started attempt: Agent ID, Started, and a fresh Completed/Duration."""

    def fn(text: str, plan: Plan) -> str:
        row = plan.log_row(task_id)
        if row is not None and row.started == at:
            return text
        values = {"Started": at, "Completed": "-", "Actual Duration": "-", "Status": IN_PROGRESS}
        if row is None or not row.agent_id:
            values["Agent ID"] = agent_id
        return _log(task_id, values)(text, plan)

    return PlanEdit(fn, f"start log {task_id}", _log_row(task_id))


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

    return PlanEdit(fn, f"adopt {task_id}", _log_row(task_id))


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

    return PlanEdit(fn, f"finish {task_id}", _log_row(task_id))


def log_status(task_id: str, status: str) -> PlanEdit:
    return PlanEdit(_log(task_id, {"Status": status}), f"log status {task_id}", _log_row(task_id))


def log_notes(task_id: str, notes: str) -> PlanEdit:
    """Fill the log row's Notes, but never over what a person wrote there."""

    def fn(text: str, plan: Plan) -> str:
        row = plan.log_row(task_id)
        if row is not None and row.notes:
            return text
        return _log(task_id, {"Notes": notes[:200]})(text, plan)

    return PlanEdit(fn, f"log notes {task_id}", _log_row(task_id))


def status(task_id: str, value: str, expected: Sequence[str]) -> PlanEdit:
    """Set a task's Status, only from one of the ``expected`` values."""

    def fn(text: str, plan: Plan) -> str:
        return set_status(text, plan, task_id, value, expected=expected)

    return PlanEdit(fn, f"status {task_id} {value}", _row(task_id))


def header_status(value: str) -> PlanEdit:
    def where(plan: Plan) -> tuple[int, int] | None:
        field = plan.header.get("Status")
        return (field.span.start, field.span.end) if field is not None else None

    return PlanEdit(
        lambda text, plan: set_header_field(text, plan, "Status", value), "header", where
    )


def blocker(task_id: str, agent_id: str, timestamp: str, fields: Mapping[str, str]) -> PlanEdit:
    """A new entry under Notes and Blockers."""

    def fn(text: str, plan: Plan) -> str:
        return add_blocker_entry(
            text, plan, task_id=task_id, agent_id=agent_id, timestamp=timestamp, fields=fields
        )

    return PlanEdit(fn, f"blocker {task_id}")


def triage_lines(key: str, lines: Sequence[str]) -> PlanEdit:
    """Append ``lines`` to the blocker entry ``key`` while it has no Triage nor Resolution."""

    def fn(text: str, plan: Plan) -> str:
        current = next((b for b in plan.blockers if entry_key(b) == key), None)
        if current is None or current.triage is not None or current.resolution is not None:
            raise EditConflictError(f"blocker {key} changed")
        return append_blocker_line(text, current, *lines)

    return PlanEdit(fn, f"triage {key}")


def tick(item: ChecklistItem) -> PlanEdit:
    """Tick a checklist item, found again by its section and words."""

    def fn(text: str, plan: Plan) -> str:
        current = next(
            (c for c in plan.checklists if c.text == item.text and c.section == item.section), None
        )
        if current is None:
            raise EditConflictError(f"checklist item {item.text!r} is gone")
        return set_checkbox(text, current, True)

    return PlanEdit(fn, f"tick {item.text}")


def metrics(values: Mapping[str, tuple[str, str]]) -> PlanEdit:
    """Fill the Retrospective's Metrics cells that are still empty."""

    def fn(text: str, plan: Plan) -> str:
        return set_metrics(text, plan, dict(values))

    return PlanEdit(fn, "retrospective metrics")


def go_no_go(value: str, approval_box: bool) -> PlanEdit:
    """Write the Integration Summary's Go/No-Go line."""

    def fn(text: str, plan: Plan) -> str:
        return set_go_no_go(text, plan, value, approval_box=approval_box)

    return PlanEdit(fn, "go/no-go")


def plan_line(prefix: str, line: str) -> PlanEdit:
    """Replace the first line that starts with ``prefix`` (an agent's Decision, a box)."""

    def fn(text: str, plan: Plan) -> str:
        return set_plan_line(text, plan, prefix, line)

    return PlanEdit(fn, f"plan line {prefix}")


def comparison(values: Mapping[str, Mapping[str, str]]) -> PlanEdit:
    """Fill the per-approach comparison cells still empty."""

    def fn(text: str, plan: Plan) -> str:
        return set_comparison(text, plan, values)

    return PlanEdit(fn, "comparison tables")
