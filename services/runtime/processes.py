"""Child processes of `apollo demo` and `apollo dashboard`, and the ports they take."""

from __future__ import annotations

import ctypes
import errno
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.config import PROJECT_ROOT, Settings
from services.errors import ApolloError, PortInUseError

STREAMLIT_APP = PROJECT_ROOT / "streamlit_app.py"
READY_TIMEOUT_S = 60.0


def claim_port(host: str, port: int, what: str) -> int:
    """`port`, checked free (or a free one when 0); PortInUseError names it otherwise."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(host, port, what) from exc
            raise
        return int(probe.getsockname()[1])


def dashboard_command(host: str, port: int, app: Path = STREAMLIT_APP) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--client.toolbarMode", "viewer",
    ]


@dataclass
class Child:
    name: str
    url: str
    process: subprocess.Popen[bytes]

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


PR_SET_PDEATHSIG = 1


def _libc_prctl() -> Any:
    """libc's prctl, found once in the parent (nothing is loaded between fork and exec)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the parent's own stop() is the only guard
        return None


_PRCTL = _libc_prctl()


def die_with_parent() -> None:
    """In the child before it runs (Linux): SIGTERM when the process that started it dies,
    even by SIGKILL, so a killed `apollo demo` or `apollo dashboard` leaves no server
    behind (an orphaned Streamlit was found holding its port after a test's kill)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def _start(name: str, command: list[str], url: str, health_url: str,
           env: dict[str, str] | None) -> Child:
    """A server as a child process; returns once `health_url` answers."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
    child = Child(name, url, process)
    _wait_ready(child, health_url)
    return child


def _wait_ready(child: Child, health_url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise ApolloError(f"{child.name} exited with code {child.process.returncode} "
                              "before it was ready")
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    child.stop()
    raise ApolloError(f"{child.name} at {child.url} not ready after {READY_TIMEOUT_S:.0f}s")


def start_dashboard(settings: Settings, env: dict[str, str] | None = None) -> Child:
    """Streamlit serving the dashboard; returns once `/_stcore/health` answers."""
    host = settings.dashboard.host
    port = claim_port(host, settings.dashboard.port, "dashboard")
    url = f"http://{host}:{port}"
    return _start("dashboard", dashboard_command(host, port), url, f"{url}/_stcore/health",
                  env)


def api_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "services.cli.main", "api", "--host", host,
            "--port", str(port)]


def start_api(settings: Settings, env: dict[str, str] | None = None) -> Child:
    """`apollo api` as a child process; returns once `/health` answers."""
    host = settings.api.host
    port = claim_port(host, settings.api.port, "api")
    url = f"http://{host}:{port}"
    return _start("api", api_command(host, port), url, f"{url}/health", env)
