"""baton status --watch: the live view under a real pseudo-terminal, and its pure renderer."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.cli import live_view as _watch
from orchestrator.cli import main
from orchestrator.cli.inputs import load_inputs
from protocol import parse_plan, set_cell, set_log_cells

TEMPLATE = Path(__file__).parent.parent / "fixtures" / "plans" / "template.md"
ROOT = Path(__file__).parent.parent.parent
ROWS, COLUMNS = 40, 140
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def plan_dir(tmp_path: Path) -> Path:
    shutil.copy(TEMPLATE, tmp_path / "MULTI_AGENT_PLAN.md")
    return tmp_path


def edit_plan(plan_dir: Path, change: Callable[[str], str]) -> None:
    """Rewrite the plan as an editor does: a new file renamed over the old one."""
    path = plan_dir / "MULTI_AGENT_PLAN.md"
    temp = plan_dir / ".MULTI_AGENT_PLAN.md.tmp"
    temp.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    os.replace(temp, path)


class Terminal:
    """The master side of a pty running a child; collects everything the child writes."""

    def __init__(self, master: int, proc: subprocess.Popen[bytes]) -> None:
        self.master = master
        self.proc = proc
        self.output = b""
        self.eof = False

    def _read(self, timeout: float) -> None:
        if self.eof:
            time.sleep(min(timeout, 0.01))  # nothing more will come; let the child's exit land
            return
        ready, _, _ = select.select([self.master], [], [], max(0.0, timeout))
        if not ready:
            return
        try:
            chunk = os.read(self.master, 65536)
        except OSError as exc:  # EIO: every slave fd is closed, the child is gone
            if exc.errno != errno.EIO:
                raise
            chunk = b""
        if chunk:
            self.output += chunk
        else:
            self.eof = True

    def wait_for(self, pattern: str, since: int = 0, seconds: float = 5.0) -> int:
        """Read until ``pattern`` shows in the output after offset ``since``; its end offset."""
        deadline = time.monotonic() + seconds
        regex = re.compile(pattern.encode())
        while (found := regex.search(self.output, since)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or (self.eof and self.proc.poll() is not None):
                text = self.output[since:].decode(errors="replace")
                raise AssertionError(f"{pattern!r} not shown; the terminal got {text!r}")
            self._read(left)
        return found.end()

    def wait_exit(self, seconds: float = 5.0) -> int:
        """Drain the output (so the child never blocks writing) until it exits."""
        deadline = time.monotonic() + seconds
        while (code := self.proc.poll()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("the view did not exit")
            self._read(min(left, 0.05))
        while not self.eof:  # whatever it wrote last is still in the pty
            ready, _, _ = select.select([self.master], [], [], 0)
            if not ready:
                break
            self._read(0)
        return code


@pytest.fixture
def terminal(plan_dir: Path) -> Iterator[Callable[..., Terminal]]:
    started: list[Terminal] = []

    def start(*args: str) -> Terminal:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env["TZ"] = "UTC"
        proc = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=env,
        )
        os.close(slave)  # ours; reads on the master then end with EIO once the child exits
        term = Terminal(master, proc)
        started.append(term)
        return term

    yield start
    for term in started:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()
        os.close(term.master)


def test_watch_redraws_on_save_and_ctrl_c_restores_the_cursor(
    plan_dir: Path, terminal: Callable[..., Terminal]
) -> None:
    """The view shows each task's status, redraws when the plan is saved, and Ctrl-C exits 0
    with the cursor shown again."""
    term = terminal("status", "--watch", "--dir", str(plan_dir))
    first = term.wait_for(r"\x1b\[\?25l")  # cursor hidden: the view is up
    first = term.wait_for(r"T1 +Not Started +architect-001 +- / 1h", since=first)

    started = (datetime.now(UTC) - timedelta(minutes=75)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def start_t1(text: str) -> str:
        text = set_cell(text, parse_plan(text), "T1", "Status", "In Progress")
        return set_log_cells(text, parse_plan(text), "T1", {"Started": started})

    edit_plan(plan_dir, start_t1)
    # 75 minutes against a 1h estimate: the clock runs from Started and is marked over.
    term.wait_for(r"T1 +In Progress +architect-001 +1h 1[56]m / 1h !", since=first)

    term.proc.send_signal(signal.SIGINT)
    assert term.wait_exit() == 0
    assert term.output.rstrip(b"\r\n").endswith(_watch.SHOW_CURSOR.encode() + b"\x1b[?1049l")


def test_watch_needs_a_terminal(plan_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With stdout not a terminal, --watch says so in one line and exits 2."""
    assert main(["status", "--watch", "--dir", str(plan_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert "needs a terminal" in line


def test_watch_and_json_is_a_usage_error(
    plan_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--watch with --json is refused as usage (exit 2)."""
    with pytest.raises(SystemExit) as exited:
        main(["status", "--watch", "--json", "--dir", str(plan_dir)])
    assert exited.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_render_fits_the_terminal(plan_dir: Path) -> None:
    """Every line fits the width, the screen is exactly the height, the footer is last, and
    the summary with cost and what waits for a person stays on a short terminal."""
    inputs = load_inputs(plan_dir)
    lines = _watch.render(inputs, now=NOW, width=60, height=8, timers={"costs": {"T1": 1.25}})
    assert len(lines) == 8
    assert all(len(line) <= 60 for line in lines)
    assert "cost $1.25 of $5.00 (25%)" in lines[2]
    assert "more lines" in lines[-2]
    assert lines[-1].startswith("updated ")
    assert "Ctrl-C quits" in lines[-1]


def test_render_elapsed_against_estimate(plan_dir: Path) -> None:
    """Elapsed runs from Started to now while a task runs, stops at Completed, and is marked
    when it passes the estimate."""
    text = (plan_dir / "MULTI_AGENT_PLAN.md").read_text(encoding="utf-8")
    for task_id, status, log in (
        (
            "T1",
            "Completed",
            {"Started": "2026-01-01T09:00:00Z", "Completed": "2026-01-01T09:40:00Z"},
        ),
        ("T2", "In Progress", {"Started": "2026-01-01T11:15:00Z"}),
        ("T3", "In Progress", {"Started": "2026-01-01T08:30:00Z"}),
    ):
        text = set_cell(text, parse_plan(text), task_id, "Status", status)
        text = set_log_cells(text, parse_plan(text), task_id, log)
    (plan_dir / "MULTI_AGENT_PLAN.md").write_text(text, encoding="utf-8")
    screen = "\n".join(_watch.render(load_inputs(plan_dir), now=NOW, width=200, height=60))
    assert re.search(r"T1 +Completed .* 40m / 1h  ", screen)
    assert re.search(r"T2 +In Progress .* 45m / 3h  ", screen)
    assert re.search(r"T3 +In Progress .* 3h 30m / 3h !", screen)
    assert re.search(r"T4 +Not Started .* - / 3h  ", screen)


def test_render_blockers_with_sla_left(plan_dir: Path) -> None:
    """An open escalated blocker shows its SLA minutes left and waits for a person."""
    entry = (
        "\n### T1 - architect-001 - 2026-01-01 09:00\n**Severity:** High\n"
        "**Blocker Type:** Decision\n**Description:** Which cloud?\n"
        "**Required Resolution:** A person picks\n**Escalation:** Yes\n"
        "**Triage:** 2026-01-01 09:00 - Escalated to a person: a decision is needed.\n\n"
    )
    edit_plan(
        plan_dir, lambda t: t.replace("\n## Execution Timeline", entry + "## Execution Timeline", 1)
    )
    seen = {"blocker_seen:T1|architect-001|2026-01-01 09:00": "2026-01-01T11:56:00Z"}
    lines = _watch.render(
        load_inputs(plan_dir), now=NOW, width=120, height=40, timers={"seen": seen}
    )
    assert "open blockers: 1" in lines[2]
    assert "waiting for a person: 1" in lines[2]
    assert any(
        re.fullmatch(r"  T1 \(High\) line \d+: needs a person, SLA 6 min left", x) for x in lines
    )
