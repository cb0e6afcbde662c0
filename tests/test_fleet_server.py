"""The fleet over HTTP: real listeners on loopback, faults through the control endpoint."""

from __future__ import annotations

import socket

import httpx
import pytest
from support import PROFILES, T0, Clock, requests_by_code

from services.errors import PortInUseError
from services.fleet.server import Fleet


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def fleet(clock):
    fleet = Fleet(list(PROFILES.values()), clock=clock, seed=7)
    with fleet:
        yield fleet


def scrape(url: str) -> str:
    response = httpx.get(url, timeout=5)
    response.raise_for_status()
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


def test_every_service_serves_its_page_on_loopback(fleet, clock):
    clock.now += 60
    for slug, url in fleet.urls.items():
        assert url.startswith("http://127.0.0.1:")
        page = scrape(url)
        assert f'service_build_info{{name="{PROFILES[slug].name}",service="{slug}"' in page
        assert "http_request_duration_seconds_bucket" in page


def test_counters_advance_at_the_load_models_rate(fleet, clock):
    url = fleet.urls["api-gateway"]
    clock.now += 30
    first = sum(requests_by_code(scrape(url)).values())
    clock.now += 120
    second = sum(requests_by_code(scrape(url)).values())
    model = fleet.endpoint("api-gateway").simulator.load
    assert second - first == pytest.approx(model.expected_requests(T0 + 30, T0 + 150), abs=20)


def test_control_lists_services_and_their_urls(fleet):
    state = httpx.get(fleet.control_url + "/", timeout=5).json()
    assert [s["slug"] for s in state["services"]] == list(PROFILES)
    assert {s["slug"]: s["metrics_url"] for s in state["services"]} == fleet.urls


def test_an_error_burst_injected_over_http_shows_in_the_page(fleet, clock):
    response = httpx.post(fleet.control_url + "/faults/payment-service",
                          json={"kind": "error_burst", "rate": 0.4, "duration": "10m"}, timeout=5)
    assert response.status_code == 201
    url = fleet.urls["payment-service"]
    clock.now += 10
    before = requests_by_code(scrape(url))
    clock.now += 120
    after = requests_by_code(scrape(url))
    delta = {code: after[code] - before[code] for code in after}
    assert (delta["500"] + delta["503"]) / sum(delta.values()) == pytest.approx(0.4, rel=0.02)

    httpx.delete(fleet.control_url + "/faults/payment-service", timeout=5)
    clock.now += 10
    before = requests_by_code(scrape(url))
    clock.now += 120
    after = requests_by_code(scrape(url))
    failed = sum(after[c] - before[c] for c in ("500", "503"))
    assert failed / sum(after[c] - before[c] for c in after) < 0.01


def test_a_fault_posted_between_scrapes_holds_from_the_post_to_the_clear(clock):
    """The control API's answers carry the fault's start and end, and the pages count the
    errors of exactly that span (flat load: noise and the daily curve off)."""
    profile = PROFILES["payment-service"]
    rate = profile.throughput_rps
    with Fleet([profile], clock=clock, amplitude=0.0, noise=0.0) as fleet:
        url = fleet.urls["payment-service"]
        clock.now = T0 + 60
        before = requests_by_code(scrape(url))
        clock.now = T0 + 100
        posted = httpx.post(fleet.control_url + "/faults/payment-service",
                            json={"kind": "error_burst", "rate": 0.2, "duration": "10m"},
                            timeout=5).json()["fault"]
        assert (posted["start"], posted["until"]) == (T0 + 100, T0 + 700)
        clock.now = T0 + 130
        cleared = httpx.delete(fleet.control_url + "/faults/payment-service",
                               timeout=5).json()
        assert [(f["start"], f["until"]) for f in cleared["ended"]] == [(T0 + 100, T0 + 130)]
        assert fleet.state()["services"][0]["faults"] == []
        clock.now = T0 + 150
        after = requests_by_code(scrape(url))
    failed = sum(after[c] - before[c] for c in ("500", "503"))
    expected = 30 * rate * 0.2 + (40 + 20) * rate * profile.error_ratio
    assert abs(failed - expected) < 2 * len(profile.routes)  # pages show whole numbers


def test_a_service_that_is_down_refuses_connections_and_comes_back_fresh(fleet, clock):
    url = fleet.urls["user-service"]
    clock.now += 600
    before = sum(requests_by_code(scrape(url)).values())
    httpx.post(fleet.control_url + "/faults/user-service",
               json={"kind": "down", "duration": "1m"}, timeout=5).raise_for_status()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)
    assert not fleet.endpoint("user-service").running
    clock.now += 61  # the fault expires; the watcher restarts the service
    fleet._reconcile()
    clock.now += 5
    after = sum(requests_by_code(scrape(url)).values())
    assert after < before / 10  # a restarted process counts from zero again
    assert fleet.urls["user-service"] == url  # on the same port


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        pytest.param("/faults/payment-service", {"kind": "error_burst", "rate": 2}, 400,
                     "rate: expected a share", id="a rate above one"),
        pytest.param("/faults/payment-service", {"kind": "latency", "duration": "soon"}, 400,
                     "duration: expected a duration", id="a bad duration"),
        pytest.param("/faults/payment-service", {"rate": 0.1}, 400, "kind: required",
                     id="no kind"),
        pytest.param("/faults/payment-service", {"kind": "down", "speed": 3}, 400,
                     "speed: unknown field", id="an unknown field"),
        pytest.param("/faults/shop", {"kind": "down"}, 404, "no service 'shop'",
                     id="an unknown service"),
    ],
)
def test_bad_fault_requests_say_what_is_wrong(fleet, path, body, status, message):
    response = httpx.post(fleet.control_url + path, json=body, timeout=5)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert all(not s["faults"] for s in fleet.state()["services"])


def test_a_taken_port_is_named_and_nothing_stays_bound(clock):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        # the first service gets a free port, the second the taken one
        fleet = Fleet(list(PROFILES.values())[:3], base_port=port - 1, clock=clock)
        with pytest.raises(PortInUseError, match=rf"port 127.0.0.1:{port} \(fleet service "
                                                 r"auth-service\) is already in use"):
            fleet.start()
    first = fleet.endpoint("api-gateway")
    assert not first.running
    with socket.socket() as probe:  # the port of the service that did bind is free again
        probe.bind(("127.0.0.1", first.port))
