"""One git worktree per task, under the worktree parent (docs/contract.md secs. 2, 3 and 9).

`Worktrees.ensure` is idempotent so that a restart, or a retry after a crash halfway
through, lands on the same worktree and branch: it reuses what is there, finishes what was
half done, and refuses (with `WorktreeError`) rather than deletes anything it did not make.

Every git call takes an argument list (never a shell string), with ``--`` before paths, and
runs in a worker thread. Calls that change worktree registrations or create branches are
serialized by one lock per `Worktrees`: git's own lock files (``index.lock``, ref and config
locks in the main repository) make concurrent ``git worktree add`` calls fail at random.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread
import git
import structlog

from orchestrator.adapters.merge_inputs import Input, StartPoint, start_point
from orchestrator.config import default_parent
from protocol import branch_name_problem

log = structlog.get_logger()

_T = TypeVar("_T")

__all__ = [
    "BaseBranchMissing",
    "BranchSummary",
    "EnsureResult",
    "WorktreeError",
    "WorktreeInfo",
    "Worktrees",
    "default_parent",
]


class WorktreeError(Exception):
    """A worktree could not be made, used or removed; ``reason`` is one line."""

    def __init__(self, reason: str) -> None:
        self.reason = " ".join(reason.split()) or "git failed"
        super().__init__(self.reason)


class BaseBranchMissing(WorktreeError):
    """The base branch a new task branch would start from does not exist (deleted,
    renamed); it may come back, so this is a reason to wait, not to fail the task."""

    def __init__(self, branch: str) -> None:
        self.branch = branch
        super().__init__(f"base branch {branch!r} does not exist")


@dataclass(frozen=True)
class EnsureResult:
    path: Path
    created: bool
    branch: str
    start: StartPoint | None = None  # where a new branch with inputs started


@dataclass(frozen=True)
class WorktreeInfo:
    """One entry of ``git worktree list``; ``branch`` is the short name, None when detached."""

    path: Path
    branch: str | None
    head: str | None
    prunable: bool = False


@dataclass(frozen=True)
class BranchSummary:
    """What a task's branch holds beyond its base: commits (oldest first) and their diff."""

    branch: str
    base: str
    commit_count: int
    subjects: tuple[str, ...]
    files: tuple[str, ...]
    lines_added: int
    lines_removed: int


def _one_line(error: git.GitCommandError) -> str:
    """The line of git's stderr that says what went wrong (``fatal:``/``error:``)."""
    stderr = error.stderr if isinstance(error.stderr, str) else str(error.stderr or "")
    # GitPython wraps stderr as "\n  stderr: '...'"; strip that framing, and only that:
    # git's own quotes ("not a valid object name: 'main'") stay.
    text = stderr.strip().removeprefix("stderr:").strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(("fatal:", "error:")):
            return line
    command = " ".join(str(arg) for arg in error.command[:3])
    return lines[-1] if lines else f"{command} exited with status {error.status}"


def _check_folder(folder: str) -> None:
    if not isinstance(folder, str) or folder in ("", ".", ".."):
        raise WorktreeError(f"worktree folder {folder!r} must be a non-empty name")
    if "/" in folder or "\\" in folder:
        raise WorktreeError(f"worktree folder {folder!r} must be a single path component")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in folder):
        raise WorktreeError(f"worktree folder {folder!r} contains a control character")


class Worktrees:
    """The worktrees of one repository, one folder per task under ``parent``.

    ``base_branch`` defaults to the branch checked out in ``repo_dir`` when first needed.
    """

    def __init__(self, repo_dir: Path, parent: Path, base_branch: str | None = None) -> None:
        self.repo_dir = repo_dir
        self.parent = parent
        self._base_branch = base_branch
        self._lock = anyio.Lock()

    # -- public API -------------------------------------------------------------------------

    def base_branch(self) -> str:
        """The configured base branch, else the checked-out one (blocking: off the loop)."""
        return self._base()

    async def ensure(
        self,
        folder: str,
        branch: str,
        inputs: Sequence[Input] = (),
        *,
        merge: bool = True,
    ) -> EnsureResult:
        """Make ``<parent>/<folder>`` a worktree on ``branch``, creating either if missing.

        The branch is created only when it does not exist: from the base branch merged with
        the branches of ``inputs`` (see :mod:`orchestrator.adapters.merge_inputs`), or from
        the base alone when ``merge`` is false (the inputs are then read only). A worktree
        already registered there on that branch is reused untouched (``created=False``).
        """
        _check_folder(folder)
        async with self._lock:
            return await self._run(self._ensure, folder, branch, tuple(inputs), merge)

    async def start_point(self, inputs: Sequence[Input], *, merge: bool = True) -> StartPoint:
        """What a new branch with ``inputs`` would start from, computed again (no ref moves):
        for a branch made before a crash could record it."""
        call, try_ = (lambda *a: self._call(None, *a)), (lambda *a: self._try(None, *a))
        return await self._run(lambda: start_point(call, try_, self._base(), inputs, merge=merge))

    async def missing_base(self) -> str | None:
        """The base branch's name when it does not name a commit (deleted, renamed); None
        when it does, or when there is none to check (no branch checked out)."""
        return await self._run(self._missing_base)

    async def list(self) -> builtins.list[WorktreeInfo]:
        """Every worktree git knows for this repository, the main one first."""
        return await self._run(self._list)

    async def remove(self, folder: str, *, force: bool = False) -> None:
        """Remove the worktree in ``folder`` (its branch stays).

        Refuses when it holds uncommitted or untracked work unless ``force``; refuses a
        directory that is not a worktree of this repository. A missing worktree is a no-op.
        """
        _check_folder(folder)
        async with self._lock:
            await self._run(self._remove, folder, force)

    async def commit_all(self, folder: str, message: str) -> str | None:
        """Stage everything in the worktree and commit it; the new sha, or None if clean."""
        _check_folder(folder)
        # A commit writes the branch ref and may pack refs; keep it apart from ensure/remove.
        async with self._lock:
            return await self._run(self._commit_all, folder, message)

    async def changes(self, folder: str) -> BranchSummary:
        """Commits on the worktree's branch since it left the base, and what they changed."""
        _check_folder(folder)
        return await self._run(self._changes, folder)

    # -- worker-thread side -----------------------------------------------------------------

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        return await anyio.to_thread.run_sync(lambda: func(*args))

    def _git(self, cwd: Path | None = None) -> git.Git:
        return git.Git(str(cwd if cwd is not None else self.repo_dir))

    def _call(self, cwd: Path | None, *args: str) -> str:
        try:
            out: str = self._git(cwd).execute(["git", *args])
        except git.GitCommandError as error:
            raise WorktreeError(_one_line(error)) from error
        except git.NoSuchPathError as error:
            raise WorktreeError(f"no such directory: {cwd or self.repo_dir}") from error
        return out

    def _try(self, cwd: Path | None, *args: str) -> tuple[int, str]:
        """Run git for its exit status (and stdout) where failing is an answer, not an error."""
        try:
            status, out, _ = self._git(cwd).execute(
                ["git", *args], with_exceptions=False, with_extended_output=True
            )
        except git.NoSuchPathError as error:
            raise WorktreeError(f"no such directory: {cwd or self.repo_dir}") from error
        return int(status), str(out)

    def _succeeds(self, cwd: Path | None, *args: str) -> bool:
        return self._try(cwd, *args)[0] == 0

    def _base(self) -> str:
        if self._base_branch is None:
            if not self._succeeds(None, "symbolic-ref", "--quiet", "HEAD"):
                raise WorktreeError(
                    f"{self.repo_dir} has no branch checked out; set base_branch explicitly"
                )
            self._base_branch = self._call(None, "symbolic-ref", "--quiet", "--short", "HEAD")
        if not self._base_branch or self._base_branch.startswith("-"):
            raise WorktreeError(f"base branch {self._base_branch!r} must not start with '-'")
        return self._base_branch

    def _missing_base(self) -> str | None:
        try:
            base = self._base()
        except WorktreeError:
            return None  # not a missing branch: ensure reports this one itself
        found = self._succeeds(None, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
        return None if found else base

    @staticmethod
    def _check_branch(branch: str) -> None:
        # git's own rules (``git check-ref-format --branch``), checked without a process;
        # git refuses a bad name again when the branch is created.
        problem = branch_name_problem(branch)
        if problem is not None:
            raise WorktreeError(f"{branch!r} is not a valid branch name: it {problem}")

    def _target(self, folder: str) -> Path:
        """The resolved path of ``folder``, checked to lie directly inside the parent."""
        self.parent.mkdir(parents=True, exist_ok=True)
        parent = self.parent.resolve()
        path = parent / folder
        if path.is_symlink() or path.resolve() != path:
            raise WorktreeError(
                f"{path} is a symlink to {path.resolve()}; a worktree folder must be a "
                f"directory of its own inside {parent}"
            )
        return path

    def _list(self) -> builtins.list[WorktreeInfo]:
        out = self._call(None, "worktree", "list", "--porcelain")
        infos: builtins.list[WorktreeInfo] = []
        for block in out.split("\n\n"):
            path: Path | None = None
            branch: str | None = None
            head: str | None = None
            prunable = False
            for line in block.splitlines():
                key, _, value = line.partition(" ")
                if key == "worktree":
                    path = Path(value)
                elif key == "HEAD":
                    head = value
                elif key == "branch":
                    branch = value.removeprefix("refs/heads/")
                elif key == "prunable":
                    prunable = True
            if path is not None:
                infos.append(WorktreeInfo(path, branch, head, prunable or not path.exists()))
        return infos

    def _registered(
        self, path: Path, *, prune: bool = True
    ) -> tuple[WorktreeInfo | None, builtins.list[WorktreeInfo]]:
        """The registration at ``path`` (None if none), and all registrations after pruning."""
        infos = self._list()
        if prune and any(info.prunable for info in infos):
            # A directory removed by hand leaves its registration, which pins its branch
            # ("already checked out") and its path; prune only forgets such leftovers.
            self._call(None, "worktree", "prune")
            log.info("worktrees_pruned", stale=[str(i.path) for i in infos if i.prunable])
            infos = self._list()
        if infos and infos[0].path.resolve() == path:
            raise WorktreeError(f"{path} is the repository's main worktree")
        for info in infos[1:]:
            if info.path.resolve() == path:
                return info, infos
        return None, infos

    def _ensure(
        self, folder: str, branch: str, inputs: tuple[Input, ...] = (), merge: bool = True
    ) -> EnsureResult:
        self._check_branch(branch)
        path = self._target(folder)
        existing, infos = self._registered(path)
        if existing is not None:
            if existing.prunable:  # a locked registration survives prune
                raise WorktreeError(f"{path} is registered (and locked) but its directory is gone")
            if existing.branch != branch:
                found = existing.branch or f"a detached HEAD ({existing.head})"
                raise WorktreeError(f"{path} is a worktree on {found}, expected {branch}")
            log.info("worktree_reused", folder=folder, branch=branch, path=str(path))
            return EnsureResult(path=path, created=False, branch=branch)

        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise WorktreeError(f"{path} exists and is not a worktree of {self.repo_dir}")
        for info in infos:
            if info.branch == branch:
                raise WorktreeError(f"branch {branch} is already checked out at {info.path}")

        if self._succeeds(None, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}"):
            self._call(None, "worktree", "add", "--", str(path), branch)
            log.info("worktree_created", folder=folder, branch=branch, path=str(path))
        else:
            base = self._base()
            call, try_ = (lambda *a: self._call(None, *a)), (lambda *a: self._try(None, *a))
            try:
                start = start_point(call, try_, base, inputs, merge=merge) if inputs else None
                at = start.commit if start else base
                self._call(None, "worktree", "add", "-b", branch, "--", str(path), at)
            except WorktreeError:
                # Asked only when git failed, so a healthy run pays nothing for it.
                if self._missing_base() is not None:
                    raise BaseBranchMissing(base) from None
                raise
            merged = {"merged": list(start.merged)} if start else {}
            log.info(
                "worktree_created",
                folder=folder,
                branch=branch,
                path=str(path),
                base=base,
                **merged,
            )
            return EnsureResult(path=path, created=True, branch=branch, start=start)
        return EnsureResult(path=path, created=True, branch=branch)

    def _remove(self, folder: str, force: bool) -> None:
        path = self._target(folder)
        existing, _ = self._registered(path)
        if existing is None:
            if path.exists():
                raise WorktreeError(f"{path} is not a worktree of {self.repo_dir}")
            return
        if not force:
            dirty = self._call(path, "status", "--porcelain", "--untracked-files=all")
            if dirty:
                count = len(dirty.splitlines())
                raise WorktreeError(
                    f"{path} has uncommitted work ({count} changed paths); commit it or force"
                )
        args = ["worktree", "remove", *(["--force"] if force else []), "--", str(path)]
        self._call(None, *args)
        log.info("worktree_removed", folder=folder, branch=existing.branch, force=force)

    def _worktree(self, folder: str, *, prune: bool = True) -> WorktreeInfo:
        path = self._target(folder)
        existing, _ = self._registered(path, prune=prune)
        if existing is None or existing.prunable:
            raise WorktreeError(f"{path} is not a worktree of {self.repo_dir}")
        return existing

    def _commit_all(self, folder: str, message: str) -> str | None:
        info = self._worktree(folder)
        self._call(info.path, "add", "--all", "--", ".")
        if self._succeeds(info.path, "diff", "--cached", "--quiet"):
            return None
        self._call(info.path, "commit", "--quiet", f"--message={message}")
        sha = self._call(info.path, "rev-parse", "HEAD")
        log.info("worktree_committed", folder=folder, branch=info.branch, sha=sha)
        return sha

    def _changes(self, folder: str) -> BranchSummary:
        # Read-only, and run without the lock: no pruning here.
        info = self._worktree(folder, prune=False)
        base = self._base()
        log_out = self._call(
            info.path, "log", "-z", "--reverse", "--format=%s", f"{base}..HEAD", "--"
        )
        subjects = tuple(log_out.split("\0")) if log_out else ()
        if subjects and subjects[-1] == "":  # tformat terminates each entry with NUL
            subjects = subjects[:-1]
        numstat = self._call(
            info.path, "diff", "--numstat", "-z", "--find-renames", f"{base}...HEAD", "--"
        )
        files: builtins.list[str] = []
        added = removed = 0
        fields = iter(numstat.split("\0"))
        for record in fields:
            if not record:
                continue
            plus, minus, name = record.split("\t", 2)
            if not name:  # a rename: "A\tD\t" then the old and the new path
                next(fields)
                name = next(fields)
            files.append(name)
            # Binary files show "-" for both counts.
            added += int(plus) if plus.isdigit() else 0
            removed += int(minus) if minus.isdigit() else 0
        return BranchSummary(
            branch=info.branch or "HEAD",
            base=base,
            commit_count=len(subjects),
            subjects=subjects,
            files=tuple(files),
            lines_added=added,
            lines_removed=removed,
        )
