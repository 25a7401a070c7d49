"""Quality gates: what ``[gates.<name>]`` in ``baton.toml`` says, how a report is read, the
thresholds the plan states, and running a gate on a task's branch
(docs/user-guide.md, "Quality gates")."""

from orchestrator.gates.reports import REPORT_KINDS, ReportError, read_report
from orchestrator.gates.spec import GatesConfig, GateSpec, parse_gates
from orchestrator.gates.thresholds import Threshold, plan_thresholds

__all__ = [
    "REPORT_KINDS",
    "GateSpec",
    "GatesConfig",
    "ReportError",
    "Threshold",
    "parse_gates",
    "plan_thresholds",
    "read_report",
]
