"""More requests in flight than worker threads plus store connections: every one answered.

Before the store slots in `deps.connection`, a request checked its connection out inside a
worker thread; with the threads all waiting for connections held by requests that waited for
a thread, nothing moved until the pool's timeout turned them into 500s (seen by bench/api.py
at 64 connections)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from anyio import to_thread

from services.api.app import create_app
from services.api.deps import pool_capacity
from services.config import EXAMPLE_CONFIG, load_settings
from services.store.engine import make_engine
from services.store.migrate import upgrade

THREADS = 2
IN_FLIGHT = 24


def test_a_burst_beyond_threads_and_connections_is_answered_in_full(tmp_path: Path) -> None:
    # one connection, no overflow, and a pool timeout short enough that a deadlock shows as
    # 500s within the test rather than hanging it
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}", pool_size=1, max_overflow=0,
                         pool_timeout=3)
    upgrade(engine)
    assert pool_capacity(engine) == 1
    app = create_app(load_settings(EXAMPLE_CONFIG, api={"rate_limit_per_minute": 10**6}),
                     engine)

    async def burst() -> list[int]:
        to_thread.current_default_thread_limiter().total_tokens = THREADS
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://apollo") as client:
            # a new query string each: every request misses the response cache
            answers = await asyncio.gather(*(
                client.get("/api/v1/runs", params={"limit": 1 + n}) for n in range(IN_FLIGHT)))
        return [a.status_code for a in answers]

    try:
        statuses = asyncio.run(asyncio.wait_for(burst(), timeout=120))
    finally:
        engine.dispose()
    assert statuses == [200] * IN_FLIGHT
