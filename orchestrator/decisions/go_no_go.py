"""The Go/No-Go decision at Integration (docs/user-guide.md, "From Integration to
Completed"), by the template's criteria, over the plan, the gates' last results and the
open blockers. Pure: the same inputs always give the same verdict and the same line.

- NO-GO: a task not Completed, no (or an ambiguous) Decision, a mandatory gate failed, an
  open Critical or High blocker, high or critical security findings, a phase criterion or
  the code review / security audit box not ticked.
- GO WITH CAUTION: only optional gates missed, Low or Medium blockers open, or a mandatory
  gate's numbers within 10% of their target; it waits for a person's approval.
- GO: none of those.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.decisions.actions import (
    Action,
    Integrate,
    Notify,
    Report,
    WriteComparison,
    WriteGoNoGo,
)
from protocol import COMPLETED, Plan, Task
from protocol.comparison import METRIC_OF, approach_tables
from protocol.integration import (
    approval,
    decision_text,
    go_no_go,
    has_summary,
    is_placeholder,
    merge_strategy,
)

__all__ = [
    "CAUTION",
    "GO",
    "NO_GO",
    "Verdict",
    "alternatives",
    "comparison_values",
    "decide_go_no_go",
    "go_no_go_actions",
    "select",
]

GO, NO_GO, CAUTION = "GO", "NO-GO", "GO WITH CAUTION"
_REVIEWS = ("code review approved", "security audit approved")
_FAILED = re.compile(
    r"^(?P<metric>\S+) (?P<got>-?[\d.]+), needs (?P<op>>=|<=|==|>|<) (?P<want>-?[\d.]+)$"
)
_PHASE = re.compile(r"\(\s*(?:group|wave)\s+[A-Za-z0-9]+\s*\)", re.IGNORECASE)

GateResults = Mapping[str, Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class Verdict:
    outcome: str  # GO, NO-GO or GO WITH CAUTION
    reasons: tuple[str, ...]
    selected: str | None  # the selected task's id
    alternatives: tuple[str, ...]  # the other tasks of its parallel group
    approved: bool = False  # a caution a person approved

    @property
    def go(self) -> bool:
        """Whether integration may proceed."""
        return self.outcome == GO or (self.outcome == CAUTION and self.approved)

    @property
    def line(self) -> str:
        """The ``**Go/No-Go:**`` value: the outcome, its reasons, and what it waits for."""
        text = self.outcome
        if self.reasons:
            text += " — " + "; ".join(self.reasons)
        if self.outcome == CAUTION:
            text += "; approved" if self.approved else "; waiting for approval"
        return text


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.casefold()))


def select(plan: Plan) -> tuple[Task | None, str | None]:
    """The task the Decision names, or None and why not: a task id, else an approach name
    whose words all appear in exactly one task's description, branch or worktree (among
    the tasks of parallel groups, where the alternatives are)."""
    value = decision_text(plan)
    if value is None or is_placeholder(value):
        return None, "no recommendation (the Decision is empty)"
    named = plan.task(value.strip().strip("*_").strip())
    if named is not None:
        return named, None
    words = _words(value)
    groups: dict[str, int] = {}
    for t in plan.tasks:
        groups[t.group] = groups.get(t.group, 0) + 1
    found = [
        t
        for t in plan.tasks
        if t.group
        and groups[t.group] > 1
        and words <= _words(f"{t.description} {t.branch} {t.worktree}")
    ]
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, f"no recommendation (Decision {value!r} names no task)"
    ids = ", ".join(t.id for t in found)
    return None, f"no recommendation (Decision {value!r} is ambiguous: {ids})"


def alternatives(plan: Plan, selected: Task) -> tuple[str, ...]:
    """The other tasks of the selected task's parallel group."""
    if not selected.group:
        return ()
    return tuple(t.id for t in plan.tasks if t.group == selected.group and t.id != selected.id)


def _near(failure: str) -> str | None:
    """``statements 78 < 80 (within 10%)`` when a failed threshold misses by under 10%."""
    m = _FAILED.match(failure.strip())
    if m is None:
        return None
    got, want, op = float(m["got"]), float(m["want"]), m["op"]
    if op in (">=", ">") and want > 0 and got >= 0.9 * want:
        return f"{m['metric']} {got:g} < {want:g} (within 10%)"
    if op in ("<=", "<") and want > 0 and got <= 1.1 * want:
        return f"{m['metric']} {got:g} > {want:g} (within 10%)"
    return None


def _gates(task_id: str, results: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """The NO-GO and the caution reasons of a task's last gate round."""
    stop: list[str] = []
    minor: list[str] = []
    for r in results:
        name = str(r.get("name", "?"))
        numbers = r.get("numbers") or {}
        if r.get("check") == "security":
            serious = sum(float(numbers.get(k, 0)) for k in ("high", "critical"))
            if serious:
                stop.append(f"{task_id}: {serious:g} high/critical security findings ({name})")
                continue
        if r.get("passed"):
            continue
        failed = [str(f) for f in r.get("failed") or ()]
        if not r.get("mandatory", True):
            minor.append(f"{task_id}: optional gate {name} missed")
            continue
        near = [_near(f) for f in failed]
        if failed and all(near):
            minor += [f"{task_id}: {n}" for n in near if n]
        else:
            why = "; ".join(failed) or "failed"
            stop.append(f"{task_id}: gate {name} failed ({why})")
    return stop, minor


def decide_go_no_go(plan: Plan, gates: GateResults) -> Verdict:
    """The verdict on the plan as it stands; ``gates`` holds each task's last gate round."""
    stop: list[str] = []
    minor: list[str] = []
    selected, why = select(plan)
    if why is not None:
        stop.append(why)
    rejected = alternatives(plan, selected) if selected is not None else ()
    for t in plan.tasks:
        if t.status != COMPLETED:
            stop.append(f"{t.id} is {t.status}, not Completed")
    for t in plan.tasks:
        if t.id in rejected:
            continue
        s, m = _gates(t.id, gates.get(t.id, ()))
        stop += s
        minor += m
    for b in plan.blockers:
        if b.resolution:
            continue
        severity = b.fields.get("Severity", "").strip().split(" ")[0].casefold()
        if severity in ("critical", "high"):
            stop.append(f"open {severity.capitalize()} blocker of {b.task_id}")
        else:
            minor.append(f"open {severity.capitalize() or 'unrated'} blocker of {b.task_id}")
    for item in plan.checklists:
        text = item.text.strip()
        if item.checked:
            continue
        if _PHASE.search(item.section) or text.casefold().startswith(_REVIEWS):
            stop.append(f"not ticked: {text}")
    ids = selected.id if selected is not None else None
    if stop:
        return Verdict(NO_GO, tuple(stop), ids, rejected)
    if minor:
        return Verdict(CAUTION, tuple(minor), ids, rejected, approval(plan) is True)
    return Verdict(GO, (), ids, rejected)


def comparison_values(plan: Plan, gates: GateResults) -> dict[str, dict[str, str]]:
    """Per approach row of the Integration Summary's tables, the gate numbers of the task its
    name matches (as a Decision would): ``{"JWT": {"p95": "42", "high": "0"}}``."""
    out: dict[str, dict[str, str]] = {}
    grouped = [t for t in plan.tasks if t.group]
    for table in approach_tables(plan):
        i = table.column("Approach")
        assert i is not None
        for row in table.rows:
            name = row.cells[i].value if i < len(row.cells) else ""
            words = _words(name)
            found = [t for t in grouped if words and words <= _words(f"{t.description} {t.branch}")]
            if len(found) != 1:
                continue
            numbers: dict[str, str] = {}
            for r in gates.get(found[0].id, ()):
                for k, v in (r.get("numbers") or {}).items():
                    if k in METRIC_OF.values():
                        numbers[k] = f"{float(v):g}"
            if numbers:
                out[name] = numbers
    return out


def go_no_go_actions(plan: Plan, gates: GateResults, strategy: str = "cherry-pick") -> list[Action]:
    """Write the verdict's line when it changed, log ``go_no_go_decided`` and, when a
    person must act, run the notify hook; on GO (or an approved caution), integrate
    (once: the runtime's journal knows when it was done), by the plan's Merge Strategy, else
    ``strategy`` (``merge_strategy`` in ``baton.toml``)."""
    verdict = decide_go_no_go(plan, gates)
    header = plan.header.get("Status")
    if not has_summary(plan) or (header is not None and header.value.casefold() == "completed"):
        return []  # nowhere to write it (a plan of another shape), or done
    integrate: list[Action] = []
    if verdict.go and verdict.selected is not None:
        values = comparison_values(plan, gates)
        if values:
            integrate.append(WriteComparison(values))
        integrate.append(
            Integrate(
                verdict.selected,
                verdict.alternatives,
                merge_strategy(plan, strategy),
                verdict.line,
            )
        )
    line = verdict.line
    if go_no_go(plan) == line:
        return integrate
    fields = {
        "outcome": verdict.outcome,
        "reasons": list(verdict.reasons),
        "selected": verdict.selected,
        "alternatives": list(verdict.alternatives),
    }
    actions: list[Action] = [
        WriteGoNoGo(line, approval_box=verdict.outcome == CAUTION),
        Report("go_no_go_decided", fields),
    ]
    if not verdict.go:
        actions.append(Notify("go_no_go_decided", f"Go/No-Go: {line}", fields))
    return actions + integrate
