"""The outbox and its worker against a real HTTP sink: at least once, each key, in order.

The sink is really stopped and started (connections refused), workers are really killed
with SIGKILL, and two workers really share one PostgreSQL outbox.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from harness.servers import wait_until
from harness.sink import RecordingSink
from sqlalchemy import func, select
from support import Clock
from test_notifiers import pagerduty_problems, slack_problems

from services.alerting import outbox
from services.alerting.evaluate import AlertEvaluator
from services.alerting.message import AlertMessage
from services.alerting.outbox import Envelope, enqueue
from services.alerting.worker import DeliveryWorker
from services.config import AlertingConfig, Delivery, Notifier
from services.store.models import AlertTransition, DeliveryAttempt, OutboxMessage

APOLLO = str(Path(sys.executable).with_name("apollo"))
T = 1_750_000_000.0


def message(i: int, status: str = "firing") -> AlertMessage:
    return AlertMessage(key=f"fp{i}:1:{status}", fingerprint=f"fp{i}", name="PaymentsBurn",
                        status=status, severity="page", starts_at=T, slo="payments-avail",
                        service="payments", labels={"alertname": "PaymentsBurn"})  # type: ignore[arg-type]


def fill(engine, messages: list[AlertMessage], notifier: str = "hook", *, now: float = T,
         deadline_s: float = 3600, group: bool = False) -> None:
    with engine.begin() as conn:
        enqueue(conn, [Envelope(m, notifier, group_key="" if group else m.fingerprint)
                       for m in messages], now=now, deadline_s=deadline_s)


def hook(sink: RecordingSink) -> Notifier:
    return Notifier(name="hook", kind="webhook", url=f"{sink.url}/hook")


def sink_keys(sink: RecordingSink) -> Counter[str]:
    return Counter(a["key"] for r in sink.delivered() for a in r.json["alerts"])


def drain(worker: DeliveryWorker, clock: Clock | None = None, *, step_s: float = 1.0,
          until: float | None = None) -> None:
    """Deliver round after round (moving the fake clock) until nothing is due or `until`."""
    for _ in range(100_000):
        done = worker.deliver_once()
        if clock is None:
            if not done:
                return
            continue
        if until is not None and clock.now >= until:
            return
        if not done:
            clock.now += step_s


def statuses(engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(dict(outbox.counts(conn)))


def test_every_row_is_delivered_once_and_every_attempt_recorded(engine):
    with RecordingSink() as sink:
        fill(engine, [message(i) for i in range(40)])
        worker = DeliveryWorker(engine, [hook(sink)], Delivery(), clock=Clock(T))
        drain(worker)
        worker.close()
        assert sink_keys(sink) == Counter({f"fp{i}:1:firing": 1 for i in range(40)})
    assert statuses(engine) == Counter({"sent": 40})
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DeliveryAttempt)).scalar() == 40


def test_a_receiver_down_for_two_minutes_gets_every_key_once_when_back(engine):
    clock = Clock(T)
    sink = RecordingSink().start()
    sink.stop()  # down: connections are refused
    fill(engine, [message(i) for i in range(25)] + [message(i, "resolved") for i in range(5)])
    worker = DeliveryWorker(engine, [hook(sink)], Delivery(), clock=clock)
    drain(worker, clock, until=T + 120)
    assert statuses(engine) == Counter({"pending": 30})
    sink.start()
    try:
        drain(worker, clock, until=T + 600)
        keys = sink_keys(sink)
    finally:
        sink.stop()
        worker.close()
    expected = {m.key for m in [message(i) for i in range(25)]
                + [message(i, "resolved") for i in range(5)]}
    assert set(keys) == expected and set(keys.values()) == {1}
    assert statuses(engine) == Counter({"sent": 30})
    with engine.connect() as conn:  # refused tries are recorded too, with their reason
        failed = conn.execute(select(DeliveryAttempt.error).where(
            DeliveryAttempt.ok.is_(False))).scalars().all()
    assert len(failed) >= 30 * 5 and all("Connect" in e for e in failed)


def test_a_resolve_never_overtakes_its_firing(engine):
    """Trigger and resolve of one alert claimed together after an outage go in order."""
    clock = Clock(T)
    with RecordingSink() as sink:
        sink.fail_next(3)
        fill(engine, [message(1), message(1, "resolved")], group=True)
        worker = DeliveryWorker(engine, [hook(sink)], Delivery(), clock=clock)
        drain(worker, clock, until=T + 300)
        worker.close()
        order = [a["status"] for r in sink.delivered() for a in r.json["alerts"]]
    assert order == ["firing", "resolved"]


def test_past_its_deadline_a_message_is_a_dead_letter(engine):
    clock = Clock(T)
    sink = RecordingSink().start()
    sink.stop()
    fill(engine, [message(i) for i in range(3)], deadline_s=60)
    worker = DeliveryWorker(engine, [hook(sink)], Delivery(), clock=clock)
    drain(worker, clock, until=T + 300)
    worker.close()
    assert statuses(engine) == Counter({"dead": 3})
    with engine.connect() as conn:
        errors = conn.execute(select(OutboxMessage.last_error)).scalars().all()
    assert all("ConnectError" in e for e in errors)


def test_the_whole_chain_with_slack_pagerduty_and_webhook(engine, monkeypatch):
    """Minutes in the store -> evaluator -> outbox -> worker -> three receivers; every
    notifying transition reaches each receiver under its key, in order, in the documented
    shapes."""
    from test_alert_evaluation import SLO_SPEC, T0, bursty_series, transitions, write_minutes

    with RecordingSink() as sink:
        monkeypatch.setenv("TEST_SLACK_URL", f"{sink.url}/slack")
        monkeypatch.setenv("TEST_PD_KEY", "R0UT1NGKEY0123456789abcdef012345")
        notifiers = [Notifier(name="slack", kind="slack", url_env="TEST_SLACK_URL"),
                     Notifier(name="pd", kind="pagerduty", url=f"{sink.url}/pd",
                              secret_env="TEST_PD_KEY"),
                     hook(sink)]
        good, total = bursty_series(5)
        n = len(total)
        write_minutes(engine, good, total, 0, n)
        start = 3 * 1440
        clock = Clock(T0 + 60 * (start + 1) + 5)
        evaluator = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), notifiers,
                                   clock=clock)
        worker = DeliveryWorker(engine, notifiers, Delivery(), clock=clock)
        while clock() < T0 + 60 * n:
            evaluator.evaluate()
            worker.deliver_once()
            clock.now += 60 * 5
        drain(worker)
        worker.close()
        notified = [(key, state) for _s, _at, state, _r, _b, key in transitions(engine)]
        by_path: dict[str, list] = {"/slack": [], "/pd": [], "/hook": []}
        for r in sink.delivered():
            by_path[r.path].append(r.json)
    assert len(notified) >= 6
    # webhook: every transition's key once, in the order they happened; repeats of a
    # long firing (repeat_interval, 4h) carry the key of the firing they repeat
    sent = [a for p in by_path["/hook"] for a in p["alerts"]]
    assert [a["key"] for a in sent if a["kind"] == "transition"] == [k for k, _ in notified]
    repeats = [a["key"] for a in sent if a["kind"] == "repeat"]
    assert repeats and set(repeats) <= {k for k, s in notified if s == "firing"}
    # PagerDuty: trigger and resolve per dedup_key in the order they happened (a repeat is
    # one more trigger of the same dedup_key, which PagerDuty folds into its incident)
    events = by_path["/pd"]
    seen: dict[str, list[str]] = {}
    for e in events:
        actions = seen.setdefault(e["dedup_key"], [])
        if not actions or actions[-1] != e["event_action"]:
            actions.append(e["event_action"])
    expected: dict[str, list[str]] = {}
    for key, state in notified:
        expected.setdefault(key.split(":")[0], []).append(
            "trigger" if state == "firing" else "resolve")
    assert seen == expected
    assert all(not pagerduty_problems(e) for e in events)
    # Slack: Block Kit, the key of each transition in its context line
    slack_text = json.dumps(by_path["/slack"])
    assert all(not slack_problems(p) for p in by_path["/slack"])
    assert all(key in slack_text for key, _ in notified)


def _write_config(tmp_path: Path, sink: RecordingSink, **delivery: object) -> Path:
    config = tmp_path / "apollo.yaml"
    config.write_text(json.dumps({
        "data_dir": str(tmp_path / "var"), "slo_files": [],
        "notifiers": [{"name": "hook", "kind": "webhook", "url": f"{sink.url}/hook"}],
        "alerting": {"delivery": {"lease": "2s", **delivery}},
    }))
    return config


def _worker(config: Path, store_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [APOLLO, "--config", str(config), "alerts", "deliver"], cwd=tmp_path,
        env={**os.environ, "APOLLO_DATABASE_URL": store_url}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)


def test_kill_9_mid_delivery_loses_nothing(engine, store_url, tmp_path):
    with RecordingSink() as sink:
        config = _write_config(tmp_path, sink, batch=50, concurrency=2)
        fill(engine, [message(i) for i in range(1500)], now=time.time())
        first = _worker(config, store_url, tmp_path)
        try:
            sink.wait_for(lambda rs: len(rs) >= 300, timeout=60)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert statuses(engine)["pending"] > 0  # it died with work left
        second = _worker(config, store_url, tmp_path)
        try:
            assert wait_until(lambda: statuses(engine) == Counter({"sent": 1500}), 120), \
                statuses(engine)
        finally:
            second.terminate()
            second.wait(timeout=10)
        keys = sink_keys(sink)
    assert set(keys) == {f"fp{i}:1:firing" for i in range(1500)}
    twice = [k for k, c in keys.items() if c > 1]
    assert len(twice) <= 50  # at most the batch the killed worker held


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_two_workers_on_postgresql_never_send_a_key_twice(engine, store_url, tmp_path):
    with RecordingSink() as sink:
        config = _write_config(tmp_path, sink, batch=20, concurrency=2)
        fill(engine, [message(i) for i in range(2000)], now=time.time())
        workers = [_worker(config, store_url, tmp_path) for _ in range(2)]
        try:
            assert wait_until(lambda: statuses(engine) == Counter({"sent": 2000}), 120), \
                statuses(engine)
        finally:
            for w in workers:
                w.terminate()
                w.wait(timeout=10)
        keys = sink_keys(sink)
    assert len(keys) == 2000 and set(keys.values()) == {1}
    with engine.connect() as conn:
        by_worker = conn.execute(select(DeliveryAttempt.worker, func.count())
                                 .group_by(DeliveryAttempt.worker)).all()
    assert len(by_worker) == 2 and all(n > 0 for _, n in by_worker)


def test_transitions_and_outbox_rows_commit_together(engine):
    """Rounds whose transaction fails leave neither transitions nor outbox rows, and the
    next healthy round catches up from the last committed cursor: the same transitions
    as if nothing had failed."""
    from test_alert_evaluation import (
        SLO_SPEC,
        T0,
        bursty_series,
        expected_transitions,
        transitions,
        write_minutes,
    )

    import services.alerting.evaluate as evaluate_module

    good, total = bursty_series(4)
    n = len(total)
    write_minutes(engine, good, total, 0, n)
    start = 3 * 1440
    clock = Clock(T0 + 60 * (start + 1) + 5)
    evaluator = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(),
                               [Notifier(name="hook", kind="webhook", url="http://127.0.0.1:9/")],
                               clock=clock)
    evaluator.evaluate()

    def broken(*_a: object, **_k: object) -> int:
        raise RuntimeError("the store went away mid-round")

    original = evaluate_module.enqueue
    evaluate_module.enqueue = broken  # type: ignore[assignment]
    try:
        while clock() < T0 + 60 * (n - 1):
            with pytest.raises(RuntimeError):
                evaluator.evaluate()
            clock.now += 3600
    finally:
        evaluate_module.enqueue = original  # type: ignore[assignment]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AlertTransition)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 0
    clock.now = T0 + 60 * n + 5
    evaluator.evaluate()
    got = [(s, at, state) for s, at, state, *_ in transitions(engine)]
    assert got and got == expected_transitions(good, total, start, n)
    with engine.connect() as conn:
        notified = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar()
    assert notified == len([t for t in got if t[2] in ("firing", "resolved")])
