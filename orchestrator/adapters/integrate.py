"""Integrating the selected work into the base branch (docs/user-guide.md, "From
Integration to Completed").

The commits are cherry-picked (or squashed into one, or picked onto a side line and merged
with ``--no-ff``, one merge commit per task) in a temporary detached worktree at the
base branch's head, so nobody's checkout ever holds a CHERRY_PICK_HEAD; the base branch then
moves by compare-and-swap (``update-ref <new> <old>``), so a commit someone made on it
meanwhile is never lost; a checkout of the base branch in the repository is then brought
along by a two-tree ``read-tree -m -u``, which refuses to overwrite a local change. A
conflict, a checkout whose local changes the integration would overwrite, or a base that
moved stops it with the base untouched. Nothing is forced, nothing is pushed. A ``kill -9``
at any point leaves the base at its old head or at the integrated one: the only ref move is
the one atomic ``update-ref``; a restart calls :func:`cleanup` and integrates again.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Integrated",
    "Stopped",
    "Work",
    "archive",
    "cleanup",
    "head_of",
    "integrate",
    "own_commits",
]

_BATON = ("-c", "user.name=Baton", "-c", "user.email=baton@localhost", "-c", "commit.gpgSign=false")


@dataclass(frozen=True)
class Work:
    """One task's branch and the branches whose commits are not its own (its inputs')."""

    task_id: str
    branch: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Integrated:
    old: str
    new: str
    commits: tuple[str, ...]  # the commits integrated, oldest first (their originals)
    checkout: str = ""  # why the base's checkout was not brought along, when it was not


@dataclass(frozen=True)
class Stopped:
    """Why integration stopped: ``conflict``, ``dirty`` or ``moved``; the base is untouched."""

    reason: str
    files: tuple[str, ...] = ()
    commits: tuple[str, ...] = ()
    detail: str = field(default="")


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *_BATON, *args], cwd=repo, capture_output=True, text=True, check=check
    )


def _out(repo: Path, *args: str) -> str:
    return _git(repo, *args).stdout.strip()


def own_commits(repo: Path, base: str, work: Work) -> list[str]:
    """The task's own commits, oldest first: on its branch, not on the base nor on its
    inputs' branches, and not the merges that brought its inputs in. A commit whose change
    the base already holds (cherry-picked before a crash) is left out, so integrating again
    integrates once."""
    args = ["rev-list", "--reverse", "--no-merges", "--cherry-pick", "--right-only"]
    args.append(f"{base}...{work.branch}")
    args += [f"^{b}" for b in work.inputs]
    return [c for c in _out(repo, *args).splitlines() if c]


def scratch_path(repo: Path) -> Path:
    git_dir = Path(_out(repo, "rev-parse", "--absolute-git-dir"))
    return git_dir / "baton-integrate"


def cleanup(repo: Path) -> None:
    """Remove the temporary worktree an interrupted integration left (Baton's own)."""
    scratch = scratch_path(repo)
    if scratch.exists():
        _git(repo, "worktree", "remove", "--force", str(scratch), check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    _git(repo, "worktree", "prune", check=False)


def _checked_out(repo: Path, base: str) -> bool:
    head = _git(repo, "symbolic-ref", "--quiet", "HEAD", check=False).stdout.strip()
    return head == f"refs/heads/{base}"


def _dirty(repo: Path, old: str, new: str) -> list[str]:
    """The repository checkout's local changes (staged, unstaged or untracked) that the move
    from ``old`` to ``new`` would touch."""
    changed = set(_out(repo, "diff", "--name-only", old, new).splitlines())
    local = set(_out(repo, "diff", "--name-only", "HEAD").splitlines())
    local |= set(_out(repo, "ls-files", "--others", "--exclude-standard").splitlines())
    return sorted(changed & local)


def integrate(
    repo: Path,
    base: str,
    works: Sequence[Work],
    strategy: str = "cherry-pick",
    message: str = "",
    before_move: Callable[[Integrated], None] | None = None,
) -> Integrated | Stopped:
    """Put ``works``' own commits, in the order given, on top of ``base``; ``before_move``
    is told the move just before the base branch moves (to journal it)."""
    cleanup(repo)
    old = _out(repo, "rev-parse", "--verify", f"refs/heads/{base}^{{commit}}")
    works = [w for w in works if _exists(repo, w.branch)]
    works = [
        Work(w.task_id, w.branch, tuple(b for b in w.inputs if _exists(repo, b))) for w in works
    ]
    per_work = [(w, own_commits(repo, old, w)) for w in works]
    commits = [c for _, cs in per_work for c in cs]
    if not commits:
        return Integrated(old, old, ())
    scratch = scratch_path(repo)
    _git(repo, "worktree", "add", "--detach", str(scratch), old)
    try:
        pick = ["cherry-pick", "--allow-empty", "--keep-redundant-commits"]
        if strategy == "squash":
            pick.append("--no-commit")
        for w, cs in per_work:
            start = _out(scratch, "rev-parse", "HEAD")
            for c in cs:
                done = _git(scratch, *pick, c, check=False)
                if done.returncode != 0:
                    files = _out(scratch, "diff", "--name-only", "--diff-filter=U").splitlines()
                    _git(scratch, "cherry-pick", "--abort", check=False)
                    _git(scratch, "reset", "--hard", "--quiet", check=False)
                    return Stopped("conflict", tuple(files), (c,), done.stderr.strip()[-500:])
            if strategy == "merge" and cs:
                _merge_commit(scratch, start, w)
        if strategy == "squash":
            _git(scratch, "commit", "--allow-empty", "-m", message or "Integrate selected work")
        new = _out(scratch, "rev-parse", "HEAD")
    finally:
        cleanup(repo)
    on_base = _checked_out(repo, base)
    if on_base:
        dirty = _dirty(repo, old, new)
        if dirty:
            return Stopped("dirty", tuple(dirty), tuple(commits))
    if before_move is not None:
        before_move(Integrated(old, new, tuple(commits)))
    moved = _git(repo, "update-ref", f"refs/heads/{base}", new, old, check=False)
    if moved.returncode != 0:
        return Stopped("moved", (), tuple(commits), moved.stderr.strip())
    if on_base:
        done = _git(repo, "read-tree", "-m", "-u", old, new, check=False)
        if done.returncode != 0:
            return Integrated(old, new, tuple(commits), done.stderr.strip()[-300:])
    return Integrated(old, new, tuple(commits))


def _merge_commit(scratch: Path, start: str, work: Work) -> None:
    """A merge commit of the task's own commits (just picked on top of ``start``) into
    ``start``: its first parent is ``start``, its second the picked line, never a
    fast-forward and never the task's branch itself (which holds its inputs' merges)."""
    side = _out(scratch, "rev-parse", "HEAD")
    _git(scratch, "checkout", "--quiet", "--detach", start)
    message = f"Merge {work.task_id} ({work.branch})"
    _git(scratch, "merge", "--no-ff", "--no-edit", "-m", message, side)


def _exists(repo: Path, branch: str) -> bool:
    ref = f"refs/heads/{branch}"
    return _git(repo, "rev-parse", "--verify", "--quiet", ref, check=False).returncode == 0


def archive(repo: Path, branch: str, message: str) -> str | None:
    """Tag ``branch`` as ``baton/archive/<branch>`` (annotated, ``message``); the tag's
    name, or None when the branch does not exist. A tag already there is kept."""
    if not _exists(repo, branch):
        return None
    tag = f"baton/archive/{branch}"
    if _git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}", check=False).returncode:
        _git(repo, "tag", "-a", "-m", message, tag, f"refs/heads/{branch}")
    return tag


def head_of(repo: Path, base: str) -> str:
    """The commit ``base`` names now."""
    return _out(repo, "rev-parse", "--verify", f"refs/heads/{base}^{{commit}}")
