"""The ``baton`` command line (docs/user-guide.md).

Exit codes: 0 success, 1 the plan (or another input) is invalid or missing, 2 usage.
Errors are one line each, ``file:line: reason``, on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import anyio
import structlog

from orchestrator import _views, logs
from orchestrator._inputs import InputError, load_inputs
from orchestrator.config import BACKENDS, ConfigError, load_config
from protocol import MESSAGE_TYPES

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
_REBUILD_HINT = (
    "baton run --rebuild-journal moves it aside and rebuilds it from the plan and the message log"
)


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.command == "run":
        return _run(args)
    if args.command == "demo":
        from orchestrator.demo import run_demo

        # The demo prints its own progress lines; the log shows only what went wrong.
        logs.configure("console", stream=sys.stderr, level=logging.WARNING)
        return anyio.run(run_demo, args.path)
    if args.command == "service":
        from orchestrator import service

        kind: service.Kind = "user" if args.user else "system"
        try:
            if args.print:
                print(service.plan_unit(kind, args.dir).text, end="")
                return EXIT_OK
            path = service.install(
                kind, args.dir, unit_dir=args.unit_dir, enable=not args.no_enable
            )
        except (ConfigError, service.ServiceError) as exc:
            print(f"baton: {exc}", file=sys.stderr)
            return EXIT_INVALID
        print(f"wrote {path}" if args.no_enable else f"wrote {path}, enabled and started it")
        return EXIT_OK
    if args.command == "send":
        from orchestrator._send import send

        return send(args)
    if args.command == "init":
        return _init(args.dir)
    if args.command == "status" and args.watch and not sys.stdout.isatty():
        print("baton: status --watch needs a terminal (use --json for scripts)", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = load_config(args.dir)
        inputs = load_inputs(
            args.dir,
            config.plan_file,
            config.messages_file,
            worktree_parent=config.worktrees_dir,
            max_plan_mb=config.max_plan_mb,
        )
    except (ConfigError, InputError) as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for error in inputs.errors:
        print(error, file=sys.stderr)
    for warning in inputs.plan.warnings:
        print(_views.warning_line(warning), file=sys.stderr)
    if args.command == "validate":
        if inputs.errors:
            print(f"baton: {len(inputs.errors)} error(s)", file=sys.stderr)
            return EXIT_INVALID
        print(_views.summary(inputs))
        return EXIT_OK
    if inputs.plan_errors:
        if args.command == "status" and args.json:
            print(json.dumps(_views.invalid_data(inputs), indent=2))
        return EXIT_INVALID
    if args.command == "graph" and args.write:
        return _write_graph(inputs.plan_path, config.worktrees_dir)
    if args.command == "graph":
        text = (
            _views.mermaid(inputs.plan) if args.format == "mermaid" else _views.graph(inputs.plan)
        )
        print(text)
        return EXIT_OK
    if args.command == "status":
        if args.watch:
            from orchestrator import _watch

            # A warning from the file watcher goes to stderr, not into the drawn screen.
            logs.configure("console", stream=sys.stderr, level=logging.WARNING)
            return _watch.run(args.dir, sys.stdout, timers=lambda: _triage_timers(args.dir))
        timers = _triage_timers(args.dir)
        if args.json:
            data = _views.status_data(inputs, worktree_parent=config.worktrees_dir, **timers)
            print(json.dumps(data, indent=2))
        else:
            print(_views.status_text(inputs, **timers))
        return EXIT_OK
    parser.error(f"unknown command {args.command}")  # pragma: no cover - argparse checks
    return EXIT_USAGE  # pragma: no cover


def _triage_timers(plan_dir: Path) -> dict[str, Any]:
    """The SLA setting, when the daemon first saw each blocker, and what each task's model
    calls cost (the journal, opened read-only)."""
    import sqlite3

    try:
        config = load_config(plan_dir)
    except ConfigError:
        return {}
    out: dict[str, Any] = {"sla_minutes": config.triage_sla_minutes}
    path = config.state_dir / "journal.sqlite3"
    if path.exists():
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                rows = db.execute("SELECT key, value FROM marks WHERE key LIKE 'blocker_seen:%'")
                out["seen"] = dict(rows.fetchall())
                costs = db.execute("SELECT task_id, SUM(usd) FROM costs GROUP BY task_id")
                out["costs"] = {str(t): float(u) for t, u in costs.fetchall()}
            finally:
                db.close()
        except sqlite3.Error:
            pass  # an older journal, or one being created: no timers to show
    return out


def _init(directory: Path) -> int:
    from datetime import datetime

    from orchestrator.scaffold import FilesExist, init_plan_dir

    try:
        written = init_plan_dir(directory, datetime.now())
    except FilesExist as exc:
        for path in exc.paths:
            print(f"baton: {path} exists; not overwriting", file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:
        print(f"baton: {directory}: cannot write ({exc.strerror})", file=sys.stderr)
        return EXIT_INVALID
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def _write_graph(plan_path: Path, worktree_parent: Path) -> int:
    from orchestrator.filestore import FileNotReady, FileStore, StoreConflict
    from protocol import PlanInvalid, check_plan, parse_plan, set_mermaid_block

    changed = False

    def edit(text: str) -> str:
        nonlocal changed
        # Drawn from the text being edited, so the chart matches the plan it lands in.
        plan = parse_plan(text, file=str(plan_path))
        errors = check_plan(plan, worktree_parent=str(worktree_parent))
        if errors:
            raise PlanInvalid(errors)
        new = set_mermaid_block(text, plan, "Dependency Graph", _views.mermaid(plan))
        changed = new != text
        return new

    try:
        anyio.run(FileStore().update, plan_path, edit)
    except PlanInvalid as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except (FileNotReady, StoreConflict, OSError) as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(
        f"wrote the dependency graph into {plan_path}"
        if changed
        else f"{plan_path}: the dependency graph is up to date"
    )
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    logs.configure(args.log_format)
    try:
        config = load_config(args.dir, args.config, agents_override=args.agents)
    except ConfigError as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return EXIT_INVALID
    backends = {
        config.default_backend,
        *config.role_backends.values(),
        *config.task_backends.values(),
    }
    if "claude" in backends and not os.environ.get("ANTHROPIC_API_KEY"):
        print(
            "baton: the claude backend needs ANTHROPIC_API_KEY in the environment "
            "(or use --agents manual, scripted or command)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if "command" in backends and not config.command:
        print(
            f"baton: the command backend needs command = [...] in {config.source or 'baton.toml'}",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if not (args.dir / ".git").exists():
        print(
            f"baton: {args.dir.resolve()}: not a git repository (tasks run in worktrees)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if not config.plan_path.exists():
        print(f"baton: {config.plan_path}: no plan here (baton init writes one)", file=sys.stderr)
        return EXIT_INVALID
    from orchestrator._lock import AlreadyRunning
    from orchestrator.daemon import Daemon
    from orchestrator.journal import JournalBroken

    daemon = Daemon(config, force=args.force, rebuild_journal=args.rebuild_journal)

    async def serve() -> int:
        async with anyio.create_task_group() as tg:

            async def signals() -> None:
                with anyio.open_signal_receiver(
                    signal.SIGTERM, signal.SIGINT, signal.SIGHUP
                ) as received:
                    async for signum in received:
                        if signum == signal.SIGHUP:
                            try:
                                daemon.reload(
                                    load_config(args.dir, args.config, agents_override=args.agents)
                                )
                            except ConfigError as exc:
                                structlog.get_logger().error("config_invalid", reason=str(exc))
                            continue
                        daemon.stop(0)
                        return

            tg.start_soon(signals)
            try:
                code = await daemon.run()
            except AlreadyRunning as exc:
                # Caught inside the task group: one line, not an exception group.
                print(f"baton: {exc}", file=sys.stderr)
                code = EXIT_INVALID
            except JournalBroken as exc:
                hint = "" if args.rebuild_journal else f"; {_REBUILD_HINT}"
                print(f"baton: {exc}{hint}", file=sys.stderr)
                code = EXIT_INVALID
            tg.cancel_scope.cancel()
        return code

    return anyio.run(serve)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
