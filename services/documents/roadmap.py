"""Roadmaps as read: phases of nested checklists, the groups above them, and renderers.

The collector (collectors/roadmap.py) parses a markdown document into a `Roadmap`;
`tree_from_rows` and `progress_history` rebuild it and its history from the store's rows
(read by services/store/document_rows.py) for the API and the dashboard. This module
holds the tree, what it counts (leaves and leaves done, per item, phase, group and
overall), what is worth a look (`consistency_flags`) and `roadmap_json` / `roadmap_text`,
so the CLI, the API and the dashboard show the same figures. Pure: no file, network or
store. Rules: docs/roadmap-and-costs.md.

A phase is a heading with the checklist directly under it, whatever its words; a group is
a heading with phases below it, and sums them. Both keep the titles of the groups above
them in `path`; `full_title` joins them (`Web / Milestone: Beta`) and names the phase in
the store, since titles alone may repeat under different groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

DONE, IN_PROGRESS, PLANNED = "done", "in_progress", "planned"
STATUS_WORDS = {DONE: "done", IN_PROGRESS: "in progress", PLANNED: "planned"}


# --- the tree ---------------------------------------------------------------------------


@dataclass
class Item:
    """One checklist entry; `key` is its position: phase, then index at each level (`2.4.1`)."""

    key: str
    title: str
    checked: bool
    line: int
    target: str | None = None
    children: list[Item] = field(default_factory=list)

    @property
    def depth(self) -> int:
        """1 for an item directly under its phase heading, 2 for its sub-items, …"""
        return self.key.count(".")

    @property
    def parent_key(self) -> str | None:
        return self.key.rsplit(".", 1)[0] if self.depth > 1 else None

    @property
    def leaves(self) -> int:
        return 1 if not self.children else sum(c.leaves for c in self.children)

    @property
    def leaves_done(self) -> int:
        if not self.children:
            return int(self.checked)
        return sum(c.leaves_done for c in self.children)

    @property
    def completion(self) -> float:
        """0 or 1 for a leaf; the share of its leaves done for a parent (never empty)."""
        return self.leaves_done / self.leaves

    def walk(self) -> Iterator[Item]:
        """This item, then its descendants, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()


class _Progress:
    """Completion and computed status from the leaves of its `parts` (items or phases)."""

    @property
    def parts(self) -> Sequence[Any]:
        raise NotImplementedError

    @property
    def leaves(self) -> int:
        return sum(p.leaves for p in self.parts)

    @property
    def leaves_done(self) -> int:
        return sum(p.leaves_done for p in self.parts)

    @property
    def completion(self) -> float | None:
        """Share of the leaves done; None where there are no leaves (never NaN)."""
        return self.leaves_done / self.leaves if self.leaves else None

    @property
    def progress(self) -> str | None:
        """What the items say: done, in_progress or planned (None without items)."""
        return progress_of(self.leaves_done, self.leaves)


def _joined(path: Sequence[str], title: str) -> str:
    return " / ".join((*path, title))


@dataclass
class Phase(_Progress):
    """A heading and the checklist directly under it, whatever the heading says."""

    key: str  # position among the document's phases: "1", "2", …
    title: str  # the heading without its marks: "Phase 2: Core Services", "Q1 2027"
    number: str  # an id after a leading word ("2" of "Phase 2", "A" of "Stage A"), or ""
    name: str  # the part after the id or colon ("Core Services"), else the title
    status: str | None  # stated by its mark: done, in_progress, planned, or None
    mark: str  # the mark as understood ("✅", "(done)") or an unknown one as written
    line: int
    items: list[Item] = field(default_factory=list)
    path: tuple[str, ...] = ()  # titles of the groups above it, outermost first

    @property
    def full_title(self) -> str:
        """`Web / Milestone: Beta`: unique in its document; the store's phase name."""
        return _joined(self.path, self.title)

    @property
    def parts(self) -> list[Item]:
        return self.items

    def walk(self) -> Iterator[Item]:
        for item in self.items:
            yield from item.walk()


@dataclass
class Group(_Progress):
    """A heading that holds phases below it (`## 2027` over `### Q1`); sums its phases."""

    title: str
    status: str | None
    mark: str
    line: int
    path: tuple[str, ...]  # titles of the groups above it, outermost first
    phases: list[Phase]  # every phase under it at any depth, its own heading's first

    @property
    def full_title(self) -> str:
        return _joined(self.path, self.title)

    @property
    def parts(self) -> list[Phase]:
        return self.phases


@dataclass(frozen=True)
class Flag:
    """Something worth a look that does not stop the document being read."""

    line: int
    key: str  # the item's or phase's key, a group's full title; "" for a plain line
    kind: str  # checked-parent-open, parent-open-all-done, status-*, unknown-mark, …
    message: str


@dataclass
class Roadmap(_Progress):
    """A document's phases (flat, in document order), the groups above them, the flags."""

    path: str
    phases: list[Phase]
    flags: list[Flag] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    @property
    def parts(self) -> list[Phase]:
        return self.phases

    def items(self) -> Iterator[tuple[Phase, Item]]:
        for phase in self.phases:
            for item in phase.walk():
                yield phase, item


# --- what is worth a look ---------------------------------------------------------------


def _item_flags(item: Item) -> list[Flag]:
    """A parent's own box disagreeing with its leaves (its box is not counted)."""
    if not item.children:
        return []
    open_leaves = item.leaves - item.leaves_done
    if item.checked and open_leaves:
        return [Flag(item.line, item.key, "checked-parent-open",
                     f"checked, but {open_leaves} of its {item.leaves} sub-items are open")]
    if not item.checked and not open_leaves:
        return [Flag(item.line, item.key, "parent-open-all-done",
                     f"all {item.leaves} sub-items are done but its own box is open")]
    return []


def _status_flags(head: Phase | Group, key: str) -> list[Flag]:
    """A stated status the items contradict; in progress with nothing done yet is fine."""
    done, total = head.leaves_done, head.leaves
    if head.status == DONE and done < total:
        message, kind = f"marked done, but {total - done} of {total} items are open", "done-open"
    elif head.status == PLANNED and done:
        message, kind = f"marked planned, but {done} of {total} items are done", "planned-started"
    elif head.status == IN_PROGRESS and total and done == total:
        message, kind = f"marked in progress, but all {total} items are done", "in-progress-done"
    else:
        return []
    return [Flag(head.line, key, f"status-{kind}", message)]


def consistency_flags(phases: list[Phase], groups: list[Group]) -> list[Flag]:
    """Boxes and status marks that disagree with the items under them; empty phases."""
    flags = [f for p in phases for i in p.walk() for f in _item_flags(i)]
    flags += [Flag(p.line, p.key, "empty-phase", "phase has no checklist items")
              for p in phases if not p.leaves]
    flags += [f for p in phases if p.leaves for f in _status_flags(p, p.key)]
    flags += [f for g in groups for f in _status_flags(g, g.full_title)]
    return flags


# --- from the store's rows -------------------------------------------------------------

SEPARATOR = " / "  # between the titles of a phase's full title (`Web / Milestone: Beta`)


class ItemRow(Protocol):
    """What the tree needs of a stored `roadmap_items` row."""

    key: str
    parent_key: str | None
    phase: str  # the phase's full title
    title: str
    done: bool
    target: str | None
    line: int


class SnapshotRow(Protocol):
    """What progress over time needs of a stored `roadmap_snapshots` row."""

    taken_at: datetime
    phase: str
    done: int
    total: int


def key_order(key: str) -> tuple[int | str, ...]:
    """`2.10` after `2.9`: keys sort by their numbers, not as text."""
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


def tree_from_rows(document: str, rows: Iterable[ItemRow]) -> Roadmap:
    """A document's stored items back into the tree the collector stored, so the API and
    the dashboard count what `apollo roadmap DOC` counts. What the rows do not keep (a
    heading's stated status mark, its own line) is left out: status None, the line of its
    first item, and item flags only."""
    items: dict[str, Item] = {}
    phases: dict[str, Phase] = {}
    for row in sorted(rows, key=lambda r: key_order(r.key)):
        item = Item(key=row.key, title=row.title, checked=bool(row.done), line=row.line,
                    target=row.target)
        items[row.key] = item
        phase_key = row.key.split(".", 1)[0]
        phase = phases.get(phase_key)
        if phase is None:
            path, _, title = row.phase.rpartition(SEPARATOR)
            phase = Phase(key=phase_key, title=title, number="", name=title, status=None,
                          mark="", line=row.line,
                          path=tuple(path.split(SEPARATOR)) if path else ())
            phases[phase_key] = phase
        parent = items.get(row.parent_key) if row.parent_key else None
        (parent.children if parent is not None else phase.items).append(item)
    ordered = sorted(phases.values(), key=lambda p: key_order(p.key))
    return Roadmap(path=document, phases=ordered, flags=consistency_flags(ordered, []),
                   groups=groups_of(ordered))


def groups_of(phases: list[Phase]) -> list[Group]:
    """Each title above a phase, with every phase under it (as the collector groups); a
    heading with items of its own and phases below it counts its own phase first."""
    under: dict[tuple[str, ...], list[Phase]] = defaultdict(list)
    for phase in phases:
        for depth in range(1, len(phase.path) + 1):
            under[phase.path[:depth]].append(phase)
    titled = {(*p.path, p.title): p for p in phases}
    for path, members in under.items():
        own = titled.get(path)
        if own is not None:
            members.insert(0, own)
    return [Group(title=path[-1], status=None, mark="", line=members[0].line,
                  path=path[:-1], phases=members) for path, members in under.items()]


@dataclass(frozen=True)
class ProgressPoint:
    """A document's counts when they last changed: each phase's (done, total) and the sum."""

    taken_at: datetime
    phases: dict[str, tuple[int, int]]

    @property
    def leaves_done(self) -> int:
        return sum(done for done, _ in self.phases.values())

    @property
    def leaves(self) -> int:
        return sum(total for _, total in self.phases.values())

    @property
    def completion(self) -> float | None:
        return self.leaves_done / self.leaves if self.leaves else None


def progress_history(rows: Iterable[SnapshotRow]) -> list[ProgressPoint]:
    """Snapshot rows (one per phase and time) as one point per time, oldest first."""
    by_time: dict[datetime, dict[str, tuple[int, int]]] = defaultdict(dict)
    for row in rows:
        by_time[row.taken_at][row.phase] = (int(row.done), int(row.total))
    return [ProgressPoint(t, dict(sorted(p.items()))) for t, p in sorted(by_time.items())]


def progress_of(done: int, total: int) -> str | None:
    """done, in_progress or planned from counts (None without items), as `_Progress`."""
    if not total:
        return None
    return DONE if done == total else (IN_PROGRESS if done else PLANNED)


# --- rendering --------------------------------------------------------------------------


def _item_json(item: Item) -> dict[str, Any]:
    return {
        "key": item.key, "title": item.title, "checked": item.checked, "line": item.line,
        "depth": item.depth, "target": item.target, "leaves": item.leaves,
        "leaves_done": item.leaves_done, "completion": item.completion,
        "children": [_item_json(c) for c in item.children],
    }


def _heading_json(head: Phase | Group) -> dict[str, Any]:
    return {"title": head.title, "full_title": head.full_title, "path": list(head.path),
            "status": head.status, "mark": head.mark, "progress": head.progress,
            "line": head.line, "leaves": head.leaves, "leaves_done": head.leaves_done,
            "completion": head.completion}


def roadmap_json(tree: Roadmap) -> dict[str, Any]:
    """The tree as plain JSON types; completions are None (null) where nothing is counted."""
    return {
        "document": tree.path,
        "leaves": tree.leaves, "leaves_done": tree.leaves_done, "completion": tree.completion,
        "phases": [{"key": p.key, "number": p.number, "name": p.name, **_heading_json(p),
                    "items": [_item_json(i) for i in p.items]} for p in tree.phases],
        "groups": [{**_heading_json(g), "phases": [p.key for p in g.phases]}
                   for g in tree.groups],
        "flags": [{"line": f.line, "key": f.key, "kind": f.kind, "message": f.message}
                  for f in tree.flags],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _item_lines(item: Item, indent: int) -> Iterator[str]:
    box = "[x]" if item.checked else "[ ]"
    count = f"  {item.leaves_done}/{item.leaves} {_pct(item.completion)}" if item.children else ""
    target = f"  (target: {item.target})" if item.target else ""
    yield f"{'  ' * (indent + item.depth)}{box} {item.key} {item.title}{target}{count}"
    for child in item.children:
        yield from _item_lines(child, indent)


def _heading_line(head: Phase | Group) -> str:
    """`Phase 2: Core Services  🔄 in progress  5/9 56%`, indented under its groups."""
    mark = head.mark
    if head.status:
        mark += f" {STATUS_WORDS[head.status]}"
    elif head.mark:
        mark += " (no status)"
    depth = len(head.path)
    gap = "" if depth else "\n"  # a blank line before each top-level heading
    return (f"{gap}{'  ' * depth}{head.title}{'  ' + mark if mark else ''}"
            f"  {head.leaves_done}/{head.leaves} {_pct(head.completion)}")


def _outline(tree: Roadmap) -> list[tuple[Phase | Group, Phase | None]]:
    """Headings in document order: each group or phase once, with the phase of its heading.

    A heading that is both a group and a phase shows the group's sums over its own items.
    """
    heads: dict[int, tuple[Phase | Group, Phase | None]] = {p.line: (p, p) for p in tree.phases}
    for g in tree.groups:
        heads[g.line] = (g, heads.get(g.line, (g, None))[1])
    return [heads[line] for line in sorted(heads)]


def roadmap_text(tree: Roadmap) -> str:
    """The tree for people: groups and phases with counts, items indented, then the flags."""
    lines = [f"{tree.path}: {tree.leaves_done} of {tree.leaves} items done "
             f"({_pct(tree.completion)})"]
    for head, phase in _outline(tree):
        lines.append(_heading_line(head))
        for item in phase.items if phase else []:
            lines.extend(_item_lines(item, len(head.path)))
    if tree.flags:
        lines.append("\nflags:")
        lines.extend(f"  {tree.path}:{f.line}: {f.key + ': ' if f.key else ''}{f.message}"
                     for f in tree.flags)
    return "\n".join(lines)
