"""``baton task complete|fail|block`` and ``baton mcp``: Baton's agent tools for a
coding-agent CLI, as plain commands and as an MCP server on stdio (docs/coding-agents.md).

Both act for the task named by ``BATON_TASK_ID`` and ``BATON_ATTEMPT`` (set in every CLI
agent's environment) in the plan of ``BATON_PLAN_DIR``, through the running daemon
(:mod:`agents.bridge`); with no daemon running they say so and change nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from agents.bridge import BridgeUnavailable, call_tool
from orchestrator.cli.exit_codes import EXIT_INVALID, EXIT_OK, EXIT_USAGE

SEVERITIES = ("Critical", "High", "Medium", "Low")
KINDS = ("Dependency", "Decision", "Technical", "Resource")


def add_agent_commands(sub: Any) -> None:
    """Register ``task`` and ``mcp`` on the ``baton`` parser's subcommands."""
    task = sub.add_parser(
        "task",
        help="finish, fail or block the current agent's task (for CLI agents)",
        description="Act for the task in BATON_TASK_ID / BATON_ATTEMPT through the running "
        "daemon, as the claude backend's complete_task, fail_task and report_blocker do.",
    )
    actions = task.add_subparsers(dest="action", metavar="ACTION", required=True)
    complete = actions.add_parser("complete", help="complete the task, with a summary")
    complete.add_argument("summary", metavar="SUMMARY")
    complete.add_argument("--notes", default="", help="notes for the downstream tasks")
    fail = actions.add_parser("fail", help="give up on the task, with the reason")
    fail.add_argument("reason", metavar="REASON")
    block = actions.add_parser("block", help="record a blocker and set the task Blocked")
    block.add_argument("description", metavar="DESCRIPTION")
    block.add_argument("--resolution", required=True, help="what would resolve it")
    block.add_argument("--severity", choices=SEVERITIES, default="High")
    block.add_argument("--type", dest="kind", choices=KINDS, default="Technical")
    block.add_argument("--escalate", action="store_true", help="a person must decide")
    for p in (complete, fail, block):
        p.add_argument("--task", default=None, help="default: $BATON_TASK_ID")
        p.add_argument("--attempt", default=None, help="default: $BATON_ATTEMPT")
        p.add_argument("--dir", type=Path, default=None, help="default: $BATON_PLAN_DIR or .")
    task.set_defaults(func=_task)
    mcp = sub.add_parser(
        "mcp",
        help="serve Baton's agent tools over MCP on stdio (started by the CLI agent)",
        description="An MCP server on stdio with send_message, report_blocker, complete_task, "
        "fail_task, read_inbox and plan_status, for the task in BATON_TASK_ID.",
    )
    mcp.set_defaults(func=_mcp)


def _task(args: argparse.Namespace) -> int:
    env = os.environ
    task_id = args.task or env.get("BATON_TASK_ID")
    attempt = args.attempt or env.get("BATON_ATTEMPT")
    if not task_id or not attempt:
        print(
            "baton: no task: set BATON_TASK_ID and BATON_ATTEMPT, or pass --task and --attempt",
            file=sys.stderr,
        )
        return EXIT_USAGE
    plan_dir = (args.dir or Path(env.get("BATON_PLAN_DIR", "."))).resolve()
    tool, fields = _request(args)
    try:
        text, error = anyio.run(call_tool, plan_dir, task_id, attempt, tool, fields)
    except BridgeUnavailable as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(text, file=sys.stderr if error else sys.stdout)
    return EXIT_INVALID if error else EXIT_OK


def _request(args: argparse.Namespace) -> tuple[str, Mapping[str, Any]]:
    if args.action == "complete":
        fields: dict[str, Any] = {"summary": args.summary}
        if args.notes:
            fields["notes_for_downstream"] = args.notes
        return "complete_task", fields
    if args.action == "fail":
        return "fail_task", {"reason": args.reason}
    return "report_blocker", {
        "severity": args.severity,
        "type": args.kind,
        "description": args.description,
        "required_resolution": args.resolution,
        "escalate": args.escalate,
    }


def _mcp(args: argparse.Namespace) -> int:
    from orchestrator.cli.mcp_server import serve  # the SDK is big: load it only here

    return serve(os.environ)


__all__ = ["add_agent_commands"]
