"""Markers (deploys, incidents, events) in the store, through `apollo markers`, and in the
SLO engine's budget attribution: `apollo slo report NAME` attributes the budget to the
markers stored for the SLO's service, checked against sums over the stored minutes by hand
and against the same spans given as a `--markers` file."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
import yaml
from support import T0

from services.errors import InputError
from services.store import writes
from services.store.catalog import ServiceInfo, ensure_services, ensure_slo
from services.store.engine import make_engine
from services.store.markers import (
    POINT_SPAN_S,
    add_marker,
    attribution_markers,
    delete_marker,
    get_marker,
    list_markers,
)
from services.store.migrate import upgrade
from services.store.models import SliMinute

ROOT = Path(__file__).resolve().parents[1]
APOLLO = [sys.executable, "-c", "from services.cli import main; main()"]
T = int(T0)
SLO = "payment-service-availability"


def add(conn, **kwargs):
    fields = dict(kind="deploy", at=T, text="v1.4.2", now=T0, author="ci") | kwargs
    return add_marker(conn, **fields)


# --- the store, on SQLite and PostgreSQL ---------------------------------------------------


def test_a_marker_is_stored_as_given_and_deleted_by_id(engine):
    with engine.begin() as conn:
        marker = add(conn, kind="incident", service="payment-service", at=T, end=T + 600,
                     text="card processor timeouts\nsecond line", tags=["sev2", "psp", "sev2"])
    with engine.connect() as conn:
        stored = get_marker(conn, marker.id)
    assert stored == marker
    assert (stored.kind, stored.service, stored.at, stored.end) == (
        "incident", "payment-service", T, T + 600)
    assert stored.tags == ("sev2", "psp")  # a tag given twice is kept once
    assert stored.author == "ci" and stored.created_at == T0
    assert stored.label == f"incident #{stored.id} payment-service: card processor timeouts"
    with engine.begin() as conn:
        assert delete_marker(conn, marker.id) is True
        assert delete_marker(conn, marker.id) is False
        assert get_marker(conn, marker.id) is None


@pytest.mark.parametrize(("at", "end", "listed"), [
    pytest.param(T + 60, None, True, id="a point inside the range"),
    pytest.param(T, None, True, id="a point on the range's start"),
    pytest.param(T + 3600, None, False, id="a point on the range's end is outside"),
    pytest.param(T - 60, None, False, id="a point before the range"),
    pytest.param(T - 600, T + 1, True, id="a span ending inside the range"),
    pytest.param(T - 600, T, False, id="a span ending on the range's start"),
    pytest.param(T - 600, T + 7200, True, id="a span around the range"),
    pytest.param(T + 3599, T + 7200, True, id="a span starting in its last second"),
])
def test_a_list_holds_the_markers_that_touch_the_range(engine, at, end, listed):
    with engine.begin() as conn:
        marker = add(conn, at=at, end=end, kind="incident" if end else "deploy")
    with engine.connect() as conn:
        found = list_markers(conn, start=T, end=T + 3600)
    assert [m.id for m in found] == ([marker.id] if listed else [])


def test_a_filter_by_service_keeps_the_platform_wide_markers_and_kind_filters(engine):
    with engine.begin() as conn:
        pay = add(conn, service="payment-service", at=T + 60)
        user = add(conn, service="user-service", at=T + 120)
        platform = add(conn, kind="incident", at=T + 180, end=T + 240, text="cluster upgrade")
    with engine.connect() as conn:
        ids = [m.id for m in list_markers(conn, start=T, end=T + 3600,
                                          services=["payment-service"])]
        kinds = [m.id for m in list_markers(conn, start=T, end=T + 3600, kind="incident")]
        every = [m.id for m in list_markers(conn, start=T, end=T + 3600)]
    assert ids == [pay.id, platform.id]
    assert kinds == [platform.id]
    assert every == [pay.id, user.id, platform.id]  # oldest first


@pytest.mark.parametrize(("change", "field"), [
    pytest.param({"kind": "release"}, "kind", id="an unknown kind"),
    pytest.param({"service": "Payment Service"}, "service", id="a service that is no slug"),
    pytest.param({"service": "billing"}, "service", id="a service nobody knows"),
    pytest.param({"end": T}, "end", id="an end that is not after at"),
    pytest.param({"at": -1}, "at", id="a time before 1970"),
    pytest.param({"text": "  "}, "text", id="no text"),
    pytest.param({"text": "x" * 10_001}, "text", id="a text past 10,000 characters"),
    pytest.param({"tags": ["ok", ""]}, "tags", id="an empty tag"),
    pytest.param({"tags": [f"t{i}" for i in range(21)]}, "tags", id="21 tags"),
    pytest.param({"tags": ["a\nb"]}, "tags", id="a tag with a newline"),
])
def test_a_bad_marker_is_refused_naming_its_field_and_nothing_is_stored(engine, change, field):
    with engine.begin() as conn, pytest.raises(InputError) as info:
        add(conn, known_services={"payment-service"}, **change)
    assert info.value.field == field
    with engine.connect() as conn:
        assert list_markers(conn, start=0, end=2 * T) == []


def test_attribution_spans_points_open_incidents_and_other_services(engine):
    start, end = T, T + 4 * 3600
    with engine.begin() as conn:
        deploy = add(conn, service="payment-service", at=T + 600)
        old_open = add(conn, kind="incident", service="payment-service", at=T - 86_400,
                       text="degraded since yesterday")
        closed = add(conn, kind="incident", service="payment-service", at=T + 900,
                     end=T + 1200, text="short")
        add(conn, service="user-service", at=T + 700, text="another service")
        early = add(conn, kind="event", at=T - POINT_SPAN_S + 60, text="platform, reaching in")
        add(conn, kind="event", at=T - POINT_SPAN_S, text="platform, over before start")
    with engine.connect() as conn:
        got = attribution_markers(conn, service="payment-service", start=start, end=end)
    spans = {m.name.split(":")[0]: (m.start, m.end, m.kind) for m in got}
    assert spans == {
        f"incident #{old_open.id} payment-service": (T - 86_400, end, "incident"),
        f"event #{early.id}": (T - POINT_SPAN_S + 60, T + 60, "event"),
        f"deploy #{deploy.id} payment-service": (T + 600, T + 600 + POINT_SPAN_S, "deploy"),
        f"incident #{closed.id} payment-service": (T + 900, T + 1200, "incident"),
    }


# --- apollo markers ----------------------------------------------------------------------


@pytest.fixture
def config(tmp_path) -> Path:
    """A config whose store is migrated and knows the payment and user services."""
    path = tmp_path / "apollo.yaml"
    path.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "var"),
        "slo_files": [str(ROOT / "slos" / "payment-service.yaml")],
        "services": [{"slug": "payment-service", "name": "Payment Service"},
                     {"slug": "user-service", "name": "User Service"}],
    }))
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'apollo.db'}")
    upgrade(engine)
    engine.dispose()
    return path


def apollo(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*APOLLO, "--config", str(config), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_markers_added_listed_and_deleted_from_the_command_line(config):
    added = apollo(config, "markers", "add", "--kind", "incident", "--service",
                   "payment-service", "--at", str(T), "--end", "2026-11-02T10:30:00Z",
                   "--text", "card processor timeouts", "--tag", "sev2", "--author", "maria")
    assert added.returncode == 0, added.stderr
    assert "marker #1: incident payment-service at 2026-11-02 10:00:00Z" in added.stdout
    deploy = apollo(config, "markers", "add", "--kind", "deploy", "--at", "now-5m",
                    "--text", "platform release")
    assert deploy.returncode == 0, deploy.stderr

    listed = apollo(config, "markers", "--from", str(T - 60), "--to", "now", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["kind"], r["service"]) for r in rows] == [
        (1, "incident", "payment-service"), (2, "deploy", "")]
    assert rows[0] | {"created_at": 0} == {
        "id": 1, "kind": "incident", "service": "payment-service", "at": T, "end": T + 1800,
        "text": "card processor timeouts", "tags": ["sev2"], "author": "maria",
        "created_at": 0}
    text = apollo(config, "markers", "--from", str(T - 60), "--service", "user-service")
    assert "#2" in text.stdout and "#1 " not in text.stdout  # the platform's, not payment's

    deleted = apollo(config, "markers", "delete", "1")
    assert deleted.returncode == 0 and "deleted marker #1" in deleted.stdout
    again = apollo(config, "markers", "delete", "1")
    assert again.returncode == 1 and "no marker #1" in again.stderr


def test_a_marker_written_from_the_command_line_makes_cached_answers_stale(config,
                                                                          redis_url):
    import redis

    settings = yaml.safe_load(config.read_text()) | {"redis_url": redis_url}
    config.write_text(yaml.safe_dump(settings))
    with redis.Redis.from_url(redis_url) as client:
        assert client.get("apollo:cache:version") is None
        added = apollo(config, "markers", "add", "--kind", "deploy", "--at", "now",
                       "--text", "v2")
        assert added.returncode == 0, added.stderr
        assert client.get("apollo:cache:version") == b"1"
        assert apollo(config, "markers", "delete", "1").returncode == 0
        assert client.get("apollo:cache:version") == b"2"


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--at", "yesterday"], "--at: expected now, now-1h", id="a time outside "
                 "the grammar names --at"),
    pytest.param(["--at", "now", "--service", "billing"], "--service: no service 'billing'; "
                 "known: payment-service, user-service", id="an unknown service"),
    pytest.param(["--at", "now", "--end", "now-1h"], "--end: ", id="an end before the start"),
])
def test_a_bad_marker_on_the_command_line_names_the_flag(config, args, message):
    result = apollo(config, "markers", "add", "--kind", "deploy", "--text", "x", *args)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    listed = apollo(config, "markers", "--from", "0", "--json")
    assert json.loads(listed.stdout) == []


# --- budget attribution with stored markers --------------------------------------------------

MINUTES = 120


def _write_minutes(config: Path) -> dict[int, tuple[float, float]]:
    """Two hours of the payment SLO's minutes, a varying share bad, written to the store."""
    rng = np.random.default_rng(7)
    engine = make_engine(f"sqlite:///{config.parent / 'var' / 'apollo.db'}")
    minutes = {}
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("payment-service", "Payment Service")])
        slo_id = ensure_slo(conn, slug=SLO, name="availability", objective=99.9,
                            period_s=30 * 86_400, service_id=ids["payment-service"])
        rows = []
        for i in range(MINUTES):
            total = float(rng.integers(900, 1100))
            bad = float(rng.integers(0, 40 if 30 <= i < 50 else 3))
            rows.append((T + 60 * i, slo_id, total - bad, total, "10.0.0.5:8080"))
            minutes[T + 60 * i] = (total - bad, total)
        writes.upsert(conn, SliMinute.__table__, rows)
    engine.dispose()
    return minutes


def _bad_between(minutes: dict[int, tuple[float, float]], start: int, end: int) -> float:
    """Bad events of every minute the span [start, end) touches, summed by hand."""
    return sum(total - good for m, (good, total) in minutes.items()
               if m + 60 > start and m < end)


def test_report_by_name_attributes_the_budget_to_the_stored_markers(config, tmp_path):
    minutes = _write_minutes(config)
    at = T + 60 * MINUTES
    spans = {  # marker -> the span it answers for
        ("incident", "payment-service", T + 1800, T + 3000): (T + 1800, T + 3000),
        ("deploy", "payment-service", T + 1500, None): (T + 1500, T + 1500 + POINT_SPAN_S),
        ("event", None, T + 90, T + 150): (T + 90, T + 150),  # platform-wide, off the minute
        ("incident", "payment-service", T + 6600, None): (T + 6600, at),  # still open
    }
    for kind, service, first, last in spans:
        args = ["--kind", kind, "--at", str(first), "--text", f"{kind} at {first}"]
        args += ["--service", service] if service else []
        args += ["--end", str(last)] if last else []
        result = apollo(config, "markers", "add", *args)
        assert result.returncode == 0, result.stderr
    other = apollo(config, "markers", "add", "--kind", "incident", "--service", "user-service",
                   "--at", str(T), "--end", str(at), "--text", "not this SLO's")
    assert other.returncode == 0, other.stderr

    report = apollo(config, "slo", "report", SLO, "--at", str(at), "--json")
    assert report.returncode == 0, report.stderr
    shares = json.loads(report.stdout)["attribution"]
    assert [s["kind"] for s in shares] == ["event", "deploy", "incident", "incident", "rest"]
    total_bad = sum(t - g for g, t in minutes.values())
    expected = sorted(spans.items(), key=lambda item: item[0][2])
    for share, (_marker, (first, last)) in zip(shares, expected, strict=False):
        assert share["bad"] == pytest.approx(_bad_between(minutes, first, last))
        assert share["of_spent"] == pytest.approx(share["bad"] / total_bad)
    covered = [m for m in minutes if any(m + 60 > a and m < b for a, b in spans.values())]
    rest = sum(minutes[m][1] - minutes[m][0] for m in minutes if m not in covered)
    assert shares[-1]["bad"] == pytest.approx(rest)
    assert shares[2]["bad"] > 0 and rest > 0

    # The same spans as a --markers file: the file path computes the same shares.
    data = tmp_path / "markers.csv"
    with data.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["name", "kind", "start", "end"])
        for (kind, _service, first, _last), (a, b) in expected:
            out.writerow([f"{kind}-{first}", kind, a, b])
    by_file = apollo(config, "slo", "report", SLO, "--at", str(at), "--markers", str(data),
                     "--json")
    assert by_file.returncode == 0, by_file.stderr
    file_shares = json.loads(by_file.stdout)["attribution"]
    assert [s["bad"] for s in file_shares] == [s["bad"] for s in shares]


def test_report_by_name_without_stored_markers_shows_no_attribution(config):
    _write_minutes(config)
    report = apollo(config, "slo", "report", SLO, "--at", str(T + 60 * MINUTES), "--json")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["attribution"] == []
    with make_engine(f"sqlite:///{config.parent / 'var' / 'apollo.db'}").connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM markers")).scalar() == 0
