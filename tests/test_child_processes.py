"""The servers Apollo starts as children (the dashboard's Streamlit, the demo's API) die
with the process that started them, even when it is killed with SIGKILL: an orphaned
Streamlit was found holding its port after a test killed `apollo dashboard`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from services.config import EXAMPLE_CONFIG

APOLLO = str(Path(sys.executable).with_name("apollo"))
GONE_WITHIN_S = 10


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_apollo_dashboard_takes_its_streamlit_with_it(tmp_path):
    env = {**os.environ, "APOLLO_DATABASE_URL": f"sqlite:///{tmp_path / 'apollo.db'}",
           "APOLLO_DASHBOARD__PORT": "0", "APOLLO_CONFIG": str(EXAMPLE_CONFIG)}
    parent = subprocess.Popen([APOLLO, "dashboard"], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=tmp_path)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.startswith("dashboard http://127.0.0.1:"), line
        address = line.split()[1]
        assert httpx.get(f"{address}/_stcore/health", timeout=5).text == "ok"
        (streamlit,) = children_of(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + GONE_WITHIN_S
        while alive(streamlit) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(streamlit), f"streamlit {streamlit} outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
