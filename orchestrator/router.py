"""Routing ``INTER_AGENT_MESSAGES.md`` (SPEC sec. 4).

The log is read incrementally: only what follows the last complete block is parsed, so a new
message costs the same in a 10-message log and a 100,000-message one. The point where the
last read stopped is found again by the bytes just before it (STATUS edits earlier in the
file move it a little); when it cannot be found, the whole log is read again and messages
already handled are recognised by their id.

A message is delivered to each running recipient's inbox, held for recipients that have not
started (delivered when they do), broadcast for ``All`` (to agents started later too), and
handed to the orchestrator inbox for ``Orchestrator``. Delivered ``Sent`` messages are marked
``Acknowledged`` in one write per batch. Each agent instance gets a message at most once;
after a restart, everything not yet ``Resolved`` is delivered again (at least once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import structlog

from orchestrator.filestore import FileNotReady, Store, StoreConflict
from protocol import (
    EditConflictError,
    Message,
    MessageError,
    UnterminatedBlockError,
    append_message,
    parse_messages,
    set_message_status,
)
from protocol._text import Span, decode_text, encode_text
from protocol.messages import NEW_MESSAGES_FILE, block_start_before

if TYPE_CHECKING:
    from orchestrator._agentrun import Running
    from orchestrator.daemon import Daemon

log = structlog.get_logger()

_ANCHOR = 64  # bytes before the resume point that must match to resume there
_WINDOW = 1 << 16  # how far the resume point may have moved by edits before it
_RETRY_SECONDS = 0.5  # pause before appending again while an editor is mid-save
ALL, ORCHESTRATOR = "All", "Orchestrator"
OrchestratorInbox = Callable[[Sequence[Message]], Awaitable[set[str]]]  # → ids Resolved


async def append_to_log(store: Store, path: Path, block: str, *, before_open: bool = False) -> None:
    """Append one rendered message to the log, creating the log when it is missing; an
    editor mid-save is waited out, never taken for an empty log.

    A log that ends in a block with no closing ``---`` raises UnterminatedBlockError, or
    with ``before_open`` gets the message just before that block (the daemon's way: its
    messages must not wait for a person to finish theirs).
    """
    await store.create(path, NEW_MESSAGES_FILE)
    while True:
        try:
            await store.update(
                path, lambda current: append_message(current, block, before_open=before_open)
            )
            return
        except (FileNotReady, StoreConflict) as exc:
            log.warning("message_delayed", file=path.name, reason=str(exc))
            await anyio.sleep(_RETRY_SECONDS)


class MessageLog:
    """Where the last read of the message log stopped, and how to resume after it."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.end = 0
        self.end_line = 1
        self.anchor = ""
        self.byte_end = 0  # ``end`` in bytes of the file, for reading only its tail
        self.unclosed: Span | None = None  # the block left open at the end of the last read
        self._reported: set[tuple[int, str]] = set()

    def read_file(
        self, path: Path, read: Callable[[Path], tuple[str, bytes]]
    ) -> tuple[Sequence[Message], Sequence[MessageError]]:
        """Blocking: read only the file's tail when the resume point is still in place,
        else the whole file through ``read`` (which raises FileNotReady)."""
        anchor = encode_text(self.anchor)
        if self.byte_end and anchor:
            try:
                with path.open("rb") as f:
                    f.seek(self.byte_end - len(anchor))
                    data = f.read()
            except OSError:
                data = b""
            if data[: len(anchor)] == anchor:
                tail = decode_text(data[len(anchor) :])
                batch = parse_messages(tail, offset=self.end, line=self.end_line, file=self.file)
                consumed = tail[: batch.end - self.end]
                self.byte_end += len(encode_text(consumed))
                self.end, self.end_line = batch.end, batch.end_line
                self.anchor = (self.anchor + consumed)[-_ANCHOR:]
                self.unclosed = batch.unclosed
                return batch.messages, self._fresh(batch.errors)
        text, _ = read(path)
        result = self.read(text)
        self.byte_end = len(encode_text(text[: self.end]))
        return result

    def read(self, text: str) -> tuple[Sequence[Message], Sequence[MessageError]]:
        """The complete blocks after the resume point (the whole log when it moved away)."""
        start = self._resume(text)
        if start is None:
            self.end, self.end_line = 0, 1
            start = 0
        batch = parse_messages(text[start:], offset=start, line=self.end_line, file=self.file)
        self.end, self.end_line = batch.end, batch.end_line
        self.anchor = text[max(0, self.end - _ANCHOR) : self.end]
        self.unclosed = batch.unclosed
        return batch.messages, self._fresh(batch.errors)

    def _fresh(self, errors: Sequence[MessageError]) -> list[MessageError]:
        """Errors not reported before: a malformed block is logged once, not on every read."""
        fresh = []
        for error in errors:
            key = (error.line or 0, error.reason)
            if key not in self._reported:
                self._reported.add(key)
                fresh.append(error)
        return fresh

    def moved(self, end: int, written: str) -> None:
        """Baton wrote ``written``; the resume point is now at ``end`` in it."""
        self.end = end
        self.anchor = written[max(0, end - _ANCHOR) : end]
        self.byte_end = len(encode_text(written[:end]))

    def _resume(self, text: str) -> int | None:
        if not self.anchor:
            return 0 if self.end == 0 else None
        n = len(self.anchor)
        if text[self.end - n : self.end] == self.anchor:
            return self.end
        lo, hi = max(0, self.end - n - _WINDOW), self.end + _WINDOW
        at = text.rfind(self.anchor, lo, hi)
        if at != -1 and text.find(self.anchor, lo, hi) == at:
            return at + n
        # Changed near the end (a STATUS edited, a stale save): re-read from the start of a
        # block a window back; messages read before are known by id and not routed again.
        block = block_start_before(text, min(len(text), self.end) - _WINDOW)
        if block is None:
            return None  # a short log: read it all
        self.end_line = text.count("\n", 0, block) + 1
        return block


class Router:
    def __init__(self, daemon: Daemon, inbox: OrchestratorInbox) -> None:
        self.daemon = daemon
        self.inbox = inbox
        self.log = MessageLog(daemon.config.messages_file)
        self.known: dict[str, Message] = {}  # every message seen this run, by id
        self._deliveries: list[tuple[str, str]] = []  # (task id, message id) to journal
        self._open_said = False  # the log's open last block was reported (until it closes)
        self.deadlines: dict[str, Message] = {}  # not Resolved when last seen, with a DEADLINE

    async def poll(self) -> None:
        """Read what was appended since the last poll and route it."""
        store, path = self.daemon.store, self.daemon.config.messages_path
        try:
            messages, errors = await anyio.to_thread.run_sync(self.log.read_file, path, store.read)
        except FileNotReady:
            return
        for error in errors:
            log.error("message_invalid", file=error.file, line=error.line, reason=error.reason)
        self._say_open_block()
        new = [m for m in messages if m.id not in self.known]
        for m in messages:
            self.known[m.id] = m
            if m.deadline and m.status != "Resolved":
                self.deadlines[m.id] = m
        self.daemon.report("messages_read", count=len(messages), new=len(new))
        if not new:
            return
        to_ack: list[Message] = []
        for_orchestrator: list[Message] = []
        for m in new:
            if m.status == "Resolved":
                continue
            delivered = self._deliver_to_running(m)
            if ORCHESTRATOR in m.to and m.status == "Sent":
                for_orchestrator.append(m)
            elif delivered and m.status == "Sent":
                to_ack.append(m)
            log.info(
                "message_routed",
                message_id=m.id,
                message_ts=m.timestamp,
                type=m.type,
                sender=m.sender,
                to=list(m.to),
                delivered=delivered,
            )
            self.daemon.report("message_routed", message_id=m.id, type=m.type, to=list(m.to))
        await self.flush_deliveries()
        resolved = await self.inbox(for_orchestrator) if for_orchestrator else set()
        statuses = {m.id: "Acknowledged" for m in [*to_ack, *for_orchestrator]}
        statuses.update({i: "Resolved" for i in resolved})
        if statuses:
            await self.set_status([*to_ack, *for_orchestrator], statuses)

    def _say_open_block(self) -> None:
        """Warn once while the log ends in a block with no closing '---': it may be a
        person still typing, or one who forgot, and nothing in it is delivered meanwhile."""
        unclosed = self.log.unclosed
        if unclosed is None or self._open_said:
            self._open_said = unclosed is not None
            return
        self._open_said = True
        error = UnterminatedBlockError(line=unclosed.line, file=self.log.file)
        log.warning("message_unterminated", file=error.file, line=error.line, reason=error.reason)

    async def flush_deliveries(self) -> None:
        """Record the deliveries made since the last flush in the journal."""
        done, self._deliveries = self._deliveries, []
        journal = self.daemon.journal
        if done and journal is not None:

            def record() -> None:
                for task_id, message_id in done:
                    journal.event("message_delivered", task_id, message_id=message_id)

            await self.daemon.journaled(record)

    async def on_agent_started(self, running: Running) -> None:
        """Give a starting agent what was held for it (messages to it or to All), and mark
        the ones still ``Sent`` as ``Acknowledged``."""
        held = [m for m in self.known.values() if m.status != "Resolved"]
        given = [
            m.id
            for m in held
            if self._addressed_to(m, running)
            and m.id not in running.delivered
            and self._put(running, m)
            and m.status == "Sent"
        ]
        await self.flush_deliveries()
        if given:
            await self._acknowledge_by_id(set(given))

    async def _acknowledge_by_id(self, ids: set[str]) -> None:
        """Acknowledge older messages: their positions are found by a fresh read, once."""

        def edit(current: str) -> str:
            for m in sorted(parse_messages(current).messages, key=lambda m: -m.span.start):
                if m.id in ids and m.status == "Sent":
                    current = set_message_status(current, m, "Acknowledged")
            return current

        try:
            await self.daemon.store.update(self.daemon.config.messages_path, edit)
        except (FileNotReady, StoreConflict) as exc:
            log.warning("message_status_not_written", reason=str(exc))

    # -- delivery ----------------------------------------------------------------------------

    def _deliver_to_running(self, m: Message) -> list[str]:
        out = []
        for running in list(self.daemon.running.values()):
            if (
                self._addressed_to(m, running)
                and m.id not in running.delivered
                and self._put(running, m)
            ):
                out.append(running.task_id)
        return out

    def _addressed_to(self, m: Message, running: Running) -> bool:
        me = running.brief.agent_id
        if m.sender == me:
            return False
        return ALL in m.to or me in m.to or running.task_id in m.to

    def _put(self, running: Running, m: Message) -> bool:
        try:
            running.deliver.send_nowait(m)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            log.warning("message_not_delivered", message_id=m.id, task_id=running.task_id)
            return False
        running.delivered.add(m.id)
        self._deliveries.append((running.task_id, m.id))
        log.info("message_delivered", message_id=m.id, task_id=running.task_id, type=m.type)
        self.daemon.report(
            "message_delivered", task_id=running.task_id, type=m.type, sender=m.sender
        )
        return True

    async def set_status(self, messages: Iterable[Message], statuses: dict[str, str]) -> None:
        """Set STATUS of freshly read messages, in one write; the resume point follows."""
        ordered = sorted(messages, key=lambda m: -m.status_span.start)
        log_end, anchor = self.log.end, self.log.anchor
        moved: list[int] = []

        def edit(current: str) -> str:
            moved.clear()
            if current[log_end - len(anchor) : log_end] != anchor:
                moved.append(-1)  # the file moved under us: the next read starts over
            delta = 0
            for m in ordered:
                try:
                    new = set_message_status(current, m, statuses[m.id])
                except EditConflictError:
                    continue  # someone changed that STATUS first: theirs stands
                if m.status_span.start < log_end:
                    delta += len(new) - len(current)
                current = new
            moved.append(log_end + delta)
            return current

        try:
            written = await self.daemon.store.update(self.daemon.config.messages_path, edit)
        except (FileNotReady, StoreConflict) as exc:
            log.warning("message_status_not_written", reason=str(exc))
            return
        self.daemon.report("messages_acknowledged", count=len(ordered))
        if -1 in moved:
            self.log.anchor, self.log.end, self.log.byte_end = "x", -1, 0  # full read next time
        else:
            self.log.moved(moved[-1], written)
        for m in ordered:
            if statuses[m.id] == "Resolved":
                self.known.pop(m.id, None)  # nothing more to deliver or to watch
                self.deadlines.pop(m.id, None)
