"""Properties of the message log over generated logs: edits stay in place, parsing is stable."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol._errors import EditConflictError
from protocol._text import Span
from protocol.messages import (
    MESSAGE_STATUSES,
    MESSAGE_TYPES,
    Message,
    append_message,
    parse_messages,
    render_message,
    set_message_status,
)

FIELDS = ("sender", "to", "type", "timestamp", "status", "task", "priority", "deadline", "text")

_agents = st.sampled_from(["architect-001", "builder-jwt-001", "tester-7"]) | st.from_regex(
    r"[a-z][a-z0-9-]{0,10}", fullmatch=True
)
_recipients = st.lists(_agents | st.sampled_from(["All", "Orchestrator"]), min_size=1, max_size=3)
# Header values: any one-line text, including colons, dashes and non-ASCII.
_one_line = (
    st.text(
        alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)
_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=_zones
).map(lambda d: d.isoformat().replace("+00:00", "Z"))
# Body lines that are plain markdown: never a '---' line nor a code fence marker.
_plain = _one_line.filter(lambda s: not s.lstrip().startswith(("---", "```", "~~~")))
_fenced = st.lists(
    st.sampled_from(["---", "FROM: x", "STATUS: Sent", "~~~", "code()", ""]), max_size=4
).map(lambda inner: ["```text", *inner, "```"])
_body_parts = st.lists(
    st.one_of(
        _plain.map(lambda s: [s]),
        st.just([""]),
        st.sampled_from([["**Deliverables:**"], ["- [x] done"], ["> quoted"], ["***"]]),
        _fenced,
    ),
    max_size=6,
)
_prose_line = st.sampled_from(
    ["", "Some prose.", "## Day 2", "***", "---", "Note: not a header", "   ", "- a list item"]
)


def _body(parts: list[list[str]]) -> str:
    lines = [line for part in parts for line in part]
    while lines and lines[0] == "":
        lines.pop(0)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines)


@st.composite
def message_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for render_message, already in the form parsing gives back."""
    return {
        "sender": draw(_agents),
        "to": tuple(draw(_recipients)),
        "type": draw(st.sampled_from(MESSAGE_TYPES)),
        "timestamp": draw(_times),
        "status": draw(st.sampled_from(MESSAGE_STATUSES)),
        "task": draw(st.none() | st.from_regex(r"T[1-9][0-9]?", fullmatch=True)),
        "priority": draw(st.none() | st.sampled_from(["Low", "Medium", "High"])),
        "deadline": draw(st.none() | _times),
        "text": draw(st.none() | _one_line),
        "body": draw(_body_parts.map(_body)),
    }


@dataclass(frozen=True)
class Log:
    text: str
    specs: tuple[dict[str, Any], ...]
    eol: str


@st.composite
def logs(draw: st.DrawFn, min_size: int = 1) -> Log:
    """A valid message log: a title, prose between messages, LF or CRLF, maybe a BOM."""
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    specs = tuple(draw(st.lists(message_specs(), min_size=min_size, max_size=5)))
    out = [draw(st.sampled_from(["", "\ufeff"])), f"# Inter-Agent Messages{eol}{eol}"]
    for spec in specs:
        out += [line + eol for line in draw(st.lists(_prose_line, max_size=3))]
        out.append(render_message(**spec, eol=eol))
    out += [line + eol for line in draw(st.lists(_prose_line, max_size=3))]
    return Log("".join(out), specs, eol)


def fields(m: Message) -> dict[str, Any]:
    return {**{f: getattr(m, f) for f in FIELDS}, "body": m.body}


def shifted(m: Message, delta: int) -> Message:
    """``m`` as it reads after an edit of ``delta`` characters earlier in the file."""

    def move(s: Span) -> Span:
        return s._replace(start=s.start + delta, end=s.end + delta)

    return dataclasses.replace(m, span=move(m.span), status_span=move(m.status_span))


@settings(deadline=None, max_examples=100)
@given(logs())
def test_parse_reads_back_every_rendered_message(log: Log) -> None:
    """parse(render(x)) gives x back for every message of a generated log, with no errors."""
    batch = parse_messages(log.text)
    assert batch.errors == ()
    assert [fields(m) for m in batch.messages] == list(log.specs)
    assert batch.messages[-1].span.end <= batch.end <= len(log.text)


@settings(deadline=None, max_examples=100)
@given(logs(), st.data())
def test_status_edit_changes_only_the_status_value(log: Log, data: st.DataObject) -> None:
    """set_message_status changes no byte outside the message's status_span."""
    messages = parse_messages(log.text).messages
    m = data.draw(st.sampled_from(messages))
    status = data.draw(st.sampled_from(MESSAGE_STATUSES))
    new = set_message_status(log.text, m, status)
    start, end = m.status_span.start, m.status_span.end
    assert new == log.text[:start] + status + log.text[end:]


@settings(deadline=None, max_examples=100)
@given(logs(), st.data())
def test_status_edit_twice_is_once(log: Log, data: st.DataObject) -> None:
    """The same status edit twice, with the old or a fresh parse, is the same as once."""
    messages = parse_messages(log.text).messages
    index = data.draw(st.integers(0, len(messages) - 1))
    status = data.draw(st.sampled_from(MESSAGE_STATUSES))
    once = set_message_status(log.text, messages[index], status)
    assert set_message_status(once, messages[index], status) == once
    assert set_message_status(once, parse_messages(once).messages[index], status) == once


@settings(deadline=None, max_examples=100)
@given(logs(), st.data())
def test_parse_after_edit_sees_exactly_the_edit(log: Log, data: st.DataObject) -> None:
    """After a status edit the log reads the same but for that status; later spans shift."""
    before = parse_messages(log.text)
    index = data.draw(st.integers(0, len(before.messages) - 1))
    status = data.draw(st.sampled_from(MESSAGE_STATUSES))
    target = before.messages[index]
    after = parse_messages(set_message_status(log.text, target, status))
    delta = len(status) - len(target.status)
    status_span = target.status_span._replace(end=target.status_span.end + delta)
    expected = [
        *before.messages[:index],
        dataclasses.replace(
            target,
            status=status,
            headers={**target.headers, "STATUS": status},
            span=target.span._replace(end=target.span.end + delta),
            status_span=status_span,
        ),
        *(shifted(m, delta) for m in before.messages[index + 1 :]),
    ]
    assert list(after.messages) == expected
    assert (after.errors, after.end) == ((), before.end + delta)


@settings(deadline=None, max_examples=100)
@given(logs(), st.data())
def test_edit_against_stale_text_conflicts(log: Log, data: st.DataObject) -> None:
    """When the STATUS value changed underneath, an edit computed on the old parse is refused."""
    messages = parse_messages(log.text).messages
    m = data.draw(st.sampled_from(messages))
    underneath = data.draw(st.sampled_from([s for s in MESSAGE_STATUSES if s != m.status]))
    changed = set_message_status(
        log.text, parse_messages(log.text).messages[messages.index(m)], underneath
    )
    wanted = data.draw(st.sampled_from([s for s in MESSAGE_STATUSES if s != underneath]))
    with pytest.raises(EditConflictError):
        set_message_status(changed, m, wanted)


@settings(deadline=None, max_examples=100)
@given(logs(min_size=0), message_specs())
def test_append_then_parse(log: Log, spec: dict[str, Any]) -> None:
    """After append_message the log reads as the old messages, unchanged, plus the new one."""
    before = parse_messages(log.text).messages
    new = append_message(log.text, render_message(**spec))
    assert new.startswith(log.text)
    after = parse_messages(new)
    assert after.errors == ()
    assert after.messages[:-1] == before
    assert fields(after.messages[-1]) == spec
    assert after.end == len(new)
    assert after.messages[-1].span.slice(new).endswith("---" + log.eol)


@settings(deadline=None, max_examples=100)
@given(logs(), st.lists(st.sampled_from(MESSAGE_STATUSES), min_size=1, max_size=4), st.data())
def test_ids_survive_status_edits(log: Log, statuses: list[str], data: st.DataObject) -> None:
    """Message ids do not change however often statuses are edited."""
    ids = [m.id for m in parse_messages(log.text).messages]
    text = log.text
    for status in statuses:
        messages = parse_messages(text).messages
        text = set_message_status(text, data.draw(st.sampled_from(messages)), status)
    assert [m.id for m in parse_messages(text).messages] == ids


@settings(deadline=None, max_examples=100)
@given(logs(), st.data())
def test_incremental_at_a_block_boundary_matches_full(log: Log, data: st.DataObject) -> None:
    """Parsing to a block boundary, then on from its end, gives the full parse's messages."""
    full = parse_messages(log.text)
    m = data.draw(st.sampled_from(full.messages))
    cut = data.draw(st.sampled_from([m.span.start, m.span.end]))
    head = parse_messages(log.text[:cut])
    tail = parse_messages(log.text[head.end :], offset=head.end, line=head.end_line)
    assert head.messages + tail.messages == full.messages
    assert (tail.end, tail.end_line) == (full.end, full.end_line)


@settings(deadline=None, max_examples=20)
@given(logs())
def test_one_character_at_a_time(log: Log) -> None:
    """Fed a character at a time, a generated log yields exactly its messages and no errors."""
    full = parse_messages(log.text)
    seen: list[Message] = []
    end, line = 0, 1
    for cut in range(1, len(log.text) + 1):
        batch = parse_messages(log.text[end:cut], offset=end, line=line)
        assert batch.errors == ()
        seen += batch.messages
        end, line = batch.end, batch.end_line
    assert [m.id for m in seen] == [m.id for m in full.messages]
    assert [m.status_span for m in seen] == [m.status_span for m in full.messages]
    assert (end, line) == (full.end, full.end_line)


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=400))
def test_any_bytes_parse_without_raising(raw: bytes) -> None:
    """Any bytes decoded with errors='replace' parse; spans and end stay inside the text."""
    text = raw.decode("utf-8", errors="replace")
    batch = parse_messages(text, offset=7, line=3)
    assert 7 <= batch.end <= 7 + len(text)
    for m in batch.messages:
        assert 7 <= m.span.start < m.span.end <= 7 + len(text)
