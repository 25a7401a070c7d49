"""The ``baton`` command line (docs/contract.md sec. 7).

Exit codes: 0 success, 1 the plan (or another input) is invalid or missing, 2 usage.
Errors are one line each, ``file:line: reason``, on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from orchestrator.cli.agent_tools import add_agent_commands
from orchestrator.cli.commands import COMMANDS
from orchestrator.cli.exit_codes import EXIT_USAGE
from orchestrator.config import BACKENDS
from protocol import MESSAGE_TYPES


def _version() -> str:
    try:
        return version("baton-orchestrator")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baton",
        description=(
            "Run a multi-agent software plan kept in markdown: Baton watches "
            "MULTI_AGENT_PLAN.md and INTER_AGENT_MESSAGES.md, starts each task in its own git "
            "worktree when its dependencies are done, and keeps the files up to date."
        ),
    )
    parser.add_argument("--version", action="version", version=f"baton {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--dir",
            type=Path,
            default=Path("."),
            metavar="D",
            help="the plan directory holding both markdown files (default: .)",
        )
        return p

    with_dir(
        sub.add_parser(
            "validate",
            help="check the plan and the message log",
            description="Parse and check both files; print every error as file:line: reason.",
        )
    )
    graph = with_dir(
        sub.add_parser(
            "graph",
            help="print the dependency graph and the critical path",
            description="Print the task graph: waves, edges and the critical path.",
        )
    )
    graph.add_argument(
        "--format",
        choices=("mermaid", "text"),
        default="text",
        help="mermaid (a flowchart coloured by status, critical path marked) or text",
    )
    graph.add_argument(
        "--write",
        action="store_true",
        help="write the mermaid chart into the plan under its Dependency Graph heading "
        "(replacing the one written before) instead of printing the graph",
    )
    with_dir(
        sub.add_parser(
            "init",
            help="write a new plan, message log and baton.toml from the template",
            description="Write MULTI_AGENT_PLAN.md (the template, dated now, with one task "
            "row to fill in), INTER_AGENT_MESSAGES.md and a baton.toml listing every setting "
            "with its default, commented out; add .baton/ to .gitignore. Never overwrites: if "
            "any of the three files exists, nothing is written.",
        )
    )
    status = with_dir(
        sub.add_parser(
            "status",
            help="show tasks, waves, blockers, pending messages and budget",
            description="Show the run as the files tell it: tasks, waves, open blockers, "
            "pending messages and cost against budget.",
        )
    )
    status_view = status.add_mutually_exclusive_group()
    status_view.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    status_view.add_argument(
        "--watch",
        action="store_true",
        help="a live full-screen view, redrawn when either file changes (Ctrl-C quits)",
    )
    gates = with_dir(
        sub.add_parser(
            "gates",
            help="run the quality gates on the tasks' worktrees now and print the table",
            description="Run each [gates.<name>] of baton.toml that applies to the task on "
            "its worktree, judged by its thresholds and the plan's Quality Gate Thresholds; "
            "exit 1 when a mandatory gate fails. Nothing is journaled.",
        )
    )
    gates.add_argument("--task", metavar="T", help="only this task (default: every task)")
    integrate = with_dir(
        sub.add_parser(
            "integrate",
            help="print the Go/No-Go and what a GO would merge and archive",
            description="Decide Go/No-Go on the plan as it stands and the journal's gate "
            "results; print its reasons, the commits a GO would integrate, in order, and the "
            "branches it would archive. Changes nothing; exit 0 only on GO.",
        )
    )
    integrate.add_argument(
        "--dry-run", action="store_true", help="show what would happen (the daemon integrates)"
    )
    approve = with_dir(
        sub.add_parser(
            "approve",
            help="approve a GO WITH CAUTION (tick its box in the plan)",
            description="Tick the Integration Summary's 'Approve integration with caution' "
            "box; the daemon then integrates.",
        )
    )
    approve.add_argument("--note", metavar="TEXT", help="why, written after the box")
    run = with_dir(
        sub.add_parser(
            "run",
            help="run the daemon in the foreground (what the systemd unit starts)",
            description="Watch the plan and message log, start ready tasks in their worktrees, "
            "run their agents and keep both files up to date. SIGTERM stops gracefully, "
            "SIGHUP reloads baton.toml.",
        )
    )
    run.add_argument(
        "--config", type=Path, metavar="F", help="baton.toml to use (default: D/baton.toml)"
    )
    run.add_argument(
        "--agents",
        choices=BACKENDS,
        metavar="BACKEND",
        help=f"one backend for every task ({', '.join(BACKENDS)})",
    )
    run.add_argument(
        "--log-format",
        choices=("json", "console"),
        help="json lines (the default when stdout is not a terminal) or console",
    )
    run.add_argument(
        "--rebuild-journal",
        action="store_true",
        help="when the journal in .baton/ is broken or missing, move it aside and rebuild it "
        "from the plan and the message log (nothing the log holds is sent again)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="start tasks even when a Pre-Execution Checklist item fails (logged)",
    )
    demo = sub.add_parser(
        "demo",
        help="run the template's example plan end to end with scripted agents",
        description="Build a throw-away git repository with the template's plan and run it to "
        "the end with scripted agents (no API key). Exit 0 only if every task ends Completed.",
    )
    demo.add_argument(
        "path",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="where to build it (default: a new temp dir)",
    )
    send = with_dir(
        sub.add_parser(
            "send",
            help="append a well-formed message to the message log",
            description="Append one message to INTER_AGENT_MESSAGES.md (created when missing), "
            "STATUS Sent, TIMESTAMP now. The daemon delivers it.",
        )
    )
    send.add_argument("--from", dest="sender", required=True, metavar="A", help="sender id")
    send.add_argument(
        "--to", required=True, metavar="B", help="an agent id, All, Orchestrator, or a comma list"
    )
    send.add_argument(
        "--type",
        required=True,
        choices=MESSAGE_TYPES,
        metavar="T",
        help=f"one of {', '.join(MESSAGE_TYPES)}",
    )
    send.add_argument("--task", metavar="T1", help="the task it is about")
    send.add_argument("--priority", metavar="P", help="e.g. High, Medium, Low")
    send.add_argument("--deadline", metavar="TS", help="ISO 8601; unresolved by then escalates")
    send.add_argument("text", metavar="TEXT", help="the message (its MESSAGE header)")
    service = sub.add_parser(
        "service",
        help="install a systemd unit that runs baton for a plan",
        description="Manage the systemd unit that runs `baton run` for one plan directory.",
    )
    service_actions = service.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = with_dir(
        service_actions.add_parser(
            "install",
            help="write, enable and start the unit for D",
            description="Write a hardened unit baton-<name of D>.service that runs `baton run "
            "--dir D`, then run systemctl daemon-reload and enable --now. System units run as "
            "user baton and read ANTHROPIC_API_KEY from /etc/baton/baton.env; user units from "
            "~/.config/baton/baton.env.",
        )
    )
    install.add_argument(
        "--user", action="store_true", help="a user unit (systemctl --user), not a system unit"
    )
    install.add_argument(
        "--unit-dir",
        type=Path,
        metavar="P",
        help="write the unit here (default: /etc/systemd/system, or ~/.config/systemd/user)",
    )
    install.add_argument(
        "--no-enable", action="store_true", help="write the unit but leave systemctl alone"
    )
    install.add_argument(
        "--print", action="store_true", help="print the unit instead of installing it"
    )
    for name, command in COMMANDS.items():
        sub.choices[name].set_defaults(func=command)
    add_agent_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    code: int = args.func(args)
    return code
