"""Reading the JSON event streams of coding-agent CLIs (docs/coding-agents.md).

Pure functions: one decoded event in, what Baton makes of it out. The fields relied on are
listed in docs/coding-agents.md; every other field is ignored, and an event of a type not
known here comes back with ``unknown`` set, so the caller can log it once and go on.

Claude Code (``claude -p --output-format stream-json --verbose``):

- ``{"type": "system", "subtype": "init", "session_id": ...}``
- ``{"type": "assistant" | "user", "message": {"content": [blocks]}}`` with ``text``,
  ``tool_use`` (``name``, ``input``) and ``tool_result`` blocks
- ``{"type": "result", "subtype": "success" | "error_max_turns" | "error_max_budget_usd" |
  ..., "is_error", "result", "total_cost_usd", "usage", "num_turns", "session_id"}``;
  ``total_cost_usd`` is cumulative over the process.

Codex (``codex exec --json``):

- ``{"type": "thread.started", "thread_id": ...}``
- ``{"type": "item.started" | "item.updated" | "item.completed", "item": {"type":
  "agent_message" | "reasoning" | "command_execution" | "file_change" | "mcp_tool_call" |
  ..., ...}}``
- ``{"type": "turn.completed", "usage": {"input_tokens", "cached_input_tokens",
  "output_tokens", "reasoning_output_tokens"}}``, cumulative over the thread
- ``{"type": "turn.failed", "error": {"message"}}`` and ``{"type": "error", "message"}``
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_HEAD = 120  # characters of a text kept in a summary


@dataclass(frozen=True)
class Seen:
    """What one event tells Baton; every field is optional."""

    summary: str = ""  # a short line for the log, "" for nothing worth logging
    session: str | None = None  # Claude Code's session id or Codex's thread id
    cost_total: float | None = None  # Claude Code: dollars so far in this process
    usage_total: Mapping[str, int] = field(default_factory=dict)  # Codex: tokens so far
    result: str | None = None  # Claude Code's result subtype ("success", "error_...")
    is_error: bool = False
    text: str = ""  # the result's text, or an error's message
    error: str = ""  # an error the CLI reported (a failed turn, an error event)
    unknown: bool = False  # a type this module does not know


def head(text: Any, limit: int = _HEAD) -> str:
    """The first line of ``text``, cut to ``limit`` characters."""
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _tool_target(args: Any) -> str:
    if not isinstance(args, Mapping):
        return ""
    for key in ("file_path", "path", "command", "pattern", "url", "query", "to"):
        if isinstance(args.get(key), str):
            return head(args[key], 80)
    return ""


def claude_event(event: Mapping[str, Any]) -> Seen:
    """One event of Claude Code's ``stream-json`` output."""
    kind = event.get("type")
    session = event.get("session_id") if isinstance(event.get("session_id"), str) else None
    if kind == "system":
        if event.get("subtype") == "init":
            return Seen(summary=f"session {session}", session=session)
        return Seen(session=session)
    if kind in ("assistant", "user"):
        message = event.get("message")
        blocks = message.get("content") if isinstance(message, Mapping) else None
        parts: list[str] = []
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, Mapping):
                continue
            if block.get("type") == "text" and kind == "assistant":
                parts.append(f"says: {head(block.get('text'))}")
            elif block.get("type") == "tool_use":
                target = _tool_target(block.get("input"))
                parts.append(f"tool {block.get('name')}" + (f" {target}" if target else ""))
            elif block.get("type") == "tool_result" and block.get("is_error"):
                parts.append(f"tool error: {head(block.get('content'), 80)}")
        return Seen(summary="; ".join(parts), session=session)
    if kind == "result":
        subtype = str(event.get("subtype") or "")
        cost = event.get("total_cost_usd")
        cost = float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None
        text = event.get("result")
        if not isinstance(text, str):
            errors = event.get("errors")
            text = "; ".join(map(str, errors)) if isinstance(errors, list) else ""
        return Seen(
            summary=f"result {subtype}"
            + (
                f" after {event['num_turns']} turns"
                if isinstance(event.get("num_turns"), int)
                else ""
            ),
            session=session,
            cost_total=cost,
            result=subtype,
            is_error=bool(event.get("is_error")) or subtype != "success",
            text=text,
        )
    if kind == "stream_event":
        return Seen()
    return Seen(unknown=True, session=session)


def claude_tokens(usage: Any) -> dict[str, int]:
    """A Claude Code ``usage`` object's tokens, by the names the journal uses."""
    usage = usage if isinstance(usage, Mapping) else {}
    names = {
        "input": "input_tokens",
        "output": "output_tokens",
        "cache_write": "cache_creation_input_tokens",
        "cache_read": "cache_read_input_tokens",
    }
    return {ours: _int(usage.get(theirs)) for ours, theirs in names.items()}


def codex_event(event: Mapping[str, Any]) -> Seen:
    """One event of ``codex exec --json`` output."""
    kind = event.get("type")
    if kind == "thread.started":
        thread = event.get("thread_id") if isinstance(event.get("thread_id"), str) else None
        return Seen(summary=f"thread {thread}", session=thread)
    if kind in ("turn.started", "item.started", "item.updated"):
        return Seen()
    if kind == "item.completed":
        item = event.get("item")
        said = item.get("text") if isinstance(item, Mapping) else None
        if not (isinstance(item, Mapping) and item.get("type") == "agent_message"):
            said = None
        return Seen(summary=_codex_item(item), text=str(said or ""))
    if kind == "turn.completed":
        usage: Mapping[str, Any] = event.get("usage") or {}
        if not isinstance(usage, Mapping):
            usage = {}
        tokens = {
            "input": _int(usage.get("input_tokens")),
            "cache_read": _int(usage.get("cached_input_tokens")),
            "output": _int(usage.get("output_tokens")),
            "reasoning": _int(usage.get("reasoning_output_tokens")),
        }
        return Seen(summary="turn completed", usage_total=tokens)
    if kind in ("turn.failed", "error"):
        error = event.get("error")
        message = error.get("message") if isinstance(error, Mapping) else event.get("message")
        return Seen(summary=f"{kind}: {head(message)}", error=str(message or kind))
    return Seen(unknown=True)


def _codex_item(item: Any) -> str:
    if not isinstance(item, Mapping):
        return ""
    kind = item.get("type")
    if kind == "agent_message":
        return f"says: {head(item.get('text'))}"
    if kind == "command_execution":
        code = item.get("exit_code")
        return f"ran {head(item.get('command'), 80)}" + (
            f" (exit {code})" if code is not None else ""
        )
    if kind == "file_change":
        changes = item.get("changes")
        changes = changes if isinstance(changes, list) else []
        paths = [
            f"{c.get('kind', 'update')} {c.get('path')}" for c in changes if isinstance(c, Mapping)
        ]
        return "changed " + ", ".join(paths[:5]) if paths else "changed files"
    if kind == "mcp_tool_call":
        return f"tool {item.get('server')}.{item.get('tool')}"
    if kind == "error":
        return f"error: {head(item.get('message'))}"
    return ""


def codex_tokens_for_price(usage: Mapping[str, int]) -> dict[str, int]:
    """Codex tokens as the price table counts them: cached input apart from the rest
    (``input_tokens`` includes it); reasoning tokens are part of ``output_tokens`` already."""
    return {
        "input": max(usage.get("input", 0) - usage.get("cache_read", 0), 0),
        "cache_read": usage.get("cache_read", 0),
        "output": usage.get("output", 0),
    }


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


__all__ = [
    "Seen",
    "claude_event",
    "claude_tokens",
    "codex_event",
    "codex_tokens_for_price",
    "head",
]
