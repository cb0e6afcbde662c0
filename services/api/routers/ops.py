"""/health, /ready and /metrics: for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import text

from services.api.deps import state
from services.store.migrate import head_revision

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str  # ready, degraded (answers, a part is down), unavailable
    store: str
    schema_revision: str | None
    cache: str
    rate_limit: str


@router.get("/health", response_model=Health)
def health() -> Health:
    """The process is up (it answers); says nothing of the store."""
    return Health(status="ok")


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
def ready(request: Request, response: Response) -> Ready:
    """The store answers at this Apollo's schema; cache and rate limits say where they
    keep state (`redis`, or `local` while Redis is down: degraded, still answering)."""
    s = state(request)
    revision: str | None = None
    store = "ok"
    try:
        with s.engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # any store failure makes us unready, with its kind
        store = f"unreachable: {type(exc).__name__}"
    if store == "ok" and revision != head_revision():
        store = f"schema {revision} is not {head_revision()}: run `apollo db upgrade`"
    parts = request.app.state.layers()
    degraded = any(v.startswith("degraded") for v in parts.values())
    status = "unavailable" if store != "ok" else ("degraded" if degraded else "ready")
    if status == "unavailable":
        response.status_code = 503
    return Ready(status=status, store=store, schema_revision=revision, **parts)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
def metrics() -> Response:
    """Apollo's own metrics in Prometheus's text format."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from services.api.telemetry import REGISTRY

    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
