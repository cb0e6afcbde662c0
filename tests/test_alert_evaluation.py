"""Alert evaluation against the SLO engine: the same minutes give the same firings.

Every expected figure is computed here a second way: decisions with `slo.burn.decide`
over the whole series, burn rates and budget with numpy sums over the true counts.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select
from support import Clock

from services.alerting.evaluate import AlertEvaluator
from services.alerting.silences import add_silence
from services.config import AlertingConfig, Notifier
from services.store import writes
from services.store.catalog import ServiceInfo, ensure_services, ensure_slo
from services.store.models import Alert, AlertTransition, OutboxMessage, SliMinute
from slo.burn import Prefix, decide, error_ratios
from slo.model import SLO, RequestRatio
from slo.windows import GOOGLE_30D

DAY = 86400
T0 = 1_700_000_000 - 1_700_000_000 % 3600  # an hour boundary
SLO_SPEC = SLO(service="api", name="availability", objective=99.9,
               sli=RequestRatio(total_query="t", error_query="e"))
SINK = Notifier(name="sink", kind="webhook", url="http://127.0.0.1:9/hook")


def bursty_series(days: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Good and total per minute: 0.05% errors, with bursts of 1-20% lasting 3-120 min."""
    rng = np.random.default_rng(seed)
    n = days * 1440
    total = rng.poisson(1000, n).astype(float)
    ratio = np.full(n, 0.0005)
    for start in rng.integers(0, n, 12):
        ratio[start:start + rng.integers(3, 120)] = rng.uniform(0.01, 0.2)
    bad = rng.binomial(total.astype(int), ratio).astype(float)
    return total - bad, total


def write_minutes(engine, good, total, first: int, last: int, instance: str = "") -> None:
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("api", "API")])
        slo_id = ensure_slo(conn, slug=SLO_SPEC.id, name="availability", objective=99.9,
                            period_s=30 * DAY, service_id=ids["api"])
        writes.upsert(conn, SliMinute.__table__,
                      [(T0 + 60 * i, slo_id, float(good[i]), float(total[i]), instance)
                       for i in range(first, last)])


def transitions(engine, kind: str = "burn") -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Alert.severity, AlertTransition.at, AlertTransition.to_state,
                   AlertTransition.burn_rates, AlertTransition.budget_remaining,
                   AlertTransition.key)
            .join(Alert, Alert.id == AlertTransition.alert_id)
            .where(Alert.kind == kind).order_by(AlertTransition.at, Alert.severity)).all()
    return [tuple(r) for r in rows]


def expected_transitions(good, total, first_eval: int, last_eval: int) -> list[tuple]:
    """Edges of the engine's per-minute decisions within minutes [first_eval, last_eval)."""
    prefix = Prefix.of(total - good, total)
    ratios = error_ratios(prefix, GOOGLE_30D.durations)
    decisions = decide(ratios, GOOGLE_30D, SLO_SPEC.error_budget_ratio)
    out = []
    for severity in ("page", "ticket"):
        fired = decisions.severities[severity]
        before = False
        for i in range(first_eval, last_eval):
            if fired[i] != before:
                state = "firing" if fired[i] else "resolved"
                if state == "firing" or out:  # nothing resolves before it fired
                    out.append((severity, float(T0 + 60 * (i + 1)), state))
            before = bool(fired[i])
    return sorted(out, key=lambda t: (t[1], t[0]))


def test_rounds_of_any_size_fire_exactly_when_the_engine_decides(engine):
    good, total = bursty_series(5)
    n = len(total)
    write_minutes(engine, good, total, 0, n)
    start = 3 * 1440  # three days of history behind the first evaluation (the ticket's 3d)
    clock = Clock(T0 + 60 * (start + 1) + 20)  # minute `start` is the newest one ended
    evaluator = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [], clock=clock)
    rng = np.random.default_rng(3)
    rounds = 0
    while clock() < T0 + 60 * n:
        evaluator.evaluate()
        rounds += 1
        clock.now += 60 * int(rng.integers(1, 40)) + float(rng.uniform(0, 59))
    evaluator.evaluate()
    got = [(s, at, state) for s, at, state, *_ in transitions(engine)]
    want = expected_transitions(good, total, start, n)
    assert len(want) >= 6 and rounds > 50  # the bursts really page and ticket
    assert got == want


def test_each_transition_carries_the_burn_rates_and_budget_that_caused_it(engine):
    good, total = bursty_series(4, seed=11)
    n = len(total)
    write_minutes(engine, good, total, 0, n)
    start = 3 * 1440
    clock = Clock(T0 + 60 * (start + 1) + 5)
    evaluator = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [], clock=clock)
    while clock() < T0 + 60 * n:
        evaluator.evaluate()
        clock.now += 60 * 7
    rows = transitions(engine)
    assert rows
    bad = total - good
    for severity, at, _state, rates, budget, _key in rows:
        end = int((at - T0) // 60)  # minutes [0, end) are before the transition
        for window, minutes in {"5m": 5, "1h": 60, "30m": 30, "6h": 360, "2h": 120,
                                "1d": 1440, "3d": 4320}.items():
            if window not in rates:
                continue
            lo = max(0, end - minutes)
            by_hand = bad[lo:end].sum() / total[lo:end].sum() / 0.001
            assert rates[window] == pytest.approx(by_hand, rel=1e-9), (severity, window)
        assert set(rates) == ({"5m", "1h", "30m", "6h"} if severity == "page"
                              else {"2h", "1d", "6h", "3d"})
        # the whole period (30 days) reaches back past the data: every minute before `at`
        assert budget == pytest.approx(1 - bad[:end].sum() / (total[:end].sum() * 0.001),
                                       rel=1e-9)


def test_a_restarted_evaluator_goes_on_from_its_cursor(engine):
    good, total = bursty_series(5)
    n = len(total)
    write_minutes(engine, good, total, 0, n)
    start = 3 * 1440
    clock = Clock(T0 + 60 * (start + 1) + 5)
    first = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [], clock=clock)
    while clock() < T0 + 60 * (start + 700):
        first.evaluate()
        clock.now += 60 * 13
    second = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [], clock=clock)
    while clock() < T0 + 60 * n:
        second.evaluate()
        clock.now += 60 * 17
    second.evaluate()
    got = [(s, at, state) for s, at, state, *_ in transitions(engine)]
    assert got == expected_transitions(good, total, start, n)


def test_two_evaluators_never_record_one_round_twice(engine):
    good, total = bursty_series(4)
    n = len(total)
    write_minutes(engine, good, total, 0, n)
    start = 3 * 1440
    clock = Clock(T0 + 60 * (start + 1) + 5)
    pair = [AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [], clock=clock)
            for _ in range(2)]
    i = 0
    while clock() < T0 + 60 * n:
        pair[i % 2].evaluate()
        pair[(i + 1) % 2].evaluate()
        i += 1
        clock.now += 60 * 11
    pair[0].evaluate()
    got = [(s, at, state) for s, at, state, *_ in transitions(engine)]
    assert got == expected_transitions(good, total, start, n)


def test_a_late_minute_is_read_again(engine):
    """Minute m first holds one pod's rows; the second pod's arrive a round later."""
    good, total = bursty_series(4)
    n = len(total)
    write_minutes(engine, good / 2, total / 2, 0, n, instance="a")
    start = 3 * 1440
    clock = Clock(T0 + 60 * (start + 1) + 5)
    late_from = start + 1
    n = late_from + 150
    write_minutes(engine, good / 2, total / 2, 0, late_from, instance="b")
    evaluator = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [], clock=clock)
    evaluator.evaluate()
    for i in range(late_from, n - 1):
        clock.now = T0 + 60 * (i + 1) + 5
        write_minutes(engine, good / 2, total / 2, i - 1, i, instance="b")  # a minute late
        evaluator.evaluate()
    tracker = evaluator.trackers[SLO_SPEC.id]
    for window in (5, 60, 360):  # every minute before the last is whole again
        end = T0 + 60 * (n - 2)
        lo = (n - 2) - window
        want = (total - good)[lo:n - 2].sum() / total[lo:n - 2].sum()
        assert tracker.window.ratio(window, end) == pytest.approx(want, rel=1e-9)


def test_no_data_raises_the_absent_alert_and_data_resolves_it(engine):
    good, total = bursty_series(1)
    write_minutes(engine, good, total, 0, 600)
    clock = Clock(T0 + 60 * 600 + 5)
    evaluator = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [], clock=clock)
    evaluator.evaluate()
    clock.now += 9 * 60  # 9 minutes past the newest data: not yet
    evaluator.evaluate()
    assert transitions(engine, "absent") == []
    clock.now += 61  # 10 minutes and a second
    evaluator.evaluate()
    fired = transitions(engine, "absent")
    assert [(t[1], t[2]) for t in fired] == [(clock.now, "firing")]
    write_minutes(engine, good, total, 600, 612)
    evaluator.evaluate()
    assert [t[2] for t in transitions(engine, "absent")] == ["firing", "resolved"]


def test_outbox_rows_are_written_with_their_transitions_and_silences_hold_them(engine):
    good, total = bursty_series(5)
    n = len(total)
    write_minutes(engine, good, total, 0, n)
    start = 3 * 1440
    clock = Clock(T0 + 60 * (start + 1) + 5)
    silenced_from = T0 + 60 * (start + 1000)
    with engine.begin() as conn:
        add_silence(conn, [f'slo="{SLO_SPEC.id}"', 'severity="ticket"'], author="ana",
                    reason="known noisy", starts_at=silenced_from, ends_at=T0 + 60 * n * 2,
                    now=clock())
    evaluator = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [SINK], clock=clock)
    while clock() < T0 + 60 * n:
        evaluator.evaluate()
        clock.now += 60 * 9
    rows = transitions(engine)
    with engine.connect() as conn:
        outbox = conn.execute(select(OutboxMessage.key, OutboxMessage.kind,
                                     OutboxMessage.notifier)
                              .where(OutboxMessage.kind == "transition")).all()
        silenced = conn.execute(select(func.count()).select_from(AlertTransition)
                                .where(AlertTransition.silenced.is_(True))).scalar()
    quiet = {key for sev, at, state, _r, _b, key in rows
             if sev == "ticket" and at >= silenced_from}
    # a resolve after a silenced firing is not announced either
    expected = {key for *_x, key in rows} - quiet
    assert quiet and silenced >= 1
    assert {k for k, _kind, _n in outbox} == expected
    assert {n for *_x, n in outbox} == {"sink"}


def test_a_round_reads_only_its_new_minutes(engine, monkeypatch):
    """After the first round, each round asks the store for the minutes since its cursor
    (and the few it reads again for late scrapes), however long the SLO's windows are."""
    import services.alerting.evaluate as evaluate_module
    from services.alerting.evaluate import REREAD_MINUTES

    good, total = bursty_series(4)
    n = len(total)
    write_minutes(engine, good, total, 0, n)
    reads: list[tuple[float, float, str]] = []
    real_sli = evaluate_module.queries.sli

    def spy(conn, start, end, **kwargs):
        reads.append((start.timestamp(), end.timestamp(), kwargs.get("resolution", "minute")))
        return real_sli(conn, start, end, **kwargs)

    monkeypatch.setattr(evaluate_module.queries, "sli", spy)
    start = 3 * 1440
    clock = Clock(T0 + 60 * (start + 1) + 5)
    evaluator = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [], clock=clock)
    evaluator.evaluate()
    first_round = list(reads)
    assert max(e - s for s, e, _r in first_round) >= 3 * DAY  # the windows, once
    for step in (1, 3, 1, 7, 2):
        reads.clear()
        clock.now += 60 * step
        evaluator.evaluate()
        assert [(e - s) / 60 for s, e, _r in reads] == [step + REREAD_MINUTES]


def test_an_openslo_alert_condition_fires_after_its_alert_after(engine):
    """OpenSLO `AlertCondition` fast-burn: burn rate over 1h > 14.4, alertAfter 5m (the
    reference bundle in ../shared/reference/openslo), worked with numpy sums here."""
    from pathlib import Path

    from services.files import load_slo_files

    bundle = Path(__file__).resolve().parents[2] / "shared/reference/openslo/apollo-full-v1.yaml"
    spec = next(s for s in load_slo_files([bundle]) if s.alerting.conditions)
    (condition,) = spec.alerting.conditions
    assert (condition.threshold, condition.alert_after.total_seconds()) == (14.4, 300)
    good, total = bursty_series(4, seed=5)
    n = len(total)
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo(spec.service, spec.service)])
        slo_id = ensure_slo(conn, slug=spec.id, name=spec.name, objective=spec.objective,
                            period_s=30 * DAY, service_id=ids[spec.service])
        writes.upsert(conn, SliMinute.__table__,
                      [(T0 + 60 * i, slo_id, float(good[i]), float(total[i]), "")
                       for i in range(n)])
    start = 3 * 1440
    clock = Clock(T0 + 60 * (start + 1) + 5)
    evaluator = AlertEvaluator(engine, [spec], AlertingConfig(), [], clock=clock)
    while clock() < T0 + 60 * n:
        evaluator.evaluate()
        clock.now += 60 * 4
    with engine.connect() as conn:
        got = [(at, state) for at, state in conn.execute(
            select(AlertTransition.at, AlertTransition.to_state)
            .join(Alert, Alert.id == AlertTransition.alert_id)
            .where(Alert.kind == "burn").order_by(AlertTransition.at))]
    bad = total - good
    limit = 14.4 * spec.error_budget_ratio
    want, state, since = [], "inactive", None
    for i in range(start, n):
        lo = max(0, i + 1 - 60)
        holds = bad[lo:i + 1].sum() / total[lo:i + 1].sum() > limit
        at = float(T0 + 60 * (i + 1))
        if holds and state in ("inactive", "resolved"):
            state, since = "pending", at
            want.append((at, "pending"))
        if holds and state == "pending" and at - since >= 300:
            state = "firing"
            want.append((at, "firing"))
        if not holds and state == "pending":
            state = "inactive"
            want.append((at, "inactive"))
        if not holds and state == "firing":
            state = "resolved"
            want.append((at, "resolved"))
    assert any(s == "firing" for _, s in want) and any(s == "pending" for _, s in want)
    assert got == want


def test_firing_alerts_are_reposted_to_alertmanager_with_their_key(engine):
    """As Prometheus re-sends firing alerts: while an alert fires, each round past the
    repost interval writes one `repost` row per Alertmanager notifier, under the firing's
    key; nothing is re-posted once it resolved, and other notifiers get no re-posts."""
    good, total = bursty_series(4)
    n = len(total)
    write_minutes(engine, good, total, 0, n)
    am = Notifier(name="am", kind="alertmanager", url="http://127.0.0.1:9")
    start = 3 * 1440
    clock = Clock(T0 + 60 * (start + 1) + 5)
    evaluator = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [am, SINK], clock=clock)
    round_times = []
    while clock() < T0 + 60 * n:
        evaluator.evaluate()
        round_times.append(clock())
        clock.now += 60 * 3
    rows = transitions(engine)
    with engine.connect() as conn:
        reposts = conn.execute(select(OutboxMessage.key, OutboxMessage.notifier,
                                      OutboxMessage.created_at)
                               .where(OutboxMessage.kind == "repost")).all()
    assert reposts and {notifier for _k, notifier, _t in reposts} == {"am"}
    spans = {}  # firing key -> (fired at, resolved at or None)
    for _sev, at, state, _r, _b, key in rows:
        fp, episode, _state = key.split(":")
        if state == "firing":
            spans[key] = [at, None]
        elif state == "resolved":
            spans[f"{fp}:{episode}:firing"][1] = at
    for key, _notifier, created in reposts:
        fired, resolved = spans[key]
        assert created - fired >= 60 and (resolved is None or created < resolved + 180)
    for key, (fired, resolved) in spans.items():  # one re-post per round while it fires
        rounds = [t for t in round_times
                  if t - fired >= 60 and (resolved is None or t < resolved)]
        assert sorted(c for k, _n, c in reposts if k == key) == rounds


def test_between_minute_ends_the_minute_being_counted_is_judged(engine):
    """A collector hands over the minute it is still counting: a burst pages before that
    minute ends, and the burn rates recorded are the window's up to that instant, the
    oldest minute counted for the share the window still covers (worked by hand)."""
    from slo.series import InProgress

    good, total = bursty_series(4, seed=21)
    n = len(total)
    quiet = np.full(n, 0.0005)  # no bursts: nothing fires on the stored minutes
    bad = np.round(total * quiet)
    good = total - bad
    write_minutes(engine, good, total, 0, n - 1)
    last = n - 1  # the minute being counted: its first 30 s fail every request
    current = InProgress(T0 + 60 * last, good=0.0, total=1000.0, through=T0 + 60 * last + 30)
    clock = Clock(T0 + 60 * last + 31)
    evaluator = AlertEvaluator(engine, [SLO_SPEC], AlertingConfig(), [], clock=clock,
                               in_progress=lambda: {SLO_SPEC.id: current})
    evaluator.evaluate()
    rows = transitions(engine)
    assert [(sev, at, state) for sev, at, state, *_ in rows] == [
        ("page", current.through, "firing")]
    rates = rows[0][3]
    for window, minutes in {"5m": 5, "1h": 60}.items():
        lo = last - minutes  # the minute the window starts inside: half of it still counts
        by_hand = ((bad[lo + 1:last].sum() + 0.5 * bad[lo] + 1000)
                   / (total[lo + 1:last].sum() + 0.5 * total[lo] + 1000))
        assert rates[window] == pytest.approx(by_hand / 0.001, rel=1e-9)
    # the same minute, complete and stored, judged at its end: still a page, no new change
    write_minutes(engine, np.append(good[:-1], 0.0), np.append(total[:-1], 2000.0),
                  last, last + 1)  # its second half failed every request too
    clock.now = T0 + 60 * (last + 1) + 5
    evaluator.in_progress = None
    evaluator.evaluate()
    assert len(transitions(engine)) == 1
