"""Imports run one way: `slo/` is pure and imports nothing of ours or of the outside world."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_SLO = {
    "sqlalchemy", "httpx", "requests", "redis", "streamlit", "fastapi", "psycopg",
    "clickhouse_connect", "prometheus_api_client", "socket", "subprocess", "time",
    "services", "collectors", "dashboard",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "slo").rglob("*.py")), ids=lambda p: p.name)
def test_slo_modules_stay_pure(path):
    assert imported_modules(path) & FORBIDDEN_IN_SLO == set()


@pytest.mark.parametrize("path", sorted((ROOT / "collectors").rglob("*.py")),
                         ids=lambda p: p.name)
def test_collectors_reach_the_backend_only_through_the_store(path):
    modules = imported_modules(path)
    assert "dashboard" not in modules


def test_only_the_config_module_reads_the_environment():
    readers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("services", "collectors", "dashboard", "slo")
        for path in (ROOT / folder).rglob("*.py")
        if "os.environ" in path.read_text() or "getenv" in path.read_text()
    ]
    assert readers == ["services/config.py"]
