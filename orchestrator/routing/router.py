"""Routing ``INTER_AGENT_MESSAGES.md`` (docs/user-guide.md, "Messages").

A message is delivered to each running recipient's inbox, held for recipients that have not
started (delivered when they do), broadcast for ``All`` (to agents started later too), and
handed to the orchestrator inbox for ``Orchestrator``. Delivered ``Sent`` messages are marked
``Acknowledged`` in one write per batch. Each agent instance gets a message at most once;
after a restart, everything not yet ``Resolved`` is delivered again (at least once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

import anyio
import structlog

from orchestrator.adapters.filestore import FileNotReady, StoreConflict
from orchestrator.routing.message_log import MessageLog
from orchestrator.runtime.agent_pool import Running
from orchestrator.runtime.services import Services
from protocol import (
    EditConflictError,
    Message,
    MessageError,
    UnterminatedBlockError,
    parse_messages,
    set_message_status,
)

log = structlog.get_logger()

ALL, ORCHESTRATOR = "All", "Orchestrator"
OrchestratorInbox = Callable[[Sequence[Message]], Awaitable[set[str]]]  # → ids Resolved


class Router:
    def __init__(
        self,
        services: Services,
        running: Callable[[], Iterable[Running]],
        inbox: OrchestratorInbox,
    ) -> None:
        self._s = services
        self._running = running
        self.inbox = inbox
        self.log = MessageLog(services.config().messages_file)
        self.known: dict[str, Message] = {}  # every message seen this run, by id
        self._deliveries: list[tuple[str, str]] = []  # (task id, message id) to journal
        self._open_said = False  # the log's open last block was reported (until it closes)
        self.deadlines: dict[str, Message] = {}  # not Resolved when last seen, with a DEADLINE

    async def poll(self) -> None:
        """Read what was appended since the last poll and route it."""
        store, path = self._s.store, self._s.config().messages_path
        try:
            messages, errors = await anyio.to_thread.run_sync(self.log.read_file, path, store.read)
        except FileNotReady:
            return
        to_ack: list[Message] = []
        for_orchestrator: list[Message] = []
        self._route(messages, errors, to_ack, for_orchestrator)
        # Delivered first, then checked: an edit of an old message is noticed here.
        again = await anyio.to_thread.run_sync(self.log.verify, path)
        if again is not None:
            self._forget_gone(again[0])
            fresh = {m.id: m for m in again[0]}  # their STATUS may have moved: use where it is
            to_ack[:] = [fresh.get(m.id, m) for m in to_ack]
            for_orchestrator[:] = [fresh.get(m.id, m) for m in for_orchestrator]
            self._route(*again, to_ack, for_orchestrator)
        self._say_open_block()
        if not (to_ack or for_orchestrator or self._deliveries):
            return
        await self.flush_deliveries()
        resolved = await self.inbox(for_orchestrator) if for_orchestrator else set()
        statuses = {m.id: "Acknowledged" for m in [*to_ack, *for_orchestrator]}
        statuses.update({i: "Resolved" for i in resolved})
        if statuses:
            await self.set_status([*to_ack, *for_orchestrator], statuses)

    def _forget_gone(self, reread: Sequence[Message]) -> None:
        """Messages read before at or after where the log was read again, and not found
        there now: edited (a new id) or removed, so nothing more is held for them."""
        start, stop = self.log.reread
        present = {m.id for m in reread}
        gone = []
        # Newest first, as they were read (in the file's order): the ones before ``start``
        # end the search, so a re-read near the end costs no walk through 100,000.
        for mid in reversed(self.known):
            at = self.known[mid].span.start
            if at < start:
                break
            if at < stop and mid not in present:
                gone.append(mid)
        for mid in gone:
            del self.known[mid]
            self.deadlines.pop(mid, None)

    def _route(
        self,
        messages: Sequence[Message],
        errors: Sequence[MessageError],
        to_ack: list[Message],
        for_orchestrator: list[Message],
    ) -> None:
        """Deliver what ``messages`` holds that was not seen before; the Sent ones go into
        ``to_ack`` and ``for_orchestrator``. Statuses of messages seen before are updated."""
        for error in errors:
            log.error("message_invalid", file=error.file, line=error.line, reason=error.reason)
        new = [m for m in messages if m.id not in self.known]
        for m in messages:
            self.known[m.id] = m
            if m.deadline and m.status != "Resolved":
                self.deadlines[m.id] = m
            else:
                self.deadlines.pop(m.id, None)
        self._s.report("messages_read", level="debug", count=len(messages), new=len(new))
        for m in new:
            if m.status == "Resolved":
                continue
            delivered = self._deliver_to_running(m)
            if ORCHESTRATOR in m.to and m.status == "Sent":
                for_orchestrator.append(m)
            elif delivered and m.status == "Sent":
                to_ack.append(m)
            self._s.report(
                "message_routed",
                message_id=m.id,
                message_ts=m.timestamp,
                type=m.type,
                sender=m.sender,
                to=list(m.to),
                delivered=delivered,
            )

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
        await self._s.journal.events(
            [("message_delivered", task_id, {"message_id": mid}) for task_id, mid in done]
        )

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
            await self._s.store.update(self._s.config().messages_path, edit)
        except (FileNotReady, StoreConflict) as exc:
            log.warning("message_status_not_written", reason=str(exc))

    # -- delivery ----------------------------------------------------------------------------

    def _deliver_to_running(self, m: Message) -> list[str]:
        out = []
        for running in list(self._running()):
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
        self._s.report(
            "message_delivered",
            message_id=m.id,
            task_id=running.task_id,
            type=m.type,
            sender=m.sender,
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
            written = await self._s.store.update(self._s.config().messages_path, edit)
        except (FileNotReady, StoreConflict) as exc:
            log.warning("message_status_not_written", reason=str(exc))
            return
        self._s.report("messages_acknowledged", level="debug", count=len(ordered))
        if -1 in moved:
            self.log.anchor, self.log.end, self.log.byte_end = "x", -1, 0  # full read next time
        else:
            # Off the event loop: at 25 MB, finding the byte position takes milliseconds.
            await anyio.to_thread.run_sync(self.log.moved, moved[-1], written)
        for m in ordered:
            if statuses[m.id] == "Resolved":
                self.known.pop(m.id, None)  # nothing more to deliver or to watch
                self.deadlines.pop(m.id, None)
