"""The Retrospective's Metrics table (``| Metric | Target | Actual | Delta |``): finding its
rows and filling their Actual and Delta cells, as minimal edits. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Mapping

from protocol._errors import EditConflictError
from protocol._model import Plan, Row, Table
from protocol._table import Blocks
from protocol.edit import _replace_cell


def metrics_table(plan: Plan) -> Table | None:
    """The first table whose header has Metric, Target, Actual and Delta columns."""
    source = plan.source
    if not isinstance(source, tuple) or len(source) != 2 or not isinstance(source[1], Blocks):
        return None
    for table in source[1].tables:
        if all(table.column(c) is not None for c in ("Metric", "Target", "Actual", "Delta")):
            return table
    return None


def metric_rows(plan: Plan) -> dict[str, Row]:
    """Rows of the Metrics table by their Metric name (``Total Duration``, ...)."""
    table = metrics_table(plan)
    if table is None:
        return {}
    i = table.column("Metric")
    assert i is not None
    return {r.cells[i].value: r for r in table.rows if i < len(r.cells)}


def set_metrics(text: str, plan: Plan, values: Mapping[str, tuple[str, str]]) -> str:
    """Fill ``{metric: (actual, delta)}``, only in cells that are still empty (``-``): a
    number a person wrote stays. Right to left, bottom to top, so every span holds."""
    table = metrics_table(plan)
    if table is None:
        raise EditConflictError("the plan has no Metrics table", file=plan.file)
    rows = metric_rows(plan)
    targets = []
    for metric, (actual, delta) in values.items():
        row = rows.get(metric)
        if row is None:
            continue
        for column, value in (("Actual", actual), ("Delta", delta)):
            i = table.column(column)
            if i is not None and i < len(row.cells) and not row.cells[i].value:
                targets.append((row.cells[i], value))
    for cell, value in sorted(targets, key=lambda t: -t[0].span.start):
        text = _replace_cell(text, cell, value, None, "retrospective metric")
    return text
