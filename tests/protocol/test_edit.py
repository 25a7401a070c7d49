"""Editing plans: each edit changes only its target and refuses stale text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol._cells import plain
from protocol._errors import EditConflictError
from protocol._model import STATUSES, Cell, Plan
from protocol._status import canonical_status
from protocol.edit import (
    append_blocker_line,
    escape_cell,
    set_cell,
    set_checkbox,
    set_header_field,
    set_log_cells,
    set_status,
)
from protocol.plan import parse_plan
from tests.protocol.plan_strategies import PlanSpec, cell_text, plans

TEMPLATE = (Path(__file__).parent.parent / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)


def view(plan: Plan) -> dict[str, Any]:
    """What a plan says, without positions: two plans with equal views read the same."""
    return {
        "header": {k: v.value for k, v in plan.header.items()},
        "tasks": {
            t.id: (
                t.description,
                t.role,
                t.skills,
                t.worktree,
                t.branch,
                t.group,
                t.status,
                t.dependencies,
                t.estimate,
            )
            for t in plan.tasks
        },
        "checks": [(c.section, c.text, c.checked) for c in plan.checklists],
        "blockers": [(b.task_id, dict(b.fields), b.triage_lines) for b in plan.blockers],
        "log": {
            r.task_id: (r.agent_id, r.started, r.completed, r.duration, r.status, r.notes)
            for r in plan.log
        },
        "problems": plan.problems,
    }


def same_outside(old: str, new: str, start: int, end: int, replacement_len: int) -> None:
    assert new[:start] == old[:start]
    assert new[start + replacement_len :] == old[end:]


def test_set_status_on_template_changes_one_cell() -> None:
    """Setting T1 In Progress rewrites exactly the Status cell's characters."""
    plan = parse_plan(TEMPLATE)
    new = set_cell(TEMPLATE, plan, "T1", "Status", "In Progress")
    span = plan.tasks[0].cells["Status"].span
    same_outside(TEMPLATE, new, span.start, span.end, len("In Progress"))
    assert parse_plan(new).tasks[0].status == "In Progress"


def test_expected_value_guards_a_person_s_change() -> None:
    """With expected='Not Started', a cell a person already set to Blocked is not overwritten."""
    text = set_cell(TEMPLATE, parse_plan(TEMPLATE), "T2", "Status", "Blocked")
    with pytest.raises(EditConflictError):
        set_cell(text, parse_plan(text), "T2", "Status", "In Progress", expected="Not Started")


def test_stale_text_is_refused() -> None:
    """An edit computed on an older parse refuses text whose target moved."""
    plan = parse_plan(TEMPLATE)
    moved = TEMPLATE.replace(
        "| T1 |", "| T0 | extra row | - | - | - | A | Not Started | - | 1h |\n| T1 |", 1
    )
    with pytest.raises(EditConflictError):
        set_cell(moved, plan, "T3", "Status", "Completed")


def test_log_row_added_when_missing() -> None:
    """A task without a log row gets one appended at the end of the log table."""
    text = TEMPLATE.replace("| T7 | scribe-001 | - | - | - | Not Started | - |\n", "")
    plan = parse_plan(text)
    new = set_log_cells(text, plan, "T7", {"Agent ID": "scribe-7", "Started": "2025-01-01 09:00"})
    row = parse_plan(new).log_row("T7")
    assert row is not None
    assert (row.agent_id, row.started, row.completed) == ("scribe-7", "2025-01-01 09:00", "")
    assert row.line == plan.log[-1].line + 1


def test_log_row_updated_in_place() -> None:
    """Updating several cells of an existing log row changes only that row."""
    plan = parse_plan(TEMPLATE)
    new = set_log_cells(
        TEMPLATE, plan, "T2", {"Started": "2025-12-13 10:00", "Status": "In Progress"}
    )
    row = plan.log_row("T2")
    assert row is not None
    old_lines, new_lines = TEMPLATE.split("\n"), new.split("\n")
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert changed == [row.line - 1]
    assert new_lines[row.line - 1] == (
        "| T2 | builder-oauth-001 | 2025-12-13 10:00 | - | - | In Progress | - |"
    )


def test_escape_cell() -> None:
    """Pipes are escaped once, empty values become '-', newlines are refused."""
    assert escape_cell("a|b") == "a\\|b"
    assert escape_cell("a\\|b") == "a\\|b"
    assert escape_cell("  ") == "-"
    with pytest.raises(ValueError, match="one line"):
        escape_cell("a\nb")


def test_empty_cell_gets_padding() -> None:
    """Writing into an empty '||' cell pads the value with one space each side."""
    text = (
        "| Task ID | Status | Parallel Group | Notes |\n|--|--|--|--|\n| T1 | Not Started | A ||\n"
    )
    plan = parse_plan(text)
    new = set_cell(text, plan, "T1", "Notes", "hi")
    assert new.endswith("| T1 | Not Started | A | hi |\n")


# -- properties --------------------------------------------------------------------------

COLUMNS = ("Description", "Status", "Estimate", "Branch")


@settings(max_examples=150, deadline=None)
@given(spec=plans(), data=st.data())
def test_set_cell_changes_only_its_target(spec: PlanSpec, data: st.DataObject) -> None:
    """set_cell changes no byte outside the cell, is idempotent and reads back exactly."""
    plan = parse_plan(spec.text)
    tid = data.draw(st.sampled_from(spec.task_ids))
    column = data.draw(st.sampled_from(COLUMNS))
    value = data.draw(st.sampled_from(STATUSES)) if column == "Status" else data.draw(cell_text)
    new = set_cell(spec.text, plan, tid, column, value)
    cell = plan.task(tid).cells[column]  # type: ignore[union-attr]
    written = escape_cell(value)
    # An empty cell gains a space of padding on each side; still only between its pipes.
    region = len(new) - len(spec.text) + (cell.span.end - cell.span.start)
    same_outside(spec.text, new, cell.span.start, cell.span.end, region)
    assert new[cell.span.start : cell.span.start + region].strip() == written
    assert set_cell(new, parse_plan(new), tid, column, value) == new
    # What the edited cell must read back as, derived from the value alone.
    shown = Cell(written, cell.span).value
    if column == "Status":
        shown = canonical_status(shown) or shown
    elif column == "Branch":
        shown = plain(shown) or f"baton/{tid}"
    expected = view(plan)
    fields = list(expected["tasks"][tid])
    fields[{"Description": 0, "Branch": 4, "Status": 6, "Estimate": 8}[column]] = shown
    expected["tasks"][tid] = tuple(fields)
    assert view(parse_plan(new)) == expected


@settings(max_examples=150, deadline=None)
@given(spec=plans(), data=st.data())
def test_set_status_writes_the_plan_s_spelling_in_its_row_only(
    spec: PlanSpec, data: st.DataObject
) -> None:
    """set_status rewrites only the Status cell of the task's row, in whichever table it
    stands, as the plan spells that status; a cell that already says so stays as written;
    twice is once."""
    plan = parse_plan(spec.text)
    tid = data.draw(st.sampled_from(spec.task_ids))
    status = data.draw(st.sampled_from(STATUSES))
    task = plan.task(tid)
    assert task is not None
    cell = task.cells["Status"]
    new = set_status(spec.text, plan, tid, status)
    if task.status == status:
        assert new == spec.text
    else:
        assert new == spec.text[: cell.span.start] + plan.spell(status) + spec.text[cell.span.end :]
    again = parse_plan(new)
    assert set_status(new, again, tid, status) == new
    expected = view(plan)
    fields = list(expected["tasks"][tid])
    fields[6] = status
    expected["tasks"][tid] = tuple(fields)
    assert view(again) == expected


def test_set_status_spelling_and_expected() -> None:
    """In a plan that writes ✅ Completed, Completed is written so; In Progress, which it
    never writes, as the template does; an unexpected current status is a conflict."""
    text = TEMPLATE.replace("| A | Not Started | - | 1h |", "| A | ✅ Completed | - | 1h |")
    plan = parse_plan(text)
    new = set_status(text, plan, "T2", "In Progress", expected=("Not Started",))
    assert "| B | In Progress | T1 | 3h |" in new
    done = set_status(new, parse_plan(new), "T2", "Completed", expected=("In Progress",))
    assert "| `feature/auth-oauth` | B | ✅ Completed | T1 | 3h |" in done
    with pytest.raises(EditConflictError, match="expected In Progress or Blocked"):
        set_status(text, plan, "T3", "Failed", expected=("In Progress", "Blocked"))


def test_set_cell_by_header_alias_in_a_later_table() -> None:
    """A column named by one of its header spellings, in a row of the matrix's second table."""
    text = (
        "| ID | State | Deps |\n|--|--|--|\n| T1 | Done | - |\n\n## Later\n\n"
        "| ID | State | Deps |\n|--|--|--|\n| T2 | TODO | T1 |\n"
    )
    plan = parse_plan(text)
    new = set_cell(text, plan, "T2", "Status", "In Progress")
    assert new == text.replace("| T2 | TODO |", "| T2 | In Progress |")
    assert set_cell(text, plan, "T2", "Dependencies", "-") == text.replace("| T1 |\n", "| - |\n")
    with pytest.raises(EditConflictError, match="no 'Branch' column"):
        set_cell(text, plan, "T2", "Branch", "x")


@settings(max_examples=100, deadline=None)
@given(spec=plans(), data=st.data())
def test_stale_cell_edit_raises(spec: PlanSpec, data: st.DataObject) -> None:
    """An edit against text whose target cell changed raises EditConflictError."""
    plan = parse_plan(spec.text)
    tid = data.draw(st.sampled_from(spec.task_ids))
    cell = plan.task(tid).cells["Description"]  # type: ignore[union-attr]
    changed = spec.text[: cell.span.start] + "zz" + cell.raw + spec.text[cell.span.end :]
    with pytest.raises(EditConflictError):
        set_cell(changed, plan, tid, "Description", "new")


@settings(max_examples=100, deadline=None)
@given(spec=plans(), data=st.data())
def test_checkbox_edit_is_minimal(spec: PlanSpec, data: st.DataObject) -> None:
    """Ticking a box changes one character; ticking twice equals once; it reads back ticked."""
    plan = parse_plan(spec.text)
    item = data.draw(st.sampled_from(plan.checklists))
    checked = data.draw(st.booleans())
    new = set_checkbox(spec.text, item, checked)
    same_outside(spec.text, new, item.box.start, item.box.end, 1)
    again = parse_plan(new)
    [item2] = [c for c in again.checklists if c.line == item.line]
    assert item2.checked == checked
    assert set_checkbox(new, item2, checked) == new
    expected = view(plan)
    expected["checks"] = [
        (s, t, checked if c.line == item.line else k)
        for (s, t, k), c in zip(expected["checks"], plan.checklists, strict=True)
    ]
    assert view(again) == expected


@settings(max_examples=100, deadline=None)
@given(spec=plans(), data=st.data())
def test_log_edit_is_minimal(spec: PlanSpec, data: st.DataObject) -> None:
    """A log upsert touches only that task's row (or inserts one line) and reads back."""
    plan = parse_plan(spec.text)
    tid = data.draw(st.sampled_from(spec.task_ids))
    notes = data.draw(cell_text)
    new = set_log_cells(spec.text, plan, tid, {"Status": "Completed", "Notes": notes})
    old_lines = spec.text.split(spec.eol)
    new_lines = new.split(spec.eol)
    existing = plan.log_row(tid)
    if existing is not None:
        assert len(new_lines) == len(old_lines)
        diff = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
        assert diff in ([], [existing.line - 1])
    else:
        assert len(new_lines) == len(old_lines) + 1
        assert plan.log_table is not None
        at = plan.log_table.last_line
        assert new_lines[:at] == old_lines[:at]
        assert new_lines[at + 1 :] == old_lines[at:]
    row = parse_plan(new).log_row(tid)
    assert row is not None
    assert (row.status, row.notes) == ("Completed", Cell(escape_cell(notes), row.row.span).value)
    assert set_log_cells(new, parse_plan(new), tid, {"Status": "Completed", "Notes": notes}) == new


@settings(max_examples=100, deadline=None)
@given(spec=plans(), line=cell_text)
def test_append_blocker_line(spec: PlanSpec, line: str) -> None:
    """Appending to a blocker entry inserts one line after its last one and nothing else."""
    plan = parse_plan(spec.text)
    [entry] = plan.blockers
    text_line = f"**Triage:** 2025-12-13 16:00 - {line}"
    new = append_blocker_line(spec.text, entry, text_line)
    assert new[: entry.end] == spec.text[: entry.end]
    assert new[entry.end + len(text_line) + len(spec.eol) :] == spec.text[entry.end :]
    [again] = parse_plan(new).blockers
    assert again.triage == f"2025-12-13 16:00 - {line}"
    assert again.fields["Description"] == entry.fields["Description"]


def test_header_status_edit() -> None:
    """The plan header's Status is set in place and a no-op leaves the text identical."""
    plan = parse_plan(TEMPLATE)
    new = set_header_field(TEMPLATE, plan, "Status", "In Progress")
    assert parse_plan(new).header["Status"].value == "In Progress"
    assert set_header_field(new, parse_plan(new), "Status", "In Progress") == new
    assert len(new) == len(TEMPLATE) - len(
        "[Planning / In Progress / Integration / Completed]"
    ) + len("In Progress")


def test_add_blocker_entry_to_template() -> None:
    """A new entry lands at the end of Notes and Blockers, outside the fenced example."""
    from protocol.edit import add_blocker_entry

    plan = parse_plan(TEMPLATE)
    fields = {
        "Severity": "High",
        "Blocker Type": "Decision",
        "Description": "Which provider?",
        "Required Resolution": "Pick one (recommended: GitHub)",
        "Escalation": "Yes - business decision",
    }
    new = add_blocker_entry(
        TEMPLATE, plan, task_id="T2", agent_id="b-1", timestamp="2025-12-13 14:30", fields=fields
    )
    assert new.startswith(TEMPLATE[: plan.notes_end])
    assert new.endswith(TEMPLATE[plan.notes_end :])
    [entry] = parse_plan(new).blockers
    assert (entry.task_id, entry.agent_id, entry.escalate) == ("T2", "b-1", True)
    assert entry.problem is None
    assert dict(entry.fields) == fields
