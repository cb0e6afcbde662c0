"""The dashboard in Chromium: first paint, page switches and a cached rerun of `apollo
dashboard` over 30 days of the demo fleet, beside a tiny Streamlit script (the floor that
Streamlit and plotly.js set on this machine), and each page's data time server-side.

    .venv/bin/python bench/dashboard.py [--days 30] [--runs 5] [--range-hours 24]
                                        [--cache-dir /tmp/apollo-bench-api]
                                        [--page-timeout 60] [--skip-browser] [--skip-data]

The store is bench/api.py's: `--days` of the seed's fleet written by `write_history` and
rolled up, ending at a fixed instant (bench.api.END, 2026-11-04 10:00 UTC), built once and
kept under `--cache-dir`. Each run copies it into a temp dir (the dashboard never touches
the kept file) and adds the two documents the example configuration lists
(docs/platform/roadmap.md and costs.md, through the collectors' own functions), so the
Roadmap and Cost pages draw. The history writes no alerts, collector runs or engagement
days: the Alerts, Targets and Engagement pages draw their empty states.

Every page is opened on the last `--range-hours` of the data as a fixed range in the URL
(`?from=<ISO>&to=<ISO>`, dashboard/context.py): a fixed range has no auto-refresh, so
nothing reruns on its own while a figure is taken. The dashboard runs as `apollo
dashboard` serves it (APOLLO_DASHBOARD__PORT=0, the configuration through APOLLO_CONFIG,
the data dir a temp dir so no running demo fleet is seen). Chromium is Debian's, launched
by Playwright as DESIGN.md says, plus `--host-resolver-rules` that resolve no name but
loopback ones: the browser cannot reach beyond the machine, and any request to another
host is counted and printed. Viewport 1600 x 1000.

"Drawn" (the one predicate every figure waits for, checked by Playwright on every
animation frame): Streamlit's app element says its script is not running
(`[data-testid=stApp][data-test-script-state=notRunning]`); for a switch or a rerun, the
server's ScriptFinished message for a run arrived after the click or key press (a script
installed before the page loads reads it off the websocket: a fast run's "running" state
may never reach the DOM); the page's title (`h1`) is the page's; no element is stale
(`data-stale=true`, left from the previous run), no skeleton or spinner shows; every
plotly chart (`[data-testid=stPlotlyChart]`) holds a `.js-plotly-plot` with its
`.main-svg`, and every dataframe (`[data-testid=stDataFrame]`) its canvas. The time is
`performance.now()` in the page at the first frame where all of that holds. Beside it:
"after", the part after the ScriptFinished message arrived (what the browser still had to
draw once the server was done; the rest is the server's run, the transfer and the
browser's work while deltas streamed in), and the websocket's KiB meanwhile.

- cold first paint: a fresh `apollo dashboard` process (healthy on /_stcore/health) and a
  fresh browser context; navigation start (`performance.timeOrigin`) until drawn. The
  server's caches and the browser's HTTP cache are empty.
- warm first paint: right after the cold one, a new page in the same browser context
  (HTTP cache warm) on the same server (`st.cache_data` entries of the first visit, kept
  30 s, still there); navigation start until drawn.
- cached rerun: on the warm page, the "r" key (Streamlit's rerun), from just before the
  key press until drawn again.
- page switch: on that page, a click on the sidebar's link to each page in turn, from the
  click until the page is drawn: first the page's first visit ("first visit": its data
  read on this server, and whatever the browser loads for its first element of a kind in
  this tab, such as plotly.js for the first chart), then back to the overview, then the
  page again ("cached": its reads seconds old, still in `st.cache_data`). "Fleet
  overview" is the switch back to it (every page's turn counts).
- floor: an app written to a temp dir (`floor.py`, two pages in st.navigation), served
  with `apollo dashboard`'s Streamlit options (services.runtime.processes
  .dashboard_command), a fresh process each time, measured the same way: its overview
  holds a title and as many plotly line charts of 100 points and dataframes of 8 rows
  (with a 100-point sparkline column) as the overview was drawn with (cold, warm, rerun);
  its second page as many as the page drawn with the most plotly charts (first visit,
  back, cached), printed beside that page's switches.

Each figure is taken in `--runs` sessions (a fresh server each), the app's and the floor's
sessions interleaved; the median is printed with every run. A wait is bounded by
`--page-timeout` s: a page that never finishes is reported as such, and the session goes
on from a fresh load.

Data time: each page is run once through the shell in `streamlit.testing.v1.AppTest` (same
range, same store) with every function of the `dashboard/data` modules wrapped, recording
the calls the page makes itself (not those one data function makes of another) with their
arguments; then, outside Streamlit, those calls are made again in order with
`st.cache_data` emptied first, `--runs` times: the median is the page's data time (every
read of the page against the store, and what the data edge composes from it). The AppTest
run's own wall time (uncached, and once more cached) is printed beside it as the page's
whole server-side run. Ranges: the browser's, and 7 days.

Targets (issue 10): warm first paint within 1.5x of the floor's and under 3.5 s; page
switch under 1.5 s; cached rerun under 0.5 s; data under 200 ms per page. The cold first
paint has no target.

Not a unit test: figures vary with the machine and its load (the CPU other processes used
while it ran is printed: above ~0.1 core the figures are suspect).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import pkgutil
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parents[1]
for path in (str(ROOT / "tests"), str(ROOT)):  # ROOT first: `dashboard` is the package,
    if path in sys.path:                       # not this file (its folder is on the path)
        sys.path.remove(path)
    sys.path.insert(0, path)

from bench.alerting_outbox import OthersCpu  # noqa: E402
from bench.api import END, free_port, sqlite_store  # noqa: E402
from bench.machine import machine_line  # noqa: E402

VIEWPORT = {"width": 1600, "height": 1000}
LOOPBACK_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"
FLOOR_POINTS = 100
FLOOR_ROWS = 8
FLOOR_TITLE = "Floor"
FLOOR_CHARTS = SimpleNamespace(title="Floor charts", url_path="charts", default=False)
FLOOR_OVERVIEW = SimpleNamespace(title=FLOOR_TITLE, url_path="", default=True)
TARGET_WARM_RATIO = 1.5
TARGET_WARM_S = 3.5
TARGET_SWITCH_S = 1.5
TARGET_RERUN_S = 0.5
TARGET_DATA_MS = 200.0
APPTEST_TIMEOUT_S = 180

# Installed before any page script: the time each of the server's ScriptFinished messages
# arrives (ForwardMsg field 6, a varint: 0 finished, 2 stopped for a rerun, 3 a fragment
# finished), read from the top-level fields of each websocket message. A fast run's
# "running" state may never reach the DOM (React renders both states in one commit), so
# the message, not the attribute, says that a run ended after an action.
RECORDER_JS = """
(() => {
  const bench = window.__bench = {finished: [], bytes: []};
  const finishedStatus = (buffer) => {
    const bytes = new Uint8Array(buffer);
    let i = 0;
    const varint = () => {
      let value = 0, shift = 0, byte;
      do { byte = bytes[i++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; }
      while (byte & 0x80 && i < bytes.length);
      return value;
    };
    while (i < bytes.length) {
      const tag = varint(), number = Math.floor(tag / 8), wire = tag % 8;
      if (wire === 0) { const value = varint(); if (number === 6) return value; }
      else if (wire === 1) i += 8;
      else if (wire === 2) { const length = varint(); i += length; }
      else if (wire === 5) i += 4;
      else return null;
    }
    return null;
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        if (!(event.data instanceof ArrayBuffer)) return;
        bench.bytes.push([performance.now(), event.data.byteLength]);
        const status = finishedStatus(event.data);
        if (status === 0 || status === 3) bench.finished.push(performance.now());
      });
    }
  };
})();
"""

# The "drawn" predicate of the docstring: performance.now() when it holds, else false.
DRAWN_JS = """
({title, since}) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (since !== null && !(window.__bench && window.__bench.finished.some((t) => t >= since)))
    return false;
  const heading = document.querySelector('h1');
  if (!heading || heading.textContent.trim() !== title) return false;
  if (document.querySelector('[data-stale="true"], [data-testid="stSkeleton"], '
      + '[data-testid="stAppSkeleton"], [data-testid="stSpinner"]')) return false;
  for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"]'))
    if (!chart.querySelector('.js-plotly-plot .main-svg')) return false;
  for (const frame of document.querySelectorAll('[data-testid="stDataFrame"]'))
    if (!frame.querySelector('canvas')) return false;
  const now = performance.now(), from = since === null ? 0 : since;
  const ends = (window.__bench ? window.__bench.finished : []).filter((t) => t >= from);
  const bytes = (window.__bench ? window.__bench.bytes : []).filter(([t]) => t >= from)
    .reduce((sum, [, n]) => sum + n, 0);
  return {at: now, finished: ends.length ? ends[ends.length - 1] : null, bytes};
}
"""

# Why DRAWN_JS does not hold (for the report of a page that never finishes).
WHY_JS = """
({title, since}) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const why = [];
  why.push('script ' + (app ? app.getAttribute('data-test-script-state') : 'no app'));
  if (since !== null && !(window.__bench && window.__bench.finished.some((t) => t >= since)))
    why.push('no run finished after the action');
  const heading = document.querySelector('h1');
  why.push('title ' + (heading ? JSON.stringify(heading.textContent.trim()) : 'none'));
  why.push(document.querySelectorAll('[data-stale="true"]').length + ' stale');
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  why.push(charts.filter((c) => !c.querySelector('.js-plotly-plot .main-svg')).length
           + ' of ' + charts.length + ' charts undrawn');
  const frames = [...document.querySelectorAll('[data-testid="stDataFrame"]')];
  why.push(frames.filter((f) => !f.querySelector('canvas')).length + ' of ' + frames.length
           + ' frames undrawn');
  return why.join(', ') + ' at ' + location.pathname;
}
"""

COUNT_JS = """
() => ({
  charts: document.querySelectorAll('[data-testid="stPlotlyChart"]').length,
  frames: document.querySelectorAll('[data-testid="stDataFrame"]').length,
  exceptions: document.querySelectorAll('[data-testid="stException"]').length,
  points: [...document.querySelectorAll('.js-plotly-plot')].map(
    (p) => (p.data || []).map((t) => (t.x || t.y || []).length)),
})
"""

FLOOR_SCRIPT = '''
"""The floor: what Streamlit and plotly.js cost on this machine. Two pages in st.navigation:
the overview's counterpart ({charts} plotly line charts of {points} points, {frames}
dataframes of {rows} rows) and the chart page's ({charts_b} charts, {frames_b} frames)."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="{title}", layout="wide")
X = pd.date_range("2026-11-03 10:00", periods={points}, freq="min", tz="UTC")
TREND = [np.sin(np.arange({points}) / 9 + i).round(3).tolist() for i in range({rows})]


def draw(title, charts, frames):
    st.title(title)
    st.caption(f"{{charts}} charts of {points} points, {{frames}} dataframes of {rows} rows")
    for i in range(frames):
        st.dataframe(pd.DataFrame({{"name": [f"service {{j}}" for j in range({rows})],
                                   "value": np.arange({rows}) * 1.5 + i, "trend": TREND}}),
                     hide_index=True, width="stretch",
                     column_config={{"trend": st.column_config.LineChartColumn()}})
    columns = st.columns(2)
    for i in range(charts):
        figure = go.Figure(go.Scatter(x=X, y=np.sin(np.arange({points}) / 7 + i), mode="lines"))
        figure.update_layout(title=f"chart {{i + 1}}", height=320)
        columns[i % 2].plotly_chart(figure, width="stretch", theme="streamlit")


def overview():
    draw("{title}", {charts}, {frames})


def charts():
    draw("{title_b}", {charts_b}, {frames_b})


st.navigation([st.Page(overview, title="{title}", default=True),
               st.Page(charts, title="{title_b}", url_path="{path_b}")]).run()
'''


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the store ------------------------------------------------------------------------------


def prepared_store(cache: Path, days: float, work: Path) -> tuple[Path, str]:
    """A copy of bench/api.py's kept store in `work`, with the configured roadmap and cost
    documents added as the collectors write them; (path, what was added)."""
    from collectors.cost import collect_cost_file
    from collectors.roadmap import collect_roadmap
    from services.store.engine import make_engine

    kept = sqlite_store(cache, days)
    path = work / "apollo.db"
    shutil.copy(kept, path)
    engine = make_engine(f"sqlite:///{path}")
    month = datetime.fromtimestamp(END, UTC).date().replace(day=1)
    added = []
    roadmap = ROOT / "docs" / "platform" / "roadmap.md"
    costs = ROOT / "docs" / "platform" / "costs.md"
    if roadmap.is_file():
        collect_roadmap(engine, roadmap, document="docs/platform/roadmap.md")
        added.append("roadmap.md")
    if costs.is_file():
        collect_cost_file(engine, costs, month=month, source="docs/platform/costs.md")
        added.append(f"costs.md as {month:%Y-%m}")
    engine.dispose()
    return path, ", ".join(added) or "nothing"


def dashboard_env(store: Path, work: Path) -> dict[str, str]:
    """What `apollo dashboard` (and the in-process data phase) reads."""
    from services.config import EXAMPLE_CONFIG

    return {"APOLLO_DATABASE_URL": f"sqlite:///{store}", "APOLLO_CONFIG": str(EXAMPLE_CONFIG),
            "APOLLO_SLO_FILES": json.dumps([str(ROOT / "slos" / "*.yaml")]),
            "APOLLO_DATA_DIR": str(work / "var"), "APOLLO_FLEET__EVENTS__ENABLED": "false"}


# --- servers --------------------------------------------------------------------------------


@contextmanager
def apollo_dashboard(env: dict[str, str], work: Path) -> Iterator[str]:
    """`apollo dashboard` on a fresh port (tests/harness/dashboard.py); its address."""
    from harness.dashboard import running_dashboard

    with running_dashboard(env["APOLLO_DATABASE_URL"], work, env=env) as address:
        yield address


@contextmanager
def floor_server(script: Path, env: dict[str, str], timeout_s: float) -> Iterator[str]:
    """The floor script under `apollo dashboard`'s Streamlit options, ready on /_stcore/health."""
    import httpx

    from services.runtime.processes import dashboard_command

    port = free_port()
    process = subprocess.Popen(dashboard_command("127.0.0.1", port, app=script),
                               env={**os.environ, **env}, cwd=script.parent,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/_stcore/health", timeout=2, trust_env=False).text == "ok":
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the floor's Streamlit did not start (exit {process.poll()})")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_floor(directory: Path, overview: dict[str, Any], charts: dict[str, Any]) -> Path:
    """floor.py: the overview's counts on its first page, the chart page's on its second."""
    script = directory / "floor.py"
    script.write_text(textwrap.dedent(FLOOR_SCRIPT).format(
        charts=overview["charts"], frames=overview["frames"], charts_b=charts["charts"],
        frames_b=charts["frames"], points=FLOOR_POINTS, rows=FLOOR_ROWS, title=FLOOR_TITLE,
        title_b=FLOOR_CHARTS.title, path_b=FLOOR_CHARTS.url_path))
    return script


def chart_page(pages: list[Any], seen: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The page drawn with the most plotly charts (the floor's second page copies it)."""
    drawn = [(seen[p.url_path], p) for p in pages[1:] if p.url_path in seen]
    if not drawn:
        return None, {"charts": 1, "frames": 0}
    found, spec = max(drawn, key=lambda x: (x[0]["charts"], x[0]["frames"]))
    return spec, found


# --- the browser ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """One figure: seconds until drawn, of them the seconds after the server's run ended
    (its ScriptFinished message: what the browser still had to draw), and the KiB the
    websocket brought meanwhile."""

    seconds: float
    after_run_s: float | None
    kib: float


@dataclass
class Figures:
    """Seconds per figure name, one entry per run (None: not drawn within the timeout)."""

    values: dict[str, list[Taken | None]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: Taken | None) -> None:
        self.values.setdefault(name, []).append(value)


class Browser:
    """One Chromium for the whole run; a context per session. Requests to any host but
    loopback are counted (and cannot resolve)."""

    def __init__(self, stack: ExitStack, timeout_s: float) -> None:
        from harness.dashboard import CHROMIUM_ARGS
        from playwright.sync_api import sync_playwright

        self.playwright = stack.enter_context(sync_playwright())
        self.browser = self.playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=[*CHROMIUM_ARGS, LOOPBACK_ONLY])
        stack.callback(self.browser.close)
        self.timeout_ms = timeout_s * 1000
        self.outside: list[str] = []
        self.exceptions: dict[str, int] = {}
        self.problems: list[str] = []

    @property
    def version(self) -> str:
        return str(self.browser.version)

    def context(self) -> Any:
        context = self.browser.new_context(viewport=VIEWPORT)
        context.add_init_script(RECORDER_JS)
        context.on("request", self._request)
        return context

    def _request(self, request: Any) -> None:
        parsed = urlparse(request.url)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in (
                "127.0.0.1", "localhost", "::1"):
            self.outside.append(request.url)

    def drawn(self, page: Any, title: str, since: float | None) -> Taken | None:
        """From `since` (performance.now(), ms; None: navigation start) until the page is
        drawn; None when not within the timeout."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            handle = page.wait_for_function(DRAWN_JS, arg={"title": title, "since": since},
                                            polling="raf", timeout=self.timeout_ms)
        except PlaywrightTimeout:
            self.problems.append(f"{title}: not drawn within {self.timeout_ms / 1000:g} s "
                                 f"({page.evaluate(WHY_JS, {'title': title, 'since': since})})")
            return None
        found = page.evaluate(COUNT_JS)
        if found["exceptions"]:
            self.exceptions[title] = max(self.exceptions.get(title, 0), found["exceptions"])
        found = handle.json_value()
        start = 0.0 if since is None else since
        finished = found["finished"]
        return Taken((found["at"] - start) / 1000,
                     None if finished is None else (found["at"] - finished) / 1000,
                     found["bytes"] / 1024)

    def first_paint(self, page: Any, url: str, title: str) -> Taken | None:
        """Seconds from navigation start until drawn."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            page.goto(url, wait_until="commit", timeout=self.timeout_ms)
        except PlaywrightError as exc:
            self.problems.append(f"{url}: {str(exc).splitlines()[0]}")
            return None
        return self.drawn(page, title, None)

    def rerun(self, page: Any, title: str) -> Taken | None:
        """Seconds from the "r" key until drawn again."""
        page.mouse.click(VIEWPORT["width"] - 40, VIEWPORT["height"] - 20)  # focus: the page
        since = float(page.evaluate("performance.now()"))
        page.keyboard.press("r")
        return self.drawn(page, title, since)

    def switch(self, page: Any, spec: Any) -> Taken | None:
        """Seconds from a click on the sidebar's link to the page until drawn."""
        path = "/" if spec.default else f"/{spec.url_path}"
        since = page.evaluate("""(path) => {
          const links = [...document.querySelectorAll('[data-testid="stSidebarNavLink"]')];
          const link = links.find((a) => new URL(a.href).pathname === path);
          if (!link) return null;
          const t = performance.now();
          link.click();
          return t;
        }""", path)
        if since is None:
            self.problems.append(f"no link to {path} in the sidebar")
            return None
        return self.drawn(page, spec.title, float(since))


def counts(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(COUNT_JS))


def app_session(browser: Browser, address: str, query: str, pages: list[Any],
                out: Figures, seen: dict[str, Any]) -> None:
    """Cold and warm first paint of the overview, a cached rerun, and the switches."""
    overview, others = pages[0], pages[1:]
    context = browser.context()
    try:
        page = context.new_page()
        cold = browser.first_paint(page, f"{address}/?{query}", overview.title)
        out.add("cold", cold)
        if cold is not None and "overview" not in seen:
            seen["overview"] = counts(page)
        warm_page = context.new_page()
        page.close()
        warm = browser.first_paint(warm_page, f"{address}/?{query}", overview.title)
        out.add("warm", warm)
        if warm is None:
            warm_page.close()
            return
        out.add("rerun", browser.rerun(warm_page, overview.title))
        page = warm_page
        for spec in others:
            for name, target in ((f"first:{spec.url_path}", spec),
                                 ("back:overview", overview),
                                 (f"cached:{spec.url_path}", spec)):
                took = browser.switch(page, target)
                out.add(name, took)
                if took is None:  # start again from a fresh load of the overview
                    out.notes.append(f"switch to {target.title} not drawn within the timeout")
                    if browser.first_paint(page, f"{address}/?{query}", overview.title) is None:
                        return
                elif target is spec and name.startswith("first:"):
                    seen.setdefault(spec.url_path, counts(page))
    finally:
        context.close()


def floor_session(browser: Browser, address: str, out: Figures) -> None:
    """As app_session, on the floor: its overview, then its chart page."""
    context = browser.context()
    try:
        page = context.new_page()
        out.add("cold", browser.first_paint(page, address, FLOOR_TITLE))
        warm_page = context.new_page()
        page.close()
        warm = browser.first_paint(warm_page, address, FLOOR_TITLE)
        out.add("warm", warm)
        if warm is None:
            return
        out.add("rerun", browser.rerun(warm_page, FLOOR_TITLE))
        out.add("first:charts", browser.switch(warm_page, FLOOR_CHARTS))
        out.add("back:overview", browser.switch(warm_page, FLOOR_OVERVIEW))
        out.add("cached:charts", browser.switch(warm_page, FLOOR_CHARTS))
    finally:
        context.close()


def browser_phase(args: argparse.Namespace, env: dict[str, str], work: Path, query: str,
                  pages: list[Any]) -> tuple[Figures, Figures, dict[str, Any], Browser, float]:
    app, floor = Figures(), Figures()
    seen: dict[str, Any] = {}
    others = OthersCpu()
    with ExitStack() as stack:
        browser = Browser(stack, args.page_timeout)
        for run in range(args.runs):
            with apollo_dashboard(env, work) as address:
                app_session(browser, address, query, pages, app, seen)
            shown = seen.get("overview", {"charts": 0, "frames": 0})
            script = write_floor(work, shown, chart_page(pages, seen)[1])
            with floor_server(script, env, args.page_timeout) as address:
                floor_session(browser, address, floor)
            progress(f"browser run {run + 1} of {args.runs} done")
        return app, floor, seen, browser, others.cores()


# --- data time ------------------------------------------------------------------------------


@dataclass
class Call:
    name: str
    function: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class Recorder:
    """Wraps every public function of the dashboard/data modules; records the calls made
    from outside them (depth 0) with their arguments."""

    SKIP = frozenset({"settings", "engine", "connect"})  # opened once per process

    def __init__(self) -> None:
        import dashboard.data as package

        self.calls: list[Call] = []
        self.depth = 0
        self.saved: list[tuple[Any, str, Any]] = []
        modules = [package] + [importlib.import_module(f"dashboard.data.{m.name}")
                               for m in pkgutil.iter_modules(package.__path__)]
        for module in modules:
            for name, value in list(vars(module).items()):
                if name.startswith("_") or name in self.SKIP or not callable(value):
                    continue
                home = getattr(value, "__module__", None) or getattr(
                    getattr(value, "__wrapped__", None), "__module__", None)
                if home != module.__name__ and type(value).__name__ != "CachedFunc":
                    continue
                if isinstance(value, type):
                    continue
                self.saved.append((module, name, value))
                setattr(module, name, self._wrap(f"{module.__name__.split('.')[-1]}.{name}",
                                                 value))

    def _wrap(self, name: str, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self.depth == 0:
                self.calls.append(Call(name, original, args, kwargs))
            self.depth += 1
            try:
                return original(*args, **kwargs)
            finally:
                self.depth -= 1

        wrapper.clear = getattr(original, "clear", lambda: None)  # type: ignore[attr-defined]
        return wrapper

    def restore(self) -> None:
        for module, name, value in self.saved:
            setattr(module, name, value)


@dataclass
class DataTime:
    page: str
    range_label: str
    calls: list[str]
    total_ms: list[float]
    slowest: list[tuple[str, float]]  # (call, median ms), the slowest first
    run_uncached_s: float | None
    run_cached_s: float | None
    problem: str | None = None


def run_in_apptest(spec: Any, params: dict[str, str],
                   recorder: Recorder) -> tuple[float, float, str | None]:
    """Seconds of an uncached run of the page through the shell (its data calls recorded)
    and of a cached one right after it (not recorded)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def once() -> tuple[float, Any]:
        app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=APPTEST_TIMEOUT_S)
        for name, value in params.items():
            app.query_params[name] = value
        if not spec.default:
            app.switch_page(spec.file)
        started = time.perf_counter()
        app.run()
        return time.perf_counter() - started, app

    st.cache_data.clear()
    try:
        uncached, app = once()
    finally:
        recorder.restore()
    cached, _ = once()
    problem = None
    if app.exception:
        problem = "; ".join(str(e.value)[:200] for e in app.exception)
    return uncached, cached, problem


def data_phase(args: argparse.Namespace, pages: list[Any],
               ranges: list[tuple[str, int, int]]) -> tuple[list[DataTime], float]:
    import streamlit as st
    from streamlit.logger import set_log_level

    others = OthersCpu()
    out = []
    for label, start, end in ranges:
        params = {"from": iso(start), "to": iso(end)}
        for spec in pages:
            recorder = Recorder()
            try:
                uncached, cached, problem = run_in_apptest(spec, params, recorder)
            except Exception as exc:  # a page that does not finish is reported
                uncached = cached = None
                problem = f"{type(exc).__name__}: {str(exc)[:200]}"
            finally:
                recorder.restore()
            set_log_level("error")  # AppTest set Streamlit's loggers from its config again
            calls = recorder.calls
            totals: list[float] = []
            each: dict[int, list[float]] = {i: [] for i in range(len(calls))}
            for _ in range(args.runs):
                st.cache_data.clear()
                started = time.perf_counter()
                for i, call in enumerate(calls):
                    t0 = time.perf_counter()
                    call.function(*call.args, **call.kwargs)
                    each[i].append((time.perf_counter() - t0) * 1000)
                totals.append((time.perf_counter() - started) * 1000)
            slowest = sorted(((calls[i].name, statistics.median(v)) for i, v in each.items()),
                             key=lambda x: -x[1])
            out.append(DataTime(spec.title, label, [c.name for c in calls], totals, slowest,
                                uncached, cached, problem))
            progress(f"data {label} {spec.title}: {statistics.median(totals):.0f} ms")
    return out, others.cores()


# --- the report -----------------------------------------------------------------------------


def median(values: list[float | None]) -> float | None:
    """The median of the runs that finished; None when any did not (a page that never
    finishes is not judged on the ones that did)."""
    done = [v for v in values if v is not None]
    if not done or len(done) < len(values):
        return None
    return statistics.median(done)


def medians(taken: list[Taken | None]) -> tuple[float | None, float | None, float | None]:
    """(seconds, seconds after the run, KiB): medians over the runs."""
    seconds = median([t.seconds if t else None for t in taken])
    done = [t for t in taken if t is not None]
    after = [t.after_run_s for t in done if t.after_run_s is not None]
    return (seconds, statistics.median(after) if after else None,
            statistics.median(t.kib for t in done) if done else None)


def runs_text(taken: list[Taken | None]) -> str:
    return " ".join("—" if t is None else f"{t.seconds:.2f}" for t in taken)


def verdict(ok: bool, text: str) -> str:
    return f"{'PASS' if ok else 'MISS'} ({text})"


def report(app: Figures, floor: Figures, pages: list[Any], seen: dict[str, Any],
           data: list[DataTime]) -> None:
    if app.values:
        browser_report(app, floor, pages, seen)
    if data:
        data_report(data)


def browser_report(app: Figures, floor: Figures, pages: list[Any],
                   seen: dict[str, Any]) -> None:
    overview = pages[0]
    shown = seen.get("overview", {})
    chart_spec, charted = chart_page(pages, seen)
    print()
    print(f"floor: two pages as counted here, {FLOOR_POINTS}-point charts and {FLOOR_ROWS}-row "
          f"frames with a {FLOOR_POINTS}-point sparkline column: the overview's "
          f"({shown.get('charts', '?')} plotly charts, {shown.get('frames', '?')} dataframes) "
          f"and the page with the most charts, "
          f"{chart_spec.title if chart_spec else '(none)'}'s ({charted['charts']} charts, "
          f"{charted['frames']} dataframes), its switches beside that page's")
    print(f"{'figure':<38}{'median s':>9}{'after':>7}{'KiB':>7}{'floor s':>9}{'ratio':>7}"
          f"  {'runs (s)':<31}target")

    def line(label: str, taken: list[Taken | None], base: float | None, runs: str,
             judged: str) -> None:
        value, after, kib = medians(taken)
        ratio = value / base if value is not None and base else None
        print(f"{label:<38}{fmt(value):>9}{fmt(after):>7}{fmt(kib, ',.0f'):>7}"
              f"{fmt(base) if base is not None else '':>9}"
              f"{(f'{ratio:.2f}x' if ratio is not None else ''):>7}  {runs:<31}{judged}")

    floors = {k: medians(floor.values.get(k, []))[0] for k in ("cold", "warm", "rerun")}
    warm = medians(app.values.get("warm", []))[0]
    warm_ok = (warm is not None and floors["warm"] is not None
               and warm <= TARGET_WARM_RATIO * floors["warm"] and warm < TARGET_WARM_S)
    rerun = medians(app.values.get("rerun", []))[0]
    for label, key, judged in (
            ("cold first paint", "cold", "(no target)"),
            ("warm first paint", "warm", verdict(warm_ok, f"≤ {TARGET_WARM_RATIO:g}x floor "
                                                          f"and < {TARGET_WARM_S:g} s")),
            ("cached rerun (r)", "rerun", verdict(rerun is not None and rerun < TARGET_RERUN_S,
                                                  f"< {TARGET_RERUN_S:g} s"))):
        taken = app.values.get(key, [])
        line(f"{label}, {overview.title}", taken, floors[key], runs_text(taken), judged)
    for spec in pages[1:]:
        for kind in ("first", "cached"):
            taken = app.values.get(f"{kind}:{spec.url_path}", [])
            word = "first visit" if kind == "first" else "cached"
            base = medians(floor.values.get(f"{kind}:charts", []))[0] \
                if spec is chart_spec else None
            line(f"switch to {spec.title} ({word})", taken, base, runs_text(taken),
                 switch_verdict(medians(taken)[0]))
    back = app.values.get("back:overview", [])
    line(f"switch to {overview.title}", back, medians(floor.values.get("back:overview", []))[0],
         f"{len(back)} switches", switch_verdict(medians(back)[0]))
    print("after: seconds from the server's end of the run (ScriptFinished) until drawn; "
          "KiB: websocket bytes meanwhile")
    print("floor: " + "; ".join(
        f"{k} {runs_text(v)} (after {fmt(medians(v)[1])}, {fmt(medians(v)[2], ',.0f')} KiB)"
        for k, v in floor.values.items()))
    drawn = []
    for spec in pages:
        found = seen.get("overview" if spec is overview else spec.url_path)
        if found is None:
            continue
        traces = [n for chart in found["points"] for n in chart]
        drawn.append(f"{spec.title} {found['charts']} charts, {found['frames']} frames"
                     + (f", {len(traces)} traces of up to {max(traces)} points" if traces
                        else ""))
    if drawn:
        print("pages as drawn: " + "; ".join(drawn))
    for note in app.notes + floor.notes:
        print(f"!! {note}")


def data_report(data: list[DataTime]) -> None:
    print()
    print(f"{'data time (server side)':<24}{'range':>6}{'median ms':>10}{'calls':>6}"
          f"{'run s':>7}{'cached':>7}  {'slowest calls (median ms)':<46}target")
    for d in data:
        value = statistics.median(d.total_ms) if d.total_ms else None
        slow = ", ".join(f"{n} {ms:.0f}" for n, ms in d.slowest[:2]) or "no data call"
        judged = verdict(value is not None and value < TARGET_DATA_MS, f"< {TARGET_DATA_MS:g} ms")
        print(f"{d.page:<24}{d.range_label:>6}{fmt(value, '.0f'):>10}{len(d.calls):>6}"
              f"{fmt(d.run_uncached_s):>7}{fmt(d.run_cached_s):>7}  {slow:<46}{judged}")
        if d.problem:
            print(f"  !! {d.page} ({d.range_label}) in AppTest: {d.problem}")
        if value is not None and value >= TARGET_DATA_MS:
            print("    its calls (median ms): " + ", ".join(
                f"{n} {ms:.0f}" for n, ms in d.slowest if ms >= 1))
    print("calls: data calls of one run (the shell's included); run s / cached: the page's "
          "whole run through the shell in AppTest, st.cache_data empty / kept")


def switch_verdict(value: float | None) -> str:
    return verdict(value is not None and value < TARGET_SWITCH_S, f"< {TARGET_SWITCH_S:g} s")


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def stack_line(browser_version: str | None) -> str:
    from importlib.metadata import version

    chromium = f", Chromium {browser_version}" if browser_version else ""
    return (f"python {sys.version.split()[0]}, streamlit {version('streamlit')}, plotly "
            f"{version('plotly')}, playwright {version('playwright')}{chromium}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--range-hours", type=float, default=24,
                        help="the range every page shows: the data's last hours")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/apollo-bench-api"))
    parser.add_argument("--page-timeout", type=float, default=60,
                        help="seconds a page may take to be drawn before it is reported")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-data", action="store_true")
    args = parser.parse_args()

    warnings.filterwarnings("ignore")
    # Streamlit's loggers, before anything imports it: no "No runtime found" or "missing
    # ScriptRunContext" at every cached call made outside Streamlit.
    os.environ["STREAMLIT_LOGGER_LEVEL"] = "error"
    from streamlit.logger import set_log_level

    set_log_level("error")
    print(machine_line(), flush=True)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    started = OthersCpu()
    with tempfile.TemporaryDirectory(prefix="apollo-bench-dashboard-") as tmp:
        work = Path(tmp)
        store, added = prepared_store(args.cache_dir, args.days, work)
        env = dashboard_env(store, work)
        os.environ.update(env)  # the data phase reads the same store and configuration
        from dashboard.shell import available_pages

        pages = available_pages(ROOT)
        start = END - int(args.range_hours * 3600)
        query = urlencode({"from": iso(start), "to": iso(END)})
        stamp = datetime.fromtimestamp(END, UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"store: {args.days:g} days of the seed's fleet ending {stamp} (+ {added}); "
              f"pages over {iso(start)} to {iso(END)}; {args.runs} runs, medians", flush=True)
        app = floor = Figures()
        seen: dict[str, Any] = {}
        browser_version = None
        browser_load = data_load = None
        if not args.skip_browser:
            app, floor, seen, browser, browser_load = browser_phase(args, env, work, query,
                                                                    pages)
            browser_version = browser.version
            if browser.outside:
                print(f"!! {len(browser.outside)} requests beyond loopback, e.g. "
                      f"{browser.outside[0]}")
            for problem in browser.problems[:5]:
                print(f"!! {problem}")
            for title, n in browser.exceptions.items():
                print(f"!! {title}: {n} exception element(s) on the page")
        data: list[DataTime] = []
        if not args.skip_data:
            ranges = [(f"{args.range_hours:g}h", start, END), ("7d", END - 7 * 86_400, END)]
            data, data_load = data_phase(args, pages, ranges)
        print(stack_line(browser_version))
        report(app, floor, pages, seen, data)
        loads = [f"browser phase {browser_load:.2f}" if browser_load is not None else "",
                 f"data phase {data_load:.2f}" if data_load is not None else "",
                 f"whole run {started.cores():.2f}"]
        print(f"load: other processes used {', '.join(x for x in loads if x)} cores "
              f"(of {len(os.sched_getaffinity(0))}) while this ran")


if __name__ == "__main__":
    main()
