"""The revision marker: found where Baton put it, changed without touching anything else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from protocol import check_plan, parse_plan, read_revision, set_revision

TEMPLATE = (Path(__file__).parent.parent / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)


def test_marker_is_added_at_the_end_and_the_plan_still_checks_out() -> None:
    marked = set_revision(TEMPLATE, 7)
    assert marked.startswith(TEMPLATE)
    assert marked.endswith("\n<!-- baton:rev 7 -->\n")
    assert read_revision(marked) == 7
    plan, original = parse_plan(marked), parse_plan(TEMPLATE)
    assert [t.id for t in plan.tasks] == [t.id for t in original.tasks]
    assert check_plan(plan, worktree_parent="/tmp/w") == check_plan(
        original, worktree_parent="/tmp/w"
    )


def test_crlf_file_gets_a_crlf_marker() -> None:
    assert set_revision("a\r\nb\r\n", 1) == "a\r\nb\r\n\r\n<!-- baton:rev 1 -->\r\n"


def test_a_marker_inside_a_line_is_not_a_marker() -> None:
    assert read_revision("text <!-- baton:rev 4 -->\n") is None
    assert read_revision("<!-- baton:rev x -->\n") is None


@given(
    head=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200),
    tail=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200),
    old=st.integers(0, 10**6),
    new=st.integers(0, 10**6),
)
def test_changing_the_revision_changes_only_its_digits(
    head: str, tail: str, old: int, new: int
) -> None:
    """Every byte outside the number stays, wherever the marker sits."""
    head = head if head.endswith("\n") or not head else head + "\n"
    tail = "" if "<!-- baton:rev " in tail else tail
    text = f"{head}<!-- baton:rev {old} -->{tail}"
    out = set_revision(text, new)
    assert out == f"{head}<!-- baton:rev {new} -->{tail}"
    assert read_revision(out) == new
