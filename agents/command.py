"""The ``command`` backend: a configured command line does the task (docs/contract.md sec. 6).

The command (a coding-agent CLI, a script) runs in the task's worktree with the brief on
stdin and the task's identity in its environment. Exit status 0 completes the task, with
whatever the command left uncommitted committed on the task's branch; any other status
fails it, with the last line of stderr as the reason. Its output goes to the log line by
line as ``agent_output`` events.

The command is an argument list, never a shell line, and it sees only a small copy of the
daemon's environment: enough to find programs and reach the model's API, not every secret
the daemon happens to hold.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

import anyio
import structlog
from anyio.abc import ByteReceiveStream, ByteSendStream, Process

from agents.base import AgentContext, TaskBrief

log = structlog.get_logger()

# Copied from the daemon's environment when present: what a program needs to run at all.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "USER", "SHELL")
# Copied when present too, because a coding-agent CLI (Claude Code, Codex) cannot reach
# its model without them.
CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL")

MAX_LINE_CHARS = 2_000
STDERR_TAIL_LINES = 20
# A "line" longer than this without a newline is logged (truncated) and the rest dropped,
# so a command that writes megabytes without a newline cannot grow our buffer without end.
_MAX_BUFFER_BYTES = 4 * MAX_LINE_CHARS
# After the command exits, its pipes may stay open in a background child it left behind;
# we read what is already there and stop waiting after this long.
_DRAIN_SECONDS = 2.0
# The execution log's Notes keep 200 characters; the reason should fit in them.
_MAX_REASON_CHARS = 180


async def spawn(
    ctx: AgentContext, argv: Sequence[str], plan_dir: Path, environ: Mapping[str, str] | None
) -> Process | None:
    """Start ``argv`` in the task's worktree, in a process group of its own, with the small
    environment; on failure to start, fail the task and return None."""
    program = argv[0]
    try:
        # Shielded: a cancellation halfway through starting would leave a process we
        # hold no handle to. It is delivered at the next checkpoint instead.
        with anyio.CancelScope(shield=True):
            process = await anyio.open_process(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=ctx.brief.worktree,
                env=command_environment(
                    ctx.brief, plan_dir, os.environ if environ is None else environ
                ),
                start_new_session=True,
            )
    except OSError as exc:
        reason = f"could not start {program}: {exc.strerror or exc}"
        log.warning("agent_command_not_started", program=program, reason=reason)
        await ctx.fail(reason)
        return None
    log.info("agent_command_started", program=program, pid=process.pid)
    return process


def command_environment(
    brief: TaskBrief, plan_dir: Path, environ: Mapping[str, str]
) -> dict[str, str]:
    """The environment the command runs with: a few inherited variables and ``BATON_*``."""
    env = {key: environ[key] for key in (*INHERITED, *CREDENTIALS) if key in environ}
    env.update(
        BATON_TASK_ID=brief.task_id,
        BATON_AGENT_ID=brief.agent_id,
        BATON_PLAN_DIR=str(plan_dir),
        BATON_WORKTREE=str(brief.worktree),
        BATON_ATTEMPT=str(brief.attempt),
        # The dependencies' worktrees, read only: T2=/path,T3=/path (empty: none).
        BATON_INPUTS=",".join(f"{task}={path}" for task, path in brief.inputs),
    )
    return env


class _Output:
    """One of the command's output pipes, logged line by line as ``agent_output``."""

    def __init__(self, stream: ByteReceiveStream, name: str, tail: int = 0) -> None:
        self.stream = stream
        self.name = name
        self.tail: deque[str] = deque(maxlen=tail)
        self.done = anyio.Event()  # set at end of file
        self._buffer = bytearray()
        self._skipping = False  # inside an over-long line whose head was already logged

    async def pump(self) -> None:
        """Read until end of file; may be cancelled and called again without losing lines."""
        if self.done.is_set():
            return
        try:
            async for chunk in self.stream:
                self._feed(chunk)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass
        if self._buffer and not self._skipping:
            self._emit(bytes(self._buffer))
        self._buffer.clear()
        self.done.set()

    def _feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while (end := self._buffer.find(b"\n")) >= 0:
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._skipping:
                self._skipping = False
            else:
                self._emit(line)
        if len(self._buffer) > _MAX_BUFFER_BYTES:
            if not self._skipping:
                self._emit(bytes(self._buffer))
            self._buffer.clear()
            self._skipping = True

    def _emit(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")[:MAX_LINE_CHARS]
        if self.tail.maxlen:
            self.tail.append(line)
        log.info("agent_output", stream=self.name, line=line)


class CommandAgent:
    """Runs ``argv`` in the task's worktree; its exit status decides the task.

    The command starts in a session of its own, so that stopping it reaches the programs it
    started as well. On cancellation (the daemon stopping, the task being stopped) it gets
    SIGTERM, then ``grace_seconds`` to finish, then SIGKILL; the cancellation is re-raised
    once the process is reaped.
    """

    backend = "command"  # names the way it reports, in its brief

    def __init__(
        self,
        argv: Sequence[str],
        *,
        plan_dir: Path,
        grace_seconds: float = 10.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not argv or not argv[0]:
            raise ValueError(f"expected a command line with a program, found {list(argv)!r}")
        self.argv = tuple(argv)
        self.plan_dir = plan_dir
        self.grace_seconds = grace_seconds
        self.environ = environ

    async def run(self, ctx: AgentContext) -> None:
        brief = ctx.brief
        program = self.argv[0]
        process = await spawn(ctx, self.argv, self.plan_dir, self.environ)
        if process is None:
            return
        assert process.stdout is not None
        assert process.stderr is not None
        outputs = (
            _Output(process.stdout, "stdout"),
            _Output(process.stderr, "stderr", tail=STDERR_TAIL_LINES),
        )
        try:
            code = await self._watch(process, outputs, brief.render().encode("utf-8"))
        finally:
            # On cancellation or any error: stop the process and reap it before going on.
            with anyio.CancelScope(shield=True):
                if process.returncode is None:
                    await self._stop(process, outputs)
                await process.aclose()
        log.info("agent_command_exited", program=program, pid=process.pid, code=code)
        if code == 0:
            await ctx.commit(f"{brief.task_id}: work of {brief.agent_id}")
            await ctx.complete("command exited 0")
            return
        reason = _describe_exit(code)
        lines = [line for line in outputs[1].tail if line.strip()]
        if lines:
            reason = f"{reason}: {lines[-1].strip()}"
        if len(reason) > _MAX_REASON_CHARS:
            reason = reason[: _MAX_REASON_CHARS - 1] + "…"
        log.warning("agent_command_failed", code=code, stderr_tail=list(outputs[1].tail))
        await ctx.fail(reason, output="\n".join(outputs[1].tail))

    async def _watch(self, process: Process, outputs: Sequence[_Output], stdin: bytes) -> int:
        """Feed stdin, log the output, and return the exit status once the pipes drain."""
        async with anyio.create_task_group() as tg:
            assert process.stdin is not None
            tg.start_soon(_feed, process.stdin, stdin)
            for output in outputs:
                tg.start_soon(output.pump)
            code = await process.wait()
            with anyio.move_on_after(_DRAIN_SECONDS):
                for output in outputs:
                    await output.done.wait()
            tg.cancel_scope.cancel()
        return code

    async def _stop(self, process: Process, outputs: Sequence[_Output]) -> None:
        """SIGTERM, ``grace_seconds`` to exit (still logging its output), then SIGKILL."""
        log.info("agent_command_stopping", pid=process.pid, grace_seconds=self.grace_seconds)
        _signal_group(process, signal.SIGTERM)
        with anyio.move_on_after(self.grace_seconds):
            async with anyio.create_task_group() as tg:
                for output in outputs:
                    tg.start_soon(output.pump)
                await process.wait()
                tg.cancel_scope.cancel()
        if process.returncode is None:
            log.warning("agent_command_killed", pid=process.pid)
            _signal_group(process, signal.SIGKILL)
            await process.wait()
        log.info("agent_command_stopped", pid=process.pid, code=process.returncode)


async def _feed(stdin: ByteSendStream, data: bytes) -> None:
    """Write the brief and close stdin; a command that does not read it is no error."""
    try:
        await stdin.send(data)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass
    finally:
        await stdin.aclose()


def _signal_group(process: Process, signum: signal.Signals) -> None:
    # Only while the leader is unreaped: its pid, which names the group, cannot be reused
    # before then, so the signal cannot reach an unrelated process.
    if process.returncode is not None:
        return
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass
    except PermissionError:  # a member we may not signal (setuid); the child at least
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"command killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"command killed by signal {-code}"
    return f"command exited {code}"


__all__ = ["CREDENTIALS", "INHERITED", "CommandAgent", "command_environment"]
