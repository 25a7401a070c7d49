"""``baton send``: append one well-formed message to the message log.

Every way this can go wrong is one line on stderr and exit 1, with nothing written: a bad
value, an argument that is not UTF-8, or a log that ends in a block with no closing ``---``
(the new message would close that block and be lost in it).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

import anyio

from orchestrator.adapters.filestore import FileStore
from orchestrator.cli.exit_codes import EXIT_INVALID, EXIT_OK
from orchestrator.config import ConfigError, load_config
from orchestrator.routing.message_log import append_to_log
from protocol import UnterminatedBlockError, render_message


def send(args: argparse.Namespace) -> int:
    """Append the message the arguments describe; 0, or 1 with one line on stderr."""
    for name, value in (
        ("--from", args.sender),
        ("--to", args.to),
        ("--task", args.task),
        ("--priority", args.priority),
        ("--deadline", args.deadline),
        ("TEXT", args.text),
    ):
        if value is not None and (problem := _not_utf8(value)):
            print(
                f"baton: {name} is not UTF-8 ({problem}); the message log is UTF-8", file=sys.stderr
            )
            return EXIT_INVALID
    try:
        config = load_config(args.dir)
        block = render_message(
            sender=args.sender,
            to=args.to,
            type=args.type,
            timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            task=args.task,
            priority=args.priority,
            deadline=args.deadline,
            text=args.text,
        )
    except (ConfigError, ValueError) as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        anyio.run(append_to_log, FileStore(), config.messages_path, block)
    except UnterminatedBlockError as exc:
        print(f"baton: {config.messages_path}:{exc.line}: {exc.reason}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"sent {args.type} from {args.sender} to {args.to}")
    return EXIT_OK


def _not_utf8(value: str) -> str | None:
    """What keeps a command-line argument from being written as UTF-8, if anything: Python
    hands undecodable bytes over as lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raw = os.fsencode(value[: exc.start + 1])
        return f"byte 0x{raw[-1]:02x} at position {len(raw) - 1}"
    return None
