"""Alerts: what is firing, pending and resolved across every SLO (Pyrra's table), their
episodes over the range, where the notifications went, what an Alertmanager sent, the
silences and acknowledgements, and the forms to add them. The page arranges; the frames
and the timeline come from dashboard.figures.alerts, the rows from dashboard.data.alerts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import streamlit as st

from dashboard.context import current
from dashboard.data import alerts as data
from dashboard.figures import alerts as figures
from services.errors import InputError

NOTICE = "alerts.notice"  # a write's outcome, shown after the rerun that makes it visible
FILTERS = {"state": ("State", figures.DEFAULT_STATES, "All states"),
           "severity": ("Severity", (), "All severities")}
SMALL = st.column_config.Column(width="small")
ALERT_COLUMNS = {
    "ID": st.column_config.NumberColumn(format="%d", width="small",
                                        help="The alert's id (`apollo alerts ack ID`)"),
    "State": SMALL, "Severity": SMALL,
    "Short": st.column_config.Column(width="small", help="The short window of the pair "
                                     "closest to firing"),
    "Long": st.column_config.Column(width="small", help="Its long window"),
    "Short burn": st.column_config.Column(help="Burn rate over the short window: 1 spends "
                                          "the budget exactly over the SLO period"),
    "Long burn": st.column_config.Column(help="Burn rate over the long window"),
    "Threshold": st.column_config.Column(help="The factor both windows must exceed to fire"),
    "For": st.column_config.Column(width="small", help="How long the condition holds before "
                                   "pending turns firing"),
}

view = current()
now = time.time()
window = f"between {figures.utc(view.start)} and {figures.utc(view.end)} UTC"


# --- filters in the URL -----------------------------------------------------------------------


def _url_filter(name: str, options: Sequence[str]) -> list[str]:
    """A multiselect kept in the URL as `name=a,b` (absent: the default; empty: all)."""
    label, default, everything = FILTERS[name]
    key = f"alerts.filter.{name}"
    if key not in st.session_state:
        text = st.query_params.get(name)
        wanted = list(default) if text is None else [v for v in text.split(",") if v]
        st.session_state[key] = wanted
    chosen_before = st.session_state[key]
    options = sorted(set(options) | set(chosen_before),
                     key=lambda v: (figures.STATE_ORDER.get(v, 9), v))
    chosen = st.multiselect(label, options, key=key, placeholder=everything)
    if list(chosen) == list(default):
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = ",".join(chosen)
    return list(chosen)


def _reset_filters() -> None:
    for name, (_, default, _) in FILTERS.items():
        st.session_state[f"alerts.filter.{name}"] = list(default)
        st.query_params.pop(name, None)


def _said(values: Sequence[str], what: str) -> str:
    return f"{what} {', '.join(values)}" if values else f"every {what}"


def _hidden_note(hidden: int, key: str) -> None:
    if hidden:
        left, right = st.columns([4, 1])
        left.caption(f"{hidden} hidden by filters")
        right.button("Reset filters", key=key, on_click=_reset_filters)


# --- reads ----------------------------------------------------------------------------------

rows = data.scoped(data.alerts(), view.environment)
by_id = {int(r["id"]): r for r in rows}
transitions = [t for t in data.transitions(view.start, view.end) if t["alert_id"] in by_id]
acks = [a for a in data.acknowledgements(view.start) if a["alert_id"] in by_id]
silence_rows = data.silences(view.start)
rules, rules_problem = data.rules()
bands = figures.episodes(transitions, view.start, view.end, now)
concerned = figures.in_range(transitions, bands, view.start, view.end)
ours = [r for r in rows if r["source"] == "apollo" and int(r["id"]) in concerned]
received = [r for r in rows if r["source"] != "apollo" and int(r["id"]) in concerned]
silenced = data.silenced_now(rows, silence_rows, now)
dead_rows, dead_total = data.dead_letters()
names = {r["fingerprint"]: figures.alert_label(r) for r in rows}
if view.environment is not None:  # notifications of the environment's alerts only
    dead_rows = [r for r in dead_rows if r["key"].partition(":")[0] in names]
    dead_total = len(dead_rows)
    st.caption(f"Environment {view.environment}: the alerts of its services and those "
               "labelled with it.")

firing = [r for r in rows if r["state"] == "firing"]
pending = [r for r in rows if r["state"] == "pending"]
tiles = st.columns(4)
tiles[0].metric("Firing now", len(firing))
tiles[1].metric("Pending now", len(pending))
tiles[2].metric("Resolved in range", sum(1 for r in ours + received if r["state"] == "resolved"))
tiles[3].metric("Dead letters", dead_total, help="Notifications given up after their "
                "delivery deadline: nobody was told.")

# --- Pyrra's table ----------------------------------------------------------------------------

if rules_problem:
    st.warning(f"Thresholds and `for` are missing where the SLO specs did not load: "
               f"{rules_problem}")
left, right = st.columns(2)
with left:
    states = _url_filter("state", figures.STATES)
with right:
    severities = _url_filter("severity", [r["severity"] for r in ours + received])
table = figures.alerts_table(ours, rules, acks, silenced, now)
shown, hidden = figures.filter_rows(table, states, severities)
if shown.empty:
    what = f"{_said(states, 'state')}; {_said(severities, 'severity')}"
    st.info(f"No alerts {window} ({what}). Checked every SLO's alerts for pending or firing "
            "episodes and changes of state in the range.")
else:
    st.dataframe(figures.style_alerts(shown), hide_index=True, width="stretch",
                 column_config=ALERT_COLUMNS)
_hidden_note(hidden, "alerts.reset")
st.download_button("Download CSV", figures.table_csv(shown), file_name="alerts.csv",
                   mime="text/csv", disabled=shown.empty, key="alerts.csv")

received_table = figures.received_table(received, now)
received_shown, received_hidden = figures.filter_rows(received_table, states, severities)
visible = set(shown["ID"]) | set(received_shown["ID"])
labels = figures.timeline_labels(by_id[i] for i in visible)
visible_bands = bands[bands["alert_id"].isin(visible)]
if visible_bands.empty:
    st.info(f"No pending or firing episodes {window} among the alerts shown.")
else:
    st.plotly_chart(figures.timeline(visible_bands, labels, view.start, view.end),
                    theme="streamlit", width="stretch")

# --- deliveries, Alertmanager, silences, acknowledgements -------------------------------------

delivery_rows, delivery_total = data.deliveries(view.start, view.end)
if view.environment is not None:
    delivery_rows = [r for r in delivery_rows if r["key"].partition(":")[0] in names]
    delivery_total = len(delivery_rows)
destinations = data.destinations()
active_silences = [r for r in silence_rows if figures.silence_status(r, now) != "expired"]
tabs = st.tabs([f"Deliveries ({delivery_total})", f"Dead letters ({dead_total})",
                f"From Alertmanager ({len(received_shown)})",
                f"Silences ({len(active_silences)} in force)", "Acknowledgements"])

with tabs[0]:
    deliveries = figures.deliveries_table(delivery_rows, names, destinations)
    if deliveries.empty:
        st.info(f"No notifications were written {window}.")
    else:
        more = f" (the newest {len(deliveries)} shown)" if delivery_total > len(deliveries) \
            else ""
        st.caption(f"{delivery_total} notifications written {window}{more}.")
        st.dataframe(figures.style_states(deliveries, "Status"), hide_index=True,
                     width="stretch")
        picked = st.selectbox("Attempts of delivery", deliveries["ID"].tolist(),
                              key="alerts.attempts")
        attempts = figures.attempts_table(data.attempts(int(picked)))
        if attempts.empty:
            st.caption(f"Delivery {picked} has not been attempted yet.")
        else:
            st.dataframe(attempts, hide_index=True, width="stretch")

with tabs[1]:
    dead = figures.deliveries_table(dead_rows, names, destinations)
    if dead.empty:
        st.success("No dead letters: every notification was delivered or is still being "
                   "retried.")
    else:
        st.error(f"{dead_total} notifications were given up after their delivery deadline "
                 "(newest first). Their receivers never heard of these changes.")
        st.dataframe(figures.style_states(dead, "Status"), hide_index=True,
                     width="stretch")

with tabs[2]:
    if received_shown.empty:
        st.info(f"No alerts from Alertmanager {window} ({_said(states, 'state')}; "
                f"{_said(severities, 'severity')}). The receiver stores what an "
                "Alertmanager posts to /api/v1/alerts/alertmanager.")
    else:
        st.dataframe(figures.style_states(received_shown), hide_index=True,
                     width="stretch")
    _hidden_note(received_hidden, "alerts.reset.received")

with tabs[3]:
    silences = figures.silences_table(silence_rows, now)
    if silences.empty:
        st.info(f"No silences were in force {window} or after.")
    else:
        st.dataframe(figures.style_states(silences, "Status"), hide_index=True,
                     width="stretch")

with tabs[4]:
    ack_table = figures.acks_table(acks, by_id, now)
    if ack_table.empty:
        st.info(f"No acknowledgements were in force {window} or after.")
    else:
        st.dataframe(figures.style_states(ack_table, "Status"), hide_index=True,
                     width="stretch")

# --- actions ----------------------------------------------------------------------------------


def _done(kind: str, text: str) -> None:
    st.session_state[NOTICE] = (kind, text)
    st.rerun()


def _token_input(key: str) -> str:
    if not data.token_required():
        return ""
    return st.text_input("Write token", type="password", key=key,
                         help="The API's write token (APOLLO_API_TOKENS): writes need it")


st.subheader("Act")
notice = st.session_state.pop(NOTICE, None)
if notice is not None:
    getattr(st, notice[0])(notice[1])
ack_col, silence_col = st.columns(2)

with ack_col, st.form("alerts.ack"):
    st.markdown("**Acknowledge an alert** — its repeats stop until the acknowledgement "
                "expires")
    open_alerts = sorted((r for r in rows if r["state"] in figures.ACTIVE),
                         key=lambda r: (figures.STATE_ORDER[r["state"]], r["id"]))
    choice: Any = st.selectbox(
        "Alert", [int(r["id"]) for r in open_alerts], key="alerts.ack.alert",
        format_func=lambda i: f"#{i} {figures.alert_label(by_id[i])} ({by_id[i]['state']})",
        index=None, placeholder="Choose a pending or firing alert" if open_alerts
        else "Nothing is pending or firing")
    author = st.text_input("Author (required)", key="alerts.ack.author")
    reason = st.text_input("Reason", key="alerts.ack.reason")
    duration = st.text_input("For", "4h", key="alerts.ack.for")
    token = _token_input("alerts.ack.token")
    if st.form_submit_button("Acknowledge"):
        try:
            if choice is None:
                raise InputError("alert: choose the alert to acknowledge")
            until = data.acknowledge_alert(int(choice), author=author, reason=reason,
                                           duration=duration, token=token, now=time.time())
        except InputError as exc:
            st.error(f"Not acknowledged: {exc}")
        else:
            _done("success", f"Alert #{choice} acknowledged by {author.strip()} until "
                             f"{figures.utc(until)} UTC.")

with silence_col, st.form("alerts.silence"):
    st.markdown("**Silence alerts** — they still change state; nobody is notified")
    slos = sorted({r["slo"] for r in rows if r["slo"]})
    slo = st.selectbox("SLO", ["", *slos], key="alerts.silence.slo",
                       format_func=lambda s: s or "(any SLO: use the matchers below)")
    severity = st.selectbox("Severity", ["any", *sorted({r["severity"] for r in rows
                                                         if r["severity"]})],
                            key="alerts.silence.severity")
    extra = st.text_input("More matchers", key="alerts.silence.matchers",
                          placeholder='team="payments", env=~"prod|staging"')
    author = st.text_input("Author (required)", key="alerts.silence.author")
    reason = st.text_input("Reason (required)", key="alerts.silence.reason")
    duration = st.text_input("For", "2h", key="alerts.silence.for")
    token = _token_input("alerts.silence.token")
    if st.form_submit_button("Silence"):
        try:
            matchers = data.silence_matchers(slo, severity, extra)
            silence_id = data.create_silence(matchers, author=author, reason=reason,
                                             duration=duration, token=token, now=time.time())
        except InputError as exc:
            st.error(f"Not silenced: {exc}")
        else:
            _done("success", f"Silence {silence_id} ({', '.join(matchers)}) by "
                             f"{author.strip()} for {duration.strip()}.")

with silence_col, st.form("alerts.expire"):
    st.markdown("**End a silence now**")
    ending: Any = st.selectbox(
        "Silence", [int(r["id"]) for r in active_silences], key="alerts.expire.silence",
        format_func=lambda i: next(f"#{i} {', '.join(r['matchers'])} (by {r['author']})"
                                   for r in active_silences if int(r["id"]) == i),
        index=None, placeholder="Choose a silence" if active_silences
        else "No silence is in force")
    token = _token_input("alerts.expire.token")
    if st.form_submit_button("Expire now"):
        try:
            if ending is None:
                raise InputError("silence: choose the silence to end")
            data.end_silence(int(ending), token=token, now=time.time())
        except InputError as exc:
            st.error(f"Not expired: {exc}")
        else:
            _done("success", f"Silence {ending} expired.")
