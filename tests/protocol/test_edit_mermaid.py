"""Writing the dependency graph into the plan: one mermaid fence, nothing else touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import EditConflictError, parse_plan, read_revision, set_mermaid_block
from tests.protocol.plan_strategies import PlanSpec, plans

TEMPLATE = (Path(__file__).parent.parent / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)
HEADING = "Dependency Graph"
GRAPH = "flowchart TD\n    t_T1 --> t_T2"

# What a mermaid source line may hold: node ids, arrows, labels, unicode, stray backticks.
_graph_line = st.text(
    alphabet=st.sampled_from([*"abT12 _-->[]\"'#:;|é→`~"]), min_size=0, max_size=30
).filter(lambda s: not s.lstrip(" ").startswith(("```", "~~~")))
graphs = st.lists(_graph_line, min_size=1, max_size=6).map(
    lambda lines: "\n".join(["flowchart TD", *lines])
)


def write(text: str, block: str = GRAPH, heading: str = HEADING) -> str:
    return set_mermaid_block(text, parse_plan(text), heading, block)


def fence(block: str, eol: str = "\n") -> str:
    return "```mermaid" + eol + "".join(line + eol for line in block.split("\n")) + "```" + eol


def assert_inserted(old: str, new: str, inserted: str) -> None:
    """``new`` is ``old`` with ``inserted`` put in at one place, and nothing else changed."""
    n = 0
    while n < len(old) and old[n] == new[n]:
        n += 1
    grown = len(new) - len(old)
    assert new[n + grown :] == old[n:]  # a single insertion: the rest is old's tail
    assert new.count(inserted) == old.count(inserted) + 1


def test_template_gets_a_fence_under_its_bold_label() -> None:
    """The template's **Dependency Graph:** label gets a mermaid fence ahead of its ASCII art."""
    new = write(TEMPLATE)
    assert_inserted(TEMPLATE, new, fence(GRAPH))
    label = new.index("**Dependency Graph:**\n")
    assert new[label:].startswith("**Dependency Graph:**\n\n" + fence(GRAPH) + "\n```\nT1 (Arch")
    assert write(new) == new


def test_existing_fence_content_is_replaced_fence_lines_kept() -> None:
    """A mermaid fence under the heading gets new content; its own fence lines stay."""
    head = "# Plan\n\n## 3. Dependency Graph\n\n"
    tail = "\nSome prose.\n"
    old = head + "~~~~ mermaid  \nflowchart LR\n  a --> b\n~~~~\n" + tail
    new = write(old)
    assert new == head + "~~~~ mermaid  \n" + GRAPH + "\n~~~~\n" + tail


def test_heading_wins_over_bold_label() -> None:
    """With both a heading and a bold label, the graph goes under the heading."""
    old = "# Plan\n\n**Dependency Graph:**\n\ntext\n\n### Dependency Graph\n"
    new = write(old)
    assert new == old + "\n" + fence(GRAPH)
    assert write(new) == new


def test_setext_heading_and_no_trailing_newline() -> None:
    """A setext heading is anchored below its underline; a missing last newline is added."""
    old = "# Plan\n\nDependency graph\n----------------"
    new = write(old)
    assert new == old + "\n\n" + fence(GRAPH)
    assert write(new) == new


def test_non_mermaid_fence_below_is_kept() -> None:
    """A plain fence right under the heading is a person's drawing: ours goes above it."""
    old = "## Dependency Graph\n```\nT1 -> T2\n```\n"
    new = write(old)
    assert new == "## Dependency Graph\n\n" + fence(GRAPH) + "\n```\nT1 -> T2\n```\n"
    assert write(new) == new


def test_unclosed_mermaid_fence_is_not_replaced() -> None:
    """An unclosed fence runs to the end of the file; replacing it would eat the rest."""
    old = "## Dependency Graph\n\n```mermaid\nflowchart TD\n\n## Later\n"
    new = write(old)
    assert_inserted(old, new, fence(GRAPH))
    assert write(new) == new


def test_heading_inside_code_is_not_an_anchor() -> None:
    """A heading or label inside a fenced example does not count."""
    old = "# Plan\n\n```markdown\n## Dependency Graph\n**Dependency Graph:**\n```\n"
    new = write(old)
    assert new == old + "\n## Dependency Graph\n\n" + fence(GRAPH)


def test_new_section_goes_before_execution_timeline() -> None:
    """Without an anchor, a ## Dependency Graph section goes before ## Execution Timeline."""
    old = "# Plan\n\n---\n\n## Execution Timeline\n\nrows\n"
    new = write(old)
    assert new == (
        "# Plan\n\n---\n\n## Dependency Graph\n\n"
        + fence(GRAPH)
        + "\n## Execution Timeline\n\nrows\n"
    )
    assert write(new) == new


def test_crlf_plan_keeps_crlf() -> None:
    """The fence is written with the file's own line ending."""
    old = "# Plan\r\n\r\n## Dependency Graph\r\n\r\nprose\r\n"
    new = write(old, "flowchart TD\n  a --> b\n")
    assert new == (
        "# Plan\r\n\r\n## Dependency Graph\r\n\r\n"
        + fence("flowchart TD\n  a --> b", "\r\n")
        + "\r\nprose\r\n"
    )
    assert "\n" not in new.replace("\r\n", "")


def test_stale_plan_is_refused() -> None:
    """A plan read from another text is a conflict: the caller re-reads."""
    plan = parse_plan(TEMPLATE)
    with pytest.raises(EditConflictError):
        set_mermaid_block(TEMPLATE + "\n", plan, HEADING, GRAPH)


@pytest.mark.parametrize("block", ["flowchart TD\n```\nx", "a\n  ~~~ b"])
def test_block_that_would_close_the_fence_is_refused(block: str) -> None:
    """A fence line inside the block would end the fence early: a ValueError, not bad text."""
    with pytest.raises(ValueError, match="code fence"):
        write("## Dependency Graph\n", block)


_ANCHORS = [
    "## Dependency Graph",
    "### 3.1 Dependency Graph",
    "**Dependency Graph:**",
    "Dependency Graph\n================",
]


@st.composite
def anchored(draw: st.DrawFn, spec: PlanSpec) -> str:
    """The plan with a Dependency Graph anchor after its matrix, maybe with a fence under it."""
    eol = spec.eol
    below = draw(
        st.sampled_from(
            [
                "",
                "```mermaid\nflowchart LR\n  x --> y\n```\n",
                "```mermaid\n```\n",
                "```\nT1 -> T2\n```\n",
                "Prose under the graph.\n",
            ]
        )
    )
    gap = draw(st.sampled_from(["", "\n", "\n\n"]))
    section = draw(st.sampled_from(_ANCHORS)) + "\n" + gap + below + "\n"
    at = spec.text.index("### Pre-Execution Checklist")
    return spec.text[:at] + section.replace("\n", eol) + spec.text[at:]


@settings(max_examples=150, deadline=None)
@given(spec=plans(), block=graphs, data=st.data())
def test_graph_edit_is_minimal_and_idempotent(
    spec: PlanSpec, block: str, data: st.DataObject
) -> None:
    """Only the fence changes; writing again changes nothing; the plan reads the same."""
    old = data.draw(st.one_of(st.just(spec.text), anchored(spec)))
    new = write(old, block)
    body = "".join(line + spec.eol for line in block.strip("\n").split("\n"))
    assert write(new, block) == new
    before, after = parse_plan(old), parse_plan(new)
    assert [(t.id, t.status, t.dependencies) for t in after.tasks] == [
        (t.id, t.status, t.dependencies) for t in before.tasks
    ]
    assert [(c.text, c.checked) for c in after.checklists] == [
        (c.text, c.checked) for c in before.checklists
    ]
    assert [b.fields for b in after.blockers] == [b.fields for b in before.blockers]
    mermaid_start = "```mermaid" + spec.eol
    if mermaid_start in old:
        # Replaced in place: exactly the old fence's content differs.
        start = old.index(mermaid_start) + len(mermaid_start)
        end = old.index("```", start)
        assert new == old[:start] + body + old[end:]
    else:
        assert_inserted(old, new, mermaid_start + body + "```" + spec.eol)


@settings(max_examples=50, deadline=None)
@given(first=graphs, second=graphs)
def test_later_graph_replaces_earlier(first: str, second: str) -> None:
    """Writing graph A then graph B equals writing B alone."""
    assert write(write(TEMPLATE, first), second) == write(TEMPLATE, second)


def test_new_section_stays_above_the_revision_marker() -> None:
    """Without an anchor or a timeline, the section goes at the end but above the marker."""
    old = "# Plan\n\n| a |\n|---|\n| 1 |\n<!-- baton:rev 7 -->\n"
    new = write(old)
    assert new == (
        "# Plan\n\n| a |\n|---|\n| 1 |\n\n## Dependency Graph\n\n"
        + fence(GRAPH)
        + "\n<!-- baton:rev 7 -->\n"
    )
    assert read_revision(new) == 7
    assert write(new) == new
