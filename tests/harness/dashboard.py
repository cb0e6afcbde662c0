"""The dashboard for browser tests: `apollo dashboard` on a free loopback port over a given
store, and Chromium through Playwright as DESIGN.md says to launch it here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from services.config import EXAMPLE_CONFIG

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
FIRST_PAINT_MS = 90_000  # a plotly page paints in ~4 s alone, far later on a loaded box


@contextmanager
def running_dashboard(store_url: str, cwd: Path, *, config: Path = EXAMPLE_CONFIG,
                      env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Start `apollo dashboard` (port 0: it prints the one it got) and yield its address;
    terminated and waited for on exit."""
    environ = {**os.environ, "APOLLO_DATABASE_URL": store_url, "APOLLO_DASHBOARD__PORT": "0",
               "APOLLO_CONFIG": str(config), **(env or {})}
    process = subprocess.Popen([str(Path(sys.executable).with_name("apollo")), "dashboard"],
                               stdout=subprocess.PIPE, text=True, env=environ, cwd=cwd)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("dashboard http://127.0.0.1:"), line
        address = line.split()[1]
        assert httpx.get(f"{address}/_stcore/health", timeout=5).text == "ok"
        yield address
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def chromium() -> Iterator[object]:
    """A Chromium browser (playwright's sync API) closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
