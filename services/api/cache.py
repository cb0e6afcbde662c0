"""The response cache: stable keys for GET /api/v1/* requests, and a bounded in-process LRU.

Key (`request_key`): SHA-256 of the normalised request, never Python's per-process
`hash()`, so every API process computes the same key for the same question:

    method, path, Accept and Origin headers (the answer may differ by them),
    the caller's authorised scope ("open" when reads need no token),
    the current minute (answers read `now`: a default range of now-24h, a current status),
    the query parameters sorted by name (repeats keep their order), with `from` and `to`
    resolved against that one `now` to whole minutes (as the routes read them), so
    `now-1h`, `-1h`, `now-60m` and the same absolute minute share one key.

Entries (`CachedResponse`) keep the status, the headers as the app sent them (ETag
included) and the body bytes, plus the route template (for the API's own metrics) and the
cache epoch they were computed in: the middleware moves the epoch when the shared version
in Redis moves, when the API itself writes, and when Redis goes or comes back, and an
entry of another epoch is never served. `ResponseCache` bounds entries and bytes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from services.errors import InputError
from services.timerange import floor_minute, parse_time

MAX_ENTRIES = 4096
MAX_BYTES = 64 << 20  # bodies and headers of every entry, together
MAX_ENTRY_BYTES = 1 << 20  # a larger answer is not cached
LOCAL_TTL_CAP_S = 60.0  # without a shared version (no Redis, or Redis down), TTL at most this
TIME_PARAMETERS = ("from", "to")
REDIS_PREFIX = "apollo:cache:r:"  # + "<version>:<key>", SET with EX (the TTL)


def request_key(method: str, path: str, query_string: bytes, *, now: float, scope: str,
                accept: str = "", origin: str = "") -> str | None:
    """The hex SHA-256 key of a request; None when `from` or `to` does not parse (the route
    answers 422 and nothing is cached)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    resolved = []
    for name, value in pairs:
        if name in TIME_PARAMETERS:
            try:
                value = str(floor_minute(parse_time(value, now, field=name)))
            except InputError:
                return None
        resolved.append((name, value))
    resolved.sort(key=lambda pair: pair[0])  # stable: repeated names keep their order
    material = "\n".join((method, path, accept, origin, scope, str(floor_minute(int(now))),
                          urlencode(resolved)))
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()


def redis_key(version: int, key: str) -> str:
    """Where an entry is shared: under the version it was computed at."""
    return f"{REDIS_PREFIX}{version}:{key}"


@dataclass(frozen=True)
class CachedResponse:
    """One answer as the app sent it."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]  # raw ASGI headers, ETag among them
    body: bytes
    route: str  # the route template, for the API's own metrics
    epoch: int  # the cache epoch it was computed in
    stored_at: float  # app clock

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 64

    @property
    def etag(self) -> bytes | None:
        return next((v for k, v in self.headers if k == b"etag"), None)

    def encode(self) -> bytes:
        """The bytes shared in Redis: a JSON line of metadata, then the body."""
        meta = {"status": self.status, "route": self.route, "stored_at": self.stored_at,
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in self.headers]}
        return json.dumps(meta, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def decode(cls, data: bytes, *, epoch: int) -> CachedResponse:
        """An entry from `encode`'s bytes, of `epoch`; ValueError when they are not that."""
        head, sep, body = data.partition(b"\n")
        if not sep:
            raise ValueError("no metadata line")
        meta = json.loads(head)
        headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in meta["headers"])
        return cls(int(meta["status"]), headers, body, str(meta["route"]), epoch,
                   float(meta["stored_at"]))


def not_modified(entry: CachedResponse, if_none_match: bytes) -> bool:
    """Whether If-None-Match names the entry's ETag (or is `*`)."""
    tag = entry.etag
    if tag is None or entry.status != 200:
        return False
    wanted = {t.strip() for t in if_none_match.split(b",")}
    return tag in wanted or b"*" in wanted


class ResponseCache:
    """A thread-safe LRU of answers, bounded in entries and in bytes."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES,
                 max_entry_bytes: int = MAX_ENTRY_BYTES) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.max_entry_bytes = min(max_entry_bytes, max_bytes)
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, key: str, *, epoch: int, now: float, ttl_s: float) -> CachedResponse | None:
        """The entry of `key` computed in `epoch` and younger than `ttl_s`, else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.epoch != epoch or now - entry.stored_at >= ttl_s:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: CachedResponse) -> bool:
        """Keep `entry` (evicting the least recently used); False when it is too large."""
        size = entry.size
        if size > self.max_entry_bytes:
            return False
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes or len(self._entries) > self.max_entries:
                self._drop(next(iter(self._entries)))
        return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _drop(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).size
