"""The Retrospective's decision: metrics from the Actual Execution Log, no daemon."""

from __future__ import annotations

from pathlib import Path

from orchestrator.decisions.actions import Report, WriteMetrics
from orchestrator.decisions.retro import pending, retrospective
from protocol import parse_plan, set_cell, set_log_cells

TEMPLATE = (Path(__file__).parents[2] / "fixtures" / "plans" / "template.md").read_text("utf-8")


def finished_plan() -> str:
    text = TEMPLATE
    for i in range(1, 8):
        plan = parse_plan(text)
        text = set_cell(text, plan, f"T{i}", "Status", "Completed")
        plan = parse_plan(text)
        start, end = f"2026-01-01T0{i}:00:00Z", f"2026-01-01T0{i}:30:00Z"
        text = set_log_cells(text, plan, f"T{i}", {"Started": start, "Completed": end})
    return text


def test_metrics_are_measured_from_the_log_and_the_spend() -> None:
    """Every log row timed: total duration, cost and time saved are written, then reported."""
    plan = parse_plan(finished_plan())
    assert pending(plan)
    write, report = retrospective(plan, 1.5)
    assert isinstance(write, WriteMetrics)
    assert write.values["Total Duration"][0] == "6h 30m"
    assert write.values["Total Cost"][0] == "$1.50"
    assert isinstance(report, Report)
    assert report.event == "retrospective_written"


def test_nothing_is_written_while_a_row_is_untimed() -> None:
    """A log row without its Completed time means nothing can be measured yet."""
    assert retrospective(parse_plan(TEMPLATE), 0.0) == []
