"""Imports run one way, as DESIGN.md's layout table says; this walks every module of ours.

`slo/` is pure (nothing of ours, nothing of the outside world); each layer of `services/`
imports only the layers below it; collectors never reach the API, alerting or dashboard.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("slo", "services", "collectors", "dashboard")
FORBIDDEN_IN_SLO = {
    "sqlalchemy", "httpx", "requests", "redis", "streamlit", "fastapi", "psycopg",
    "clickhouse_connect", "prometheus_api_client", "socket", "subprocess", "time",
}

BASE = {"services.errors", "services.config", "services.files", "services.auth",
        "services.timerange"}
_BELOW_ALERTING = {"slo", *BASE, "services.store", "services.documents"}
# Layer -> the layers of ours it may import (a layer always may import itself).
ALLOWED: dict[str, set[str]] = {
    "slo": set(),
    "services": set(),  # the package itself; a module in no row below lands here
    **{base: {"slo", *BASE} for base in BASE},
    "services.store": {"slo", *BASE},
    "services.documents": {"slo", *BASE},
    "collectors": {*_BELOW_ALERTING},
    "services.alerting": {*_BELOW_ALERTING},
    "services.api": {*_BELOW_ALERTING, "services.alerting", "services.fleet"},
    "services.fleet": {"slo", *BASE},
    "services.runtime": {"*"},
    "services.cli": {"*"},
    "dashboard": {*_BELOW_ALERTING, "services.alerting", "services.fleet"},
}


def layer_of(module: str) -> str | None:
    """The row of the table a dotted module name belongs to (longest prefix wins)."""
    best = None
    for layer in ALLOWED:
        if (module == layer or module.startswith(layer + ".")) and (
                best is None or len(layer) > len(best)):
            best = layer
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module named by an import statement, anywhere in the file (lazy ones too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else (
        module_name(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


MODULES = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_follow_the_layout_table(path):
    mine = layer_of(module_name(path))
    assert mine is not None, f"{module_name(path)} is in no row of DESIGN.md's layout table"
    allowed = ALLOWED[mine]
    wrong = set()
    for name in imports_of(path):
        if name.split(".")[0] not in PACKAGES or name in PACKAGES:
            continue
        theirs = layer_of(name)
        if theirs != mine and "*" not in allowed and theirs not in allowed:
            wrong.add(f"{name} ({theirs})")
    assert not wrong, f"{module_name(path)} ({mine}) may not import {sorted(wrong)}"


@pytest.mark.parametrize("path", sorted((ROOT / "slo").rglob("*.py")), ids=lambda p: p.name)
def test_slo_modules_stay_pure(path):
    roots = {name.split(".")[0] for name in imports_of(path)}
    assert roots & (FORBIDDEN_IN_SLO | {"services", "collectors", "dashboard"}) == set()


def test_the_table_catches_a_wrong_arrow(tmp_path):
    # The checker itself: a store module importing the API is refused, the CLI is not.
    assert "services.api" not in ALLOWED[layer_of("services.store.queries")]
    assert layer_of("services.store.queries") == "services.store"
    assert layer_of("services.config") == "services.config"
    assert layer_of("collectors.scrape.sli") == "collectors"
    assert "*" in ALLOWED[layer_of("services.cli.collect")]


def test_only_the_config_module_reads_the_environment():
    readers = [
        path.relative_to(ROOT).as_posix()
        for folder in PACKAGES
        for path in (ROOT / folder).rglob("*.py")
        if "os.environ" in path.read_text() or "getenv" in path.read_text()
    ]
    assert readers == ["services/config.py"]
