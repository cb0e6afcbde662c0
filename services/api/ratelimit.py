"""Rate limits per caller: a sliding window over two fixed one-minute windows.

As Cloudflare counts: the estimate at `elapsed` seconds into the current minute is

    previous minute's count × (60 − elapsed) / 60  +  current minute's count

and a request passes while the estimate is below the limit (a refused request is not
counted, so a caller that backs off gets back in as the window slides). `retry_after`
solves the same formula for the first whole second at which one more request would pass.

Buckets live in the process (`RateLimiter.allow` never waits on anything). With Redis they
are shared: about once a second the middleware's sync takes each bucket's unsent count
(`take_unsent`), adds it with `INCRBY` to a per-minute key (with `EXPIRE`), and hands back
the global counts of the current and previous minute (`apply_remote`), so N API processes
enforce one limit, each one at most a sync interval behind the others.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

WINDOW_S = 60
MAX_BUCKETS = 100_000  # identities kept; beyond, the oldest are forgotten
MAX_SYNCED = 10_000  # buckets exchanged with Redis per sync (those with unsent counts first)
REDIS_PREFIX = "apollo:ratelimit:"  # + "<minute>:<identity>"


def estimate(previous: float, current: float, elapsed: float, window: float = WINDOW_S
             ) -> float:
    """The sliding-window count `elapsed` seconds into the current window."""
    return previous * (window - elapsed) / window + current


def retry_after(previous: float, current: float, elapsed: float, limit: int,
                window: float = WINDOW_S) -> int:
    """Whole seconds until one more request would pass (at least 1), if no other passes
    meanwhile: later in this window as the previous one's weight fades, else in the next,
    as this one's does."""
    remaining = window - elapsed
    if current < limit and previous > 0:
        wait = remaining - window * (limit - current) / previous
        if wait < remaining:
            return max(1, math.floor(max(wait, 0.0)) + 1)
    wait = remaining + max(0.0, window * (1 - limit / current)) if current else remaining
    return max(1, math.floor(wait) + 1)


def redis_key(minute: int, identity: str) -> str:
    return f"{REDIS_PREFIX}{minute}:{identity}"


@dataclass
class Decision:
    allowed: bool
    retry_after: int = 0  # seconds, when refused
    count: float = 0.0  # the estimate the decision was made on


@dataclass
class _Bucket:
    minute: int  # window index: Unix seconds // 60
    local: int = 0  # requests this process let through in `minute`
    remote: int = 0  # the global count of `minute` at the last sync (ours sent included)
    unsent: int = 0  # let through here, not yet added in Redis
    previous: int = 0  # the count of the minute before (global when known)

    def current(self) -> int:
        return max(self.local, self.remote + self.unsent)


@dataclass(frozen=True)
class Unsent:
    """What one sync adds to Redis for one identity, and asks back."""

    identity: str
    minute: int
    count: int


class RateLimiter:
    """`limit` requests per minute per identity (a token's digest, or a client address)."""

    def __init__(self, limit: int, *, shared: bool = False, window: int = WINDOW_S,
                 max_buckets: int = MAX_BUCKETS) -> None:
        self.limit, self.shared, self.window, self.max_buckets = limit, shared, window, max_buckets
        self._buckets: dict[str, _Bucket] = {}
        self._late: dict[tuple[str, int], int] = {}  # unsent counts of a minute now past
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, identity: str, now: float) -> Decision:
        """Count one request of `identity` at `now` if it may pass."""
        minute, elapsed = divmod(now, self.window)
        with self._lock:
            bucket = self._bucket(identity, int(minute))
            count = estimate(bucket.previous, bucket.current(), elapsed, self.window)
            if count >= self.limit:
                wait = retry_after(bucket.previous, bucket.current(), elapsed, self.limit,
                                   self.window)
                return Decision(False, wait, count)
            bucket.local += 1
            if self.shared:
                bucket.unsent += 1
        return Decision(True, 0, count + 1)

    def count(self, identity: str, now: float) -> float:
        """The current estimate for `identity` (0 for one never seen)."""
        minute, elapsed = divmod(now, self.window)
        with self._lock:
            bucket = self._buckets.get(identity)
            if bucket is None:
                return 0.0
            bucket = self._bucket(identity, int(minute))
            return estimate(bucket.previous, bucket.current(), elapsed, self.window)

    def _bucket(self, identity: str, minute: int) -> _Bucket:
        bucket = self._buckets.get(identity)
        if bucket is None:
            if len(self._buckets) >= self.max_buckets:
                self._evict(minute)
            bucket = self._buckets[identity] = _Bucket(minute)
        elif bucket.minute != minute:
            if bucket.unsent:
                key = (identity, bucket.minute)
                self._late[key] = self._late.get(key, 0) + bucket.unsent
            previous = bucket.current() if bucket.minute == minute - 1 else 0
            self._buckets[identity] = bucket = _Bucket(minute, previous=previous)
        return bucket

    def _evict(self, minute: int) -> None:
        """Forget buckets of minutes before the previous one; if that frees nothing, the
        oldest tenth (they start again at zero: the limit fails open for them)."""
        stale = [i for i, b in self._buckets.items() if b.minute < minute - 1]
        if not stale:
            stale = list(self._buckets)[: max(1, self.max_buckets // 10)]
        for identity in stale:
            del self._buckets[identity]

    # --- the Redis sync (called from the middleware's sync thread) ---------------------------

    def take_unsent(self, now: float, limit: int = MAX_SYNCED) -> list[Unsent]:
        """The counts to add in Redis (zero for buckets only read back), marked as sent."""
        minute = int(now // self.window)
        out: list[Unsent] = []
        with self._lock:
            for (identity, at), count in self._late.items():
                if at >= minute - 1:
                    out.append(Unsent(identity, at, count))
            self._late.clear()
            active = [(i, b) for i, b in self._buckets.items() if b.minute >= minute - 1]
            active.sort(key=lambda item: item[1].unsent == 0)  # unsent first, stable
            for identity, bucket in active[: max(0, limit - len(out))]:
                out.append(Unsent(identity, bucket.minute, bucket.unsent))
                bucket.unsent = 0
        return out

    def apply_remote(self, sent: list[Unsent], current: list[int],
                     previous: list[int | None]) -> None:
        """Global counts after a sync: `current[i]` of `sent[i].minute` (after the add),
        `previous[i]` of the minute before it (None where not asked)."""
        with self._lock:
            for item, now_count, before in zip(sent, current, previous, strict=True):
                bucket = self._buckets.get(item.identity)
                if bucket is None:
                    continue
                if bucket.minute == item.minute:
                    bucket.remote = max(bucket.remote, now_count)
                    if before is not None:
                        bucket.previous = max(bucket.previous, before)
                elif bucket.minute == item.minute + 1:
                    bucket.previous = max(bucket.previous, now_count)

    def return_unsent(self, sent: list[Unsent]) -> None:
        """A sync failed: what it took is added again at the next one."""
        with self._lock:
            for item in sent:
                if not item.count:
                    continue
                bucket = self._buckets.get(item.identity)
                if bucket is not None and bucket.minute == item.minute:
                    bucket.unsent += item.count
                else:
                    key = (item.identity, item.minute)
                    self._late[key] = self._late.get(key, 0) + item.count
