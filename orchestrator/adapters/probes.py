"""Measuring the machine for the Pre-Execution Checklist: free disk space, uncommitted
changes, the API key, whether skills load. Injected into the daemon, so tests can simulate
a full disk. Blocking (git, the disk): run :func:`measure` in a worker thread."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agents.skills import SkillError, load_skills
from orchestrator.config import Config, api_key
from orchestrator.decisions.checklist import (
    CLEAN,
    DISK,
    PERMISSIONS,
    SKILLS,
    Facts,
    items,
    kind,
)
from orchestrator.decisions.scheduler import run_budget
from protocol import Plan


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


def measure(plan: Plan, config: Config, parent: Path, probes: Probes) -> Facts:
    """What the plan's checklist items need to know, and only that."""
    kinds = {kind(item) for item in items(plan)}
    claude_tasks = [t for t in plan.tasks if config.backend_for(t.id, t.role) == "claude"]
    skill_error = free = changed = git_error = repository = None
    if SKILLS in kinds:
        for task in claude_tasks:
            try:
                load_skills(config.plan_dir / "skills", task.skills, plan.skill_pins)
            except SkillError as exc:
                skill_error = f"{task.id}: {exc}"
                break
    if DISK in kinds:
        free = probes.free_bytes(parent)
    if CLEAN in kinds:
        ignore = {config.plan_file, config.messages_file, "baton.toml"}
        try:
            changed = [f for f in probes.git_changes(config.plan_dir) if f not in ignore]
        except (OSError, subprocess.CalledProcessError) as exc:
            git_error = str(exc)
    if PERMISSIONS in kinds and not (config.plan_dir / ".git").exists():
        repository = str(config.plan_dir)
    return Facts(
        skill_error=skill_error,
        free_bytes=free,
        parent=str(parent),
        changed=changed,
        git_error=git_error,
        api_key=bool(api_key(probes.environ)),
        claude=bool(claude_tasks),
        repository=repository,
        budget_usd=run_budget(config.budget_usd, plan),
    )
