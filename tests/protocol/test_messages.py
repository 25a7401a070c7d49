"""Reading, writing and editing the message log: the example file, broken and partial input."""

from __future__ import annotations

import ast
import dataclasses
import random
import re
from pathlib import Path

import pytest

import protocol.messages
from protocol._errors import EditConflictError, MessageError, UnterminatedBlockError
from protocol._text import Span
from protocol.messages import (
    MESSAGE_STATUSES,
    MESSAGE_TYPES,
    NEW_MESSAGES_FILE,
    Message,
    MessageBatch,
    append_message,
    message_id,
    parse_messages,
    render_message,
    set_message_status,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "messages"
EXAMPLE = (FIXTURES / "example.md").read_text(encoding="utf-8")
MALFORMED = (FIXTURES / "malformed.md").read_text(encoding="utf-8")

GOOD = (
    "---\n"
    "FROM: builder-z\n"
    "TO: Orchestrator\n"
    "TYPE: Update\n"
    "TIMESTAMP: 2025-12-13T12:00:00Z\n"
    "STATUS: Sent\n"
    "MESSAGE: still here\n"
    "---\n"
)


def block(*headers: str, body: str = "") -> str:
    """A message block with the given header lines and an optional body."""
    tail = f"\n{body}\n" if body else ""
    return "---\n" + "".join(f"{h}\n" for h in headers) + tail + "---\n"


def valid_headers(**change: str | None) -> list[str]:
    """The header lines of a good message, with some values replaced or (None) dropped."""
    values: dict[str, str | None] = {
        "FROM": "builder-a",
        "TO": "Orchestrator",
        "TYPE": "Update",
        "TIMESTAMP": "2025-12-13T10:00:00Z",
        "STATUS": "Sent",
    }
    values.update(change)
    return [f"{k}: {v}" for k, v in values.items() if v is not None]


def incremental(text: str, cuts: list[int]) -> tuple[list[Message], list[MessageError], int]:
    """Parse ``text`` as the daemon does: each time more has arrived, only from ``end`` on."""
    messages: list[Message] = []
    errors: list[MessageError] = []
    end, end_line = 0, 1
    for cut in [*cuts, len(text)]:
        batch = parse_messages(text[end:cut], offset=end, line=end_line)
        messages += batch.messages
        errors += batch.errors
        assert end <= batch.end <= cut
        end, end_line = batch.end, batch.end_line
    return messages, errors, end


# --- the example ---------------------------------------------------------------------------


def test_example_reads_as_four_messages() -> None:
    """The example file reads as its four messages, with no errors and nothing left over."""
    batch = parse_messages(EXAMPLE)
    assert batch.errors == ()
    assert [m.type for m in batch.messages] == ["Handoff", "Question", "Directive", "Blocker"]
    assert [m.status for m in batch.messages] == [
        "Acknowledged",
        "Resolved",
        "Acknowledged",
        "Sent",
    ]
    assert [m.line for m in batch.messages] == [6, 33, 44, 54]
    assert batch.end == len(EXAMPLE)
    assert batch.end_line == EXAMPLE.count("\n") + 1


def test_example_handoff_fields() -> None:
    """The handoff has three recipients, its task, and the markdown after the headers as body."""
    handoff = parse_messages(EXAMPLE).messages[0]
    assert handoff.sender == "architect-001"
    assert handoff.to == ("builder-oauth-001", "builder-jwt-001", "builder-session-001")
    assert (handoff.task, handoff.timestamp) == ("T1", "2025-12-13T10:02:00Z")
    assert (handoff.priority, handoff.deadline, handoff.text) == (None, None, None)
    assert handoff.body.startswith("**Deliverables:**\n- Branch: feature/auth-arch\n")
    assert "- [x] Tests passing (12/12 tests)" in handoff.body
    assert handoff.body.endswith("@api/contracts.yaml:14 (login contract)")
    assert handoff.headers["TO"] == "builder-oauth-001, builder-jwt-001, builder-session-001"


def test_example_blocker_fields() -> None:
    """The blocker carries PRIORITY, DEADLINE and its MESSAGE text, and has no body."""
    blocker = parse_messages(EXAMPLE).messages[3]
    assert blocker.sender == "builder-jwt-001"
    assert blocker.to == ("Orchestrator",)
    assert (blocker.priority, blocker.deadline) == ("High", "2025-12-13T16:15:00Z")
    assert blocker.text is not None
    assert blocker.text.startswith("JWT library has a known bug with ES256 signatures.")
    assert blocker.body == ""


def test_example_spans() -> None:
    """A span runs from the opening '---' to past the closing one; status_span is the value."""
    for m in parse_messages(EXAMPLE).messages:
        assert m.span.slice(EXAMPLE).startswith("---\nFROM: ")
        assert m.span.slice(EXAMPLE).endswith("\n---\n")
        assert m.status_span.slice(EXAMPLE) == m.status
        assert EXAMPLE[: m.status_span.start].endswith("STATUS: ")
        assert m.status_span.line == EXAMPLE.count("\n", 0, m.status_span.start) + 1


def test_example_rerenders_byte_for_byte() -> None:
    """render_message given an example message's fields writes exactly that block."""
    for m in parse_messages(EXAMPLE).messages:
        again = render_message(
            sender=m.sender,
            to=m.to,
            type=m.type,
            timestamp=m.timestamp,
            status=m.status,
            task=m.task,
            priority=m.priority,
            deadline=m.deadline,
            text=m.text,
            body=m.body,
        )
        assert again == m.span.slice(EXAMPLE)


def test_new_file_has_no_messages() -> None:
    """The starter text is all prose: no messages, no errors, all of it settled."""
    batch = parse_messages(NEW_MESSAGES_FILE)
    assert batch == MessageBatch((), (), len(NEW_MESSAGES_FILE), NEW_MESSAGES_FILE.count("\n") + 1)
    assert NEW_MESSAGES_FILE.startswith("# Inter-Agent Messages\n")


# --- what is and is not a block ------------------------------------------------------------


def test_horizontal_rules_are_prose() -> None:
    """A '---' line not followed by a header line is a horizontal rule, not a message."""
    text = "# Log\n\n---\n\nSome text.\n---\nNote: a rule before a paragraph\n---\n" + GOOD
    batch = parse_messages(text)
    assert batch.errors == ()
    assert [m.text for m in batch.messages] == ["still here"]


def test_rule_with_trailing_spaces_and_case_insensitive_values() -> None:
    """'---  ' lines delimit blocks, and TYPE/STATUS in any case are stored canonical."""
    text = (
        "---  \nFROM: a\nTO: all, ORCHESTRATOR\nType: directive\nTIMESTAMP: 2025-12-13\n"
        "status: resolved\n--- \t\n"
    )
    (m,) = parse_messages(text).messages
    assert (m.type, m.status, m.to) == ("Directive", "Resolved", ("All", "Orchestrator"))
    assert m.headers["STATUS"] == "resolved"
    assert m.status_span.slice(text) == "resolved"


def test_fenced_rule_does_not_close_the_block() -> None:
    """Inside ``` or ~~~ fences, '---' and header lines are body, not the end of the message."""
    body = "Example:\n```markdown\n---\nFROM: x\n---\n```\n~~~~\n---\n~~~\n---x\n~~~~\nend"
    text = block(*valid_headers(), body=body) + GOOD
    first, second = parse_messages(text).messages
    assert first.body == body
    assert second.text == "still here"


def test_body_may_follow_headers_without_blank_line() -> None:
    """The first line that is not a header starts the body, blank separator or not."""
    text = block(*valid_headers(), "Note: this line is body", "MORE: but this is a header")
    (m,) = parse_messages(text).messages
    assert m.body == "Note: this line is body\nMORE: but this is a header"
    assert "MORE" not in m.headers


def test_unknown_all_caps_headers_are_kept() -> None:
    """An extra ALL-CAPS header is recorded in headers and does not spill into the body."""
    text = block(*valid_headers(), "REPLY-TO: lead-001", body="hello")
    (m,) = parse_messages(text).messages
    assert m.headers["REPLY-TO"] == "lead-001"
    assert m.body == "hello"


def test_closing_rule_without_final_newline_closes() -> None:
    """A file saved without a final newline still has its last message read."""
    text = GOOD.rstrip("\n")
    batch = parse_messages(text)
    assert [m.text for m in batch.messages] == ["still here"]
    assert (batch.end, batch.end_line) == (len(text), text.count("\n") + 1)
    assert batch.messages[0].span.end == len(text)


# --- malformed blocks ----------------------------------------------------------------------


def test_malformed_fixture_reports_each_block_and_reads_the_rest() -> None:
    """Each broken block is one error at its line, and every good block after it is read."""
    batch = parse_messages(MALFORMED, file="msgs.md")
    assert [(e.line, e.file) for e in batch.errors] == [
        (5, "msgs.md"),
        (25, "msgs.md"),
        (44, "msgs.md"),
        (60, "msgs.md"),
        (79, "msgs.md"),
        (97, "msgs.md"),
        (109, "msgs.md"),
    ]
    reasons = [e.reason for e in batch.errors]
    assert "missing STATUS" in reasons[0]
    assert reasons[1].startswith("TYPE is 'Complaint'")
    assert reasons[2].startswith("STATUS is 'Pending'")
    assert reasons[3].startswith("TIMESTAMP is 'yesterday at noon'")
    assert reasons[4] == "duplicate header STATUS: first given at line 78"
    assert reasons[5].startswith("DEADLINE is 'soon'")
    assert "outside a message block" in reasons[6]
    assert str(batch.errors[1]).startswith("msgs.md:25: TYPE is 'Complaint'")
    assert [m.text for m in batch.messages] == [f"good {i}" for i in range(1, 8)]
    assert batch.end == len(MALFORMED)


@pytest.mark.parametrize(
    ("headers", "line", "fragment"),
    [
        (valid_headers(FROM=None), 1, "missing FROM"),
        (valid_headers(TO=None, TIMESTAMP=None), 1, "missing TO, TIMESTAMP"),
        (valid_headers(FROM=""), 2, "FROM is empty"),
        (valid_headers(TO=" , ,"), 3, "TO is"),
        (valid_headers(TYPE="Memo"), 4, "TYPE is 'Memo'"),
        (valid_headers(STATUS="Done"), 6, "STATUS is 'Done'"),
        (valid_headers(TIMESTAMP="2025-13-45T10:00"), 5, "ISO 8601"),
        ([*valid_headers(), "DEADLINE: tomorrow"], 7, "DEADLINE is 'tomorrow'"),
        ([*valid_headers(), "from: b"], 7, "duplicate header FROM"),
        ([*valid_headers(), "NOTE: x", "NOTE: y"], 8, "duplicate header NOTE"),
    ],
)
def test_each_malformed_kind(headers: list[str], line: int, fragment: str) -> None:
    """A broken block is reported at its bad header (or opening line); the next block is read."""
    text = block(*headers) + "\n" + GOOD
    batch = parse_messages(text, offset=100, line=11)
    (error,) = batch.errors
    assert error.line == line + 10
    assert fragment in error.reason
    assert [m.text for m in batch.messages] == ["still here"]
    assert batch.end == 100 + len(text)


def test_missing_opening_rule_is_reported() -> None:
    """A FROM: line in prose (its '---' went missing) is reported once, at that line."""
    text = "# Log\n\nFROM: lost\nTO: x\n---\n\n" + GOOD
    batch = parse_messages(text)
    assert [e.line for e in batch.errors] == [3]
    assert [m.text for m in batch.messages] == ["still here"]


# --- partial text and incremental parsing ---------------------------------------------------


def test_unclosed_tail_is_left_for_later() -> None:
    """A block still being written is neither a message nor an error, and end stays before it."""
    extra = block(*valid_headers(), body="A long body\nbeing typed")
    partial = EXAMPLE + "\n" + extra[: extra.index("being")]
    batch = parse_messages(partial)
    assert (len(batch.messages), batch.errors) == (4, ())
    opening = len(EXAMPLE) + 1  # the blank line before it is settled prose
    assert partial[opening:].startswith("---\nFROM: builder-a")
    assert (batch.end, batch.end_line) == (opening, EXAMPLE.count("\n") + 2)
    full = EXAMPLE + "\n" + extra
    rest = parse_messages(full[batch.end :], offset=batch.end, line=batch.end_line)
    (new,) = rest.messages
    assert new.body == "A long body\nbeing typed"
    assert new == parse_messages(full).messages[4]
    assert rest.end == len(full)


@pytest.mark.parametrize(
    "tail",
    ["---", "---\n", "---\nFROM: a", "---\nFR", "prose without newline", "FROM: a"],
)
def test_undecided_last_lines_are_not_consumed(tail: str) -> None:
    """A last line, or a '---' whose next line is unfinished, is left unread until it completes."""
    batch = parse_messages(EXAMPLE + "\n" + tail)
    assert (len(batch.messages), batch.errors) == (4, ())
    assert batch.end == len(EXAMPLE) + 1


def test_incremental_at_every_block_boundary_matches_full_parse() -> None:
    """Parsing to any block boundary, then the rest, gives the full parse's messages and spans."""
    text = EXAMPLE + "\n" + MALFORMED
    full = parse_messages(text)
    for m in full.messages:
        for cut in (m.span.start, m.span.end):
            messages, errors, end = incremental(text, [cut])
            assert messages == list(full.messages)
            assert errors == list(full.errors)
            assert end == full.end


def test_one_character_at_a_time() -> None:
    """Fed a character at a time, the parser never fails and yields only the full parse's messages.

    A closing '---' that ends the text so far closes its block, so such a message's span may
    stop before the closing line's line ending; everything else must match.
    """
    text = EXAMPLE + "\n" + block(*valid_headers(), body="```\n---\nFROM: x\n```")
    full = parse_messages(text)
    messages, errors, end = incremental(text, list(range(len(text))))
    assert errors == []
    assert end == full.end

    def settled(m: Message) -> Message:
        return dataclasses.replace(m, span=Span(m.span.start, 0, m.span.line))

    assert [settled(m) for m in messages] == [settled(m) for m in full.messages]
    for got, want in zip(messages, full.messages, strict=True):
        assert text[got.span.end : want.span.end].strip() == ""


def test_one_character_at_a_time_through_malformed_blocks() -> None:
    """Broken blocks fed a character at a time are reported exactly as a full parse reports them."""
    messages, errors, _ = incremental(MALFORMED, list(range(len(MALFORMED))))
    full = parse_messages(MALFORMED)
    assert [m.id for m in messages] == [m.id for m in full.messages]
    assert errors == list(full.errors)


# --- odd input -----------------------------------------------------------------------------


def test_crlf_file() -> None:
    """A CRLF file reads as the same messages, bodies with LF, spans over the CRLF text."""
    crlf = EXAMPLE.replace("\n", "\r\n")
    lf_messages = parse_messages(EXAMPLE).messages
    batch = parse_messages(crlf)
    assert batch.errors == ()
    assert [m.id for m in batch.messages] == [m.id for m in lf_messages]
    assert [m.body for m in batch.messages] == [m.body for m in lf_messages]
    for m in batch.messages:
        assert m.span.slice(crlf).endswith("\r\n---\r\n")
        assert m.status_span.slice(crlf) == m.status
    assert batch.end == len(crlf)
    edited = set_message_status(crlf, batch.messages[3], "Resolved")
    assert edited == crlf.replace("STATUS: Sent\r\n", "STATUS: Resolved\r\n")


def test_bom_at_start() -> None:
    """A leading BOM is part of line 1: messages read the same, spans shift by one."""
    with_bom = "\ufeff" + EXAMPLE
    batch = parse_messages(with_bom)
    plain = parse_messages(EXAMPLE)
    assert [m.id for m in batch.messages] == [m.id for m in plain.messages]
    assert [m.span.start for m in batch.messages] == [m.span.start + 1 for m in plain.messages]
    assert [m.line for m in batch.messages] == [m.line for m in plain.messages]
    (m,) = parse_messages("\ufeff" + GOOD).messages
    assert m.span.start == 0
    assert m.status_span.slice("\ufeff" + GOOD) == "Sent"


def test_two_megabyte_single_line() -> None:
    """A 2 MB line as prose, as body or as a header value is read without error."""
    big = "x" * (2 * 1024 * 1024)
    assert parse_messages(big + "\n" + GOOD).messages[0].text == "still here"
    assert parse_messages(big) == MessageBatch((), (), 0, 1)
    (m,) = parse_messages(block(*valid_headers(), body=big)).messages
    assert len(m.body) == len(big)
    (m,) = parse_messages(block(*valid_headers(), f"MESSAGE: {big}")).messages
    assert m.text == big
    dashes = "-" * (2 * 1024 * 1024)
    assert parse_messages(f"{dashes}\n{GOOD}").messages[0].text == "still here"


def test_random_bytes_never_raise() -> None:
    """Random bytes decoded with errors='replace' parse to values whose spans lie in the text."""
    rng = random.Random(20251213)
    alphabet = [b"---\n", b"\n", b"\r\n", b"FROM: a\n", b"STATUS: Sent\n", b"```\n", b"\xff"]
    for _ in range(300):
        chunks = [
            rng.choice(alphabet) if rng.random() < 0.5 else rng.randbytes(rng.randint(0, 12))
            for _ in range(rng.randint(0, 40))
        ]
        text = b"".join(chunks).decode("utf-8", errors="replace")
        batch = parse_messages(text)
        assert 0 <= batch.end <= len(text)
        for m in batch.messages:
            assert 0 <= m.span.start < m.status_span.start < m.span.end <= len(text)
        for e in batch.errors:
            assert 1 <= e.line <= text.count("\n") + 1


# --- writing -------------------------------------------------------------------------------


def test_render_writes_the_example_header_order() -> None:
    """Headers come out in the example's order: FROM TO TYPE TASK TIMESTAMP STATUS ... MESSAGE."""
    text = render_message(
        sender="a",
        to=["b", "c"],
        type="blocker",
        timestamp="2025-12-13T10:00:00Z",
        task="T3",
        priority="High",
        deadline="2025-12-13T11:00:00Z",
        text="help",
        body="\n\ndetails\n\n",
        eol="\r\n",
    )
    keys = [line.split(":")[0] for line in text.split("\r\n")[1:10]]
    assert keys == [
        *("FROM", "TO", "TYPE", "TASK", "TIMESTAMP"),
        *("STATUS", "PRIORITY", "DEADLINE", "MESSAGE"),
    ]
    assert text.endswith("MESSAGE: help\r\n\r\ndetails\r\n---\r\n")
    (m,) = parse_messages(text).messages
    assert (m.type, m.status, m.to, m.body) == ("Blocker", "Sent", ("b", "c"), "details")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"type": "Memo"}, "TYPE 'Memo'"),
        ({"status": "Done"}, "STATUS 'Done'"),
        ({"sender": "a\nSTATUS: Resolved"}, "single line"),
        ({"text": "two\r\nlines"}, "single line"),
        ({"to": "a,,b"}, "TO must"),
        ({"to": []}, "at least one"),
        ({"to": ["a,b"]}, "TO must"),
        ({"sender": "  "}, "FROM must not be empty"),
        ({"timestamp": "noon"}, "ISO 8601"),
        ({"deadline": "soon"}, "ISO 8601"),
        ({"body": "a\n---\nb"}, "would close the message"),
        ({"body": "```\ncode"}, "fence open"),
        ({"eol": "\r"}, "eol"),
    ],
)
def test_render_refuses_what_would_not_read_back(change: dict[str, object], fragment: str) -> None:
    """render_message raises ValueError for values that would not parse back as given."""
    args: dict[str, object] = {
        "sender": "a",
        "to": "b",
        "type": "Update",
        "timestamp": "2025-12-13T10:00:00Z",
    }
    args.update(change)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        render_message(**args)  # type: ignore[arg-type]


def test_append_to_new_file() -> None:
    """Appending to the starter text keeps it intact and adds the block after one blank line."""
    new = append_message(NEW_MESSAGES_FILE, GOOD)
    assert new == NEW_MESSAGES_FILE + "\n" + GOOD
    assert [m.text for m in parse_messages(new).messages] == ["still here"]
    assert append_message("", GOOD) == GOOD


def test_append_without_trailing_newline_and_after_blank_line() -> None:
    """A missing final newline is added first; an existing blank line is not doubled."""
    assert append_message("# Log", GOOD) == "# Log\n\n" + GOOD
    assert append_message("# Log\n\n", GOOD) == "# Log\n\n" + GOOD
    assert append_message("# Log\n  \n", GOOD) == "# Log\n  \n" + GOOD


def test_append_keeps_crlf() -> None:
    """Appending to a CRLF file writes the new block in CRLF too."""
    crlf = EXAMPLE.replace("\n", "\r\n")
    new = append_message(crlf, GOOD)
    assert new == crlf + "\r\n" + GOOD.replace("\n", "\r\n")
    assert "\n" not in new.replace("\r\n", "")


def test_append_refuses_a_broken_block() -> None:
    """Only one complete, valid block may be appended: anything else would stall the log."""
    for bad in (GOOD[:-4], GOOD + GOOD, "hello\n", block(*valid_headers(TYPE="Memo"))):
        with pytest.raises(ValueError, match="not exactly one complete message"):
            append_message(EXAMPLE, bad)


OPEN = "---\nFROM: person\nTO: builder-a\nTYPE: Update\nTIMESTAMP: 2025-12-13T12:00:00Z\n"


def test_a_block_left_open_is_reported_with_its_line() -> None:
    """A log that ends in a block with no closing '---' says where that block opens."""
    text = EXAMPLE + "\n" + OPEN + "STATUS: Sent\n\nstill typing\n"
    batch = parse_messages(text)
    line = EXAMPLE.count("\n") + 2
    assert batch.unclosed is not None
    assert (batch.unclosed.line, batch.unclosed.start) == (line, len(EXAMPLE) + 1)
    assert parse_messages(EXAMPLE).unclosed is None
    assert parse_messages(EXAMPLE + "\n---\n").unclosed is None  # may still become prose


@pytest.mark.parametrize("tail", [OPEN, OPEN + "STATUS: Sent", OPEN + "STATUS: Sent\n\nbody\n"])
def test_append_refuses_a_log_that_ends_in_an_open_block(tail: str) -> None:
    """Appending after an open block would close it with the new block's '---': refused,
    naming the open block's line (a last line without its newline counts as written)."""
    text = EXAMPLE + "\n" + tail
    with pytest.raises(UnterminatedBlockError) as caught:
        append_message(text, GOOD)
    assert caught.value.line == EXAMPLE.count("\n") + 2
    assert "no closing '---'" in caught.value.reason


def test_append_before_an_open_block_keeps_it_open_at_the_end() -> None:
    """With before_open, the new block goes in just before the open one, which stays last
    and open, byte for byte."""
    tail = OPEN + "STATUS: Sent\n\nstill typing"
    text = EXAMPLE + "\n" + tail
    new = append_message(text, GOOD, before_open=True)
    assert new == EXAMPLE + "\n" + GOOD + "\n" + tail
    batch = parse_messages(new + "\n")
    assert [m.text for m in batch.messages][-1] == "still here"
    assert batch.unclosed is not None
    assert new[batch.unclosed.start :] == tail
    assert append_message(EXAMPLE, GOOD, before_open=True) == append_message(EXAMPLE, GOOD)


def test_a_fenced_example_in_the_last_message_is_not_an_open_block() -> None:
    """A message whose body shows a message in a code fence is closed; appending works."""
    body = "Write it like this:\n\n```\n---\nFROM: you\nTO: me\n```"
    text = EXAMPLE + "\n" + block(*valid_headers(), body=body)
    assert parse_messages(text).unclosed is None
    assert parse_messages(append_message(text, GOOD)).messages[-1].text == "still here"


def test_a_long_log_is_checked_from_its_tail() -> None:
    """An open block far down a long log is found; the messages before it do not matter."""
    many = "".join(
        "\n" + block(*valid_headers(TIMESTAMP=f"2025-12-13T10:00:{n % 60:02d}Z"))
        for n in range(3000)
    )
    text = NEW_MESSAGES_FILE + many + "\n" + OPEN
    with pytest.raises(UnterminatedBlockError) as caught:
        append_message(text, GOOD)
    assert caught.value.line == text.count("\n") - OPEN.count("\n") + 1


def test_set_status_on_the_example() -> None:
    """Setting the blocker Resolved rewrites only its STATUS value."""
    blocker = parse_messages(EXAMPLE).messages[3]
    new = set_message_status(EXAMPLE, blocker, "resolved")
    start, end = blocker.status_span.start, blocker.status_span.end
    assert new == EXAMPLE[:start] + "Resolved" + EXAMPLE[end:]
    again = parse_messages(new).messages[3]
    assert (again.status, again.id) == ("Resolved", blocker.id)


def test_set_status_refuses_unknown_status_and_moved_text() -> None:
    """An unknown status is a ValueError; text that changed under the message is a conflict."""
    first = parse_messages(EXAMPLE).messages[0]
    with pytest.raises(ValueError, match="STATUS 'Done'"):
        set_message_status(EXAMPLE, first, "Done")
    with pytest.raises(EditConflictError):
        set_message_status("# Inserted line\n" + EXAMPLE, first, "Resolved")
    with pytest.raises(EditConflictError):
        set_message_status(EXAMPLE[: first.status_span.start], first, "Resolved")
    person = EXAMPLE.replace("STATUS: Acknowledged", "STATUS: Acknowledgedx", 1)
    with pytest.raises(EditConflictError):
        set_message_status(person, first, "Resolved")


def test_set_status_twice_with_the_same_message_is_harmless() -> None:
    """A retried status edit with the same parsed message leaves the text as the first made it."""
    question = parse_messages(EXAMPLE).messages[1]
    once = set_message_status(EXAMPLE, question, "Acknowledged")
    assert set_message_status(once, question, "Acknowledged") == once
    assert set_message_status(EXAMPLE, question, "Resolved") == EXAMPLE


def test_message_id() -> None:
    """Ids are 16 hex chars, stable under whitespace, and change with what the message says."""
    base = message_id("a", "2025-12-13T10:00:00Z", "Update", ["b", "c"], "hi")
    assert re.fullmatch(r"[0-9a-f]{16}", base)
    assert message_id(" a ", "2025-12-13T10:00:00Z ", "Update", [" b", "c "], "hi\n") == base
    assert message_id("a", "2025-12-13T10:00:00Z", "Update", ["c", "b"], "hi") != base
    assert message_id("a", "2025-12-13T10:00:01Z", "Update", ["b", "c"], "hi") != base
    only_text = parse_messages(block(*valid_headers(), "MESSAGE: hi")).messages[0]
    only_body = parse_messages(block(*valid_headers(), body="hi")).messages[0]
    assert only_text.id != only_body.id


def test_constants() -> None:
    """The message types and statuses are the five and three of docs/contract.md sec. 4."""
    assert MESSAGE_TYPES == ("Handoff", "Blocker", "Question", "Update", "Directive")
    assert MESSAGE_STATUSES == ("Sent", "Acknowledged", "Resolved")


def test_messages_module_is_pure() -> None:
    """protocol.messages imports only the stdlib modules a pure parser needs, and protocol."""
    source = Path(protocol.messages.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "collections", "dataclasses", "datetime", "hashlib"} | {
        "re",
        "types",
        "protocol",
    }
