"""What the ``claude-code`` and ``codex`` backends share (docs/coding-agents.md).

Built on the ``command`` backend's machinery (:mod:`agents.command`): the CLI runs in the
task's worktree in a session of its own, with the small environment, and is stopped with
SIGTERM, then SIGKILL. Its stdout is a JSON event stream, read by :mod:`agents.streams`:

- each event is logged as a short ``agent_output`` summary (never the raw JSON), and
  appended, redacted, to ``.baton/transcripts/<task>.cli.jsonl``;
- the session (thread) id is journaled as soon as it is seen, so that a restart of the same
  attempt resumes it instead of starting again; a resume the CLI refuses falls back to a
  fresh start;
- cost is journaled as deltas of the CLI's cumulative figures, and the CLI is stopped, the
  task Blocked with a ``Resource`` blocker, once the run's spend reaches its budget.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import structlog
from anyio.abc import ByteReceiveStream, Process

from agents.base import AgentContext, Blocker
from agents.bridge import Bridge
from agents.command import (
    STDERR_TAIL_LINES,
    CommandAgent,
    _describe_exit,
    _feed,
    _Output,
    spawn,
)
from agents.streams import Seen, head

log = structlog.get_logger()

RESUME_PROMPT = (
    "You were interrupted (Baton restarted). Continue your task from where you stopped; "
    "your brief is the first message of this conversation."
)
_MAX_EVENT_BYTES = 8 * 1024 * 1024  # a longer line is dropped
_BUDGET_POLL_SECONDS = 1.0  # how often the run's spend is checked besides our own events
_MAX_REASON_CHARS = 180


@dataclass
class Run:
    """What one process of the CLI showed."""

    session: str | None = None  # the id the process reported
    result: Seen | None = None  # Claude Code's final result
    turns: int = 0  # Codex turns completed
    error: str = ""  # the last error the stream reported
    said: str = ""  # the agent's last message (Codex)
    over_budget: bool = False
    code: int | None = None


class _Events:
    """The CLI's stdout: JSON lines, each handed to ``handle`` (shielded, so a stop in the
    middle cannot lose a journal write half done)."""

    def __init__(self, stream: ByteReceiveStream, handle: Callable[[bytes], Any]) -> None:
        self.stream = stream
        self.handle = handle
        self.done = anyio.Event()
        self._buffer = bytearray()

    async def pump(self) -> None:
        if self.done.is_set():
            return
        try:
            async for chunk in self.stream:
                self._buffer += chunk
                while (end := self._buffer.find(b"\n")) >= 0:
                    line = bytes(self._buffer[:end])
                    del self._buffer[: end + 1]
                    with anyio.CancelScope(shield=True):
                        await self.handle(line)
                if len(self._buffer) > _MAX_EVENT_BYTES:
                    log.warning("agent_event_too_long", bytes=len(self._buffer))
                    self._buffer.clear()
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass
        if self._buffer.strip():
            with anyio.CancelScope(shield=True):
                await self.handle(bytes(self._buffer))
        self._buffer.clear()
        self.done.set()


class CodingCliAgent(CommandAgent):
    """A coding-agent CLI with a JSON event stream; subclasses say how to start, resume and
    read it (:mod:`agents.claude_code`, :mod:`agents.codex`)."""

    backend = "coding-cli"

    def __init__(
        self,
        *,
        program: str,
        model: str,
        plan_dir: Path,
        transcript: Path,
        redact: Callable[[str], str] = lambda s: s,
        mode: str = "",
        args: Sequence[str] = (),
        grace_seconds: float = 10.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__([program], plan_dir=plan_dir, grace_seconds=grace_seconds, environ=environ)
        self.program = program
        self.model = model
        self.transcript = transcript
        self.redact = redact
        self.mode = mode
        self.args = tuple(args)
        self._unknown: set[str] = set()

    # -- what a subclass says ---------------------------------------------------------------

    def fresh_argv(self, ctx: AgentContext) -> list[str]:
        raise NotImplementedError

    def resume_argv(self, ctx: AgentContext, session: str) -> list[str]:
        raise NotImplementedError

    def resume_stdin(self) -> str:
        return RESUME_PROMPT

    def parse(self, event: Mapping[str, Any]) -> Seen:
        raise NotImplementedError

    async def account(self, ctx: AgentContext, run: Run, seen: Seen, event: Any) -> None:
        """Journal the cost ``seen`` shows, as a delta."""

    async def finish(self, ctx: AgentContext, run: Run, stderr: Sequence[str]) -> None:
        """Decide the task from what the process showed and how it exited."""
        raise NotImplementedError

    # -- the run ----------------------------------------------------------------------------

    async def run(self, ctx: AgentContext) -> None:
        if (left := ctx.budget_left()) is not None and left <= 0:
            await self.block_on_budget(ctx, f"The run's budget is spent (${-left:.4f} over).")
            return
        await anyio.to_thread.run_sync(self._write_mcp_config, ctx)
        async with Bridge(ctx, self.plan_dir).serving() as bridge:
            self._bridge = bridge
            await self._run(ctx)

    # -- Baton's tools over MCP ------------------------------------------------------------

    def mcp_server(self, ctx: AgentContext) -> dict[str, Any]:
        """How the CLI starts ``baton mcp`` for this task (docs/coding-agents.md)."""
        b = ctx.brief
        return {
            "command": sys.executable,
            "args": ["-m", "orchestrator.cli", "mcp"],
            "env": {
                "BATON_TASK_ID": b.task_id,
                "BATON_ATTEMPT": str(b.attempt),
                "BATON_PLAN_DIR": str(self.plan_dir),
            },
        }

    def mcp_config_path(self, ctx: AgentContext) -> Path:
        """The per-task MCP config, under ``.baton/`` (never in the worktree)."""
        return self.plan_dir / ".baton" / "mcp" / f"{ctx.brief.task_id}.json"

    def _write_mcp_config(self, ctx: AgentContext) -> None:
        path = self.mcp_config_path(ctx)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        config = {"mcpServers": {"baton": self.mcp_server(ctx)}}
        tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    # -- the run ----------------------------------------------------------------------------

    async def _run(self, ctx: AgentContext) -> None:
        await self._stop_orphan(ctx)
        session = await ctx.recall("session")
        if session:
            log.info("agent_cli_resuming", session=session)
            run, stderr = await self._process(
                ctx, self.resume_argv(ctx, session), self.resume_stdin()
            )
            if run is None:
                return
            if run.code != 0 and run.session is None and not run.over_budget:
                log.warning(
                    "agent_cli_resume_refused", session=session, code=run.code, stderr=stderr[-3:]
                )
            else:
                await self._decide(ctx, run, stderr)
                return
        run, stderr = await self._process(ctx, self.fresh_argv(ctx), ctx.brief.render())
        if run is not None:
            await self._decide(ctx, run, stderr)

    async def _stop_orphan(self, ctx: AgentContext) -> None:
        """A daemon killed with SIGKILL leaves its CLI running; before resuming the session,
        stop that one (the group it leads, only if it still works in this worktree), so two
        processes never work the same worktree."""
        pid = await ctx.recall("pid")
        if not pid or not pid.isdigit():
            return
        if not await anyio.to_thread.run_sync(_kill_orphan, int(pid), ctx.brief.worktree):
            return
        log.warning("agent_cli_orphan_stopped", pid=int(pid))

    async def _decide(self, ctx: AgentContext, run: Run, stderr: Sequence[str]) -> None:
        if self._bridge.settled:
            log.info("agent_settled_through_tools", code=run.code)
            return
        if run.over_budget:
            spent = ctx.budget_left()
            await self.block_on_budget(
                ctx,
                f"The run's spend reached its budget while {self.backend} ran"
                + (f" (${-spent:.4f} over)." if spent is not None and spent < 0 else "."),
            )
            return
        await self.finish(ctx, run, stderr)

    async def _process(
        self, ctx: AgentContext, argv: list[str], stdin: str
    ) -> tuple[Run | None, list[str]]:
        process = await spawn(ctx, argv, self.plan_dir, self.environ)
        if process is None:
            return None, []
        await ctx.remember("pid", str(process.pid))
        run = Run()
        assert process.stdout is not None
        assert process.stderr is not None

        async def handle(raw: bytes) -> None:
            await self._handle(ctx, run, raw)

        stderr = _Output(process.stderr, "stderr", tail=STDERR_TAIL_LINES)
        outputs = (_Events(process.stdout, handle), stderr)
        try:
            run.code = await self._watch_run(ctx, process, outputs, run, stdin.encode("utf-8"))
        finally:
            with anyio.CancelScope(shield=True):
                if process.returncode is None:
                    await self._stop(process, outputs)  # type: ignore[arg-type]
                await process.aclose()
        log.info("agent_command_exited", program=self.program, pid=process.pid, code=run.code)
        return run, [line for line in stderr.tail if line.strip()]

    async def _watch_run(
        self,
        ctx: AgentContext,
        process: Process,
        outputs: Sequence[Any],
        run: Run,
        stdin: bytes,
    ) -> int | None:
        stop = anyio.Event()
        self._stop_event = stop

        async def exited() -> None:
            await process.wait()
            stop.set()

        async def budget() -> None:
            while not stop.is_set():
                await ctx.sleep(_BUDGET_POLL_SECONDS)
                self._check_budget(ctx, run)

        async with anyio.create_task_group() as tg:
            assert process.stdin is not None
            tg.start_soon(_feed, process.stdin, stdin)
            for output in outputs:
                tg.start_soon(output.pump)
            tg.start_soon(exited)
            tg.start_soon(budget)
            await stop.wait()
            if process.returncode is not None:
                with anyio.move_on_after(2.0):
                    for output in outputs:
                        await output.done.wait()
            tg.cancel_scope.cancel()
        return process.returncode

    def _check_budget(self, ctx: AgentContext, run: Run) -> None:
        left = ctx.budget_left()
        if left is not None and left <= 0 and not run.over_budget:
            log.warning("budget_reached_stopping_agent", left_usd=round(left, 4))
            run.over_budget = True
            self._stop_event.set()

    async def _handle(self, ctx: AgentContext, run: Run, raw: bytes) -> None:
        line = self.redact(raw.decode("utf-8", errors="replace").strip())
        if not line:
            return
        await self._keep(line)
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            event = None
        if not isinstance(event, dict):
            log.info("agent_output", stream="stdout", line=head(line, 300))
            return
        seen = self.parse(event)
        if seen.unknown:
            kind = str(event.get("type"))
            if kind not in self._unknown:
                self._unknown.add(kind)
                log.info("agent_event_unknown", type=head(kind, 60))
            return
        if seen.summary:
            log.info("agent_output", stream="events", line=self.redact(seen.summary))
        if seen.session and seen.session != run.session:
            run.session = seen.session
            await ctx.remember("session", seen.session)
            log.info("agent_cli_session", session=seen.session)
        if seen.error:
            run.error = seen.error
        if seen.text and seen.result is None:
            run.said = seen.text
        if seen.result is not None:
            run.result = seen
        await self.account(ctx, run, seen, event)
        self._check_budget(ctx, run)

    async def _keep(self, line: str) -> None:
        def write() -> None:
            self.transcript.parent.mkdir(parents=True, exist_ok=True)
            with self.transcript.open("a", encoding="utf-8") as f:
                f.write(line + "\n")

        await anyio.to_thread.run_sync(write)

    # -- endings ----------------------------------------------------------------------------

    async def block_on_budget(self, ctx: AgentContext, description: str) -> None:
        await ctx.report_blocker(
            Blocker(
                severity="High",
                kind="Resource",
                description=description,
                resolution="Raise the budget (baton.toml budget_usd or the plan's Constraints), "
                "then set this task back to Not Started.",
                escalate=True,
                escalation_note="Yes - only a person can raise the budget",
            )
        )

    async def fail_with(self, ctx: AgentContext, reason: str, stderr: Sequence[str]) -> None:
        if len(reason) > _MAX_REASON_CHARS:
            reason = reason[: _MAX_REASON_CHARS - 1] + "…"
        tail = [self.redact(line) for line in stderr]
        log.warning("agent_command_failed", reason=reason, stderr_tail=tail)
        await ctx.fail(reason, output="\n".join(tail))

    def exit_reason(self, run: Run, stderr: Sequence[str]) -> str:
        reason = _describe_exit(run.code if run.code is not None else -9).replace(
            "command", self.program
        )
        last = run.error or (stderr[-1].strip() if stderr else "")
        return f"{reason}: {head(self.redact(last), 150)}" if last else reason


def _kill_orphan(pid: int, worktree: Path) -> bool:
    """SIGKILL the process group ``pid`` leads, if it still works in ``worktree``."""
    try:
        if os.getpgid(pid) != pid:
            return False
        if Path(os.readlink(f"/proc/{pid}/cwd")).resolve() != Path(worktree).resolve():
            return False
        os.killpg(pid, signal.SIGKILL)
    except (OSError, ValueError):
        return False
    return True


__all__ = ["RESUME_PROMPT", "CodingCliAgent", "Run"]
