"""Success Criteria Per Phase that a quality gate proves (docs/user-guide.md, "Quality
gates"): a box such as "Tests passing for each approach (100% pass rate)" is ticked once
every task of that phase passed a gate of that kind in its last round, in the write that
completes the last of them."""

from __future__ import annotations

from collections.abc import Mapping, Set

from protocol import COMPLETED, ChecklistItem, Plan
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


def gate_ticks(
    plan: Plan, passed: Mapping[str, Set[str]], completing: str
) -> tuple[ChecklistItem, ...]:
    """The open phase criteria to tick in the write that completes ``completing``: those of
    its phase once every other task of the phase is Completed, and every task passed a gate
    of the criterion's kind in its last round (``passed``: per task, the checks whose gates
    all passed)."""
    task = plan.task(completing)
    if task is None or not task.group:
        return ()
    tasks = [t for t in plan.tasks if t.group == task.group]
    if any(t.status != COMPLETED for t in tasks if t.id != completing):
        return ()  # the last of them to complete ticks it, in its own write
    title, texts = phase_criteria(plan, tasks[0])
    if not title:
        return ()
    return tuple(
        item
        for item in plan.checklists
        if item.section == title
        and not item.checked
        and item.text in texts
        and (check := proven_by(item.text)) is not None
        and all(check in passed.get(t.id, ()) for t in tasks)
    )
