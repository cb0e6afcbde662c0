"""Time to page, side by side in one run: bench/alerting.py --part page (see its docstring).

One run, all in fresh temp dirs:
1. a recording sink; the demo fleet (payment-service alone) in this process;
2. Apollo's store: migrated, `write_history` of `--history-days` ending at a minute
   boundary M about 100 s ahead; then `apollo collect --every 15s` in a subprocess with its
   own config (the fleet's page as its one target, the SLO file, a webhook notifier to the
   sink). Its first scrape comes before M - 60, so it writes minute M-1 itself (the same
   row the history wrote ahead, same instance: an upsert of equal counts) and the store has
   no gap at the seam (a collector's first, partial minute is never written);
3. Prometheus: `--history-days` of the fleet's counters before the live fleet started,
   backfilled with promtool (see alerting_prom.py), the rules `apollo slo rules` exports,
   scrape 15 s, evaluation 30 s; Alertmanager with group_wait 1 s, group_interval 1 s,
   a webhook receiver to the sink, send_resolved;
4. warm-up, then a 20% error burst on payment-service through the fleet's control API at a
   set second of the minute (spread over the runs); when both pages arrived (or the wait
   ran out) the burst is cleared; then both resolves are awaited.
Every wait is bounded; every process is stopped in `finally`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import text

from bench.alerting_prom import am_alerts, backfill, check_rules, write_backfill
from bench.alerting_sink import Received, Sink
from bench.alerting_truth import Truth, earliest

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "payment-service"
SLO_FILE = ROOT / "slos" / f"{SERVICE}.yaml"
SLO_NAME = "availability"
FAULT_RATE = 0.2
SCRAPE = "15s"
EVALUATION = "30s"


def progress(message: str) -> None:
    print(f"  … {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


@dataclass
class RunResult:
    index: int
    phase_s: float  # second of the minute the fault started at
    fault_start: float = math.nan
    fault_end: float | None = None
    apollo_page: float | None = None  # sink receive times
    prom_page: float | None = None
    apollo_resolve: float | None = None
    prom_resolve: float | None = None
    truth: Truth | None = None
    notes: list[str] = field(default_factory=list)
    apollo_detail: dict[str, Any] = field(default_factory=dict)
    prom_detail: dict[str, Any] = field(default_factory=dict)
    fleet_check: dict[str, float] = field(default_factory=dict)

    def since_start(self, t: float | None) -> float | None:
        return None if t is None else t - self.fault_start

    def since_end(self, t: float | None) -> float | None:
        return None if t is None or self.fault_end is None else t - self.fault_end


# --- what reached the sink -------------------------------------------------------------------


def _messages(body: Any) -> list[dict[str, Any]]:
    """Alert-like objects in an Apollo webhook body: dicts with a status and a severity
    (the body itself, or inside lists such as `alerts` / `messages`)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 4:
            return
        if isinstance(node, dict):
            if "status" in node and ("severity" in node or "labels" in node):
                found.append(node)
                return
            for value in node.values():
                if isinstance(value, list | dict):
                    walk(value, depth + 1)
        elif isinstance(node, list):
            for item in node:
                walk(item, depth + 1)

    walk(body, 0)
    return found


def _is_page(message: dict[str, Any], alertname: str, slo_id: str) -> bool:
    labels = message.get("labels") or {}
    severity = message.get("severity") or labels.get("severity")
    name = message.get("name") or labels.get("alertname")
    slo = str(message.get("slo") or labels.get("slo") or labels.get("sloth_id") or "")
    return severity == "page" and (name == alertname or slo in (slo_id, SLO_NAME)) \
        and message.get("kind", "transition") in ("transition", "repost", "repeat")


def apollo_times(records: list[Received], alertname: str, slo_id: str, since: float
                 ) -> tuple[float | None, float | None]:
    """First firing page at or after `since`, and the first resolved page after it."""
    fired = resolved = None
    for r in records:
        if r.path != "/apollo" or r.t < since or r.status != 200:
            continue
        for m in _messages(r.body):
            if not _is_page(m, alertname, slo_id):
                continue
            if m.get("status") == "firing" and fired is None:
                fired = r.t
            elif m.get("status") == "resolved" and fired is not None and resolved is None:
                resolved = r.t
    return fired, resolved


def prom_times(records: list[Received], alertname: str, since: float
               ) -> tuple[float | None, float | None, dict[str, Any]]:
    fired = resolved = None
    detail: dict[str, Any] = {}
    for r in records:
        if r.path != "/prometheus" or r.t < since:
            continue
        for a in am_alerts(r.body, alertname, "page"):
            if a.get("status") == "firing" and fired is None:
                fired = r.t
                detail["startsAt"] = a.get("startsAt")
            elif a.get("status") == "resolved" and fired is not None and resolved is None:
                resolved = r.t
                detail["endsAt"] = a.get("endsAt")
    return fired, resolved, detail


# --- the Apollo side -------------------------------------------------------------------------


def service_config(slug: str) -> dict[str, Any]:
    """The service's block from the bundled example config (its baseline drives the fleet)."""
    example = yaml.safe_load((ROOT / "apollo.example.yaml").read_text())
    return next(s for s in example["services"] if s["slug"] == slug)


def apollo_config(workdir: Path, target_url: str, sink_url: str, seed: int) -> Path:
    config = {
        "data_dir": str(workdir / "apollo"),
        "services": [service_config(SERVICE)],
        "sources": {"scrape": {"interval": SCRAPE, "targets": [
                        {"service": SERVICE, "url": target_url}]},
                    "roadmap": {"files": []}, "costs": {"files": []}},
        "slo_files": [str(SLO_FILE)],
        "notifiers": [{"name": "sink", "kind": "webhook", "url": f"{sink_url}/apollo"}],
        "fleet": {"seed": seed, "events": {"enabled": False}},
    }
    path = workdir / "apollo.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def apollo_binary() -> str:
    return str(Path(sys.executable).parent / "apollo")


def start_collect(config: Path, workdir: Path) -> subprocess.Popen[bytes]:
    log = (workdir / "collect.log").open("ab")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APOLLO_")}
    env["APOLLO_CONFIG"] = str(config)
    try:
        return subprocess.Popen([apollo_binary(), "--config", str(config), "collect", "--every",
                                 SCRAPE], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                start_new_session=True)
    finally:
        log.close()


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    with _suppress():
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with _suppress():
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, *_: Any) -> bool:
        return kind is not None and issubclass(kind, ProcessLookupError | PermissionError)


def apollo_store_detail(store_url: str, slo_id: str, since: float) -> dict[str, Any]:
    """From Apollo's store after the run: the page's transitions (when the evaluator decided)
    and their outbox rows (when written, when sent), and the first scrape's time."""
    from services.store.engine import make_engine

    engine = make_engine(store_url)
    out: dict[str, Any] = {}
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT t.at, t.from_state, t.to_state, t.burn_rates, a.severity, a.slo, "
                "a.name, t.id FROM alert_transitions t JOIN alerts a ON a.id = t.alert_id "
                "WHERE t.at >= :since ORDER BY t.at"), {"since": since - 120}).all()
            out["transitions"] = [
                {"at": r[0], "from": r[1], "to": r[2], "burn_rates": r[3], "severity": r[4],
                 "slo": r[5], "name": r[6], "id": r[7]} for r in rows]
            ids = [t["id"] for t in out["transitions"]]
            if ids:
                outbox = conn.execute(text(
                    "SELECT transition_id, kind, created_at, sent_at, attempts, status "
                    f"FROM notification_outbox WHERE transition_id IN ({','.join(map(str, ids))})"
                    " ORDER BY created_at")).all()
                out["outbox"] = [{"transition": r[0], "kind": r[1], "created_at": r[2],
                                  "sent_at": r[3], "attempts": r[4], "status": r[5]}
                                 for r in outbox]
            first = conn.execute(text(
                "SELECT min(started_at) FROM collector_runs WHERE collector = 'scrape'")).scalar()
            out["first_scrape"] = first
    except Exception as exc:  # the schema may still move; the detail is only a detail
        out["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    finally:
        engine.dispose()
    return out


# --- one run ---------------------------------------------------------------------------------


def wait_for(check: Callable[[], bool], deadline: float, poll: float = 0.5) -> bool:
    while True:
        if check():
            return True
        if time.time() >= deadline:
            return False
        time.sleep(poll)


def sleep_until(t: float) -> None:
    while (left := t - time.time()) > 0:
        time.sleep(min(left, 1.0))


def one_run(index: int, phase_s: float, args: Any) -> RunResult:
    sys.path.insert(0, str(ROOT / "tests"))
    from harness.servers import start_alertmanager, start_prometheus

    from services.config import load_settings
    from services.files import load_slo_files
    from services.fleet.runner import build_fleet, profiles
    from services.runtime.history import write_history
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    result = RunResult(index, phase_s)
    workdir = Path(tempfile.mkdtemp(prefix="apollo-bench-alerting-", dir="/tmp"))
    os.chmod(workdir, 0o755)
    sink = fleet = collect = prometheus = alertmanager = None
    sides = args.sides
    try:
        sink = Sink().start()
        # the fleet: payment-service alone, from the example config's baseline
        bootstrap = apollo_config(workdir, "http://127.0.0.1:1/metrics", sink.url, args.seed)
        settings = load_settings(bootstrap)
        fleet = build_fleet(settings)
        fleet.start()
        endpoint = fleet.endpoints[SERVICE]
        fleet_start = endpoint.simulator.started
        target = endpoint.url
        instance = target.removeprefix("http://").split("/", 1)[0]
        config = apollo_config(workdir, target, sink.url, args.seed)
        settings = load_settings(config)
        profile = next(p for p in profiles(settings) if p.slug == SERVICE)
        slo = next(s for s in load_slo_files([SLO_FILE]) if s.name == SLO_NAME)
        alertname = slo.alerting.name if getattr(slo.alerting, "name", None) else ""
        progress(f"run {index + 1}: fleet at {target}, sink {sink.url}, workdir {workdir}")

        if sides in ("both", "apollo"):
            boundary = math.ceil((time.time() + 100) / 60) * 60
            engine = make_engine(settings.store_url)
            try:
                upgrade(engine)
                started = time.perf_counter()
                history = write_history(settings, engine, days=args.history_days, end=boundary,
                                        urls=fleet.urls)
                progress(f"Apollo history: {history.minutes:,} minutes up to "
                         f"{time.strftime('%H:%M', time.gmtime(boundary))} UTC (ahead of now "
                         f"by {boundary - time.time():.0f} s) in "
                         f"{time.perf_counter() - started:.1f} s")
                if history.problems:
                    result.notes.append(f"history problems: {history.problems[:3]}")
            finally:
                engine.dispose()
            collect = start_collect(config, workdir)
            result.apollo_detail["seam"] = boundary

        if sides in ("both", "prometheus"):
            om = workdir / "history.om"
            started = time.perf_counter()
            samples, _first = write_backfill(
                om, profile, seed=args.seed, amplitude=settings.fleet.daily_amplitude,
                noise=settings.fleet.noise, end=fleet_start, days=args.history_days,
                step_s=15, job=SERVICE, instance=instance)
            backfill(om, workdir / "prometheus" / "data")
            om.unlink()
            progress(f"Prometheus backfill: {samples:,} samples, {args.history_days:g} days to "
                     f"the fleet's start, in {time.perf_counter() - started:.1f} s")
            rules = workdir / "rules.yml"
            exported = subprocess.run([apollo_binary(), "slo", "rules", str(SLO_FILE)],
                                      capture_output=True, text=True, timeout=120, cwd=ROOT,
                                      check=False)
            if exported.returncode != 0:
                raise RuntimeError(f"apollo slo rules failed: {exported.stderr[-1000:]}")
            rules.write_text(exported.stdout)
            check_rules(rules)
            alertmanager = start_alertmanager(workdir / "alertmanager",
                                              f"{sink.url}/prometheus", group_wait="1s")
            prometheus = start_prometheus(
                workdir / "prometheus",
                [{"job_name": SERVICE, "static_configs": [{"targets": [instance]}]}],
                [rules], scrape_interval=SCRAPE, evaluation_interval=EVALUATION,
                alertmanagers=[f"127.0.0.1:{alertmanager.port}"],
                extra_args=("--storage.tsdb.retention.time=30d",))
            prometheus.wait_for_targets_up(1, timeout=60)
            seen = prometheus.query(f'count(http_requests_total{{job="{SERVICE}"}})',
                                    fleet_start - 3600)["result"]
            if not seen:
                raise RuntimeError("Prometheus does not see the backfilled history")
            result.prom_detail["started"] = time.time()

        # warm-up: both sides steady, then the fault at the run's second of the minute
        ready = time.time() + args.warmup
        if collect is not None:
            ready = max(ready, result.apollo_detail["seam"] + args.warmup)
        start_at = math.floor(ready / 60) * 60 + phase_s
        if start_at < ready:
            start_at += 60
        progress(f"warm-up: fault at {time.strftime('%H:%M:%S', time.localtime(start_at))} "
                 f"(in {start_at - time.time():.0f} s)")
        while time.time() < start_at:
            if collect is not None and collect.poll() is not None:
                raise RuntimeError(f"apollo collect exited ({collect.returncode}): "
                                   f"{tail(workdir / 'collect.log')}")
            time.sleep(min(1.0, max(0.0, start_at - time.time())))
        stale = [r for r in sink.records() if r.path in ("/apollo", "/prometheus")
                 and any(m.get("status") == "firing" for m in _messages(r.body))]
        if stale:
            what = sorted({(r.path, str(m.get("name") or (m.get("labels") or {}).get("alertname")),
                            str(m.get("severity") or (m.get("labels") or {}).get("severity")))
                           for r in stale for m in _messages(r.body)
                           if m.get("status") == "firing"})
            result.notes.append(f"{len(stale)} firing notification(s) before the fault: {what}")

        with httpx.Client(base_url=fleet.control_url, timeout=5, trust_env=False) as control:
            before = time.time()
            answer = control.post(f"/faults/{SERVICE}", json={
                "kind": "error_burst", "rate": FAULT_RATE, "duration": "2h"}).json()
            fault = answer.get("fault", {})
            start = fault.get("start")
            result.fault_start = float(start) if isinstance(start, int | float) else before
            if start is None:
                result.notes.append("the fault has no start time of its own: the POST's time")
            progress(f"fault: {answer}")

            def pages() -> bool:
                records = sink.records()
                if sides != "prometheus":
                    result.apollo_page, _ = apollo_times(records, alertname, slo.id,
                                                         result.fault_start)
                if sides != "apollo":
                    result.prom_page, _, result.prom_detail["page"] = prom_times(
                        records, alertname, result.fault_start)
                return (sides == "prometheus" or result.apollo_page is not None) and \
                    (sides == "apollo" or result.prom_page is not None)

            if not wait_for(pages, result.fault_start + args.page_timeout):
                result.notes.append(f"a page did not arrive within {args.page_timeout:.0f} s")
            progress(f"pages: Apollo {fmt(result.since_start(result.apollo_page))} s, "
                     f"Prometheus+AM {fmt(result.since_start(result.prom_page))} s")
            before = time.time()
            answer = control.delete(f"/faults/{SERVICE}").json()
            end = next((f.get("until") for f in answer.get("ended") or []
                        if isinstance(f, dict) and f.get("kind") == "error_burst"), None)
            result.fault_end = float(end) if isinstance(end, int | float) else before
            if end is None:
                result.notes.append("the clear did not say when the fault ended: the DELETE's "
                                    "time")
            progress(f"cleared: {answer}")

        def resolves() -> bool:
            records = sink.records()
            if sides != "prometheus":
                _, result.apollo_resolve = apollo_times(records, alertname, slo.id,
                                                        result.fault_start)
            if sides != "apollo":
                _, result.prom_resolve, detail = prom_times(records, alertname,
                                                            result.fault_start)
                result.prom_detail["resolve"] = detail
            return (sides == "prometheus" or result.apollo_resolve is not None
                    or result.apollo_page is None) and \
                (sides == "apollo" or result.prom_resolve is not None or result.prom_page is None)

        assert result.fault_end is not None
        if not wait_for(resolves, result.fault_end + args.resolve_timeout):
            result.notes.append(f"a resolve did not arrive within {args.resolve_timeout:.0f} s")
        progress(f"resolves: Apollo {fmt(result.since_end(result.apollo_resolve))} s, "
                 f"Prometheus+AM {fmt(result.since_end(result.prom_resolve))} s")

        result.truth = earliest(slo, profile, seed=args.seed,
                                amplitude=settings.fleet.daily_amplitude,
                                noise=settings.fleet.noise, fault_start=result.fault_start,
                                fault_end=result.fault_end, fault_rate=FAULT_RATE)
        result.fleet_check = fleet_check(endpoint.simulator, profile, args.seed, settings,
                                         fleet_start, result)
        if collect is not None:
            result.apollo_detail.update(apollo_store_detail(settings.store_url, slo.id,
                                                            result.fault_start))
        result.apollo_detail["sink"] = [
            (r.t, r.path, r.status, [(m.get("status"), m.get("severity"), m.get("kind"))
                                     for m in _messages(r.body)])
            for r in sink.records() if r.path == "/apollo"]
        return result
    finally:
        stop_process(collect)
        for server in (prometheus, alertmanager):
            if server is not None:
                server.stop()
        if fleet is not None:
            fleet.stop()
        if sink is not None:
            sink.stop()
        if args.keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def fleet_check(sim: Any, profile: Any, seed: int, settings: Any, fleet_start: float,
                result: RunResult) -> dict[str, float]:
    """The live fleet's own 5xx count since it started against the true count over the
    same span: a fleet that applies a fault to traffic before it began (or drops errors at
    a clear) shows here, in seconds of the burst."""
    from bench.alerting_truth import true_counts

    with sim._lock:  # the bench reads the simulator's own accounting
        last = sim.last
        counted = float(sum(sim.requests[c].sum() for c in sim.requests if c.startswith("5")))
    _, total, bad = true_counts(profile, seed=seed, amplitude=settings.fleet.daily_amplitude,
                                noise=settings.fleet.noise, start=int(fleet_start),
                                end=math.ceil(last), fault_start=result.fault_start,
                                fault_end=result.fault_end, fault_rate=FAULT_RATE)
    # trim the whole-second grid to the simulator's own span
    head = fleet_start - int(fleet_start)
    tail_part = math.ceil(last) - last
    true_bad = float(bad.sum() - bad[0] * head - bad[-1] * tail_part)
    per_second = float(total.mean()) * (FAULT_RATE - profile.error_ratio)
    return {"fleet_5xx": counted, "true_5xx": true_bad,
            "excess_s": (counted - true_bad) / per_second if per_second else math.nan}


def tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def fmt(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def dump(result: RunResult) -> str:
    """The run as JSON (for --json; `load` reads it back for --from-json)."""
    out = {k: v for k, v in result.__dict__.items() if k != "truth"}
    if result.truth is not None:
        out["truth"] = result.truth.__dict__
    return json.dumps(out, default=str)


def load(line: str) -> RunResult:
    data = json.loads(line)
    truth = data.pop("truth", None)
    result = RunResult(**data)
    result.truth = Truth(**truth) if truth else None
    return result
