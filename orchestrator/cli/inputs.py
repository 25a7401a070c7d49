"""Read both markdown files of a plan directory for the one-shot commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.adapters.text_files import InputError, plan_too_large, read_bytes
from orchestrator.config import DEFAULT_MAX_PLAN_MB
from protocol import (
    UnterminatedBlockError,
    check_plan,
    open_block,
    parse_messages,
    parse_plan,
)
from protocol._errors import PLAN_FILE, ProtocolError
from protocol._model import Plan
from protocol._text import decode_text
from protocol.messages import MESSAGES_FILE, Message


@dataclass(frozen=True)
class Inputs:
    plan: Plan
    messages: tuple[Message, ...]
    plan_errors: tuple[ProtocolError, ...]
    message_errors: tuple[ProtocolError, ...]
    plan_path: Path
    messages_path: Path

    @property
    def errors(self) -> tuple[ProtocolError, ...]:
        return self.plan_errors + self.message_errors


def load_inputs(
    directory: Path,
    plan_file: str = PLAN_FILE,
    messages_file: str = MESSAGES_FILE,
    *,
    max_plan_mb: float = DEFAULT_MAX_PLAN_MB,
    worktree_parent: Path | None = None,
) -> Inputs:
    """Parse and check the plan and, when present, the message log of ``directory``;
    Worktree cells are checked against ``worktree_parent`` as the daemon checks them.

    The plan is read as the daemon reads it (bytes that are not UTF-8 are an error at their
    line); the message log, only shown here, with such bytes replaced.
    """
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory (use --dir)")
    plan_path = directory / plan_file
    if not plan_path.exists():
        raise InputError(f"{plan_path}: no plan here (baton init writes one)")
    too_large = plan_too_large(plan_path.stat().st_size, max_plan_mb)
    if too_large is not None:
        raise InputError(f"{plan_path}: {too_large}")
    plan = parse_plan(decode_text(read_bytes(plan_path)), file=str(plan_path))
    parent = str(worktree_parent) if worktree_parent is not None else None
    plan_errors = check_plan(plan, worktree_parent=parent)
    messages_path = directory / messages_file
    messages: tuple[Message, ...] = ()
    message_errors: tuple[ProtocolError, ...] = ()
    if messages_path.exists():
        text = read_bytes(messages_path).decode("utf-8", errors="replace")
        batch = parse_messages(text, file=str(messages_path))
        messages, message_errors = batch.messages, batch.errors
        unclosed = open_block(text)  # at rest, a block left open is an error, not a save
        if unclosed is not None:
            error = UnterminatedBlockError(line=unclosed.line, file=str(messages_path))
            message_errors = (*message_errors, error)
    return Inputs(plan, messages, plan_errors, message_errors, plan_path, messages_path)


__all__ = ["InputError", "Inputs", "load_inputs", "plan_too_large", "read_bytes"]
