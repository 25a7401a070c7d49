"""Which phase criteria a gated completion ticks: pure, on the template's plan."""

from __future__ import annotations

from pathlib import Path

from orchestrator.decisions.gate_ticks import gate_ticks
from protocol import Plan, parse_plan, set_cell

TEMPLATE = (Path(__file__).parents[2] / "fixtures" / "plans" / "template.md").read_text("utf-8")
PASSED = {t: {"tests"} for t in ("T2", "T3", "T4")}


def plan_with(statuses: dict[str, str]) -> Plan:
    text = TEMPLATE
    for task_id, status in statuses.items():
        text = set_cell(text, parse_plan(text), task_id, "Status", status)
    return parse_plan(text)


def test_the_last_of_the_phase_to_complete_ticks_the_criterion_its_gates_prove() -> None:
    plan = plan_with({"T2": "Completed", "T3": "Completed", "T4": "In Progress"})
    ticks = gate_ticks(plan, PASSED, "T4")
    assert [t.text for t in ticks] == ["Tests passing for each approach (100% pass rate)"]


def test_a_task_completing_beside_one_still_in_progress_ticks_nothing() -> None:
    """Both passed their gates; the one whose Completed is not written yet ticks it later."""
    plan = plan_with({"T2": "Completed", "T3": "In Progress", "T4": "In Progress"})
    assert gate_ticks(plan, PASSED, "T4") == ()


def test_a_task_that_did_not_pass_keeps_the_box_open() -> None:
    plan = plan_with({"T2": "Completed", "T3": "Completed", "T4": "In Progress"})
    assert gate_ticks(plan, {**PASSED, "T3": set()}, "T4") == ()
