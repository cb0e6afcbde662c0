"""The roadmap, cost and engagement resources of the HTTP API, on SQLite and PostgreSQL.

The collectors write the documents (`collect_roadmap`, `collect_cost_file` over the
platform's own docs/platform/*.md and test files), the fleet writes the month's requests,
and the engagement rollup is written as the ClickHouse collector writes it. Each figure is
checked against a second computation: `apollo roadmap|costs FILE --json` on the same
files, and counts and sums worked out here by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from support import T0, fill_store_from_fleet

from collectors.cost import collect_cost_file
from collectors.roadmap import collect_roadmap
from services.api.app import create_app
from services.config import EXAMPLE_CONFIG, load_settings
from services.store import writes
from services.store.models import EngagementDay
from services.store.rollup import roll_up

ROOT = Path(__file__).resolve().parents[1]
APOLLO = [sys.executable, "-c", "from services.cli import main; main()"]
NOW = T0 + 3 * 3600 + 25  # 2026-11-02 13:00:25 UTC
PLATFORM_ROADMAP = "docs/platform/roadmap.md"
MILESTONES = "tests/data/documents/roadmap-milestones.md"
PLATFORM_COSTS = "docs/platform/costs.md"
OCTOBER_CSV = "component,monthly_cost,optimization_potential\nCompute,1000,10%\nStorage,250.50,\n"
NOVEMBER = date(2026, 11, 1)
FLEET_MINUTES = 120  # of three services from T0


def rfc3339(seconds: float) -> str:
    """Whole Unix seconds as the API writes a time: RFC 3339 in UTC, `2026-11-02T13:00:00Z`
    (worked out here, not by the API's own renderer)."""
    assert seconds == int(seconds), seconds
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def apollo(*args: str) -> dict:
    result = subprocess.run([*APOLLO, *args, "--json"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def client_for(engine, tmp_path) -> TestClient:
    settings = load_settings(EXAMPLE_CONFIG, data_dir=str(tmp_path / "var"))
    return TestClient(create_app(settings, engine, clock=lambda: NOW))


@pytest.fixture
def client(engine, tmp_path):
    return client_for(engine, tmp_path)


# --- roadmap -------------------------------------------------------------------------------


def _counted(node: dict) -> dict:
    """The figures a heading shows, whatever else it carries."""
    return {k: node[k] for k in ("title", "full_title", "path", "progress", "leaves",
                                 "leaves_done", "completion")}


@pytest.mark.parametrize("document", [PLATFORM_ROADMAP, MILESTONES])
def test_a_stored_roadmap_is_the_tree_apollo_roadmap_reads(engine, client, document):
    run = collect_roadmap(engine, ROOT / document, document=document)
    assert not run.errors
    got = client.get("/api/v1/roadmap", params={"document": document})
    assert got.status_code == 200, got.text
    (api,) = got.json()["documents"]
    cli = apollo("roadmap", str(ROOT / document))
    assert (api["leaves"], api["leaves_done"], api["completion"]) == (
        cli["leaves"], cli["leaves_done"], cli["completion"])
    assert [p["key"] for p in api["phases"]] == [p["key"] for p in cli["phases"]]
    for mine, theirs in zip(api["phases"], cli["phases"], strict=True):
        assert _counted(mine) == _counted(theirs)
        assert mine["items"] == theirs["items"]  # every item, box, line and count
    assert [{**_counted(g), "phases": g["phases"]} for g in api["groups"]] == [
        {**_counted(g), "phases": g["phases"]} for g in cli["groups"]]
    item_flags = [f for f in cli["flags"]
                  if f["kind"] in ("checked-parent-open", "parent-open-all-done")]
    assert api["flags"] == item_flags


def test_the_platform_roadmap_counted_by_hand(engine, client):
    collect_roadmap(engine, ROOT / PLATFORM_ROADMAP, document=PLATFORM_ROADMAP)
    body = client.get("/api/v1/roadmap").json()
    # Phase 1: four items, two with three sub-items each: 3 + 3 + 3 leaves, all checked.
    # Phase 2: three checked items, then two parents of three sub-items with one done each.
    # Phase 3: four open items.
    assert [(p["leaves"], p["leaves_done"], p["progress"])
            for p in body["documents"][0]["phases"]] == [
        (9, 9, "done"), (9, 5, "in_progress"), (4, 0, "planned")]
    assert (body["leaves"], body["leaves_done"]) == (22, 14)
    assert body["completion"] == pytest.approx(14 / 22)
    load_test = body["documents"][0]["phases"][1]["items"][3]["children"][2]
    assert (load_test["key"], load_test["target"], load_test["checked"]) == (
        "2.4.3", "100K concurrent connections", False)


def test_progress_over_time_and_every_document_summed(engine, client, tmp_path):
    doc = tmp_path / "plan.md"
    doc.write_text("## Phase 1: Build\n- [x] Parent\n    - [x] a\n    - [ ] b\n- [ ] c\n")
    first = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    collect_roadmap(engine, doc, document="plan", now=first)
    collect_roadmap(engine, doc, document="plan", now=first + timedelta(hours=1))  # unchanged
    doc.write_text("## Phase 1: Build\n- [x] Parent\n    - [x] a\n    - [x] b\n- [ ] c\n")
    collect_roadmap(engine, doc, document="plan", now=first + timedelta(days=1))
    collect_roadmap(engine, ROOT / MILESTONES, document=MILESTONES)
    body = client.get("/api/v1/roadmap").json()
    plan = next(d for d in body["documents"] if d["document"] == "plan")
    assert [(h["taken_at"], h["leaves_done"], h["leaves"], h["phases"]) for h in plan["history"]
            ] == [("2026-11-01T09:00:00Z", 1, 3, {"Phase 1: Build": {"done": 1, "total": 3}}),
                  ("2026-11-02T09:00:00Z", 2, 3, {"Phase 1: Build": {"done": 2, "total": 3}})]
    assert plan["flags"] == []  # the parent's box agrees with its sub-items again
    milestones = next(d for d in body["documents"] if d["document"] == MILESTONES)
    assert (body["leaves"], body["leaves_done"]) == (3 + milestones["leaves"],
                                                     2 + milestones["leaves_done"])
    only = client.get("/api/v1/roadmap", params={"document": "plan"}).json()
    assert [d["document"] for d in only["documents"]] == ["plan"] and only["leaves"] == 3
    none = client.get("/api/v1/roadmap", params={"document": "nothing.md"}).json()
    assert none["documents"] == [] and none["completion"] is None


def test_a_checked_parent_with_open_sub_items_is_flagged(engine, client, tmp_path):
    doc = tmp_path / "plan.md"
    doc.write_text("## Phase 1: Build\n- [x] Parent\n    - [x] a\n    - [ ] b\n- [ ] c\n")
    collect_roadmap(engine, doc, document="plan")
    (plan,) = client.get("/api/v1/roadmap").json()["documents"]
    assert plan["flags"] == [{"line": 2, "key": "1.1", "kind": "checked-parent-open",
                              "message": "checked, but 1 of its 2 sub-items are open"}]


# --- costs ---------------------------------------------------------------------------------


@pytest.fixture
def costs(engine, tmp_path):
    """November's costs from the platform document and a second source, October's from a
    CSV; two hours of three services' requests on November 2nd, the first hour rolled up."""
    assert not collect_cost_file(engine, ROOT / PLATFORM_COSTS, month=NOVEMBER,
                                 source=PLATFORM_COSTS).errors
    october = tmp_path / "october.csv"
    october.write_text(OCTOBER_CSV)
    assert not collect_cost_file(engine, october, month=date(2026, 10, 1),
                                 source="october.csv").errors
    assert not collect_cost_file(engine, october, month=NOVEMBER, source="extra.csv").errors
    fill_store_from_fleet(engine, T0, FLEET_MINUTES,
                          slugs=["api-gateway", "payment-service", "user-service"])
    with engine.begin() as conn:
        roll_up(conn, int(T0), int(T0) + 3600)
    return engine


def requests_by_hand(engine, start: float, end: float) -> float:
    with engine.connect() as conn:
        return float(conn.execute(sa.text(
            "SELECT coalesce(sum(m.requests), 0) "
            "FROM service_minutes m JOIN services s ON s.id = m.service_id "
            "WHERE m.minute >= :a AND m.minute < :b AND s.unit = 'req/s'"),
            {"a": int(start), "b": int(end)}).one()[0])


def test_a_months_costs_are_apollo_costs_on_the_same_file_with_requests(costs, client):
    got = client.get("/api/v1/costs", params={"month": "2026-11", "mau": "1000000"})
    assert got.status_code == 200, got.text
    body = got.json()
    november = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    assert (body["month"], body["mau"], body["partial_month"]) == ("2026-11-01", 1000000, True)
    assert (body["requests_start"], body["requests_end"]) == (
        rfc3339(november), rfc3339(NOW - 25))
    requests = requests_by_hand(costs, november, NOW)
    assert requests > 0 and body["requests"] == pytest.approx(requests, rel=1e-12)
    assert [s["source"] for s in body["sources"]] == [PLATFORM_COSTS, "extra.csv"]

    platform = body["sources"][0]
    cli = apollo("costs", str(ROOT / PLATFORM_COSTS), "--mau", "1000000")
    shared = ("component", "monthly_cost", "annual_cost", "cost_per_user", "share",
              "potential_ratio", "potential_note")
    assert [{k: x[k] for k in shared} for x in platform["lines"]] == [
        {k: x[k] for k in shared} for x in cli["lines"]]
    assert {k: platform["total"][k] for k in cli["total"]} == cli["total"]
    # the stored table flags what the file does: its stated 18% against the lines' 15.0%
    assert [(f["kind"], f["field"], f["stated"], f["computed"]) for f in platform["flags"]] == [
        (f["kind"], f["field"], f["stated"], f["computed"]) for f in cli["flags"]]
    assert ("mismatch", "optimization_potential", "18%", "15.0%") in [
        (f["kind"], f["field"], f["stated"], f["computed"]) for f in platform["flags"]]
    # by hand: the document's six lines
    assert platform["total"]["monthly_cost"] == 33_060
    assert platform["total"]["annual_cost"] == 396_720
    assert platform["total"]["cost_per_user"] == pytest.approx(0.03306)
    assert platform["total"]["potential_monthly"] == pytest.approx(
        12450 * .15 + 8900 * .10 + 2340 * .05 + 3670 * .20 + 4500 * .30)
    assert platform["total"]["per_million_requests"] == pytest.approx(33_060 / requests * 1e6)
    compute = platform["lines"][0]
    assert compute["per_million_requests"] == pytest.approx(12_450 / requests * 1e6)
    assert compute["potential_monthly"] == pytest.approx(12_450 * 0.15)
    assert platform["lines"][4]["potential_ratio"] == 0  # Monitoring: "Minimal"


def test_the_newest_month_is_the_default_and_a_past_month_is_whole(costs, client):
    body = client.get("/api/v1/costs").json()
    assert body["month"] == "2026-11-01" and body["months"] == ["2026-11-01", "2026-10-01"]
    assert all(x["cost_per_user"] is None for s in body["sources"] for x in s["lines"])
    october = client.get("/api/v1/costs", params={"month": "2026-10"}).json()
    assert (october["partial_month"], october["requests"]) == (False, 0.0)
    (only,) = october["sources"]
    assert [(x["component"], x["monthly_cost"], x["annual_cost"]) for x in only["lines"]] == [
        ("Compute", 1000.0, 12000.0), ("Storage", 250.5, 3006.0)]
    assert only["total"]["monthly_cost"] == 1250.5
    assert only["total"]["potential_ratio"] == pytest.approx(0.1)  # over the known line only
    assert only["total"]["potential_coverage"] == pytest.approx(1000 / 1250.5)
    assert only["total"]["per_million_requests"] is None  # no requests stored that month
    empty = client.get("/api/v1/costs", params={"month": "2025-01"}).json()
    assert empty["sources"] == [] and empty["months"] == body["months"]


@pytest.mark.parametrize(("params", "named"), [
    pytest.param({"month": "2026-13"}, "month", id="no such month"),
    pytest.param({"month": "November"}, "month", id="not YYYY-MM"),
    pytest.param({"mau": "0"}, "mau", id="no users"),
    pytest.param({"mau": "many"}, "mau", id="not a number"),
])
def test_bad_cost_parameters_are_422_naming_them(client, params, named):
    got = client.get("/api/v1/costs", params=params)
    assert got.status_code == 422, got.text
    assert [e["loc"][-1] for e in got.json()["detail"]] == [named]


# --- engagement ----------------------------------------------------------------------------

TYPES = ("purchase", "view")


def _engagement_rows() -> list[tuple]:
    """Five days before NOW's, each type and `all` (as the ClickHouse collector writes)."""
    rows = []
    for d in range(5):
        day = date(2026, 10, 29) + timedelta(days=d)
        for i, kind in enumerate(TYPES):
            rows.append((day, kind, 100 + 10 * d + i, 1000 + d, 30.0 + d, 120.0 + i))
        rows.append((day, "all", 150 + 10 * d, 2000 + 2 * d, 31.5 + d, 125.0))
    return rows


@pytest.fixture
def engagement(engine):
    rows = _engagement_rows()
    with engine.begin() as conn:
        writes.upsert(conn, EngagementDay.__table__, rows)
    return rows


def _shown(items: list[dict]) -> list[tuple]:
    return [(date.fromisoformat(i["day"]), i["event_type"], i["active_users"], i["events"],
             i["avg_session_s"], i["p95_response_ms"]) for i in items]


def test_engagement_is_the_stored_days_of_the_range(engagement, client):
    got = client.get("/api/v1/engagement", params={"from": "2026-10-30", "to": "2026-11-02"})
    assert got.status_code == 200, got.text
    body = got.json()
    wanted = [r for r in engagement if date(2026, 10, 30) <= r[0] < date(2026, 11, 2)]
    assert _shown(body["items"]) == wanted and body["total"] == 9
    assert [i["event_type"] for i in body["items"][:3]] == ["purchase", "view", "all"]
    # by default the last 30 days up to now: every stored day
    assert _shown(client.get("/api/v1/engagement").json()["items"]) == engagement
    # a range inside a day shows that day
    one = client.get("/api/v1/engagement", params={"from": "2026-10-31T12:00",
                                                   "to": "2026-10-31T13:00"}).json()
    assert {i["day"] for i in one["items"]} == {"2026-10-31"}
    # to the last second there is: every day from Nov 1st, the last day no overflow
    late = client.get("/api/v1/engagement", params={"from": "2026-11-01",
                                                    "to": "9999-12-31T23:59:59"})
    assert late.status_code == 200 and late.json()["total"] == 6


def test_engagement_filters_by_type_and_pages(engagement, client):
    body = client.get("/api/v1/engagement", params={"event_type": "all", "limit": "2",
                                                    "offset": "1"}).json()
    alls = [r for r in engagement if r[1] == "all"]
    assert _shown(body["items"]) == alls[1:3]
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 1)


@pytest.mark.parametrize(("params", "named"), [
    pytest.param({"from": "last week"}, "from", id="a start outside the grammar"),
    pytest.param({"from": "2026-11-02", "to": "2026-11-01"}, "to", id="ending before it starts"),
    pytest.param({"limit": "0"}, "limit", id="an empty page"),
])
def test_bad_engagement_parameters_are_422_naming_them(client, params, named):
    got = client.get("/api/v1/engagement", params=params)
    assert got.status_code == 422, got.text
    assert [e["loc"][-1] for e in got.json()["detail"]] == [named]


# --- ETags and OpenAPI ---------------------------------------------------------------------


def test_each_document_resource_answers_304_for_its_etag(engine, costs, engagement, tmp_path):
    collect_roadmap(engine, ROOT / PLATFORM_ROADMAP, document=PLATFORM_ROADMAP)
    client = client_for(engine, tmp_path)
    for url in ("/api/v1/roadmap", "/api/v1/costs", "/api/v1/engagement"):
        first = client.get(url)
        assert first.status_code == 200 and first.headers["etag"]
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", url
        other = client.get(url, headers={"If-None-Match": '"not-it"'})
        assert other.status_code == 200, url


def test_openapi_documents_the_document_resources(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path, model in (("/api/v1/roadmap", "RoadmapOut"), ("/api/v1/costs", "CostsOut"),
                        ("/api/v1/engagement", "EngagementOut")):
        answers = paths[path]["get"]["responses"]
        assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith(model)
        assert {"304", "401", "403", "422"} <= answers.keys()
