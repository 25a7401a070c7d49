"""The Pre-Execution Checklist (issue 6 item 2): before the first task starts, Baton checks
the items it can verify, ticks each that holds and refuses to start while one fails.

Items are recognised by their words, so a reworded checklist still works:

- skills "available and versioned": every skill of every ``claude`` task is present at its
  pinned version;
- "disk space": the worktree parent's file system has the free space the item names
  (``>5GB``; 5 GB when it names none);
- "git ... clean": no uncommitted change to tracked files on the base branch (the plan, the
  message log and ``baton.toml`` excepted: people edit them before a run);
- "permissions": git works in the repository, and ``ANTHROPIC_API_KEY`` is set when a
  ``claude`` task will run;
- "budget": a budget is set (``baton.toml`` or the plan's Constraints).

Anything else is left to people and named once in the log. Probes for the disk and git are
injected, so tests can simulate a full disk.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import structlog

from agents.skills import SkillError, load_skills
from orchestrator.config import Config
from orchestrator.runtime import plan_edits as pw
from protocol import ChecklistItem, EditConflictError, Plan, Task, set_checkbox

if TYPE_CHECKING:
    from orchestrator.daemon import Daemon

log = structlog.get_logger()

SECTION = "Pre-Execution Checklist"
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT])i?B", re.I)
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _free_bytes(path: Path) -> int:
    while not path.exists() and path != path.parent:
        path = path.parent  # the worktree parent may not exist yet: ask its file system
    return shutil.disk_usage(path).free


def _git_changes(repo: Path) -> list[str]:
    """Tracked files with uncommitted changes (``git status --porcelain``)."""
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line[3:] for line in out.splitlines() if line.strip()]


@dataclass
class Probes:
    free_bytes: Callable[[Path], int] = _free_bytes
    git_changes: Callable[[Path], list[str]] = _git_changes
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class Result:
    item: ChecklistItem
    holds: bool | None  # None: not something Baton can verify
    reason: str = ""


def items(plan: Plan) -> list[ChecklistItem]:
    return [c for c in plan.checklists if c.section.strip().casefold() == SECTION.casefold()]


def check(plan: Plan, config: Config, parent: Path, probes: Probes) -> list[Result]:
    """Blocking (git, the disk): run it in a worker thread."""
    claude_tasks = [t for t in plan.tasks if config.backend_for(t.id, t.role) == "claude"]
    results = []
    for item in items(plan):
        words = item.text.casefold()
        if "skill" in words:
            results.append(_skills(item, plan, config, claude_tasks))
        elif "disk" in words:
            results.append(_disk(item, parent, probes))
        elif "git" in words and "clean" in words:
            results.append(_clean(item, config, probes))
        elif "permission" in words:
            results.append(_permissions(item, config, probes, bool(claude_tasks)))
        elif "budget" in words:
            budget = config.budget_usd or plan.constraints.budget_usd
            results.append(Result(item, budget is not None, "" if budget else "no budget set"))
        else:
            results.append(Result(item, None))
    return results


def _skills(item: ChecklistItem, plan: Plan, config: Config, tasks: list[Task]) -> Result:
    for task in tasks:
        try:
            load_skills(config.plan_dir / "skills", task.skills, plan.skill_pins)
        except SkillError as exc:
            return Result(item, False, f"{task.id}: {exc}")
    return Result(item, True)


def _disk(item: ChecklistItem, parent: Path, probes: Probes) -> Result:
    m = _SIZE.search(item.text)
    need = int(float(m.group(1)) * _UNITS[m.group(2).casefold()]) if m else 5 << 30
    free = probes.free_bytes(parent)
    if free >= need:
        return Result(item, True)
    return Result(
        item, False, f"{free / (1 << 30):.1f} GB free in {parent}, {need / (1 << 30):g} GB needed"
    )


def _clean(item: ChecklistItem, config: Config, probes: Probes) -> Result:
    ignore = {config.plan_file, config.messages_file, "baton.toml"}
    try:
        changed = [f for f in probes.git_changes(config.plan_dir) if f not in ignore]
    except (OSError, subprocess.CalledProcessError) as exc:
        return Result(item, False, f"git status failed: {exc}")
    if changed:
        return Result(item, False, f"uncommitted changes: {', '.join(changed[:5])}")
    return Result(item, True)


def _permissions(item: ChecklistItem, config: Config, probes: Probes, claude: bool) -> Result:
    if claude and not probes.environ.get("ANTHROPIC_API_KEY"):
        return Result(item, False, "a claude task will run and ANTHROPIC_API_KEY is not set")
    if not (config.plan_dir / ".git").exists():
        return Result(item, False, f"{config.plan_dir} is not a git repository")
    return Result(item, True)


async def preflight(d: Daemon, plan: Plan) -> bool:
    """The Pre-Execution Checklist, before the first task of the run starts: ticks what
    holds; False (nothing may start) while a verifiable item fails, unless forced."""
    if d._checked or any(s.started for s in d._states.values()):
        return True
    results = await anyio.to_thread.run_sync(check, plan, d.config, d.parent, d.probes)
    failed = [r for r in results if r.holds is False]
    unverifiable = [r.item.text for r in results if r.holds is None]
    if unverifiable and not d._unverifiable_named:
        d._unverifiable_named = True
        log.info("checklist_left_to_people", items=unverifiable)
    ticks = [r.item for r in results if r.holds and not r.item.checked]
    if ticks:
        await d.write_plan([_tick(item) for item in ticks])
    for r in failed:
        log.error("checklist_failed", item=r.item.text, line=r.item.line, reason=r.reason)
        d.report("checklist_failed", item=r.item.text, reason=r.reason)
    if failed and not d.force:
        return False
    if failed:
        log.warning("checklist_forced", failed=[r.item.text for r in failed])
    d._checked = True
    return True


def _tick(item: ChecklistItem) -> pw.PlanEdit:
    def fn(text: str, plan: Plan) -> str:
        current = next(
            (c for c in plan.checklists if c.text == item.text and c.section == item.section), None
        )
        if current is None:
            raise EditConflictError(f"checklist item {item.text!r} is gone")
        return set_checkbox(text, current, True)

    return pw.PlanEdit(fn, f"tick {item.text}")
