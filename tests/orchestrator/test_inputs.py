"""Inputs along the edges on real git repositories: a task's branch starts from the base
merged with its dependencies' branches, all or nothing (docs/user-guide.md)."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from orchestrator.adapters.merge_inputs import Input
from orchestrator.adapters.worktrees import Worktrees, default_parent
from tests.orchestrator.conftest import Recorder, make_config, running_daemon, watching
from tests.orchestrator.test_briefs import handoff_of


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


@pytest.fixture
def trees(git_repo: Path) -> Worktrees:
    return Worktrees(git_repo, default_parent(git_repo).resolve())


async def work(trees: Worktrees, task: str, files: dict[str, str], *deps: Input) -> Input:
    """Make task's worktree (from its inputs), write ``files`` there and commit them."""
    folder = task.lower()
    result = await trees.ensure(folder, f"baton/{task}", deps)
    for name, text in files.items():
        (result.path / name).parent.mkdir(parents=True, exist_ok=True)
        (result.path / name).write_text(text)
    await trees.commit_all(folder, f"{task}: work")
    return Input(task, f"baton/{task}", result.path)


async def test_a_dependent_task_starts_with_its_dependency_work(
    git_repo: Path, trees: Worktrees
) -> None:
    t1 = await work(trees, "T1", {"docs/api.md": "contract\n"})
    t2 = await trees.ensure("t2", "baton/T2", [t1])
    assert (t2.path / "docs/api.md").read_text() == "contract\n"
    assert t2.start is not None
    assert t2.start.merged == ("T1",)
    # T1 lay ahead of main: the merge commit names it, its parents are main and T1.
    parents = git(git_repo, "log", "-1", "--format=%P", "baton/T2").split()
    assert parents == [git(git_repo, "rev-parse", "main"), git(git_repo, "rev-parse", "baton/T1")]
    assert "T1" in git(git_repo, "log", "-1", "--format=%s", "baton/T2")
    # Reused, never merged twice.
    head = git(git_repo, "rev-parse", "baton/T2")
    again = await trees.ensure("t2", "baton/T2", [t1])
    assert not again.created
    assert git(git_repo, "rev-parse", "baton/T2") == head


async def test_disjoint_dependencies_are_all_merged(git_repo: Path, trees: Worktrees) -> None:
    t1 = await work(trees, "T1", {"api.md": "contract\n"})
    t2 = await work(trees, "T2", {"oauth.py": "oauth\n"}, t1)
    t3 = await work(trees, "T3", {"jwt.py": "jwt\n"}, t1)
    t4 = await work(trees, "T4", {"session.py": "session\n"}, t1)
    t5 = await trees.ensure("t5", "baton/T5", [t2, t3, t4])
    assert t5.start is not None
    assert t5.start.merged == ("T2", "T3", "T4")
    assert t5.start.unmerged == ()
    for name in ("api.md", "oauth.py", "jwt.py", "session.py"):
        assert (t5.path / name).exists()
    assert git(t5.path, "status", "--porcelain") == ""


async def test_conflicting_dependencies_are_none_merged(git_repo: Path, trees: Worktrees) -> None:
    t1 = await work(trees, "T1", {"api.md": "contract\n"})
    t2 = await work(trees, "T2", {"auth.py": "oauth\n", "oauth.py": "x\n"}, t1)
    t3 = await work(trees, "T3", {"auth.py": "jwt\n"}, t1)
    t4 = await work(trees, "T4", {"auth.py": "session\n"}, t1)
    t5 = await trees.ensure("t5", "baton/T5", [t2, t3, t4])
    assert t5.start is not None
    assert t5.start.merged == ()
    # It holds what they share (T1's work), none of theirs, and no half-merged state.
    assert (t5.path / "api.md").read_text() == "contract\n"
    assert not (t5.path / "auth.py").exists()
    assert not (t5.path / "oauth.py").exists()
    assert git(t5.path, "status", "--porcelain") == ""
    unmerged = {u.task_id: u for u in t5.start.unmerged}
    assert set(unmerged) == {"T2", "T3", "T4"}
    assert unmerged["T2"].files == ("auth.py",)
    assert unmerged["T2"].against == ("T3", "T4")
    assert unmerged["T3"].worktree == t3.worktree
    assert "auth.py" in unmerged["T4"].describe()
    assert str(t4.worktree) in unmerged["T4"].describe()


async def test_only_the_conflicting_ones_are_left_out(git_repo: Path, trees: Worktrees) -> None:
    t2 = await work(trees, "T2", {"auth.py": "oauth\n"})
    t3 = await work(trees, "T3", {"auth.py": "jwt\n"})
    t4 = await work(trees, "T4", {"session.py": "session\n"})
    t5 = await trees.ensure("t5", "baton/T5", [t2, t3, t4])
    assert t5.start is not None
    assert t5.start.merged == ("T4",)
    assert {u.task_id for u in t5.start.unmerged} == {"T2", "T3"}
    assert (t5.path / "session.py").exists()
    assert not (t5.path / "auth.py").exists()


async def test_read_inputs_are_never_merged(git_repo: Path, trees: Worktrees) -> None:
    t1 = await work(trees, "T1", {"api.md": "contract\n"})
    t2 = await trees.ensure("t2", "baton/T2", [t1], merge=False)
    assert not (t2.path / "api.md").exists()
    assert git(git_repo, "rev-parse", "baton/T2") == git(git_repo, "rev-parse", "main")
    assert t2.start is not None
    assert [u.reason for u in t2.start.unmerged] == ['read only (inputs = "read")']


# -- in the running daemon ---------------------------------------------------------------


def builders(t2: str, t3: str, t4: str) -> str:
    """T1 writes the contracts; T2-T4 write the given files; T5 completes at once."""
    steps = {
        "T1": '{ write = "docs/api.md", content = "contract\\n" }',
        "T2": f'{{ write = "{t2}", content = "oauth\\n" }}',
        "T3": f'{{ write = "{t3}", content = "jwt\\n" }}',
        "T4": f'{{ write = "{t4}", content = "session\\n" }}',
        "T5": "{ wait = 0 }",
    }
    scripts = "".join(
        f'[scripts.{t}]\nsteps = [{step}, {{ complete = "{t} done" }}]\n'
        for t, step in steps.items()
    )
    tasks = "".join(f'{t} = "scripted"\n' for t in steps)
    return f'[agents]\ndefault = "manual"\n[agents.tasks]\n{tasks}{scripts}'


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


async def test_work_flows_along_the_edges_of_the_plan(plan_repo: Path) -> None:
    """T2 holds T1's files; T5 after T2-T4 (disjoint files) holds all three."""
    rec = Recorder()
    config = make_config(plan_repo, builders("oauth.py", "jwt.py", "session.py"))
    worktrees = plan_repo.parent / "repo-worktrees"
    async with running_daemon(config, rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: rec.seen("task_completed", task_id="T5"), seconds=30)
    assert read(worktrees / "oauth" / "docs/api.md") == "contract\n"
    for name in ("docs/api.md", "oauth.py", "jwt.py", "session.py"):
        assert (worktrees / "bench" / name).exists(), name
    subject = git(plan_repo, "log", "-1", "--format=%s", "feature/auth-bench")
    assert subject == "Baton: start from main merged with T2, T3, T4"
    assert "Inputs on your branch" in read(plan_repo / ".baton/briefs/T5.md")


async def test_conflicting_alternatives_are_named_not_merged(plan_repo: Path) -> None:
    """T2-T4 all write auth.py: T5 starts from T1's work only; its brief and its Handoff
    name the three branches, their worktrees and the conflicting file."""
    rec = Recorder()
    config = make_config(plan_repo, builders("auth.py", "auth.py", "auth.py"))
    worktrees = (plan_repo.parent / "repo-worktrees").resolve()
    async with running_daemon(config, rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: handoff_of(plan_repo, "T5") is not None, seconds=30)
    bench = worktrees / "bench"
    assert read(bench / "docs/api.md") == "contract\n"
    assert not (bench / "auth.py").exists()
    brief = read(plan_repo / ".baton/briefs/T5.md")
    handoff = handoff_of(plan_repo, "T5")
    assert handoff is not None
    for task, branch, folder in (
        ("T2", "feature/auth-oauth", "oauth"),
        ("T3", "feature/auth-jwt", "jwt"),
        ("T4", "feature/auth-session", "session"),
    ):
        line = f"{task} ({branch}, worktree {worktrees / folder}): conflicts with "
        assert line in brief
        assert line in handoff.body
    assert "in auth.py" in brief
    assert "in auth.py" in handoff.body


async def test_a_branch_made_before_a_crash_could_record_its_inputs_names_them_still(
    plan_repo: Path,
) -> None:
    """T5's branch exists but the journal lost what it started from (a crash in between):
    started again, Baton works it out again and T5's brief names the unmerged branches."""
    toml = builders("auth.py", "auth.py", "auth.py").replace('T5 = "scripted"\n', "")
    brief = plan_repo / ".baton/briefs/T5.md"
    rec = Recorder()
    async with running_daemon(make_config(plan_repo, toml), rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: "conflicts with" in read(brief), seconds=30)
    db = sqlite3.connect(plan_repo / ".baton" / "journal.sqlite3")
    with db:
        db.execute("DELETE FROM marks WHERE key = 'inputs:T5'")
    db.close()
    brief.unlink()
    rec = Recorder()
    async with running_daemon(make_config(plan_repo, toml), rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: "## Constraints" in read(brief), seconds=30)
    assert "T2 (feature/auth-oauth, worktree" in read(brief)
    assert "conflicts with T3, T4 in auth.py" in read(brief)
