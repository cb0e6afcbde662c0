"""The Environments page: the matrix against the configuration's YAML read here on its own,
the differences it marks, the page in AppTest (and its empty state), and in Chromium."""

from __future__ import annotations

import pytest
import yaml
from dashboard_pages import (
    app_env,
    no_exception,
    run_page,
    screenshot_whole,
    seeded,
    texts,
    watched_page,
)

from dashboard.figures import environments as figures
from services.config import EXAMPLE_CONFIG, load_settings

RAW = yaml.safe_load(EXAMPLE_CONFIG.read_text())["environments"]


def matrix():
    settings = load_settings(EXAMPLE_CONFIG)
    return figures.matrix(settings.environments, settings.sources.scrape.targets)


def test_each_cell_is_the_configured_value():
    frame = matrix()
    assert list(frame.columns[:-1]) == list(RAW)
    for name, env in RAW.items():
        assert frame.loc["Database", name] == env["database"]
        assert frame.loc["Cache", name] == env["cache"]
        assert frame.loc["Regions", name] == ", ".join(env["regions"])
        assert frame.loc["CDN", name] == (", ".join(env["cdn"]) or figures.NONE)
        scaling = env.get("autoscaling")
        assert frame.loc["Autoscaling", name] == (
            f"{scaling['min_nodes']}-{scaling['max_nodes']} nodes" if scaling
            else "fixed nodes")
        assert frame.loc["Zones", name] == str(env.get("zones", figures.NOT_SET))


def test_the_rows_that_differ_are_those_whose_yaml_values_differ():
    keys = {"Database": "database", "Cache": "cache", "CDN": "cdn", "Regions": "regions",
            "Zones": "zones", "Autoscaling": "autoscaling"}
    expected = [row for row, key in keys.items()
                if len({repr(env.get(key)) for env in RAW.values()}) > 1]
    assert [r for r in figures.differing(matrix()) if r in keys] == expected
    frame = matrix()
    assert all(frame.loc[r, "Across environments"] == figures.SAME
               for r in frame.index if r not in expected and r in keys)


def test_with_an_environment_chosen_what_differs_from_it_is_shaded():
    frame = matrix()
    styles = figures.styled(frame, "staging")._compute().ctx
    names = list(frame.columns)
    for (i, j), css in styles.items():
        column, row = names[j], frame.index[i]
        text = ";".join(f"{k}:{v}" for k, v in css)
        if column == "staging":
            assert "font-weight" in text
        elif column in RAW:
            assert ("background-color" in text) == (frame.loc[row, column]
                                                   != frame.loc[row, "staging"])


def test_the_page_shows_the_matrix(tmp_path, monkeypatch):
    url, engine, _ = seeded(tmp_path, 0)
    engine.dispose()
    app_env(monkeypatch, url)
    app = run_page("environments.py", {"env": "staging"})
    assert not app.exception
    shown = app.dataframe[0].value
    assert list(shown.columns[:-1]) == list(RAW)
    differ = figures.differing(matrix())
    metric = next(m for m in app.metric if m.label == "Settings that differ")
    assert metric.value == f"{len(differ)} of {len(shown)}"
    assert any("differs from staging" in c for c in texts(app, "caption"))


def test_without_environments_the_page_says_how_to_add_them(tmp_path, monkeypatch):
    url, engine, _ = seeded(tmp_path, 0)
    engine.dispose()
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    del config["environments"]
    bare = tmp_path / "apollo.yaml"
    bare.write_text(yaml.safe_dump(config))
    app_env(monkeypatch, url, config=bare)
    app = run_page("environments.py")
    assert not app.exception
    assert any("No environments are configured" in i for i in texts(app, "info"))
    assert not app.dataframe


@pytest.mark.servers
def test_the_environments_page_in_chromium(tmp_path):
    from harness.dashboard import FIRST_PAINT_MS, chromium, running_dashboard

    url, engine, _ = seeded(tmp_path, 0)
    engine.dispose()
    with running_dashboard(url, tmp_path) as address, chromium() as browser, \
            watched_page(browser) as page:
        page.goto(f"{address}/environments?env=staging")
        page.wait_for_selector("text=Settings that differ", timeout=FIRST_PAINT_MS)
        page.wait_for_selector("[data-testid=stDataFrame]", timeout=FIRST_PAINT_MS)
        no_exception(page)
        assert page.get_by_text("differs from staging", exact=False).is_visible()
        screenshot_whole(page, "environments.png")
        # one interaction: another environment scopes the page through the URL
        page.get_by_role("combobox", name="Environment").click()
        page.get_by_role("option", name="production").click()
        page.wait_for_url("**env=production**", timeout=FIRST_PAINT_MS)
        page.wait_for_selector("text=differs from production", timeout=FIRST_PAINT_MS)
        no_exception(page)
