"""Several inputs are checked before anything is written; files are written whole or not at
all; a folder that cannot be made, a bad port or an askew checkbox is one located line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
APOLLO = [sys.executable, "-c", "from services.cli import main; main()"]
SPEC = ROOT / "slos" / "payment-service.yaml"
OTHER = ROOT / "slos" / "auth-service.yaml"


def apollo(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
           ) -> subprocess.CompletedProcess:
    return subprocess.run([*APOLLO, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_rules_with_one_bad_spec_write_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: apollo/v1\nkind: SLO\nservice: x\nname: y\nobjective: 250\n")
    out = tmp_path / "rules"
    result = apollo("slo", "rules", str(SPEC), str(bad), "-o", str(out))
    assert result.returncode == 1 and f"{bad}:" in result.stderr
    assert not out.exists() or list(out.rglob("*")) == []


def test_rules_mirror_the_specs_folders_and_refuse_a_true_clash(tmp_path):
    for folder, spec in (("payments", SPEC), ("checkout", OTHER)):
        (tmp_path / "specs" / folder).mkdir(parents=True)
        (tmp_path / "specs" / folder / "slo.yaml").write_text(spec.read_text())
    out = tmp_path / "out"
    result = apollo("slo", "rules", str(tmp_path / "specs" / "payments" / "slo.yaml"),
                    str(tmp_path / "specs" / "checkout" / "slo.yaml"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yml"))
    assert written == ["checkout/slo.rules.yml", "payments/slo.rules.yml"]
    assert not list(out.rglob("*.tmp"))  # written through a temporary name, renamed

    (tmp_path / "specs" / "payments" / "slo.yml").write_text(OTHER.read_text())
    clash = apollo("slo", "rules", str(tmp_path / "specs" / "payments" / "slo.yaml"),
                   str(tmp_path / "specs" / "payments" / "slo.yml"), "-o",
                   str(tmp_path / "clash"))
    assert clash.returncode == 1 and "rename one" in clash.stderr
    assert not (tmp_path / "clash").exists() or not list((tmp_path / "clash").rglob("*.yml"))


def test_rules_refuse_an_output_that_is_a_file(tmp_path):
    target = tmp_path / "rules.yml"
    target.write_text("keep\n")
    result = apollo("slo", "rules", str(SPEC), "-o", str(target))
    assert result.returncode == 1 and "is a file" in result.stderr
    assert "Traceback" not in result.stderr and target.read_text() == "keep\n"


def test_costs_with_one_bad_file_store_nothing(tmp_path):
    config = tmp_path / "apollo.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "var")}))
    assert apollo("--config", str(config), "db", "upgrade").returncode == 0
    good = tmp_path / "good.csv"
    good.write_text("component,monthly_cost\nDatabase,100\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("component,monthly_cost\nCache,ten\n")
    result = apollo("--config", str(config), "costs", str(good), str(bad), "--store")
    assert result.returncode == 1 and f"{bad}:2" in result.stderr
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'var' / 'apollo.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cost_lines")).scalar() == 0


@pytest.mark.parametrize("mark", ["[ x]", "[x ]", "[[x]]"])
def test_an_askew_checkbox_is_named_not_dropped(tmp_path, mark):
    doc = tmp_path / "roadmap.md"
    doc.write_text(f"# Plan\n\n## Stage A\n\n- [x] one\n- {mark} two\n")
    result = apollo("roadmap", str(doc))
    assert result.returncode == 1
    assert f"{doc}:6: checkbox: unknown checkbox mark '{mark}'" in result.stderr


def test_a_data_folder_that_cannot_be_made_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {"APOLLO_DATA_DIR": str(blocker / "var"), "APOLLO_FLEET__EVENTS__ENABLED": "false"}
    for args in (("db", "upgrade"), ("fleet",)):
        result = apollo(*args, env=env, cwd=tmp_path)
        assert result.returncode == 1, args
        assert "Traceback" not in result.stderr and str(blocker / "var") in result.stderr


def test_a_port_out_of_range_is_a_usage_error():
    result = apollo("collect", "--metrics-port", "99999")
    assert result.returncode == 2 and "--metrics-port" in result.stderr
