"""The tools a model agent may call (docs/contract.md sec. 6), with their JSON schemas.

File tools resolve the path (symlinks followed) and refuse anything outside the worktree or
inside ``.git``; ``run_command`` runs in the worktree with a time limit, an output cap and a
minimal environment that holds no API key. Every refusal is a tool error the model sees.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from agents.base import AgentContext, Blocker, HandoffReport

_OUTPUT_CAP = 20_000  # characters of command output given back to the model
_READ_CAP = 200_000  # characters of a file given back to the model
_SAFE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "USER", "TMPDIR")


class ToolError(Exception):
    """The call cannot be carried out; the message goes back to the model as an error."""


def confine(root: Path, relative: str) -> Path:
    """``relative`` resolved inside ``root``; raises ToolError when it leaves it or enters
    ``.git``. Symlinks are followed before the check, so a link out is refused too."""
    base = root.resolve()
    if not relative or "\x00" in relative:
        raise ToolError("a path is required")
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise ToolError(f"{relative!r} is outside the worktree")
    if target.relative_to(base).parts[:1] == (".git",):
        raise ToolError(f"{relative!r} is inside .git")
    return target


def confine_read(root: Path, relative: str, inputs: Sequence[Path] = ()) -> Path:
    """Like :func:`confine`, but a path may also lie in one of ``inputs`` (the worktrees of
    the task's dependencies, e.g. ``../oauth/src/app.py``): for reading only."""
    try:
        return confine(root, relative)
    except ToolError as exc:
        if not inputs or "outside" not in str(exc):
            raise
    target = (root.resolve() / relative).resolve()
    for other in inputs:
        base = other.resolve()
        if target == base or base in target.parents:
            if target.relative_to(base).parts[:1] == (".git",):
                raise ToolError(f"{relative!r} is inside .git")
            return target
    raise ToolError(f"{relative!r} is outside the worktree and its inputs")


def _schema(properties: Mapping[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "properties": dict(properties), "required": list(required)}


_STR = {"type": "string"}
_STRINGS = {"type": "array", "items": _STR}
TOOLS: list[dict[str, Any]] = [
    {
        "name": "read_file",
        "description": (
            "Read a text file of the task's worktree. Paths are relative to it; a "
            "dependency's worktree is readable too, e.g. ../<its folder>/<path>."
        ),
        "input_schema": _schema({"path": _STR}, "path"),
    },
    {
        "name": "write_file",
        "description": "Create or replace a file in the worktree with the given content.",
        "input_schema": _schema({"path": _STR, "content": _STR}, "path", "content"),
    },
    {
        "name": "edit_file",
        "description": "Replace one exact occurrence of old_text by new_text in a file.",
        "input_schema": _schema(
            {"path": _STR, "old_text": _STR, "new_text": _STR}, "path", "old_text", "new_text"
        ),
    },
    {
        "name": "list_files",
        "description": (
            "List the files under a folder of the worktree (default: its root) or of a "
            "dependency's worktree (../<its folder>)."
        ),
        "input_schema": _schema({"path": _STR}),
    },
    {
        "name": "run_command",
        "description": "Run a shell command in the worktree (tests, linters, builds). It has a "
        "time limit and its output is cut to the last 20,000 characters.",
        "input_schema": _schema({"command": _STR}, "command"),
    },
    {
        "name": "send_message",
        "description": "Send a message to another agent, to All, or to Orchestrator.",
        "input_schema": _schema(
            {
                "to": _STR,
                "type": {"enum": ["Handoff", "Question", "Update", "Blocker"]},
                "text": _STR,
            },
            "to",
            "type",
            "text",
        ),
    },
    {
        "name": "report_blocker",
        "description": "Record a blocker in the plan and wait for its resolution. List the "
        "options as (1) ..., (2) ... and mark one (recommended) if you have a preference.",
        "input_schema": _schema(
            {
                "severity": {"enum": ["Critical", "High", "Medium", "Low"]},
                "type": {"enum": ["Dependency", "Decision", "Technical", "Resource"]},
                "description": _STR,
                "required_resolution": _STR,
                "escalate": {"type": "boolean"},
            },
            "severity",
            "type",
            "description",
            "required_resolution",
        ),
    },
    {
        "name": "complete_task",
        "description": "Finish the task: uncommitted work is committed, and a Handoff in the "
        "template's four sections goes to the tasks that depend on this one. Baton adds the "
        "branch, commits and files; you give the summary and what only you know.",
        "input_schema": _schema(
            {
                "summary": _STR,
                "notes_for_downstream": _STR,
                "artifacts": _STRINGS,
                "context_references": {
                    "type": "array",
                    "items": _STR,
                    "description": "Key places of your work, as @path:line",
                },
                "validation": {
                    "type": "object",
                    "properties": {
                        "tests_passed": {"type": "integer"},
                        "tests_total": {"type": "integer"},
                        "lint_errors": {"type": "integer"},
                        "docs_updated": {"type": "boolean"},
                        "self_review": {"type": "boolean"},
                    },
                },
            },
            "summary",
        ),
    },
    {
        "name": "fail_task",
        "description": "Give up on the task, with the reason.",
        "input_schema": _schema({"reason": _STR}, "reason"),
    },
]


_HANDOFF_FIELDS = {"notes_for_downstream", "artifacts", "context_references", "validation"}


@dataclass
class Outcome:
    text: str
    error: bool = False
    finished: bool = False  # complete_task or fail_task was carried out
    blocked: bool = False  # a blocker was reported: wait for its resolution


class Toolbox:
    def __init__(self, ctx: AgentContext, *, command_timeout: float = 600.0) -> None:
        self.ctx = ctx
        self.root = ctx.brief.worktree
        self.command_timeout = command_timeout

    async def call(self, name: str, args: Mapping[str, Any]) -> Outcome:
        handler = getattr(self, f"_{name}", None)
        if name not in {t["name"] for t in TOOLS} or handler is None:
            return Outcome(f"unknown tool {name!r}", error=True)
        try:
            result: Outcome = await handler(**args)
        except ToolError as exc:
            return Outcome(str(exc), error=True)
        except TypeError as exc:
            return Outcome(f"bad arguments for {name}: {exc}", error=True)
        except OSError as exc:
            return Outcome(f"{name} failed: {exc.strerror or exc}", error=True)
        return result

    def _readable(self, path: str) -> Path:
        return confine_read(self.root, path, [p for _, p in self.ctx.brief.inputs])

    async def _read_file(self, path: str) -> Outcome:
        target = self._readable(path)
        text = await anyio.to_thread.run_sync(lambda: target.read_text("utf-8", "replace"))
        return Outcome(text[:_READ_CAP])

    async def _write_file(self, path: str, content: str) -> Outcome:
        target = confine(self.root, path)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")

        await anyio.to_thread.run_sync(write)
        return Outcome(f"wrote {len(content)} characters to {path}")

    async def _edit_file(self, path: str, old_text: str, new_text: str) -> Outcome:
        target = confine(self.root, path)
        text = await anyio.to_thread.run_sync(lambda: target.read_text("utf-8"))
        count = text.count(old_text) if old_text else 0
        if count != 1:
            raise ToolError(f"old_text occurs {count} times in {path}; it must occur once")
        new = text.replace(old_text, new_text, 1)
        await anyio.to_thread.run_sync(lambda: target.write_text(new, encoding="utf-8"))
        return Outcome(f"edited {path}")

    async def _list_files(self, path: str = ".") -> Outcome:
        folder = self._readable(path) if path not in ("", ".") else self.root.resolve()

        def walk() -> list[str]:
            out: list[str] = []
            for dirpath, dirnames, filenames in os.walk(folder):
                dirnames[:] = sorted(d for d in dirnames if d != ".git")
                rel = Path(os.path.relpath(dirpath, self.root.resolve()))
                out.extend(str(rel / f) for f in sorted(filenames))
                if len(out) > 2000:
                    break
            return out

        return Outcome("\n".join(await anyio.to_thread.run_sync(walk)) or "(no files)")

    async def _run_command(self, command: str) -> Outcome:
        env = {k: os.environ[k] for k in _SAFE_ENV if k in os.environ}
        env["BATON_TASK_ID"] = self.ctx.brief.task_id
        result = None
        with anyio.move_on_after(self.command_timeout):
            result = await anyio.run_process(
                ["/bin/sh", "-c", command],
                cwd=self.root,
                env=env,
                check=False,
                stderr=-2,  # subprocess.STDOUT: one stream, in order
            )
        if result is None:
            return Outcome(f"timed out after {self.command_timeout:g}s", error=True)
        output = result.stdout.decode("utf-8", "replace")[-_OUTPUT_CAP:]
        return Outcome(f"exit code {result.returncode}\n{output}", error=result.returncode != 0)

    async def _send_message(self, to: str, type: str, text: str) -> Outcome:
        await self.ctx.send_message(to, type, text)
        return Outcome(f"sent {type} to {to}")

    async def _report_blocker(
        self,
        severity: str,
        type: str,
        description: str,
        required_resolution: str,
        escalate: bool = False,
    ) -> Outcome:
        await self.ctx.report_blocker(
            Blocker(severity, type, description, required_resolution, escalate)
        )
        return Outcome("blocker recorded; waiting for its resolution", blocked=True)

    async def _complete_task(self, summary: str, **handoff: Any) -> Outcome:
        unknown = set(handoff) - {
            "notes_for_downstream",
            "artifacts",
            "context_references",
            "validation",
        }
        if unknown:
            raise ToolError(f"complete_task takes no {', '.join(sorted(unknown))}")
        refused = await self.ctx.complete(summary, HandoffReport.from_fields(handoff))
        if refused:  # a quality gate failed: the task is not done yet
            return Outcome(f"not completed: {refused}", error=True)
        return Outcome("task completed", finished=True)

    async def _fail_task(self, reason: str) -> Outcome:
        await self.ctx.fail(reason)
        return Outcome("task failed", finished=True)
