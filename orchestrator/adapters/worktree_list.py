"""``git worktree list --porcelain``, read (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["WorktreeInfo", "parse_worktree_list"]


@dataclass(frozen=True)
class WorktreeInfo:
    """One entry of ``git worktree list``; ``branch`` is the short name, None when detached."""

    path: Path
    branch: str | None
    head: str | None
    prunable: bool = False


def parse_worktree_list(out: str) -> list[WorktreeInfo]:
    """The entries of ``git worktree list --porcelain``, the main worktree first; one whose
    directory is gone counts as prunable."""
    infos: list[WorktreeInfo] = []
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
