"""SLOs: the list as Pyrra shows it (worst budget first; search and label filters in the URL
as `q=` and `label=k=v`), and one SLO in detail when the URL names it (`slo=`): Pyrra's
tiles, the budget and burn rates over the chosen range, the multi-burn-rate alerts, the
backtest, forecast and attribution over its period, and the rules it exports. The page
arranges; dashboard/data/slo reads, dashboard/figures/slo draws."""

from __future__ import annotations

import streamlit as st

from dashboard import context
from dashboard.data import slo as data
from dashboard.figures import slo as figures
from slo.model import SLO

view = context.current()


def _list() -> None:
    items, problem = data.summaries(view.end, view.environment)
    if problem is not None:
        st.error(f"**The SLO files do not load**, so no SLO can be shown:\n\n```\n{problem}\n```",
                 icon=":material/error:")
    if not items:
        if problem is None:
            st.info("No SLO is configured" + (f" for the {view.environment} environment"
                                              if view.environment else "") +
                    ". List SLO files under `slo_files:` in the configuration.",
                    icon=":material/info:")
        return
    every_label = sorted({p for item in items for p in figures.label_pairs(item.labels)})
    if "slos.q" not in st.session_state:  # first drawn: the URL's filters
        st.session_state["slos.q"] = st.query_params.get("q", "")
    if "slos.labels" not in st.session_state:
        st.session_state["slos.labels"] = st.query_params.get_all("label")
    # an environment switch can take a chosen label's SLOs away: keep only those offered
    st.session_state["slos.labels"] = [v for v in st.session_state["slos.labels"]
                                       if v in every_label]
    search, labels = st.columns([2, 3])
    query = search.text_input("Search", key="slos.q", placeholder="name, service or label",
                              icon=":material/search:")
    wanted = labels.multiselect("Labels", every_label, key="slos.labels",
                                placeholder="Filter by label (all must match)")
    _keep_in_url("q", [query] if query else [])
    _keep_in_url("label", wanted)
    shown = [item for item in items if figures.matches(item, query, wanted)]
    hidden = len(items) - len(shown)
    note, reset = st.columns([5, 1])
    note.caption(f"{len(shown)} SLO{'s' * (len(shown) != 1)} at "
                 f"{figures.utc(view.end):%Y-%m-%d %H:%M} UTC, worst budget first"
                 + (f"; {hidden} hidden by filters" if hidden else "")
                 + ". Burn rates: red above a page threshold, amber above a ticket one. "
                   "Pick a row for its detail.")
    if hidden and reset.button("Reset filters", icon=":material/filter_alt_off:"):
        for key in ("slos.q", "slos.labels"):
            st.session_state.pop(key, None)
        for name in ("q", "label"):
            st.query_params.pop(name, None)
        st.rerun()
    frame = figures.list_frame(shown)
    picked = st.dataframe(
        figures.list_display(frame, shown), hide_index=True, width="stretch",
        height=min(38 + 35 * len(frame), 720), on_select="rerun",
        selection_mode="single-row", key="slos.table",
        column_order=[c for c in frame.columns if c != "Problem" or frame[c].any()],
        column_config={
            "SLO": st.column_config.TextColumn(pinned=True, width="medium"),
            "Labels": st.column_config.ListColumn(),
            "Objective": st.column_config.Column(help="Share of events that must be good"),
            "Availability": st.column_config.Column(
                help="Good / total events over the period (the SLI now); red at or below "
                     "the objective"),
            "Budget": st.column_config.ProgressColumn(
                "Budget left", min_value=0, max_value=1, format="percent", color="blue",
                help="Error budget left over the period: 1 - bad / (total x (1 - "
                     "objective)); below 0 once overspent"),
            "Budget state": st.column_config.Column(
                help="healthy from 75% left, watch from 25%, at risk below, exhausted at 0"),
            **{c: st.column_config.Column(help=f"Burn rate over the last {c[5:]}: 1 spends "
                                               "the budget exactly over the period; 'page' "
                                               "or 'ticket' when above such a threshold")
               for c in frame.columns if c.startswith("Burn ")},
            "Alerts": st.column_config.Column(help="The stored state of its page and "
                                                   "ticket alerts, the worst first"),
        })
    rows = picked.selection.rows if picked is not None else []
    if rows:
        st.query_params["slo"] = str(frame.index[rows[0]])
        st.rerun()
    st.download_button("Download the list (CSV)", frame.to_csv().encode(), "slos.csv",
                       "text/csv", icon=":material/download:")


def _keep_in_url(name: str, values: list[str]) -> None:
    if values:
        st.query_params[name] = values
    else:
        st.query_params.pop(name, None)


# --- one SLO ----------------------------------------------------------------------------------


def _back() -> None:
    if st.button("All SLOs", icon=":material/arrow_back:", type="tertiary"):
        st.query_params.pop("slo", None)
        st.session_state.pop("slos.table", None)
        st.rerun()


def _tiles(item: figures.SloSummary) -> None:
    objective, availability, budget, alert = (c.container(border=True, height=190)
                                              for c in st.columns(4))
    with objective:
        st.markdown("Objective")
        st.markdown(f"### {figures.objective_text(item.objective, item.period)}")
        st.caption(item.description or f"{item.kind} SLO of {item.service}")
    with availability:
        st.markdown("Availability")
        if figures.missing(item.sli):
            st.markdown(f"### :gray[{figures.NO_DATA}]")
            st.caption("no events stored in the period")
        else:
            met = item.sli * 100 > item.objective  # type: ignore[operator]
            colour, word = ("green", "meets") if met else ("red", "misses")
            st.markdown(f"### :{colour}[{figures.percent(item.sli, 3)}]")
            bad = (item.total or 0) - (item.good or 0)
            noun = "Too slow" if item.kind == "latency" else "Errors"
            st.caption(f":{colour}[{word} the objective]  \n{noun}: :red[{bad:,.0f}]  \n"
                       f"Total: :green[{item.total:,.0f}]")
    with budget:
        st.markdown("Error budget left")
        word, _ = figures.budget_band(item.budget)
        colour = {"healthy": "green", "watch": "orange"}.get(word, "red")
        if figures.missing(item.budget):
            st.markdown(f"### :gray[{figures.NO_DATA}]")
        else:
            st.markdown(f"### :{colour}[{figures.percent(item.budget)}]")
            st.caption(f":{colour}[{word}]  \nof the {item.period} period's budget")
    with alert:
        st.markdown("Alerts")
        words = figures.alert_word(item.states)
        colour = {"firing": "red", "pending": "orange"}.get(words.split(" ")[0], "green")
        st.markdown(f"### :{colour}[{words}]")
        st.caption("  \n".join(f"{k}: {v}" for k, v in item.states.items()))


def _detail(slo_id: str) -> None:
    _back()
    slo = data.find(slo_id)
    if slo is None:
        st.warning(f"No SLO {slo_id!r} is configured; pick one from the list.",
                   icon=":material/search_off:")
        return
    ev, item = data.evaluation(slo_id, view.end), data.summary(slo_id, view.end)
    if ev is None or item is None:
        return
    st.subheader(f"{slo.id}")
    st.markdown(" ".join(f":blue-badge[{p}]" for p in figures.label_pairs(item.labels)))
    _tiles(item)
    if ev.problem:
        st.info(f"No report for {slo.id}: {ev.problem}.", icon=":material/hourglass_empty:")

    # over the chosen range
    step = view.step_s
    history = data.history(slo_id, view.start, view.end, step)
    burns = data.window_burns(slo_id, view.start, view.end, step)
    period = data.period_figures(slo_id, view.end)
    firings = period.backtest.firings if period and period.backtest else []
    markers = period.markers if period else []
    span = dict(start=view.start, end=view.end, revision=f"{slo_id}:{view.from_text}")
    st.plotly_chart(figures.budget_chart(
        figures.on_grid(history, "budget_remaining", view.start, view.end, step),
        title=f"Error budget: how much of the {item.period} budget is left?",
        markers=markers, firings=firings, **span), width="stretch", theme="streamlit")
    left, right = st.columns(2)
    for column, severity in ((left, "page"), (right, "ticket")):
        column.plotly_chart(figures.burn_chart(burns, item.pairs, severity, firings=firings,
                                               markers=markers, **span),
                            width="stretch", theme="streamlit")
    st.caption("Burn rate over each window ending at each instant: 1 spends the budget "
               "exactly over the period. Bands: when the current policy pages (red) or "
               "tickets (amber) on the stored data.")

    st.markdown("#### Multi-burn-rate alerts")
    alerts = figures.alert_frame(
        item.pairs, item.states, slo.period.length.total_seconds(), slo.error_budget_ratio,
        {s: data.pending_for(s).total_seconds() for s in data.SEVERITIES})
    if alerts.empty:
        st.caption("No burn-rate alerts: the SLO has no report or its alerts are disabled.")
    else:
        st.dataframe(figures.alert_style(alerts), hide_index=True, width="stretch",
                     column_config={
                         "Exhaustion": st.column_config.Column(
                             help="How soon this factor spends the whole budget: the "
                                  "period / the factor"),
                         "Threshold": st.column_config.Column(
                             help="The burn rate both windows must exceed (factor x "
                                  "(1 - objective) as an error ratio)"),
                         "For": st.column_config.Column(
                             help="How long the condition must hold before it fires")})

    if period is not None:
        _period(item, period)
    _rules(slo)


def _period(item: figures.SloSummary, period: data.PeriodFigures) -> None:
    st.markdown(f"#### Over the SLO window: {figures.period_label(period.start, period.end)}")
    step = figures.step_for(period.end - period.start)
    burn_down = data.history(item.id, period.start, period.end, step)
    firings = period.backtest.firings if period.backtest else []
    st.plotly_chart(figures.budget_chart(
        figures.on_grid(burn_down, "budget_remaining", period.start, period.end, step),
        start=period.start, end=period.end, markers=period.markers, firings=firings,
        title="Burn-down: the budget left at each instant, with the current policy's "
              "alerts", revision=f"{item.id}:period"), width="stretch", theme="streamlit")
    backtest, forecast = st.columns(2)
    with backtest:
        st.markdown("**Backtest: when would the current policy have alerted?**")
        if period.backtest is None:
            st.caption(f"No backtest: {period.backtest_problem}.")
        elif not period.backtest.firings:
            st.caption(":green[It would not have paged or ticketed] in the window.")
        else:
            st.dataframe(figures.firing_frame(period.backtest), hide_index=True,
                         width="stretch")
        if period.backtest is not None and period.backtest.incidents:
            incidents = figures.incident_frame(period.backtest)
            st.caption(f"{len(incidents)} incident(s) (minutes burning at twice the budget "
                       "pace), the costliest first, and how soon the policy caught them:")
            st.dataframe(incidents, hide_index=True, height=min(38 + 35 * len(incidents), 320),
                         width="stretch", column_config={
                             "Bad events": st.column_config.NumberColumn(format="%.0f"),
                             "Budget spent before the page": st.column_config.NumberColumn(
                                 format="%.2f%%")})
        if period.backtest is not None and period.backtest.never_fire:
            st.caption(":orange[Pairs that can never fire at this objective:] " + ", ".join(
                f"{w.severity} {w.long}/{w.short}" for w in period.backtest.never_fire))
    with forecast:
        st.markdown("**Forecast: when does the budget run out?**")
        chart = figures.forecast_chart(period.forecast, at=period.end, remaining=item.budget)
        if not period.forecast:
            st.caption("No forecast without a report.")
        elif not figures.missing(item.budget) and item.budget <= 0:  # type: ignore[operator]
            st.caption(":red[The budget is already spent]: every burn rate above 1 keeps "
                       "the SLO breached.")
        elif chart is None:
            st.caption(":green[No burn rate spends the budget faster than it allows]: "
                       "no exhaustion in sight.")
        else:
            st.plotly_chart(chart, width="stretch", theme="streamlit")
        if period.forecast:
            st.dataframe(figures.forecast_frame(period.forecast), hide_index=True,
                         width="stretch", column_config={
                             "Burn rate": st.column_config.NumberColumn(format="%.2f")})
    st.markdown("**Deploys and incidents: the budget each one spent**")
    if not period.markers:
        st.caption(f"No deploy or incident marker touches the period of {item.service} "
                   "(add them with POST /api/v1/markers).")
    st.dataframe(figures.attribution_frame(period.shares), hide_index=True, width="stretch",
                 column_config={
                     "Bad events": st.column_config.NumberColumn(format="%.0f"),
                     "Of the bad events": st.column_config.NumberColumn(format="%.1f%%"),
                     "Of the budget": st.column_config.NumberColumn(format="%.2f%%")})


def _rules(slo: SLO) -> None:
    st.markdown("#### Prometheus rules")
    text, reason = data.rules_yaml(slo)
    if text is None:
        st.caption(f"No rules: {reason}.")
        return
    st.caption("What `apollo slo rules` writes for this SLO (Sloth's format): recording "
               "rules, metadata and the multi-burn-rate alerts. Copy with the button.")
    st.code(text, language="yaml", height=360)


slo_id = st.query_params.get("slo")
if slo_id:
    _detail(slo_id)
else:
    _list()
