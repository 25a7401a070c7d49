"""The Retrospective Metrics table: found, filled where empty, nothing else touched."""

from __future__ import annotations

from pathlib import Path

from protocol import parse_plan
from protocol.retro import metric_rows, set_metrics

TEMPLATE = (Path(__file__).parent.parent / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)


def test_fills_only_the_empty_actual_and_delta_cells() -> None:
    text = TEMPLATE.replace("| Total Cost | $0.75 | - | - |", "| Total Cost | $0.75 | $0.40 | - |")
    plan = parse_plan(text)
    values = {"Total Duration": ("7h 30m", "-30m"), "Total Cost": ("$0.10", "-0.65")}
    out = set_metrics(text, plan, values)
    assert "| Total Duration | 8 hours | 7h 30m | -30m |" in out
    assert "| Total Cost | $0.75 | $0.40 | -0.65 |" in out  # a person's Actual stays
    # Every byte outside those three cells is unchanged.
    assert (
        out.replace("7h 30m", "-", 1)
        .replace("| -30m |", "| - |", 1)
        .replace("| -0.65 |", "| - |", 1)
        == text
    )
    assert set(metric_rows(parse_plan(out))) == {
        "Total Duration",
        "Total Cost",
        "Time Savings vs Sequential",
        "Quality Gate Pass Rate",
    }


def test_a_second_fill_changes_nothing() -> None:
    plan = parse_plan(TEMPLATE)
    once = set_metrics(TEMPLATE, plan, {"Total Duration": ("1h 00m", "-7h 00m")})
    assert set_metrics(once, parse_plan(once), {"Total Duration": ("2h 00m", "x")}) == once
