"""Leases on scrape targets, so N collector replicas share the targets without overlap.

A replica scrapes a target only while it holds the target's lease, renewing it every
round. Per-minute increases need consecutive scrapes in one process, so a target stays
with one replica for as long as it lives; if it dies, its leases run out after `ttl_s`
and another replica takes the targets over (the minutes in between are a gap, and a
scrape written twice would write the same rows anyway).

Redis (`SET NX PX`, renewed by a script that checks the owner) when `redis_url` is
configured; without Redis there is one collector and it scrapes every target.

A source only one process may open at a time (the embedded ClickHouse engine: one process
per path) is leased the same way, as a whole: `OneReader` runs its jobs in the replica
holding its lease and skips them in the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis

from collectors.runs import RunResult
from services.errors import SourceUnavailable

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""


class RedisLeases:
    """Leases shared by every replica through Redis."""

    def __init__(self, url: str, owner: str, ttl_s: float, prefix: str = "apollo:lease:"
                 ) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.owner, self.ttl_ms, self.prefix = owner, int(ttl_s * 1000), prefix
        self._renew = self.client.register_script(_RENEW)

    def hold(self, name: str) -> bool:
        try:
            return bool(self._renew(keys=[self.prefix + name], args=[self.owner, self.ttl_ms]))
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc

    def holder(self, name: str) -> str | None:
        """Who holds `name` now (None: nobody)."""
        try:
            value = self.client.get(self.prefix + name)
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        return value.decode(errors="replace") if isinstance(value, bytes) else value

    def _unavailable(self, exc: redis.RedisError) -> SourceUnavailable:
        kwargs = self.client.connection_pool.connection_kwargs
        return SourceUnavailable(f"Redis {kwargs.get('host')}:{kwargs.get('port')}", str(exc))


class OneReader:
    """The jobs of a source that one replica reads at a time (`source` names it, `name` is
    its lease). The replica holding the lease runs them, renewing it on every run; the
    others skip theirs (no run recorded: the reader records its own), saying once who
    reads it, and take over when the reader's lease runs out. Redis down: a failed run
    (`leases`), and nothing is read, as for scrape targets."""

    def __init__(self, leases: RedisLeases, name: str, *, collector: str, source: str) -> None:
        self.leases, self.name, self.collector, self.source = leases, name, collector, source
        self.reading: bool | None = None  # None: not asked yet

    def guard(self, job: Callable[[], list[RunResult]]) -> Callable[[], list[RunResult]]:
        def guarded() -> list[RunResult]:
            try:
                mine = self.leases.hold(self.name)
                if mine != self.reading:
                    self._tell(mine)
            except SourceUnavailable as exc:
                return [RunResult(self.collector, "leases",
                                  errors=[f"{exc} ({self.source} not read)"]).finish()]
            return job() if mine else []

        return guarded

    def _tell(self, mine: bool) -> None:
        if mine and self.reading is False:
            log.warning("%s: this collector reads it now (the lease ran out and it took "
                        "it)", self.source)
        elif not mine:
            log.warning("%s: read by another collector (lease held by %s); this one skips "
                        "its runs until that lease runs out", self.source,
                        self.leases.holder(self.name) or "nobody now")
        self.reading = mine
