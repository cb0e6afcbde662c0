"""Roadmap documents: phases of nested markdown checklists, read into a tree with completion.

`parse_roadmap` is pure (text in, `Roadmap` out) so it is tested on strings; `read_roadmap`
opens the file, `store_roadmap` writes the tree through the store and `collect_roadmap` does
both for the scheduler. The tree, its counts and its renderers live in
services/documents/roadmap.py.

What is read (details and reasons in docs/roadmap-and-costs.md):

- A phase is an ATX heading whose text starts with `Phase <id>` (`### Phase 2: Core
  Services 🔄`). A status mark anywhere in it (✅ done, 🔄 in progress, 📋 planned, or a
  trailing `(done)` / `(in progress)` / `(planned)`) is the phase's stated status; other
  trailing symbols are kept as an unknown mark and flagged, never fatal. Marks mangled by a
  Mac Roman or Windows-1252 round trip (`‚úÖ` for ✅) are read as the emoji they encode.
- The roadmap runs from the heading that contains the first phase heading (or the start)
  to the next heading above the phase level after the last phase. Checklists elsewhere in
  the document belong to other sections and are not read; a checklist item inside the
  roadmap but outside a phase is an error, since it could not be counted anywhere.
- Items are `- [ ]` / `- [x]` (also `*`, `+`, `1.`), nested by indentation of any
  consistent step (2 or 4 spaces, tabs as 4 columns). `(target: …)` becomes `target`.
- Completion counts leaves: a leaf is done when its box is checked; a parent's completion
  is the share of its leaves done, reported beside its own box, which is not counted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from collectors.runs import RunResult
from services.documents import markdown
from services.documents.roadmap import (
    DONE,
    IN_PROGRESS,
    PLANNED,
    Flag,
    Item,
    Phase,
    Roadmap,
)
from services.files import read_text
from services.store import writes
from services.store.models import RoadmapItem, RoadmapSnapshot
from slo.errors import InputError, InputErrors

_EMOJI_STATUS = {"✅": DONE, "✔": DONE, "☑": DONE, "🔄": IN_PROGRESS, "🚧": IN_PROGRESS,
                 "📋": PLANNED}
_WORD_STATUS = {"done": DONE, "complete": DONE, "completed": DONE, "in progress": IN_PROGRESS,
                "in-progress": IN_PROGRESS, "wip": IN_PROGRESS, "ongoing": IN_PROGRESS,
                "planned": PLANNED, "todo": PLANNED, "to do": PLANNED, "not started": PLANNED}
_MOJIBAKE_CODECS = ("mac_roman", "cp1252")

_CHECKBOX = re.compile(r"^\[(?P<mark>[^\]]?)\](?=\s|$)\s*(?P<title>.*)$")
_PHASE = re.compile(r"^phase\s+(?P<number>\d+(?:\.\d+)*[a-z]?|[^\s:.)\-–—]+)"
                    r"\s*(?:[:.)\-–—]+\s*(?P<name>.*))?$", re.IGNORECASE)
_TEXT_STATUS = re.compile(r"\s*[(\[]\s*(?P<word>" + "|".join(map(re.escape, _WORD_STATUS))
                          + r")\s*[)\]]\s*$", re.IGNORECASE)
_TARGET = re.compile(r"\s*\(\s*targets?\s*(?::|=|\s)\s*(?P<target>[^()]+?)\s*\)", re.IGNORECASE)


# --- reading lines ----------------------------------------------------------------------


def _mojibake_forms() -> list[tuple[str, str]]:
    """(mangled form, emoji) for each status emoji read back through a legacy code page.

    Mac Roman turns the lead byte of a 4-byte emoji into U+F8FF, which many viewers drop,
    so the form without it is accepted too.
    """
    forms: list[tuple[str, str]] = []
    for emoji in _EMOJI_STATUS:
        for codec in _MOJIBAKE_CODECS:
            try:
                mangled = emoji.encode("utf-8").decode(codec)
            except UnicodeDecodeError:
                continue
            forms.append((mangled, emoji))
            if mangled.startswith("\uf8ff"):
                forms.append((mangled[1:], emoji))
    return sorted(forms, key=lambda f: -len(f[0]))


_MARK_FORMS = _mojibake_forms() + [(e, e) for e in _EMOJI_STATUS]


def repair_line(line: str) -> str:
    """The line as written if it is UTF-8 that was decoded as Mac Roman or Windows-1252.

    Only a round trip that yields valid UTF-8 counts, which ordinary accented text
    almost never does, so correct lines come back unchanged.
    """
    for codec in _MOJIBAKE_CODECS:
        try:
            repaired = line.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if repaired != line:
            return repaired
    return line


def _stray(ch: str) -> bool:
    """A character a legacy code page makes of UTF-8 bytes (Latin-1, ∑, ™, ◊, Ω, U+F8FF)."""
    cp = ord(ch)
    return 0x80 <= cp <= 0x2FF or 0x2000 <= cp <= 0x25FF or cp in (0x3A9, 0x3C0, 0xF8FF,
                                                                    0xFB01, 0xFB02)


def _is_decoration(token: str) -> bool:
    """A heading word of symbols (`🚀`, `⚠`) or stray code-page characters (`üöÄ`).

    ASCII words are never decoration, nor words of letters of another script (`機能`).
    """
    if token.isascii() or any(ch.isascii() and ch.isalnum() for ch in token):
        return False
    return all(_stray(ch) or unicodedata.category(ch)[0] not in "LN" for ch in token)


@dataclass(frozen=True)
class HeadingParts:
    """A heading's text split into its title and its marks."""

    title: str
    status: str | None
    mark: str
    unknown_mark: str
    misencoded: bool


def split_heading(text: str) -> HeadingParts:
    """Heading text -> title, stated status and marks (known emoji, words, or unknown)."""
    text = text.replace("\ufe0f", "")
    status, mark, misencoded = None, "", False
    for form, emoji in _MARK_FORMS:
        if form in text:
            text = text.replace(form, " ")
            if status is None:
                status, mark = _EMOJI_STATUS[emoji], emoji
            misencoded = misencoded or form != emoji
    words = _TEXT_STATUS.search(text)
    if words:
        text = text[: words.start()]
        if status is None:
            status, mark = _WORD_STATUS[words["word"].lower()], f"({words['word']})"
    tokens = text.split()
    while tokens and _is_decoration(tokens[0]):  # a leading icon, not a status
        tokens.pop(0)
    trailing: list[str] = []
    while tokens and _is_decoration(tokens[-1]):
        trailing.insert(0, tokens.pop())
    return HeadingParts(" ".join(tokens), status, mark, " ".join(trailing), misencoded)


@dataclass(frozen=True)
class _Heading:
    line: int
    level: int
    text: str


@dataclass(frozen=True)
class _ListLine:
    line: int
    width: int  # indentation in columns, tabs to the next multiple of 4
    mark: str | None  # the checkbox's character, None for a list item without a box
    title: str


def _scan(text: str) -> Iterator[_Heading | _ListLine | int]:
    """Headings and list items outside code; an int is a line repaired from mojibake."""
    raw = text.splitlines()
    lines = [repair_line(line) for line in raw]
    yield from (n for n, (a, b) in enumerate(zip(raw, lines, strict=True), start=1) if a != b)
    for block in markdown.scan_lines(lines):
        if block.kind == markdown.HEADING:
            yield _Heading(block.line, block.level, block.text)
        elif block.kind == markdown.ITEM:
            box = _CHECKBOX.match(block.text)
            mark, title = (box["mark"], box["title"]) if box else (None, block.text)
            yield _ListLine(block.line, block.indent, mark, title.strip())


def split_target(title: str) -> tuple[str, str | None]:
    """`Load testing (target: 100K connections)` -> (`Load testing`, `100K connections`)."""
    targets = [m["target"] for m in _TARGET.finditer(title)]
    if not targets:
        return title, None
    return " ".join(_TARGET.sub("", title).split()), "; ".join(targets)


# --- parsing ----------------------------------------------------------------------------


def _phase_heading(h: _Heading) -> tuple[HeadingParts, re.Match[str]] | None:
    parts = split_heading(h.text)
    found = _PHASE.match(parts.title)
    return (parts, found) if found else None


def _region(tokens: list[Any]) -> tuple[int, int, int]:
    """(first line, last line + 1, phase heading level) of the document's roadmap part."""
    headings = [t for t in tokens if isinstance(t, _Heading)]
    phases = [h for h in headings if _phase_heading(h)]
    if not phases:
        return 0, 0, 0
    level = min(h.level for h in phases)
    start = max((h.line for h in headings if h.line < phases[0].line and h.level < level),
                default=1)
    end = min((h.line for h in headings if h.line > phases[-1].line and h.level < level),
              default=10**9)
    return start, end, level


class _Parser:
    """Walks the scanned lines once, building phases and items and collecting problems."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.phases: list[Phase] = []
        self.flags: list[Flag] = []
        self.errors: list[InputError] = []
        self.phase: Phase | None = None
        self.phase_level = 0
        self.step = 0  # the current phase's indentation step, from its first indented item
        self.stack: list[tuple[int, Item | None, int]] = []  # (level, item or note, line)
        self.titles: dict[str, int] = {}

    def error(self, msg: str, line: int, field: str) -> None:
        self.errors.append(InputError(msg, path=self.path, line=line, field=field))

    def flag(self, line: int, key: str, kind: str, message: str) -> None:
        self.flags.append(Flag(line, key, kind, message))

    def heading(self, h: _Heading) -> None:
        found = _phase_heading(h)
        self.stack = []  # a heading ends any list
        if found is None:
            if self.phase is not None and h.level <= self.phase_level:
                self.phase = None  # a sibling section ends the phase
            return
        parts, match = found
        key = str(len(self.phases) + 1)
        if parts.title in self.titles:
            self.error(f"phase {parts.title!r} is already on line {self.titles[parts.title]}",
                       h.line, "phase")
        self.titles[parts.title] = h.line
        self.phase = Phase(key, parts.title, match["number"], (match["name"] or "").strip(),
                           parts.status, parts.mark or parts.unknown_mark, h.line)
        self.phases.append(self.phase)
        self.phase_level, self.step = h.level, 0
        if parts.unknown_mark and not parts.status:
            self.flag(h.line, key, "unknown-mark", f"unknown status mark {parts.unknown_mark!r};"
                      " status taken from the items")
        if parts.misencoded:
            self.flag(h.line, key, "encoding", f"status mark is mis-encoded; read as {parts.mark}")

    def level(self, li: _ListLine) -> int:
        """Nesting level from indentation; the phase's first indent sets its step."""
        if li.width and not self.step:
            self.step = li.width
        if not li.width:
            return 0
        if li.width % self.step:
            self.error(f"indentation of {li.width} columns does not line up with this phase's "
                       f"step of {self.step}", li.line, "indentation")
        return round(li.width / self.step)

    def list_line(self, li: _ListLine) -> None:
        phase = self.phase
        if phase is None:
            if li.mark is not None:
                self.error("checklist item outside any phase; put it under a heading such as "
                           "'### Phase 1: Title'", li.line, "phase")
            return
        level = self.level(li)
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        top = self.stack[-1] if self.stack else None
        deepest = top[0] + 1 if top else 0
        if level > deepest:
            above = f"the item on line {top[2]}" if top else "the phase heading"
            self.error(f"indented {level - deepest + 1} levels deeper than {above}; nest one "
                       "level at a time", li.line, "indentation")
            level = deepest
        if li.mark is None:
            self.stack.append((level, None, li.line))  # a note: not a roadmap item
            return
        if top is not None and top[1] is None:
            self.error(f"checklist item under the list item without a checkbox on line {top[2]}",
                       li.line, "indentation")
            return
        item = self.item(li, phase, top[1] if top else None)
        if item is not None:
            self.stack.append((level, item, li.line))

    def item(self, li: _ListLine, phase: Phase, parent: Item | None) -> Item | None:
        if li.mark not in (" ", "x", "X"):
            self.error(f"unknown checkbox mark '[{li.mark}]'; use '[ ]' (open) or '[x]' (done)",
                       li.line, "checkbox")
            return None
        title, target = split_target(li.title)
        if not title:
            self.error("checklist item has no title", li.line, "title")
            return None
        siblings = parent.children if parent else phase.items
        prefix = parent.key if parent else phase.key
        item = Item(f"{prefix}.{len(siblings) + 1}", title, li.mark != " ", li.line, target)
        siblings.append(item)
        return item


def _check(parser: _Parser) -> None:
    """Flag boxes and marks that disagree with the items under them."""
    for phase in parser.phases:
        for item in phase.walk():
            if not item.children:
                continue
            open_leaves = item.leaves - item.leaves_done
            if item.checked and open_leaves:
                parser.flag(item.line, item.key, "checked-parent-open",
                            f"checked, but {open_leaves} of its {item.leaves} sub-items are open")
            elif not item.checked and not open_leaves:
                parser.flag(item.line, item.key, "parent-open-all-done",
                            f"all {item.leaves} sub-items are done but its own box is open")
        _check_phase(parser, phase)


def _check_phase(parser: _Parser, phase: Phase) -> None:
    done, total = phase.leaves_done, phase.leaves
    if not total:
        parser.flag(phase.line, phase.key, "empty-phase", "phase has no checklist items")
        return
    if phase.status == DONE and done < total:
        parser.flag(phase.line, phase.key, "status-done-open",
                    f"marked done, but {total - done} of {total} items are open")
    elif phase.status == PLANNED and done:
        parser.flag(phase.line, phase.key, "status-planned-started",
                    f"marked planned, but {done} of {total} items are done")
    elif phase.status == IN_PROGRESS and done == total:
        parser.flag(phase.line, phase.key, "status-in-progress-done",
                    f"marked in progress, but all {total} items are done")


def parse_roadmap(text: str, *, path: str = "<roadmap>") -> Roadmap:
    """The roadmap in a markdown text. Raises InputErrors listing every problem found.

    `path` is used in messages only.
    """
    tokens = list(_scan(text))
    start, end, _ = _region(tokens)
    parser = _Parser(path)
    if not end:
        first = next((t.line for t in tokens if isinstance(t, _ListLine) and t.mark is not None),
                     None)
        raise InputError("no phase heading such as '### Phase 1: Title' found", path=path,
                         line=first)
    for token in tokens:
        if isinstance(token, int):
            if start <= token < end:
                parser.flag(token, "", "encoding", "line was mis-encoded (UTF-8 read as a "
                            "legacy code page); read as repaired")
        elif start <= token.line < end:
            if isinstance(token, _Heading):
                parser.heading(token)
            else:
                parser.list_line(token)
    if parser.errors:
        raise InputErrors(sorted(parser.errors, key=lambda e: e.line or 0))
    _check(parser)
    parser.flags.sort(key=lambda f: f.line)
    return Roadmap(path, parser.phases, parser.flags)


def read_roadmap(path: Path) -> Roadmap:
    """Read and parse a roadmap file (UTF-8)."""
    text = read_text(path)
    return parse_roadmap(text, path=str(path))


# --- storing ----------------------------------------------------------------------------

ITEMS = RoadmapItem.__table__
SNAPSHOTS = RoadmapSnapshot.__table__
_ITEM_FIELDS = ("parent_key", "phase", "title", "depth", "done", "target", "line")


@dataclass(frozen=True)
class RoadmapWrite:
    """What one `store_roadmap` changed; all zero and False for an unchanged document."""

    inserted: int
    updated: int
    deleted: int
    snapshot: bool

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.deleted or self.snapshot)


def item_rows(tree: Roadmap) -> dict[str, dict[str, Any]]:
    """key -> the `roadmap_items` values of every item (without document and time)."""
    return {item.key: {"parent_key": item.parent_key, "phase": phase.title, "title": item.title,
                       "depth": item.depth, "done": item.checked, "target": item.target,
                       "line": item.line}
            for phase, item in tree.items()}


def _write_items(conn: Connection, tree: Roadmap, document: str, now: datetime
                 ) -> tuple[int, int, int]:
    """Make the document's stored items equal the tree's, touching only rows that differ."""
    new = item_rows(tree)
    stored = {row.key: row for row in conn.execute(
        select(ITEMS).where(ITEMS.c.document == document))}
    gone = sorted(stored.keys() - new.keys())
    if gone:
        conn.execute(delete(ITEMS).where(ITEMS.c.document == document, ITEMS.c.key.in_(gone)))
    inserts = [{"document": document, "key": k, **v, "updated_at": now}
               for k, v in new.items() if k not in stored]
    if inserts:
        conn.execute(ITEMS.insert(), inserts)
    updated = 0
    for key, values in new.items():
        row = stored.get(key)
        if row is not None and any(getattr(row, f) != values[f] for f in _ITEM_FIELDS):
            conn.execute(update(ITEMS).where(ITEMS.c.id == row.id)
                         .values(**values, updated_at=now))
            updated += 1
    return len(inserts), updated, len(gone)


def _latest_snapshot(conn: Connection, document: str) -> dict[str, tuple[int, int]]:
    latest = (select(func.max(SNAPSHOTS.c.taken_at)).where(SNAPSHOTS.c.document == document)
              .scalar_subquery())
    rows = conn.execute(select(SNAPSHOTS.c.phase, SNAPSHOTS.c.done, SNAPSHOTS.c.total).where(
        SNAPSHOTS.c.document == document, SNAPSHOTS.c.taken_at == latest))
    return {r.phase: (r.done, r.total) for r in rows}


def _write_snapshot(conn: Connection, tree: Roadmap, document: str, now: datetime) -> bool:
    """One row per phase, only when some phase's (done, total) differs from the last read."""
    counts = {p.title: (p.leaves_done, p.leaves) for p in tree.phases}
    if counts == _latest_snapshot(conn, document):
        return False
    writes.upsert(conn, SNAPSHOTS, [(document, now, phase, done, total)
                                    for phase, (done, total) in counts.items()])
    return True


def store_roadmap(conn: Connection, tree: Roadmap, *, document: str,
                  now: datetime | None = None) -> RoadmapWrite:
    """Replace the document's items and add a progress snapshot if progress changed.

    Runs in the caller's transaction. Writing the same tree again changes nothing: no row
    is rewritten and no snapshot is added. `now` (UTC) stamps changed rows and the snapshot.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    inserted, updated, deleted = _write_items(conn, tree, document, now)
    return RoadmapWrite(inserted, updated, deleted, _write_snapshot(conn, tree, document, now))


def collect_roadmap(engine: Engine, path: Path, *, document: str | None = None,
                    now: datetime | None = None) -> RunResult:
    """Read one roadmap file into the store; problems in the file become the run's errors.

    `document` (default: the file's absolute path) names it in the store, so the same file
    read from another directory is still the same document.
    """
    name = document or str(path.resolve())
    run = RunResult("roadmap", name)
    try:
        tree = read_roadmap(path)
    except InputError as exc:
        run.errors = [str(e) for e in getattr(exc, "errors", [exc])]
        return run.finish()
    with engine.begin() as conn:
        store_roadmap(conn, tree, document=name, now=now)
    run.samples = sum(1 for _ in tree.items())
    return run.finish()
