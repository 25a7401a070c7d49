"""Stale editor saves: Baton's transitions come back, a person's deliberate change stays."""

from __future__ import annotations

import contextlib
from pathlib import Path

from orchestrator.runtime.ledger import Ledger, grouped, restore
from protocol import (
    EditConflictError,
    parse_plan,
    read_revision,
    set_cell,
    set_log_cells,
    set_revision,
)

TEMPLATE = (Path(__file__).parent.parent / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)


class Run:
    """Plays Baton's writes on T1 and records each as a batch, as the daemon does."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.text = TEMPLATE
        self.revision = 0

    def write(self, status: str | None = None, **log: str) -> None:
        before = self.text
        if status:
            self.text = set_cell(self.text, parse_plan(self.text), "T1", "Status", status)
        if log:
            values = {k.replace("_", " "): v for k, v in log.items()}
            self.text = set_log_cells(self.text, parse_plan(self.text), "T1", values)
        self.revision += 1
        self.text = set_revision(self.text, self.revision)
        self.ledger.record(self.revision, parse_plan(before), parse_plan(self.text))

    def start(self, at: str) -> None:
        self.write(
            "In Progress", Started=at, Completed="-", Actual_Duration="-", Status="In Progress"
        )

    def complete(self) -> None:
        self.write("Completed", Notes="done")
        self.write(Completed="t2", Actual_Duration="5s", Status="Completed")

    def merged(self, saved: str) -> str:
        stale = self.ledger.stale_cells(parse_plan(saved), read_revision(saved))
        for group, changes in grouped(stale).items():
            with contextlib.suppress(EditConflictError):
                saved = restore(saved, parse_plan(saved), group, changes)
        return saved

    def stale(self) -> dict[object, object]:
        return dict(self.ledger.stale_cells(parse_plan(self.text), read_revision(self.text)))


def status_and_log(text: str) -> tuple[str, str, str, str]:
    plan = parse_plan(text)
    row = plan.log_row("T1")
    assert row is not None
    return plan.tasks[0].status, row.started, row.completed, row.status


def test_own_writes_are_never_stale() -> None:
    """The file Baton wrote last has nothing to restore."""
    run = Run()
    run.start("t1")
    run.complete()
    assert run.stale() == {}


def test_stale_save_from_before_the_start_restores_the_whole_chain() -> None:
    """A buffer loaded before T1 started, saved after it completed, gets every transition back."""
    run = Run()
    run.start("t1")
    run.complete()
    stale = TEMPLATE.replace("Design auth architecture", "Design the auth architecture")
    merged = run.merged(stale)
    assert status_and_log(merged) == ("Completed", "t1", "t2", "Completed")
    assert "Design the auth architecture" in merged  # the person's own edit survives


def test_stale_save_from_the_middle_restores_what_came_after() -> None:
    """A buffer loaded while T1 ran gets the completion back, and keeps the start."""
    run = Run()
    run.start("t1")
    middle = run.text
    run.complete()
    assert status_and_log(run.merged(middle)) == ("Completed", "t1", "t2", "Completed")


def test_deliberate_reset_of_a_completed_task_is_respected() -> None:
    """A person setting Completed T1 back to Not Started (one cell) keeps their value."""
    run = Run()
    run.start("t1")
    run.complete()
    reset = set_cell(run.text, parse_plan(run.text), "T1", "Status", "Not Started")
    assert run.merged(reset) == reset


def test_deliberate_stop_of_a_running_task_is_respected() -> None:
    """A person setting In Progress T1 back to Not Started keeps their value."""
    run = Run()
    run.start("t1")
    reset = set_cell(run.text, parse_plan(run.text), "T1", "Status", "Not Started")
    assert run.merged(reset) == reset


def test_rerun_does_not_resurrect_the_first_completion() -> None:
    """After a re-run starts, the first attempt's completion is not brought back."""
    run = Run()
    run.start("t1")
    run.complete()
    run.text = set_cell(run.text, parse_plan(run.text), "T1", "Status", "Not Started")
    run.write()  # Baton's next write carries the person's reset into its newest version
    run.start("t3")
    assert run.stale() == {}
    assert status_and_log(run.text) == ("In Progress", "t3", "", "In Progress")


def test_a_value_the_cell_never_had_is_never_touched() -> None:
    """A person's new value for a cell Baton wrote is kept, whatever else is stale."""
    run = Run()
    run.start("t1")
    edited = set_cell(run.text, parse_plan(run.text), "T1", "Status", "Blocked")
    assert run.merged(edited) == edited


def test_stale_save_that_also_edits_a_baton_cell() -> None:
    """A stale buffer whose owner also rewrote Notes: status comes back, their Notes stay."""
    run = Run()
    run.start("t1")
    middle = run.text
    run.complete()
    plan = parse_plan(middle)
    edited = set_log_cells(middle, plan, "T1", {"Notes": "person's note"})
    merged = run.merged(edited)
    assert status_and_log(merged) == ("Completed", "t1", "t2", "Completed")
    row = parse_plan(merged).log_row("T1")
    assert row is not None
    assert row.notes == "person's note"


def test_log_row_dropped_by_a_stale_save_comes_back_whole() -> None:
    """A buffer from before Baton added T8's log row: the row is added back, not lost."""
    run = Run()
    plan = parse_plan(run.text)
    before = run.text
    run.text = set_log_cells(run.text, plan, "T8", {"Agent ID": "x-001", "Status": "In Progress"})
    run.revision += 1
    run.text = set_revision(run.text, run.revision)
    run.ledger.record(run.revision, parse_plan(before), parse_plan(run.text))
    merged = run.merged(before)
    added = parse_plan(merged).log_row("T8")
    assert added is not None
    assert (added.agent_id, added.status) == ("x-001", "In Progress")


def test_save_from_the_newest_revision_is_taken_as_meant() -> None:
    """Setting several of Baton's cells back by hand, in an up-to-date buffer, is respected."""
    run = Run()
    run.start("t1")
    run.complete()
    plan = parse_plan(run.text)
    edited = set_cell(run.text, plan, "T1", "Status", "Not Started")
    edited = set_log_cells(edited, parse_plan(edited), "T1", {"Status": "Not Started"})
    assert run.merged(edited) == edited


def test_save_without_a_marker_is_merged_against_the_oldest_version() -> None:
    """A buffer loaded before Baton's first write carries no marker: all is restored."""
    run = Run()
    run.start("t1")
    run.complete()
    assert read_revision(TEMPLATE) is None
    assert status_and_log(run.merged(TEMPLATE)) == ("Completed", "t1", "t2", "Completed")
