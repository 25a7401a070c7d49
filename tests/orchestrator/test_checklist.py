"""The Pre-Execution Checklist: verifiable items are ticked, a failing one holds the run
back (with a clear log event), --force overrides, the rest is left to people."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.adapters.probes import Probes
from protocol import parse_plan
from tests.orchestrator.conftest import Recorder, git, make_config, running_daemon

VERIFIABLE = {
    "All required skills are available and versioned",
    "Worktree parent directory has sufficient disk space (>5GB)",
    "Git repository is clean (no uncommitted changes on main)",
    "Orchestrator has necessary permissions (Task spawning, git operations)",
    "Cost budget approved ($5 maximum for this orchestration)",
}


def boxes(repo: Path) -> dict[str, bool]:
    plan = parse_plan((repo / "MULTI_AGENT_PLAN.md").read_text(encoding="utf-8"))
    return {c.text: c.checked for c in plan.checklists if c.section == "Pre-Execution Checklist"}


async def refused(repo: Path, item: str, reason: str, toml: str = "", **kwargs: object) -> None:
    """The daemon starts nothing, logs checklist_failed for ``item``, leaves its box empty."""
    rec = Recorder()
    config = make_config(repo, toml, agents=kwargs.pop("agents", "scripted"))  # type: ignore[arg-type]
    async with running_daemon(config, rec, **kwargs):
        await rec.wait_for(lambda: rec.seen("checklist_failed", item=item))
    failure = next(f for e, f in rec.events if e == "checklist_failed" and f["item"] == item)
    assert reason in failure["reason"]
    assert not rec.seen("task_started")
    assert boxes(repo)[item] is False


async def test_a_clean_setup_ticks_every_verifiable_box(plan_repo: Path) -> None:
    rec = Recorder()
    async with running_daemon(make_config(plan_repo, agents="scripted"), rec):
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
    ticked = boxes(plan_repo)
    assert {item for item, on in ticked.items() if on} == VERIFIABLE
    assert not rec.seen("checklist_failed")


async def test_dirty_repository_refuses_to_start(plan_repo: Path) -> None:
    (plan_repo / ".gitignore").write_text(".baton/\nnotes/\n")
    await refused(
        plan_repo,
        "Git repository is clean (no uncommitted changes on main)",
        "uncommitted changes: .gitignore",
    )


async def test_low_disk_refuses_to_start(plan_repo: Path) -> None:
    probes = Probes(free_bytes=lambda _: 1 << 30)
    await refused(
        plan_repo,
        "Worktree parent directory has sufficient disk space (>5GB)",
        "1.0 GB free",
        probes=probes,
    )


async def test_claude_without_a_key_refuses_to_start(plan_repo: Path) -> None:
    item = "Orchestrator has necessary permissions (Task spawning, git operations)"
    await refused(
        plan_repo, item, "ANTHROPIC_API_KEY is not set", agents="claude", probes=Probes(environ={})
    )


@pytest.mark.parametrize(
    ("version", "reason"),
    [(None, "skill architecture-skill is missing"), ("v0.1.0", "but the plan pins v1.2.0")],
    ids=["missing", "wrong-version"],
)
async def test_skill_problems_refuse_to_start(
    plan_repo: Path, version: str | None, reason: str
) -> None:
    if version is not None:
        folder = plan_repo / "skills" / "architecture-skill"
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_text(f"---\nname: a\ndescription: d\nversion: {version}\n---\n")
        git(plan_repo, "add", "-A")
        git(plan_repo, "commit", "-q", "-m", "skill")
    probes = Probes(environ={"ANTHROPIC_API_KEY": "sk-test"})
    await refused(
        plan_repo,
        "All required skills are available and versioned",
        reason,
        agents="claude",
        probes=probes,
    )


async def test_force_starts_anyway(plan_repo: Path) -> None:
    rec = Recorder()
    config = make_config(plan_repo, agents="scripted")
    probes = Probes(free_bytes=lambda _: 0)
    async with running_daemon(config, rec, probes=probes, force=True):
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
    assert rec.seen("checklist_failed")
    assert boxes(plan_repo)["Worktree parent directory has sufficient disk space (>5GB)"] is False
