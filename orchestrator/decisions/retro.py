"""The Retrospective's Metrics, measured when the run reaches Integration:
total duration and time saved against running the tasks one after another, from the Actual
Execution Log; total cost and the quality gates' pass rate from the journal. Targets are
read from the table's own Target column (``8 hours``, ``$0.75``, ``66%``); a row whose
target cannot be read gets no delta."""

from __future__ import annotations

import re

from orchestrator.adapters.clock import format_duration, parse_iso
from orchestrator.decisions.actions import Action, Report, WriteMetrics
from protocol import Plan
from protocol.retro import metric_rows, metrics_table

_HOURS = re.compile(r"([\d.]+)\s*(h|hours?|m|min|minutes?)\b", re.I)
_NUMBER = re.compile(r"-?[\d.]+")


def measure(
    plan: Plan, spent_usd: float, gate_pass_rate: float | None = None
) -> dict[str, tuple[str, str]]:
    """``{metric: (actual, delta)}`` for what can be measured; empty until every log row
    has its Started and Completed times. ``gate_pass_rate``: the share of gate runs that
    passed, when any ran."""
    spans = []
    for row in plan.log:
        start, end = parse_iso(row.started), parse_iso(row.completed)
        if start is None or end is None:
            return {}
        spans.append((start, end))
    if not spans:
        return {}
    total = (max(e for _, e in spans) - min(s for s, _ in spans)).total_seconds()
    sequential = sum((e - s).total_seconds() for s, e in spans)
    targets = _targets(plan)
    out = {"Total Duration": (format_duration(total), "-")}
    hours = _target_hours(targets.get("Total Duration", ""))
    if hours is not None:
        diff = total - hours * 3600
        out["Total Duration"] = (
            format_duration(total),
            ("-" if diff < 0 else "+") + format_duration(abs(diff)),
        )
    cost = f"${spent_usd:.2f}"
    target_cost = _number(targets.get("Total Cost", ""))
    out["Total Cost"] = (cost, "-" if target_cost is None else f"{spent_usd - target_cost:+.2f}")
    if sequential > 0:
        saved = 1 - total / sequential
        target = _number(targets.get("Time Savings vs Sequential", ""))
        delta = "-" if target is None else f"{saved * 100 - target:+.0f} pts"
        out["Time Savings vs Sequential"] = (f"{saved:.0%}", delta)
    if gate_pass_rate is not None:
        target = _number(targets.get("Quality Gate Pass Rate", ""))
        delta = "-" if target is None else f"{gate_pass_rate * 100 - target:+.0f} pts"
        out["Quality Gate Pass Rate"] = (f"{gate_pass_rate:.0%}", delta)
    return out


def pending(plan: Plan) -> bool:
    """Whether the Metrics table still waits for its Total Duration."""
    row = metric_rows(plan).get("Total Duration")
    table = metrics_table(plan)
    if row is None or table is None:
        return False
    i = table.column("Actual")
    return i is not None and i < len(row.cells) and not row.cells[i].value


def _targets(plan: Plan) -> dict[str, str]:
    table = metrics_table(plan)
    i = table.column("Target") if table is not None else None
    if i is None:
        return {}
    return {
        name: row.cells[i].value for name, row in metric_rows(plan).items() if i < len(row.cells)
    }


def _target_hours(text: str) -> float | None:
    m = _HOURS.search(text)
    if m is None:
        return None
    n = float(m.group(1))
    return n if m.group(2).casefold().startswith("h") else n / 60


def _number(text: str) -> float | None:
    m = _NUMBER.search(text.replace(",", ""))
    return float(m.group()) if m else None


def retrospective(
    plan: Plan, spent_usd: float, gate_pass_rate: float | None = None
) -> list[Action]:
    """At Integration: fill the Metrics cells still empty, with what can be measured."""
    values = measure(plan, spent_usd, gate_pass_rate)
    if not values:
        return []
    written = {"metrics": {k: v[0] for k, v in values.items()}}
    return [WriteMetrics(values), Report("retrospective_written", written)]
