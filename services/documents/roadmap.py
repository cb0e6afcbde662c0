"""Roadmaps as read: phases of nested checklists with their completion, and renderers.

The collector (collectors/roadmap.py) parses a markdown document into a `Roadmap`; this
module holds the tree, what it counts (leaves and leaves done, per item, phase and
overall) and `roadmap_json` / `roadmap_text`, so the CLI, the API and the dashboard render
the same figures. Pure: no file, network or store. Rules: docs/roadmap-and-costs.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class Phase:
    """A phase heading and the checklist under it."""

    key: str  # position in the document: "1", "2", …
    title: str  # the heading without its marks: "Phase 2: Core Services"
    number: str  # as written after "Phase"
    name: str  # the part after the number: "Core Services"
    status: str | None  # stated by its mark: done, in_progress, planned, or None
    mark: str  # the mark as understood ("✅", "(done)") or an unknown one as written
    line: int
    items: list[Item] = field(default_factory=list)

    @property
    def leaves(self) -> int:
        return sum(i.leaves for i in self.items)

    @property
    def leaves_done(self) -> int:
        return sum(i.leaves_done for i in self.items)

    @property
    def completion(self) -> float | None:
        """Share of the phase's leaves done; None for a phase without items."""
        return self.leaves_done / self.leaves if self.leaves else None

    @property
    def progress(self) -> str | None:
        """What the items say: done, in_progress or planned (None without items)."""
        if not self.leaves:
            return None
        if self.leaves_done == self.leaves:
            return DONE
        return IN_PROGRESS if self.leaves_done else PLANNED

    def walk(self) -> Iterator[Item]:
        for item in self.items:
            yield from item.walk()


@dataclass(frozen=True)
class Flag:
    """Something worth a look that does not stop the document being read."""

    line: int
    key: str  # the item's or phase's key; "" for a line outside both
    kind: str  # checked-parent-open, parent-open-all-done, status-*, unknown-mark, …
    message: str


@dataclass
class Roadmap:
    path: str
    phases: list[Phase]
    flags: list[Flag] = field(default_factory=list)

    @property
    def leaves(self) -> int:
        return sum(p.leaves for p in self.phases)

    @property
    def leaves_done(self) -> int:
        return sum(p.leaves_done for p in self.phases)

    @property
    def completion(self) -> float | None:
        return self.leaves_done / self.leaves if self.leaves else None

    def items(self) -> Iterator[tuple[Phase, Item]]:
        for phase in self.phases:
            for item in phase.walk():
                yield phase, item


# --- rendering --------------------------------------------------------------------------


def _item_json(item: Item) -> dict[str, Any]:
    return {
        "key": item.key, "title": item.title, "checked": item.checked, "line": item.line,
        "depth": item.depth, "target": item.target, "leaves": item.leaves,
        "leaves_done": item.leaves_done, "completion": item.completion,
        "children": [_item_json(c) for c in item.children],
    }


def roadmap_json(tree: Roadmap) -> dict[str, Any]:
    """The tree as plain JSON types; completions are None (null) where nothing is counted."""
    return {
        "document": tree.path,
        "leaves": tree.leaves, "leaves_done": tree.leaves_done, "completion": tree.completion,
        "phases": [{
            "key": p.key, "title": p.title, "number": p.number, "name": p.name,
            "status": p.status, "mark": p.mark, "progress": p.progress, "line": p.line,
            "leaves": p.leaves, "leaves_done": p.leaves_done, "completion": p.completion,
            "items": [_item_json(i) for i in p.items],
        } for p in tree.phases],
        "flags": [{"line": f.line, "key": f.key, "kind": f.kind, "message": f.message}
                  for f in tree.flags],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _item_lines(item: Item) -> Iterator[str]:
    box = "[x]" if item.checked else "[ ]"
    count = f"  {item.leaves_done}/{item.leaves} {_pct(item.completion)}" if item.children else ""
    target = f"  (target: {item.target})" if item.target else ""
    yield f"{'  ' * item.depth}{box} {item.key} {item.title}{target}{count}"
    for child in item.children:
        yield from _item_lines(child)


def roadmap_text(tree: Roadmap) -> str:
    """The tree for people: phases with counts, items indented, then the flags."""
    lines = [f"{tree.path}: {tree.leaves_done} of {tree.leaves} items done "
             f"({_pct(tree.completion)})"]
    for p in tree.phases:
        stated = f" {STATUS_WORDS[p.status]}" if p.status else " (no status)" if p.mark else ""
        mark = f"  {p.mark}{stated}" if p.mark else ""
        lines.append(f"\n{p.title}{mark}  {p.leaves_done}/{p.leaves} {_pct(p.completion)}")
        for item in p.items:
            lines.extend(_item_lines(item))
    if tree.flags:
        lines.append("\nflags:")
        lines.extend(f"  {tree.path}:{f.line}: {f.key + ': ' if f.key else ''}{f.message}"
                     for f in tree.flags)
    return "\n".join(lines)
