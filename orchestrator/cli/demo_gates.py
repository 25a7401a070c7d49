"""The demo's integration gates (docs/user-guide.md, "From Integration to Completed"): a
stand-in benchmark writing p50/p95/p99 as JSON and a stand-in scanner writing SARIF, both
committed to the demo repository and run on each builder's branch at Integration, so the
Integration Summary's comparison tables get numbers per approach."""

from __future__ import annotations

__all__ = ["BENCH_PY", "DEMO_INTEGRATION_GATES", "SCAN_PY"]

# Numbers per approach, by the task the gate runs on (a real project measures its branch).
BENCH_PY = '''"""Stand-in benchmark of the Baton demo: writes bench.json."""
import json
import os

LATENCY = {"T2": (25, 70, 140), "T3": (12, 35, 60), "T4": (18, 48, 90)}
p50, p95, p99 = LATENCY.get(os.environ.get("BATON_TASK_ID", ""), (0, 0, 0))
with open("bench.json", "w", encoding="utf-8") as out:
    json.dump({"p50": p50, "p95": p95, "p99": p99}, out)
'''

SCAN_PY = '''"""Stand-in security scanner of the Baton demo: writes scan.sarif (SARIF 2.1.0)."""
import json
import os

FINDINGS = {"T2": ["note"], "T3": [], "T4": ["warning", "note"]}
results = [
    {"ruleId": "demo-%d" % i, "level": level, "message": {"text": "demo finding"}}
    for i, level in enumerate(FINDINGS.get(os.environ.get("BATON_TASK_ID", ""), []))
]
sarif = {
    "version": "2.1.0",
    "runs": [{"tool": {"driver": {"name": "demo-scan"}}, "results": results}],
}
with open("scan.sarif", "w", encoding="utf-8") as out:
    json.dump(sarif, out)
'''

DEMO_INTEGRATION_GATES = """
[gates.bench]
argv = [{python}, "bench.py"]
report = "json"
file = "bench.json"
when = "integration"
groups = ["B"]

[gates.scan]
argv = [{python}, "scan.py"]
report = "sarif"
file = "scan.sarif"
when = "integration"
groups = ["B"]
"""
