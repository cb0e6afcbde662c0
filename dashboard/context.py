"""The view every page shares: one time range and one environment, chosen in the sidebar by
the shell (`streamlit_app.py`) and kept in the URL (`from`, `to`, `env`), so a link opens
the same view. Pages read it with `current()`; they never draw their own range picker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st

from services.config import Settings
from services.errors import InputError
from services.store.series import STEPS, Resolution
from services.timerange import TimeRange, is_relative, parse_range

# label -> `from` text; `to` is "now" for every preset
PRESETS: dict[str, str] = {
    "Last 1 hour": "now-1h",
    "Last 6 hours": "now-6h",
    "Last 24 hours": "now-24h",
    "Last 7 days": "now-7d",
    "Last 30 days": "now-30d",
}
DEFAULT_FROM, DEFAULT_TO = "now-6h", "now"
MAX_POINTS = 1500  # per trace: a finer step would draw more points than pixels
TREND_POINTS = 300  # per sparkline cell
_KEY = "apollo.view"


def resolution_for(seconds: int) -> Resolution:
    """The finest stored step that keeps `seconds` under MAX_POINTS intervals."""
    for resolution, step in STEPS.items():
        if seconds / step <= MAX_POINTS:
            return resolution
    return "hour"


@dataclass(frozen=True)
class View:
    """`[start, end)` in whole-minute Unix seconds, as typed (`from_text`, `to_text`), read
    against `now`; `environment` scopes every page when several are configured.

    `start` is aligned down to the view's step (`step_s`), so every interval a page reads
    is whole: a 5-minute or hour read covers whole intervals from `start` (as the API's
    series does), and a figure over the range sums exactly what its chart draws."""

    start: int
    end: int
    now: int
    from_text: str = DEFAULT_FROM
    to_text: str = DEFAULT_TO
    environment: str | None = None
    typed_start: int | None = None  # the start as typed, before `start` was aligned

    @property
    def live(self) -> bool:
        """The range ends now: pages refresh and say "updated hh:mm:ss"."""
        return self.to_text.strip().lower() == "now"

    @property
    def seconds(self) -> int:
        return self.end - self.start

    @property
    def resolution(self) -> Resolution:
        """The finest stored step that keeps a trace under MAX_POINTS (of the range as
        typed: aligning its start does not change it)."""
        typed = self.typed_start if self.typed_start is not None else self.start
        return resolution_for(self.end - typed)

    @property
    def step_s(self) -> int:
        return STEPS[self.resolution]

    @property
    def trend_resolution(self) -> Resolution:
        """The finest stored step that keeps a sparkline (a table cell) under TREND_POINTS:
        a cell a few dozen pixels wide draws no more, and every point is sent each rerun."""
        for resolution, step in STEPS.items():
            if self.seconds / step <= TREND_POINTS:
                return resolution
        return "hour"

    @property
    def trend_step_s(self) -> int:
        return STEPS[self.trend_resolution]

    @property
    def start_dt(self) -> datetime:
        return datetime.fromtimestamp(self.start, UTC)

    @property
    def end_dt(self) -> datetime:
        return datetime.fromtimestamp(self.end, UTC)

    @property
    def label(self) -> str:
        """How the range reads in a caption: the preset's name, or the two times."""
        for name, text in PRESETS.items():
            if self.from_text == text and self.live:
                return name
        shown = f"{self.start_dt:%Y-%m-%d %H:%M} to {self.end_dt:%Y-%m-%d %H:%M} UTC"
        if is_relative(self.from_text) or is_relative(self.to_text):
            return f"{self.from_text} to {self.to_text} ({shown})"
        return shown


def make_view(from_text: str, to_text: str, now: float, *,
              environment: str | None = None) -> View:
    """A View from the URL's texts; InputError names `from` or `to` when one does not parse."""
    span: TimeRange = parse_range(from_text, to_text, now, fields=("from", "to"))
    step = STEPS[resolution_for(span.end - span.start)]
    return View(span.start - span.start % step, span.end, int(now), from_text, to_text,
                environment, typed_start=span.start)


def choose_view(settings: Settings, *, now: float | None = None) -> View:
    """Draw the sidebar's range and environment pickers (the shell calls this once per run),
    keep them in the URL and in session state, and return the view."""
    now = time.time() if now is None else now
    params = st.query_params
    # Moving to another page clears the URL's parameters: the session's last view carries
    # the range and environment over, so every page shows the same one.
    last: View | None = st.session_state.get(_KEY)
    from_text = params.get("from", last.from_text if last else DEFAULT_FROM)
    to_text = params.get("to", last.to_text if last else DEFAULT_TO)
    wanted_env = params.get("env", last.environment if last else None)
    options = [*PRESETS, "Custom"]
    preset = next((name for name, text in PRESETS.items()
                   if text == from_text and to_text == "now"), "Custom")
    with st.sidebar:
        choice = st.selectbox("Time range", options, index=options.index(preset))
        if choice != "Custom":
            from_text, to_text = PRESETS[choice], "now"
        else:
            from_text = st.text_input("From", from_text, help="now-2d, -12h, 2026-11-02T10:00 "
                                      "(UTC) or Unix seconds")
            to_text = st.text_input("To", to_text, help="now, or the same forms as From")
        environment = _choose_environment(settings, wanted_env)
    try:
        view = make_view(from_text, to_text, now, environment=environment)
    except InputError as exc:
        st.sidebar.error(f"{exc.field}: {exc.reason}. Showing the last 6 hours.")
        from_text, to_text = DEFAULT_FROM, DEFAULT_TO
        view = make_view(from_text, to_text, now, environment=environment)
    params["from"], params["to"] = from_text, to_text
    if environment is None:
        params.pop("env", None)
    else:
        params["env"] = environment
    st.session_state[_KEY] = view
    return view


def _choose_environment(settings: Settings, wanted: str | None) -> str | None:
    names = list(settings.environments)
    if len(names) < 2:
        return names[0] if names else None
    options = ["All environments", *names]
    index = options.index(wanted) if wanted in names else 0
    picked = st.selectbox("Environment", options, index=index)
    return None if picked == options[0] else picked


def current() -> View:
    """The view the shell chose on this run (the last 6 hours when a page runs alone, as
    AppTest runs it)."""
    view = st.session_state.get(_KEY)
    if view is None:
        view = make_view(DEFAULT_FROM, DEFAULT_TO, time.time())
    return view  # type: ignore[no-any-return]
