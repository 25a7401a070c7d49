"""The Pre-Execution Checklist: before the first task starts, Baton checks the items it can
verify, ticks each that holds and refuses to start while one fails (docs/user-guide.md).

Items are recognised by their words, so a reworded checklist still works:

- skills "available and versioned": every skill of every ``claude`` task is present at its
  pinned version;
- "disk space": the worktree parent's file system has the free space the item names
  (``>5GB``; 5 GB when it names none);
- "git ... clean": no uncommitted change to tracked files on the base branch (the plan, the
  message log and ``baton.toml`` excepted: people edit them before a run);
- "permissions": git works in the repository, and ``ANTHROPIC_API_KEY`` is set when a
  ``claude`` task will run;
- "budget": a budget is set (``baton.toml`` or the plan's Constraints; ``$0`` is a budget).

Anything else is left to people and named once in the log. What the checks need from the
machine is measured by :mod:`orchestrator.adapters.probes` into :class:`Facts`; everything
here is a pure function of the plan and those facts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from orchestrator.decisions.actions import Action, Report, TickChecklist
from protocol import ChecklistItem, Plan

SECTION = "Pre-Execution Checklist"
SKILLS, DISK, CLEAN, PERMISSIONS, BUDGET, PEOPLE = (
    "skills",
    "disk",
    "clean",
    "permissions",
    "budget",
    "people",
)
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT])i?B", re.I)
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@dataclass(frozen=True)
class Facts:
    """What was measured for the checklist; a check's fact is None when no item needs it."""

    skill_error: str | None = None  # the first claude task's skill that does not load
    free_bytes: int | None = None  # free space in the worktree parent's file system
    parent: str = ""
    changed: Sequence[str] | None = None  # tracked files with uncommitted changes
    git_error: str | None = None  # git status failed
    api_key: bool = False  # ANTHROPIC_API_KEY is set
    claude: bool = False  # a claude task will run
    repository: str | None = None  # the plan directory, when it is not a git repository
    budget_usd: float | None = None  # the run's budget


@dataclass(frozen=True)
class Result:
    item: ChecklistItem
    holds: bool | None  # None: not something Baton can verify
    reason: str = ""


@dataclass(frozen=True)
class Preflight:
    actions: list[Action] = field(default_factory=list)
    allowed: bool = True  # tasks may start
    named: bool = False  # the items left to people were named (in this or an earlier pass)


def items(plan: Plan) -> list[ChecklistItem]:
    return [c for c in plan.checklists if c.section.strip().casefold() == SECTION.casefold()]


def kind(item: ChecklistItem) -> str:
    """Which check an item asks for, by its words."""
    words = item.text.casefold()
    if "skill" in words:
        return SKILLS
    if "disk" in words:
        return DISK
    if "git" in words and "clean" in words:
        return CLEAN
    if "permission" in words:
        return PERMISSIONS
    if "budget" in words:
        return BUDGET
    return PEOPLE


def needed_bytes(item: ChecklistItem) -> int:
    m = _SIZE.search(item.text)
    return int(float(m.group(1)) * _UNITS[m.group(2).casefold()]) if m else 5 << 30


def judge(plan: Plan, facts: Facts) -> list[Result]:
    """Whether each checklist item of ``plan`` holds, given ``facts``."""
    return [_judge(item, facts) for item in items(plan)]


def _judge(item: ChecklistItem, f: Facts) -> Result:
    match kind(item):
        case "skills":
            return Result(item, f.skill_error is None, f.skill_error or "")
        case "disk":
            need, free = needed_bytes(item), f.free_bytes or 0
            if free >= need:
                return Result(item, True)
            gb = 1 << 30
            reason = f"{free / gb:.1f} GB free in {f.parent}, {need / gb:g} GB needed"
            return Result(item, False, reason)
        case "clean":
            if f.git_error is not None:
                return Result(item, False, f"git status failed: {f.git_error}")
            if f.changed:
                return Result(item, False, f"uncommitted changes: {', '.join(f.changed[:5])}")
            return Result(item, True)
        case "permissions":
            if f.claude and not f.api_key:
                reason = "a claude task will run and ANTHROPIC_API_KEY is not set"
                return Result(item, False, reason)
            if f.repository is not None:
                return Result(item, False, f"{f.repository} is not a git repository")
            return Result(item, True)
        case "budget":
            holds = f.budget_usd is not None
            return Result(item, holds, "" if holds else "no budget set")
        case _:
            return Result(item, None)


def preflight(results: Sequence[Result], *, named: bool, force: bool) -> Preflight:
    """Tick what holds; nothing may start while a verifiable item fails, unless ``force``.
    ``named``: the items left to people were named in the log before."""
    actions: list[Action] = []
    failed = [r for r in results if r.holds is False]
    unverifiable = [r.item.text for r in results if r.holds is None]
    if unverifiable and not named:
        actions.append(Report("checklist_left_to_people", {"items": unverifiable}))
    ticks = tuple(r.item for r in results if r.holds and not r.item.checked)
    if ticks:
        actions.append(TickChecklist(ticks))
    for r in failed:
        fields = {"item": r.item.text, "line": r.item.line, "reason": r.reason}
        actions.append(Report("checklist_failed", fields, "error"))
    if failed and force:
        actions.append(
            Report("checklist_forced", {"failed": [r.item.text for r in failed]}, "warning")
        )
    return Preflight(actions, not failed or force, named or bool(unverifiable))
