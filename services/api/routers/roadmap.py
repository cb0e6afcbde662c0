"""/roadmap: the stored roadmap documents as trees, with completion per item, phase, group,
document and overall, the items' consistency flags and progress over time.

The roadmap collector stores each checklist item (`roadmap_items`: its key, parent, phase
full title, box, line) and a snapshot of each phase's counts whenever they change
(`roadmap_snapshots`). `services.store.document_rows` reads them and `services.documents.
roadmap.tree_from_rows` rebuilds the tree (the dashboard does the same), so every figure is
the one `apollo roadmap DOC --json` computes: a phase is the rows sharing its full title,
its groups are the parts of that title before the last ` / `. What the rows do not keep —
a heading's stated status mark — is not shown.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection

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
    progress_history,
    progress_of,
    roadmap_json,
    tree_from_rows,
)
from services.store import document_rows
from services.store.document_rows import ItemRow

router = APIRouter(prefix="/roadmap", tags=["roadmap"])


def _snapshots(conn: Connection, document: str) -> list[RoadmapSnapshotOut]:
    return [RoadmapSnapshotOut(taken_at=p.taken_at, leaves=p.leaves, leaves_done=p.leaves_done,
                               completion=p.completion,
                               phases={name: PhaseCountOut(done=done, total=total)
                                       for name, (done, total) in p.phases.items()})
            for p in progress_history(document_rows.roadmap_snapshots(conn, document))]


def _item_out(data: dict[str, Any]) -> RoadmapItemOut:
    return RoadmapItemOut(**{**data, "children": [_item_out(c) for c in data["children"]]})


def _document(conn: Connection, document: str, rows: list[ItemRow]) -> RoadmapDocumentOut:
    tree = tree_from_rows(document, rows)
    data = roadmap_json(tree)
    heading = ("leaves", "leaves_done", "completion", "progress")
    return RoadmapDocumentOut(
        document=document, updated_at=max(r.updated_at for r in rows),
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
    by_document = document_rows.roadmap_items(conn, document)
    documents = [_document(conn, name, rows) for name, rows in by_document.items()]
    done = sum(d.leaves_done for d in documents)
    total = sum(d.leaves for d in documents)
    return json_response(request, RoadmapOut(
        documents=documents, leaves=total, leaves_done=done,
        completion=done / total if total else None, progress=progress_of(done, total)))
