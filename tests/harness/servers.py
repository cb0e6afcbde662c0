"""Start real servers (PostgreSQL, Redis, Prometheus, Alertmanager) for tests.

Every server binds 127.0.0.1 on a free port, keeps its files and log in its own work dir and is
stopped by PID. Every wait is bounded by a deadline. A missing binary or a server that is not
ready in time raises HarnessError: tests that need a server must fail, never skip.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

LOOPBACK = "127.0.0.1"
PG_BINDIR = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.1


class HarnessError(RuntimeError):
    """A test server is missing, did not get ready or misbehaved; the message says which."""


def free_port() -> int:
    """Ask the kernel for a free loopback port (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    """Poll `check` until it is true or `timeout` seconds pass; never loops forever."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL)
    return True


def pid_alive(pid: int) -> bool:
    """True while `pid` runs. A zombie counts as gone: a daemonized postmaster is not our child."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: fall back to signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def terminate_pid(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL and wait a little more."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not pid_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_until(lambda: not pid_alive(pid), wait):
            return


def http_ok(url: str) -> bool:
    """Readiness probe: GET returns 200. trust_env=False keeps proxies away from loopback."""
    try:
        return httpx.get(url, timeout=2.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# Safety net: anything still running when the interpreter exits is stopped.
_LIVE: set[ServerProcess] = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


@dataclass(eq=False, kw_only=True)
class ServerProcess:
    """Handle on one server: how it was started, where it listens, and how to stop it."""

    name: str
    command: list[str]
    port: int
    url: str
    workdir: Path
    log_path: Path
    probe: Callable[[], bool]
    startup_timeout: float = STARTUP_TIMEOUT
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    pid: int | None = None

    def start(self) -> None:
        """Launch the command and block until the probe passes, else raise HarnessError."""
        self.require(self.command[0])
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # a Ctrl-C in the terminal must not skip our stop()
            )
        self.pid = self.process.pid
        _LIVE.add(self)
        self._wait_ready()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Terminate by PID (SIGTERM, then SIGKILL); safe to call any number of times."""
        if self.pid is not None and (self.process is None or self.process.poll() is None):
            terminate_pid(self.pid, timeout)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5.0)  # reap, so no zombie is left behind
        self.process = None
        self.pid = None
        _LIVE.discard(self)

    def restart(self) -> None:
        """Stop, then start again on the same port with the same work dir."""
        self.stop()
        self.start()

    def is_running(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)

    def log_tail(self, n: int = 30) -> str:
        """The last `n` lines of the server's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-n:])

    def error(self, problem: str, command: Sequence[str] | None = None) -> HarnessError:
        """A HarnessError naming the server, the command, the port and the log tail."""
        shown = shlex.join(command if command is not None else self.command)
        return HarnessError(
            f"{self.name} (127.0.0.1:{self.port}) {problem}\n"
            f"command: {shown}\n"
            f"--- last lines of {self.log_path} ---\n{self.log_tail() or '(log is empty)'}"
        )

    def require(self, binary: str, command: Sequence[str] | None = None) -> str:
        """Resolve `binary` to an executable path; a missing one is an error, never a skip."""
        found = shutil.which(binary)
        if found is None:
            problem = f"cannot start: binary {binary!r} not found or not executable"
            raise self.error(problem, command)
        return found

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not self.probe():
            if not self.is_running():
                code = self.process.poll() if self.process is not None else None
                self.stop()
                raise self.error(f"exited (code {code}) before it was ready")
            if time.monotonic() >= deadline:
                self.stop()
                raise self.error(f"was not ready within {self.startup_timeout:g}s")
            time.sleep(POLL_INTERVAL)


# --- PostgreSQL ------------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class PostgresProcess(ServerProcess):
    """PostgreSQL run through pg_ctl, which daemonizes: the PID comes from postmaster.pid."""

    data_dir: Path
    bindir: Path = PG_BINDIR

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq conninfo string for psycopg.connect()."""
        return f"host={LOOPBACK} port={self.port} user={PG_USER} dbname={dbname}"

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL for another database on this server."""
        return f"postgresql+psycopg://{PG_USER}@{LOOPBACK}:{self.port}/{dbname}"

    def initdb(self) -> None:
        """Create the cluster; as root, hand the work dir to `postgres` and run through runuser."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        if _is_root():
            self._check_traversable()
            for path in (self.workdir, self.log_path):
                shutil.chown(path, PG_USER, PG_USER)
        command = [
            str(self.bindir / "initdb"),
            *("-D", str(self.data_dir), "-U", PG_USER, "--auth=trust", "--no-sync"),
        ]
        self._run(command, self.startup_timeout * 2)

    def start(self) -> None:
        """pg_ctl start -w, then a real connection within the deadline."""
        self._run(self.command, self.startup_timeout + 5)
        self.pid = self._postmaster_pid()
        _LIVE.add(self)
        self._wait_ready()

    def stop(self, timeout: float = STOP_TIMEOUT, mode: str = "fast") -> None:
        """pg_ctl stop -m MODE; if the postmaster outlives it, terminate it by PID."""
        pid = self.pid or self._postmaster_pid()
        if pid is None:
            return
        stop = [self._pg_ctl(), "-D", str(self.data_dir), "-m", mode, "-w"]
        stop += ["-t", str(int(timeout)), "stop"]
        with contextlib.suppress(subprocess.TimeoutExpired, HarnessError):
            self._run(stop, timeout + 5, check=False)
        terminate_pid(pid, timeout)
        self.pid = None
        _LIVE.discard(self)

    def restart(self, mode: str = "fast") -> None:
        """Stop (default `-m fast`, which cuts open connections) and start on the same port."""
        self.stop(mode=mode)
        self.start()

    def _pg_ctl(self) -> str:
        return str(self.bindir / "pg_ctl")

    def _as_postgres(self, command: Sequence[str]) -> list[str]:
        """PostgreSQL refuses to run as root, so root runs it as the `postgres` user."""
        return ["runuser", "-u", PG_USER, "--", *command] if _is_root() else list(command)

    def _run(self, command: Sequence[str], timeout: float, check: bool = True) -> None:
        full = self._as_postgres(command)
        self.require(full[0], full)
        self.require(command[0], full)
        with self.log_path.open("ab") as log:
            try:
                result = subprocess.run(
                    full,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise self.error(f"command did not finish within {timeout:g}s", full) from None
        if check and result.returncode != 0:
            raise self.error(f"command failed with code {result.returncode}", full)

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _check_traversable(self) -> None:
        """The `postgres` user must be able to reach the work dir through all its parents."""
        for parent in self.workdir.parents:
            if not parent.stat().st_mode & 0o001:
                raise self.error(
                    f"cannot start: {parent} is not searchable by user {PG_USER!r}; "
                    "use a directory under /tmp whose parents have mode 0o755"
                )


def _pg_probe(port: int) -> bool:
    try:
        with psycopg.connect(
            host=LOOPBACK, port=port, user=PG_USER, dbname="postgres", connect_timeout=2
        ) as conn:
            conn.execute("select 1")
        return True
    except psycopg.Error:
        return False


def start_postgres(
    workdir: Path,
    *,
    port: int | None = None,
    bindir: Path = PG_BINDIR,
    startup_timeout: float = STARTUP_TIMEOUT,
) -> PostgresProcess:
    """initdb + pg_ctl start in `workdir` (which must be reachable by the `postgres` user)."""
    port = port or free_port()
    data_dir = workdir / "data"
    log_path = workdir / "postgres.log"
    options = f"-c listen_addresses={LOOPBACK} -p {port} -k {shlex.quote(str(data_dir))}"
    options += " -c fsync=off"
    server = PostgresProcess(
        name="postgres",
        command=[
            str(bindir / "pg_ctl"),
            *("-D", str(data_dir), "-l", str(log_path), "-w"),
            *("-t", str(int(startup_timeout)), "-o", options, "start"),
        ],
        port=port,
        url=f"postgresql+psycopg://{PG_USER}@{LOOPBACK}:{port}/postgres",
        workdir=workdir,
        log_path=log_path,
        probe=lambda: _pg_probe(port),
        startup_timeout=startup_timeout,
        data_dir=data_dir,
        bindir=bindir,
    )
    server.initdb()
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


# --- Redis -----------------------------------------------------------------------------------


def redis_ping(port: int) -> bool:
    """Raw-socket PING, so readiness does not depend on a client library."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(
    workdir: Path,
    *,
    port: int | None = None,
    binary: str = "redis-server",
    startup_timeout: float = STARTUP_TIMEOUT,
) -> ServerProcess:
    """redis-server without persistence, bound to loopback."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(
        name="redis",
        command=[
            binary,
            *("--port", str(port), "--bind", LOOPBACK, "--save", ""),
            *("--appendonly", "no", "--dir", str(workdir)),
        ],
        port=port,
        url=f"redis://{LOOPBACK}:{port}/0",
        workdir=workdir,
        log_path=workdir / "redis.log",
        probe=lambda: redis_ping(port),
        startup_timeout=startup_timeout,
    )
    server.start()
    return server


# --- Prometheus ------------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class PrometheusProcess(ServerProcess):
    """Prometheus with its config file, plus helpers to reload, query and await targets."""

    config_path: Path
    scrape_configs: list[dict[str, Any]]
    rule_files: list[Path]
    alertmanagers: list[str]
    scrape_interval: str = "1s"
    evaluation_interval: str = "1s"

    def write_config(self) -> None:
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.evaluation_interval,
            },
            "scrape_configs": self.scrape_configs,
            "rule_files": [str(path) for path in self.rule_files],
        }
        if self.alertmanagers:
            targets = {"targets": list(self.alertmanagers)}
            config["alerting"] = {"alertmanagers": [{"static_configs": [targets]}]}
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def reload_config(
        self,
        scrape_configs: list[dict[str, Any]] | None = None,
        rule_files: list[Path] | None = None,
    ) -> None:
        """Rewrite the config (None keeps a section as is) and POST /-/reload."""
        if scrape_configs is not None:
            self.scrape_configs = scrape_configs
        if rule_files is not None:
            self.rule_files = rule_files
        self.write_config()
        try:
            response = httpx.post(f"{self.url}/-/reload", timeout=30.0, trust_env=False)
        except httpx.HTTPError as exc:
            raise self.error(f"reload failed: {exc}") from exc
        if response.status_code != 200:
            raise self.error(f"reload failed ({response.status_code}): {response.text.strip()}")

    def query(self, expr: str, time: float | str | None = None) -> dict[str, Any]:
        """Instant query; returns the `data` part ({"resultType": ..., "result": [...]})."""
        params: dict[str, str] = {"query": expr}
        if time is not None:
            params["time"] = str(time)
        return self._api("/api/v1/query", params)

    def active_targets(self) -> list[dict[str, Any]]:
        return list(self._api("/api/v1/targets", {"state": "active"})["activeTargets"])

    def wait_for_targets_up(self, n: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll until at least `n` active targets are healthy; return the targets.

        Prometheus 2.42 applies new or reloaded targets on a fixed 5 s tick, so expect ~6 s.
        """
        targets: list[dict[str, Any]] = []

        def enough_up() -> bool:
            nonlocal targets
            targets = self.active_targets()
            return sum(t.get("health") == "up" for t in targets) >= n

        if not wait_until(enough_up, timeout):
            states = [(t.get("scrapeUrl"), t.get("health"), t.get("lastError")) for t in targets]
            raise self.error(f"fewer than {n} targets up within {timeout:g}s: {states}")
        return targets

    def _api(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = httpx.get(f"{self.url}{path}", params=params, timeout=30.0, trust_env=False)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise self.error(f"GET {path} failed: {exc}") from exc
        if body.get("status") != "success":
            raise self.error(f"GET {path} {params}: {body.get('errorType')}: {body.get('error')}")
        return dict(body["data"])


def start_prometheus(
    workdir: Path,
    scrape_configs: list[dict[str, Any]] | None = None,
    rule_files: list[Path] | None = None,
    extra_args: Sequence[str] = (),
    *,
    port: int | None = None,
    scrape_interval: str = "1s",
    evaluation_interval: str | None = None,
    alertmanagers: list[str] | None = None,
    binary: str = "prometheus",
    startup_timeout: float = STARTUP_TIMEOUT,
) -> PrometheusProcess:
    """Prometheus with lifecycle API on; `alertmanagers` are "host:port" targets."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "prometheus.yml"
    server = PrometheusProcess(
        name="prometheus",
        command=[
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--web.enable-lifecycle",
            *extra_args,
        ],
        port=port,
        url=f"http://{LOOPBACK}:{port}",
        workdir=workdir,
        log_path=workdir / "prometheus.log",
        probe=lambda: http_ok(f"http://{LOOPBACK}:{port}/-/ready"),
        startup_timeout=startup_timeout,
        config_path=config_path,
        scrape_configs=list(scrape_configs or []),
        rule_files=list(rule_files or []),
        alertmanagers=list(alertmanagers or []),
        scrape_interval=scrape_interval,
        evaluation_interval=evaluation_interval or scrape_interval,
    )
    server.write_config()
    server.start()
    return server


# --- Alertmanager ----------------------------------------------------------------------------


def alertmanager_config(receivers_webhook_url: str | None, group_wait: str) -> dict[str, Any]:
    """One route to one receiver: a webhook if a URL is given, otherwise a null receiver."""
    receiver: dict[str, Any] = {"name": "null"}
    if receivers_webhook_url is not None:
        webhook = {"url": receivers_webhook_url, "send_resolved": True}
        receiver = {"name": "webhook", "webhook_configs": [webhook]}
    route = {
        "receiver": receiver["name"],
        "group_by": ["alertname"],
        "group_wait": group_wait,
        "group_interval": "1s",
        "repeat_interval": "1h",
    }
    return {"route": route, "receivers": [receiver]}


def start_alertmanager(
    workdir: Path,
    receivers_webhook_url: str | None = None,
    group_wait: str = "1s",
    *,
    port: int | None = None,
    binary: str = "prometheus-alertmanager",
    startup_timeout: float = STARTUP_TIMEOUT,
) -> ServerProcess:
    """Alertmanager with clustering off (empty --cluster.listen-address)."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "alertmanager.yml"
    config = alertmanager_config(receivers_webhook_url, group_wait)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    server = ServerProcess(
        name="alertmanager",
        command=[
            binary,
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--cluster.listen-address=",
        ],
        port=port,
        url=f"http://{LOOPBACK}:{port}",
        workdir=workdir,
        log_path=workdir / "alertmanager.log",
        probe=lambda: http_ok(f"http://{LOOPBACK}:{port}/-/ready"),
        startup_timeout=startup_timeout,
    )
    server.start()
    return server
