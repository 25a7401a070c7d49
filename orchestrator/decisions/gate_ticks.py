"""Success Criteria Per Phase that a quality gate proves (docs/user-guide.md, "Quality
gates"): a box such as "Tests passing for each approach (100% pass rate)" is ticked once
every task of that phase passed a gate of that kind in its last round."""

from __future__ import annotations

from collections.abc import Mapping, Set

from protocol import ChecklistItem, Plan
from protocol.prose import phase_criteria

__all__ = ["gate_ticks", "proven_by"]

# The kind of gate (its ``check``) that proves a criterion, by words of the criterion.
_PROOFS = (
    ("tests", ("tests passing", "tests pass", "pass rate")),
    ("security", ("vulnerabilit",)),
    ("lint", ("lint",)),
    ("coverage", ("coverage",)),
)


def proven_by(text: str) -> str | None:
    """The check that proves the criterion ``text``, or None when no gate can."""
    words = text.casefold()
    return next((check for check, keys in _PROOFS if any(k in words for k in keys)), None)


def gate_ticks(plan: Plan, passed: Mapping[str, Set[str]]) -> tuple[ChecklistItem, ...]:
    """The open phase criteria to tick: ``passed`` is, per task, the checks whose gates all
    passed in its last round."""
    out: list[ChecklistItem] = []
    groups = sorted({t.group for t in plan.tasks if t.group})
    for group in groups:
        tasks = [t for t in plan.tasks if t.group == group]
        title, texts = phase_criteria(plan, tasks[0])
        if not title:
            continue
        for item in plan.checklists:
            if item.section != title or item.checked or item.text not in texts:
                continue
            check = proven_by(item.text)
            if check is not None and all(check in passed.get(t.id, ()) for t in tasks):
                out.append(item)
    return tuple(out)
