"""The Integration Summary's Decision and Go/No-Go lines: read, and written minimally."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import EditConflictError, parse_plan
from protocol.integration import (
    APPROVAL_TEXT,
    approval,
    decision_text,
    go_no_go,
    is_placeholder,
    set_go_no_go,
)

TEMPLATE = (Path(__file__).parent.parent / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)


def test_the_template_decision_is_a_placeholder() -> None:
    plan = parse_plan(TEMPLATE)
    value = decision_text(plan)
    assert value == "[OAuth 2.0 / JWT / Session-based]"
    assert is_placeholder(value)
    assert go_no_go(plan) is None
    assert approval(plan) is None


@pytest.mark.parametrize("value", ["", "-", "TBD", "[pick one]", "**TBD**"])
def test_placeholders(value: str) -> None:
    assert is_placeholder(value)


def test_a_written_decision_is_read() -> None:
    text = TEMPLATE.replace("**Decision:** [OAuth 2.0 / JWT / Session-based]", "**Decision:** JWT")
    assert decision_text(parse_plan(text)) == "JWT"
    assert not is_placeholder("JWT")


def test_the_line_is_added_once_then_replaced_in_place() -> None:
    plan = parse_plan(TEMPLATE)
    once = set_go_no_go(TEMPLATE, plan, "NO-GO — T1 is Not Started, not Completed")
    # Only lines were added: removing them gives the template back.
    added = "**Go/No-Go:** NO-GO — T1 is Not Started, not Completed\n\n"
    assert once.replace(added, "", 1) == TEMPLATE
    assert once.index(added) < once.index("### Selected Approach")
    again = set_go_no_go(once, parse_plan(once), "GO")
    assert go_no_go(parse_plan(again)) == "GO"
    assert again == once.replace(added, "**Go/No-Go:** GO\n\n")


def test_caution_adds_one_approval_box() -> None:
    plan = parse_plan(TEMPLATE)
    text = set_go_no_go(TEMPLATE, plan, "GO WITH CAUTION — x", approval_box=True)
    assert f"- [ ] {APPROVAL_TEXT}" in text
    assert approval(parse_plan(text)) is False
    text = text.replace(f"- [ ] {APPROVAL_TEXT}", f"- [x] {APPROVAL_TEXT}")
    again = set_go_no_go(text, parse_plan(text), "GO WITH CAUTION — x; approved", approval_box=True)
    assert again.count(APPROVAL_TEXT) == 1
    assert approval(parse_plan(again)) is True


def test_crlf_is_kept() -> None:
    crlf = TEMPLATE.replace("\n", "\r\n")
    out = set_go_no_go(crlf, parse_plan(crlf), "GO", approval_box=True)
    assert "\n" not in out.replace("\r\n", "")


def test_no_integration_summary_is_a_conflict() -> None:
    text = TEMPLATE.replace("## Integration Summary", "## Something Else")
    with pytest.raises(EditConflictError):
        set_go_no_go(text, parse_plan(text), "GO")


def test_a_plan_line_is_replaced_by_its_prefix_only() -> None:
    from protocol.integration import set_plan_line

    plan = parse_plan(TEMPLATE)
    out = set_plan_line(TEMPLATE, plan, "**Decision:**", "**Decision:** JWT")
    assert out == TEMPLATE.replace(
        "**Decision:** [OAuth 2.0 / JWT / Session-based]", "**Decision:** JWT"
    )
    with pytest.raises(EditConflictError):
        set_plan_line(TEMPLATE, plan, "**Nowhere:**", "x")
    with pytest.raises(EditConflictError):
        set_plan_line(TEMPLATE, plan, "**Decision:**", "two\nlines")
