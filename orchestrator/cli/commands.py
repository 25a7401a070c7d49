"""What each ``baton`` subcommand does, one function per command (``cli.main`` picks it
with ``set_defaults(func=...)``). Exit codes: 0 success, 1 the plan (or another input) is
invalid or missing, 2 usage. Errors are one line each, ``file:line: reason``, on stderr."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import structlog

from orchestrator.adapters import logs
from orchestrator.cli import status_view as _views
from orchestrator.cli.exit_codes import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from orchestrator.cli.inputs import InputError, Inputs, load_inputs
from orchestrator.config import Config, ConfigError, api_key, load_config

_REBUILD_HINT = (
    "baton run --rebuild-journal moves it aside and rebuilds it from the plan and the message log"
)


def _demo(args: argparse.Namespace) -> int:
    from orchestrator.cli.demo import run_demo

    # The demo prints its own progress lines; the log shows only what went wrong.
    logs.configure("console", stream=sys.stderr, level=logging.WARNING)
    code: int = anyio.run(run_demo, args.path)
    return code


def _service(args: argparse.Namespace) -> int:
    from orchestrator.cli import units as service

    kind: service.Kind = "user" if args.user else "system"
    try:
        if args.print:
            print(service.plan_unit(kind, args.dir).text, end="")
            return EXIT_OK
        path = service.install(kind, args.dir, unit_dir=args.unit_dir, enable=not args.no_enable)
    except (ConfigError, service.ServiceError) as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"wrote {path}" if args.no_enable else f"wrote {path}, enabled and started it")
    return EXIT_OK


def _load(args: argparse.Namespace) -> tuple[Inputs, Config] | int:
    """Both files read and checked, their errors and warnings printed, with the config;
    an exit code when unreadable."""
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
    return inputs, config


def _validate(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    inputs, _ = loaded
    if inputs.errors:
        print(f"baton: {len(inputs.errors)} error(s)", file=sys.stderr)
        return EXIT_INVALID
    print(_views.summary(inputs))
    return EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    inputs, config = loaded
    if inputs.plan_errors:
        return EXIT_INVALID
    if args.write:
        return _write_graph(inputs.plan_path, config.worktrees_dir)
    print(_views.mermaid(inputs.plan) if args.format == "mermaid" else _views.graph(inputs.plan))
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    if args.watch and not sys.stdout.isatty():
        print("baton: status --watch needs a terminal (use --json for scripts)", file=sys.stderr)
        return EXIT_USAGE
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    inputs, config = loaded
    if inputs.plan_errors:
        if args.json:
            print(json.dumps(_views.invalid_data(inputs), indent=2))
        return EXIT_INVALID
    if args.watch:
        from orchestrator.cli import live_view

        # A warning from the file watcher goes to stderr, not into the drawn screen.
        logs.configure("console", stream=sys.stderr, level=logging.WARNING)
        return live_view.run(args.dir, sys.stdout, timers=lambda: _triage_timers(args.dir))
    timers = _triage_timers(args.dir)
    if args.json:
        data = _views.status_data(inputs, worktree_parent=config.worktrees_dir, **timers)
        print(json.dumps(data, indent=2))
    else:
        print(_views.status_text(inputs, **timers))
    return EXIT_OK


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
                gates = db.execute("SELECT key, value FROM marks WHERE key LIKE 'gate_result:%'")
                out["gates"] = _views.gate_cells(dict(gates.fetchall()))
                tokens = db.execute(
                    "SELECT task_id, SUM(input_tokens + output_tokens + cache_write_tokens"
                    " + cache_read_tokens) FROM costs GROUP BY task_id"
                )
                out["tokens"] = {str(t): int(n or 0) for t, n in tokens.fetchall()}
            finally:
                db.close()
        except sqlite3.Error:
            pass  # an older journal, or one being created: no timers to show
    return out


def _send(args: argparse.Namespace) -> int:
    from orchestrator.cli.send import send

    return send(args)


def _init(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    from datetime import datetime

    from orchestrator.cli.scaffold import FilesExist, init_plan_dir

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
    from orchestrator.adapters.filestore import FileNotReady, FileStore, StoreConflict
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
    if "claude" in backends and not api_key():
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
    from orchestrator.adapters.journal import JournalBroken
    from orchestrator.adapters.run_lock import AlreadyRunning
    from orchestrator.daemon import Daemon

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

    code: int = anyio.run(serve)
    return code


def _with_plan(
    run: Callable[[argparse.Namespace, Inputs, Config], int], args: argparse.Namespace
) -> int:
    """Load the plan and the config, then ``run`` on them; an invalid plan runs nothing."""
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    inputs, config = loaded
    return EXIT_INVALID if inputs.plan_errors else run(args, inputs, config)


def _gates(args: argparse.Namespace) -> int:
    from orchestrator.cli.gates_cmd import gates

    return _with_plan(gates, args)


def _integrate(args: argparse.Namespace) -> int:
    from orchestrator.cli.integrate_cmd import integrate_dry_run

    return _with_plan(integrate_dry_run, args)


def _approve(args: argparse.Namespace) -> int:
    from orchestrator.cli.integrate_cmd import approve

    return _with_plan(approve, args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _validate,
    "graph": _graph,
    "init": _init,
    "status": _status,
    "run": _run,
    "demo": _demo,
    "send": _send,
    "service": _service,
    "gates": _gates,
    "integrate": _integrate,
    "approve": _approve,
}
