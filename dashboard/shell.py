"""The shell's parts, kept out of `streamlit_app.py` so they can be tested: which pages
exist, how often a live view refreshes, whether the store answers, and the line that says
how fresh the figures are."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st
from sqlalchemy import Engine

from dashboard.context import View
from services.errors import StoreError
from services.files import mask_url
from services.store.migrate import require_current

ROOT = Path(__file__).resolve().parents[1]  # where streamlit_app.py lives
REFRESH_PARAM = "refresh"  # `refresh=off` in the URL stops auto-refresh, as Grafana's
_RAN_AT = "apollo.ran_at"


@dataclass(frozen=True)
class PageSpec:
    """One page of the navigation: its file (relative to ROOT), title, icon, URL path and
    section."""

    file: str
    title: str
    icon: str
    url_path: str
    section: str
    default: bool = False


MONITOR, PLATFORM, OPERATIONS = "Monitor", "Platform", "Operations"
PAGES: tuple[PageSpec, ...] = (
    PageSpec("dashboard/pages/fleet.py", "Fleet overview", ":material/dashboard:", "fleet",
             MONITOR, default=True),
    PageSpec("dashboard/pages/service.py", "Service", ":material/dns:", "service", MONITOR),
    PageSpec("dashboard/pages/slos.py", "SLOs", ":material/speed:", "slos", MONITOR),
    PageSpec("dashboard/pages/alerts.py", "Alerts", ":material/notifications:", "alerts",
             MONITOR),
    PageSpec("dashboard/pages/roadmap.py", "Roadmap", ":material/checklist:", "roadmap",
             PLATFORM),
    PageSpec("dashboard/pages/cost.py", "Cost", ":material/payments:", "cost", PLATFORM),
    PageSpec("dashboard/pages/engagement.py", "Engagement", ":material/group:", "engagement",
             PLATFORM),
    PageSpec("dashboard/pages/targets.py", "Targets", ":material/radar:", "targets",
             OPERATIONS),
    PageSpec("dashboard/pages/environments.py", "Environments", ":material/layers:",
             "environments", OPERATIONS),
)
def available_pages(root: Path = ROOT) -> list[PageSpec]:
    """The pages whose file exists (others may still be being written); without the fleet
    overview, the first of them opens by default."""
    return [p for p in PAGES if (root / p.file).is_file()]


def page_exists(url_path: str, root: Path = ROOT) -> bool:
    """Whether the page at `url_path` is in the navigation (a link to it would work)."""
    return any(p.url_path == url_path for p in available_pages(root))


def navigation(root: Path = ROOT) -> st.navigation:  # type: ignore[valid-type]
    """`st.navigation` over the available pages, in sections."""
    sections: dict[str, list[st.Page]] = {}  # type: ignore[valid-type]
    for spec in available_pages(root):
        sections.setdefault(spec.section, []).append(
            st.Page(spec.file, title=spec.title, icon=spec.icon, url_path=spec.url_path,
                    default=spec.default))
    return st.navigation(sections)


# --- freshness ------------------------------------------------------------------------------

# (longest range, refresh interval) in seconds: about one refresh per new point on the chart
_REFRESH_STEPS = ((3600, 30), (6 * 3600, 60), (86_400, 120), (7 * 86_400, 300))
LONGEST_REFRESH_S = 900


def refresh_interval(range_s: int) -> int:
    """Seconds between refreshes of a live view of `range_s`: rows land once a minute, so
    faster than 30 s only repeats the same figures; a week moves by 5-minute steps."""
    for longest, every in _REFRESH_STEPS:
        if range_s <= longest:
            return every
    return LONGEST_REFRESH_S


def humanise_seconds(seconds: float) -> str:
    """30s, 2m, 1h30m: how people write an interval."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m" + (f"{rest}s" if rest else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h" + (f"{minutes}m" if minutes else "")


def status_line(view: View, ran_at: float, refresh_s: int | None) -> str:
    """"Last 6 hours · updated 12:34:56 UTC · refreshes every 1m": what the figures cover
    and how fresh they are."""
    updated = datetime.fromtimestamp(ran_at, UTC).strftime("%H:%M:%S")
    parts = [view.label, f"updated {updated} UTC"]
    if view.environment:
        parts.insert(1, f"environment {view.environment}")
    if refresh_s is not None:
        parts.append(f"refreshes every {humanise_seconds(refresh_s)}")
    elif view.live:
        parts.append("auto-refresh off")
    else:
        parts.append("fixed range")
    return " · ".join(parts)


def choose_refresh(view: View) -> int | None:
    """The sidebar's auto-refresh toggle (live ranges only), kept in the URL as
    `refresh=off` when switched off; the interval when on."""
    if not view.live:
        st.query_params.pop(REFRESH_PARAM, None)
        return None
    every = refresh_interval(view.seconds)
    on = st.sidebar.toggle(f"Auto-refresh every {humanise_seconds(every)}",
                           value=st.query_params.get(REFRESH_PARAM) != "off",
                           help="Reruns the page as new minutes land; the interval grows "
                                "with the range.")
    if on:
        st.query_params.pop(REFRESH_PARAM, None)
    else:
        st.query_params[REFRESH_PARAM] = "off"
    return every if on else None


def start_timer(every_s: int) -> None:
    """Rerun the whole app every `every_s` seconds: a fragment with `run_every` ticks, and
    reruns the app once a full interval has passed since the last full run."""
    st.session_state[_RAN_AT] = time.time()

    @st.fragment(run_every=every_s)
    def _tick() -> None:
        if time.time() - st.session_state.get(_RAN_AT, 0.0) >= every_s - 1:
            st.rerun()

    with st.sidebar:
        _tick()


# --- the store ------------------------------------------------------------------------------


def store_problem(engine: Engine) -> str | None:
    """Why the store cannot serve the pages (down, empty, another schema), naming it with
    its password masked; None when it answers at this Apollo's revision."""
    try:
        require_current(engine)
    except StoreError as exc:
        return str(exc)
    except Exception as exc:  # a driver error outside SQLAlchemy's tree still means "down"
        where = mask_url(str(engine.url))
        return f"store {where}: cannot connect: {' '.join(str(exc).split())[:300]}"
    return None
