"""``baton mcp``: Baton's agent tools as an MCP server on stdio, built with the ``mcp`` SDK
(docs/coding-agents.md). Each call but ``plan_status`` is carried out by the running daemon
through :mod:`agents.bridge`; ``plan_status`` only reads the plan."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from agents.bridge import BridgeUnavailable, call_tool
from orchestrator.cli.exit_codes import EXIT_OK, EXIT_USAGE
from orchestrator.config import ConfigError, load_config
from protocol import parse_plan

ToolFailed = ToolError  # the SDK shows its message to the model as the call's error


def build(environ: Mapping[str, str]) -> MCPServer:
    task_id = environ.get("BATON_TASK_ID", "")
    attempt = environ.get("BATON_ATTEMPT", "")
    plan_dir = Path(environ.get("BATON_PLAN_DIR", ".")).resolve()
    server = MCPServer("baton")

    async def carry_out(tool: str, args: dict[str, Any]) -> str:
        try:
            text, error = await call_tool(plan_dir, task_id, attempt, tool, args)
        except BridgeUnavailable as exc:
            raise ToolFailed(str(exc)) from None
        if error:
            raise ToolFailed(text)
        return text

    @server.tool(
        description="Send a message to another agent, to All, or to Orchestrator. "
        "type is one of Handoff, Question, Update, Blocker."
    )
    async def send_message(to: str, type: str, text: str) -> str:
        return await carry_out("send_message", {"to": to, "type": type, "text": text})

    @server.tool(
        description="Record a blocker in the plan and set your task Blocked. "
        "severity: Critical/High/Medium/Low; type: Dependency/Decision/Technical/"
        "Resource. List options as (1) ..., (2) ... and mark one (recommended)."
    )
    async def report_blocker(
        severity: str,
        type: str,
        description: str,
        required_resolution: str,
        escalate: bool = False,
    ) -> str:
        args = {
            "severity": severity,
            "type": type,
            "description": description,
            "required_resolution": required_resolution,
            "escalate": escalate,
        }
        return await carry_out("report_blocker", args)

    @server.tool(
        description="Finish your task: uncommitted work is committed and a Handoff "
        "goes to the tasks that depend on it. Give the summary and what only you know."
    )
    async def complete_task(
        summary: str,
        notes_for_downstream: str = "",
        artifacts: list[str] | None = None,
        context_references: list[str] | None = None,
    ) -> str:
        args: dict[str, Any] = {"summary": summary}
        if notes_for_downstream:
            args["notes_for_downstream"] = notes_for_downstream
        if artifacts:
            args["artifacts"] = artifacts
        if context_references:
            args["context_references"] = context_references
        return await carry_out("complete_task", args)

    @server.tool(description="Give up on your task, with the reason.")
    async def fail_task(reason: str) -> str:
        return await carry_out("fail_task", {"reason": reason})

    @server.tool(description="The messages delivered to you since you last asked.")
    async def read_inbox() -> str:
        return await carry_out("read_inbox", {})

    @server.tool(description="Every task of the plan with its status and agent (read only).")
    async def plan_status() -> str:
        try:
            config = load_config(plan_dir)
            plan = parse_plan(config.plan_path.read_text(encoding="utf-8"))
        except (OSError, ConfigError) as exc:
            raise ToolFailed(f"cannot read the plan: {exc}") from None
        return (
            "\n".join(f"{t.id}\t{t.status}\t{t.role}\t{t.description}" for t in plan.tasks)
            or "(no tasks)"
        )

    return server


def serve(environ: Mapping[str, str]) -> int:
    if not environ.get("BATON_TASK_ID") or not environ.get("BATON_ATTEMPT"):
        import sys

        print("baton mcp: set BATON_TASK_ID and BATON_ATTEMPT", file=sys.stderr)
        return EXIT_USAGE
    build(environ).run("stdio")
    return EXIT_OK


__all__ = ["build", "serve"]
