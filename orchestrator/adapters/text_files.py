"""Reading the two markdown files whole, for the commands and for a journal rebuild: their
text exactly as stored, and the plan size limit checked before a plan is read."""

from __future__ import annotations

from pathlib import Path

from orchestrator.config import MB


class InputError(Exception):
    """A file the command needs is missing or unreadable."""


def read_bytes(path: Path) -> bytes:
    """A file's bytes exactly as stored."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def plan_too_large(size: int, limit_mb: float) -> str | None:
    """Why a plan of ``size`` bytes is refused, if it is: a plan far larger than any plan
    people write took minutes and gigabytes to read."""
    if size <= limit_mb * MB:
        return None
    return (
        f"the plan is {size / MB:.3g} MB, over the {limit_mb:g} MB limit "
        "(max_plan_mb in baton.toml)"
    )


__all__ = ["InputError", "plan_too_large", "read_bytes"]
