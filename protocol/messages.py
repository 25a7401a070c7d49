"""Read, check and edit ``INTER_AGENT_MESSAGES.md`` (docs/contract.md sec. 4).

A message is a block between two lines of exactly ``---`` that opens with ``KEY: value``
header lines; markdown after the headers is its body. Everything outside blocks is prose and
is ignored. Parsing never raises: a malformed block becomes a :class:`MessageError` with its
line, and a block still being written at the end of the text is left for the next parse.

Incremental use: :func:`parse_messages` accepts the file's tail with its absolute ``offset``
and ``line`` and returns ``end``/``end_line``, the point where the next parse of the same
file should start. Everything before ``end`` is settled: no text appended later can change
how it reads, so a parse resumed there sees exactly what a parse of the whole file sees.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from protocol._errors import (
    MESSAGES_FILE,
    EditConflictError,
    MessageError,
    UnterminatedBlockError,
)
from protocol._text import BOM, Lines, Span, detect_eol, replace_span

__all__ = [
    "MESSAGES_FILE",
    "MESSAGE_STATUSES",
    "MESSAGE_TYPES",
    "NEW_MESSAGES_FILE",
    "Message",
    "MessageBatch",
    "append_message",
    "block_start_before",
    "message_id",
    "open_block",
    "parse_messages",
    "render_message",
    "set_message_status",
]

MESSAGE_TYPES: tuple[str, ...] = ("Handoff", "Blocker", "Question", "Update", "Directive")
MESSAGE_STATUSES: tuple[str, ...] = ("Sent", "Acknowledged", "Resolved")
_REQUIRED = ("FROM", "TO", "TYPE", "TIMESTAMP", "STATUS")
_OPTIONAL = ("TASK", "PRIORITY", "DEADLINE", "MESSAGE")

NEW_MESSAGES_FILE = (
    "# Inter-Agent Messages\n"
    "\n"
    "Messages between the agents of `MULTI_AGENT_PLAN.md`, oldest first. Append new messages at\n"
    "the end; change only a message's `STATUS:` value.\n"
)

_TAIL_WINDOW = 1 << 14  # how far back from the end an append starts reading the log

_KNOWN_HEADERS = frozenset(_REQUIRED + _OPTIONAL)
_TYPES = {t.lower(): t for t in MESSAGE_TYPES}
_STATUSES = {s.lower(): s for s in MESSAGE_STATUSES}
_SPECIAL_RECIPIENTS = {"all": "All", "orchestrator": "Orchestrator"}

_HEADER_RE = re.compile(r"(?P<key>[A-Za-z][A-Za-z0-9_-]*)[ \t]*:(?P<value>.*)")
_FENCE_RE = re.compile(r" {0,3}(?P<marks>`{3,}|~{3,})(?P<info>.*)")
_STATUS_KEY_RE = re.compile(r"STATUS[ \t]*:", re.IGNORECASE)

_Fence = tuple[str, int]  # the fence character and how many of them opened it


@dataclass(frozen=True, slots=True)
class Message:
    """One well-formed message block, with the positions an editor needs."""

    sender: str  # FROM
    to: tuple[str, ...]  # TO split on commas; ``All`` and ``Orchestrator`` canonical
    type: str  # canonical, one of MESSAGE_TYPES
    timestamp: str  # as written
    status: str  # canonical, one of MESSAGE_STATUSES
    task: str | None
    priority: str | None
    deadline: str | None
    text: str | None  # the MESSAGE header
    body: str  # markdown after the headers, LF line endings, surrounding blank lines dropped
    headers: Mapping[str, str] = field(hash=False)  # every header as written, keys upper-cased
    span: Span  # opening ``---`` line start .. past the closing ``---`` line and its ending
    status_span: Span  # exactly the STATUS value as written
    id: str  # see message_id

    @property
    def line(self) -> int:
        """Line of the opening ``---``."""
        return self.span.line


@dataclass(frozen=True, slots=True)
class MessageBatch:
    """What one parse found, and where the next incremental parse starts."""

    messages: tuple[Message, ...]
    errors: tuple[MessageError, ...]
    end: int  # absolute offset past the last complete block (and the settled prose after it)
    end_line: int  # the line number at ``end``
    # A block opened (``---`` and a complete header line) but not closed by the end of the
    # text: from its opening line to the end. Still being written, or forgotten.
    unclosed: Span | None = None


def message_id(sender: str, timestamp: str, type: str, to: Sequence[str], body: str) -> str:
    """A stable identity: the same across restarts and STATUS changes.

    For a parsed message ``body`` is ``"MESSAGE: <text>\\n\\n<body>"`` when it has a MESSAGE
    header and the body alone otherwise, so the same words in the MESSAGE header or in the
    body give different ids.
    """
    recipients = ",".join(r.strip() for r in to)
    # Header values never hold a newline and the body comes last, so the join is unambiguous.
    key = "\n".join((sender.strip(), timestamp.strip(), type.strip(), recipients, body.strip()))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def parse_messages(
    text: str, *, offset: int = 0, line: int = 1, file: str = MESSAGES_FILE
) -> MessageBatch:
    """Read every complete message block of ``text``; cost is linear in ``len(text)``.

    ``text`` is the whole file or a tail of it that starts at a previous batch's ``end``;
    ``offset`` and ``line`` give the absolute position of ``text[0]`` and are added to every
    span, line and ``end``. A block without its closing ``---`` yet, and a last line without
    its line ending, are left unread: ``end`` stays before them. A closing ``---`` that ends
    the text without a line ending does close its block, because editors often save the
    last line without one.
    """
    lines = Lines(text)
    count = len(lines)
    last_done = text.endswith("\n")  # is the last line complete?
    messages: list[Message] = []
    errors: list[MessageError] = []
    unclosed: Span | None = None
    end, end_index = 0, 1  # relative offset and 1-based line index of the settled point

    def content(i: int) -> str:
        c = lines.content(i)
        return c[1:] if i == 1 and offset == 0 and c.startswith(BOM) else c

    i = 1
    while i <= count:
        if i == count and not last_done:
            break  # it may still grow into a '---' or a header line
        current = content(i)
        if _is_rule(current):
            nxt = i + 1
            if nxt > count or (nxt == count and not last_done):
                break  # whether this opens a block depends on a line not written yet
            if _opening_header(lines.content(nxt)):
                close = _find_close(lines, i)
                if close is None:  # unclosed: someone is still writing it (or forgot to)
                    unclosed = Span(offset + lines.start(i), offset + len(text), line + i - 1)
                    break
                found = _read_block(lines, i, close, offset=offset, line=line, file=file)
                if isinstance(found, Message):
                    messages.append(found)
                else:
                    errors.append(found)
                i = close + 1
                end = lines.next_start(close)
                end_index = i if close < count or last_done else close
                continue
        elif _is_orphan_from(current):
            errors.append(
                MessageError(
                    "FROM: header outside a message block: expected a '---' line right before it",
                    line=line + i - 1,
                    file=file,
                )
            )
        i += 1
        end, end_index = lines.next_start(i - 1), i
    return MessageBatch(
        tuple(messages), tuple(errors), offset + end, line + end_index - 1, unclosed
    )


def render_message(
    *,
    sender: str,
    to: str | Sequence[str],
    type: str,
    timestamp: str,
    status: str = "Sent",
    task: str | None = None,
    priority: str | None = None,
    deadline: str | None = None,
    text: str | None = None,
    body: str = "",
    eol: str = "\n",
) -> str:
    """The block from ``---`` to ``---`` plus ``eol``, headers in the example's order.

    Values are stripped, TYPE/STATUS and the ``All``/``Orchestrator`` recipients written in
    their canonical spelling, empty optional values left out, and the body's line endings
    and surrounding blank lines normalised, so parsing the result gives those values back.
    Raises ``ValueError`` for anything that would not read back the same: an unknown TYPE
    or STATUS, a date that is not ISO 8601, a newline in a header value, a body line ``---``
    outside a code fence, or a body that leaves a fence open.
    """
    if eol not in ("\n", "\r\n"):
        raise ValueError(f"eol must be '\\n' or '\\r\\n', got {eol!r}")
    recipients = _render_recipients(to)
    values: dict[str, str | None] = {
        "FROM": _one_line("FROM", sender),
        "TO": ", ".join(recipients),
        "TYPE": _canonical("TYPE", type, _TYPES),
        "TASK": _one_line("TASK", task),
        "TIMESTAMP": _one_line("TIMESTAMP", timestamp),
        "STATUS": _canonical("STATUS", status, _STATUSES),
        "PRIORITY": _one_line("PRIORITY", priority),
        "DEADLINE": _one_line("DEADLINE", deadline),
        "MESSAGE": _one_line("MESSAGE", text),
    }
    for key in ("FROM", "TIMESTAMP"):
        if not values[key]:
            raise ValueError(f"{key} must not be empty")
    for key in ("TIMESTAMP", "DEADLINE"):
        value = values[key]
        if value and not _is_iso(value):
            raise ValueError(f"{key} must be an ISO 8601 date-time, got {value!r}")
    body_lines = _body_lines(body)
    out = ["---", *(f"{k}: {v}" for k, v in values.items() if v)]
    if body_lines:
        out += ["", *body_lines]
    out.append("---")
    block = eol.join(out) + eol
    batch = parse_messages(block)
    if len(batch.messages) != 1 or batch.errors or batch.end != len(block):
        raise ValueError(f"the message does not read back as one message: {block!r}")
    return block


def append_message(text: str, block: str, *, before_open: bool = False) -> str:
    """``text`` with ``block`` appended after one blank line, in the file's line endings.

    The existing content is kept byte for byte; only a missing final line ending is added.
    ``block`` must read as exactly one complete message (as :func:`render_message` writes),
    else ``ValueError``: a broken block at the end of the log would stall every later one.

    When ``text`` ends in a block with no closing ``---`` (a last line without its line
    ending counts as written), the new block's opening ``---`` would close it:
    :class:`UnterminatedBlockError` names its line. With ``before_open`` the new block goes
    in just before that open block instead, which stays last and untouched.
    """
    eol = detect_eol(text) if "\n" in text else detect_eol(block)
    block = block.replace("\r\n", "\n")
    if not block.endswith("\n"):
        block += "\n"
    if eol != "\n":
        block = block.replace("\n", eol)
    batch = parse_messages(block)
    if len(batch.messages) != 1 or batch.errors or batch.end != len(block):
        raise ValueError(f"not exactly one complete message block: {block!r}")
    if text in ("", BOM):
        return text + block
    unclosed = open_block(text)
    if unclosed is not None:
        if not before_open:
            raise UnterminatedBlockError(line=unclosed.line)
        head, tail = text[: unclosed.start], text[unclosed.start :]
        if not head and tail.startswith(BOM):
            head, tail = BOM, tail[1:]  # the BOM stays the file's first character
        return append_message(head, block) + eol + tail
    if not text.endswith("\n"):
        text += eol
    last = text[: -len(eol)] if text.endswith(eol) else text[:-1]
    last = last[last.rfind("\n") + 1 :]
    separator = "" if last.strip() == "" else eol
    return text + separator + block


def block_start_before(text: str, pos: int) -> int | None:
    """Where the last block opening (a ``---`` line and a ``FROM:`` line) before ``pos``
    begins: a point to start reading again from when the exact resume point is lost.

    A block shown inside another's code fence could be taken for one, so callers pick
    ``pos`` well before the place they care about.
    """
    at = text.rfind("\n---\nFROM:", 0, max(0, pos))
    return None if at == -1 else at + 1


def open_block(text: str) -> Span | None:
    """The block left open at the end of ``text`` read as a finished file (its last line
    complete even without a line ending), from its opening ``---`` to the end.

    Only the tail is read, from a block opening well before the end, so a long log costs no
    more than a short one.
    """
    start = block_start_before(text, len(text) - _TAIL_WINDOW) or 0
    tail = text[start:]
    if not tail.endswith("\n"):
        tail += "\n"  # nothing more is coming: the last line is as complete as it gets
    line = text.count("\n", 0, start) + 1
    found = parse_messages(tail, offset=start, line=line).unclosed
    return None if found is None else Span(found.start, len(text), found.line)


def set_message_status(text: str, message: Message, status: str) -> str:
    """``text`` with only the bytes of ``message``'s STATUS value replaced by ``status``.

    The value is written in its canonical spelling; an unknown status is a ``ValueError``.
    Raises :class:`EditConflictError` when the text no longer holds the value parsed into
    ``message`` at ``message.status_span`` (the caller must re-read). Setting the status a
    second time with the same ``message`` returns the text unchanged, so a retried write is
    harmless.
    """
    new = _canonical("STATUS", status, _STATUSES)
    span = message.status_span
    current = _status_value_at(text, span.start)
    if current == new:
        return text
    expected = message.headers.get("STATUS", message.status)
    if current != expected:
        found = "no STATUS header" if current is None else repr(current)
        raise EditConflictError(
            f"STATUS of message {message.id}: expected {expected!r} at line {span.line}, "
            f"found {found}",
            line=span.line,
            file=MESSAGES_FILE,
        )
    return replace_span(text, span, expected, new, what=f"STATUS of message {message.id}")


# --- reading -------------------------------------------------------------------------------


def _is_rule(content: str) -> bool:
    """A line of exactly ``---``; trailing blanks and a stray CR are tolerated."""
    return content[:3] == "---" and content.rstrip(" \t\r") == "---"


def _header(content: str) -> tuple[str, re.Match[str]] | None:
    """``(KEY, match)`` when the line is a header: a known key in any case, or any ALL-CAPS key.

    Other ``Word: text`` lines read as body, so a body starting with ``Note: …`` stays body.
    """
    m = _HEADER_RE.fullmatch(content)
    if m is None:
        return None
    key = m["key"]
    upper = key.upper()
    return (upper, m) if upper in _KNOWN_HEADERS or key == upper else None


def _opening_header(content: str) -> bool:
    """Only a known header opens a block, so a horizontal rule before ``TODO: …`` stays prose."""
    found = _header(content)
    return found is not None and found[0] in _KNOWN_HEADERS


def _is_orphan_from(content: str) -> bool:
    """A ``FROM:`` line in prose: most likely a message whose opening ``---`` went missing."""
    m = _HEADER_RE.fullmatch(content) if content.startswith("FROM") else None
    return m is not None and m["key"] == "FROM"


def _fence_step(fence: _Fence | None, content: str) -> _Fence | None:
    """The fence open after ``content``, given the one open before it (CommonMark rules)."""
    m = _FENCE_RE.fullmatch(content)
    if m is None:
        return fence
    marks, info = m["marks"], m["info"]
    if fence is None:
        if marks[0] == "`" and "`" in info:
            return None  # an inline code span, not a fence
        return (marks[0], len(marks))
    if marks[0] == fence[0] and len(marks) >= fence[1] and not info.strip():
        return None
    return fence


def _find_close(lines: Lines, opening: int) -> int | None:
    """The line of the ``---`` that closes the block opened at ``opening``, outside fences."""
    fence: _Fence | None = None
    for k in range(opening + 1, len(lines) + 1):
        content = lines.content(k)
        if fence is None and _is_rule(content):
            return k
        fence = _fence_step(fence, content)
    return None


def _read_block(
    lines: Lines, opening: int, close: int, *, offset: int, line: int, file: str
) -> Message | MessageError:
    """Check the block between lines ``opening`` and ``close`` and build its message."""

    def err(reason: str, index: int) -> MessageError:
        return MessageError(reason, line=line + index - 1, file=file)

    headers: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    status_span: Span | None = None
    problem: MessageError | None = None
    k = opening + 1
    while k < close:
        content = lines.content(k)
        found = _header(content)
        if found is None:
            break
        key, m = found
        raw = m["value"]
        value = raw.strip()
        if problem is None:
            reason = _check_header(key, value, first_seen, line)
            problem = None if reason is None else err(reason, k)
        if key == "STATUS" and status_span is None:
            col = m.start("value") + len(raw) - len(raw.lstrip())
            status_span = Span(
                offset + lines.start(k) + col,
                offset + lines.start(k) + col + len(value),
                line + k - 1,
                col,
            )
        first_seen.setdefault(key, k)
        headers.setdefault(key, value)
        k += 1
    if problem is not None:
        return problem
    missing = [h for h in _REQUIRED if h not in headers]
    if missing:
        return err(
            f"message block is missing {', '.join(missing)}: expected FROM, TO, TYPE, "
            "TIMESTAMP and STATUS headers after the opening '---'",
            opening,
        )
    assert status_span is not None  # STATUS is required, so its span was taken
    body = _normalise_body([lines.content(j) for j in range(k, close)])
    text = headers.get("MESSAGE") or None
    to = _recipients(headers["TO"])
    type_ = _TYPES[headers["TYPE"].lower()]
    return Message(
        sender=headers["FROM"],
        to=to,
        type=type_,
        timestamp=headers["TIMESTAMP"],
        status=_STATUSES[headers["STATUS"].lower()],
        task=headers.get("TASK") or None,
        priority=headers.get("PRIORITY") or None,
        deadline=headers.get("DEADLINE") or None,
        text=text,
        body=body,
        headers=MappingProxyType(headers),
        span=Span(
            offset + lines.start(opening), offset + lines.next_start(close), line + opening - 1
        ),
        status_span=status_span,
        id=message_id(headers["FROM"], headers["TIMESTAMP"], type_, to, _id_body(text, body)),
    )


def _check_header(key: str, value: str, first_seen: Mapping[str, int], line: int) -> str | None:
    """What is wrong with one header line, if anything."""
    if key in first_seen:
        return f"duplicate header {key}: first given at line {line + first_seen[key] - 1}"
    if key in _REQUIRED and not value:
        return f"{key} is empty: expected a value"
    if key == "TYPE" and value.lower() not in _TYPES:
        return f"TYPE is {value!r}: expected one of {', '.join(MESSAGE_TYPES)}"
    if key == "STATUS" and value.lower() not in _STATUSES:
        return f"STATUS is {value!r}: expected one of {', '.join(MESSAGE_STATUSES)}"
    if key in ("TIMESTAMP", "DEADLINE") and value and not _is_iso(value):
        return f"{key} is {value!r}: expected an ISO 8601 date-time such as 2025-12-13T10:02:00Z"
    if key == "TO" and not _recipients(value):
        return f"TO is {value!r}: expected agent ids, All or Orchestrator separated by commas"
    return None


def _is_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        return False
    return True


def _id_body(text: str | None, body: str) -> str:
    return f"MESSAGE: {text}\n\n{body}" if text else body


def _recipients(value: str) -> tuple[str, ...]:
    names = (part.strip() for part in value.split(","))
    return tuple(_SPECIAL_RECIPIENTS.get(n.lower(), n) for n in names if n)


def _normalise_body(lines: list[str]) -> str:
    start, stop = 0, len(lines)
    while start < stop and not lines[start].strip():
        start += 1
    while stop > start and not lines[stop - 1].strip():
        stop -= 1
    return "\n".join(lines[start:stop])


def _status_value_at(text: str, start: int) -> str | None:
    """The STATUS value starting at ``start``, or None when no STATUS header value starts there."""
    if not 0 <= start <= len(text):
        return None
    line_start = text.rfind("\n", 0, start) + 1
    if not _STATUS_KEY_RE.fullmatch(text[line_start:start].rstrip()):
        return None
    line_end = text.find("\n", start)
    return text[start : len(text) if line_end < 0 else line_end].strip()


# --- writing -------------------------------------------------------------------------------


def _canonical(key: str, value: str, allowed: Mapping[str, str]) -> str:
    canonical = allowed.get(value.strip().lower())
    if canonical is None:
        raise ValueError(f"{key} {value!r} is not one of {', '.join(allowed.values())}")
    return canonical


def _one_line(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    if "\n" in value or "\r" in value:
        raise ValueError(f"{key} must be a single line, got {value!r}")
    return value.strip() or None


def _render_recipients(to: str | Sequence[str]) -> list[str]:
    parts = to.split(",") if isinstance(to, str) else list(to)
    out: list[str] = []
    for part in parts:
        name = _one_line("TO", part)
        if not name or "," in name:
            raise ValueError(f"TO must list non-empty recipients without commas, got {to!r}")
        out.append(_SPECIAL_RECIPIENTS.get(name.lower(), name))
    if not out:
        raise ValueError("TO must name at least one recipient")
    return out


def _body_lines(body: str) -> list[str]:
    """The body's lines as they will be written, after checking it cannot end the block."""
    normalised = _normalise_body(body.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    if not normalised:
        return []
    lines = normalised.split("\n")
    fence: _Fence | None = None
    for number, content in enumerate(lines, 1):
        if fence is None and _is_rule(content):
            raise ValueError(
                f"body line {number} is '---', which would close the message; "
                "indent it, put it in a code fence or use '***'"
            )
        fence = _fence_step(fence, content)
    if fence is not None:
        raise ValueError(
            f"body leaves a {fence[0] * fence[1]} code fence open: the message would never end"
        )
    return lines
