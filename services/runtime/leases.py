"""Leases on scrape targets, so N collector replicas share the targets without overlap.

A replica scrapes a target only while it holds the target's lease, renewing it every
round. Per-minute increases need consecutive scrapes in one process, so a target stays
with one replica for as long as it lives; if it dies, its leases run out after `ttl_s`
and another replica takes the targets over (the minutes in between are a gap, and a
scrape written twice would write the same rows anyway).

Redis (`SET NX PX`, renewed by a script that checks the owner) when `redis_url` is
configured; without Redis there is one collector and it scrapes every target.
"""

from __future__ import annotations

import redis

from services.errors import SourceUnavailable

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
            kwargs = self.client.connection_pool.connection_kwargs
            where = f"Redis {kwargs.get('host')}:{kwargs.get('port')}"
            raise SourceUnavailable(where, str(exc)) from exc
