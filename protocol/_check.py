"""The whole-plan check: every reason Baton cannot act on a plan, at once.

Each error names the line of the row at fault, so ``MULTI_AGENT_PLAN.md:88: duplicate task
id T2 (first at line 87)`` takes a person straight to it.
"""

from __future__ import annotations

import re

from protocol._cells import plain
from protocol._errors import (
    PLAN_FILE,
    BranchNameError,
    DuplicateTaskError,
    InvalidStatusError,
    PlanInvalid,
    ProtocolError,
    SharedResourceError,
    UnknownDependencyError,
    WorktreePathError,
)
from protocol._model import STATUSES, Plan, Task
from protocol._refname import branch_name_problem
from protocol._status import accepted_spellings
from protocol.dag import cycle_error
from protocol.plan import parse_plan

# A worktree folder's own name: what every shell, editor and git tool takes as it is.
_FOLDER_RE = re.compile(r"^[^\W_][\w.+@-]*$")


def check_plan(plan: Plan, *, worktree_parent: str | None = None) -> tuple[ProtocolError, ...]:
    """Every error in ``plan``, in line order (the parser's own problems included)."""
    f = plan.file
    errors: list[ProtocolError] = list(plan.problems)
    first_line: dict[str, int] = {}
    unique: list[Task] = []
    for t in plan.tasks:
        if t.id in first_line:
            errors.append(
                DuplicateTaskError(
                    f"duplicate task id {t.id} (first at line {first_line[t.id]})",
                    line=t.line,
                    file=f,
                )
            )
            continue
        first_line[t.id] = t.line
        unique.append(t)
    known = set(first_line) | plan.unread_ids  # an unread row's id is reported at its row
    by_worktree: dict[str, Task] = {}
    by_branch: dict[str, Task] = {}
    for t in unique:
        for dep in t.dependencies:
            if dep not in known:
                errors.append(
                    UnknownDependencyError(
                        f"dependency {dep} of {t.id} is not a task", line=t.line, file=f
                    )
                )
        if t.status not in STATUSES:
            errors.append(
                InvalidStatusError(
                    f"status {t.status!r} of {t.id} is not a status Baton knows: write "
                    f"{accepted_spellings()}",
                    line=t.line,
                    file=f,
                )
            )
        problem = _worktree_problem(t, worktree_parent)
        if problem is not None:
            errors.append(WorktreePathError(f"worktree of {t.id} {problem}", line=t.line, file=f))
        else:
            errors.extend(_claim(by_worktree, t.worktree, t, "worktree", f))
        reason = branch_name_problem(t.branch)
        if reason is not None:
            errors.append(
                BranchNameError(f"branch {t.branch!r} of {t.id} {reason}", line=t.line, file=f)
            )
        else:
            errors.extend(_claim(by_branch, t.branch, t, "branch", f))
    cycle = cycle_error(unique, file=f)
    if cycle is not None:
        errors.append(cycle)
    return tuple(sorted(errors, key=lambda e: e.line))


def _claim(
    owners: dict[str, Task], name: str, task: Task, what: str, file: str
) -> list[ProtocolError]:
    """Register ``task`` as the owner of ``name``; an error if another task owns it."""
    other = owners.setdefault(name, task)
    if other is task:
        return []
    reason = f"{task.id} and {other.id} (line {other.line}) share the {what} {name!r}"
    return [SharedResourceError(reason, line=task.line, file=file)]


def _worktree_problem(task: Task, parent: str | None) -> str | None:
    """Why the task's Worktree cell cannot name its folder under the worktree parent."""
    name = task.worktree
    raw = plain(task.worktree_raw)
    example = f"../{task.id.lower()}"
    if name in ("", ".", ".."):
        return f"{raw!r} names no folder (expected e.g. {example})"
    if raw.startswith("~"):
        return f"{raw!r} starts with ~, which Baton does not expand (expected e.g. {example})"
    if name.casefold() == ".git":
        return f"{raw!r} would put the worktree in a folder named .git"
    if not _FOLDER_RE.match(name):
        return (
            f"{raw!r} names the folder {name!r}: a worktree folder is letters, digits and "
            ". _ - + @, starting with a letter or digit"
        )
    if raw.startswith("/") and parent is not None:
        inside = _normalise(raw)
        base = _normalise(parent)
        if not inside.startswith(base.rstrip("/") + "/"):
            return f"{raw!r} is outside the worktree parent {parent}"
    return None


def _normalise(path: str) -> str:
    """A POSIX path with '.', '..' and repeated slashes resolved, as text only."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def load_plan(text: str, *, file: str = PLAN_FILE, worktree_parent: str | None = None) -> Plan:
    """Parse and check; raises :class:`PlanInvalid` carrying every error when any."""
    plan = parse_plan(text, file=file)
    errors = check_plan(plan, worktree_parent=worktree_parent)
    if errors:
        raise PlanInvalid(errors)
    return plan
