"""Pipe tables and block structure, located with markdown-it-py and split by hand.

markdown-it-py tells us *where* the blocks are (tables, headings, fences, HTML comments);
we re-read the raw lines ourselves so every cell knows its exact character span, which the
editors need to change one cell without touching a byte around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from markdown_it import MarkdownIt

from protocol._model import Cell, Row, Table
from protocol._text import Lines, Span
from protocol.revision import is_marker_line

# Inline parsing is never needed (we re-split the raw lines) and is most of markdown-it's cost.
_PIPE = re.compile(r"\|")
_ESCAPED_OR_PIPE = re.compile(r"(\\.)|(\|)")
_MD = MarkdownIt("commonmark").enable("table")
_MD.core.ruler.disable(["inline", "linkify", "replacements", "smartquotes", "text_join"])


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    title: str
    line: int


@dataclass(frozen=True, slots=True)
class Blocks:
    """The block structure of a document: tables, headings, and lines to ignore.

    ``opaque`` holds 1-based line ranges (inclusive) of fenced code and HTML blocks: nothing
    in them is a task, a checkbox or a blocker entry (the template's examples live there).
    ``fences`` lists fenced code blocks as (info string, first content line, last content line).
    """

    tables: tuple[Table, ...]
    headings: tuple[Heading, ...]
    opaque: tuple[tuple[int, int], ...]
    fences: tuple[tuple[str, int, int], ...]

    def is_opaque(self, line: int) -> bool:
        return any(a <= line <= b for a, b in self.opaque)


def visible_lines(lines: Lines, blocks: Blocks, first: int, last: int) -> Iterator[int]:
    """Line numbers in [first, last] that are outside fences and HTML blocks."""
    opaque = sorted(blocks.opaque)
    k = 0
    n = first
    while n <= last:
        while k < len(opaque) and opaque[k][1] < n:
            k += 1
        if k < len(opaque) and opaque[k][0] <= n:
            n = opaque[k][1] + 1
            continue
        yield n
        n += 1


def scan_blocks(lines: Lines, previous: tuple[Lines, Blocks] | None = None) -> Blocks:
    """Locate the blocks of ``lines.text``; never raises on any input.

    With ``previous`` (the lines and blocks of an earlier version), when the only lines that
    changed are table body rows, the earlier structure is reused and only the tables are
    re-read: a cell edit cannot move a heading, a fence or a table boundary.
    """
    if previous is not None:
        reused = _reuse(lines, *previous)
        if reused is not None:
            return reused
    # markdown-it counts lines like we do only if every line break is a '\n': a lone '\r'
    # would be a line break to it and not to us, so it is blanked for this scan only.
    src = lines.text.replace("\r\n", "\n").replace("\r", " ")
    if src.startswith("\ufeff"):
        src = src[1:]
    tokens = _MD.parse(src)
    tables: list[Table] = []
    headings: list[Heading] = []
    opaque: list[tuple[int, int]] = []
    fences: list[tuple[str, int, int]] = []
    for i, tok in enumerate(tokens):
        if tok.map is None:
            continue
        first, past = tok.map[0] + 1, tok.map[1]
        if tok.type == "table_open":
            table = _read_table(lines, first, past)
            if table is not None:
                tables.append(table)
        elif tok.type == "heading_open":
            title = tokens[i + 1].content if i + 1 < len(tokens) else ""
            headings.append(Heading(int(tok.tag[1:]), title.strip(), first))
        elif tok.type == "fence":
            opaque.append((first, past))
            fences.append((tok.info.strip(), first + 1, past - 1))
        elif tok.type in ("html_block", "code_block"):
            opaque.append((first, past))
    return Blocks(tuple(tables), tuple(headings), tuple(opaque), tuple(fences))


def _reuse(lines: Lines, old_lines: Lines, old: Blocks) -> Blocks | None:
    if len(lines) != len(old_lines):
        return None
    body_rows = {n for t in old.tables for n in range(t.header_line + 2, t.last_line + 1)}
    changed: set[int] = set()
    # Lines are compared as split by C code, and only those that differ are looked at.
    pairs = zip(lines.text.split("\n"), old_lines.text.split("\n"), strict=False)
    for n in [i for i, (a, b) in enumerate(pairs, 1) if a != b]:
        new = lines.content(n)
        if new == old_lines.content(n):
            continue  # only the line ending differs
        if n in body_rows and new.lstrip().startswith("|"):
            changed.add(n)
        elif not (is_marker_line(new) and is_marker_line(old_lines.content(n))):
            return None  # structure may have moved: a full scan
    tables = []
    for t in old.tables:
        table = _reread_table(lines, old_lines, t, changed)
        if table is None:
            return None
        tables.append(table)
    return Blocks(tuple(tables), old.headings, old.opaque, old.fences)


def _reread_table(lines: Lines, old_lines: Lines, old: Table, changed: set[int]) -> Table | None:
    """``old`` as it stands in ``lines``: changed rows are split again, unchanged ones only
    moved by as much as the text before them grew or shrank."""
    rows: list[Row] = []
    for row in old.rows:
        n = row.line
        if n in changed:
            cells = split_row(lines, n)
            if cells is None:
                return None
            rows.append(Row(cells, lines.span(n, 0, lines.end(n) - lines.start(n))))
            continue
        delta = lines.start(n) - old_lines.start(n)
        rows.append(row if not delta else _moved(row, delta))
    return Table(old.header, tuple(rows), header_line=old.header_line, last_line=old.last_line)


def _moved(row: Row, delta: int) -> Row:
    # Every row below a cell that grew is rebuilt on each re-read: this is the hot loop of
    # a large plan's re-read (bench/bench_plan.py), hence tuples built directly.
    new = tuple.__new__
    cells = [
        new(Cell, (raw, new(Span, (s[0] + delta, s[1] + delta, s[2], s[3]))))
        for raw, s in row.cells
    ]
    s = row.span
    return new(Row, (tuple(cells), new(Span, (s[0] + delta, s[1] + delta, s[2], s[3]))))


def _read_table(lines: Lines, first: int, last: int) -> Table | None:
    header_cells = split_row(lines, first)
    if header_cells is None or last < first + 1:
        return None
    rows: list[Row] = []
    for n in range(first + 2, min(last, len(lines)) + 1):
        cells = split_row(lines, n)
        if cells is None:
            continue
        rows.append(Row(cells, lines.span(n, 0, lines.end(n) - lines.start(n))))
    header = tuple(c.raw for c in header_cells)
    last_line = rows[-1].line if rows else first + 1
    return Table(header, tuple(rows), header_line=first, last_line=last_line)


def split_row(lines: Lines, n: int) -> tuple[Cell, ...] | None:
    """Split line ``n`` of a pipe table into cells with exact spans.

    A pipe escaped with a backslash stays in its cell, as in GitHub's tables. A leading and a
    trailing pipe are optional.
    """
    content = lines.content(n)
    base = lines.start(n)
    if n == 1 and content.startswith("\ufeff"):
        content, base = content[1:], base + 1
    # Positions of the separating pipes. The fast path covers lines without a backslash;
    # with one, a pipe right after an escaping backslash stays in its cell.
    if "\\" not in content:
        bounds = [m.start() for m in _PIPE.finditer(content)]
    else:
        bounds = [m.start(2) for m in _ESCAPED_OR_PIPE.finditer(content) if m.group(2)]
    size = len(content)
    if not bounds:
        return None
    stripped = content.strip()
    starts_with_pipe = stripped.startswith("|")
    ends_with_pipe = stripped.endswith("|") and not stripped.endswith("\\|")
    edges = list(bounds)
    if not starts_with_pipe:
        edges.insert(0, -1)
    if not ends_with_pipe or len(edges) == 1:
        edges.append(size)
    cells: list[Cell] = []
    for a, b in pairwise(edges):
        seg_start, seg_end = a + 1, b
        seg = content[seg_start:seg_end]
        lead = len(seg) - len(seg.lstrip(" \t"))
        raw = seg.strip(" \t")
        if raw:
            s = seg_start + lead
            e = s + len(raw)
        else:
            s = e = seg_start + min(1, len(seg))
        cells.append(Cell(raw, Span(base + s, base + e, n, base + s - lines.start(n))))
    return tuple(cells)
