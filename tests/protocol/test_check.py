"""Whole-plan checks: each error kind, with its line, from a fixture file (docs/user-guide.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import (
    BranchNameError,
    DuplicateTaskError,
    InvalidStatusError,
    PlanCycleError,
    PlanInvalid,
    PlanSyntaxError,
    ProtocolError,
    SharedResourceError,
    UnknownDependencyError,
    WorktreePathError,
    check_plan,
    load_plan,
    parse_plan,
)

PLANS = Path(__file__).parent.parent / "fixtures" / "plans"
FIVE = "Not Started, In Progress, Blocked, Completed, Failed"


def errors_of(name: str, **kwargs: str) -> tuple[ProtocolError, ...]:
    return check_plan(parse_plan((PLANS / name).read_text(encoding="utf-8")), **kwargs)


@pytest.mark.parametrize(
    ("fixture", "kind", "line", "reason"),
    [
        ("invalid_duplicate_id", DuplicateTaskError, 12, "duplicate task id T2 (first at line 11)"),
        (
            "invalid_unknown_dependency",
            UnknownDependencyError,
            11,
            "dependency T9 of T2 is not a task",
        ),
        ("invalid_cycle", PlanCycleError, 11, "dependency cycle T2 -> T3 -> T2"),
        (
            "invalid_status",
            InvalidStatusError,
            11,
            f"status 'Shipped' of T2 is not a status Baton knows: write one of {FIVE}, or a "
            "synonym (Pending, TODO, To Do, Ready, Planned, Queued, Backlog, Not Begun, WIP, "
            "Doing, Active, Started, Ongoing, Working, Running, Underway, Stuck, On Hold, "
            "Waiting, Paused, Complete, Done, Finished, Fail, Failure, Error, Errored); case, "
            "markup and a leading emoji do not matter",
        ),
        (
            "invalid_worktree",
            WorktreePathError,
            11,
            "worktree of T2 '../..' names no folder (expected e.g. ../t2)",
        ),
        (
            "invalid_shared_worktree",
            SharedResourceError,
            11,
            "T2 and T1 (line 10) share the worktree 'arch'",
        ),
        (
            "invalid_shared_branch",
            SharedResourceError,
            12,
            "T3 and T2 (line 11) share the branch 'feature/build'",
        ),
        (
            "invalid_branch_name",
            BranchNameError,
            11,
            "branch 'feature/bad..name' of T2 contains '..'",
        ),
        ("invalid_branch_dash", BranchNameError, 11, "branch '-delete' of T2 starts with '-'"),
    ],
)
def test_each_error_kind_with_its_line(
    fixture: str, kind: type[ProtocolError], line: int, reason: str
) -> None:
    """The fixture reports exactly one error, of its kind, at the row's line."""
    [error] = errors_of(f"{fixture}.md")
    assert type(error) is kind
    assert (error.line, error.reason) == (line, reason)
    assert str(error) == f"MULTI_AGENT_PLAN.md:{line}: {reason}"


def test_absolute_worktree_outside_the_parent() -> None:
    """An absolute Worktree path outside the worktree parent is refused, inside accepted."""
    [error] = errors_of("invalid_worktree_absolute.md", worktree_parent="/srv/wt")
    assert isinstance(error, WorktreePathError)
    assert error.line == 11
    assert errors_of("invalid_worktree_absolute.md", worktree_parent="/etc") == ()


def test_broken_table_is_a_syntax_error_at_line_1() -> None:
    """A plan without a readable task matrix is a PlanSyntaxError."""
    [error] = errors_of("invalid_broken_table.md")
    assert isinstance(error, PlanSyntaxError)
    assert error.line == 1


def test_several_errors_reported_together_in_line_order() -> None:
    """All errors come at once, sorted by line, not only the first."""
    errors = errors_of("invalid_several.md")
    # The duplicate row is reported once, as a duplicate, not again as sharing T1's folder.
    assert [(type(e).__name__, e.line) for e in errors] == [
        ("DuplicateTaskError", 11),
        ("UnknownDependencyError", 12),
        ("InvalidStatusError", 12),
    ]


def test_valid_fixtures_have_no_errors() -> None:
    """The template and the small valid plan check out."""
    assert errors_of("template.md") == ()
    assert errors_of("valid_small.md") == ()


def test_load_plan_raises_with_every_error() -> None:
    """load_plan raises PlanInvalid carrying all errors; str() lists them one per line."""
    with pytest.raises(PlanInvalid) as exc:
        load_plan((PLANS / "invalid_several.md").read_text(encoding="utf-8"))
    assert len(exc.value.errors) == 3
    assert str(exc.value).count("\n") == 2


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("`../.git`", "'../.git' would put the worktree in a folder named .git"),
        ("`.GIT`", "'.GIT' would put the worktree in a folder named .git"),
        (
            "`~/work/t2`",
            "'~/work/t2' starts with ~, which Baton does not expand (expected e.g. ../t2)",
        ),
        ("`~`", "'~' starts with ~, which Baton does not expand (expected e.g. ../t2)"),
        (
            "`../-rf`",
            "'../-rf' names the folder '-rf': a worktree folder is letters, digits and "
            ". _ - + @, starting with a letter or digit",
        ),
        (
            "`../.cache`",
            "'../.cache' names the folder '.cache': a worktree folder is letters, "
            "digits and . _ - + @, starting with a letter or digit",
        ),
        (
            "`../$HOME`",
            "'../$HOME' names the folder '$HOME': a worktree folder is letters, "
            "digits and . _ - + @, starting with a letter or digit",
        ),
        (
            "`../my tree`",
            "'../my tree' names the folder 'my tree': a worktree folder is letters, "
            "digits and . _ - + @, starting with a letter or digit",
        ),
    ],
)
def test_odd_worktree_names_are_refused(cell: str, reason: str) -> None:
    """A Worktree cell naming .git, ~, a hidden or an option-like folder is refused, saying why."""
    text = (PLANS / "valid_small.md").read_text(encoding="utf-8")
    [error] = check_plan(parse_plan(text.replace("`../build`", cell)))
    assert isinstance(error, WorktreePathError)
    assert (error.line, error.reason) == (11, f"worktree of T2 {reason}")


def test_ordinary_worktree_names_pass() -> None:
    """Letters, digits, dots, dashes, underscores and non-ASCII letters are folder names."""
    text = (PLANS / "valid_small.md").read_text(encoding="utf-8")
    for cell in ("`../build_2.x`", "`../été`", "`build+fast@1`", "build"):
        assert check_plan(parse_plan(text.replace("`../build`", cell))) == (), cell


def test_bytes_that_are_not_utf8_are_an_error_at_their_line() -> None:
    """Stray bytes (decoded with decode_text) are a PlanSyntaxError naming the line and the
    bytes; the rest of the plan still reads."""
    from protocol._text import decode_text, encode_text

    raw = (PLANS / "valid_small.md").read_bytes().replace(b"| Build |", b"| Bu\xff\xfeild |")
    text = decode_text(raw)
    assert encode_text(text) == raw
    plan = parse_plan(text)
    [error] = check_plan(plan)
    assert isinstance(error, PlanSyntaxError)
    assert (error.line, error.reason) == (
        11,
        "bytes ff fe are not UTF-8: save the file as UTF-8 (Baton writes nothing into it until "
        "then)",
    )
    assert [t.id for t in plan.tasks] == ["T1", "T2", "T3"]
