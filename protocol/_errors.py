"""Typed errors of the protocol layer.

Every error knows the file label, the 1-based line and a reason, and renders as
``MULTI_AGENT_PLAN.md:42: dependency T9 of T4 is not a task``. The protocol layer never
touches the file system: ``file`` is only a label the caller chose.
"""

from __future__ import annotations

PLAN_FILE = "MULTI_AGENT_PLAN.md"
MESSAGES_FILE = "INTER_AGENT_MESSAGES.md"


class ProtocolError(Exception):
    """Base of every error raised or reported by ``protocol``."""

    def __init__(self, reason: str, *, line: int = 0, file: str = PLAN_FILE) -> None:
        self.reason = reason
        self.line = line
        self.file = file
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, line={self.line}, file={self.file!r})"

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and isinstance(other, ProtocolError)
            and (self.reason, self.line, self.file) == (other.reason, other.line, other.file)
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.reason, self.line, self.file))


class PlanError(ProtocolError):
    """Something in the plan keeps Baton from acting on it."""


class PlanSyntaxError(PlanError):
    """A table, header or section cannot be read as the format requires."""


class DuplicateTaskError(PlanError):
    """Two rows of the task matrix share one task id."""


class UnknownDependencyError(PlanError):
    """A task depends on an id that is not a task."""


class PlanCycleError(PlanError):
    """The dependencies loop back on themselves."""


class InvalidStatusError(PlanError):
    """A Status cell holds a value outside the five of the lifecycle."""


class WorktreePathError(PlanError):
    """A Worktree cell does not name a folder under the worktree parent."""


class BranchNameError(PlanError):
    """A Branch cell is not a valid git branch name."""


class SharedResourceError(PlanError):
    """Two tasks name the same worktree folder or the same branch."""


class MessageError(ProtocolError):
    """A message block of the message log is malformed."""

    def __init__(self, reason: str, *, line: int = 0, file: str = MESSAGES_FILE) -> None:
        super().__init__(reason, line=line, file=file)


class UnterminatedBlockError(MessageError):
    """The message log ends in a block with no closing ``---``: text appended after it
    would become part of that block."""

    def __init__(self, *, line: int, file: str = MESSAGES_FILE) -> None:
        super().__init__(
            "message block has no closing '---': it is not delivered, and nothing can be "
            "appended after it until it is closed",
            line=line,
            file=file,
        )


class BlockerEntryError(PlanError):
    """A blocker entry under Notes and Blockers is missing fields or malformed."""


class PlanWarning(ProtocolError):
    """Something in the plan Baton reads past but a person should know of (a column it
    cannot read, a table it leaves out); it never stops a run."""


class EditConflictError(ProtocolError):
    """The text no longer holds what an edit was computed against; re-read and retry."""


class PlanInvalid(PlanError):
    """Raised by :func:`protocol.load_plan` with every error found, not only the first."""

    def __init__(self, errors: tuple[ProtocolError, ...]) -> None:
        self.errors = errors
        first = errors[0] if errors else None
        super().__init__(
            first.reason if first else "invalid plan",
            line=first.line if first else 0,
            file=first.file if first else PLAN_FILE,
        )

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
