"""The DAG math: estimates, effective dependencies, waves, critical path, ready set."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import PlanCycleError, parse_plan, set_cell
from protocol.dag import (
    critical_path,
    effective_dependencies,
    find_cycle,
    group_order,
    parse_estimate,
    ready_tasks,
    remaining_path_hours,
    topological_order,
    waves,
)

PLANS = Path(__file__).parent.parent / "fixtures" / "plans"
TEMPLATE = (PLANS / "template.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("1h", 1.0),
        ("1.5h", 1.5),
        ("30m", 0.5),
        ("2d", 48.0),
        ("90 min", 1.5),
        ("2 hours", 2.0),
        ("`3h`", 3.0),
        ("", 1.0),
        ("soon", 1.0),
        ("-", 1.0),
        ("2-3h", 3.0),
        ("2\u20134 h", 4.0),
        ("1 to 2 days", 48.0),
        ("30-45m", 0.75),
        ("30m-1h", 1.0),
        ("~2h", 2.0),
        ("1h 30m", 1.5),
        ("**2h**", 2.0),
    ],
)
def test_parse_estimate(text: str, hours: float) -> None:
    """Estimates read in hours, a range by its upper bound; unknown counts as one hour."""
    assert parse_estimate(text) == hours


def test_group_order() -> None:
    """Letters order alphabetically, numbers by value, other names where they first appear."""
    assert group_order(["B", "Z", "A", "b"]) == ("A", "B", "Z")
    assert group_order(["10", "9", "1"]) == ("1", "9", "10")
    assert group_order(["Wave 10", "Wave 2", "wave 1"]) == ("wave 1", "Wave 2", "Wave 10")
    assert group_order(["Pre", "B", "A", "Post"]) == ("Pre", "A", "B", "Post")
    assert group_order(["Build", "Pre", "Ship"]) == ("Build", "Pre", "Ship")


def test_template_waves_and_critical_path() -> None:
    """The template runs in four waves; its critical path is 7.5 hours long."""
    tasks = parse_plan(TEMPLATE).tasks
    assert waves(tasks) == (("T1",), ("T2", "T3", "T4"), ("T5", "T6"), ("T7",))
    path, hours = critical_path(tasks)
    assert hours == 7.5
    assert path == ("T1", "T2", "T5", "T7")
    assert remaining_path_hours(tasks)["T1"] == 7.5
    assert topological_order(tasks) == ("T1", "T2", "T3", "T4", "T5", "T6", "T7")


def test_group_rule_for_tasks_without_dependencies() -> None:
    """A task without deps in group B waits for all of group A."""
    text = set_cell(TEMPLATE, parse_plan(TEMPLATE), "T4", "Dependencies", "-")
    deps = effective_dependencies(parse_plan(text).tasks)
    assert deps["T4"] == ("T1",)
    assert deps["T1"] == ()


def test_ready_set_follows_completion() -> None:
    """Only T1 is ready at first; when it completes, T2-T4 are, longest path first."""
    plan = parse_plan(TEMPLATE)
    assert [t.id for t in ready_tasks(plan.tasks)] == ["T1"]
    text = set_cell(TEMPLATE, plan, "T1", "Status", "Completed")
    assert [t.id for t in ready_tasks(parse_plan(text).tasks)] == ["T2", "T3", "T4"]


def test_cycle_named_and_raised() -> None:
    """A cycle is found and named; topological_order raises PlanCycleError at its line."""
    text = (PLANS / "invalid_cycle.md").read_text(encoding="utf-8")
    tasks = parse_plan(text).tasks
    assert find_cycle(tasks) == ("T2", "T3", "T2")
    with pytest.raises(PlanCycleError, match="T2 -> T3 -> T2") as exc:
        topological_order(tasks)
    assert exc.value.line == 11


def test_long_chain_is_iterative() -> None:
    """A 3,000-task chain neither recurses too deep nor takes long."""
    rows = "\n".join(
        f"| T{i} | x | Dev | - | - | A | Not Started | {f'T{i - 1}' if i > 1 else '-'} | 1h |"
        for i in range(1, 3001)
    )
    text = (
        "| Task ID | Description | Agent | Worktree | Branch | Parallel Group | Status"
        f" | Dependencies | Estimate |\n|-|-|-|-|-|-|-|-|-|\n{rows}\n"
    )
    tasks = parse_plan(text).tasks
    assert critical_path(tasks)[1] == 3000.0
    assert len(waves(tasks)) == 3000
    assert [t.id for t in ready_tasks(tasks)] == ["T1"]


def test_cycle_through_a_group_wait_is_found_and_named() -> None:
    """T1 (group A) needs T2 (group B, no dependencies, so it waits for group A): a cycle,
    named as one through the groups, at the first row."""
    text = set_cell(TEMPLATE, parse_plan(TEMPLATE), "T1", "Dependencies", "T2")
    text = set_cell(text, parse_plan(text), "T2", "Dependencies", "-")
    tasks = parse_plan(text).tasks
    assert find_cycle(tasks) == ("T1", "T2", "T1")
    with pytest.raises(PlanCycleError) as exc:
        critical_path(tasks)
    assert exc.value.line == 86
    assert exc.value.reason == (
        "dependency cycle T1 -> T2 -> T1 (through parallel groups: T2 lists no dependencies, "
        "so it waits for group A)"
    )
    assert [t.id for t in ready_tasks(tasks)] == []


def test_a_cycle_found_at_a_group_wait_still_starts_and_ends_at_one_task() -> None:
    """T5 (group B) needs T4 (group Build, no dependencies, so it waits for group B): the
    search meets the cycle at the group's wait, and the ids it names still close."""
    rows = [("T2", "A", "-"), ("T1", "A", "T3"), ("T5", "B", "T4"), ("T1", "A", "-")]
    rows += [("T3", "Build", "-"), ("T4", "Build", "-")]
    text = _matrix(
        "\n".join(f"| {t} | x | Dev | - | - | {g} | Not Started | {d} | 1h |" for t, g, d in rows)
    )
    cycle = find_cycle(parse_plan(text).tasks)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"T4", "T5"}


def test_word_group_before_letters_makes_no_hidden_cycle() -> None:
    """A first group named Pre is earliest, so the group waits form no cycle."""
    rows = "\n".join(
        f"| {tid} | x | Dev | - | - | {group} | Not Started | - | 1h |"
        for tid, group in [("T0", "Pre"), ("T1", "A"), ("T2", "B"), ("T3", "C")]
    )
    tasks = parse_plan(_matrix(rows)).tasks
    assert find_cycle(tasks) is None
    assert waves(tasks) == (("T0",), ("T1",), ("T2",), ("T3",))
    assert critical_path(tasks) == (("T0", "T1", "T2", "T3"), 4.0)


def _matrix(rows: str) -> str:
    return (
        "| Task ID | Description | Agent | Worktree | Branch | Parallel Group | Status"
        f" | Dependencies | Estimate |\n|-|-|-|-|-|-|-|-|-|\n{rows}\n"
    )


_IDS = ["T1", "T2", "T3", "T4", "T5", "T6", "t1", "A", "7", "**T2**", "`T3`"]
_cell = st.text(
    st.characters(blacklist_characters="|\\\n\r", blacklist_categories=("Cs",)), max_size=8
)
_deps = st.lists(
    st.one_of(st.sampled_from([*_IDS, "T2-T4", "T5\u2013T1", "-", "none"]), _cell), max_size=4
).flatmap(
    lambda items: st.sampled_from([", ", " and ", "; ", " & ", " "]).map(
        lambda sep: sep.join(items)
    )
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_IDS),
            st.one_of(st.sampled_from(["A", "B", "Pre", "Build", "1", "10", "Wave 2", ""]), _cell),
            _deps,
            st.sampled_from(["Not Started", "✅ Completed", "Done", "WIP", "Blocked", "?"]),
            st.sampled_from(["1h", "2-3h", "", "30m", "0h"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_graph_functions_end_on_any_table(
    rows: list[tuple[str, str, str, str, str]],
) -> None:
    """Any ids, group names and dependency strings: every DAG function returns or raises a
    PlanCycleError, and on an acyclic plan the order, waves and critical path hold."""
    text = _matrix(
        "\n".join(
            f"| {tid} | x | Dev | - | - | {group} | {status} | {deps} | {est} |"
            for tid, group, deps, status, est in rows
        )
    )
    tasks = parse_plan(text).tasks
    ready_tasks(tasks)
    deps = effective_dependencies(tasks)
    cycle = find_cycle(tasks)
    if cycle is not None:
        assert cycle[0] == cycle[-1]
        for fn in (topological_order, waves, remaining_path_hours, critical_path):
            with pytest.raises(PlanCycleError):
                fn(tasks)
        return
    position = {tid: i for i, tid in enumerate(topological_order(tasks))}
    assert all(position[d] < position[t] for t, ds in deps.items() for d in ds)
    levels = {tid: n for n, wave in enumerate(waves(tasks)) for tid in wave}
    assert sorted(levels) == sorted(deps)
    assert all(levels[d] < levels[t] for t, ds in deps.items() for d in ds)
    path, hours = critical_path(tasks)
    assert all(a in deps[b] for a, b in itertools.pairwise(path))
    by_id = {t.id: t for t in reversed(tasks)}
    assert hours == pytest.approx(sum(by_id[t].estimate_hours for t in path))
    assert hours == pytest.approx(max(remaining_path_hours(tasks).values()))
