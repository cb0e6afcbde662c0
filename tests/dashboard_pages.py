"""Helpers for the dashboard page tests (Service, Targets, Environments, the shell): a
seeded store, a page run in AppTest through the shell, and Chromium checks (no exception
element, no request leaving the machine, a whole-page screenshot kept as an artefact)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from support import fill_store_from_fleet

from services.config import EXAMPLE_CONFIG
from services.store.engine import make_engine
from services.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "streamlit_app.py"
SCREENSHOTS = ROOT / "screenshots"
SLO_FILES = f'["{ROOT / "slos" / "*.yaml"}"]'  # absolute: the dashboard may run elsewhere
APP_TIMEOUT_S = 90  # a loaded 2-core box runs a page far slower than an idle one


def whole_minute(t: float | None = None) -> int:
    t = time.time() if t is None else t
    return int(t // 60 * 60)


def seeded(tmp_path: Path, minutes: int, *, now: int | None = None, slugs=None):
    """(url, engine, now): a migrated SQLite store holding the fleet's last `minutes`
    minutes before `now` (a whole minute)."""
    now = whole_minute() if now is None else now
    url = f"sqlite:///{tmp_path / 'var' / 'apollo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    if minutes:
        fill_store_from_fleet(engine, now - 60 * minutes, minutes, slugs=slugs)
    return url, engine, now


def app_env(monkeypatch: pytest.MonkeyPatch, url: str, *, config: Path = EXAMPLE_CONFIG,
            extra: Mapping[str, str] | None = None) -> None:
    """The environment the dashboard reads: the store, the config, absolute SLO globs."""
    monkeypatch.setenv("APOLLO_DATABASE_URL", url)
    monkeypatch.setenv("APOLLO_CONFIG", str(config))
    monkeypatch.setenv("APOLLO_SLO_FILES", SLO_FILES)
    for name, value in (extra or {}).items():
        monkeypatch.setenv(name, value)
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()


def run_page(page: str | None, params: Mapping[str, str] | None = None):
    """The shell (streamlit_app.py) run once with `page` (a file under dashboard/pages, or
    the default page) and the URL's `params`."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S)
    for name, value in (params or {}).items():
        app.query_params[name] = value
    if page is not None:
        app.switch_page(f"dashboard/pages/{page}")
    return app.run()


def texts(app, kind: str) -> list[str]:
    """The values of every element of one kind (markdown, caption, error, info…)."""
    return [str(e.value) for e in getattr(app, kind)]


# --- Chromium ---------------------------------------------------------------------------------


def _loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if url.startswith(("data:", "blob:", "about:")):
        return True
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextmanager
def watched_page(browser, *, width: int = 1400, height: int = 1000) -> Iterator[object]:
    """A page that records every request leaving the machine; the test fails on any."""
    page = browser.new_page(viewport={"width": width, "height": height})
    outside: list[str] = []
    page.on("request", lambda request: None if _loopback(request.url)
            else outside.append(request.url))
    yield page
    assert outside == [], f"requests left the machine: {outside[:5]}"


def no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0, \
        page.locator("[data-testid=stException]").first.inner_text()


def screenshot_whole(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main block, so the viewport grows to
    it. Kept under screenshots/ as the test's artefact."""
    SCREENSHOTS.mkdir(exist_ok=True)
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, int(height) + 100)})
    page.wait_for_timeout(800)  # plotly redraws at the new size
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path


def plotly_data(page, index: int) -> list[dict]:
    """The traces of the page's `index`-th plotly chart as the browser holds them."""
    return page.evaluate(
        "i => document.querySelectorAll('.js-plotly-plot')[i]._fullData"
        ".map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)}))", index)


def plotly_layout(page, index: int) -> dict:
    return page.evaluate(
        "i => { const l = document.querySelectorAll('.js-plotly-plot')[i].layout;"
        " return {title: l.title && l.title.text, xrange: l.xaxis.range}; }", index)
