"""Worktrees on real git repositories: creation, reuse, recovery, refusal, commits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import anyio
import pytest
from structlog.testing import capture_logs

from orchestrator.adapters.worktrees import (
    BaseBranchMissing,
    EnsureResult,
    WorktreeError,
    Worktrees,
    default_parent,
)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


def branches(repo: Path) -> set[str]:
    return set(git(repo, "branch", "--format=%(refname:short)").split())


@pytest.fixture
def parent(git_repo: Path) -> Path:
    return default_parent(git_repo).resolve()


@pytest.fixture
def trees(git_repo: Path, parent: Path) -> Worktrees:
    return Worktrees(git_repo, parent)


def test_default_parent_is_sibling_named_after_repo(git_repo: Path) -> None:
    """The default worktree parent is ``../<repo>-worktrees``."""
    assert default_parent(git_repo) == git_repo.resolve().parent / "repo-worktrees"


async def test_ensure_creates_branch_and_worktree_from_base(
    git_repo: Path, parent: Path, trees: Worktrees
) -> None:
    """A new task gets the parent directory, a new branch off base and a checked-out worktree."""
    with capture_logs() as logs:
        result = await trees.ensure("t1", "baton/T1")

    path = parent / "t1"
    assert result == EnsureResult(path=path, created=True, branch="baton/T1")
    assert (path / "README.md").read_text() == "# test repo\n"
    assert git(path, "symbolic-ref", "--short", "HEAD") == "baton/T1"
    assert git(git_repo, "rev-parse", "baton/T1") == git(git_repo, "rev-parse", "main")
    assert [e["event"] for e in logs] == ["worktree_created"]


async def test_ensure_reuses_registered_worktree_without_wiping(trees: Worktrees) -> None:
    """A second ensure reuses the worktree (created=False) and keeps work in progress."""
    first = await trees.ensure("t1", "baton/T1")
    (first.path / "work.txt").write_text("half done\n")

    second = await trees.ensure("t1", "baton/T1")

    assert second == EnsureResult(path=first.path, created=False, branch="baton/T1")
    assert (first.path / "work.txt").read_text() == "half done\n"


async def test_ensure_recovers_when_directory_was_deleted_by_hand(
    git_repo: Path, trees: Worktrees
) -> None:
    """A stale registration is pruned and the worktree re-added on the existing branch."""
    first = await trees.ensure("t1", "baton/T1")
    (first.path / "a.txt").write_text("a\n")
    sha = await trees.commit_all("t1", "add a")
    shutil.rmtree(first.path)

    again = await trees.ensure("t1", "baton/T1")

    assert again.created
    assert git(again.path, "rev-parse", "HEAD") == sha
    assert (again.path / "a.txt").read_text() == "a\n"


async def test_ensure_checks_out_existing_branch_without_worktree(
    git_repo: Path, trees: Worktrees
) -> None:
    """A branch left from a partial run is checked out as it is, not recreated from base."""
    git(git_repo, "branch", "baton/T2")
    git(git_repo, "commit", "--allow-empty", "-m", "main moved on")

    result = await trees.ensure("t2", "baton/T2")

    assert result.created
    assert git(result.path, "rev-parse", "HEAD") == git(git_repo, "rev-parse", "main~1")


async def test_ensure_refuses_worktree_on_another_branch(trees: Worktrees) -> None:
    """A folder registered on a different branch is refused and left as it is."""
    first = await trees.ensure("t1", "baton/T1")
    (first.path / "keep.txt").write_text("keep\n")

    with pytest.raises(WorktreeError, match="baton/T1, expected baton/OTHER"):
        await trees.ensure("t1", "baton/OTHER")

    assert (first.path / "keep.txt").read_text() == "keep\n"
    assert git(first.path, "symbolic-ref", "--short", "HEAD") == "baton/T1"


async def test_ensure_refuses_non_worktree_directory_with_files(
    git_repo: Path, parent: Path, trees: Worktrees
) -> None:
    """A plain directory with files in the way is refused, its files untouched, no branch made."""
    (parent / "t1").mkdir(parents=True)
    (parent / "t1" / "mine.txt").write_text("mine\n")

    with pytest.raises(WorktreeError, match="is not a worktree"):
        await trees.ensure("t1", "baton/T1")

    assert (parent / "t1" / "mine.txt").read_text() == "mine\n"
    assert "baton/T1" not in branches(git_repo)


async def test_ensure_uses_empty_existing_directory(parent: Path, trees: Worktrees) -> None:
    """An empty directory at the path is used for the worktree."""
    (parent / "t1").mkdir(parents=True)

    result = await trees.ensure("t1", "baton/T1")

    assert result.created
    assert (result.path / "README.md").exists()


async def test_ensure_refuses_branch_checked_out_elsewhere(trees: Worktrees) -> None:
    """A branch already checked out in another worktree (or the main one) is refused."""
    await trees.ensure("t1", "baton/T1")

    with pytest.raises(WorktreeError, match="already checked out"):
        await trees.ensure("t2", "baton/T1")
    with pytest.raises(WorktreeError, match="already checked out"):
        await trees.ensure("t3", "main")


async def test_ensure_refuses_main_worktree(git_repo: Path) -> None:
    """A folder that is the repository itself is never used as a task worktree."""
    trees = Worktrees(git_repo, git_repo.parent)

    with pytest.raises(WorktreeError, match="main worktree"):
        await trees.ensure(git_repo.name, "main")


@pytest.mark.parametrize("folder", ["", ".", "..", "a/b", "/abs", "../up", "a\\b", "a\nb"])
async def test_ensure_refuses_bad_folder_names(
    folder: str, git_repo: Path, parent: Path, trees: Worktrees
) -> None:
    """A folder that is not a single plain path component is refused before git runs."""
    with pytest.raises(WorktreeError, match="worktree folder"):
        await trees.ensure(folder, "baton/T1")

    assert not await anyio.Path(parent).exists()
    assert "baton/T1" not in branches(git_repo)


async def test_ensure_refuses_symlink_leading_outside_parent(
    tmp_path: Path, git_repo: Path, parent: Path, trees: Worktrees
) -> None:
    """A folder that is a symlink to a directory outside the parent is refused, target intact."""
    outside = tmp_path / "outside"
    outside.mkdir()
    await anyio.Path(parent).mkdir()
    (parent / "t1").symlink_to(outside, target_is_directory=True)

    with pytest.raises(WorktreeError, match="symlink"):
        await trees.ensure("t1", "baton/T1")

    assert list(outside.iterdir()) == []
    assert "baton/T1" not in branches(git_repo)


@pytest.mark.parametrize(
    "branch", ["", "-x", "--force", "a..b", "a b", "x.lock", "@{-1}", "HEAD", "a~1", "a:b"]
)
async def test_ensure_refuses_bad_branch_names(
    branch: str, git_repo: Path, trees: Worktrees
) -> None:
    """Branch names git would reject, or read as an option or a revision, are refused."""
    with pytest.raises(WorktreeError, match="branch name"):
        await trees.ensure("t1", branch)

    assert branches(git_repo) == {"main"}


async def test_concurrent_ensures_all_succeed(git_repo: Path, trees: Worktrees) -> None:
    """Eight ensures started together each get their own worktree and branch."""
    results: dict[int, EnsureResult] = {}

    async def one(i: int) -> None:
        results[i] = await trees.ensure(f"t{i}", f"baton/T{i}")

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(one, i)

    assert all(result.created for result in results.values())
    listed = {info.path: info.branch for info in await trees.list()}
    for i, result in results.items():
        assert listed[result.path] == f"baton/T{i}"
    assert branches(git_repo) == {"main"} | {f"baton/T{i}" for i in range(8)}


async def test_list_reports_path_branch_and_head(git_repo: Path, trees: Worktrees) -> None:
    """list() gives the main worktree first, then each task's path, branch and head."""
    created = await trees.ensure("t1", "baton/T1")
    git(created.path, "checkout", "--quiet", "--detach")

    main, task = await trees.list()

    head = git(git_repo, "rev-parse", "HEAD")
    assert (main.path, main.branch, main.head) == (git_repo, "main", head)
    assert (task.path, task.branch, task.head) == (created.path, None, head)


async def test_remove_refuses_dirty_worktree_unless_forced(
    git_repo: Path, trees: Worktrees
) -> None:
    """Uncommitted work blocks removal; force removes the worktree but keeps the branch."""
    created = await trees.ensure("t1", "baton/T1")
    (created.path / "new.txt").write_text("untracked\n")

    with pytest.raises(WorktreeError, match="uncommitted work"):
        await trees.remove("t1")
    assert (created.path / "new.txt").read_text() == "untracked\n"

    await trees.remove("t1", force=True)

    assert not created.path.exists()
    assert "baton/T1" in branches(git_repo)
    assert len(await trees.list()) == 1


async def test_remove_clean_worktree_and_missing_one(trees: Worktrees) -> None:
    """A clean worktree is removed; removing it again is a no-op."""
    created = await trees.ensure("t1", "baton/T1")

    await trees.remove("t1")
    await trees.remove("t1")

    assert not created.path.exists()


async def test_remove_refuses_non_worktree_directory(parent: Path, trees: Worktrees) -> None:
    """A directory that is not a worktree is never deleted."""
    (parent / "t1").mkdir(parents=True)
    (parent / "t1" / "mine.txt").write_text("mine\n")

    with pytest.raises(WorktreeError, match="is not a worktree"):
        await trees.remove("t1", force=True)

    assert (parent / "t1" / "mine.txt").exists()


async def test_commit_all_commits_everything_and_returns_sha(
    git_repo: Path, trees: Worktrees
) -> None:
    """New, changed and deleted files land in one commit on the branch; a clean tree gives None."""
    created = await trees.ensure("t1", "baton/T1")
    (created.path / "README.md").unlink()
    (created.path / "src").mkdir()
    (created.path / "src" / "a.py").write_text("x = 1\n")

    sha = await trees.commit_all("t1", "-looks like an option")

    assert sha == git(git_repo, "rev-parse", "baton/T1")
    assert git(created.path, "log", "-1", "--format=%s") == "-looks like an option"
    assert git(created.path, "status", "--porcelain") == ""
    assert git(created.path, "ls-files") == "src/a.py"
    assert await trees.commit_all("t1", "nothing") is None


async def test_changes_summarize_branch_since_base(git_repo: Path, trees: Worktrees) -> None:
    """changes() counts the branch's commits, their subjects and the lines they changed."""
    created = await trees.ensure("t1", "baton/T1")
    git(git_repo, "commit", "--allow-empty", "-m", "main moved on")
    (created.path / "a.txt").write_text("1\n2\n3\n")
    await trees.commit_all("t1", "add a")
    (created.path / "a.txt").write_text("1\ntwo\n3\n")
    (created.path / "README.md").write_text("# renamed\n")
    await trees.commit_all("t1", "edit a")
    (created.path / "uncommitted.txt").write_text("not counted\n")

    summary = await trees.changes("t1")

    assert summary.branch == "baton/T1"
    assert summary.base == "main"
    assert summary.commit_count == 2
    assert summary.subjects == ("add a", "edit a")
    assert summary.files == ("README.md", "a.txt")
    assert (summary.lines_added, summary.lines_removed) == (4, 1)


async def test_changes_report_renames_and_binary_files(trees: Worktrees) -> None:
    """A renamed file is listed under its new name and binary files count no lines."""
    created = await trees.ensure("t1", "baton/T1")
    (created.path / "README.md").rename(created.path / "DOCS.md")
    (created.path / "blob.bin").write_bytes(b"\0\1\2\3")
    await trees.commit_all("t1", "rename and blob")

    summary = await trees.changes("t1")

    assert summary.files == ("DOCS.md", "blob.bin")
    assert (summary.commit_count, summary.lines_added, summary.lines_removed) == (1, 0, 0)


async def test_explicit_base_branch_is_used(git_repo: Path, parent: Path) -> None:
    """A configured base branch, not the current one, is where new branches start."""
    git(git_repo, "branch", "release")
    git(git_repo, "commit", "--allow-empty", "-m", "main moved on")
    trees = Worktrees(git_repo, parent, base_branch="release")

    result = await trees.ensure("t1", "baton/T1")

    assert git(result.path, "rev-parse", "HEAD") == git(git_repo, "rev-parse", "release")
    assert (await trees.changes("t1")).commit_count == 0


async def test_git_failure_becomes_one_line_error(git_repo: Path, parent: Path) -> None:
    """A missing base branch surfaces as a WorktreeError with git's one-line reason."""
    trees = Worktrees(git_repo, parent, base_branch="no-such-branch")

    with pytest.raises(WorktreeError) as caught:
        await trees.ensure("t1", "baton/T1")

    assert "\n" not in caught.value.reason
    assert "no-such-branch" in caught.value.reason
    assert not (parent / "t1").exists()


async def test_a_missing_base_branch_is_its_own_error(git_repo: Path, parent: Path) -> None:
    """ensure names a base branch that does not exist (quotes intact), as BaseBranchMissing;
    missing_base says which, and nothing once it exists again."""
    trees = Worktrees(git_repo, parent, base_branch="release")

    with pytest.raises(BaseBranchMissing) as caught:
        await trees.ensure("t1", "baton/T1")

    assert caught.value.reason == "base branch 'release' does not exist"
    assert caught.value.branch == "release"
    assert await trees.missing_base() == "release"
    git(git_repo, "branch", "release")
    assert await trees.missing_base() is None
    assert (await trees.ensure("t1", "baton/T1")).created


async def test_git_errors_keep_their_quotes(trees: Worktrees) -> None:
    """git's own quotes survive the one-line reason (``'main'``, not ``'main``)."""
    with pytest.raises(WorktreeError) as caught:
        await anyio.to_thread.run_sync(trees._call, None, "branch", "b", "no-such")
    assert caught.value.reason == "fatal: not a valid object name: 'no-such'"


async def test_a_repository_gone_mid_run_never_sends_git_to_the_current_directory(
    git_repo: Path, parent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan directory renamed away: git fails for it, and never runs in whatever
    repository the daemon's own working directory is (GitPython falls back to it when its
    working directory is gone)."""
    trees = Worktrees(git_repo, parent)
    gone = git_repo.with_name("moved")
    git_repo.rename(gone)
    monkeypatch.chdir(gone)  # a real repository, where git must not go
    before = branches(gone), git(gone, "worktree", "list", "--porcelain")
    with pytest.raises(WorktreeError):
        await trees.ensure("arch", "feature/arch")
    assert (branches(gone), git(gone, "worktree", "list", "--porcelain")) == before
