"""The DAG math: estimates, effective dependencies, waves, critical path, ready set."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import PlanCycleError, parse_plan, set_cell
from protocol.dag import (
    critical_path,
    effective_dependencies,
    find_cycle,
    group_key,
    parse_estimate,
    ready_tasks,
    remaining_path_hours,
    topological_order,
    waves,
)

PLANS = Path(__file__).parent.parent / "fixtures" / "plans"
TEMPLATE = (PLANS / "template.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("1h", 1.0),
        ("1.5h", 1.5),
        ("30m", 0.5),
        ("2d", 48.0),
        ("90 min", 1.5),
        ("2 hours", 2.0),
        ("`3h`", 3.0),
        ("", 1.0),
        ("soon", 1.0),
        ("-", 1.0),
    ],
)
def test_parse_estimate(text: str, hours: float) -> None:
    """Estimates read in hours; unknown counts as one hour."""
    assert parse_estimate(text) == hours


def test_group_order() -> None:
    """Groups order A < B < Z < AA, and numbers numerically."""
    assert sorted(["AA", "B", "A", "Z"], key=group_key) == ["A", "B", "Z", "AA"]
    assert sorted(["10", "9", "1"], key=group_key) == ["1", "9", "10"]


def test_template_waves_and_critical_path() -> None:
    """The template runs in four waves; its critical path is 7.5 hours long."""
    tasks = parse_plan(TEMPLATE).tasks
    assert waves(tasks) == (("T1",), ("T2", "T3", "T4"), ("T5", "T6"), ("T7",))
    path, hours = critical_path(tasks)
    assert hours == 7.5
    assert path == ("T1", "T2", "T5", "T7")
    assert remaining_path_hours(tasks)["T1"] == 7.5
    assert topological_order(tasks) == ("T1", "T2", "T3", "T4", "T5", "T6", "T7")


def test_group_rule_for_tasks_without_dependencies() -> None:
    """A task without deps in group B waits for all of group A."""
    text = set_cell(TEMPLATE, parse_plan(TEMPLATE), "T4", "Dependencies", "-")
    deps = effective_dependencies(parse_plan(text).tasks)
    assert deps["T4"] == ("T1",)
    assert deps["T1"] == ()


def test_ready_set_follows_completion() -> None:
    """Only T1 is ready at first; when it completes, T2-T4 are, longest path first."""
    plan = parse_plan(TEMPLATE)
    assert [t.id for t in ready_tasks(plan.tasks)] == ["T1"]
    text = set_cell(TEMPLATE, plan, "T1", "Status", "Completed")
    assert [t.id for t in ready_tasks(parse_plan(text).tasks)] == ["T2", "T3", "T4"]


def test_cycle_named_and_raised() -> None:
    """A cycle is found and named; topological_order raises PlanCycleError at its line."""
    text = (PLANS / "invalid_cycle.md").read_text(encoding="utf-8")
    tasks = parse_plan(text).tasks
    assert find_cycle(tasks) == ("T2", "T3", "T2")
    with pytest.raises(PlanCycleError, match="T2 -> T3 -> T2") as exc:
        topological_order(tasks)
    assert exc.value.line == 11


def test_long_chain_is_iterative() -> None:
    """A 3,000-task chain neither recurses too deep nor takes long."""
    rows = "\n".join(
        f"| T{i} | x | Dev | - | - | A | Not Started | {f'T{i - 1}' if i > 1 else '-'} | 1h |"
        for i in range(1, 3001)
    )
    text = (
        "| Task ID | Description | Agent | Worktree | Branch | Parallel Group | Status"
        f" | Dependencies | Estimate |\n|-|-|-|-|-|-|-|-|-|\n{rows}\n"
    )
    tasks = parse_plan(text).tasks
    assert critical_path(tasks)[1] == 3000.0
    assert len(waves(tasks)) == 3000
    assert [t.id for t in ready_tasks(tasks)] == ["T1"]
