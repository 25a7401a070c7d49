"""Integrating task branches into the base: real git repos, never forced, never half."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.adapters.integrate import Integrated, Stopped, Work, integrate, own_commits


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def commit(repo: Path, name: str, content: str, message: str) -> str:
    (repo / name).write_text(content, encoding="utf-8")
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main with a plan; T1 on top; T2 and T3 from T1 (each with an input merge); T5 from
    T2 and T3 merged."""
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    commit(r, "PLAN.md", "plan\n", "plan")
    git(r, "checkout", "-q", "-b", "t1")
    commit(r, "arch.md", "arch\n", "T1: arch")
    for b, f in (("t2", "oauth.py"), ("t3", "jwt.py")):
        git(r, "checkout", "-q", "-b", b, "main")
        git(r, "merge", "-q", "--no-ff", "-m", f"inputs of {b}", "t1")
        commit(r, f, f"{b}\n", f"{b}: work")
    git(r, "checkout", "-q", "-b", "t5", "t2")
    git(r, "merge", "-q", "--no-ff", "-m", "inputs of t5", "t3")
    commit(r, "bench.md", "bench\n", "t5: bench")
    git(r, "checkout", "-q", "main")
    return r


WORKS = [Work("T1", "t1"), Work("T3", "t3", ("t1",)), Work("T5", "t5", ("t2", "t3"))]


def files_on(repo: Path, ref: str) -> set[str]:
    return set(git(repo, "ls-tree", "--name-only", ref).splitlines())


def test_own_commits_leave_out_inputs_and_merges(repo: Path) -> None:
    subjects = [
        git(repo, "log", "-1", "--format=%s", c) for c in own_commits(repo, "main", WORKS[2])
    ]
    assert subjects == ["t5: bench"]


def test_cherry_pick_integrates_the_selected_work_only(repo: Path) -> None:
    (repo / "PLAN.md").write_text("plan, edited by Baton\n", encoding="utf-8")  # not touched
    old = git(repo, "rev-parse", "main")
    result = integrate(repo, "main", WORKS)
    assert isinstance(result, Integrated)
    assert result.old == old
    assert git(repo, "rev-parse", "main") == result.new
    assert files_on(repo, "main") == {"PLAN.md", "arch.md", "jwt.py", "bench.md"}
    assert git(repo, "log", "--format=%s", "main").splitlines() == [
        "t5: bench",
        "t3: work",
        "T1: arch",
        "plan",
    ]
    # The checkout came along, its local change kept; no cherry-pick state anywhere.
    assert (repo / "jwt.py").read_text() == "t3\n"
    assert (repo / "PLAN.md").read_text() == "plan, edited by Baton\n"
    assert git(repo, "status", "--porcelain") == "M PLAN.md"
    assert not (repo / ".git" / "CHERRY_PICK_HEAD").exists()
    assert git(repo, "worktree", "list").count("\n") == 0


def test_squash_makes_one_commit(repo: Path) -> None:
    result = integrate(repo, "main", WORKS, strategy="squash", message="Integrate JWT")
    assert isinstance(result, Integrated)
    assert git(repo, "log", "--format=%s", "main").splitlines() == ["Integrate JWT", "plan"]
    assert files_on(repo, "main") == {"PLAN.md", "arch.md", "jwt.py", "bench.md"}


def test_merge_makes_one_merge_commit_per_task_of_its_own_commits(repo: Path) -> None:
    old = git(repo, "rev-parse", "main")
    result = integrate(repo, "main", WORKS, strategy="merge")
    assert isinstance(result, Integrated)
    assert files_on(repo, "main") == {"PLAN.md", "arch.md", "jwt.py", "bench.md"}
    assert git(repo, "log", "--first-parent", "--format=%s", "main").splitlines() == [
        "Merge T5 (t5)",
        "Merge T3 (t3)",
        "Merge T1 (t1)",
        "plan",
    ]
    # Each merge's second parent is the task's own commit, picked: never a branch tip with
    # its inputs' merges (t2's oauth.py stays out), never a fast-forward.
    assert git(repo, "rev-list", "--min-parents=2", "--count", "main") == "3"
    seconds = [git(repo, "log", "-1", "--format=%s", f"main~{n}^2") for n in range(3)]
    assert seconds == ["t5: bench", "t3: work", "T1: arch"]
    assert git(repo, "merge-base", "--is-ancestor", old, "main") == ""
    for branch in ("t1", "t3", "t5"):
        tip = git(repo, "rev-parse", branch)
        done = subprocess.run(["git", "merge-base", "--is-ancestor", tip, "main"], cwd=repo)
        assert done.returncode == 1  # the task's branch itself was not merged
    assert not (repo / ".git" / "MERGE_HEAD").exists()
    assert git(repo, "worktree", "list").count("\n") == 0
    # Integrating again (a restart after the move) adds nothing.
    again = integrate(repo, "main", WORKS, strategy="merge")
    assert isinstance(again, Integrated)
    assert again.commits == ()


def test_a_conflict_stops_with_the_base_untouched(repo: Path) -> None:
    commit(repo, "jwt.py", "someone else's\n", "main: jwt")
    before = git(repo, "rev-parse", "main")
    result = integrate(repo, "main", WORKS)
    assert isinstance(result, Stopped)
    assert (result.reason, result.files) == ("conflict", ("jwt.py",))
    assert git(repo, "log", "-1", "--format=%s", result.commits[0]) == "t3: work"
    assert git(repo, "rev-parse", "main") == before
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "worktree", "list").count("\n") == 0


def test_a_dirty_checkout_waits(repo: Path) -> None:
    (repo / "jwt.py").write_text("my local work\n", encoding="utf-8")
    before = git(repo, "rev-parse", "main")
    result = integrate(repo, "main", WORKS)
    assert isinstance(result, Stopped)
    assert (result.reason, result.files) == ("dirty", ("jwt.py",))
    assert git(repo, "rev-parse", "main") == before
    assert (repo / "jwt.py").read_text() == "my local work\n"


def test_a_commit_made_on_the_base_meanwhile_survives(repo: Path) -> None:
    commit(repo, "README.md", "readme\n", "main: readme")
    result = integrate(repo, "main", WORKS)
    assert isinstance(result, Integrated)
    assert "main: readme" in git(repo, "log", "--format=%s", "main")
    assert "README.md" in files_on(repo, "main")


_CHILD = """
import sys
from pathlib import Path
from orchestrator.adapters.integrate import Work, integrate
works = [Work("T1", "t1"), Work("T3", "t3", ("t1",)), Work("T5", "t5", ("t2", "t3"))]
print(integrate(Path(sys.argv[1]), "main", works, sys.argv[2]), flush=True)
"""


@pytest.mark.parametrize(("strategy", "count"), [("cherry-pick", 3), ("merge", 6)])
def test_kill_9_anywhere_leaves_the_base_unmoved_or_fully_integrated(
    repo: Path, strategy: str, count: int
) -> None:
    old = git(repo, "rev-parse", "main")
    rng = random.Random(14)
    full = {"PLAN.md", "arch.md", "jwt.py", "bench.md"}
    outcomes = set()
    for _ in range(20):
        git(repo, "update-ref", "refs/heads/main", old)
        git(repo, "reset", "-q", "--hard", old)
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(repo), strategy], stdout=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.05, 0.6))  # the kill's moment is the point: a random one
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        head = git(repo, "rev-parse", "main")
        if head == old:
            outcomes.add("unmoved")
        else:
            assert files_on(repo, "main") == full
            assert len(git(repo, "rev-list", f"{old}..main").splitlines()) == count
            outcomes.add("integrated")
        assert not (repo / ".git" / "CHERRY_PICK_HEAD").exists()
        assert not (repo / ".git" / "MERGE_HEAD").exists()
        # A restart finishes the job once.
        again = integrate(repo, "main", WORKS, strategy)
        assert isinstance(again, Integrated)
        assert files_on(repo, "main") == full
        assert len(git(repo, "rev-list", f"{old}..main").splitlines()) == count
        assert git(repo, "worktree", "list").count("\n") == 0
    assert outcomes  # which mix depends on the machine's speed; each is allowed
