"""The Roadmap page: its figure builders against counts made here from the markdown text,
the page in AppTest over a SQLite store the roadmap collector filled, and in Chromium.

The independent count reads checkbox lines with one regular expression: a line is a leaf
when the next checkbox line is not indented deeper; the phase is the nearest heading."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from collectors.roadmap import collect_roadmap
from dashboard.figures import roadmap as figures
from services.config import EXAMPLE_CONFIG
from services.documents.roadmap import tree_from_rows
from services.store import document_rows
from services.store.engine import make_engine
from services.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = ROOT / "docs/platform/roadmap.md"
MILESTONES = ROOT / "tests/data/documents/roadmap-milestones.md"
SCREENSHOTS = ROOT / "screenshots"
_BOX = re.compile(r"^(?P<indent> *)[-*+] \[(?P<mark>[ xX])\] ")
_HEADING = re.compile(r"^#+ ")


def screenshot_whole(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the viewport grows to it."""
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, int(height) + 100)})
    page.wait_for_timeout(500)  # plotly redraws at the new size
    page.screenshot(path=str(path))


def roadmap_part(path: Path) -> str:
    """The platform document's roadmap section (its release routine is not read)."""
    text = path.read_text()
    if path == PLATFORM:
        return text[text.index("## Roadmap"):text.index("## Release routine")]
    return text


def counted_by_hand(text: str) -> list[tuple[int, int, list[tuple[int, bool, bool]]]]:
    """Per phase (nearest heading above its items), in order: leaves done, leaves, and
    each checkbox line as (indent columns, checked, is a leaf)."""
    phases: list[list[tuple[int, bool]]] = []
    heading_seen = False
    for line in text.splitlines():
        if _HEADING.match(line):
            heading_seen = True
            phases.append([])
        elif (box := _BOX.match(line)) and heading_seen:
            phases[-1].append((len(box["indent"]), box["mark"] != " "))
    out = []
    for boxes in (b for b in phases if b):
        lines = [(indent, checked, i + 1 == len(boxes) or boxes[i + 1][0] <= indent)
                 for i, (indent, checked) in enumerate(boxes)]
        leaves = [checked for _, checked, leaf in lines if leaf]
        out.append((sum(leaves), len(leaves), lines))
    return out


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'apollo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


def stored_tree(engine, path: Path):
    assert not collect_roadmap(engine, path, document=path.name).errors
    with engine.connect() as conn:
        rows = document_rows.roadmap_items(conn, path.name)[path.name]
    return tree_from_rows(path.name, rows)


# --- figure builders ------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PLATFORM, MILESTONES], ids=["platform", "milestones"])
def test_the_phase_table_counts_what_the_markdown_says(store, path):
    _, engine = store
    table = figures.phase_table(stored_tree(engine, path))
    hand = counted_by_hand(roadmap_part(path))
    assert table["Done"].tolist() == [figures.done_of(d, t) for d, t, _ in hand]
    assert table["Progress"].tolist() == pytest.approx([d / t for d, t, _ in hand])
    words = ["done" if d == t else "in progress" if d else "planned" for d, t, _ in hand]
    assert table["Status"].tolist() == words


def test_groups_sum_the_phases_under_them(store):
    _, engine = store
    tree = stored_tree(engine, MILESTONES)
    groups = figures.group_table(tree).set_index("Group")
    phases = figures.phase_table(tree)
    for group in ("Web", "Mobile"):
        under = phases[phases["Group"] == group]
        done, total = under["Items done"].sum(), under["Items"].sum()
        assert groups.loc[group, "Done"] == figures.done_of(done, total)
        assert groups.loc[group, "Progress"] == pytest.approx(done / total)
    assert "Group" not in figures.phase_table(stored_tree(engine, PLATFORM)).columns


@pytest.mark.parametrize("path", [PLATFORM, MILESTONES], ids=["platform", "milestones"])
def test_the_checklist_is_the_document_indented_with_status_words(store, path):
    _, engine = store
    tree = stored_tree(engine, path)
    hand = counted_by_hand(roadmap_part(path))
    for phase, (done, total, lines) in zip(tree.phases, hand, strict=True):
        shown = figures.checklist_markdown(phase).splitlines()
        assert len(shown) == len(lines)
        steps = sorted({indent for indent, _, _ in lines})  # indentation levels, in order
        for row, (indent, checked, leaf) in zip(shown, lines, strict=True):
            assert row.startswith("    " * steps.index(indent) + "- :")
            if leaf:
                assert (":green-badge[done]" in row) == checked
                assert (":gray-badge[open]" in row) == (not checked)
            else:
                assert re.search(r"-badge\[\d+ / \d+ done\]", row)
        assert sum(":green-badge[done]" in r for r in shown) == done
        assert sum(":gray-badge[open]" in r for r in shown) == total - done


@given(st.text(max_size=60))
def test_titles_are_shown_as_written(text):
    escaped = figures.escape(text)
    assert re.sub(r"\\(.)", r"\1", escaped, flags=re.S) == text
    assert not re.search(r"(?<!\\)[*_\[\]$`:]", re.sub(r"\\.", "", escaped, flags=re.S))


def snapshot_frame(rows: list[tuple[datetime, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["taken_at", "phase", "done", "total"])


def test_history_carries_the_last_snapshot_through_the_range():
    start = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    end = start + timedelta(days=2)
    before, inside, after = start - timedelta(days=3), start + timedelta(hours=20), end + \
        timedelta(hours=1)
    frame = snapshot_frame([(before, "Build", 1, 3),
                            (inside, "Build", 2, 3), (inside, "Ship", 0, 2),
                            (after, "Build", 3, 3), (after, "Ship", 2, 2)])
    shown = figures.history_frame(frame, start, end).set_index("taken_at")
    assert list(shown.index) == [pd.Timestamp(start), pd.Timestamp(inside), pd.Timestamp(end)]
    assert shown["Build"].tolist() == pytest.approx([100 / 3, 200 / 3, 200 / 3])
    assert shown["Ship"].isna().tolist() == [True, False, False]  # not there yet: a gap
    assert shown[figures.OVERALL].tolist() == pytest.approx([100 / 3, 100 * 2 / 5, 100 * 2 / 5])
    figure = figures.history(frame, start, end)
    assert [t.name for t in figure.data] == ["Build", "Ship", figures.OVERALL]
    assert all(t.line.shape == "hv" and t.connectgaps is False for t in figure.data)
    assert list(figure.layout.xaxis.range) == [start, end]


def test_history_without_snapshots_says_no_data():
    start = datetime(2026, 11, 2, tzinfo=UTC)
    later = snapshot_frame([(start + timedelta(days=5), "Build", 1, 3)])
    for frame in (snapshot_frame([]), later):
        figure = figures.history(frame, start, start + timedelta(days=1))
        assert not figure.data
        assert figure.layout.annotations[0].text.startswith("No data")


# --- the page ------------------------------------------------------------------------------


def run_page(url: str, monkeypatch, **params: str):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("APOLLO_DATABASE_URL", url)
    monkeypatch.setenv("APOLLO_CONFIG", str(EXAMPLE_CONFIG))
    monkeypatch.chdir(ROOT)
    import streamlit

    streamlit.cache_resource.clear()
    streamlit.cache_data.clear()
    app = AppTest.from_file(str(ROOT / "dashboard/pages/roadmap.py"), default_timeout=90)
    for key, value in params.items():
        app.query_params[key] = value
    return app.run()


def leaves_by_sql(engine, document: str) -> tuple[int, int]:
    """Leaf items (no row names them as parent) and those done, straight from the table."""
    with engine.connect() as conn:
        done, total = conn.execute(sa.text(
            "SELECT coalesce(sum(CASE WHEN done THEN 1 ELSE 0 END), 0), count(*) "
            "FROM roadmap_items i WHERE document = :d AND NOT EXISTS (SELECT 1 FROM "
            "roadmap_items c WHERE c.document = i.document AND c.parent_key = i.key)"),
            {"d": document}).one()
    return int(done), int(total)


def test_the_page_shows_each_stored_roadmap(store, monkeypatch):
    url, engine = store
    for path in (PLATFORM, MILESTONES):
        assert not collect_roadmap(engine, path, document=path.name).errors
    app = run_page(url, monkeypatch)
    assert not app.exception
    assert app.selectbox[0].value == MILESTONES.name  # documents by name: this one first
    done, total = leaves_by_sql(engine, MILESTONES.name)
    assert app.metric[0].value == figures.done_of(done, total)
    assert len(app.dataframe) == 2  # groups, then phases
    hand = counted_by_hand(roadmap_part(MILESTONES))
    assert len(app.expander) == len(hand)

    app.selectbox[0].set_value(PLATFORM.name).run()
    assert not app.exception
    assert app.query_params["document"] == PLATFORM.name
    done, total = leaves_by_sql(engine, PLATFORM.name)
    assert app.metric[0].value == figures.done_of(done, total)
    (phases,) = app.dataframe  # no groups in the platform's roadmap
    assert phases.value["Done"].tolist() == [figures.done_of(d, t)
                                             for d, t, _ in counted_by_hand(
                                                 roadmap_part(PLATFORM))]
    assert "Progress over time" in str(app.get("plotly_chart")[0].proto.spec)


def test_an_empty_store_says_no_data(store, monkeypatch):
    url, _ = store
    app = run_page(url, monkeypatch)
    assert not app.exception
    assert app.info[0].value.startswith("No data")
    assert not app.metric


@pytest.mark.servers
def test_the_roadmap_page_in_chromium(store, tmp_path):
    from harness.dashboard import FIRST_PAINT_MS, chromium, running_dashboard

    url, engine = store
    when = datetime.now(UTC) - timedelta(days=3)
    plan = tmp_path / "plan.md"
    plan.write_text("## Phase 1: Build\n- [x] Parent\n    - [x] a\n    - [ ] b\n- [ ] c\n")
    assert not collect_roadmap(engine, plan, document="plan", now=when).errors
    plan.write_text("## Phase 1: Build\n- [x] Parent\n    - [x] a\n    - [x] b\n- [ ] c\n")
    assert not collect_roadmap(engine, plan, document="plan", now=when + timedelta(days=1)
                               ).errors
    assert not collect_roadmap(engine, PLATFORM, document="platform").errors
    done, total = leaves_by_sql(engine, "platform")
    SCREENSHOTS.mkdir(exist_ok=True)
    with running_dashboard(url, tmp_path) as address, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{address}/roadmap?from=now-7d&to=now&document=platform")
        page.wait_for_selector("text=Progress over time", timeout=FIRST_PAINT_MS)
        assert page.locator('[data-testid="stException"]').count() == 0
        metric = page.locator('[data-testid="stMetric"]').first
        assert figures.done_of(done, total) in metric.inner_text()
        assert page.locator(".js-plotly-plot").count() == 1
        screenshot_whole(page, SCREENSHOTS / "roadmap.png")

        page.goto(f"{address}/roadmap?from=now-7d&to=now&document=plan")
        page.wait_for_selector("text=Progress over time", timeout=FIRST_PAINT_MS)
        done, total = leaves_by_sql(engine, "plan")
        assert figures.done_of(done, total) in page.locator(
            '[data-testid="stMetric"]').first.inner_text()
        with engine.connect() as conn:  # each snapshot's share, then the last one held
            shares = [100 * d / t for d, t in conn.execute(sa.text(
                "SELECT sum(done), sum(total) FROM roadmap_snapshots WHERE document = 'plan' "
                "GROUP BY taken_at ORDER BY taken_at"))]
        drawn = page.evaluate("document.querySelector('.js-plotly-plot')._fullData"
                              ".map(t => [t.name, Array.from(t.y)])")  # decoded by plotly.js
        assert dict(drawn)[figures.OVERALL] == pytest.approx([*shares, shares[-1]])
        screenshot_whole(page, SCREENSHOTS / "roadmap-history.png")
    assert (SCREENSHOTS / "roadmap.png").stat().st_size > 50_000
