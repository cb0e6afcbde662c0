"""/roadmap: the stored roadmap documents as trees, with completion per item, phase, group,
document and overall, the items' consistency flags and progress over time.

The roadmap collector stores each checklist item (`roadmap_items`: its key, parent, phase
full title, box, line) and a snapshot of each phase's counts whenever they change
(`roadmap_snapshots`). The tree is rebuilt from those rows into `services.documents.
roadmap`'s model, so every figure is the one `apollo roadmap DOC --json` computes: a phase
is the rows sharing its full title, its groups are the parts of that title before the last
` / `. What the rows do not keep — a heading's stated status mark — is not shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection, select

from services.api.deps import Conn, Reader, json_response
from services.api.schemas import (
    NO_NUL,
    PhaseCountOut,
    RoadmapDocumentOut,
    RoadmapFlagOut,
    RoadmapGroupOut,
    RoadmapItemOut,
    RoadmapOut,
    RoadmapPhaseOut,
    RoadmapSnapshotOut,
    responses,
)
from services.documents.roadmap import (
    Group,
    Item,
    Phase,
    Roadmap,
    consistency_flags,
    roadmap_json,
)
from services.store.models import RoadmapItem, RoadmapSnapshot

router = APIRouter(prefix="/roadmap", tags=["roadmap"])
ITEMS = RoadmapItem.__table__
SNAPSHOTS = RoadmapSnapshot.__table__
SEPARATOR = " / "


def _key_order(key: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; the store writes UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def tree_from_rows(document: str, rows: Sequence[Any]) -> Roadmap:
    """A document's `roadmap_items` rows back into the tree the collector stored."""
    items: dict[str, Item] = {}
    phases: dict[str, Phase] = {}
    for row in sorted(rows, key=lambda r: _key_order(r.key)):
        item = Item(key=row.key, title=row.title, checked=bool(row.done), line=row.line,
                    target=row.target)
        items[row.key] = item
        phase_key = row.key.split(".", 1)[0]
        phase = phases.get(phase_key)
        if phase is None:
            path, _, title = row.phase.rpartition(SEPARATOR)
            phase = Phase(key=phase_key, title=title, number="", name=title, status=None,
                          mark="", line=row.line, path=tuple(path.split(SEPARATOR)) if path
                          else ())
            phases[phase_key] = phase
        parent = items.get(row.parent_key) if row.parent_key else None
        (parent.children if parent is not None else phase.items).append(item)
    ordered = sorted(phases.values(), key=lambda p: _key_order(p.key))
    return Roadmap(path=document, phases=ordered, flags=consistency_flags(ordered, []),
                   groups=_groups(ordered))


def _groups(phases: list[Phase]) -> list[Group]:
    """Each title above a phase, with every phase under it (as the collector groups)."""
    under: dict[tuple[str, ...], list[Phase]] = defaultdict(list)
    for phase in phases:
        for depth in range(1, len(phase.path) + 1):
            under[phase.path[:depth]].append(phase)
    titled = {(*p.path, p.title): p for p in phases}
    for path, members in under.items():  # a heading with items of its own and phases below
        own = titled.get(path)
        if own is not None:
            members.insert(0, own)
    return [Group(title=path[-1], status=None, mark="", line=members[0].line,
                  path=path[:-1], phases=members) for path, members in under.items()]


def _snapshots(conn: Connection, document: str) -> list[RoadmapSnapshotOut]:
    by_time: dict[datetime, dict[str, PhaseCountOut]] = defaultdict(dict)
    rows = conn.execute(select(SNAPSHOTS).where(SNAPSHOTS.c.document == document)
                        .order_by(SNAPSHOTS.c.taken_at, SNAPSHOTS.c.phase))
    for row in rows:
        by_time[_utc(row.taken_at)][row.phase] = PhaseCountOut(done=row.done, total=row.total)
    out = []
    for taken_at, phases in sorted(by_time.items()):
        done = sum(p.done for p in phases.values())
        total = sum(p.total for p in phases.values())
        out.append(RoadmapSnapshotOut(taken_at=taken_at, leaves=total, leaves_done=done,
                                      completion=done / total if total else None,
                                      phases=phases))
    return out


def _progress(done: int, total: int) -> str | None:
    if not total:
        return None
    return "done" if done == total else ("in_progress" if done else "planned")


def _item_out(data: dict[str, Any]) -> RoadmapItemOut:
    return RoadmapItemOut(**{**data, "children": [_item_out(c) for c in data["children"]]})


def _document(conn: Connection, document: str, rows: Sequence[Any]) -> RoadmapDocumentOut:
    tree = tree_from_rows(document, rows)
    data = roadmap_json(tree)
    heading = ("leaves", "leaves_done", "completion", "progress")
    return RoadmapDocumentOut(
        document=document, updated_at=max(_utc(r.updated_at) for r in rows),
        leaves=tree.leaves, leaves_done=tree.leaves_done, completion=tree.completion,
        progress=tree.progress,
        phases=[RoadmapPhaseOut(key=p["key"], title=p["title"], full_title=p["full_title"],
                                path=p["path"], items=[_item_out(i) for i in p["items"]],
                                **{k: p[k] for k in heading}) for p in data["phases"]],
        groups=[RoadmapGroupOut(title=g["title"], full_title=g["full_title"], path=g["path"],
                                phases=g["phases"], **{k: g[k] for k in heading})
                for g in data["groups"]],
        flags=[RoadmapFlagOut(**f) for f in data["flags"]],
        history=_snapshots(conn, document))


@router.get("", response_model=RoadmapOut, responses=responses(304, 401, 403))
def read_roadmap(
    request: Request, conn: Conn, _reader: Reader,
    document: Annotated[str | None, Query(max_length=500, pattern=NO_NUL,
                                          description="Only this document "
                                          "(as the collector named it).")] = None,
) -> Response:
    """Every stored roadmap (or one): its tree, completion per item, phase, group and
    document, the items' flags and its progress each time it changed; overall figures
    sum every document's leaf items."""
    query = select(ITEMS)
    if document is not None:
        query = query.where(ITEMS.c.document == document)
    by_document: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(query.order_by(ITEMS.c.document, ITEMS.c.line)):
        by_document[row.document].append(row)
    documents = [_document(conn, name, rows) for name, rows in sorted(by_document.items())]
    done = sum(d.leaves_done for d in documents)
    total = sum(d.leaves for d in documents)
    return json_response(request, RoadmapOut(
        documents=documents, leaves=total, leaves_done=done,
        completion=done / total if total else None, progress=_progress(done, total)))
