"""`apollo roadmap` and `apollo costs` on the platform's own documents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APOLLO = str(Path(sys.executable).with_name("apollo"))


def apollo(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APOLLO, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_roadmap_json_counts_the_platform_plan():
    result = apollo("roadmap", "docs/platform/roadmap.md", "--json")
    assert result.returncode == 0, result.stderr
    tree = json.loads(result.stdout)
    # by hand: 9 + 5 + 0 leaves done of 9 + 9 + 4
    assert [(p["leaves_done"], p["leaves"]) for p in tree["phases"]] == [(9, 9), (5, 9), (0, 4)]
    assert (tree["leaves_done"], tree["leaves"]) == (14, 22)


def test_roadmap_json_reads_quarters_as_phases_and_milestones_under_groups():
    quarters = apollo("roadmap", "tests/data/documents/roadmap-quarters.md", "--json")
    assert quarters.returncode == 0, quarters.stderr
    # by hand: Q1 2 of 2, Q2 1 of 3, Q3 and Q4 listed with nothing under them yet
    assert [(p["title"], p["leaves_done"], p["leaves"]) for p in json.loads(
        quarters.stdout)["phases"]] == [("Q1 2027", 2, 2), ("Q2 2027", 1, 3),
                                        ("Q3 2027", 0, 0), ("Q4 2027", 0, 0)]
    milestones = apollo("roadmap", "tests/data/documents/roadmap-milestones.md")
    assert milestones.returncode == 0, milestones.stderr
    assert "\nWeb  3/4 75%\n  Milestone: Alpha" in milestones.stdout  # 2 + 1 of 2 + 2


def test_roadmap_store_records_items_once(tmp_path):
    env_dir = tmp_path / "var"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([APOLLO, *args], capture_output=True, text=True, timeout=60,
                              cwd=tmp_path, env={"PATH": "/usr/bin:/bin",
                                                 "APOLLO_DATA_DIR": str(env_dir)})

    roadmap = str(ROOT / "docs/platform/roadmap.md")
    unmigrated = run("roadmap", roadmap, "--store")
    assert unmigrated.returncode == 1 and "apollo db upgrade" in unmigrated.stderr
    assert run("db", "upgrade").returncode == 0
    for _ in range(2):
        result = run("roadmap", roadmap, "--store")
        assert result.returncode == 0, result.stderr
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{env_dir / 'apollo.db'}")
    with engine.connect() as conn:
        items = conn.execute(sa.text("SELECT count(*) FROM roadmap_items")).scalar()
        snapshots = conn.execute(sa.text("SELECT count(*) FROM roadmap_snapshots")).scalar()
    assert (items, snapshots) == (26, 3)  # 26 checklist rows; one snapshot per phase, once


def test_costs_are_computed_and_the_stated_potential_flagged():
    result = apollo("costs", "docs/platform/costs.md", "--mau", "1000000", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    monthly = 12450 + 8900 + 2340 + 3670 + 1200 + 4500
    assert summary["total"]["monthly_cost"] == monthly == 33060
    assert summary["total"]["annual_cost"] == 12 * monthly
    assert summary["total"]["cost_per_user"] == monthly / 1_000_000
    weighted = (12450 * 15 + 8900 * 10 + 2340 * 5 + 3670 * 20 + 1200 * 0 + 4500 * 30) / monthly
    assert rounded(summary["total"]["potential_ratio"] * 100) == rounded(weighted)
    assert any("18%" in str(flag) for flag in summary["flags"])


def test_costs_read_the_table_after_a_four_backtick_fence_not_the_one_inside():
    result = apollo("costs", "tests/data/documents/costs-after-fence.md", "--json")
    assert result.returncode == 0, result.stderr
    lines = json.loads(result.stdout)["lines"]
    assert [(x["component"], x["monthly_cost"]) for x in lines] == [
        ("Object storage", 1250), ("Block storage", 730)]


def test_a_bad_month_names_its_flag_without_a_traceback():
    result = apollo("costs", "docs/platform/costs.md", "--month", "2024-13", "--store")
    assert result.returncode == 2
    assert "--month" in result.stderr and "Traceback" not in result.stderr


def rounded(value: float) -> float:
    """Round away float noise in a percentage computed two ways."""
    return round(value, 9)


def test_a_broken_cost_file_names_file_line_and_field():
    result = apollo("costs", "tests/data/costs/broken.csv")
    assert result.returncode == 1
    assert result.stderr.startswith("apollo: error: tests/data/costs/broken.csv:")
