"""Baton's agent tools for a CLI agent's helpers: ``baton mcp`` and ``baton task``
(docs/coding-agents.md).

While a ``claude-code`` or ``codex`` agent runs, it listens on a loopback TCP port and
writes ``.baton/agents/<task>.json`` (port, a random token, the attempt; mode 0600). A
helper started by the CLI reads that file, connects, and sends one JSON line
``{"token", "attempt", "tool", "args"}``; the agent carries the call out through the same
:class:`agents.tools.Toolbox` the ``claude`` backend uses, so each call has exactly that
tool's effect, journaled by the running daemon, and answers one line ``{"text", "error"}``.

Why a socket and not the files: ``complete_task`` must commit and set the verdict through
the daemon's one executor, and ``read_inbox`` hands over messages the daemon delivered; only
the running daemon can do either. TCP on 127.0.0.1 rather than a Unix socket, because a
socket path under a deep plan folder can pass the 108-byte limit; the token (readable only
by the file's owner) stands in for the socket file's permissions.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import structlog
from anyio.abc import SocketStream

from agents.base import AgentContext
from agents.tools import Toolbox

log = structlog.get_logger()

BRIDGE_TOOLS = ("send_message", "report_blocker", "complete_task", "fail_task", "read_inbox")
_MAX_REQUEST = 1_000_000


class BridgeUnavailable(Exception):
    """No running daemon is serving this task's attempt; the message says what to do."""


def bridge_file(plan_dir: Path, task_id: str) -> Path:
    return plan_dir / ".baton" / "agents" / f"{task_id}.json"


class Bridge:
    """The agent's side: serves tool calls for one attempt while its CLI runs."""

    def __init__(self, ctx: AgentContext, plan_dir: Path) -> None:
        self.ctx = ctx
        self.path = bridge_file(plan_dir, ctx.brief.task_id)
        self.token = secrets.token_hex(16)
        self.toolbox = Toolbox(ctx)
        self.settled = False  # complete_task, fail_task or report_blocker was carried out

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Bridge]:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        try:
            # Inside the try: a stop while the file is published must close the socket too.
            port = listener.extra(anyio.abc.SocketAttribute.local_port)
            await anyio.to_thread.run_sync(self._publish, port)
            async with anyio.create_task_group() as tg:
                tg.start_soon(listener.serve, self._serve_one)
                try:
                    yield self
                finally:
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await listener.aclose()
                await anyio.to_thread.run_sync(self._withdraw)

    def _publish(self, port: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"port": port, "token": self.token, "attempt": self.ctx.brief.attempt}, f)
        os.replace(tmp, self.path)

    def _withdraw(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("token") == self.token:
                self.path.unlink()

    async def _serve_one(self, stream: SocketStream) -> None:
        async with stream:
            try:
                request = json.loads(await _read_line(stream))
                reply = await self.handle(request)
            except (ValueError, anyio.EndOfStream, anyio.BrokenResourceError) as exc:
                reply = {"text": f"bad request: {exc}", "error": True}
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await stream.send((json.dumps(reply) + "\n").encode("utf-8"))

    async def handle(self, request: Mapping[str, Any]) -> dict[str, Any]:
        if not secrets.compare_digest(str(request.get("token", "")), self.token):
            return {"text": "refused: wrong token", "error": True}
        if str(request.get("attempt")) != str(self.ctx.brief.attempt):
            return {"text": "refused: that attempt is no longer running", "error": True}
        tool, args = request.get("tool"), request.get("args") or {}
        if tool not in BRIDGE_TOOLS or not isinstance(args, dict):
            return {"text": f"unknown tool {tool!r}", "error": True}
        if self.settled and tool in ("complete_task", "fail_task", "report_blocker"):
            return {"text": "the task is already settled for this attempt", "error": True}
        log.info("agent_tool_call", tool=tool)
        if tool == "read_inbox":
            return {"text": _inbox_text(self.ctx), "error": False}
        outcome = await self.toolbox.call(str(tool), args)
        self.settled = self.settled or outcome.finished or outcome.blocked
        return {"text": outcome.text, "error": outcome.error}


def _inbox_text(ctx: AgentContext) -> str:
    messages = ctx.pending_messages()
    if not messages:
        return "no new messages"
    return "\n\n".join(
        f"[{m.type} from {m.sender}, {m.timestamp}]\n{m.text or ''}\n{m.body}".strip()
        for m in messages
    )


async def _read_line(stream: SocketStream) -> bytes:
    data = bytearray()
    while b"\n" not in data:
        data += await stream.receive()
        if len(data) > _MAX_REQUEST:
            raise ValueError("request too long")
    return bytes(data.split(b"\n", 1)[0])


async def call_tool(
    plan_dir: Path, task_id: str, attempt: str, tool: str, args: Mapping[str, Any]
) -> tuple[str, bool]:
    """Carry out ``tool`` for the task's running attempt; ``(text, is_error)``. Raises
    :class:`BridgeUnavailable` when no daemon runs the task."""
    path = bridge_file(plan_dir, task_id)
    try:
        data = json.loads(await anyio.Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        raise BridgeUnavailable(
            f"no Baton daemon is running task {task_id} (no {path}); start `baton run`"
        ) from None
    request = {"token": data.get("token"), "attempt": attempt, "tool": tool, "args": dict(args)}
    try:
        stream = await anyio.connect_tcp("127.0.0.1", int(data["port"]))
    except (OSError, KeyError, ValueError):
        raise BridgeUnavailable(
            f"the Baton daemon running task {task_id} is gone; start `baton run` again"
        ) from None
    async with stream:
        await stream.send((json.dumps(request) + "\n").encode("utf-8"))
        try:
            reply = json.loads(await _read_line(stream))
        except (anyio.EndOfStream, anyio.BrokenResourceError, ValueError):
            raise BridgeUnavailable(f"the Baton daemon running task {task_id} hung up") from None
    return str(reply.get("text", "")), bool(reply.get("error"))


__all__ = ["BRIDGE_TOOLS", "Bridge", "BridgeUnavailable", "bridge_file", "call_tool"]
