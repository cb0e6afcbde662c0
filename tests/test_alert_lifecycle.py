"""The alert state machine and the routing tree, worked by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.alerting.lifecycle import AlertState, Timing, step, transition_key
from services.alerting.routing import Router
from services.config import Notifier, Route
from services.errors import ConfigError


def run(observations: list[tuple[float, bool]], timing: Timing) -> list[tuple]:
    state, seen = AlertState(), []
    for at, active in observations:
        state, change = step(state, active, at, timing)
        if change:
            seen.append((change.at, change.from_state, change.to_state, change.episode))
    return seen


def test_no_for_fires_at_once_and_resolves_at_the_first_quiet_minute():
    got = run([(60, False), (120, True), (180, True), (240, False), (300, True)], Timing())
    assert got == [(120, "inactive", "firing", 1), (240, "firing", "resolved", 1),
                   (300, "resolved", "firing", 2)]


def test_for_holds_pending_until_the_condition_has_lasted():
    # for = 120 s: true at 60, 120, 180 -> pending at 60, firing at 180 (180 - 60 >= 120)
    got = run([(60, True), (120, True), (180, True), (240, True)], Timing(for_s=120))
    assert got == [(60, "inactive", "pending", 1), (180, "pending", "firing", 1)]


def test_pending_that_stops_goes_back_to_inactive_and_the_next_is_a_new_episode():
    got = run([(60, True), (120, False), (180, True)], Timing(for_s=300))
    assert got == [(60, "inactive", "pending", 1), (120, "pending", "inactive", 1),
                   (180, "inactive", "pending", 2)]


def test_keep_firing_for_absorbs_a_flap():
    # keep 180 s: last true at 120; false at 180, 240 (120 s quiet) keeps firing; true at
    # 300 again; false from 360: resolves at 480 (480 - 300 = 180)
    observations = [(60, True), (120, True), (180, False), (240, False), (300, True),
                    (360, False), (420, False), (480, False)]
    got = run(observations, Timing(keep_firing_for_s=180))
    assert got == [(60, "inactive", "firing", 1), (480, "firing", "resolved", 1)]


def test_transition_keys_name_identity_episode_and_state():
    state, change = step(AlertState("resolved", 3), True, 10, Timing())
    assert change is not None and transition_key("abc", change) == "abc:4:firing"
    assert state.episode == 4


NOTIFIERS = [Notifier(name=n, kind="webhook", url="http://127.0.0.1:1/") for n in
             ("default", "pager", "payments", "audit")]


def test_routing_tree_first_match_continue_and_inheritance():
    route = Route.model_validate({
        "receiver": "default", "group_by": ["slo"], "repeat_interval": "4h",
        "routes": [
            {"matchers": ['severity="page"'], "receiver": "pager", "continue": True,
             "repeat_interval": "30m"},
            {"matchers": ['team=~"pay.*"'], "receiver": "payments",
             "routes": [{"matchers": ['service="refunds"'], "receiver": "audit"}]},
            {"matchers": ['team=~"pay.*"'], "receiver": "audit"},  # never reached: no continue
        ]})
    router = Router(route, NOTIFIERS)
    page_pay = router.destinations({"severity": "page", "team": "payments", "slo": "x"})
    assert [d.notifier for d in page_pay] == ["pager", "payments"]
    assert page_pay[0].repeat_interval_s == 1800 and page_pay[1].repeat_interval_s == 4 * 3600
    assert page_pay[1].group_key({"slo": "x", "team": "payments"}) == "{slo='x'}"
    refunds = router.destinations({"team": "payments", "service": "refunds"})
    assert [d.notifier for d in refunds] == ["audit"]  # the deepest match keeps it
    assert [d.notifier for d in router.destinations({"team": "data"})] == ["default"]


def test_without_a_tree_every_notifier_hears_everything():
    assert [d.notifier for d in Router(None, NOTIFIERS).destinations({})] == [
        n.name for n in NOTIFIERS]


def test_a_bad_matcher_is_named_with_its_route():
    route = Route.model_validate({"receiver": "default",
                                  "routes": [{"matchers": ['severity=="page"']}]})
    with pytest.raises(ConfigError, match=r"alerting\.route\.routes\.0\.matchers"):
        Router(route, NOTIFIERS)


def test_config_refuses_a_route_to_an_unknown_notifier():
    from services.config import Settings

    with pytest.raises(ValueError, match=r"alerting\.route\.routes\.0\.receiver: 'nobody'"):
        Settings(notifiers=[n.model_dump() for n in NOTIFIERS],
                 alerting={"route": {"receiver": "default",
                                     "routes": [{"receiver": "nobody"}]}})
    assert timedelta(0) == Settings().alerting.keep_firing_for
