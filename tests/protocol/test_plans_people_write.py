"""Plans as people and agents write them from the template: each variant reads as a person
reads it (docs/user-guide.md, "What Baton reads")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from protocol import (
    PlanSyntaxError,
    PlanWarning,
    UnknownDependencyError,
    check_plan,
    parse_plan,
    ready_tasks,
    waves,
)
from protocol._model import Plan

PLANS = Path(__file__).parent.parent / "fixtures" / "plans"
PEOPLE = PLANS / "people"

NS, IP, CO = "Not Started", "In Progress", "Completed"


def read(name: str) -> Plan:
    plan = parse_plan((PEOPLE / name).read_text(encoding="utf-8"))
    assert check_plan(plan) == ()
    return plan


def rows(plan: Plan) -> list[tuple[Any, ...]]:
    return [(t.id, t.description, t.role, t.status, t.dependencies, t.group) for t in plan.tasks]


def test_emoji_statuses() -> None:
    """``✅ Completed`` and ``⬜ Not Started`` read as the statuses they show, in the log too."""
    plan = read("emoji_statuses.md")
    assert rows(plan) == [
        ("T1", "Index schema and API contract", "Architect", CO, (), "A"),
        ("T2", "Incremental indexer", "Builder-1", NS, ("T1",), "B"),
        ("T3", "Query parser", "Builder-2", NS, ("T1",), "B"),
        ("T4", "Relevance benchmarks", "Validator", NS, ("T2", "T3"), "C"),
    ]
    assert [r.status for r in plan.log] == [CO, NS, NS, NS]
    assert [t.id for t in ready_tasks(plan.tasks)] == ["T2", "T3"]
    assert dict(plan.spellings) == {CO: "✅ Completed", NS: "⬜ Not Started"}


def test_status_words() -> None:
    """Done, 🟢 Done, Complete, WIP, Ready, Pending, TODO and `pending` are statuses."""
    plan = read("status_words.md")
    assert [t.status for t in plan.tasks] == [CO, CO, CO, IP, NS, NS, NS, NS]
    assert [t.id for t in ready_tasks(plan.tasks)] == ["T6", "T7", "T5"]
    assert plan.spell(CO) == "Done"  # the plan's most frequent spelling
    assert plan.spell("Failed") == "Failed"  # one the plan never writes: the template's word


def test_headers_id_title_agent_worktree_path_wave_deps() -> None:
    """ID, Title, Agent, Worktree Path, Wave and Deps are the template's columns."""
    plan = read("headers_id_title_wave.md")
    assert rows(plan) == [
        ("S1", "Conflict model for offline edits", "Architect", NS, (), "1"),
        ("S2", "Local store on device", "Builder", NS, ("S1",), "2"),
        ("S3", "Sync endpoint", "Builder", NS, ("S1",), "2"),
        ("S4", "Merge tests", "Validator", NS, ("S2", "S3"), "3"),
    ]
    assert [t.worktree for t in plan.tasks] == [
        "sync-model",
        "sync-store",
        "sync-api",
        "sync-tests",
    ]
    assert waves(plan.tasks) == (("S1",), ("S2", "S3"), ("S4",))


def test_headers_task_description_agent_role_group_depends_on() -> None:
    """Task Description, Agent Role, Group and Depends On are read, skills included."""
    plan = read("headers_depends_on.md")
    assert rows(plan) == [
        ("T1", "Event catalogue", "Architect", NS, (), "A"),
        ("T2", "Email channel", "Builder", NS, ("T1",), "B"),
        ("T3", "Push channel", "Builder", NS, ("T1",), "B"),
        ("T4", "Delivery metrics", "Validator", NS, ("T2", "T3"), "C"),
    ]
    assert plan.tasks[1].skills == ("builder-skill", "email-skill")


def test_headers_task_owner_phase_blocked_by() -> None:
    """With an ID column, Task is the description; Owner the role, Phase the group."""
    plan = read("headers_blocked_by.md")
    assert rows(plan) == [
        ("D1", "Inventory of existing pages", "Scribe", NS, (), "1"),
        ("D2", "Static site generator setup", "Builder", NS, (), "1"),
        ("D3", "Port the pages", "Builder", NS, ("D1", "D2"), "2"),
        ("D4", "Link checker in CI", "Validator", NS, ("D3",), "3"),
    ]
    assert waves(plan.tasks) == (("D1", "D2"), ("D3",), ("D4",))


def test_no_parallel_group_column() -> None:
    """Without a Parallel Group column the plan is valid and runs by its dependencies."""
    plan = read("no_group_column.md")
    assert plan.warnings == ()
    assert waves(plan.tasks) == (("T1",), ("T2", "T3"), ("T4",))
    assert [t.id for t in ready_tasks(plan.tasks)] == ["T1"]


def test_group_names_that_are_words() -> None:
    """Pre (written first) comes before A-C, and Build (written last) after them."""
    plan = read("group_words.md")
    assert waves(plan.tasks) == (("T0",), ("T1",), ("T2", "T3"), ("T4",), ("T5",))
    assert [t.id for t in ready_tasks(plan.tasks)] == ["T0"]


def test_matrix_split_into_tables() -> None:
    """Three phase tables with the same header are one matrix, in file order."""
    plan = read("split_tables.md")
    assert [t.id for t in plan.tasks] == ["T1", "T2", "T3", "T4", "T5"]
    assert len(plan.task_tables) == 3
    assert plan.tasks[4].dependencies == ("T3", "T4")
    assert waves(plan.tasks) == (("T1", "T2"), ("T3", "T4"), ("T5",))


def test_markdown_lists_and_ranges_in_cells() -> None:
    """**T1**, `T2`, 'T2 and T3', 'T2 & T4', an en-dash range, a note in parentheses; 2-3h is 3h."""
    plan = read("markdown_cells.md")
    deps = {t.id: t.dependencies for t in plan.tasks}
    assert deps == {
        "T1": (),
        "T2": ("T1",),
        "T3": ("T1",),
        "T4": ("T1",),
        "T5": ("T2", "T3"),
        "T6": ("T2", "T4"),
        "T7": ("T5", "T6", "T2", "T3", "T4"),
    }
    assert plan.tasks[0].status == NS
    hours = {t.id: t.estimate_hours for t in plan.tasks}
    assert (hours["T2"], hours["T3"], hours["T4"], hours["T7"]) == (3.0, 4.0, 1.5, 0.75)


def test_misspelled_header_is_a_warning_naming_the_column() -> None:
    """'Dependancies' is not read, and a warning at its line says it probably means Dependencies."""
    plan = read("misspelled_header.md")
    [warning] = plan.warnings
    assert isinstance(warning, PlanWarning)
    assert (warning.line, warning.reason) == (
        8,
        "column 'Dependancies' is not read: did you mean 'Dependencies'?",
    )


def test_row_with_a_missing_cell_says_so() -> None:
    """A row one cell short is one error at its line, and its id is not 'unknown' elsewhere."""
    plan = parse_plan((PLANS / "invalid_missing_cell.md").read_text(encoding="utf-8"))
    [error] = check_plan(plan)
    assert isinstance(error, PlanSyntaxError)
    assert (error.line, error.reason) == (
        12,
        "this row has 8 cells but the header has 9: a cell is missing "
        "(an empty one is still written, as | - |)",
    )


def test_row_with_an_unescaped_pipe_says_so() -> None:
    """A row with a cell too many names the unescaped pipe; empty extra cells are fine."""
    text = (PEOPLE / "no_group_column.md").read_text(encoding="utf-8")
    broken = text.replace("| Output formats |", "| Output | formats |")
    [error] = check_plan(parse_plan(broken))
    assert "this row has 9 cells but the header has 8: a cell has an unescaped |" in error.reason
    padded = text.replace("| 2h |\n| T4", "| 2h | |\n| T4")
    assert check_plan(parse_plan(padded)) == ()


def test_prose_plan_says_what_baton_needs() -> None:
    """A plan with no task table is refused at line 1, naming the columns and baton init."""
    [error] = check_plan(parse_plan((PLANS / "invalid_prose.md").read_text(encoding="utf-8")))
    assert error.line == 1
    assert "Task ID (or ID) column and a Status column" in error.reason
    assert "baton init" in error.reason


def test_table_without_status_column_is_pointed_at() -> None:
    """A task table lacking only its Status column is named at its header line."""
    text = "# P\n\n| ID | Task | Deps |\n|---|---|---|\n| T1 | a | - |\n"
    [error] = check_plan(parse_plan(text))
    assert error.line == 3
    assert "has no Status column" in error.reason


def test_unknown_dependency_is_named_without_markup() -> None:
    """A dependency on a missing task names the bare id, not its markup."""
    text = (PEOPLE / "markdown_cells.md").read_text(encoding="utf-8")
    [error] = check_plan(parse_plan(text.replace("| **T1** | 2-3h |", "| **T9** | 2-3h |")))
    assert isinstance(error, UnknownDependencyError)
    assert error.reason == "dependency T9 of T2 is not a task"


def test_later_table_with_other_columns_is_a_warning() -> None:
    """A later table with Task ID and Status but other columns is left out, with a warning."""
    text = (PEOPLE / "no_group_column.md").read_text(encoding="utf-8") + (
        "\n## Risks\n\n| ID | Risk | Status |\n|---|---|---|\n| R1 | scope creep | Open |\n"
    )
    plan = parse_plan(text)
    assert [t.id for t in plan.tasks] == ["T1", "T2", "T3", "T4"]
    [warning] = plan.warnings
    assert warning.line == 17
    assert "not the columns of the Task Assignment Matrix at line 8" in warning.reason
    assert "its rows are not read as tasks" in warning.reason


def test_task_without_group_or_dependencies_in_a_grouped_matrix_warns() -> None:
    """A task that names no group and no dependency among grouped tasks starts at once: a
    warning says so."""
    text = (PEOPLE / "headers_depends_on.md").read_text(encoding="utf-8")
    email = "| `notify/email` | B | Not Started | T1 |"
    plan = parse_plan(text.replace(email, "| `notify/email` |  | Not Started | - |"))
    assert check_plan(plan) == ()
    [warning] = plan.warnings
    assert warning.reason == "task T2 has no parallel group and no dependencies: it starts at once"
    assert [t.id for t in ready_tasks(plan.tasks)] == ["T1", "T2"]  # longest path first


@pytest.mark.parametrize(
    ("cell", "status"),
    [
        ("✅ Completed", CO),
        ("⬜ Not Started", NS),
        ("🟢 Done", CO),
        ("Done", CO),
        ("Complete", CO),
        ("finished", CO),
        ("Pending", NS),
        ("TODO", NS),
        ("to-do", NS),
        ("Ready", NS),
        ("Planned", NS),
        ("WIP", IP),
        ("Doing", IP),
        ("active", IP),
        ("in_progress", IP),
        ("`pending`", NS),
        ("**Blocked**", "Blocked"),
        ("Stuck", "Blocked"),
        ("On Hold", "Blocked"),
        ("Error", "Failed"),
        ("❌ Failed", "Failed"),
        ("✅", CO),
        ("Completed ✅", CO),
    ],
)
def test_status_spellings(cell: str, status: str) -> None:
    """Emoji, markup, case and the common synonyms all read as one of the five."""
    text = (PEOPLE / "no_group_column.md").read_text(encoding="utf-8")
    plan = parse_plan(text.replace("| Not Started | - | 1h |", f"| {cell} | - | 1h |", 1))
    assert plan.tasks[0].status == status
    assert check_plan(plan) == ()
