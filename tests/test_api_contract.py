"""The API's contract, checked against the live API.

schemathesis generates requests for every operation of the API's OpenAPI document, valid
and invalid ones (its examples, coverage and fuzzing phases, a bounded number of examples
each, the same ones every run), and sends them to uvicorn serving `create_app` on a free
loopback port. Every answer must conform to the document: no 5xx, a declared status code
and content type, a body matching the declared schema, 4xx for invalid input, 405 for an
undeclared method. The document is `create_app`'s own, read at collection (schemathesis's
lazy `from_fixture` loader fails under pytest 9.2: its nodes have no `_nodeid`); a test
checks the live server serves the very same one.

The store is a small platform with data on every resource: half a day of the seed's fleet
written through the collector's own path (`write_history`) with its hour roll-ups, one
alert evaluation round over it, the platform's roadmap and cost documents, a few days of
engagement and a deploy marker. Four SLO files of slos/ are configured, copied into a
folder of the test's own (spec uploads write there). A demo fleet runs (events off), so
the fleet routes answer from it instead of their documented 503. Tokens come from
APOLLO_API_TOKENS and every request carries the write token; the rate limit is far above
what the run sends, so no answer is a 429.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from harness import free_port, wait_until
from schemathesis.config import SchemathesisConfig

from collectors.cost import collect_cost_file
from collectors.roadmap import collect_roadmap
from services.alerting.evaluate import AlertEvaluator
from services.api.app import create_app
from services.config import EXAMPLE_CONFIG, load_settings
from services.files import expand, load_slo_files
from services.fleet.runner import start_fleet
from services.runtime.history import write_history
from services.store import writes
from services.store.engine import make_engine
from services.store.markers import add_marker
from services.store.migrate import upgrade
from services.store.models import EngagementDay
from services.store.rollup import roll_up

ROOT = Path(__file__).resolve().parents[1]
SLO_FILES = ("payment-service.yaml", "api-gateway.yaml", "user-service.yaml",
             "apollo-api.yaml")
WRITE = "write-token-contract-0123456789"
READ = "read-token-contract-0123456789"
HISTORY_DAYS = 0.5
MAX_EXAMPLES = 25  # per operation and phase: about 2,300 requests, under a minute here
HOUR = 3600

# Checks left out, each for a reason of its own:
EXCLUDED_CHECKS = (
    # ST202: the parameters' grammars are wider in JSON Schema than what the server
    # accepts (times in the one time grammar, durations, `label=key=value`, `month` as
    # YYYY-MM, "ends_at or for, not both"); such input is answered 422 naming the field,
    # which the 422 schema check still checks.
    "positive_data_acceptance",
    # ST205: Starlette answers an undeclared method with 405 and the `Allow` of the first
    # route whose path matches (e.g. `GET` for /markers, which also takes POST).
    "allow_header_conformance",
)

# What schemathesis is told: the same examples every run, no example database on disk,
# the write token on every request.
CONFIG = {
    "headers": {"Authorization": f"Bearer {WRITE}"},
    "request-timeout": 30,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                   "mode": "all"},
    "phases": {"stateful": {"enabled": False}},
    "checks": {name: {"enabled": False} for name in EXCLUDED_CHECKS},
    # ST204 on the receiver alone: `GET /api/v1/alerts/alertmanager` is routed to
    # `GET /api/v1/alerts/{alert_id}` (Starlette's `{alert_id}` matches any segment) and
    # answered 422 naming alert_id, where schemathesis expects 405.
    "operations": [{"include-path": "/api/v1/alerts/alertmanager", "include-method": "POST",
                    "checks": {"unsupported_method": {"enabled": False}}}],
}


# --- the platform behind the API ------------------------------------------------------------


def _fill(settings, engine, now: float) -> None:
    """Every resource with data, written as the collectors and the evaluator write it."""
    history = write_history(settings, engine, days=HISTORY_DAYS, end=now)
    assert not history.problems, history.problems
    with engine.begin() as conn:
        roll_up(conn, history.start // HOUR * HOUR, history.end // HOUR * HOUR)
        add_marker(conn, kind="deploy", at=history.end - HOUR, end=history.end - HOUR + 600,
                   text="v1.4.2 rollout", service="payment-service", now=now)
        today = datetime.fromtimestamp(now, UTC).date()
        writes.upsert(conn, EngagementDay.__table__, [
            (today - timedelta(days=d), kind, 100 + d, 1000 + d, 30.0 + d, 120.0)
            for d in range(1, 6) for kind in ("purchase", "view", "all")])
    month = datetime.fromtimestamp(now, UTC).date().replace(day=1)
    for name, collect in (("roadmap.md", collect_roadmap), ("costs.md", collect_cost_file)):
        path = ROOT / "docs" / "platform" / name
        run = (collect(engine, path, document=f"docs/platform/{name}") if name == "roadmap.md"
               else collect(engine, path, month=month, source=f"docs/platform/{name}"))
        assert not run.errors, run.errors
    slos = load_slo_files(expand(settings.slo_files))
    AlertEvaluator(engine, slos, settings.alerting, [], clock=lambda: now).evaluate()


@pytest.fixture(scope="module")
def live_api(tmp_path_factory) -> Iterator[str]:
    """The API under uvicorn (as `apollo api` runs it) on a free loopback port, in a
    thread, over the filled store, with a demo fleet running beside it."""
    root = tmp_path_factory.mktemp("contract")
    (root / "slos").mkdir()
    for name in SLO_FILES:
        shutil.copy(ROOT / "slos" / name, root / "slos" / name)
    settings = load_settings(EXAMPLE_CONFIG, **{
        "data_dir": str(root / "var"), "slo_files": [str(root / "slos" / "*.yaml")],
        "fleet": {"events": {"enabled": False}},
        "api": {"rate_limit_per_minute": 1_000_000}})
    engine = make_engine(f"sqlite:///{root / 'var' / 'apollo.db'}")
    upgrade(engine)
    _fill(settings, engine, time.time())
    fleet = start_fleet(settings)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("APOLLO_API_TOKENS", f"write:{WRITE},read:{READ}")
        app = create_app(settings, engine)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False,
                                           proxy_headers=False, server_header=False))
    thread = threading.Thread(target=server.run, name="contract-api", daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: server.started or not thread.is_alive(), 30)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        fleet.stop()
        engine.dispose()


# --- the contract ---------------------------------------------------------------------------


def test_the_platform_behind_the_api_has_data_on_every_resource(live_api):
    """The generated requests meet real figures, not only empty lists."""
    with httpx.Client(base_url=live_api, trust_env=False, timeout=30) as client:
        def get(path: str) -> dict:
            answer = client.get(f"/api/v1/{path}")
            assert answer.status_code == 200, (path, answer.text)
            return answer.json()

        measured = {s["slug"] for s in get("services")["items"] if s["minutes"]}
        assert len(measured) == 7, measured  # the seed's services (not Apollo's own API)
        assert len(get("slos")["items"]) >= 6
        assert get("markers?from=-1d")["total"] == 1
        assert get("engagement?from=-7d")["total"] == 15
        assert get("roadmap")["documents"] and get("costs")["sources"]
        get("runs")
        assert len(get("fleet")["services"]) == 7


def test_every_time_in_an_answer_is_rfc3339_utc(live_api):
    """One form for every time field, whichever route it comes from."""
    with httpx.Client(base_url=live_api, trust_env=False, timeout=30) as client:
        slo = client.get("/api/v1/slos").json()["items"][0]
        service = client.get("/api/v1/services").json()
        marker = client.get("/api/v1/markers", params={"from": "-1d"}).json()["items"][0]
        series = client.get("/api/v1/services/payment-service/series",
                            params={"from": "-1h"}).json()
    times = [slo["at"], service["from"], service["to"], service["items"][0]["slos"][0][
        "period_start"], marker["at"], marker["end"], marker["created_at"], series["from"],
        series["points"][0]["ts"]]
    for text in times:
        assert isinstance(text, str) and text.endswith("Z"), text
        assert datetime.fromisoformat(text).utcoffset() == timedelta(0), text
    assert slo["at"].endswith(":00Z")  # a minute boundary, whole seconds


def _document() -> dict:
    """The OpenAPI document the cases are generated from: `create_app`'s own, read at
    collection (the live server's is checked to be the same one below)."""
    return create_app(load_settings(EXAMPLE_CONFIG), make_engine("sqlite://")).openapi()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=SchemathesisConfig.from_dict(CONFIG))


def test_the_live_api_serves_the_document_the_cases_come_from(live_api):
    served = httpx.get(f"{live_api}/openapi.json", trust_env=False, timeout=30)
    assert served.status_code == 200
    assert served.json() == DOCUMENT


@schema.parametrize()
def test_every_operation_answers_as_its_openapi_document_says(case, live_api):
    case.call_and_validate(base_url=live_api)
