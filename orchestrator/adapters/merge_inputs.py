"""Where a task's branch starts: the base merged with its dependencies' branches
(docs/user-guide.md, "Inputs along the edges").

All or nothing: a dependency whose branch conflicts with another one's (or with the base) is
not merged at all; the task starts from what the conflicting ones share (their merge base,
the merge of their own inputs) and is told, per unmerged branch, where its worktree is and
which files conflict. Conflicts are found by ``git merge-tree --write-tree`` (git >= 2.38),
which writes objects but touches no worktree, index or ref; the one merge commit is written
with ``git commit-tree``. Nothing here moves a ref: the caller creates the task's branch at
the commit returned, so a crash before that leaves only unreferenced objects, and a retry
(the branch then exists) never merges twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

__all__ = ["Input", "StartPoint", "Unmerged", "start_point"]

# (args) -> stdout, raising on failure; (args) -> (status, stdout), never raising.
Call = Callable[..., str]
Try = Callable[..., tuple[int, str]]

_BATON = ("-c", "user.name=Baton", "-c", "user.email=baton@localhost", "-c", "commit.gpgSign=false")


@dataclass(frozen=True)
class Input:
    """A dependency's work: its task, branch and worktree."""

    task_id: str
    branch: str
    worktree: Path


@dataclass(frozen=True)
class Unmerged:
    """A dependency's branch that was not merged, and why: ``files`` conflicted (with the
    branches of ``against``), or ``reason`` says otherwise (read only, no branch)."""

    task_id: str
    branch: str
    worktree: Path
    files: tuple[str, ...] = ()
    against: tuple[str, ...] = ()
    reason: str = "conflict"

    def describe(self) -> str:
        where = f"{self.task_id} ({self.branch}, worktree {self.worktree})"
        if self.reason != "conflict":
            return f"{where}: {self.reason}"
        files = ", ".join(self.files[:20]) or "(unnamed)"
        more = f" and {len(self.files) - 20} more" if len(self.files) > 20 else ""
        against = f" with {', '.join(self.against)}" if self.against else ""
        return f"{where}: conflicts{against} in {files}{more}"

    def to_json(self) -> dict[str, object]:
        return {
            "task_id": self.task_id,
            "branch": self.branch,
            "worktree": str(self.worktree),
            "files": list(self.files),
            "against": list(self.against),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Unmerged:
        files = data.get("files") or []
        against = data.get("against") or []
        return cls(
            str(data["task_id"]),
            str(data["branch"]),
            Path(str(data["worktree"])),
            tuple(str(f) for f in files) if isinstance(files, list) else (),
            tuple(str(a) for a in against) if isinstance(against, list) else (),
            str(data.get("reason") or "conflict"),
        )


@dataclass(frozen=True)
class StartPoint:
    commit: str  # where the task's branch is created
    merged: tuple[str, ...]  # the task ids whose branches it holds
    unmerged: tuple[Unmerged, ...]


def start_point(
    call: Call, try_: Try, base: str, inputs: Sequence[Input], *, merge: bool = True
) -> StartPoint:
    """The commit a task with ``inputs`` starts from (see the module docstring); with
    ``merge`` false, the base itself, every input read only."""
    base_sha = call("rev-parse", "--verify", f"{base}^{{commit}}")
    if not merge:
        read = 'read only (inputs = "read")'
        held = tuple(Unmerged(i.task_id, i.branch, i.worktree, reason=read) for i in inputs)
        return StartPoint(base_sha, (), held)
    git = _Merges(call, try_, base_sha)
    heads: dict[str, str] = {}
    unmerged: list[Unmerged] = []
    for i in inputs:
        status, sha = try_("rev-parse", "--verify", "--quiet", f"refs/heads/{i.branch}^{{commit}}")
        if status != 0:
            unmerged.append(Unmerged(i.task_id, i.branch, i.worktree, reason="its branch is gone"))
            continue
        if not _contains(try_, base_sha, sha.strip()):
            heads[i.task_id] = sha.strip()
    by_id = {i.task_id: i for i in inputs}
    clashes: dict[str, tuple[set[str], set[str]]] = {}  # task -> (files, with whom)

    def clash(task_id: str, files: Sequence[str], other: str) -> None:
        found, whom = clashes.setdefault(task_id, (set(), set()))
        found.update(files)
        whom.add(other)

    for a, b in combinations(heads, 2):
        files = git.conflicts(heads[a], heads[b])
        if files is not None:
            clash(a, files, b)
            clash(b, files, a)
    for task_id, sha in heads.items():
        files = git.conflicts(base_sha, sha)
        if files is not None:
            clash(task_id, files, base)

    parents, merged = [base_sha], list[str]()
    for task_id, sha in heads.items():  # the plan's order of dependencies
        if task_id in clashes:
            continue
        files = git.merge(sha, f"Baton: merge {task_id} (step)")
        if files:  # conflicts only the stack shows
            for other in merged or [base]:
                clash(task_id, files, other)
            continue
        parents.append(sha)
        merged.append(task_id)
    shared = [heads[t] for t in heads if t in clashes]
    if shared:
        status, out = try_("merge-base", "--octopus", *shared)
        common = out.strip()
        if status == 0 and common and not _contains(try_, git.start(), common):
            files = git.merge(common, "Baton: merge shared inputs (step)")
            if not files:
                parents.append(common)
    for task_id in heads:
        if task_id in clashes:
            where, whom = clashes[task_id]
            i = by_id[task_id]
            unmerged.append(
                Unmerged(task_id, i.branch, i.worktree, tuple(sorted(where)), tuple(sorted(whom)))
            )
    start = base_sha
    if len(parents) > 1 and git.tree is not None:
        names = ", ".join(merged) or "none"
        names_held = ", ".join(u.task_id for u in unmerged)
        message = f"Baton: start from {base} merged with {names}"
        if names_held:
            message += f"\n\nNot merged: {names_held}"
        args = [a for p in parents for a in ("-p", p)]
        start = call(*_BATON, "commit-tree", git.tree, *args, "-m", message).strip()
    return StartPoint(start, tuple(merged), tuple(unmerged))


class _Merges:
    """The stack of merges onto the base, with each git call made once: a pair already
    merged is not merged again, and a step's commit is written only when a next merge
    needs it as a start (the last step's tree goes into the one commit the task starts
    from)."""

    def __init__(self, call: Call, try_: Try, base_sha: str) -> None:
        self._call, self._try = call, try_
        self._results: dict[tuple[str, str], tuple[int, str]] = {}
        self._start = base_sha  # the last step's commit, once written
        self._step: tuple[str, str, str, str] | None = None  # (tree, start, other, message)
        self.tree: str | None = None  # the tree of everything merged so far

    def _merge_tree(self, a: str, b: str) -> tuple[int, str]:
        if (a, b) not in self._results:
            self._results[a, b] = self._try(
                "merge-tree", "--write-tree", "--name-only", "--no-messages", a, b
            )
        return self._results[a, b]

    def conflicts(self, a: str, b: str) -> list[str] | None:
        """The files merging ``a`` and ``b`` conflicts in, or None when it merges cleanly."""
        status, out = self._merge_tree(a, b)
        if status == 0:
            return None
        return sorted({line for line in out.splitlines()[1:] if line}) or ["(unknown)"]

    def start(self) -> str:
        """The commit of everything merged so far (the base's until a merge)."""
        if self._step is not None:
            tree, start, other, message = self._step
            self._start = self._call(
                *_BATON, "commit-tree", tree, "-p", start, "-p", other, "-m", message
            ).strip()
            self._step = None
        return self._start

    def merge(self, other: str, message: str) -> list[str]:
        """Merge ``other`` onto the stack; the conflicting files, empty when it merged."""
        start = self.start()
        files = self.conflicts(start, other)
        if files is not None:
            return files
        self.tree = self._merge_tree(start, other)[1].splitlines()[0].strip()
        self._step = (self.tree, start, other, message)
        return []


def _contains(try_: Try, commit: str, other: str) -> bool:
    """Whether ``other`` is already in ``commit``'s history."""
    return try_("merge-base", "--is-ancestor", other, commit)[0] == 0
