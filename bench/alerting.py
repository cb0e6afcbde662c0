"""Alerting benchmarks (issue 8): time to page against Prometheus + Alertmanager, and the outbox.

Run: .venv/bin/python bench/alerting.py [--part page|outbox|both] [--runs 3]
     [--history-days 1] [--warmup 150] [--sides both|apollo|prometheus] [--keep]
     [--transitions 10000] [--paced-rate 500] [--skip-pg] [--pg-url URL] [--json FILE]

page   The same error burst (20% errors on payment-service; SLO availability, 99.9%) seen
       side by side in one run by (a) Apollo: the demo fleet -> `apollo collect --every 15s`
       (alert evaluation after each round, its delivery worker) -> a webhook notifier -> a
       recording sink, and (b) a real Prometheus 2.42 scraping the same fleet every 15 s with
       the rules `apollo slo rules` exports, evaluating every 30 s -> a real Alertmanager
       0.25 (group_wait 1s, group_interval 1s, send_resolved) -> the same sink. Both have
       `--history-days` of clean history first (Apollo: `write_history`; Prometheus: the
       same counters backfilled with promtool). Per run: seconds from the fault's start to
       the first firing page at the sink for each, the mathematical earliest (both windows
       of a page pair over their threshold on the fleet's true counts, bench/alerting_truth),
       then the burst is cleared and clear -> resolved is measured the same way. A run takes
       ~15 minutes; each run starts from fresh stores, so runs do not see each other's
       burst. See bench/alerting_page.py.
outbox 10,000 transitions enqueued into the outbox and delivered by DeliveryWorker to a local
       sink (its own process) on loopback: deliveries/s and p50/p99 enqueue-to-delivery
       (sink receive time - row created_at), with a healthy sink and one failing every other
       request, on SQLite and PostgreSQL. See bench/alerting_outbox.py.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402

PAGE_TARGET_S = 60.0  # Apollo within 60 s of the mathematical earliest


def version_of(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return (done.stdout or done.stderr).split("\n")[0].split(" (")[0]
    except (OSError, subprocess.SubprocessError):
        return "unavailable"


def machine() -> list[str]:
    return [machine_line(),
            f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"{version_of(['prometheus', '--version'])}, "
            f"{version_of(['prometheus-alertmanager', '--version'])}"]


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def med(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def f1(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


# --- page ------------------------------------------------------------------------------------


def bench_page(args: argparse.Namespace) -> list[Any]:
    from bench.alerting_page import dump, load, one_run, progress

    if args.from_json:  # the report again, from runs saved with --json
        return [load(line) for line in Path(args.from_json).read_text().splitlines() if line]
    results = []
    for k in range(args.runs):
        phase = (args.phase + 60.0 * k / args.runs) % 60
        progress(f"time to page: run {k + 1} of {args.runs} (fault at second {phase:.0f})")
        result = one_run(k, phase, args)
        results.append(result)
        if args.json:
            with Path(args.json).open("a") as f:
                f.write(dump(result) + "\n")
    return results


def report_page(results: list[Any], args: argparse.Namespace) -> list[str]:
    lines = [
        f"time to page: payment-service availability (99.9%, 30d, GOOGLE_30D page pairs 5m/1h "
        f"x14.4 and 30m/6h x6), a 20% error burst; {args.history_days:g} day(s) of clean "
        f"history on both sides; scrape 15 s; Prometheus evaluation 30 s; Alertmanager "
        f"group_wait 1s, group_interval 1s; sides: {args.sides}",
        "  seconds from the fault's start to the first firing page at the sink (resolve: from "
        "the clear to the resolved notification)",
        "",
        f"  {'run':>3} {'at :ss':>6} | {'earliest':>8} {'pair':>6} {'(a) Apollo':>10} "
        f"{'(b) Prom+AM':>11} {'(a)-earl':>8} {'(a)-(b)':>7} | {'res. earl':>9} "
        f"{'(a) Apollo':>10} {'(b) Prom+AM':>11} {'(a)-earl':>8} {'(a)-(b)':>7}",
    ]
    rows: dict[str, list[float | None]] = {k: [] for k in (
        "earliest", "a", "b", "a-e", "a-b", "r_earliest", "ra", "rb", "ra-e", "ra-b")}
    for r in results:
        t = r.truth
        e = t.to_fire if t else None
        a, b = r.since_start(r.apollo_page), r.since_start(r.prom_page)
        re_ = t.to_resolve if t else None
        ra, rb = r.since_end(r.apollo_resolve), r.since_end(r.prom_resolve)
        values = {"earliest": e, "a": a, "b": b, "a-e": sub(a, e), "a-b": sub(a, b),
                  "r_earliest": re_, "ra": ra, "rb": rb, "ra-e": sub(ra, re_),
                  "ra-b": sub(ra, rb)}
        for key, v in values.items():
            rows[key].append(v)
        lines.append(
            f"  {r.index + 1:>3} {r.phase_s:>6.0f} | {f1(e):>8} {(t.fire_pair if t else ''):>6} "
            f"{f1(a):>10} {f1(b):>11} {f1(values['a-e']):>8} {f1(values['a-b']):>7} | "
            f"{f1(re_):>9} {f1(ra):>10} {f1(rb):>11} {f1(values['ra-e']):>8} "
            f"{f1(values['ra-b']):>7}")
    m = {k: med(v) for k, v in rows.items()}
    lines.append(
        f"  {'med':>3} {'':>6} | {f1(m['earliest']):>8} {'':>6} {f1(m['a']):>10} {f1(m['b']):>11} "
        f"{f1(m['a-e']):>8} {f1(m['a-b']):>7} | {f1(m['r_earliest']):>9} {f1(m['ra']):>10} "
        f"{f1(m['rb']):>11} {f1(m['ra-e']):>8} {f1(m['ra-b']):>7}")
    lines.append("")
    both = args.sides == "both"

    def vs_prom(a: float | None, b: float | None, key: str) -> str:
        """On the medians of each side; and in how many runs Apollo was no later."""
        if not both or a is None or b is None:
            return verdict(None)
        diffs = [d for d in rows[key] if d is not None]
        return (f"{verdict(a <= b)} (no later in {sum(d <= 0 for d in diffs)} of "
                f"{len(diffs)} runs)")

    def vs_earliest(diff: float | None) -> str:
        return verdict(None if diff is None else diff <= PAGE_TARGET_S)

    prom_page = med(sub_all(rows["b"], rows["earliest"]))
    prom_resolve = med(sub_all(rows["rb"], rows["r_earliest"]))
    lines += [
        f"  target: Apollo's page no later than Prometheus+AM (median): "
        f"{f1(m['a'])} vs {f1(m['b'])} s  {vs_prom(m['a'], m['b'], 'a-b')}",
        f"  target: Apollo's page within {PAGE_TARGET_S:.0f} s of the mathematical earliest "
        f"(median): +{f1(m['a-e'])} s  {vs_earliest(m['a-e'])}",
        f"  target: Apollo's resolve no later than Prometheus+AM (median): "
        f"{f1(m['ra'])} vs {f1(m['rb'])} s  {vs_prom(m['ra'], m['rb'], 'ra-b')}",
        f"  target: Apollo's resolve within {PAGE_TARGET_S:.0f} s of the mathematical earliest "
        f"(median): +{f1(m['ra-e'])} s  {vs_earliest(m['ra-e'])}",
        f"  Prometheus+AM against the earliest (median): page +{f1(prom_page)} s, "
        f"resolve +{f1(prom_resolve)} s",
    ]
    lines.append("")
    lines += detail_lines(results)
    return lines


def sub_all(a: list[float | None], b: list[float | None]) -> list[float | None]:
    return [sub(x, y) for x, y in zip(a, b, strict=True)]


def detail_lines(results: list[Any]) -> list[str]:
    """Where each side's seconds went, per run."""
    lines = ["  where the time went (seconds after the fault's start; resolve: after the clear):"]
    for r in results:
        t = r.truth
        ratios = ", ".join(f"{k} {v:.4f}" for k, v in (t.ratios_at_fire if t else {}).items())
        lines.append(f"  run {r.index + 1}: fault at "
                     f"{time.strftime('%H:%M:%S', time.gmtime(r.fault_start))} UTC for "
                     f"{f1(sub(r.fault_end, r.fault_start))} s; true ratios at the earliest "
                     f"page: {ratios}")
        if r.fleet_check:
            fc = r.fleet_check
            lines.append(f"    fleet's own 5xx count vs true: {fc['fleet_5xx']:.0f} vs "
                         f"{fc['true_5xx']:.0f} ({fc['excess_s']:+.1f} s of the burst)")
        fire_at = t.fire_at if t else None
        resolve_at = t.resolve_at if t else None
        pd = r.prom_detail
        starts = iso_seconds((pd.get("page") or {}).get("startsAt") or "")
        if starts is not None:
            lines.append(f"    (b) page: Prometheus's alert active (startsAt) "
                         f"{sign(sub(starts, fire_at))} s after the earliest, at the sink "
                         f"{sign(sub(r.prom_page, starts))} s after that")
        ends = iso_seconds((pd.get("resolve") or {}).get("endsAt") or "")
        if ends is not None:
            lines.append(f"    (b) resolve: Prometheus's alert inactive (endsAt) "
                         f"{sign(sub(ends, resolve_at))} s after the earliest, at the sink "
                         f"{sign(sub(r.prom_resolve, ends))} s after that")
        ad = r.apollo_detail
        for tr in ad.get("transitions", []):
            if "availability" not in str(tr.get("slo")) or tr.get("severity") != "page":
                continue
            sent = [o for o in ad.get("outbox", []) if o["transition"] == tr["id"]
                    and o["kind"] == "transition"]
            ref = fire_at if tr["to"] == "firing" else resolve_at
            at_sink = r.apollo_page if tr["to"] == "firing" else r.apollo_resolve
            what = "page" if tr["to"] == "firing" else "resolve"
            if not sent:
                lines.append(f"    (a) {what}: the instant judged (the transition's `at`) "
                             f"{sign(sub(tr['at'], ref))} s after the earliest; no outbox row")
                continue
            o = sent[0]
            lines.append(
                f"    (a) {what}: the instant judged (the transition's `at`: the data's end) "
                f"{sign(sub(tr['at'], ref))} s after the earliest, outbox row written "
                f"{sign(sub(o['created_at'], tr['at']))} s after that, sent "
                f"{sign(sub(o['sent_at'], o['created_at']))} s later ({o['attempts']} "
                f"attempt(s)); at the sink {sign(sub(at_sink, tr['at']))} s after the instant "
                "judged")
        if ad.get("first_scrape") is not None:
            lines.append(f"    (a) first scrape {str(ad['first_scrape'])[11:19]} UTC (so scrapes "
                         f"at :{str(ad['first_scrape'])[17:19]} +15k s), history written to "
                         f"{time.strftime('%H:%M:%S', time.gmtime(ad['seam']))} UTC")
        if ad.get("error"):
            lines.append(f"    (a) store detail: {ad['error']}")
        for note in r.notes:
            lines.append(f"    note: {note}")
    return lines


def sign(x: float | None) -> str:
    return "—" if x is None else f"{x:+.1f}"


def iso_seconds(text: str) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=("page", "outbox", "both"), default="both")
    parser.add_argument("--runs", type=int, default=3, help="page: runs (median reported)")
    parser.add_argument("--history-days", type=float, default=1.0,
                        help="page: clean history on both sides (>= 6h + the warm-up)")
    parser.add_argument("--warmup", type=float, default=150.0,
                        help="page: seconds of live collection before the fault")
    parser.add_argument("--phase", type=float, default=10.0,
                        help="page: second of the minute run 1's fault starts at; later runs "
                             "spread over the minute")
    parser.add_argument("--page-timeout", type=float, default=900.0)
    parser.add_argument("--resolve-timeout", type=float, default=900.0)
    parser.add_argument("--sides", choices=("both", "apollo", "prometheus"), default="both")
    parser.add_argument("--seed", type=int, default=42, help="the fleet's seed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs (logs)")
    parser.add_argument("--json", help="append each page run as a JSON line to this file")
    parser.add_argument("--from-json", help="page: no runs, the report of runs saved with --json")
    parser.add_argument("--transitions", type=int, default=10_000, help="outbox: rows")
    parser.add_argument("--skip-pg", action="store_true", help="outbox: SQLite only")
    parser.add_argument("--pg-url", help="outbox: an existing PostgreSQL (may CREATE DATABASE)")
    parser.add_argument("--paced-rate", type=float, default=500.0,
                        help="outbox, paced: rows a second written while the worker runs")
    parser.add_argument("--paced-batch", type=int, default=25,
                        help="outbox, paced: rows a transaction")
    parser.add_argument("--outbox-timeout", type=float, default=180.0,
                        help="outbox: seconds a case may take to drain")
    args = parser.parse_args(argv)
    if args.history_days * 24 < 6.5:
        parser.error("--history-days: at least 6.5 hours (the 6h window and a margin)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    out: list[str] = []
    if args.part in ("page", "both"):
        results = bench_page(args)
        out += ["", *report_page(results, args)]
    if args.part in ("outbox", "both"):
        from bench.alerting_outbox import bench_outbox, report_outbox

        out += ["", *report_outbox(bench_outbox(args), args)]
    print("\n".join(machine()))
    print("\n".join(out))
    print(f"\ntotal wall time {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
