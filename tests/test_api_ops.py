"""/health, /ready and /metrics: what load balancers and Prometheus read."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import text

from services.api.app import create_app
from services.config import EXAMPLE_CONFIG, load_settings
from services.store.migrate import head_revision


def client_for(engine, **overrides) -> TestClient:
    return TestClient(create_app(load_settings(EXAMPLE_CONFIG, **overrides), engine),
                      raise_server_exceptions=False)


def test_health_and_ready_on_a_current_store(engine):
    client = client_for(engine)
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["schema_revision"] == head_revision()


def test_ready_is_503_on_a_store_behind_its_schema(engine):
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    ready = client_for(engine).get("/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert "run `apollo db upgrade`" in ready.json()["store"]


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_ready_is_503_while_the_store_is_down_and_ready_again_after(engine, postgres_server):
    client = client_for(engine)
    postgres_server.stop()
    try:
        down = client.get("/ready")
        assert down.status_code == 503 and down.json()["store"].startswith("unreachable")
        assert client.get("/health").status_code == 200  # the process itself is fine
    finally:
        postgres_server.start()
    engine.dispose()
    assert client.get("/ready").json()["status"] == "ready"


def test_metrics_count_requests_by_route_template_and_crashes_as_500(engine):
    app = create_app(load_settings(EXAMPLE_CONFIG), engine)
    broken = APIRouter()

    @broken.get("/api/v1/broken/{n}")
    def explode(n: int) -> dict[str, int]:
        raise RuntimeError(f"bug {n}")

    app.include_router(broken)
    client = TestClient(app, raise_server_exceptions=False)
    crashes = 'apollo_api_requests_total{method="GET",route="/api/v1/broken/{n}",status="500"}'
    healthy = 'apollo_api_requests_total{method="GET",route="/health",status="200"}'

    def counts() -> tuple[float, float]:  # the registry is the process's: count the change
        values = dict(line.rsplit(" ", 1) for line in client.get("/metrics").text.splitlines()
                      if not line.startswith("#"))
        return float(values.get(crashes, 0)), float(values.get(healthy, 0))

    before = counts()
    for n in range(3):
        assert client.get(f"/api/v1/broken/{n}").status_code == 500
    client.get("/health")
    after = counts()
    assert (after[0] - before[0], after[1] - before[1]) == (3, 1)
    lines = client.get("/metrics").text
    assert "/api/v1/broken/1" not in lines  # no raw paths as labels
