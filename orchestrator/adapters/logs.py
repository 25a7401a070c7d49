"""Structured logs (docs/contract.md sec. 8): one JSON object per line on stdout, or a console view.

``configure`` is called once, at the entry point. Every line passes through ``redact``,
so an API key, a bearer token or an ``Authorization`` header never reaches the journal or
a terminal, whichever code logged it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_SECRET_KEYS = re.compile(r"(api[_-]?key|token|secret|password|authorization)", re.IGNORECASE)
_SECRET_VALUES = re.compile(
    r"(sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9]{20,}|Bearer\s+[A-Za-z0-9._\-]{8,})"
)
REDACTED = "[redacted]"


def redact_text(text: str) -> str:
    """``text`` with anything shaped like an API key or bearer token replaced."""
    return _SECRET_VALUES.sub(REDACTED, text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: REDACTED if isinstance(k, str) and _SECRET_KEYS.search(k) else _scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: drop secret-named fields' values and secret-shaped strings."""
    for key in list(event_dict):
        if _SECRET_KEYS.search(key) and key != "event":
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure(
    fmt: str | None = None, stream: TextIO | None = None, level: int = logging.INFO
) -> None:
    """JSON lines when ``fmt`` is "json" or when stdout is not a terminal; else console."""
    out = stream or sys.stdout
    if fmt is None:
        fmt = "console" if out.isatty() else "json"
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
