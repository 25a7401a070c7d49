"""Hostile input: the plan reader returns a result or a typed error, never anything else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol._errors import ProtocolError
from protocol._model import Plan
from protocol.plan import parse_plan

TEMPLATE = (Path(__file__).parent.parent / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)


def read(text: str) -> Plan:
    plan = parse_plan(text)
    assert all(isinstance(p, ProtocolError) for p in plan.problems)
    for task in plan.tasks:
        for cell in task.cells.values():
            assert cell.span.slice(text) == cell.raw
    return plan


def test_every_truncation_of_the_template() -> None:
    """The template cut after every line (as an editor mid-write leaves it) always reads."""
    lines = TEMPLATE.splitlines(keepends=True)
    for n in range(len(lines) + 1):
        plan = read("".join(lines[:n]))
        assert len(plan.tasks) <= 7


def test_truncation_inside_the_matrix_keeps_complete_rows() -> None:
    """A file cut mid-row reads the rows before the cut with their exact values."""
    cut = TEMPLATE.index("| T4 |") + 20
    plan = read(TEMPLATE[:cut])
    assert [t.id for t in plan.tasks][:3] == ["T1", "T2", "T3"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes(data: bytes) -> None:
    """Random bytes, decoded as the daemon would, never raise."""
    read(data.decode("utf-8", errors="replace"))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("|-`*#[]x \n\r\t:T1AB\\")), max_size=800))
def test_markdown_soup(text: str) -> None:
    """Text made of the format's own punctuation never raises."""
    read(text)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=len(TEMPLATE) - 1), st.text(max_size=40))
def test_template_with_an_insertion(at: int, junk: str) -> None:
    """The template with junk spliced in anywhere never raises."""
    read(TEMPLATE[:at] + junk + TEMPLATE[at:])


def test_two_megabyte_line() -> None:
    """A 2 MB line (in a cell and on its own) reads in one piece."""
    big = "x" * 2_000_000
    text = TEMPLATE.replace("Design auth architecture & API contracts", big, 1) + big + "\n"
    plan = read(text)
    assert plan.tasks[0].description == big


def test_nul_and_lone_cr() -> None:
    """NUL characters and lone carriage returns do not shift line numbers."""
    text = "\0\r" + TEMPLATE
    plan = read(text)
    assert plan.tasks[0].line == 86
