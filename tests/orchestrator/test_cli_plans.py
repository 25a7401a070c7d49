"""validate, status and graph on plans as people write them, valid or not."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures" / "plans"
PLAN = "MULTI_AGENT_PLAN.md"


def plan_dir_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / PLAN).write_text(text, encoding="utf-8")
    return tmp_path


def test_status_json_names_each_task_s_worktree_and_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each task's worktree is its folder under the worktree parent, with its branch."""
    shutil.copy(FIXTURES / "template.md", tmp_path / PLAN)
    assert main(["status", "--dir", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    parent = tmp_path.resolve().parent / f"{tmp_path.name}-worktrees"
    assert data["valid"] is True
    assert (data["tasks"][0]["worktree"], data["tasks"][0]["branch"]) == (
        str(parent / "arch"),
        "feature/auth-arch",
    )
    (tmp_path / "baton.toml").write_text('worktree_parent = "wt"\n', encoding="utf-8")
    assert main(["status", "--dir", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tasks"][6]["worktree"] == str(tmp_path.resolve() / "wt" / "docs")


def test_status_json_of_an_invalid_plan_lists_the_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a plan that cannot be read, status --json prints the errors as JSON and exits 1."""
    shutil.copy(FIXTURES / "invalid_missing_cell.md", tmp_path / PLAN)
    assert main(["status", "--dir", str(tmp_path), "--json"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data == {
        "valid": False,
        "errors": [
            {
                "file": str(tmp_path / PLAN),
                "line": 12,
                "reason": "this row has 8 cells but the header has 9: a cell is missing "
                "(an empty one is still written, as | - |)",
            }
        ],
        "warnings": [],
    }
    assert captured.err.count("\n") == 1


def test_validate_checks_worktrees_against_the_configured_parent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An absolute Worktree outside the worktree parent fails validate as it fails run;
    with that parent configured, it passes."""
    elsewhere = tmp_path / "elsewhere"
    text = (FIXTURES / "valid_small.md").read_text(encoding="utf-8")
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    plan_dir_with(plan_dir, text.replace("`../build`", f"`{elsewhere}/build`"))
    assert main(["validate", "--dir", str(plan_dir)]) == 1
    err = capsys.readouterr().err.splitlines()
    parent = plan_dir.resolve().parent / "plan-worktrees"
    assert err[0] == (
        f"{plan_dir / PLAN}:11: worktree of T2 '{elsewhere}/build' is outside the worktree "
        f"parent {parent}"
    )
    (plan_dir / "baton.toml").write_text(f'worktree_parent = "{elsewhere}"\n', encoding="utf-8")
    assert main(["validate", "--dir", str(plan_dir)]) == 0
    plan_dir_with(plan_dir, text.replace("`../build`", "`/etc`"))
    assert main(["validate", "--dir", str(plan_dir)]) == 1


def test_validate_prints_warnings_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A column Baton cannot read is a warning line on stderr; the plan still validates."""
    shutil.copy(FIXTURES / "people" / "misspelled_header.md", tmp_path / PLAN)
    assert main(["validate", "--dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f"{tmp_path / PLAN}:8: warning: column 'Dependancies' is not read: "
        "did you mean 'Dependencies'?\n"
    )
    assert "2 tasks in 2 waves" in captured.out


def test_validate_of_a_prose_plan_points_to_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plan without a task table: one line at :1 naming what Baton needs and baton init."""
    shutil.copy(FIXTURES / "invalid_prose.md", tmp_path / PLAN)
    assert main(["validate", "--dir", str(tmp_path)]) == 1
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith(f"{tmp_path / PLAN}:1: no Task Assignment Matrix: ")
    assert "`baton init` writes a plan that has one" in first


_IDS = st.sampled_from(["T1", "T2", "T3", "t3", "X", "10", "**T4**", "`T5`", "T-6", ""])
_TEXT = st.text(
    st.characters(blacklist_characters="|\\\n\r", blacklist_categories=("Cs",)), max_size=10
)
_ROW = st.tuples(
    st.one_of(_IDS, _TEXT),
    st.one_of(st.sampled_from(["A", "B", "Pre", "Build", "2", "Wave 10", ""]), _TEXT),
    st.one_of(st.sampled_from(["T1", "T2, T3", "T1 and T4", "T2-T5", "T3\u2013T1", "-"]), _TEXT),
    st.one_of(st.sampled_from(["Not Started", "✅ Completed", "WIP", "Done"]), _TEXT),
    st.one_of(st.sampled_from(["1h", "2-3h", "../x", "/etc", "~"]), _TEXT),
)
_HEADERS = st.sampled_from(
    [
        "| Task ID | Parallel Group | Dependencies | Status | Worktree |",
        "| ID | Wave | Deps | State | Estimate |",
        "| Task | Phase | Blocked By | Status | Worktree Path |",
        "| ID | Group | Dependancies | Status | Estimate |",
    ]
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(header=_HEADERS, rows=st.lists(_ROW, min_size=1, max_size=100), split=st.integers(0, 100))
def test_any_table_gives_an_answer(
    header: str,
    rows: list[tuple[str, str, str, str, str]],
    split: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """For any table (ids, group names, dependency strings, even split in two), validate,
    status --json and graph return 0 or 1 with no traceback, and status --json is JSON."""
    lines = [f"| {' | '.join(r)} |" for r in rows]
    if 0 < split < len(lines):
        lines[split:split] = ["", header, "|---|---|---|---|---|"]
    text = "# Plan\n\n" + "\n".join([header, "|---|---|---|---|---|", *lines]) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        plan_dir = plan_dir_with(Path(tmp), text)
        for argv in (
            ["validate"],
            ["status", "--json"],
            ["graph"],
            ["graph", "--format", "mermaid"],
        ):
            assert main([*argv, "--dir", str(plan_dir)]) in (0, 1)
            out = capsys.readouterr().out
            if argv == ["status", "--json"]:
                assert isinstance(json.loads(out)["valid"], bool)
