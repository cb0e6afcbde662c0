"""Alerts page builders: stored alert rows, transitions and deliveries in; display frames
and the episode timeline out. Pure (no Streamlit, no store, the clock is a parameter), so
every figure the page shows is tested without a browser."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from pandas.io.formats.style import Styler

STATE_ORDER = {"firing": 0, "pending": 1, "resolved": 2, "inactive": 3}
STATES = tuple(STATE_ORDER)
DEFAULT_STATES = ("firing", "pending", "resolved")
ACTIVE = ("pending", "firing")  # the states a timeline draws as bands
SEVERITY_ORDER = {"critical": 0, "page": 0, "error": 1, "ticket": 1, "warning": 1, "info": 2}
COLOURS = {"firing": "#d62728", "pending": "#f0a202", "resolved": "#2ca02c",
           "inactive": "#8c8c8c", "sent": "#2ca02c", "dead": "#d62728", "active": "#f0a202",
           "scheduled": "#8c8c8c", "expired": "#8c8c8c"}
NO_DATA = "No data"
ABSENT = " (no data)"  # marks an SLO's absent-data alert beside its burn-rate ones
NOT_APPLICABLE = "n/a"
TIME = "%Y-%m-%d %H:%M:%S"
ALERT_COLUMNS = ["ID", "State", "Severity", "SLO", "Short", "Short burn", "Long", "Long burn",
                 "Threshold", "For", "Started (UTC)", "Duration", "Acknowledged", "Silenced"]


@dataclass(frozen=True)
class Pair:
    """One condition of an alert: its windows (`long` None for a one-window OpenSLO
    condition) and the burn-rate factor both must exceed."""

    short: str
    long: str | None
    factor: float


@dataclass(frozen=True)
class RuleInfo:
    """What the SLO spec and configuration say about one alert identity."""

    pairs: tuple[Pair, ...] = ()
    for_s: float = 0.0
    kind: str = "burn"


# --- words and times ------------------------------------------------------------------------

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def humanise(seconds: float | None) -> str:
    """A duration as people say it, in its two largest units: 45s, 12m, 3h 5m, 2d 4h."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    left = max(0, round(seconds))
    for i, (unit, size) in enumerate(_UNITS):
        if left >= size or unit == "s":
            text = f"{left // size}{unit}"
            if i + 1 < len(_UNITS):
                small, small_size = _UNITS[i + 1]
                rest = left % size // small_size
                text += f" {rest}{small}" if rest else ""
            return text
    raise AssertionError("unreachable")


def utc(seconds: float | None) -> str:
    """Unix seconds as UTC wall time; empty for no time."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime(TIME)


def _order(state: str, severity: str) -> tuple[int, int]:
    return STATE_ORDER.get(state, 9), SEVERITY_ORDER.get(severity, 5)


# --- episodes and the range -----------------------------------------------------------------


def episodes(transitions: Iterable[Mapping[str, Any]], start: float, end: float,
             now: float) -> pd.DataFrame:
    """Pending and firing bands within `[start, end)` from stored transitions (each
    alert's last one before `start` included, as `read.transitions_between` gives them): a
    state lasts from its transition to the alert's next one, or until now."""
    by_alert: dict[int, list[Mapping[str, Any]]] = {}
    for t in sorted(transitions, key=lambda t: (t["at"], t["id"])):
        by_alert.setdefault(int(t["alert_id"]), []).append(t)
    stop = min(end, now)
    rows = []
    for alert_id, changes in by_alert.items():
        for i, t in enumerate(changes):
            if t["to_state"] not in ACTIVE:
                continue
            until = changes[i + 1]["at"] if i + 1 < len(changes) else stop
            lo, hi = max(float(t["at"]), start), min(float(until), stop)
            if hi > lo:
                rows.append({"alert_id": alert_id, "state": t["to_state"], "start": lo,
                             "end": hi, "episode": int(t["episode"])})
    return pd.DataFrame(rows, columns=["alert_id", "state", "start", "end", "episode"])


def in_range(transitions: Iterable[Mapping[str, Any]], bands: pd.DataFrame, start: float,
             end: float) -> set[int]:
    """Alerts the range concerns: pending or firing during it, or changing state in it."""
    changed = {int(t["alert_id"]) for t in transitions if start <= t["at"] < end}
    return changed | {int(a) for a in bands["alert_id"]}


# --- the alerts table -------------------------------------------------------------------------


def deciding_pair(rates: Mapping[str, float], pairs: Sequence[Pair]
                  ) -> tuple[Pair | None, float, float]:
    """The pair closest to firing (both windows' burn over its factor, the lower of the
    two, highest): the one that fires a firing alert. Missing burn rates are NaN."""
    best: tuple[Pair | None, float, float] = (None, math.nan, math.nan)
    best_score = -math.inf
    for pair in pairs:
        short = _rate(rates, pair.short)
        long = _rate(rates, pair.long) if pair.long else math.nan
        known = [v for v in (short, long) if not math.isnan(v)]
        score = min(known) / pair.factor if known else -math.inf
        if best[0] is None or score > best_score:
            best, best_score = (pair, short, long), score
    return best


def _rate(rates: Mapping[str, float], window: str | None) -> float:
    value = rates.get(window or "")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else math.nan


def _since(row: Mapping[str, Any], now: float) -> tuple[str, str]:
    started = row.get("active_since")
    if started is None or row["state"] == "inactive":
        return "", ""
    ended = row.get("resolved_at") if row["state"] == "resolved" else now
    return utc(started), humanise((ended or now) - started)


def alerts_table(alerts: Iterable[Mapping[str, Any]], rules: Mapping[str, RuleInfo],
                 acks: Iterable[Mapping[str, Any]], silenced: Mapping[int, int],
                 now: float) -> pd.DataFrame:
    """Pyrra's alerts table across SLOs, firing first: state, severity, the deciding pair's
    short and long burn against its threshold, `for`, start and duration, and whether
    someone acknowledged the episode or a silence covers the alert."""
    acked: dict[tuple[int, int], Mapping[str, Any]] = {}
    for a in sorted(acks, key=lambda a: a["at"]):
        if a["expires_at"] > now:
            acked[(int(a["alert_id"]), int(a["episode"]))] = a
    rows = []
    for r in alerts:
        rule = rules.get(r["fingerprint"])
        rates = (r.get("values") or {}).get("burn_rates") or {}
        pair, short, long = deciding_pair(rates, rule.pairs if rule else ())
        started, duration = _since(r, now)
        ack = acked.get((int(r["id"]), int(r["episode"])))
        silence = silenced.get(int(r["id"]))
        rows.append({
            "ID": int(r["id"]), "State": r["state"], "Severity": r["severity"],
            "SLO": (r["slo"] or r["service"] or r["name"]) + (
                ABSENT if r.get("kind") == "absent" else ""),
            "Short": pair.short if pair else "",
            "Short burn": short, "Long": (pair.long or "") if pair else "",
            "Long burn": long, "Threshold": pair.factor if pair else math.nan,
            "For": humanise(rule.for_s) if rule else "",
            "Started (UTC)": started, "Duration": duration,
            "Acknowledged": f"{ack['author']} ({humanise(ack['expires_at'] - now)} left)"
            if ack else "",
            "Silenced": f"silence {silence}" if silence is not None else "",
        })
    frame = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    keys = [_order(s, v) for s, v in zip(frame["State"], frame["Severity"], strict=True)]
    order = sorted(range(len(frame)), key=lambda i: (*keys[i], frame["SLO"].iat[i],
                                                      frame["ID"].iat[i]))
    return frame.iloc[order].reset_index(drop=True)


def filter_rows(frame: pd.DataFrame, states: Sequence[str], severities: Sequence[str]
                ) -> tuple[pd.DataFrame, int]:
    """The rows the filters keep (an empty filter keeps all) and how many they hide."""
    keep = pd.Series(True, index=frame.index)
    if states:
        keep &= frame["State"].isin(states)
    if severities:
        keep &= frame["Severity"].isin(severities)
    return frame[keep].reset_index(drop=True), int((~keep).sum())


def _tint(colour: str, alpha: float = 0.28) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"background-color: rgba({r}, {g}, {b}, {alpha})"


def style_states(frame: pd.DataFrame, column: str = "State") -> Styler:
    """A status word tinted by its colour (pending amber, firing red, ...): works in light
    and dark themes, and the word stays for who cannot tell the colours apart."""
    return frame.style.map(lambda v: _tint(COLOURS[v]) if v in COLOURS else "",
                           subset=[column])


def hot_burns(frame: pd.DataFrame) -> pd.DataFrame:
    """Where a burn rate is over its pair's threshold (what Pyrra paints red)."""
    return pd.DataFrame({c: (frame[c] > frame["Threshold"]).fillna(False).astype(bool)
                         for c in ("Short burn", "Long burn")}, index=frame.index)


def style_alerts(frame: pd.DataFrame) -> Styler:
    """The alerts table as shown: state tints, a burn over its threshold in red, missing
    burn rates as "No data" (or "n/a" where the alert has no windows)."""
    styler = style_states(frame)
    hot = hot_burns(frame)
    styler = styler.apply(lambda column: [_tint(COLOURS["firing"], 0.45) if h else ""
                                          for h in hot[column.name]],
                          subset=["Short burn", "Long burn"])
    windowless = frame.index[frame["Short"] == ""]
    numbers = ["Short burn", "Long burn", "Threshold"]
    styler = styler.format("{:.2f}", subset=["Short burn", "Long burn"], na_rep=NO_DATA)
    styler = styler.format("{:g}", subset=["Threshold"], na_rep=NO_DATA)
    if len(windowless):
        styler = styler.format(lambda _: NOT_APPLICABLE,
                               subset=pd.IndexSlice[windowless, numbers])
    return styler


def table_csv(frame: pd.DataFrame) -> str:
    """The visible table as CSV (numbers as numbers, missing ones empty)."""
    return frame.to_csv(index=False)


# --- the episode timeline ---------------------------------------------------------------------


def alert_label(row: Mapping[str, Any]) -> str:
    """How an alert identity reads on the timeline's y axis."""
    what = row.get("slo") or row.get("name") or row.get("service") or "alert"
    extra = ABSENT if row.get("kind") == "absent" else (
        " (Alertmanager)" if row.get("source") == "alertmanager" else "")
    return f"{what} · {row.get('severity') or 'none'}{extra}"


def timeline_labels(alerts: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """One distinct label per alert id (the id added where two would read the same)."""
    rows = list(alerts)
    labels = {int(r["id"]): alert_label(r) for r in rows}
    seen: dict[str, int] = {}
    for label in labels.values():
        seen[label] = seen.get(label, 0) + 1
    return {i: (f"{label} #{i}" if seen[label] > 1 else label) for i, label in labels.items()}


def timeline(bands: pd.DataFrame, labels: Mapping[int, str], start: float, end: float
             ) -> go.Figure:
    """One row per alert identity, its pending (amber) and firing (red) episodes as bars
    over `[start, end)`, the x axis pinned to the range."""
    figure = go.Figure()
    rows = [labels[a] for a in sorted(set(bands["alert_id"]), key=lambda a: labels[a])]
    for state in ACTIVE:
        part = bands[bands["state"] == state]
        figure.add_trace(go.Bar(
            name=state, orientation="h", y=[labels[a] for a in part["alert_id"]],
            base=[datetime.fromtimestamp(s, UTC) for s in part["start"]],
            x=((part["end"] - part["start"]) * 1000).tolist(),
            marker_color=COLOURS[state],
            customdata=[[utc(s), utc(e), humanise(e - s), int(n)] for s, e, n in
                        zip(part["start"], part["end"], part["episode"], strict=True)],
            hovertemplate=(f"%{{y}}<br>{state} %{{customdata[0]}} to %{{customdata[1]}} UTC"
                           "<br>%{customdata[2]}, episode %{customdata[3]}<extra></extra>")))
    figure.update_layout(
        barmode="overlay", height=140 + 34 * max(1, len(rows)),
        margin=dict(l=10, r=10, t=40, b=10), title="Alert episodes",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=1, xanchor="right"))
    figure.update_xaxes(type="date", range=[datetime.fromtimestamp(start, UTC),
                                            datetime.fromtimestamp(end, UTC)],
                        title="UTC")
    figure.update_yaxes(categoryorder="array", categoryarray=rows[::-1])  # first on top
    return figure


# --- received alerts, deliveries, silences, acknowledgements ----------------------------------


def received_table(alerts: Iterable[Mapping[str, Any]], now: float) -> pd.DataFrame:
    """Alerts an Alertmanager posted to the receiver, firing first."""
    rows = []
    for r in alerts:
        labels = r.get("labels") or {}
        shown = {k: v for k, v in labels.items() if k not in ("alertname", "severity")}
        started, duration = _since(r, now)
        rows.append({
            "ID": int(r["id"]), "State": r["state"], "Alert": r["name"],
            "Severity": r["severity"], "Service": r["service"],
            "Labels": ", ".join(f"{k}={v}" for k, v in sorted(shown.items())),
            "Summary": (r.get("annotations") or {}).get("summary", ""),
            "Started (UTC)": started,
            "Resolved (UTC)": utc(r.get("resolved_at")) if r["state"] == "resolved" else "",
            "Duration": duration,
            "Source": (r.get("values") or {}).get("generator_url", ""),
        })
    frame = pd.DataFrame(rows, columns=["ID", "State", "Alert", "Severity", "Service",
                                        "Labels", "Summary", "Started (UTC)",
                                        "Resolved (UTC)", "Duration", "Source"])
    order = sorted(range(len(frame)), key=lambda i: (
        *_order(frame["State"].iat[i], frame["Severity"].iat[i]), frame["Alert"].iat[i]))
    return frame.iloc[order].reset_index(drop=True)


def _transition_of(key: str, names: Mapping[str, str]) -> tuple[str, str]:
    """(alert, "episode N state") from an idempotency key `fingerprint:episode:state`."""
    fingerprint, _, rest = key.partition(":")
    episode, _, state = rest.partition(":")
    return names.get(fingerprint, fingerprint), (f"{state} (episode {episode})"
                                                 if state else key)


def deliveries_table(rows: Iterable[Mapping[str, Any]], names: Mapping[str, str],
                     destinations: Mapping[str, str]) -> pd.DataFrame:
    """Outbox rows as people read them: which alert's change went where, its status,
    attempts and last error (the error of a row finally sent is history, not shown)."""
    out = []
    for r in rows:
        alert, change = _transition_of(r["key"], names)
        out.append({
            "ID": int(r["id"]), "Created (UTC)": utc(r["created_at"]),
            "Destination": destinations.get(r["notifier"], r["notifier"]),
            "Alert": alert, "Change": change, "Kind": r["kind"], "Status": r["status"],
            "Attempts": int(r["attempts"]),
            "Last error": (r.get("last_error") or "") if r["status"] != "sent" else "",
            "Sent (UTC)": utc(r.get("sent_at")),
            "Next attempt (UTC)": utc(r["next_attempt_at"]) if r["status"] == "pending"
            else "",
        })
    return pd.DataFrame(out, columns=["ID", "Created (UTC)", "Alert", "Change", "Status",
                                      "Attempts", "Last error", "Destination", "Kind",
                                      "Sent (UTC)", "Next attempt (UTC)"])


def attempts_table(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Every attempt at one delivery: when, by which worker, the answer or the error."""
    return pd.DataFrame([{
        "At (UTC)": utc(r["at"]), "Worker": r["worker"], "Result": "sent" if r["ok"]
        else "failed", "HTTP status": "" if r["status_code"] is None else str(r["status_code"]),
        "Error": r["error"] or "", "Duration": f"{r['duration_ms']:.0f} ms",
    } for r in rows], columns=["At (UTC)", "Worker", "Result", "HTTP status", "Error",
                               "Duration"])


def silence_status(row: Mapping[str, Any], now: float) -> str:
    if row["ends_at"] <= now:
        return "expired"
    return "active" if row["starts_at"] <= now else "scheduled"


def silences_table(rows: Iterable[Mapping[str, Any]], now: float) -> pd.DataFrame:
    """Silences in force first (ending soonest first), then scheduled, then expired (the
    latest first)."""
    rows_list = list(rows)
    out = []
    for r in rows_list:
        status = silence_status(r, now)
        ends = r["ends_at"]
        out.append({
            "ID": int(r["id"]), "Status": status, "Matchers": ", ".join(r["matchers"]),
            "Author": r["author"], "Reason": r["reason"], "Starts (UTC)": utc(r["starts_at"]),
            "Ends (UTC)": utc(ends),
            "Ends": f"in {humanise(ends - now)}" if ends > now else f"{humanise(now - ends)} ago",
        })
    rank = {"active": 0, "scheduled": 1, "expired": 2}
    ends_at = {int(r["id"]): float(r["ends_at"]) for r in rows_list}
    out.sort(key=lambda r: (rank[r["Status"]], -ends_at[r["ID"]] if r["Status"] == "expired"
                            else ends_at[r["ID"]]))
    return pd.DataFrame(out, columns=["ID", "Status", "Matchers", "Author", "Reason",
                                      "Starts (UTC)", "Ends (UTC)", "Ends"])


def acks_table(rows: Iterable[Mapping[str, Any]], alerts: Mapping[int, Mapping[str, Any]],
               now: float) -> pd.DataFrame:
    """Acknowledgements, newest first: in force while unexpired and its episode is the
    alert's current one."""
    out = []
    for r in rows:
        alert = alerts.get(int(r["alert_id"]), {})
        current = alert.get("episode") == r["episode"]
        status = ("expired" if r["expires_at"] <= now else
                  "active" if current else "episode over")
        out.append({
            "ID": int(r["id"]), "Alert": f"#{r['alert_id']} {alert_label(alert)}"
            if alert else f"#{r['alert_id']}", "Episode": int(r["episode"]),
            "Status": status, "Author": r["author"], "Reason": r["reason"],
            "At (UTC)": utc(r["at"]), "Expires (UTC)": utc(r["expires_at"]),
        })
    return pd.DataFrame(out, columns=["ID", "Alert", "Episode", "Status", "Author", "Reason",
                                      "At (UTC)", "Expires (UTC)"])
