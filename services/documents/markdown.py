"""One block scanner for the markdown people write, shared by the roadmap and cost readers.

Each line is classified once: a heading (ATX `#`..`######`, or setext `===` / `---` under
a paragraph), a list item, a table row, code, a thematic break, text or blank. Code is a
fenced block as CommonMark draws it — three or more backticks or tildes, indented up to 3
spaces, closed only by a fence of the same character at least as long (an unclosed fence
runs to the end) — and nothing inside it is a heading, an item or a row, so a shell
comment or an example table in a fence is never read as roadmap or cost data. Front
matter (`---` … `---` at the very top) is code too.

Not modelled, on purpose: indented (4-space) code blocks, since roadmaps nest checklists
by 4 spaces; block quotes; HTML blocks. Readers take what they need from the blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

HEADING, ITEM, ROW, CODE, BREAK, TEXT, BLANK = (
    "heading", "item", "row", "code", "break", "text", "blank")
TAB_COLUMNS = 4

_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_FENCE_CLOSE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*$")
_ATX = re.compile(r"^ {0,3}(?P<hashes>#{1,6})(?:[ \t]+(?P<text>.*?))?[ \t]*$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+$")
_SETEXT = re.compile(r"^ {0,3}(?P<rule>=+|-+)[ \t]*$")
_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_ROW = re.compile(r"^ {0,3}\|")
_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*+]|\d{1,9}[.)])(?:[ \t]+(?P<text>.*))?$")
_DELIMITER_CELL = re.compile(r"^:?-+:?$")
_FRONT_MATTER_END = ("---", "...")


@dataclass(frozen=True)
class Block:
    """One line of a document, classified (a setext heading is one block for its lines)."""

    line: int  # 1-based
    kind: str  # HEADING, ITEM, ROW, CODE, BREAK, TEXT or BLANK
    text: str  # heading: its text; item: what follows the marker; otherwise the raw line
    level: int = 0  # heading: 1..6
    indent: int = 0  # item: columns before the marker, a tab to the next multiple of 4


@dataclass(frozen=True)
class Table:
    """A table outside code: its header cells and body rows (line, cells); no delimiter."""

    line: int
    header: list[str]
    rows: list[tuple[int, list[str]]]


def columns(indent: str) -> int:
    """Width of leading whitespace in columns, tabs stopping at multiples of TAB_COLUMNS."""
    width = 0
    for ch in indent:
        width = (width // TAB_COLUMNS + 1) * TAB_COLUMNS if ch == "\t" else width + 1
    return width


def _opening_fence(line: str) -> str | None:
    """The fence a line opens (its run of ``` or ~~~), or None."""
    found = _FENCE_OPEN.match(line)
    if not found:
        return None
    fence = found["fence"]
    if fence[0] == "`" and "`" in found["info"]:
        return None  # CommonMark: a backtick fence's info string has no backtick
    return fence


def _closes(line: str, fence: str) -> bool:
    found = _FENCE_CLOSE.match(line)
    return bool(found and found["fence"][0] == fence[0] and len(found["fence"]) >= len(fence))


def _front_matter(lines: Sequence[str]) -> int:
    """How many lines of YAML front matter open the document (0 without any)."""
    if not lines or lines[0].rstrip() != "---":
        return 0
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() in _FRONT_MATTER_END:
            return number
    return 0


def _atx(number: int, line: str) -> Block | None:
    found = _ATX.match(line)
    if not found:
        return None
    text = _CLOSING_HASHES.sub("", found["text"] or "").strip()
    return Block(number, HEADING, text, level=len(found["hashes"]))


def _item(number: int, line: str) -> Block | None:
    found = _ITEM.match(line)
    if not found:
        return None
    return Block(number, ITEM, (found["text"] or "").strip(), indent=columns(found["indent"]))


def _setext(blocks: list[Block], line: str) -> bool:
    """Turn the paragraph just scanned into a heading if `line` underlines it.

    Only a paragraph that starts a block counts: text right after a list item or a table
    row continues that item or row, and `---` under it is a thematic break.
    """
    found = _SETEXT.match(line)
    if not found or not blocks or blocks[-1].kind != TEXT:
        return False
    start = len(blocks)
    while start and blocks[start - 1].kind == TEXT:
        start -= 1
    if start and blocks[start - 1].kind in (ITEM, ROW):
        return False
    text = " ".join(b.text.strip() for b in blocks[start:])
    level = 1 if found["rule"][0] == "=" else 2
    blocks[start:] = [Block(blocks[start].line, HEADING, text, level=level)]
    return True


def _classify(number: int, line: str) -> Block:
    if not line.strip():
        return Block(number, BLANK, line)
    if _BREAK.match(line):
        return Block(number, BREAK, line)
    return (_atx(number, line) or (Block(number, ROW, line) if _ROW.match(line) else None)
            or _item(number, line) or Block(number, TEXT, line))


def scan_lines(lines: Sequence[str]) -> list[Block]:
    """Classify each line; see the module's docstring for what is recognised."""
    skip = _front_matter(lines)
    blocks = [Block(n, CODE, line) for n, line in enumerate(lines[:skip], start=1)]
    fence = ""
    for number, line in enumerate(lines[skip:], start=skip + 1):
        if fence:
            fence = "" if _closes(line, fence) else fence
            blocks.append(Block(number, CODE, line))
        elif opening := _opening_fence(line):
            fence = opening
            blocks.append(Block(number, CODE, line))
        elif not _setext(blocks, line):
            blocks.append(_classify(number, line))
    return blocks


def scan(text: str) -> list[Block]:
    """The blocks of a markdown text."""
    return scan_lines(text.splitlines())


def split_row(line: str) -> list[str]:
    """Cells of a `| a | b |` row; `\\|` is a literal bar."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", body)]


def _is_delimiter(cells: Sequence[str]) -> bool:
    return any(cells) and all(_DELIMITER_CELL.match(c) for c in cells if c)


def _runs(blocks: Iterable[Block]) -> Iterator[list[Block]]:
    """Consecutive table rows."""
    run: list[Block] = []
    for block in blocks:
        if block.kind == ROW:
            run.append(block)
            continue
        if run:
            yield run
        run = []
    if run:
        yield run


def tables(blocks: Iterable[Block]) -> Iterator[Table]:
    """Each table: a header row, a delimiter row (`|---|:--:|`), then its body rows."""
    for run in _runs(blocks):
        rows = [(b.line, split_row(b.text)) for b in run]
        if len(rows) >= 2 and _is_delimiter(rows[1][1]):
            yield Table(rows[0][0], rows[0][1], rows[2:])
