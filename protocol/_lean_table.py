"""markdown-it-py's GFM table rule, reduced to where a table starts and ends.

``protocol._table`` asks markdown-it only for the line range of each table and splits the
rows itself. The stock rule also pushes about a dozen tokens per row (``tr``, ``td``,
``inline`` …), which at 5,000 tasks was most of a plan's parse. This rule accepts exactly
the tables the stock one does and ends them on the same line — the same checks, in the same
order, on the same input (``markdown_it.rules_block.table``, version 4) — but pushes only
``table_open`` (with its ``map``) and ``table_close``. ``tests/protocol`` compares the two on
generated documents.
"""

from __future__ import annotations

import re

from markdown_it.common.utils import isStrSpace, mdTrim
from markdown_it.rules_block.state_block import StateBlock
from markdown_it.rules_block.table import MAX_AUTOCOMPLETED_CELLS, escapedSplit, headerLineRe

_SEPARATOR = re.compile(r"(?<!\\)\|")  # a pipe that splits cells: not right after a backslash


def _get_line(state: StateBlock, line: int) -> str:
    return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]


def _column_count(text: str) -> int:
    """``len(escapedSplit(text))`` without its empty first and last cell, as the stock rule
    counts a body row: a pipe splits unless a backslash is right before it."""
    count = len(_SEPARATOR.findall(text)) + 1
    if text.startswith("|"):
        count -= 1  # the empty cell before a leading pipe
    if count and text.endswith("|") and not text.endswith("\\|"):
        count -= 1  # the empty cell after a trailing pipe
    return count


def _aligns(state: StateBlock, line: int) -> int | None:
    """The number of columns the delimiter row ``line`` sets, or None if it is not one."""
    pos = state.bMarks[line] + state.tShift[line]
    end = state.eMarks[line]
    if pos >= end:
        return None
    first = state.src[pos]
    pos += 1
    if first not in ("|", "-", ":") or pos >= end:
        return None
    second = state.src[pos]
    pos += 1
    if second not in ("|", "-", ":") and not isStrSpace(second):
        return None
    if first == "-" and isStrSpace(second):
        return None  # a list item, not a table
    while pos < end:
        ch = state.src[pos]
        if ch not in ("|", "-", ":") and not isStrSpace(ch):
            return None
        pos += 1
    columns = _get_line(state, line).split("|")
    count = 0
    for i, column in enumerate(columns):
        t = mdTrim(column)
        if not t:
            if i == 0 or i == len(columns) - 1:
                continue
            return None
        if not headerLineRe.search(t):
            return None
        count += 1
    return count


def lean_table(state: StateBlock, startLine: int, endLine: int, silent: bool) -> bool:
    """The stock rule's signature and result; only the tokens differ."""
    if startLine + 2 > endLine:
        return False
    nextLine = startLine + 1
    if state.sCount[nextLine] < state.blkIndent or state.is_code_block(nextLine):
        return False
    aligns = _aligns(state, nextLine)
    if aligns is None:
        return False
    lineText = mdTrim(_get_line(state, startLine))
    if "|" not in lineText or state.is_code_block(startLine):
        return False
    columns = escapedSplit(lineText)
    if columns and columns[0] == "":
        columns.pop(0)
    if columns and columns[-1] == "":
        columns.pop()
    columnCount = len(columns)
    if columnCount == 0 or columnCount != aligns:
        return False
    if silent:
        return True

    oldParentType = state.parentType
    state.parentType = "table"
    terminatorRules = state.md.block.ruler.getRules("blockquote")
    token = state.push("table_open", "table", 1)
    token.map = tableLines = [startLine, 0]
    autocompleted = 0
    nextLine = startLine + 2
    while nextLine < endLine:
        if state.sCount[nextLine] < state.blkIndent:
            break
        if any(rule(state, nextLine, endLine, True) for rule in terminatorRules):
            break
        lineText = mdTrim(_get_line(state, nextLine))
        if not lineText or state.is_code_block(nextLine):
            break
        autocompleted += columnCount - _column_count(lineText)
        if autocompleted > MAX_AUTOCOMPLETED_CELLS:
            break
        nextLine += 1
    state.push("table_close", "table", -1)
    tableLines[1] = nextLine
    state.parentType = oldParentType
    state.line = nextLine
    return True


__all__ = ["lean_table"]
