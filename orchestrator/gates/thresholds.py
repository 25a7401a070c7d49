"""Thresholds: ``metric op number``, from ``baton.toml`` or read from the plan's Quality
Gate Thresholds bullets (docs/user-guide.md, "Quality gates").

A bullet is read when it says what it bounds in a way Baton knows: "Test coverage ≥80%
statements, ≥75% branches", "Zero linting errors", "p95 latency ≤100ms", "Throughput ≥1000
req/sec", "Memory usage ≤100MB", "No high/critical security vulnerabilities", "No critical
vulnerabilities (CVSS ≥9.0)". The others (a review, a policy) are left to people.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["OPS", "Threshold", "parse_threshold", "plan_thresholds"]

OPS: Mapping[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
_UNICODE = {"≥": ">=", "≤": "<=", "=": "=="}
_NUMBER = r"(\d+(?:\.\d+)?)"


@dataclass(frozen=True)
class Threshold:
    metric: str
    op: str
    value: float
    check: str = ""  # the kind of gate it is for (lint, security), or any with the metric

    def holds(self, number: float) -> bool:
        return OPS[self.op](number, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def parse_threshold(metric: str, text: str) -> Threshold:
    """``">= 80"`` (or ``"≥80"``) for ``metric``; raises ValueError naming what is wrong."""
    m = re.fullmatch(r"\s*(>=|<=|==|>|<|≥|≤|=)\s*" + _NUMBER + r"\s*%?\s*", text)
    if m is None:
        raise ValueError(f"{text!r} is not 'op number' (e.g. '>= 80')")
    op = _UNICODE.get(m.group(1), m.group(1))
    return Threshold(metric, op, float(m.group(2)))


def _op(sign: str) -> str:
    return _UNICODE.get(sign, sign)


def plan_thresholds(text: str) -> tuple[tuple[Threshold, ...], tuple[str, ...]]:
    """The thresholds the section's bullets state, and the bullets Baton cannot read."""
    found: list[Threshold] = []
    unread: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith(("- ", "* ")):
            continue
        bullet = line[2:].strip()
        got = _bullet(bullet.casefold())
        if got:
            found += got
        else:
            unread.append(bullet)
    return tuple(found), tuple(unread)


def _bullet(b: str) -> list[Threshold]:
    if "coverage" in b:
        out = []
        for sign, number, what in re.findall(r"(≥|>=|>)\s*" + _NUMBER + r"\s*%\s*(\w+)", b):
            metric = "branches" if what.startswith("branch") else "statements"
            out.append(Threshold(metric, _op(sign), float(number)))
        return out
    if re.search(r"\b(zero|no)\b.*\blint", b):
        return [Threshold("errors", "==", 0, "lint")]
    if m := re.search(r"\b(p50|p95|p99)\b.*?(≤|<=|<)\s*" + _NUMBER + r"\s*ms", b):
        return [Threshold(m.group(1), _op(m.group(2)), float(m.group(3)))]
    if m := re.search(r"throughput.*?(≥|>=|>)\s*" + _NUMBER, b):
        return [Threshold("throughput", _op(m.group(1)), float(m.group(2)))]
    if m := re.search(r"memory.*?(≤|<=|<)\s*" + _NUMBER + r"\s*mb", b):
        return [Threshold("memory_mb", _op(m.group(1)), float(m.group(2)))]
    if re.match(r"no\b", b) and "vulnerab" in b:
        levels = [x for x in ("critical", "high") if x in b]
        if "unaddressed" in b and levels == ["high"]:
            return [Threshold("high", "==", 0, "security")]
        return [Threshold(x, "==", 0, "security") for x in levels]
    return []
