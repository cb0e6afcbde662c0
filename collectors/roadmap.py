"""Roadmap documents: phases of nested markdown checklists, read into a tree with completion.

`parse_roadmap` is pure (text in, `Roadmap` out) so it is tested on strings; `read_roadmap`
opens the file, `store_roadmap` writes the tree through the store and `collect_roadmap` does
both for the scheduler. The tree, its counts and its renderers live in
services/documents/roadmap.py.

What is read (details and reasons in docs/roadmap-and-costs.md):

- The roadmap part: the section of the first heading that says "roadmap" and holds a
  checklist, else the whole document.
- A phase is the nearest heading above checklist items, whatever it says (`### Phase 2:
  Core Services`, `## Stage A`, `## Q1 2027`); items above every heading form a phase
  `(no heading)`. A heading beside phases with nothing under it yet is an empty phase when
  it looks like them (a status mark, or the same leading word). A heading with phases
  below it is a group; headings every phase shares are left out of the paths.
- A status mark anywhere in a heading (✅ done, 🔄 in progress, 📋 planned, or a trailing
  `(done)` / `(in progress)` / `(planned)`) is its stated status; other trailing symbols
  are kept as an unknown mark and flagged, never fatal. Marks mangled by a Mac Roman or
  Windows-1252 round trip (`‚úÖ` for ✅) are read as the emoji they encode.
- Items are `- [ ]` / `- [x]` (also `*`, `+`, `1.`), nested by indentation of any
  consistent step (2 or 4 spaces, tabs as 4 columns). `(target: …)` becomes `target`.
  Lines inside code fences (services/documents/markdown.py) are never read.
- Completion counts leaves: a leaf is done when its box is checked; a parent's completion
  is the share of its leaves done, reported beside its own box, which is not counted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
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
    Group,
    Item,
    Phase,
    Roadmap,
    consistency_flags,
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
# A checkbox typed askew (`[ x]`, `[x ]`, `[[x]]`): an item with a mark to report, never a
# line silently dropped (its phase would read 100%).
_ASKEW_BOX = re.compile(r"^(?P<mark>\[\[[^\]]{0,2}\]\]|\[[ xX✓✔✅\-~/*]{2,3}\])(?=\s|$)\s*"
                        r"(?P<title>.*)$")
_ROADMAP_WORD = re.compile(r"\broadmaps?\b", re.IGNORECASE)
_LEADING_WORD = re.compile(r"^[^\W\d_]+")
_NUMBERED = re.compile(r"^[^\W\d_]+\s+(?P<number>\d+(?:\.\d+)*[a-z]?|[A-Za-z])"
                       r"\s*(?:[:.)\-–—]+\s*(?P<name>.*))?$")
_NAMED = re.compile(r"^[^:]+:\s*(?P<name>.+)$")
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


def _scan(text: str) -> tuple[list[_Heading | _ListLine], list[int]]:
    """Headings and list items outside code, and the lines repaired from mojibake."""
    raw = text.splitlines()
    lines = [repair_line(line) for line in raw]
    repaired = [n for n, (a, b) in enumerate(zip(raw, lines, strict=True), start=1) if a != b]
    tokens: list[_Heading | _ListLine] = []
    for block in markdown.scan_lines(lines):
        if block.kind == markdown.HEADING:
            tokens.append(_Heading(block.line, block.level, block.text))
        elif block.kind == markdown.ITEM:
            box = _CHECKBOX.match(block.text)
            askew = None if box else _ASKEW_BOX.match(block.text)
            if askew:  # the whole `[ x]` is the mark, so the error shows what was typed
                mark, title = askew["mark"][1:-1], askew["title"]
            else:
                mark, title = (box["mark"], box["title"]) if box else (None, block.text)
            tokens.append(_ListLine(block.line, block.indent, mark, title.strip()))
    return tokens, repaired


def split_target(title: str) -> tuple[str, str | None]:
    """`Load testing (target: 100K connections)` -> (`Load testing`, `100K connections`)."""
    targets = [m["target"] for m in _TARGET.finditer(title)]
    if not targets:
        return title, None
    return " ".join(_TARGET.sub("", title).split()), "; ".join(targets)


# --- the roadmap part and its headings ----------------------------------------------------

NO_HEADING = "(no heading)"  # the phase of checklist items above every heading
_NO_HEADING = HeadingParts(NO_HEADING, None, "", "", False)
_AFTER_ALL = 7  # its level: deeper than any heading, so the first heading ends it
_END = 10**9  # a line after the last


def _region(tokens: list[_Heading | _ListLine]) -> tuple[int, int]:
    """(first line, last line + 1) of the roadmap part of a document.

    The section of the first heading that says "roadmap" and holds a checklist (so an
    architecture overview can be given whole: its other sections are not read), else the
    whole document.
    """
    headings = [t for t in tokens if isinstance(t, _Heading)]
    boxes = [t.line for t in tokens if isinstance(t, _ListLine) and t.mark is not None]
    for h in headings:
        if not _ROADMAP_WORD.search(h.text):
            continue
        end = next((o.line for o in headings if o.line > h.line and o.level <= h.level),
                   _END)
        if any(h.line < line < end for line in boxes):
            return h.line, end
    return 1, _END


@dataclass(eq=False)
class _Section:
    """A heading of the roadmap part, the list lines directly under it, its sub-headings."""

    line: int
    level: int
    parts: HeadingParts
    parent: _Section | None
    lists: list[_ListLine] = field(default_factory=list)
    children: list[_Section] = field(default_factory=list)

    @property
    def checklist(self) -> bool:
        """Checklist items directly under this heading."""
        return any(li.mark is not None for li in self.lists)

    def holds_checklist(self) -> bool:
        return self.checklist or any(c.holds_checklist() for c in self.children)

    def chain(self) -> list[_Section]:
        """Its headings from the outermost down to itself (the document root left out)."""
        return [*self.parent.chain(), self] if self.parent else []


def _sections(tokens: list[_Heading | _ListLine]) -> tuple[_Section, list[_Section]]:
    """The heading tree (its root stands for the document) and every heading in order.

    Checklist items before any heading go under a heading of their own, `(no heading)`,
    which the first real heading ends.
    """
    root = _Section(0, 0, HeadingParts("", None, "", "", False), None)
    stack: list[_Section] = [root]
    sections: list[_Section] = []
    for token in tokens:
        if isinstance(token, _ListLine):
            if stack[-1] is root and token.mark is None:
                continue  # a plain list before any heading: text, not roadmap
            if stack[-1] is root:
                stack.append(_Section(token.line, _AFTER_ALL, _NO_HEADING, root))
                root.children.append(stack[-1])
                sections.append(stack[-1])
            stack[-1].lists.append(token)
            continue
        while stack[-1].level >= token.level:
            stack.pop()
        section = _Section(token.line, token.level, split_heading(token.text), stack[-1])
        stack[-1].children.append(section)
        stack.append(section)
        sections.append(section)
    return root, sections


def _alike(a: HeadingParts, b: HeadingParts) -> bool:
    """Same leading word, digits aside: `Q3 2027` and `Q1 2027`, `Phase 4` and `Phase 1`."""
    x, y = _LEADING_WORD.match(a.title), _LEADING_WORD.match(b.title)
    return bool(x and y and x[0].casefold() == y[0].casefold())


def _is_phase(s: _Section) -> bool:
    """A checklist directly under the heading; or, with no checklist anywhere below, a
    heading beside a phase that looks like one (a status mark or the same leading word):
    a phase with nothing listed yet. Other headings (`## Notes`) are text."""
    if s.checklist:
        return True
    if s.holds_checklist() or s.parent is None:
        return False
    return any(o is not s and o.holds_checklist() and (s.parts.status or _alike(s.parts, o.parts))
               for o in s.parent.children)


def _shared(chains: list[list[_Section]]) -> int:
    """How many outer headings every phase has above it: they hold the whole roadmap, so
    paths leave them out. Never a phase's own heading."""
    most = min(len(c) for c in chains) - 1
    count = 0
    while count < most and all(c[count] is chains[0][count] for c in chains):
        count += 1
    return count


def _number_and_name(title: str) -> tuple[str, str]:
    """`Phase 2: Core Services` -> ("2", "Core Services"); `Stage A: Storage` -> ("A",
    "Storage"); `Milestone: Beta` -> ("", "Beta"); `Q1 2027` -> ("", "Q1 2027")."""
    numbered = _NUMBERED.match(title)
    if numbered:
        return numbered["number"], (numbered["name"] or "").strip()
    named = _NAMED.match(title)
    return "", (named["name"].strip() if named else title)


def _titles(sections: list[_Section]) -> tuple[str, ...]:
    return tuple(s.parts.title for s in sections)


def _phases(heads: list[_Section], shared: int) -> list[Phase]:
    phases = []
    for key, s in enumerate(heads, start=1):
        number, name = _number_and_name(s.parts.title)
        phases.append(Phase(str(key), s.parts.title, number, name, s.parts.status,
                            s.parts.mark or s.parts.unknown_mark, s.line,
                            path=_titles(s.chain()[shared:-1])))
    return phases


def _groups(heads: list[_Section], phases: list[Phase], shared: int) -> list[Group]:
    """Every heading below the shared ones that holds a phase other than its own."""
    held: dict[_Section, list[Phase]] = {}
    for s, phase in zip(heads, phases, strict=True):
        for h in s.chain()[shared:]:
            held.setdefault(h, []).append(phase)
    return [Group(h.parts.title, h.parts.status, h.parts.mark or h.parts.unknown_mark, h.line,
                  _titles(h.chain()[shared:-1]), held[h])
            for h in sorted(held, key=lambda h: h.line)
            if any(p.line != h.line for p in held[h])]


# --- items --------------------------------------------------------------------------------


class _Items:
    """Builds one phase's items from the list lines under its heading, noting problems."""

    def __init__(self, phase: Phase, path: str, errors: list[InputError]) -> None:
        self.phase, self.path, self.errors = phase, path, errors
        self.step = 0  # the phase's indentation step, from its first indented item
        self.stack: list[tuple[int, Item | None, int]] = []  # (level, item or note, line)

    def error(self, msg: str, line: int, field: str) -> None:
        self.errors.append(InputError(msg, path=self.path, line=line, field=field))

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

    def add(self, li: _ListLine) -> None:
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
        item = self.item(li, top[1] if top else None)
        if item is not None:
            self.stack.append((level, item, li.line))

    def item(self, li: _ListLine, parent: Item | None) -> Item | None:
        if li.mark not in (" ", "x", "X"):
            self.error(f"unknown checkbox mark '[{li.mark}]'; use '[ ]' (open) or '[x]' (done)",
                       li.line, "checkbox")
            return None
        title, target = split_target(li.title)
        if not title:
            self.error("checklist item has no title", li.line, "title")
            return None
        siblings = parent.children if parent else self.phase.items
        prefix = parent.key if parent else self.phase.key
        item = Item(f"{prefix}.{len(siblings) + 1}", title, li.mark != " ", li.line, target)
        siblings.append(item)
        return item


# --- parsing --------------------------------------------------------------------------------


def _repeated(phases: list[Phase], path: str) -> list[InputError]:
    """Phases are stored by full title, so two may not share one."""
    seen: dict[str, int] = {}
    errors = []
    for p in phases:
        if p.full_title in seen:
            errors.append(InputError(f"phase {p.full_title!r} is already on line "
                                     f"{seen[p.full_title]}", path=path, line=p.line,
                                     field="phase"))
        seen.setdefault(p.full_title, p.line)
    return errors


def _heading_flags(s: _Section, key: str) -> list[Flag]:
    flags = []
    if s.parts.unknown_mark and not s.parts.status:
        flags.append(Flag(s.line, key, "unknown-mark", f"unknown status mark "
                          f"{s.parts.unknown_mark!r}; status taken from the items"))
    if s.parts.misencoded:
        flags.append(Flag(s.line, key, "encoding",
                          f"status mark is mis-encoded; read as {s.parts.mark}"))
    return flags


def _read_flags(heads: list[_Section], phases: list[Phase], sections: list[_Section],
                groups: list[Group]) -> list[Flag]:
    """Marks worth a look on the headings that count: phases, then groups."""
    keys = {s.line: p.key for s, p in zip(heads, phases, strict=True)}
    keys.update({g.line: g.full_title for g in groups if g.line not in keys})
    return [f for s in sections if s.line in keys for f in _heading_flags(s, keys[s.line])]


def parse_roadmap(text: str, *, path: str = "<roadmap>") -> Roadmap:
    """The roadmap in a markdown text. Raises InputErrors listing every problem found.

    `path` is used in messages only.
    """
    tokens, repaired = _scan(text)
    start, end = _region(tokens)
    root, sections = _sections([t for t in tokens if start <= t.line < end])
    if not root.holds_checklist():
        raise InputError("no checklist items ('- [ ] …' or '- [x] …') found", path=path)
    heads = [s for s in sections if _is_phase(s)]
    shared = _shared([s.chain() for s in heads])
    phases = _phases(heads, shared)
    errors = _repeated(phases, path)
    for s, phase in zip(heads, phases, strict=True):
        builder = _Items(phase, path, errors)
        for li in s.lists:
            builder.add(li)
    if errors:
        raise InputErrors(errors)
    groups = _groups(heads, phases, shared)
    flags = [Flag(line, "", "encoding", "line was mis-encoded (UTF-8 read as a legacy code "
                  "page); read as repaired")
             for line in repaired if start <= line < end]
    flags += _read_flags(heads, phases, sections, groups)
    flags += consistency_flags(phases, groups)
    return Roadmap(path, phases, sorted(flags, key=lambda f: f.line), groups)


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
    """key -> the `roadmap_items` values of every item (without document and time).

    A row's phase is its phase's full title (`Web / Milestone: Beta`), so a group needs no
    column of its own: it is the part before the last ` / `.
    """
    return {item.key: {"parent_key": item.parent_key, "phase": phase.full_title,
                       "title": item.title,
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
    counts = {p.full_title: (p.leaves_done, p.leaves) for p in tree.phases}
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
