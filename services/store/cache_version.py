"""The version of what the store holds, as the API's response cache sees it (in Redis).

A collection round that wrote new minutes (or an API write) makes every cached answer
stale. Rather than finding and deleting those answers (no `KEYS` scans), the writer bumps
one counter, `apollo:cache:version`, with `INCR`: every API process reads it about once a
second, drops its local answers when it moved, and looks up shared answers only under the
new version (old ones expire by their TTL). Here, below the API and the runtime, so the
collector can bump it without importing the API.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.errors import SourceUnavailable
from services.files import mask_url

VERSION_KEY = "apollo:cache:version"
TIMEOUT_S = 1.0  # a round never waits longer than this on Redis


def redis_client(url: str, *, timeout_s: float = TIMEOUT_S) -> redis.Redis:
    """A client that fails fast: short socket timeouts, no retries (the caller retries on
    its own schedule, so nothing ever waits on a Redis that is down)."""
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                retry=Retry(NoBackoff(), 0))


def read_version(client: redis.Redis) -> int:
    """The current version (0 before the first bump)."""
    value = client.get(VERSION_KEY)
    return int(value) if value is not None else 0


class CacheVersion:
    """Bumps the version after each collection round (a job of `build_jobs`)."""

    def __init__(self, url: str, *, timeout_s: float = TIMEOUT_S) -> None:
        self.url = url
        self.client = redis_client(url, timeout_s=timeout_s)

    def bump(self) -> int:
        """`INCR` the version; returns the new one. SourceUnavailable (naming the masked
        URL) when Redis does not answer: the API's TTL then bounds how stale it gets."""
        try:
            return int(self.client.incr(VERSION_KEY))  # type: ignore[arg-type]
        except redis.RedisError as exc:
            raise SourceUnavailable(f"Redis {mask_url(self.url)}", str(exc)) from exc

    def run(self) -> list[Any]:
        """A job's run: bump, and record nothing (a failure raises, a failed run)."""
        self.bump()
        return []

    def close(self) -> None:
        self.client.close()


def bump_version(url: str) -> int:
    """One bump with a client of its own (scripts, tests)."""
    version = CacheVersion(url)
    try:
        return version.bump()
    finally:
        version.close()
