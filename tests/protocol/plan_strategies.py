"""Hypothesis strategies that write whole plans in the template's format."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from protocol._model import STATUSES

# Status cells as plans write them: the five, and spellings of them people use.
STATUS_CELLS = (
    *STATUSES,
    "✅ Completed",
    "⬜ Not Started",
    "🔄 In Progress",
    "Done",
    "**Blocked**",
    "`pending`",
    "WIP",
    "❌ Failed",
)

# Cell text a person might type: letters, digits, punctuation, unicode, escaped pipes.
_cell_chars = st.sampled_from([*"abcXYZ019 -_.,:;()[]/`*#éü→✓", "\\|"])
cell_text = st.lists(_cell_chars, min_size=1, max_size=12).map(
    lambda xs: "".join(xs).strip() or "x"
)


@dataclass(frozen=True)
class PlanSpec:
    text: str
    task_ids: tuple[str, ...]
    eol: str


@st.composite
def plans(draw: st.DrawFn) -> PlanSpec:
    """A valid plan: header, matrix (sometimes split into two tables with one header), a log,
    checklists and a blocker entry, LF or CRLF; statuses in any of ``STATUS_CELLS``."""
    n = draw(st.integers(min_value=1, max_value=6))
    ids = tuple(f"T{i + 1}" for i in range(n))
    pad = draw(st.sampled_from(["", " ", "   "]))
    rows = []
    for i, tid in enumerate(ids):
        deps = ", ".join(ids[: draw(st.integers(0, i))][-2:]) or "-"
        rows.append(
            f"|{pad}{tid}{pad}| {draw(cell_text)} | Builder / `skill-{i}` | `../w{i}` |"
            f" `feature/b{i}` | {'AB'[i % 2]} | {draw(st.sampled_from(STATUS_CELLS))} |"
            f" {deps} |{pad}{draw(st.sampled_from(['1h', '30m', '', '2d']))}|"
        )
    log_rows = [
        f"| {tid} | agent-{tid.lower()} | - | - | - | Not Started | {draw(cell_text)} |"
        for tid in ids[: draw(st.integers(0, n))]
    ]
    header = [
        "| Task ID | Description | Agent/Skills | Worktree | Branch | Parallel Group | Status"
        " | Dependencies | Estimate |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    split = draw(st.integers(0, n))  # where a second table with the same header begins
    if 0 < split < n:
        rows[split:split] = ["", "### Phase 2", "", *header]
    checks = [f"- [{draw(st.sampled_from([' ', 'x']))}] {draw(cell_text)}" for _ in range(3)]
    body = [
        "# Multi-Agent Orchestration Plan",
        "",
        f"**Project:** {draw(cell_text)}",
        "**Status:** Planning",
        "",
        "## 3. Task Assignment Matrix",
        "",
        *header,
        *rows,
        "",
        "### Pre-Execution Checklist",
        "",
        *checks,
        "",
        "## 8. Notes and Blockers",
        "",
        "### T1 - builder-001 - 2025-12-13 15:45",
        "**Severity:** Medium",
        "**Blocker Type:** Technical",
        f"**Description:** {draw(cell_text)}",
        "**Required Resolution:** Decide between (1) a, (2) b",
        "**Escalation:** No",
        "",
        "### Actual Execution Log",
        "",
        "| Task ID | Agent ID | Started | Completed | Actual Duration | Status | Notes |",
        "|---------|----------|---------|-----------|-----------------|--------|-------|",
        *log_rows,
        "",
        "## Retrospective",
    ]
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    text = eol.join(body) + draw(st.sampled_from([eol, ""]))
    return PlanSpec(text, ids, eol)
