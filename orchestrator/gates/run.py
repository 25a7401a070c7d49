"""Running one gate on a task's worktree and judging its numbers (docs/user-guide.md,
"Quality gates"): the argv (never a shell line) runs in the worktree with a time limit, its
output goes to ``<out>/<gate>.<round>.log``, its report is moved beside it and read, and
each threshold is checked."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from orchestrator.gates.reports import ReportError, read_report
from orchestrator.gates.spec import GateSpec
from orchestrator.gates.thresholds import Threshold

__all__ = ["GateOutcome", "applicable", "run_gate", "summarize"]

_TAIL_CHARS = 3000
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")


@dataclass(frozen=True)
class GateOutcome:
    name: str
    check: str
    mandatory: bool
    passed: bool
    numbers: Mapping[str, float] = field(default_factory=dict)
    failed: tuple[str, ...] = ()  # the thresholds that did not hold, or why it could not run
    log: str = ""  # the output file
    tail: str = ""  # the end of the output

    @property
    def summary(self) -> str:
        return summarize(self.name, self.check, self.numbers, self.passed)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "check": self.check,
            "mandatory": self.mandatory,
            "passed": self.passed,
            "numbers": dict(self.numbers),
            "failed": list(self.failed),
            "log": self.log,
        }


def summarize(name: str, check: str, n: Mapping[str, float], passed: bool) -> str:
    """A gate's result in a few characters: ``tests 42/42``, ``cov 83%``, ``lint 0``,
    ``sec 0H``; a gate of another kind by its name."""
    if "tests" in n and "passed" in n:
        return f"tests {n['passed']:g}/{n['tests'] - n.get('skipped', 0):g}"
    if "statements" in n:
        return f"cov {n['statements']:.0f}%"
    if check == "lint" and "errors" in n:
        return f"lint {n['errors']:g}"
    if "high" in n and "critical" in n:
        return f"sec {n['high'] + n['critical']:g}H"
    return f"{name} {'ok' if passed else 'failed'}"


def applicable(
    spec: GateSpec, plan: Sequence[Threshold], numbers: Mapping[str, float]
) -> list[Threshold]:
    """The thresholds a gate is judged by: its own, then the plan's for metrics it reports
    and it does not bound itself (for its kind of check), then the defaults of its kind."""
    own = list(spec.thresholds)
    bound = {t.metric for t in own}
    for t in plan:
        if t.metric in numbers and t.metric not in bound and (not t.check or t.check == spec.check):
            own.append(t)
            bound.add(t.metric)
    defaults = {
        "exit": [Threshold("exit_code", "==", 0)],
        "junit": [
            Threshold("failed", "==", 0),
            Threshold("errors", "==", 0),
            Threshold("tests", ">", 0),
        ],
    }.get(spec.report, [])
    own += [t for t in defaults if t.metric not in bound]
    return own


async def run_gate(
    spec: GateSpec,
    worktree: Path,
    out: Path,
    round_: int,
    plan: Sequence[Threshold] = (),
    env: Mapping[str, str] | None = None,
) -> GateOutcome:
    """Run ``spec`` in ``worktree``; its output and report are kept under ``out``."""
    await anyio.to_thread.run_sync(lambda: out.mkdir(parents=True, exist_ok=True))
    log = out / f"{spec.name}.{round_}.log"
    report = (worktree / spec.file) if spec.file else None
    if report is not None:
        await anyio.to_thread.run_sync(lambda: report.unlink(missing_ok=True))  # not a stale one
    code, timed_out = await _run(spec, worktree, log, env)
    tail = await anyio.to_thread.run_sync(_tail, log)

    def outcome(
        passed: bool, failed: Sequence[str], numbers: Mapping[str, float] | None = None
    ) -> GateOutcome:
        return GateOutcome(
            spec.name,
            spec.check,
            spec.mandatory,
            passed,
            numbers or {},
            tuple(failed),
            str(log),
            tail,
        )

    if timed_out:
        why = f"timed out after {spec.timeout_seconds:g}s"
        return outcome(False, [why])
    try:
        kept = None
        if report is not None:
            kept = out / f"{spec.name}.{round_}{report.suffix}"
            await anyio.to_thread.run_sync(_take_report, report, worktree, kept)
        numbers = await anyio.to_thread.run_sync(read_report, spec.report, kept, code)
    except ReportError as exc:
        why = f"{exc} (exit status {code})"
        return outcome(False, [why], {"exit_code": float(code)})
    failed = []
    for t in applicable(spec, plan, numbers):
        if t.metric not in numbers:
            failed.append(f"{t} (not reported)")
        elif not t.holds(numbers[t.metric]):
            failed.append(f"{t.metric} {numbers[t.metric]:g}, needs {t.op} {t.value:g}")
    return outcome(not failed, failed, numbers)


def _take_report(report: Path, worktree: Path, kept: Path) -> None:
    """Move the report out of the worktree to ``kept``: the agent's next commit must not pick
    it up, and a report that is a symlink or lies outside the worktree is never read."""
    if not report.exists() and not report.is_symlink():
        raise ReportError(f"no report at {report}")
    if report.is_symlink() or not report.resolve().is_relative_to(worktree.resolve()):
        raise ReportError(f"{report.name} is not a file inside the worktree")
    shutil.move(report, kept)


async def _run(
    spec: GateSpec, worktree: Path, log: Path, env: Mapping[str, str] | None
) -> tuple[int, bool]:
    environ = {
        k: v for k, v in os.environ.items() if not any(w in k.upper() for w in _SECRET_WORDS)
    }
    environ.update(env or {})
    with log.open("wb") as sink:
        try:
            process = await anyio.open_process(
                list(spec.argv),
                cwd=worktree,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=environ,
                start_new_session=True,
            )
        except OSError as exc:
            sink.write(f"{spec.argv[0]}: {exc.strerror or exc}\n".encode())
            return 127, False
        async with process:
            with anyio.move_on_after(spec.timeout_seconds) as scope:
                await process.wait()
            if scope.cancelled_caught:
                _kill(process.pid)
                with anyio.CancelScope(shield=True):
                    await process.wait()
                return -9, True
    return int(process.returncode or 0), False


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, 9)


def _tail(log: Path) -> str:
    try:
        data = log.read_bytes()
    except OSError:
        return ""
    return data[-_TAIL_CHARS:].decode("utf-8", errors="replace")
