"""Leases on scrape targets, so N collector replicas share the targets without overlap.

A replica scrapes a target only while it holds the target's lease, renewing it every
round. Per-minute increases need consecutive scrapes in one process, so a target stays
with one replica for as long as it lives; if it dies, its leases run out after `ttl_s`
and another replica takes the targets over (the minutes in between are a gap, and a
scrape written twice would write the same rows anyway).

Redis (`SET NX PX`, renewed by a script that checks the owner) when `redis_url` is
configured; without Redis there is one collector and it scrapes every target.

A collector that stops cleanly (SIGTERM, Ctrl-C, the end of `--once`, the demo's stop)
gives back every lease it holds (`release`: deleted only while they still hold its own
token), so a restarted collector, the other replica or the next `--once` run takes them at
its next round; only a killed process leaves its leases to run out.

A source only one process may open at a time (the embedded ClickHouse engine: one process
per path) is leased the same way, as a whole: `OneReader` runs its jobs in the replica
holding its lease and skips them in the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis

from collectors.runs import RunResult, lease_held
from services.errors import SourceUnavailable

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""

_RELEASE = """
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    released = released + redis.call('DEL', key)
  end
end
return released
"""


class RedisLeases:
    """Leases shared by every replica through Redis."""

    def __init__(self, url: str, owner: str, ttl_s: float, prefix: str = "apollo:lease:"
                 ) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.owner, self.ttl_ms, self.prefix = owner, int(ttl_s * 1000), prefix
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)
        self.held: set[str] = set()  # the names this process took, to give back on stop

    def hold(self, name: str) -> bool:
        try:
            mine = bool(self._renew(keys=[self.prefix + name], args=[self.owner, self.ttl_ms]))
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        if mine:
            self.held.add(name)
        else:
            self.held.discard(name)
        return mine

    def holder(self, name: str) -> str | None:
        """Who holds `name` now (None: nobody)."""
        return self.holding(name)[0]

    def holding(self, name: str) -> tuple[str | None, float | None]:
        """Who holds `name` now and when (Unix seconds) that lease runs out unless renewed;
        (None, None): nobody."""
        key = self.prefix + name
        try:
            with self.client.pipeline(transaction=True) as pipe:  # one moment for both
                value, pttl = pipe.get(key).pttl(key).execute()
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        if value is None:
            return None, None
        owner = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
        return owner, (time.time() + pttl / 1000 if pttl >= 0 else None)

    def release(self) -> int:
        """Give back every lease this process holds, each deleted only while it still holds
        our token (one taken over meanwhile is left alone); how many were given back. Redis
        not answering: logged, and they run out after their TTL as a killed process's do."""
        names = sorted(self.held)
        if not names:
            return 0
        try:
            released = int(self._release(keys=[self.prefix + n for n in names],
                                         args=[self.owner]))
        except redis.RedisError as exc:
            log.warning("leases not given back (%s); they run out within %.0f s: %s",
                        self._unavailable(exc), self.ttl_ms / 1000, ", ".join(names))
            return 0
        self.held.clear()
        log.info("gave back %d of %d leases held by %s", released, len(names), self.owner)
        return released

    def _unavailable(self, exc: redis.RedisError) -> SourceUnavailable:
        kwargs = self.client.connection_pool.connection_kwargs
        return SourceUnavailable(f"Redis {kwargs.get('host')}:{kwargs.get('port')}", str(exc))


class OneReader:
    """The jobs of a source that one replica reads at a time (`source` names it, `name` is
    its lease). The replica holding the lease runs them, renewing it on every run; the
    others skip theirs, saying once who reads it and until when its lease lasts, and take
    over when the reader gives the lease back (a clean stop) or it runs out (a killed
    reader). A long-running replica records no run for a skip (the reader records its
    own); a run-once collector (`record_skips`, `apollo collect --once`) records each skip
    as a failed run naming the holder, since that run did not read the source. Redis down:
    a failed run (`leases`), and nothing is read, as for scrape targets."""

    def __init__(self, leases: RedisLeases, name: str, *, collector: str, source: str,
                 record_skips: bool = False) -> None:
        self.leases, self.name, self.collector, self.source = leases, name, collector, source
        self.record_skips = record_skips
        self.reading: bool | None = None  # None: not asked yet

    def guard(self, job: Callable[[], list[RunResult]], what: str = ""
              ) -> Callable[[], list[RunResult]]:
        """`job` (named `what` in a skip's run), run only while this replica holds the lease."""
        def guarded() -> list[RunResult]:
            try:
                mine = self.leases.hold(self.name)
                tell, record = mine != self.reading, not mine and self.record_skips
                holder, until = (self.leases.holding(self.name) if not mine and (tell or record)
                                 else (None, None))
            except SourceUnavailable as exc:
                return [RunResult(self.collector, "leases",
                                  errors=[f"{exc} ({self.source} not read)"]).finish()]
            if tell:
                self._tell(mine, holder, until)
            if mine:
                return job()
            if not record:
                return []
            job_name = f" ({what})" if what else ""
            return [RunResult(self.collector, "leases", errors=[
                f"{self.source} not read{job_name}: {lease_held(holder, until)}; another "
                "collector reads it, or a killed one's lease has yet to run out"]).finish()]

        return guarded

    def release(self) -> int:
        """Give the lease back (the collector stops); the next ask starts afresh."""
        self.reading = None
        return self.leases.release()

    def _tell(self, mine: bool, holder: str | None, until: float | None) -> None:
        if mine and self.reading is False:
            log.warning("%s: this collector reads it now (its reader gave the lease back or "
                        "it ran out, and this one took it)", self.source)
        elif not mine:
            log.warning("%s: read by another collector (%s); this one skips its runs until "
                        "that lease is given back or runs out", self.source,
                        lease_held(holder, until))
        self.reading = mine
