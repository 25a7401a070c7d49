"""One daemon per plan directory: an exclusive lock in ``.baton/`` (docs/operations.md)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

BATON = str(Path(sys.executable).with_name("baton"))


def start(repo: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [BATON, "run", "--dir", str(repo), "--agents", "manual", "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_ready(proc: subprocess.Popen[bytes]) -> None:
    """Read the daemon's JSON log up to daemon_ready (its stdout stays a pipe we never fill:
    an idle manual run logs a few lines only)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if b'"daemon_ready"' in line:
            return
    raise AssertionError(f"the daemon exited before it was ready: {proc.stderr!r}")


def baton(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BATON, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(120)
def test_a_second_daemon_exits_1_naming_the_first(plan_repo: Path) -> None:
    """While one `baton run` holds the directory, a second exits 1 with one line naming the
    first's pid and the lock; read-only commands still work; the lock goes with the daemon."""
    with start(plan_repo) as first:
        try:
            wait_ready(first)
            second = baton("run", "--dir", str(plan_repo), "--agents", "manual")
            lock = plan_repo.resolve() / ".baton" / "lock"
            assert second.returncode == 1
            assert second.stderr == f"baton: another baton run (pid {first.pid}) holds {lock}\n"
            assert baton("status", "--dir", str(plan_repo)).returncode == 0
            assert baton("validate", "--dir", str(plan_repo)).returncode == 0
            assert baton("graph", "--dir", str(plan_repo)).returncode == 0
        finally:
            first.send_signal(signal.SIGKILL)  # the kernel releases a flock on any death
            first.wait(timeout=30)
    with start(plan_repo) as third:
        try:
            wait_ready(third)
        finally:
            third.send_signal(signal.SIGTERM)
            assert third.wait(timeout=30) == 0
