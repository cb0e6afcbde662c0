"""Hostile /metrics targets beside a healthy one, in real scrape rounds on SQLite and
PostgreSQL: every fetch is bounded in time and bytes, every problem is named with its target
(and its line), and one bad target never costs the others their data.

One loopback server plays every misbehaving target: a page that drips one byte every
0.5 s, a body that never ends, a gzip bomb, a 50 MB page with a bad line, NaN and infinite
counters, buckets whose `le` is not a number, a bad `# TYPE` line; two more targets have
URLs httpx refuses. Every counter is a pure function of the test's clock (REQUESTS_PER_S
since T0), so each expected figure is worked out here from the rate alone. Memory is the
kernel's high-water mark of this process (what `resource.getrusage` reports as ru_maxrss),
reset before each round through /proc/self/clear_refs so that each round is measured alone.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from support import T0, Clock, serving

from collectors.runs import RunResult
from collectors.scrape import PageScraper, Target
from collectors.scrape.scraper import BODY_SIZE_LIMIT, EXPANSION_CHECKED_FROM, INFLATE_STEP
from services.store import queries

TIMEOUT_S = 2.0
REQUESTS_PER_S = 10.0
FAST_SHARE = 0.9  # of requests in the le="0.1" bucket
DRIP_EVERY_S = 0.5
MiB = 2**20
BIG_PAGE_BYTES = 49_900_000  # just under the default body_size_limit (50,000,000)


def count(now: float) -> float:
    """Requests served since T0 at REQUESTS_PER_S: every healthy counter's value."""
    return REQUESTS_PER_S * (now - T0)


# --- the pages -------------------------------------------------------------------------------


def healthy_page(now: float) -> str:
    n = count(now)
    return (f'# TYPE http_requests_total counter\nhttp_requests_total{{code="200"}} {n}\n'
            "# TYPE http_request_duration_seconds histogram\n"
            f'http_request_duration_seconds_bucket{{le="0.1"}} {FAST_SHARE * n}\n'
            f'http_request_duration_seconds_bucket{{le="+Inf"}} {n}\n'
            f"http_request_duration_seconds_sum {0.05 * n}\n"
            f"http_request_duration_seconds_count {n}\n")


def nan_page(now: float) -> str:
    n = count(now)
    return (f'# TYPE http_requests_total counter\nhttp_requests_total{{code="200"}} {n}\n'
            'http_requests_total{code="500"} NaN\nhttp_requests_total{code="503"} +Inf\n'
            "# TYPE http_request_duration_seconds histogram\n"
            f'http_request_duration_seconds_bucket{{le="+Inf"}} {n}\n'
            "http_request_duration_seconds_sum NaN\n"
            f"http_request_duration_seconds_count {n}\n"
            "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes NaN\n")


def bad_le_page(now: float) -> str:
    n = count(now)
    return (f'# TYPE http_requests_total counter\nhttp_requests_total{{code="200"}} {n}\n'
            "# TYPE http_request_duration_seconds histogram\n"
            f'http_request_duration_seconds_bucket{{le="0.1"}} {FAST_SHARE * n}\n'
            f'http_request_duration_seconds_bucket{{le="fast"}} {n}\n'
            f'http_request_duration_seconds_bucket{{route="/"}} {n}\n'
            f'http_request_duration_seconds_bucket{{le="+Inf"}} {n}\n'
            f"http_request_duration_seconds_count {n}\n")


def bad_type_page(now: float) -> str:
    return (f'# TYPE http_requests_total counter\nhttp_requests_total{{code="200"}} {count(now)}\n'
            "# TYPE queue_depth gaugee\nqueue_depth 3\n"
            "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1e8\n")


BAD_LINE = 'http_requests_total{route="/broken",code="200"} one'


def big_page_head() -> tuple[bytes, int]:
    """The unchanging part of the 50 MB page (series that never move, one bad line in the
    middle) and the number of that bad line."""
    lines = ["# TYPE http_requests_total counter"]
    size, i = 0, 0
    while size < BIG_PAGE_BYTES - 100:
        line = f'http_requests_total{{route="/api/v1/items/{i:07d}",code="200"}} 1'
        lines.append(line)
        size += len(line) + 1
        i += 1
    bad_at = len(lines) // 2
    lines[bad_at] = BAD_LINE
    return ("\n".join(lines) + "\n").encode(), bad_at + 1


def gzip_bomb_blocks() -> tuple[bytes, bytes]:
    """The start of a gzip stream of zeros and a block that continues it: each block is
    1 MiB of zeros in about 1 KB (a full flush makes every block the same bytes)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    head = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    return head, packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)


# --- the misbehaving server ------------------------------------------------------------------


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, clock: Clock) -> None:
        super().__init__(("127.0.0.1", 0), HostileHandler)
        self.clock = clock
        self.stopping = threading.Event()
        self.big_head, self.big_bad_line = big_page_head()
        self.bomb = gzip_bomb_blocks()
        self.sent: dict[str, int] = {}  # path -> bytes sent in its last answer
        self.moments: dict[str, float] = {}  # event -> monotonic time of its last occurrence

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class HostileHandler(BaseHTTPRequestHandler):
    server: HostileServer
    PAGES: ClassVar[dict[str, Callable[[float], str]]] = {
        "/healthy": healthy_page, "/nan": nan_page, "/bad-le": bad_le_page,
        "/bad-type": bad_type_page,
    }

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        now = self.server.clock()
        if self.path in self.PAGES:
            body = self.PAGES[self.path](now).encode()
            gzipped = "gzip" in self.headers.get("Accept-Encoding", "")
            self.answer(gzip.compress(body) if gzipped else body,
                        {"Content-Encoding": "gzip"} if gzipped else {})
        elif self.path == "/brotli":  # an encoding the scraper never asks for
            self.answer(b"\x1b\x03\x00\xf8\xa5\x02", {"Content-Encoding": "br"})
        elif self.path == "/cut-gzip":  # a gzip body that stops half way
            body = gzip.compress(healthy_page(now).encode())
            self.answer(body[: len(body) // 2], {"Content-Encoding": "gzip"})
        elif self.path == "/big":
            tail = f'http_requests_total{{route="/live",code="200"}} {count(now)}\n'.encode()
            self.answer(self.server.big_head + tail, {})
            self.server.moments["big sent"] = time.monotonic()
        elif self.path == "/drip":
            self.server.moments["drip asked"] = time.monotonic()
            self.stream(lambda _: b"#", limit=60, pause_s=DRIP_EVERY_S)  # 30 s at most
        elif self.path == "/endless":
            chunk = b"# more\n" * 9362  # 64 KiB of comment lines, for ever (1 GiB at most)
            self.stream(lambda _: chunk, limit=16_384)
        elif self.path == "/bomb":
            head, block = self.server.bomb
            self.stream(lambda i: head if i == 0 else block, limit=10_240,  # 10 GiB of zeros
                        headers={"Content-Encoding": "gzip"})
        else:
            self.send_error(404)

    def answer(self, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def stream(self, chunk: Callable[[int], bytes], *, limit: int, pause_s: float = 0.0,
               headers: dict[str, str] | None = None) -> None:
        """A body of at most `limit` chunks, with no length: it ends when the client goes."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        sent = 0
        try:
            for i in range(limit):
                if self.server.stopping.wait(pause_s):
                    break
                data = chunk(i)
                self.wfile.write(data)
                self.wfile.flush()
                sent += len(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the scraper hung up, as it should
        self.server.sent[self.path] = sent


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer(Clock(T0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- measuring -------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    assert found is not None, field
    return int(found[1])


def peak_rss_growth(action: Callable[[], Any]) -> tuple[Any, int]:
    """What `action` returns, and how far above its starting point this process's resident
    memory peaked meanwhile, in bytes."""
    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again here
    before = _status_kib("VmRSS")
    result = action()
    return result, (_status_kib("VmHWM") - before) * 1024


def timed_round(scraper: PageScraper) -> tuple[dict[str, RunResult], float, int]:
    """One round: its runs by target, its seconds and its peak memory growth in bytes."""
    started = time.monotonic()
    runs, growth = peak_rss_growth(scraper.scrape_once)
    return {run.target: run for run in runs}, time.monotonic() - started, growth


def failure(runs: dict[str, RunResult], url: str) -> str:
    """The one error of a failed run, which names its target."""
    run = runs[url]
    assert run.status == "failed" and len(run.errors) == 1, run.errors
    assert run.errors[0].startswith(url + ": ")
    return run.errors[0]


def bad_lines(runs: dict[str, RunResult], url: str) -> dict[int, str]:
    """line -> reason of the errors `url:line: reason` of a partial run."""
    run = runs[url]
    assert run.status == "partial" and run.samples > 0
    found = [re.fullmatch(rf"{re.escape(url)}:(\d+): (.+)", error) for error in run.errors]
    return {int(m[1]): m[2] for m in found if m}


def held_minutes(runs: dict[str, RunResult], url: str) -> list[str]:
    """The errors of a run that are not about a line: minutes whose rows were held back."""
    return [e for e in runs[url].errors if not re.match(rf"{re.escape(url)}:\d+: ", e)]


def minute_text(minute: float) -> str:
    return datetime.fromtimestamp(minute, UTC).strftime("%Y-%m-%d %H:%M")


def line_of(page: str, text: str) -> int:
    return page.split("\n").index(text) + 1


def minute_rows(engine, service: str, minute: float) -> dict:
    with engine.connect() as conn:
        rows = queries.service_metrics(conn, minute, minute + 60, services=[service])
    assert len(rows) == 1, f"{service}: expected the minute's row, got {len(rows)}"
    return rows.iloc[0].to_dict()


def bucket_counts(engine, service: str, minute: float) -> dict[float, float]:
    with engine.connect() as conn:
        rows = queries.latency_buckets(conn, minute, minute + 60, services=[service])
    return dict(zip(rows["le"], rows["count"], strict=True))


# --- a round of every hostile target ---------------------------------------------------------


HOSTILE = ["drip", "endless", "bomb", "nan", "bad-le", "bad-type"]
REFUSED_URLS = {"bad-port": "http://127.0.0.1:99999/metrics", "bad-url": "http://[::1/m"}


def test_each_hostile_target_fails_alone_and_the_healthy_rows_are_written_every_round(
        engine, hostile):
    clock = hostile.clock
    url = {name: f"{hostile.url}/{name}" for name in ["healthy", *HOSTILE]} | REFUSED_URLS
    scraper = PageScraper(engine, [Target(name, u) for name, u in url.items()], clock=clock,
                          timeout_s=TIMEOUT_S)
    per_minute = REQUESTS_PER_S * 60
    for i in range(1, 4):  # scrapes at T0+60, +120, +180: each after the first ends a minute
        clock.now = T0 + 60 * i
        runs, took, growth = timed_round(scraper)

        assert TIMEOUT_S <= took < TIMEOUT_S + 1.5  # the drip's timeout, and no more
        # the endless body stops at the limit, the bomb after 1 MB: the rest is Python's
        assert growth < 2 * BODY_SIZE_LIMIT + 50 * MiB, f"peak grew {growth / MiB:.0f} MiB"
        assert runs[url["healthy"]].status == "ok", runs[url["healthy"]].errors

        assert "Timeout: the whole response did not arrive within 2 s" in failure(
            runs, url["drip"])
        assert "over body_size_limit (50,000,000 bytes)" in failure(runs, url["endless"])
        bomb = re.search(r"expands more than 100 times \(([\d,]+) bytes to over ([\d,]+)\)",
                         failure(runs, url["bomb"]))
        assert bomb, runs[url["bomb"]].errors
        received, inflated = (int(n.replace(",", "")) for n in bomb.groups())
        # refused at the first step past 100 times what came in (and past 1 MB)
        assert 100 * received < inflated
        assert inflated <= max(EXPANSION_CHECKED_FROM, 100 * received) + INFLATE_STEP
        assert "port 99999 is outside 1-65535" in failure(runs, url["bad-port"])
        assert "invalid URL" in failure(runs, url["bad-url"])

        n = count(clock.now)
        nan = nan_page(clock.now)
        assert bad_lines(runs, url["nan"]) == {
            line_of(nan, 'http_requests_total{code="500"} NaN'):
                "counter value NaN cannot be counted",
            line_of(nan, 'http_requests_total{code="503"} +Inf'):
                "counter value +Inf cannot be counted",
            line_of(nan, "http_request_duration_seconds_sum NaN"):
                "histogram value NaN cannot be counted",
        }
        bad_le = bad_le_page(clock.now)
        assert bad_lines(runs, url["bad-le"]) == {
            line_of(bad_le, f'http_request_duration_seconds_bucket{{le="fast"}} {n}'):
                "histogram bucket le='fast' is not a number",
            line_of(bad_le, f'http_request_duration_seconds_bucket{{route="/"}} {n}'):
                "histogram bucket without an le label",
        }
        bad_type = bad_type_page(clock.now)
        assert bad_lines(runs, url["bad-type"]) == {
            line_of(bad_type, "# TYPE queue_depth gaugee"): "Invalid metric type: gaugee"}

        if i == 1:
            assert not any(held_minutes(runs, u) for u in url.values() if runs[u].samples)
            continue  # the first scrape only starts the counting
        minute = clock.now - 60  # the minute this round completed
        # the NaN page's request and latency counts are not known: no service row for it,
        # rather than one without its errors; its buckets are counted
        assert held_minutes(runs, url["nan"]) == [
            f"{url['nan']}: minute {minute_text(minute)} UTC not written (service): it counts "
            "a series set aside above"]
        assert not any(held_minutes(runs, url[name]) for name in ["healthy", "bad-le", "bad-type"])
        healthy = minute_rows(engine, "healthy", minute)
        assert healthy["requests"] == pytest.approx(per_minute)
        assert healthy["latency_sum"] == pytest.approx(0.05 * per_minute)
        assert bucket_counts(engine, "healthy", minute) == pytest.approx(
            {0.1: FAST_SHARE * per_minute, float("inf"): per_minute})
        with engine.connect() as conn:
            assert queries.service_metrics(conn, minute, minute + 60, services=["nan"]).empty
        assert bucket_counts(engine, "nan", minute) == pytest.approx({float("inf"): per_minute})
        assert bucket_counts(engine, "bad-le", minute) == pytest.approx(
            {0.1: FAST_SHARE * per_minute, float("inf"): per_minute})
        bad_type_row = minute_rows(engine, "bad-type", minute)  # the rest of the page is read
        assert bad_type_row["requests"] == pytest.approx(per_minute)
        assert bad_type_row["memory_bytes"] == 1e8

    assert hostile.sent["/endless"] < 2 * BODY_SIZE_LIMIT  # it hung up, not read for ever


def test_a_50_mb_page_with_a_bad_line_is_read_beside_the_others_and_its_line_named(
        engine, hostile):
    """The page is fetched beside the others, not one after the other: the drip is asked
    for before the big page has been sent (an order, not a duration, so a loaded machine
    cannot fail it), and its bad line is named once (no second reading)."""
    clock = hostile.clock
    url = {name: f"{hostile.url}/{name}" for name in ["healthy", "big", "drip"]}
    alone = PageScraper(engine, [Target("big-alone", url["big"])], clock=clock,
                        timeout_s=TIMEOUT_S)
    together = PageScraper(engine, [Target(name, u) for name, u in url.items()], clock=clock,
                           timeout_s=TIMEOUT_S)
    series = hostile.big_head.count(b"\n") - 1  # less the TYPE and bad lines, plus /live
    bad_line = f"{url['big']}:{hostile.big_bad_line}: invalid value 'one'"
    for i in range(1, 3):
        clock.now = T0 + 60 * i
        runs, _, _ = timed_round(alone)
        assert runs[url["big"]].errors == [bad_line] and runs[url["big"]].samples == series
        hostile.moments.clear()
        runs, _, growth = timed_round(together)
        assert hostile.moments["drip asked"] < hostile.moments["big sent"], hostile.moments
        # the body, its text and the parsed page of ~700,000 series: bounded by the limit
        assert growth < 25 * BODY_SIZE_LIMIT, f"peak grew {growth / MiB:.0f} MiB"
        assert runs[url["big"]].status == "partial" and runs[url["big"]].errors == [bad_line]
        assert runs[url["healthy"]].status == "ok"
        assert runs[url["drip"]].status == "failed"
    minute = T0 + 60
    assert minute_rows(engine, "big", minute)["requests"] == pytest.approx(REQUESTS_PER_S * 60)
    assert minute_rows(engine, "healthy", minute)["requests"] == pytest.approx(
        REQUESTS_PER_S * 60)


def test_a_page_over_its_own_body_size_limit_is_refused_gzipped_or_not(engine, hostile):
    hostile.clock.now = T0 + 60
    size = len(healthy_page(hostile.clock.now))
    targets = [Target("healthy", f"{hostile.url}/healthy"), Target("nan", f"{hostile.url}/nan")]
    tight = PageScraper(engine, targets, clock=hostile.clock, body_size_limit=size - 1)
    runs = {r.target: r for r in tight.scrape_once()}
    assert all(r.status == "failed" for r in runs.values())
    assert (f"the page is over body_size_limit ({size - 1:,} bytes decompressed)"
            in runs[f"{hostile.url}/healthy"].errors[0])  # the healthy page comes gzipped
    roomy = PageScraper(engine, targets[:1], clock=hostile.clock, body_size_limit=size)
    assert [r.status for r in roomy.scrape_once()] == ["ok"]


def test_a_body_in_another_encoding_cut_short_or_announced_too_long_is_refused(
        engine, hostile):
    hostile.clock.now = T0 + 60
    url = {name: f"{hostile.url}/{name}" for name in ["brotli", "cut-gzip", "big", "healthy"]}
    scraper = PageScraper(engine, [Target(name, u) for name, u in url.items()],
                          clock=hostile.clock, body_size_limit=1_000_000)
    runs = {r.target: r for r in scraper.scrape_once()}
    assert "Content-Encoding 'br' is not read (gzip or none)" in failure(runs, url["brotli"])
    assert "the gzip body ends before its end" in failure(runs, url["cut-gzip"])
    announced = len(hostile.big_head) + len(b'http_requests_total{route="/live",code="200"} '
                                            + f"{count(hostile.clock.now)}\n".encode())
    assert (f"the body of {announced:,} bytes is over body_size_limit (1,000,000 bytes)"
            in failure(runs, url["big"]))
    assert runs[url["healthy"]].status == "ok"


# --- the scrape state of a run-once collector ------------------------------------------------


@pytest.mark.parametrize("content", [
    pytest.param(b'{"http://x": {"last_t": 1', id="cut short"),
    pytest.param(b"\xff\xfe not text", id="not UTF-8"),
    pytest.param(b"[1, 2, 3]", id="a list"),
    pytest.param(b'{"URL": {"last_t": "soon", "covered_from": 0, "last": [], "counts": {}, '
                 b'"gauges": {}}}', id="a time that is text"),
    pytest.param(b'{"URL": {"last_t": NaN, "covered_from": 0, "last": [], "counts": {}, '
                 b'"gauges": {}}}', id="a NaN time"),
    pytest.param(b'{"URL": {"last_t": 1, "covered_from": 0, "last": [[["x", []], 1, 2]], '
                 b'"counts": {}, "gauges": {}}}', id="a series of three parts"),
])
def test_a_corrupt_state_file_is_set_aside_and_named_and_the_next_runs_count_again(
        tmp_path, content):
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    state = tmp_path / "scrape-state.json"
    clock = Clock(T0 + 60)
    pages = {"metrics": healthy_page(clock.now)}
    with serving(pages) as base:
        targets = [Target("healthy", f"{base}/metrics")]
        state.write_bytes(content.replace(b"URL", targets[0].url.encode()))
        runs = PageScraper(engine, targets, clock=clock, state_path=state).scrape_once()
        assert [r.status for r in runs] == ["failed", "ok"]
        assert runs[0].target == str(state)
        assert re.fullmatch(rf"{re.escape(str(state))}: not a scrape state \(.+\); set aside as "
                            r"scrape-state\.json\.corrupt, counting starts again",
                            runs[0].errors[0])
        assert (tmp_path / "scrape-state.json.corrupt").read_bytes() == content.replace(
            b"URL", targets[0].url.encode())
        assert json.loads(state.read_text())[targets[0].url]["last_t"] == T0 + 60
        clock.now = T0 + 120  # the next run (a new process) counts from the new state
        pages["metrics"] = healthy_page(clock.now)
        runs = PageScraper(engine, targets, clock=clock, state_path=state).scrape_once()
    assert [r.status for r in runs] == ["ok"]
    assert minute_rows(engine, "healthy", T0 + 60)["requests"] == pytest.approx(
        REQUESTS_PER_S * 60)
    engine.dispose()
