"""Cost lines: the platform's cost table recomputed by hand, its stated figures checked,
OpenCost read from a local server, and the store replaced per (source, month) on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from collectors.cost import (
    COST_LINES,
    collect_cost_file,
    collect_opencost,
    fetch_allocation,
    parse_allocation,
    parse_cost_csv,
    parse_cost_markdown,
    parse_money,
    parse_potential,
    read_costs,
    store_cost_lines,
)
from services.documents.costs import (
    CostTable,
    costs_json,
    costs_text,
    parse_month,
    summarize_costs,
    tables_from_rows,
)
from services.errors import SourceUnavailable
from services.store import document_rows
from slo.errors import InputError, InputErrors

DATA = Path(__file__).resolve().parent / "data" / "costs"
PLATFORM_MD = Path(__file__).resolve().parents[1] / "docs" / "platform" / "costs.md"
PLATFORM_CSV = DATA / "platform.csv"
OPENCOST = DATA / "opencost-allocation.json"
AFTER_FENCE = Path(__file__).resolve().parent / "data" / "documents" / "costs-after-fence.md"
JANUARY = date(2024, 1, 1)

# The platform's six cost lines as written in docs/platform/costs.md (dollars a month)
# and their optimisation potential in percent ("Minimal" is read as 0%).
MONTHLY = {"Compute (EC2)": 12_450, "Database (RDS)": 8_900, "Cache (ElastiCache)": 2_340,
           "CDN (CloudFront)": 3_670, "Monitoring": 1_200, "Data Transfer": 4_500}
POTENTIAL = {"Compute (EC2)": 15, "Database (RDS)": 10, "Cache (ElastiCache)": 5,
             "CDN (CloudFront)": 20, "Monitoring": 0, "Data Transfer": 30}
MONTHLY_TOTAL = 12_450 + 8_900 + 2_340 + 3_670 + 1_200 + 4_500  # the document says $33,060
ANNUAL_TOTAL = 12 * MONTHLY_TOTAL  # the document says $396,720
MAU = 1_000_000  # the document's note: one million monthly active users
# Each line's cost times its potential in percent, summed: a month's saving times 100.
SAVING_X100 = 12_450 * 15 + 8_900 * 10 + 2_340 * 5 + 3_670 * 20 + 1_200 * 0 + 4_500 * 30
WEIGHTED_POTENTIAL = SAVING_X100 / MONTHLY_TOTAL / 100


@pytest.fixture(scope="module")
def platform() -> CostTable:
    return read_costs(PLATFORM_MD)


# --- the platform's cost table -----------------------------------------------------------


def test_the_cost_table_is_found_among_the_documents_tables_and_its_lines_read(platform):
    assert {x.component: x.monthly_cost for x in platform.lines} == {
        name: Decimal(cost) for name, cost in MONTHLY.items()}
    assert {x.component: x.potential_ratio * 100 for x in platform.lines} == POTENTIAL
    assert {x.currency for x in platform.lines} == {"USD"}


def test_the_total_row_is_the_stated_total_not_a_line(platform):
    assert "Total" not in [x.component for x in platform.lines]
    total = platform.stated_total
    assert (total.monthly_cost, total.annual_cost, total.cost_per_user,
            total.potential_percent) == (Decimal("33060"), Decimal("396720"),
                                         Decimal("0.033"), Decimal(18))


def test_totals_are_computed_from_the_lines_and_agree_with_the_documents(platform):
    summary = summarize_costs(platform, mau=MAU)
    assert summary.monthly_total == MONTHLY_TOTAL == platform.stated_total.monthly_cost
    assert summary.annual_total == ANNUAL_TOTAL == platform.stated_total.annual_cost
    assert [f.annual_cost for f in summary.lines] == [12 * cost for cost in MONTHLY.values()]


def test_cost_per_user_is_the_monthly_total_over_monthly_active_users(platform):
    summary = summarize_costs(platform, mau=MAU)
    assert summary.cost_per_user == Decimal(MONTHLY_TOTAL) / MAU
    assert round(summary.cost_per_user, 3) == platform.stated_total.cost_per_user  # $0.033


def test_overall_potential_is_weighted_by_cost_and_differs_from_the_stated_18_percent(
        platform):
    summary = summarize_costs(platform, mau=MAU)
    assert float(summary.potential_ratio) == pytest.approx(WEIGHTED_POTENTIAL)
    assert f"{WEIGHTED_POTENTIAL:.1%}" == "15.0%"
    assert summary.potential_coverage == 1  # every line states a potential
    assert summary.potential_monthly == Decimal(SAVING_X100) / 100


def test_only_the_overall_potential_does_not_add_up(platform):
    summary = summarize_costs(platform, mau=MAU)
    mismatches = [f for f in summary.flags if f.kind == "mismatch"]
    assert [(f.component, f.field, f.stated, f.computed) for f in mismatches] == [
        ("Total", "optimization_potential", "18%", f"{WEIGHTED_POTENTIAL:.1%}")]
    assert mismatches[0].line == platform.stated_total.line


def test_per_user_figures_are_flagged_as_rounded_for_each_line_and_the_total(platform):
    rounded = [f for f in summarize_costs(platform, mau=MAU).flags if f.kind == "rounded"]
    assert [f.component for f in rounded] == [*MONTHLY, "Total"]
    assert {f.field for f in rounded} == {"cost_per_user"}
    # The widest gap: $4,500 is $0.0045 a user, written $0.005, exactly half a tenth of a cent.
    transfer = next(f for f in rounded if f.component == "Data Transfer")
    assert (transfer.stated, transfer.computed) == ("$0.005", "$0.0045")


def test_without_monthly_active_users_per_user_figures_are_not_checked(platform):
    summary = summarize_costs(platform)
    assert summary.cost_per_user is None
    assert [f.kind for f in summary.flags] == ["mismatch", "unchecked"]


def test_the_csv_gives_the_same_lines_and_totals_as_the_markdown_table(platform):
    from_csv = summarize_costs(read_costs(PLATFORM_CSV), mau=MAU)
    from_md = summarize_costs(platform, mau=MAU)
    assert [(f.line.component, f.line.monthly_cost, f.line.potential_ratio)
            for f in from_csv.lines] == [(f.line.component, f.line.monthly_cost,
                                          f.line.potential_ratio) for f in from_md.lines]
    assert (from_csv.monthly_total, from_csv.potential_ratio) == (
        from_md.monthly_total, from_md.potential_ratio)
    assert from_csv.flags == ()  # nothing stated, nothing to disagree with


def test_json_and_text_show_computed_figures_and_the_flags(platform):
    summary = summarize_costs(platform, mau=MAU)
    payload = costs_json(summary)
    json.dumps(payload, allow_nan=False)
    assert payload["total"]["monthly_cost"] == MONTHLY_TOTAL
    assert payload["total"]["annual_cost"] == ANNUAL_TOTAL
    assert payload["stated_total"]["potential_ratio"] == pytest.approx(0.18)
    text = costs_text(summary)
    assert f"${MONTHLY_TOTAL:,}" in text and f"${ANNUAL_TOTAL:,}" in text
    assert "Total: optimisation potential (weighted by cost) stated 18%, computed 15.0%" in text


# --- cells --------------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "amount", "currency"), [
    pytest.param("$12,450", "12450", "USD", id="dollars with a thousands comma"),
    pytest.param("**$33,060**", "33060", "USD", id="bold"),
    pytest.param("12450.50", "12450.50", None, id="a plain number"),
    pytest.param("€1,200", "1200", "EUR", id="euros"),
    pytest.param("1200 GBP", "1200", "GBP", id="a code after"),
    pytest.param("CHF 900", "900", "CHF", id="a code before"),
])
def test_amounts_are_read_exactly_with_their_currency(cell, amount, currency):
    assert parse_money(cell) == (Decimal(amount), currency)


@pytest.mark.parametrize("cell", ["lots", "-5", "12,45", "$1.2e3", "€5 USD", "nan"])
def test_anything_else_is_not_an_amount(cell):
    with pytest.raises(ValueError):
        parse_money(cell)


@pytest.mark.parametrize(("cell", "ratio", "note"), [
    pytest.param("15% (reserved instances)", Decimal("0.15"), "reserved instances",
                 id="a percentage with a note"),
    pytest.param("**18% overall**", Decimal("0.18"), "overall", id="trailing words"),
    pytest.param("Minimal", Decimal(0), "Minimal", id="minimal is nothing to gain"),
    pytest.param("n/a", None, "", id="not available is unknown"),
    pytest.param("", None, "", id="empty is unknown"),
])
def test_potentials_are_percentages_words_or_unknown(cell, ratio, note):
    assert parse_potential(cell)[:2] == (ratio, note)


@pytest.mark.parametrize("cell", ["plenty", "150%", "0.15"])
def test_a_potential_must_say_percent(cell):
    with pytest.raises(ValueError):
        parse_potential(cell)


# --- errors --------------------------------------------------------------------------------


def test_every_bad_cell_of_a_file_is_reported_at_once_with_file_line_and_field():
    with pytest.raises(InputErrors) as caught:
        read_costs(DATA / "broken.csv")
    where = [(e.line, e.field) for e in caught.value.errors]
    assert where == [(2, "row"), (3, "monthly_cost"), (4, "monthly_cost"), (5, "monthly_cost"),
                     (6, "monthly_cost"), (7, "optimization_potential"), (8, "component")]
    lines = str(caught.value).splitlines()
    assert lines[1] == (f"{DATA / 'broken.csv'}:3: monthly_cost: expected an amount such as "
                        "$12,450 or 12450.00, got 'lots'")
    assert lines[-1].endswith("component: 'Database (RDS)' is already on line 3")


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("component,montly_cost\nA,1\n", "c.csv:1: header: unknown column "
                 "'montly_cost'", id="a misspelt column"),
    pytest.param("component,potential\nA,1%\n", "c.csv:1: header: missing column(s) "
                 "monthly_cost", id="a missing column"),
    pytest.param("component,monthly_cost\nA,$1\nB,€2\n", "c.csv:3: monthly_cost: EUR here but "
                 "USD on line 2", id="two currencies"),
    pytest.param("component,monthly_cost,currency\nA,1,USD\nB,2,EUR\n", "c.csv:3: currency: "
                 "EUR here but USD on line 2", id="two currencies in the currency column"),
    pytest.param("component,monthly_cost\nTotal,1\nTotal,1\nA,1\n", "c.csv:3: component: a "
                 "second Total row", id="two total rows"),
    pytest.param("component,monthly_cost\n,1\n", "c.csv:2: component: component name is "
                 "missing", id="a nameless line"),
])
def test_bad_csv_names_file_line_and_field(text, message):
    with pytest.raises(InputError) as caught:
        parse_cost_csv(text, source="c.csv")
    assert message in str(caught.value)


def test_a_markdown_document_without_a_cost_table_is_refused():
    with pytest.raises(InputError, match=r"c\.md: no cost table"):
        parse_cost_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n", source="c.md")


def test_a_bad_markdown_cell_names_its_line():
    text = "| Component | Monthly Cost |\n|---|---|\n| A | $1 |\n| B | ten |\n"
    with pytest.raises(InputError, match=r"c.md:4: monthly_cost: expected an amount"):
        parse_cost_markdown(text, source="c.md")


def test_tables_inside_a_four_backtick_fence_are_examples_and_the_table_after_is_read():
    table = read_costs(AFTER_FENCE)
    # The fixture's real table, by hand: two lines after the fence; the fenced $99,999 and
    # $88,888 examples are not costs.
    assert {x.component: x.monthly_cost for x in table.lines} == {
        "Object storage": Decimal(1_250), "Block storage": Decimal(730)}
    assert summarize_costs(table).monthly_total == 1_250 + 730


def test_a_currency_in_a_header_applies_to_its_table():
    text = "| Component | Monthly Cost (EUR) |\n|---|---|\n| A | 1,000 |\n"
    assert parse_cost_markdown(text, source="c.md").currency == "EUR"


def test_monthly_active_users_must_be_positive(platform):
    with pytest.raises(ValueError, match="monthly active users"):
        summarize_costs(platform, mau=0)


# --- OpenCost ------------------------------------------------------------------------------


def test_an_allocation_response_sums_each_key_over_its_steps():
    table = parse_allocation(OPENCOST.read_text(), source="opencost")
    costs = {x.component: x.monthly_cost for x in table.lines}
    # Day 1 plus day 2 of the fixture, per aggregate key.
    assert costs == {"checkout": Decimal("1.75") + Decimal("2.25"),
                     "__idle__": Decimal("1.2") + Decimal("0.8")}
    assert table.window == (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC))


def test_opencost_potential_is_the_unused_share_of_requests_weighted_by_cost():
    checkout, idle = parse_allocation(OPENCOST.read_text(), source="opencost").lines
    efficiency = (0.47 * 1.75 + 0.55 * 2.25) / (1.75 + 2.25)
    assert float(checkout.potential_ratio) == pytest.approx(1 - efficiency)
    assert idle.potential_ratio is None  # idle capacity has no efficiency of its own


@pytest.mark.parametrize(("payload", "message"), [
    pytest.param({"code": 200, "data": [{"a": {"totalCost": None}}]},
                 "oc: data[0].a.totalCost: expected a cost from 0 to 1e15, got None",
                 id="NaN written as null"),
    pytest.param({"code": 200, "data": [{"a": {"totalCost": -1}}]},
                 "oc: data[0].a.totalCost: expected a cost from 0 to 1e15, got -1",
                 id="a negative cost"),
    pytest.param({"code": 500, "message": "boom"}, "oc: code: OpenCost answered code 500: boom",
                 id="an error answer"),
    pytest.param({"code": 200, "data": [{}]}, "oc: data: no allocations", id="nothing"),
    pytest.param("{not json", "oc:1: not JSON", id="not JSON"),
])
def test_bad_allocation_responses_name_the_field(payload, message):
    with pytest.raises(InputError) as caught:
        parse_allocation(payload, source="oc")
    assert str(caught.value).startswith(message)


class _Server(SimpleNamespace):
    url: str
    requests: list[tuple[str, dict[str, list[str]]]]
    responses: dict[str, tuple[int, bytes]]


@pytest.fixture
def opencost() -> Iterator[_Server]:
    """A stand-in OpenCost on a free loopback port, answering what the test puts in
    `responses` (path -> status, body) and recording each request."""
    state = _Server(requests=[], responses={})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            state.requests.append((url.path, parse_qs(url.query)))
            status, body = state.responses.get(url.path, (404, b"no such path"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_fetching_asks_opencost_for_the_whole_month_accumulated(opencost):
    opencost.responses["/allocation"] = (200, OPENCOST.read_bytes())
    with httpx.Client(base_url=opencost.url, timeout=5) as client:
        payload = fetch_allocation(client, month=JANUARY, aggregate="namespace")
    assert payload == json.loads(OPENCOST.read_text())
    path, query = opencost.requests[0]
    assert path == "/allocation"
    assert query == {"window": ["2024-01-01T00:00:00Z,2024-02-01T00:00:00Z"],
                     "aggregate": ["namespace"], "accumulate": ["true"]}


@pytest.mark.parametrize(("response", "reason"), [
    pytest.param((500, b"internal error"), "HTTP 500: internal error", id="an HTTP error"),
    pytest.param((200, b"<html>"), "not JSON", id="not JSON"),
])
def test_a_failing_opencost_is_a_source_unavailable_naming_its_url(opencost, response, reason):
    opencost.responses["/allocation"] = response
    with httpx.Client(base_url=opencost.url, timeout=5) as client, pytest.raises(
            SourceUnavailable, match=reason) as caught:
        fetch_allocation(client, month=JANUARY)
    assert caught.value.source == f"OpenCost {opencost.url}/allocation"


def test_an_opencost_that_does_not_answer_is_a_source_unavailable():
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2) as client, \
            pytest.raises(SourceUnavailable):
        fetch_allocation(client, month=JANUARY)


# --- the store, on SQLite and PostgreSQL ---------------------------------------------------


def stored(engine):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(COST_LINES).order_by(
            COST_LINES.c.source, COST_LINES.c.month, COST_LINES.c.component))]


def write(engine, table, month=JANUARY):
    with engine.begin() as conn:
        return store_cost_lines(conn, table, month=month)


def test_lines_are_stored_with_exact_cents_and_their_potential(engine, platform):
    result = write(engine, platform)
    assert (result.inserted, result.updated, result.deleted) == (len(MONTHLY), 0, 0)
    rows = {r.component: r for r in map(lambda t: SimpleNamespace(
        **dict(zip(COST_LINES.c.keys(), t, strict=True))), stored(engine))}
    assert {name: Decimal(str(r.monthly_cost)) for name, r in rows.items()} == {
        name: Decimal(cost) for name, cost in MONTHLY.items()}
    compute = rows["Compute (EC2)"]
    assert (compute.month, compute.currency, compute.potential_ratio, compute.potential_note) == (
        JANUARY, "USD", pytest.approx(POTENTIAL["Compute (EC2)"] / 100), "reserved capacity")


@pytest.mark.parametrize("mau", [None, 1_000_000])
def test_the_stated_figures_come_back_from_the_store_with_the_same_flags(engine, platform, mau):
    """The document's Total row (18% overall, where the lines give 15.0%) and its stated
    per-line cells are kept with the lines, so the API and the Cost page flag what
    `apollo costs FILE` flags; read back, the summary equals the parsed file's."""
    write(engine, platform)
    with engine.connect() as conn:
        (table,) = tables_from_rows(document_rows.cost_rows(conn, JANUARY),
                                    document_rows.stated_totals(conn, JANUARY))
    assert table.stated_total == platform.stated_total
    assert [(x.line, x.stated_annual, x.stated_per_user) for x in table.lines] == [
        (x.line, x.stated_annual, x.stated_per_user) for x in platform.lines]
    from_store, from_file = summarize_costs(table, mau=mau), summarize_costs(platform, mau=mau)
    assert from_store.flags == from_file.flags
    assert any(f.field == "optimization_potential" and f.kind == "mismatch" and f.stated == "18%"
               for f in from_store.flags), from_store.flags


def test_a_table_without_a_total_row_drops_the_stored_one(engine, platform):
    write(engine, platform)
    write(engine, CostTable(platform.source, platform.currency, platform.lines))
    with engine.connect() as conn:
        assert document_rows.stated_totals(conn, JANUARY) == []


def test_writing_the_same_table_again_changes_nothing(engine, platform):
    write(engine, platform)
    before = stored(engine)
    assert not write(engine, read_costs(PLATFORM_MD)).changed
    assert stored(engine) == before


def test_a_source_month_is_replaced_and_other_months_and_sources_are_kept(engine, platform,
                                                                         tmp_path):
    write(engine, platform)
    write(engine, platform, month=date(2024, 2, 1))
    write(engine, parse_cost_csv("component,monthly_cost\nA,1\n", source="other"))
    changed = tmp_path / "platform.csv"
    changed.write_text(PLATFORM_CSV.read_text().replace("Monitoring,1200", "Monitoring,1300")
                       .replace("Data Transfer,4500,30% (keep traffic in region),USD\n", ""))
    table = read_costs(changed)
    result = write(engine, CostTable(str(PLATFORM_MD), table.currency, table.lines))
    # a line is rewritten when anything kept of it differs: its cost (Monitoring), or where
    # the file states it (the CSV's rows are not the markdown's)
    before = {x.component: x for x in platform.lines}
    differ = sum(1 for x in table.lines
                 if (x.monthly_cost, x.line, x.stated_annual, x.stated_per_user)
                 != (before[x.component].monthly_cost, before[x.component].line,
                     before[x.component].stated_annual, before[x.component].stated_per_user))
    assert differ >= 1
    assert (result.inserted, result.updated, result.deleted) == (0, differ, 1)
    per_key = {}
    for row in stored(engine):
        per_key[(row[1], row[2])] = per_key.get((row[1], row[2]), 0) + 1
    assert per_key == {(str(PLATFORM_MD), JANUARY): len(MONTHLY) - 1,
                       (str(PLATFORM_MD), date(2024, 2, 1)): len(MONTHLY), ("other", JANUARY): 1}


def test_a_month_is_its_first_day(engine, platform):
    with pytest.raises(ValueError, match="first day of a month"):
        write(engine, platform, month=date(2024, 1, 15))
    assert parse_month("2024-01") == JANUARY


def test_collecting_a_file_returns_a_run(engine):
    run = collect_cost_file(engine, PLATFORM_MD, month=JANUARY, source="platform")
    assert (run.collector, run.status, run.samples) == ("costs", "ok", len(MONTHLY))
    failed = collect_cost_file(engine, DATA / "broken.csv", month=JANUARY)
    assert failed.status == "failed" and len(failed.errors) == 7


def test_collecting_opencost_stores_its_lines_and_reports_the_days_not_covered(engine,
                                                                              opencost):
    opencost.responses["/allocation"] = (200, OPENCOST.read_bytes())
    with httpx.Client(base_url=opencost.url, timeout=5) as client:
        run = collect_opencost(engine, client, month=JANUARY)
    assert (run.status, run.samples) == ("ok", 2)
    assert run.target == f"opencost:{opencost.url}?aggregate=namespace"
    # The fixture covers 1-3 January; the rest of the month is a gap.
    covered_to = datetime(2024, 1, 3, tzinfo=UTC).timestamp()
    assert run.gaps == [{"start": covered_to, "end": datetime(2024, 2, 1, tzinfo=UTC).timestamp()}]
    assert {row[3] for row in stored(engine)} == {"checkout", "__idle__"}


def test_collecting_from_a_failing_opencost_is_a_failed_run(engine, opencost):
    opencost.responses["/allocation"] = (503, b"starting")
    with httpx.Client(base_url=opencost.url, timeout=5) as client:
        run = collect_opencost(engine, client, month=JANUARY)
    assert run.status == "failed" and "HTTP 503" in run.errors[0]
    assert stored(engine) == []
