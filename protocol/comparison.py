"""The Integration Summary's per-approach tables (Performance Comparison, Security
Findings): rows by their Approach, cells filled only where they still read ``-``. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from protocol._model import Plan, Table
from protocol._table import Blocks
from protocol.edit import _replace_cell

__all__ = ["METRIC_OF", "approach_tables", "set_comparison"]

# A column's header (case ignored) -> the gate number it shows.
METRIC_OF = {
    "p50 latency": "p50",
    "p95 latency": "p95",
    "p99 latency": "p99",
    "throughput": "throughput",
    "memory": "memory",
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
}


def approach_tables(plan: Plan) -> list[Table]:
    """The tables with an Approach column and a column a gate number fills."""
    source = plan.source
    if not isinstance(source, tuple) or len(source) != 2 or not isinstance(source[1], Blocks):
        return []
    return [
        t
        for t in source[1].tables
        if t.column("Approach") is not None and any(t.column(c) is not None for c in METRIC_OF)
    ]


def set_comparison(text: str, plan: Plan, values: Mapping[str, Mapping[str, str]]) -> str:
    """Fill ``{approach: {metric: value}}`` into every approach table's empty cells."""
    targets = []
    for table in approach_tables(plan):
        i = table.column("Approach")
        assert i is not None
        for row in table.rows:
            if i >= len(row.cells):
                continue
            numbers = values.get(row.cells[i].value, {})
            for header, metric in METRIC_OF.items():
                j = table.column(header)
                if j is None or j >= len(row.cells) or metric not in numbers:
                    continue
                if not row.cells[j].value:
                    targets.append((row.cells[j], numbers[metric]))
    for cell, value in sorted(targets, key=lambda t: -t[0].span.start):
        text = _replace_cell(text, cell, value, None, "comparison cell")
    return text
