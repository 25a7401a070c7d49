"""Stand-in ``claude`` and ``codex`` executables: they print event streams in the formats
docs/coding-agents.md lists, as the real CLIs do, following a scenario file.

A scenario is JSON: ``{"fresh": [steps], "resume": [steps]}``, each step one of
``{"emit": event}`` (``$SESSION`` in strings becomes the session id), ``{"stderr": text}``,
``{"write": path}`` (a file in the worktree), ``{"hang": true}`` (write the pid file, then
sleep; ``hang_once``: only the first time), ``{"refuse": true}`` (exit 1 as a CLI does
for an unknown session) and ``{"exit": code}``. Every invocation is appended to
``calls.jsonl``: argv, stdin, the API key it was given, its pid and task.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

_SCRIPT = r"""#!{python}
import json, os, pathlib, sys, time
HERE = pathlib.Path({here!r})
KIND = {kind!r}
argv = sys.argv[1:]
stdin = sys.stdin.read() if not sys.stdin.isatty() else ""
scenario = json.loads((HERE / "scenario.json").read_text())
if KIND == "claude":
    resumed = argv[argv.index("--resume") + 1] if "--resume" in argv else None
else:
    resumed = argv[argv.index("resume") + 1] if "resume" in argv else None
with open(HERE / "calls.jsonl", "a") as f:
    f.write(json.dumps({{"kind": KIND, "argv": argv, "stdin": stdin, "resumed": resumed,
        "key": os.environ.get("ANTHROPIC_API_KEY", ""), "pid": os.getpid(),
        "task": os.environ.get("BATON_TASK_ID")}}) + "\n")
session = resumed or scenario.get("session", "sess-0001")
def fill(value):
    if isinstance(value, str):
        return value.replace("$SESSION", session)
    if isinstance(value, list):
        return [fill(v) for v in value]
    if isinstance(value, dict):
        return {{k: fill(v) for k, v in value.items()}}
    return value
for step in scenario["resume" if resumed else "fresh"]:
    if "emit" in step:
        sys.stdout.write(json.dumps(fill(step["emit"])) + "\n")
        sys.stdout.flush()
    elif "stderr" in step:
        sys.stderr.write(step["stderr"] + "\n")
        sys.stderr.flush()
    elif "write" in step:
        pathlib.Path(step["write"]).write_text("work\n")
    elif "hang" in step or "hang_once" in step:
        if "hang_once" in step:
            if (HERE / "hung").exists():
                continue
            (HERE / "hung").write_text("")
        tmp = HERE / "pid.tmp"
        tmp.write_text(str(os.getpid()))
        os.replace(tmp, HERE / f"{{KIND}}.pid")
        time.sleep(60)
    elif "refuse" in step:
        sys.stderr.write(f"No conversation found with session ID: {{resumed}}\n")
        sys.exit(1)
    elif "exit" in step:
        sys.exit(step["exit"])
"""


def install(folder: Path, scenario: dict[str, Any]) -> Path:
    """Write both stand-ins and ``scenario`` into ``folder``; returns the bin folder, to put
    first on PATH."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for kind in ("claude", "codex"):
        path = bin_dir / kind
        path.write_text(_SCRIPT.format(python=sys.executable, here=str(folder), kind=kind))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (folder / "scenario.json").write_text(json.dumps(scenario))
    return bin_dir


def calls(folder: Path) -> list[dict[str, Any]]:
    try:
        lines = (folder / "calls.jsonl").read_text().splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines]


def path_with(bin_dir: Path) -> str:
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


__all__ = ["calls", "install", "path_with"]
