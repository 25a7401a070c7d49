"""Reading plans: the template as is, and the rules of docs/user-guide.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol._cells import expand_range, split_agent_skills, worktree_folder
from protocol._errors import BlockerEntryError, PlanSyntaxError
from protocol.plan import parse_plan

FIXTURES = Path(__file__).parent.parent / "fixtures" / "plans"
TEMPLATE = (FIXTURES / "template.md").read_text(encoding="utf-8")

MATRIX_HEAD = (
    "| Task ID | Description | Agent/Skills | Worktree | Branch | Parallel Group | Status "
    "| Dependencies | Estimate |\n|---|---|---|---|---|---|---|---|---|\n"
)


def small_plan(rows: str, extra: str = "") -> str:
    head = "# Plan\n\n**Status:** Planning\n\n## 3. Task Assignment Matrix\n\n"
    return f"{head}{MATRIX_HEAD}{rows}\n{extra}"


def test_template_tasks() -> None:
    """The template's matrix reads as 7 tasks with their roles, skills, groups and deps."""
    plan = parse_plan(TEMPLATE)
    assert plan.problems == ()
    assert [t.id for t in plan.tasks] == [f"T{i}" for i in range(1, 8)]
    t1, t5, t7 = plan.tasks[0], plan.tasks[4], plan.tasks[6]
    assert (t1.role, t1.skills) == ("Architect", ("architecture-skill", "api-design-skill"))
    assert (t1.worktree, t1.branch, t1.group, t1.status) == (
        "arch",
        "feature/auth-arch",
        "A",
        "Not Started",
    )
    assert t5.dependencies == ("T2", "T3", "T4")
    assert t7.dependencies == ("T5", "T6")
    assert [t.group for t in plan.tasks] == list("ABBBCCD")
    assert t7.estimate == "1.5h"
    assert t1.line == 86


def test_template_models_constraints_pins() -> None:
    """The model table expands T2-T4; budget $5, 4 slots and 11 skill pins are read."""
    plan = parse_plan(TEMPLATE)
    by_task = {tid: m.model for m in plan.models for tid in m.task_ids}
    assert by_task == {
        "T1": "Opus 4",
        **{t: "Sonnet 4" for t in ("T2", "T3", "T4", "T5", "T6", "T7")},
    }
    assert plan.model_for("T3") is not None
    assert plan.constraints.budget_usd == 5.0
    assert plan.constraints.agent_slots == 4
    assert plan.constraints.deadline == "Complete within 2 days"
    assert len(plan.skill_pins) == 11
    assert plan.skill_pins["architecture-skill"] == "v1.2.0"


def test_template_header_checklists_log_no_blockers() -> None:
    """Header placeholders, 48 unticked checkboxes, 7 log rows and no blocker (it is fenced)."""
    plan = parse_plan(TEMPLATE)
    assert plan.header["Status"].value == "[Planning / In Progress / Integration / Completed]"
    assert plan.header["Model"].value == "Claude Opus 4"
    assert plan.blockers == ()
    assert len(plan.checklists) == 48
    assert not any(c.checked for c in plan.checklists)
    pre = [c for c in plan.checklists if c.section == "Pre-Execution Checklist"]
    assert len(pre) == 8
    assert [r.agent_id for r in plan.log][:2] == ["architect-001", "builder-oauth-001"]


def test_columns_found_by_name_with_extra_column() -> None:
    """Columns are found by header name: reordered columns and an extra one still read."""
    text = (
        "## M\n\n| Status | Owner | Task ID | Dependencies | Parallel Group |\n|--|--|--|--|--|\n"
        "| in progress | me | T1 | - | A |\n| Not Started | you | T2 | T1 | B |\n"
    )
    plan = parse_plan(text)
    assert [(t.id, t.status, t.dependencies) for t in plan.tasks] == [
        ("T1", "In Progress", ()),
        ("T2", "Not Started", ("T1",)),
    ]
    assert plan.tasks[0].worktree == "t1"
    assert plan.tasks[0].branch == "baton/T1"


def test_defaults_for_empty_cells() -> None:
    """Empty or '-' Worktree and Branch cells get the task-id defaults."""
    plan = parse_plan(small_plan("| T9 | d | Dev | - |  | A | Not Started | - | 1h |"))
    assert (plan.tasks[0].worktree, plan.tasks[0].branch) == ("t9", "baton/T9")


def test_unrecognised_status_kept_raw() -> None:
    """A status outside the five is kept as written (the checker reports it)."""
    plan = parse_plan(small_plan("| T1 | d | Dev | - | - | A | Done-ish | - | 1h |"))
    assert plan.tasks[0].status == "Done-ish"


def test_no_matrix_is_a_problem() -> None:
    """A file without a task matrix parses with a PlanSyntaxError problem."""
    plan = parse_plan("# Just notes\n\nnothing here\n")
    assert plan.tasks == ()
    assert isinstance(plan.problems[0], PlanSyntaxError)


def test_row_without_id_reported_with_line() -> None:
    """A matrix row with an empty Task ID is reported at its line."""
    plan = parse_plan(
        small_plan("| T1 | d | Dev | - | - | A | Not Started | - | 1h |\n|  | x | | | | A | | | |")
    )
    assert [t.id for t in plan.tasks] == ["T1"]
    assert plan.problems[0].line == 10


def test_blocker_entries_outside_fences() -> None:
    """Entries under Notes and Blockers are read with all fields; fenced ones are ignored."""
    notes = (
        "## 8. Notes and Blockers\n\n```markdown\n### T2 - x - 2025\n**Severity:** High\n```\n\n"
        "### T3 - builder-jwt-001 - 2025-12-13 15:45\n**Severity:** Medium\n"
        "**Blocker Type:** Technical\n**Description:** ES256 bug.\n"
        "**Required Resolution:** Decide between: (1) a, (2) RS256\n"
        "**Escalation:** No - can proceed with RS256 (recommended)\n"
        "**Triage:** 2025-12-13 15:50 - first\n**Triage:** 2025-12-13 15:51 - second\n"
        "\n---\n\n## Next\n"
    )
    plan = parse_plan(small_plan("| T3 | d | Dev | - | - | A | Blocked | - | 1h |", notes))
    [entry] = plan.blockers
    assert (entry.task_id, entry.agent_id, entry.timestamp) == (
        "T3",
        "builder-jwt-001",
        "2025-12-13 15:45",
    )
    assert entry.fields["Blocker Type"] == "Technical"
    assert not entry.escalate
    assert entry.triage_lines == ("2025-12-13 15:50 - first", "2025-12-13 15:51 - second")
    assert entry.problem is None
    assert entry.tail.startswith("**Triage:** 2025-12-13 15:51")


def test_malformed_blocker_entry_has_problem() -> None:
    """An entry missing required fields carries a BlockerEntryError at its heading line."""
    notes = "## Notes and Blockers\n\n### T1 - dev-1 - 2025-01-01\n**Severity:** Low\n"
    plan = parse_plan(small_plan("| T1 | d | Dev | - | - | A | Blocked | - | 1h |", notes))
    problem = plan.blockers[0].problem
    assert isinstance(problem, BlockerEntryError)
    assert problem.line == 12
    assert "**Escalation:**" in problem.reason


@pytest.mark.parametrize(
    ("cell", "role", "skills"),
    [
        ("Architect / `a`, `b`", "Architect", ("a", "b")),
        ("Builder-1 / builder-skill", "Builder-1", ("builder-skill",)),
        ("Scribe", "Scribe", ()),
        ("", "", ()),
    ],
)
def test_split_agent_skills(cell: str, role: str, skills: tuple[str, ...]) -> None:
    """The Agent/Skills cell splits into the role and its skills, backticks optional."""
    assert split_agent_skills(cell) == (role, skills)


@pytest.mark.parametrize(
    ("cell", "folder"),
    [("../arch", "arch"), ("`../oauth/`", "oauth"), ("/abs/w/x", "x"), ("..", ".."), ("/", "")],
)
def test_worktree_folder(cell: str, folder: str) -> None:
    """A Worktree cell names its folder by the last path component."""
    assert worktree_folder(cell) == folder


def test_expand_range() -> None:
    """Ranges such as T2-T4 expand; other ids stay as written."""
    assert expand_range("T2-T4") == ("T2", "T3", "T4")
    assert expand_range("T2\u2013T3") == ("T2", "T3")
    assert expand_range("setup") == ("setup",)
    assert expand_range("T4-T2") == ("T4-T2",)


def test_crlf_and_bom() -> None:
    """A CRLF file with a BOM reads like its LF twin, and cell spans point at the CRLF text."""
    crlf = "\ufeff" + TEMPLATE.replace("\n", "\r\n")
    plan = parse_plan(crlf)
    assert plan.eol == "\r\n"
    assert [t.id for t in plan.tasks] == [f"T{i}" for i in range(1, 8)]
    cell = plan.tasks[2].cells["Status"]
    assert cell.span.slice(crlf) == "Not Started"
    assert plan.header["Project"].value == "[Project/Feature Name]"


def test_reparse_with_previous_equals_fresh_parse() -> None:
    """Reading an edited text with the previous plan gives exactly what a fresh read gives."""
    from protocol.edit import set_cell, set_log_cells

    plan = parse_plan(TEMPLATE)
    text = set_cell(TEMPLATE, plan, "T3", "Status", "In Progress")
    text = set_log_cells(text, parse_plan(text), "T3", {"Started": "now", "Notes": "a | b"})
    assert parse_plan(text, previous=plan) == parse_plan(text)
    moved = text.replace("## 2. Project Goal", "## 2. Project Goal\n\nnew paragraph", 1)
    assert parse_plan(moved, previous=plan) == parse_plan(moved)
    cut = text.replace("| T7 |", "T7 |", 1)  # a row edited into something else
    assert parse_plan(cut, previous=plan) == parse_plan(cut)
    # Columns swapped in the header: the same rows now mean something else.
    header = next(line for line in text.splitlines() if line.startswith("| Task ID"))
    cols = header.split("|")
    cols[2], cols[3] = cols[3], cols[2]
    swapped = text.replace(header, "|".join(cols), 1)
    assert parse_plan(swapped, previous=plan) == parse_plan(swapped)
    assert parse_plan(swapped).tasks != plan.tasks


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["T1", "T2", "T4", "T7"]),
            st.sampled_from(["Status", "Description", "Estimate", "log Notes", "log Started"]),
            st.text(alphabet="abc |-\\`é", max_size=12),
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 10**4),
)
def test_reparse_after_any_cell_edits_equals_fresh_parse(
    edits: list[tuple[str, str, str]], revision: int
) -> None:
    """Row reuse (unchanged rows only moved) and a changed revision marker never make the
    incremental read differ from a fresh one."""
    from protocol import set_revision
    from protocol.edit import escape_cell, set_cell, set_log_cells

    text = set_revision(TEMPLATE, 1)
    plan = parse_plan(text)
    for task_id, column, value in edits:
        current = parse_plan(text)
        if column.startswith("log "):
            text = set_log_cells(text, current, task_id, {column[4:]: escape_cell(value)})
        else:
            text = set_cell(text, current, task_id, column, escape_cell(value))
    text = set_revision(text, revision)
    assert parse_plan(text, previous=plan) == parse_plan(text)
