"""Reading a gate's result into named numbers (docs/user-guide.md, "Quality gates").

Each kind of report gives its metrics: ``exit`` the exit status; ``junit`` tests, passed,
failed, errors, skipped and pass_rate (``junitparser``); ``cobertura`` statements and
branches in percent (the stdlib's XML parser: Cobertura is plain attributes); ``coverage-json``
the same from coverage.py's JSON; ``sarif`` (2.1.0) findings by severity, a CVSS score
(``security-severity``) of 9 or more being critical and 7 or more high, else the result's
level; ``json`` every number of a JSON object (nested keys joined with dots).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import junitparser

__all__ = ["METRICS", "REPORT_KINDS", "ReportError", "read_report"]

REPORT_KINDS = ("exit", "junit", "cobertura", "coverage-json", "sarif", "json")

# The metrics each kind gives (``json`` gives whatever numbers its file holds).
METRICS: Mapping[str, tuple[str, ...]] = {
    "exit": ("exit_code",),
    "junit": ("tests", "passed", "failed", "errors", "skipped", "pass_rate"),
    "cobertura": ("statements", "branches"),
    "coverage-json": ("statements", "branches"),
    "sarif": ("findings", "critical", "high", "medium", "low", "errors", "warnings"),
    "json": (),
}


class ReportError(Exception):
    """The report is missing or cannot be read; the message is one line."""


def read_report(kind: str, path: Path | None, exit_code: int) -> dict[str, float]:
    """The metrics of a gate's run: its exit status and, by ``kind``, its report file."""
    numbers: dict[str, float] = {"exit_code": float(exit_code)}
    if kind == "exit":
        return numbers
    if path is None or not path.is_file():
        raise ReportError(f"no report at {path}")
    try:
        match kind:
            case "junit":
                numbers |= _junit(path)
            case "cobertura":
                numbers |= _cobertura(path)
            case "coverage-json":
                numbers |= _coverage_json(json.loads(path.read_text(encoding="utf-8")))
            case "sarif":
                numbers |= _sarif(json.loads(path.read_text(encoding="utf-8")))
            case "json":
                numbers |= _numbers(json.loads(path.read_text(encoding="utf-8")))
            case _:
                raise ReportError(f"unknown report kind {kind!r}")
    except (ValueError, KeyError, TypeError, ET.ParseError, junitparser.JUnitXmlError) as exc:
        raise ReportError(f"{path.name}: not a {kind} report ({exc})") from None
    return numbers


def _junit(path: Path) -> dict[str, float]:
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = [xml] if isinstance(xml, junitparser.TestSuite) else list(xml)
    tests = failed = errors = skipped = 0
    for suite in suites:
        for case in suite:
            tests += 1
            kinds = {type(r).__name__ for r in case.result}
            if "Failure" in kinds:
                failed += 1
            elif "Error" in kinds:
                errors += 1
            elif "Skipped" in kinds:
                skipped += 1
    passed = tests - failed - errors - skipped
    ran = tests - skipped
    rate = 100.0 * passed / ran if ran else 0.0
    return {
        "tests": tests,
        "passed": passed,
        "failed": failed,
        "errors": errors,
        "skipped": skipped,
        "pass_rate": rate,
    }


def _cobertura(path: Path) -> dict[str, float]:
    root = ET.parse(path).getroot()
    if root.tag != "coverage":
        raise ValueError(f"root element is <{root.tag}>, not <coverage>")
    out = {"statements": 100.0 * float(root.attrib["line-rate"])}
    if int(root.attrib.get("branches-valid", "1") or 0) > 0:
        out["branches"] = 100.0 * float(root.attrib.get("branch-rate", "0"))
    else:
        out["branches"] = 100.0
    return out


def _coverage_json(data: Mapping[str, Any]) -> dict[str, float]:
    totals = data["totals"]
    statements = int(totals["num_statements"])
    covered = int(totals["covered_lines"])
    out = {"statements": 100.0 * covered / statements if statements else 100.0}
    branches = int(totals.get("num_branches", 0))
    hit = int(totals.get("covered_branches", 0))
    out["branches"] = 100.0 * hit / branches if branches else 100.0
    return out


def _sarif(data: Mapping[str, Any]) -> dict[str, float]:
    if str(data.get("version")) != "2.1.0":
        raise ValueError(f"SARIF version {data.get('version')!r}, not 2.1.0")
    counts = dict.fromkeys(METRICS["sarif"], 0.0)
    for run in data["runs"]:
        rules = {r.get("id"): r for r in run.get("tool", {}).get("driver", {}).get("rules", [])}
        for result in run.get("results", []):
            rule = rules.get(result.get("ruleId"), {})
            level = result.get("level") or rule.get("defaultConfiguration", {}).get("level")
            level = level or "warning"
            score = (result.get("properties") or {}).get("security-severity")
            if score is None:
                score = (rule.get("properties") or {}).get("security-severity")
            counts["findings"] += 1
            counts["errors" if level == "error" else "warnings"] += level in ("error", "warning")
            counts[_severity(level, score)] += 1
    return counts


def _severity(level: str, score: object) -> str:
    try:
        cvss = float(str(score)) if score is not None else None
    except ValueError:
        cvss = None
    if cvss is not None:
        return (
            "critical" if cvss >= 9 else "high" if cvss >= 7 else "medium" if cvss >= 4 else "low"
        )
    return {"error": "high", "warning": "medium"}.get(level, "low")


def _numbers(data: object, prefix: str = "") -> dict[str, float]:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    out: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[name] = float(value)
        elif isinstance(value, dict):
            out |= _numbers(value, name + ".")
    return out
