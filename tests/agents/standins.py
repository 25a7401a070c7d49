"""Stand-in ``claude`` and ``codex`` executables: they print event streams in the formats
docs/coding-agents.md lists, as the real CLIs do, following a scenario file.

A scenario is JSON: ``{"fresh": [steps], "resume": [steps]}``, each step one of
``{"emit": event}`` (``$SESSION`` in strings becomes the session id), ``{"stderr": text}``,
``{"write": path}`` (a file in the worktree), ``{"hang": true}`` (write the pid file, then
sleep; ``hang_once``: only the first time), ``{"refuse": true}`` (exit 1 as a CLI does
for an unknown session), ``{"exit": code}``, ``{"mcp": {"tool", "args"}}`` (call a Baton
tool as a real MCP client, the SDK's stdio client; the result goes to ``mcp.jsonl``) and
``{"run": [args]}`` (run ``baton ARGS``; ``run.jsonl``). Every invocation is appended to
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
def mcp_server():
    # The baton server as the CLI was told of it: a config file or -c overrides.
    if KIND == "claude":
        path = argv[argv.index("--mcp-config") + 1]
        return json.loads(pathlib.Path(path).read_text())["mcpServers"]["baton"]
    import tomllib
    server = {{}}
    for flag, value in zip(argv, argv[1:]):
        if flag == "-c" and value.startswith("mcp_servers.baton."):
            key, _, toml = value[len("mcp_servers.baton."):].partition("=")
            server[key] = tomllib.loads("v = " + toml)["v"]
    return server
def mcp_call(tool, args):
    # Call the tool as a real MCP client would: the SDK's stdio client.
    import anyio
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client
    server = mcp_server()
    params = StdioServerParameters(command=server["command"], args=server["args"],
                                   env=server.get("env"))
    async def go():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                result = await session.call_tool(tool, args)
                text = " ".join(getattr(c, "text", "") for c in result.content)
                return {{"is_error": bool(result.is_error), "text": text}}
    return anyio.run(go)
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
    elif "mcp" in step:
        tool = step["mcp"]["tool"]
        record = {{"tool": tool, **mcp_call(tool, step["mcp"]["args"])}}
        with open(HERE / "mcp.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
    elif "run" in step:
        import subprocess
        done = subprocess.run([sys.executable, "-m", "orchestrator.cli", *step["run"]],
                              capture_output=True, text=True)
        with open(HERE / "run.jsonl", "a") as f:
            out = done.stdout + done.stderr
            f.write(json.dumps({{"code": done.returncode, "out": out}}) + "\n")
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
