"""``[gates]`` in ``baton.toml``: ``retries`` and one ``[gates.<name>]`` table per gate
(docs/user-guide.md, "Quality gates"). Every mistake is a one-line error naming the file and
the key, as the rest of the configuration's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.gates.reports import METRICS, REPORT_KINDS
from orchestrator.gates.thresholds import Threshold, parse_threshold

__all__ = ["CHECK_OF", "GateSpec", "GatesConfig", "GatesError", "parse_gates"]

_KEYS = {
    "argv",
    "report",
    "file",
    "timeout_seconds",
    "roles",
    "tasks",
    "groups",
    "mandatory",
    "when",
    "check",
    "thresholds",
}
WHEN = ("done", "integration")
CHECKS = ("tests", "lint", "security", "coverage", "performance", "docs", "review", "other")
# The check a report kind stands for unless ``check`` says otherwise.
CHECK_OF = {
    "junit": "tests",
    "cobertura": "coverage",
    "coverage-json": "coverage",
    "sarif": "security",
    "json": "performance",
    "exit": "other",
}


class GatesError(ValueError):
    """A mistake in ``[gates]``; the message names the key."""


@dataclass(frozen=True)
class GateSpec:
    name: str
    argv: tuple[str, ...]
    report: str = "exit"
    file: str | None = None  # the report, relative to the worktree
    timeout_seconds: float = 600.0
    roles: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    mandatory: bool = True
    when: str = "done"
    check: str = "other"
    thresholds: tuple[Threshold, ...] = ()  # stated here; the plan's are added at run time

    def applies_to(self, task_id: str, role: str, group: str) -> bool:
        """Whether the gate runs on the task: every task when it names none, else one it
        names by id, role (case ignored) or group."""
        if not (self.roles or self.tasks or self.groups):
            return True
        return (
            task_id in self.tasks
            or role.casefold() in {r.casefold() for r in self.roles}
            or group in self.groups
        )


@dataclass(frozen=True)
class GatesConfig:
    gates: tuple[GateSpec, ...] = ()
    retries: int = 2  # fix rounds after a failing gate before the task is Blocked

    def for_task(self, task_id: str, role: str, group: str, when: str = "done") -> list[GateSpec]:
        return [g for g in self.gates if g.when == when and g.applies_to(task_id, role, group)]


def parse_gates(table: Mapping[str, Any]) -> GatesConfig:
    """The gates of ``[gates]``; raises :class:`GatesError` with the key at fault."""
    retries = table.get("retries", 2)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise GatesError(f"gates.retries must be a whole number >= 0, got {retries!r}")
    gates = []
    for name, value in table.items():
        if name == "retries":
            continue
        if not isinstance(value, dict):
            raise GatesError(f"gates.{name} must be a table ([gates.{name}])")
        gates.append(_gate(name, value))
    return GatesConfig(tuple(gates), retries)


def _gate(name: str, t: Mapping[str, Any]) -> GateSpec:
    key = f"gates.{name}"
    for k in t:
        if k not in _KEYS:
            raise GatesError(f"unknown key {key}.{k}")
    argv = t.get("argv")
    if argv is None:
        raise GatesError(f'{key}.argv is missing (an argument list, e.g. ["pytest", "-q"])')
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and a for a in argv):
        raise GatesError(f"{key}.argv must be a non-empty list of strings (no shell line)")
    report = t.get("report", "exit")
    if report not in REPORT_KINDS:
        raise GatesError(f"{key}.report must be one of {', '.join(REPORT_KINDS)}, got {report!r}")
    file = t.get("file")
    if report != "exit" and not (isinstance(file, str) and file):
        raise GatesError(f"{key}.file is missing (where the {report} report is written)")
    if file is not None and (not isinstance(file, str) or file.startswith("/") or ".." in file):
        raise GatesError(f"{key}.file must be a path inside the worktree, got {file!r}")
    timeout = t.get("timeout_seconds", 600)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise GatesError(f"{key}.timeout_seconds must be a positive number, got {timeout!r}")
    when = t.get("when", "done")
    if when not in WHEN:
        raise GatesError(f"{key}.when must be one of {', '.join(WHEN)}, got {when!r}")
    check = t.get("check", CHECK_OF[report])
    if check not in CHECKS:
        raise GatesError(f"{key}.check must be one of {', '.join(CHECKS)}, got {check!r}")
    mandatory = t.get("mandatory", True)
    if not isinstance(mandatory, bool):
        raise GatesError(f"{key}.mandatory must be true or false, got {mandatory!r}")
    thresholds = []
    table = t.get("thresholds", {})
    if not isinstance(table, dict):
        raise GatesError(f'{key}.thresholds must be a table of metric = "op number"')
    known = METRICS[report]
    for metric, text in table.items():
        if known and metric not in known and metric != "exit_code":
            raise GatesError(
                f"{key}.thresholds.{metric}: unknown metric for a {report} report "
                f"(known: {', '.join(known)})"
            )
        try:
            thresholds.append(parse_threshold(metric, str(text)))
        except ValueError as exc:
            raise GatesError(f"{key}.thresholds.{metric}: {exc}") from None
    return GateSpec(
        name,
        tuple(argv),
        report,
        file,
        float(timeout),
        _names(t, "roles", key),
        _names(t, "tasks", key),
        _names(t, "groups", key),
        mandatory,
        when,
        check,
        tuple(thresholds),
    )


def _names(t: Mapping[str, Any], k: str, key: str) -> tuple[str, ...]:
    value = t.get(k, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GatesError(f"{key}.{k} must be a list of names")
    return tuple(value)
