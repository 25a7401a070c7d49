"""The lean table rule finds the tables markdown-it's own rule finds, on the same lines."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from protocol._table import _MD

STOCK = MarkdownIt("commonmark").enable("table")
STOCK.core.ruler.disable(["inline", "linkify", "replacements", "smartquotes", "text_join"])
FIXTURES = Path(__file__).parent.parent / "fixtures" / "plans"
KEPT = {"table_open", "heading_open", "fence", "html_block", "code_block"}


def blocks(md: MarkdownIt, text: str) -> list[tuple[str, list[int] | None, int]]:
    """What ``protocol._table.scan_blocks`` reads: the kind, lines and nesting of each block,
    and a heading's title."""
    tokens = md.parse(text)
    out = []
    for i, tok in enumerate(tokens):
        if tok.type in KEPT:
            out.append((tok.type, tok.map, tok.level))
        if tok.type == "heading_open":
            out.append(("title", None, hash(tokens[i + 1].content)))
    return out


def same(text: str) -> None:
    assert blocks(_MD, text) == blocks(STOCK, text)


def test_the_fixture_plans() -> None:
    for path in sorted(FIXTURES.glob("*.md")):
        same(path.read_text(encoding="utf-8"))


def test_rows_with_escaped_pipes_and_missing_cells() -> None:
    """The row count that limits autocompleted cells: escaped pipes, no outer pipes."""
    rows = ["| a | b | c |", "a \\| b | c", "\\|", "|", "||", "a\\\\|b", "| x \\|"] * 20_000
    same("| A | B | C |\n|---|:-:|--:|\n" + "\n".join(rows) + "\n")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("|-:`*#>[]x \n\t1A\\<")), max_size=600))
def test_table_soup(text: str) -> None:
    """Text made of a table's punctuation, lists, quotes, fences and HTML."""
    same(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "| A | B |",
                "|---|---|",
                "| --- | :-: |",
                "|-|",
                "a | b",
                "| a \\| b |",
                "> | q | r |",
                "- | l | m |",
                "    | code |",
                "```",
                "<div>",
                "# H | x",
                "",
                "text",
                "  | indented |",
                "***",
            ]
        ),
        max_size=40,
    )
)
def test_table_lines(lines: list[str]) -> None:
    """Whole table-ish lines in any order, nested in quotes and lists."""
    same("\n".join(lines) + "\n")
