"""``baton status --watch``: the status view, full screen, redrawn when either file changes.

The screen is plain ANSI (alternate screen, clear and home, hidden cursor), so the view needs
no dependency and works over ssh in any terminal. It redraws on watchfiles events for the two
markdown files (the daemon's :class:`~orchestrator.watcher.DirectoryWatcher`, which sees
editors' rename-over saves), on a terminal resize, and once a minute so the elapsed-time
clocks and SLA countdowns move while nothing is saved.

``render`` is pure (inputs, timers, now and a size in; lines out), so what the view shows is
tested without a terminal; ``watch`` is the loop around it.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import anyio

from orchestrator.adapters.clock import parse_iso
from orchestrator.adapters.watcher import DirectoryWatcher
from orchestrator.cli import status_view as _views
from orchestrator.cli.inputs import InputError, Inputs, load_inputs
from protocol import BLOCKED, IN_PROGRESS
from protocol._errors import PLAN_FILE
from protocol._model import Plan
from protocol.messages import MESSAGES_FILE

ALT_SCREEN_ON, ALT_SCREEN_OFF = "\x1b[?1049h", "\x1b[?1049l"
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"
CLEAR_HOME = "\x1b[2J\x1b[H"
TICK_SECONDS = 60.0

Timers = Callable[[], Mapping[str, Any]]

# Statuses whose clock runs until now; any other status shows Started -> Completed or nothing.
_RUNNING = (IN_PROGRESS, BLOCKED)


def elapsed_seconds(plan: Plan, task_id: str, status: str, now: datetime) -> float | None:
    """Seconds from the Actual Execution Log's Started cell to its Completed cell, or to
    ``now`` while the task runs; None when the log does not say when it started."""
    row = plan.log_row(task_id)
    if row is None:
        return None
    started = parse_iso(row.started) if row.started else None
    if started is None:
        return None
    ended = parse_iso(row.completed) if row.completed else None
    if ended is None:
        if status not in _RUNNING:
            return None  # finished (or reset) without a Completed time: no clock to show
        ended = now
    return max(0.0, (ended - started).total_seconds())


def clock_text(seconds: float) -> str:
    """Elapsed time to the minute, as the view refreshes: 0m, 45m, 3h 05m."""
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def render(
    inputs: Inputs,
    *,
    now: datetime,
    width: int,
    height: int,
    timers: Mapping[str, Any] | None = None,
) -> list[str]:
    """The screen for ``inputs``: at most ``height`` lines of at most ``width`` characters,
    the last of them the footer. Summary lines come first, so a short terminal still shows
    cost, blockers and what waits for a person."""
    if inputs.plan_errors:
        body = [
            f"{inputs.plan_path}: {len(inputs.plan_errors)} error(s); "
            "the view resumes when the plan is valid again",
            "",
            *(str(e) for e in inputs.plan_errors),
        ]
        return _screen(body, inputs.plan_path.parent, now, width, height)
    data = _views.status_data(inputs, now=now, **(timers or {}))
    plan = inputs.plan
    counts = ", ".join(f"{n} {s}" for s, n in data["counts"].items() if n)
    cp = data["critical_path"]
    body = [
        f"{data['project'] or inputs.plan_path}  —  plan status: {data['status'] or '?'}",
        f"{len(data['tasks'])} tasks: {counts}   ready: {', '.join(data['ready']) or '-'}   "
        f"critical path {cp['hours']:g}h: {' -> '.join(cp['tasks']) or '-'}",
        f"{_cost(data)}   open blockers: {len(data['blockers'])}   "
        f"pending messages: {len(data['pending_messages'])}   "
        f"waiting for a person: {len(data['escalations'])}",
    ]
    if inputs.message_errors:
        body.append(
            f"{inputs.messages_path}: {len(inputs.message_errors)} error(s) (baton validate)"
        )
    body.append("")
    body.append(
        f"{'WAVE':>4}  {'TASK':<8} {'STATUS':<12} {'AGENT':<22} {'ELAPSED / EST':>16}  DESCRIPTION"
    )
    # Tasks by wave, the wave number on its first task only; tasks outside every wave last.
    ordered = sorted(data["tasks"], key=lambda t: t["wave"] or len(data["tasks"]) + 1)
    previous: object = None
    for t in ordered:
        wave = "" if t["wave"] == previous else str(t["wave"] or "-")
        previous = t["wave"]
        elapsed = elapsed_seconds(plan, t["id"], t["status"], now)
        task = plan.task(t["id"])
        estimate_hours = task.estimate_hours if task is not None else 0.0
        over = elapsed is not None and estimate_hours > 0 and elapsed > estimate_hours * 3600
        clock = "-" if elapsed is None else clock_text(elapsed)
        timing = f"{clock} / {t['estimate'] or '-'}" + (" !" if over else "  ")
        body.append(
            f"{wave:>4}  {t['id']:<8} {t['status']:<12} {t['agent_id']:<22} {timing:>16}  "
            f"{t['description']}"
        )
    body.append("")
    body.extend(_views.attention_lines(data))
    return _screen(body, inputs.plan_path.parent, now, width, height)


def render_error(
    message: str, directory: Path, *, now: datetime, width: int, height: int
) -> list[str]:
    """The screen while the plan cannot be read (moved away, unreadable)."""
    body = [message, "", "the view resumes when the file is back"]
    return _screen(body, directory, now, width, height)


def _cost(data: Mapping[str, Any]) -> str:
    spent = float(data["cost_usd"]["total"])
    budget = data["budget_usd"]
    if budget is None:
        return f"cost ${spent:.2f} (no budget in the plan)"
    share = f" ({spent / budget:.0%})" if budget > 0 else ""
    over = "  OVER BUDGET" if spent > budget else ""
    return f"cost ${spent:.2f} of ${budget:.2f}{share}{over}"


def _screen(body: list[str], directory: Path, now: datetime, width: int, height: int) -> list[str]:
    """``body`` clipped to the terminal, with the footer on the last line."""
    width, height = max(width, 20), max(height, 2)
    # What a narrow terminal must still show comes first.
    footer = (
        f"updated {now.astimezone().strftime('%H:%M:%S')}  ·  Ctrl-C quits  ·  {directory}  ·  "
        "redraws on save and every minute"
    )
    room = height - 1
    if len(body) > room:
        hidden = len(body) - room + 1
        body = [*body[: room - 1], f"… {hidden} more lines (a taller terminal shows them)"]
    return (
        [_clip(line, width) for line in body] + [""] * (room - len(body)) + [_clip(footer, width)]
    )


def _terminal_size() -> tuple[int, int]:
    columns, rows = shutil.get_terminal_size()
    return columns, rows


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


async def watch(
    directory: Path,
    out: TextIO,
    *,
    timers: Timers = dict,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    size: Callable[[], tuple[int, int]] = _terminal_size,
    tick_seconds: float = TICK_SECONDS,
    plan_file: str = PLAN_FILE,
    messages_file: str = MESSAGES_FILE,
) -> int:
    """Show the view on ``out`` until SIGINT, SIGTERM or SIGHUP; return 0.

    The terminal is put back (main screen, cursor shown) however the loop ends.
    """
    changed = anyio.Event()

    def wake(_: object = None) -> None:
        changed.set()

    def draw() -> None:
        columns, rows = size()
        moment = now()
        try:
            inputs = load_inputs(directory, plan_file, messages_file)
        except InputError as exc:
            lines = render_error(str(exc), directory, now=moment, width=columns, height=rows)
        else:
            lines = render(inputs, now=moment, width=columns, height=rows, timers=timers())
        out.write(CLEAR_HOME + "\n".join(lines))
        out.flush()

    async def redraw() -> None:
        nonlocal changed
        while True:
            # A fresh event before reading: a save during the read triggers one more redraw.
            changed = anyio.Event()
            await anyio.to_thread.run_sync(draw)  # file reads and the journal's SQLite
            with anyio.move_on_after(tick_seconds):
                await changed.wait()

    # The signal handlers go in before the first frame, so Ctrl-C always ends here, cleanly.
    with anyio.open_signal_receiver(
        signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGWINCH
    ) as received:
        out.write(ALT_SCREEN_ON + HIDE_CURSOR)
        out.flush()
        try:
            async with anyio.create_task_group() as tg:
                watcher = DirectoryWatcher(
                    directory, (plan_file, messages_file), max_debounce_ms=100
                )
                await tg.start(watcher.run, wake)  # armed before the first read: no save missed
                tg.start_soon(redraw)
                async for signum in received:
                    if signum == signal.SIGWINCH:
                        wake()
                        continue
                    tg.cancel_scope.cancel()
                    break
        finally:
            out.write(SHOW_CURSOR + ALT_SCREEN_OFF)
            out.flush()
    return 0


def run(directory: Path, out: TextIO, *, timers: Timers = dict) -> int:
    """``watch`` from synchronous code; a Ctrl-C before the handlers are in also exits 0."""
    try:
        return anyio.run(lambda: watch(directory, out, timers=timers))
    except KeyboardInterrupt:  # outside the handlers' scope: the main screen is showing
        out.write(SHOW_CURSOR)
        out.flush()
        return 0
