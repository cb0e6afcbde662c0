"""Two collector replicas share the targets through leases in a real Redis."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from support import PROFILES, T0, Clock

from collectors.scrape import PageScraper, Target
from services.fleet.server import Fleet
from services.runtime.leases import RedisLeases
from services.store.engine import make_engine
from services.store.migrate import upgrade

pytestmark = pytest.mark.servers



def test_each_target_is_scraped_by_one_replica_and_taken_over_when_it_dies(redis_url,
                                                                          tmp_path):
    clock = Clock(T0)
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    with Fleet(list(PROFILES.values())[:4], clock=clock) as fleet:
        targets = [Target(s, u) for s, u in fleet.urls.items()]
        a = PageScraper(engine, targets, clock=clock,
                        lease=RedisLeases(redis_url, "replica-a", ttl_s=2).hold)
        b = PageScraper(engine, targets, clock=clock,
                        lease=RedisLeases(redis_url, "replica-b", ttl_s=2).hold)
        seen: dict[str, set[str]] = {"a": set(), "b": set()}
        for i in range(6):
            clock.now = T0 + 5 + 15 * i
            seen["a"] |= {r.target for r in a.scrape_once()}
            seen["b"] |= {r.target for r in b.scrape_once()}
        assert seen["a"] == set(fleet.urls.values())  # a came first and kept every lease
        assert seen["b"] == set()
        time.sleep(2.5)  # replica a dies: its leases run out
        taken = {r.target for r in b.scrape_once()}
        assert taken == set(fleet.urls.values())
    with engine.connect() as conn:
        per_minute = conn.execute(sa.text(
            "SELECT minute, count(*) FROM service_minutes GROUP BY minute")).all()
    assert all(n == 4 for _, n in per_minute)  # one row per service and minute, never two


def test_with_redis_down_a_round_is_skipped_and_recorded_then_resumes(redis_server, redis_url,
                                                                      tmp_path):
    clock = Clock(T0)
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    with Fleet(list(PROFILES.values())[:1], clock=clock) as fleet:
        scraper = PageScraper(engine, [Target(s, u) for s, u in fleet.urls.items()],
                              clock=clock, lease=RedisLeases(redis_url, "a", ttl_s=30).hold)
        assert scraper.scrape_once()[0].status == "ok"
        redis_server.stop()
        try:
            (run,) = scraper.scrape_once()
            assert run.target == "leases" and run.status == "failed"
            assert "Redis 127.0.0.1" in run.errors[0]
        finally:
            redis_server.start()
        assert scraper.scrape_once()[0].status == "ok"
