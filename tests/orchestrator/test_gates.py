"""Quality gates with real tools: pytest's JUnit XML, coverage.py's XML and JSON, a SARIF
file in CodeQL's real format, the plan's Quality Gate Thresholds (docs/user-guide.md)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from orchestrator.config import ConfigError, load_config
from orchestrator.gates import parse_gates, plan_thresholds, read_report
from orchestrator.gates.run import run_gate
from orchestrator.gates.spec import GateSpec
from orchestrator.gates.thresholds import Threshold
from protocol import parse_plan
from protocol.prose import read_prose
from tests.orchestrator.conftest import TEMPLATE
from tests.orchestrator.test_lock import baton, start, wait_ready

FIXTURES = Path(__file__).parent.parent / "fixtures" / "gates"
PY = sys.executable


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project: one module, tests that pass (and one that is skipped)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\n"
        "def sign(x):\n    if x < 0:\n        return -1\n    return 1\n"
    )
    (root / "test_calc.py").write_text(
        "import pytest\nfrom calc import add, sign\n\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n"
        "\n\ndef test_sign():\n    assert sign(2) == 1\n\n\n@pytest.mark.skip\ndef test_later():\n"
        "    pass\n"
    )
    return root


def gate(name: str, *argv: str, **kw: object) -> GateSpec:
    return parse_gates({name: {"argv": list(argv), **kw}}).gates[0]


async def test_pytest_junit_gate_counts_tests(project: Path, tmp_path: Path) -> None:
    spec = gate(
        "tests", PY, "-m", "pytest", "-q", "--junitxml=junit.xml", report="junit", file="junit.xml"
    )
    outcome = await run_gate(spec, project, tmp_path / "out", 1)
    assert outcome.passed, outcome.failed
    assert outcome.numbers["tests"] == 3
    assert (outcome.numbers["passed"], outcome.numbers["skipped"]) == (2, 1)
    assert outcome.summary == "tests 2/2"
    assert (tmp_path / "out" / "tests.1.xml").exists()
    assert "2 passed, 1 skipped" in (tmp_path / "out" / "tests.1.log").read_text()
    assert not (project / "junit.xml").exists()  # moved out: the agent's next commit misses it


async def test_a_report_that_is_a_symlink_out_of_the_worktree_is_never_read(
    tmp_path: Path,
) -> None:
    (tmp_path / "w").mkdir()
    secret = tmp_path / "secret.json"
    secret.write_text('{"p95": 1}')
    script = f"import os; os.symlink({str(secret)!r}, 'b.json')"
    outcome = await run_gate(
        gate("bench", PY, "-c", script, report="json", file="b.json"),
        tmp_path / "w",
        tmp_path / "o",
        1,
    )
    assert not outcome.passed
    assert outcome.failed == ("b.json is not a file inside the worktree (exit status 0)",)
    assert secret.read_text() == '{"p95": 1}'
    assert not list((tmp_path / "o").glob("bench.1.json"))


async def test_a_failing_test_fails_the_gate_with_its_numbers(
    project: Path, tmp_path: Path
) -> None:
    (project / "test_more.py").write_text("def test_broken():\n    assert 1 == 2\n")
    spec = gate(
        "tests", PY, "-m", "pytest", "-q", "--junitxml=junit.xml", report="junit", file="junit.xml"
    )
    outcome = await run_gate(spec, project, tmp_path / "out", 1)
    assert not outcome.passed
    assert outcome.failed == ("failed 1, needs == 0",)
    assert outcome.summary == "tests 2/3"
    assert "test_broken" in outcome.tail


async def test_coverage_xml_and_json_give_statement_and_branch_percentages(
    project: Path, tmp_path: Path
) -> None:
    run = [PY, "-m", "coverage", "run", "--branch", "-m", "pytest", "-q"]
    plan, _ = plan_thresholds("- Test coverage ≥80% statements, ≥75% branches\n")
    first = await run_gate(gate("run", *run), project, tmp_path / "out", 1)
    assert first.passed, first.tail
    xml = gate(
        "cov", PY, "-m", "coverage", "xml", "-o", "cov.xml", report="cobertura", file="cov.xml"
    )
    js = gate(
        "covj",
        PY,
        "-m",
        "coverage",
        "json",
        "-o",
        "cov.json",
        report="coverage-json",
        file="cov.json",
    )
    a = await run_gate(xml, project, tmp_path / "out", 1, plan)
    b = await run_gate(js, project, tmp_path / "out", 1, plan)
    # sign(-1) never runs: one statement of calc.py and one branch are missed.
    assert a.numbers["statements"] == pytest.approx(b.numbers["statements"], abs=0.01)
    assert a.numbers["statements"] < 100
    assert a.numbers["branches"] < 100
    assert a.summary.startswith("cov ")
    judged = {f.split()[0] for f in a.failed}
    expected = {t.metric for t in plan if not t.holds(a.numbers[t.metric])}
    assert judged == expected


def test_sarif_counts_findings_by_cvss_severity() -> None:
    numbers = read_report("sarif", FIXTURES / "codeql.sarif", 0)
    assert (numbers["critical"], numbers["high"], numbers["low"]) == (1, 1, 1)
    assert numbers["findings"] == 3
    assert numbers["errors"] == 2


def test_the_templates_thresholds_are_read_and_the_rest_named() -> None:
    plan = parse_plan(TEMPLATE)
    found, unread = plan_thresholds(read_prose(plan).gate_thresholds.text)
    assert Threshold("statements", ">=", 80) in found
    assert Threshold("branches", ">=", 75) in found
    assert Threshold("errors", "==", 0, "lint") in found
    assert Threshold("p95", "<=", 100) in found
    assert Threshold("throughput", ">=", 1000) in found
    assert Threshold("high", "==", 0, "security") in found
    assert Threshold("critical", "==", 0, "security") in found
    assert "Code review approved by 1+ reviewers" in unread
    assert "Secrets management compliant with policy" in unread


async def test_json_numbers_gate_is_judged_by_the_plans_latency(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    script = "import json; json.dump({'p50': 40, 'p95': 130, 'p99': 180}, open('b.json', 'w'))"
    plan, _ = plan_thresholds("- p95 latency ≤100ms\n- p99 latency ≤200ms\n")
    outcome = await run_gate(
        gate("bench", PY, "-c", script, report="json", file="b.json"),
        tmp_path / "w",
        tmp_path / "o",
        1,
        plan,
    )
    assert outcome.failed == ("p95 130, needs <= 100",)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[gates.t]\nargv = ["x"]\nreport = "xunit"\n', "gates.t.report must be one of"),
        ('[gates.t]\nreport = "exit"\n', "gates.t.argv is missing"),
        ('[gates.t]\nargv = "pytest -q"\n', "gates.t.argv must be a non-empty list"),
        (
            '[gates.t]\nargv = ["x"]\nreport = "junit"\nfile = "j.xml"\n'
            '[gates.t.thresholds]\nlatency = "<= 3"\n',
            "gates.t.thresholds.latency: unknown metric",
        ),
        ('[gates.t]\nargv = ["x"]\nwhen = "later"\n', "gates.t.when must be one of"),
    ],
)
def test_bad_gate_config_is_one_line_naming_the_file_and_key(
    tmp_path: Path, toml: str, message: str
) -> None:
    (tmp_path / "baton.toml").write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ={})
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(str(tmp_path / "baton.toml") + ": ")
    assert message in text


def test_gates_config_reads_when_and_retries(tmp_path: Path) -> None:
    (tmp_path / "baton.toml").write_text(
        '[gates]\nretries = 1\n[gates.it]\nargv = ["x"]\nwhen = "integration"\n'
        'roles = ["Builder-1"]\n'
    )
    gates = load_config(tmp_path, environ={}).gates
    assert gates.retries == 1
    assert gates.gates[0].when == "integration"
    assert gates.for_task("T2", "Builder-1", "B") == []
    assert [g.name for g in gates.for_task("T2", "builder-1", "B", "integration")] == ["it"]


BAD_GATE = '[gates.tests]\nargv = ["pytest"]\nreport = "xunit"\n'


@pytest.mark.timeout(120)
def test_bad_gate_config_is_one_line_at_start_and_on_sighup(plan_repo: Path) -> None:
    """`baton run` refuses a bad [gates] in one line; a running daemon given one by SIGHUP
    logs config_invalid naming the file and the key, and keeps running."""
    toml = plan_repo / "baton.toml"
    toml.write_text(BAD_GATE, encoding="utf-8")
    refused = baton("run", "--dir", str(plan_repo), "--agents", "manual")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert f"{toml}: gates.tests.report must be one of" in refused.stderr
    toml.write_text("", encoding="utf-8")
    with start(plan_repo) as proc:
        try:
            wait_ready(proc)
            toml.write_text(BAD_GATE, encoding="utf-8")
            proc.send_signal(signal.SIGHUP)
            assert proc.stdout is not None
            line = next(x for x in proc.stdout if b'"config_invalid"' in x)
            reason = json.loads(line)["reason"]
            assert reason.startswith(f"{toml}: gates.tests.report must be one of")
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
