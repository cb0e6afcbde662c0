"""The Prometheus + Alertmanager side of bench/alerting.py's time-to-page run.

`write_backfill` renders the fleet's own counters for the days before the live fleet
started as OpenMetrics text, one sample per scrape interval, with exactly the labels
Prometheus attaches when it scrapes the live page (`job`, `instance`); `backfill` turns
that into TSDB blocks with promtool before Prometheus starts. The history simulator
starts `days` before the live fleet did and its last sample is at the live fleet's start,
where the live counters start from zero: Prometheus reads the drop as a counter reset and
counts the live value as the increase since then, so every window's increase is exact
across the seam.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np

from services.fleet.simulator import ServiceProfile, ServiceSimulator

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}


def family_of(name: str, kind: str) -> str:
    for suffix in SUFFIXES.get(kind, ()):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _value(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


def write_backfill(path: Path, profile: ServiceProfile, *, seed: int, amplitude: float,
                   noise: float, end: float, days: float, step_s: float, job: str,
                   instance: str) -> tuple[int, float]:
    """OpenMetrics samples of [end - days, end] every `step_s` seconds (the last at `end`);
    returns (samples, first sample time)."""
    n = round(days * 86400 / step_s)
    times = end - step_s * np.arange(n, -1, -1)
    sim = ServiceSimulator(profile, seed=seed, start=float(times[0]), amplitude=amplitude,
                           noise=noise)
    keys: list | None = None
    types: dict[str, str] = {}
    values = np.empty((0, 0))
    for i, t in enumerate(times.tolist()):
        sample, types = sim.samples(t)
        if keys is None:
            keys = list(sample)
            values = np.empty((len(keys), len(times)))
        values[:, i] = [sample[k] for k in keys]
    assert keys is not None
    stamps = [f"{t:.3f}" for t in times.tolist()]
    families: dict[str, list[int]] = {}
    for row, (name, _labels) in enumerate(keys):
        families.setdefault(family_of(name, types[name]), []).append(row)
    written = 0
    with path.open("w", encoding="utf-8") as f:
        for family, rows in families.items():
            f.write(f"# TYPE {family} {types[keys[rows[0]][0]]}\n")
            for row in rows:
                name, labels = keys[row]
                pairs = [("instance", instance), ("job", job), *labels]
                head = name + "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "} "
                f.writelines(f"{head}{_value(v)} {s}\n"
                             for v, s in zip(values[row].tolist(), stamps, strict=True))
                written += len(stamps)
        f.write("# EOF\n")
    return written, float(times[0])


def backfill(om_file: Path, data_dir: Path, timeout_s: float = 300) -> str:
    """promtool tsdb create-blocks-from openmetrics; its output, or RuntimeError."""
    data_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q",
                           str(om_file), str(data_dir)], capture_output=True, text=True,
                          timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"promtool failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout + done.stderr


def check_rules(rules_file: Path) -> None:
    done = subprocess.run(["promtool", "check", "rules", str(rules_file)], capture_output=True,
                          text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"promtool check rules: {done.stdout[-1000:]}{done.stderr[-1000:]}")


def am_alerts(body: object, alertname: str, severity: str) -> list[dict]:
    """The alerts of one Alertmanager webhook payload (version 4) with this name and
    severity."""
    if not isinstance(body, dict):
        return []
    return [a for a in body.get("alerts") or []
            if isinstance(a, dict) and (a.get("labels") or {}).get("alertname") == alertname
            and (a.get("labels") or {}).get("severity") == severity]


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)
