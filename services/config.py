"""Configuration: one YAML file, overridden by `APOLLO_*` environment variables.

The file describes services, sources, SLO globs, notifiers and retention. Secrets never
live in it: a notifier names the environment variable that holds its URL or key, and a
password in `database_url` must come from `APOLLO_DATABASE_URL`. This is the only module
that reads `os.environ`.

Relative paths (data_dir, SLO globs, documents) resolve against the working directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from services.errors import ConfigError, InputError
from services.files import mask_url, read_text, url_instance
from slo.durations import format_duration, parse_duration
from slo.yamlpos import YamlDocument, load_document

ENV_PREFIX = "APOLLO_"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = Path(__file__).resolve().parent / "apollo.example.yaml"

def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("cannot be negative")
    return value


# Every duration of the configuration is an interval, a timeout or a retention: never <= 0.
Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
# ... except waits that may be none at all (an alert's `for`, keep_firing_for, group_wait).
Wait = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_not_negative)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=63)]


class _Model(BaseModel):
    """Strict sections: an unknown key is a typo until proven otherwise."""

    model_config = ConfigDict(extra="forbid")


class Baseline(_Model):
    """The figures a service is expected to show under normal load (the platform's table)."""

    p95_ms: float = Field(gt=0)
    throughput_rps: float = Field(gt=0)
    cpu_ratio: float = Field(gt=0, le=1)
    memory_gib: float = Field(gt=0)
    status: Literal["healthy", "warning", "degraded"] = "healthy"
    error_ratio: float = Field(default=0.0005, ge=0, lt=1)


LabelName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
Labels = dict[LabelName, Annotated[str, Field(max_length=200)]]


_METRIC_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"


class ServiceMetrics(_Model):
    """The metric names a service's /metrics page uses (see collectors/scrape/names.py).

    Each one left out is recognised from the page: prometheus_client, Go client and
    Micrometer names are known.
    """

    requests: str | None = Field(default=None, pattern=_METRIC_NAME)  # a counter of requests
    status_label: LabelName | None = None  # the requests' HTTP status label: code, status…
    latency: str | None = Field(default=None, pattern=_METRIC_NAME)  # a histogram's base name
    cpu: str | None = Field(default=None, pattern=_METRIC_NAME)  # …_seconds_total or 0..1 gauge
    memory: str | None = Field(default=None, pattern=_METRIC_NAME)  # bytes; series are summed

    @field_validator("latency")
    @classmethod
    def _base_name(cls, latency: str | None) -> str | None:
        if latency and latency.endswith(("_bucket", "_count", "_sum")):
            raise ValueError(f"give the histogram's base name, without the "
                             f"{latency.rsplit('_', 1)[1]!r} suffix")
        return latency


class ServiceConfig(_Model):
    slug: Slug
    name: str = Field(min_length=1)
    team: str = ""
    tier: str = ""  # e.g. critical, standard: for filtering and routing
    labels: Labels = Field(default_factory=dict)
    unit: str = "req/s"
    routes: list[str] = Field(default_factory=lambda: ["/"])
    baseline: Baseline | None = None
    metrics: ServiceMetrics | None = None  # page metric names; None: all recognised
    cpu_limit_cores: float | None = Field(default=None, gt=0)  # CPU allotted to one instance


class ScrapeTarget(_Model):
    service: Slug
    url: str = Field(pattern=r"^https?://")
    environment: str | None = None  # one of `environments`
    labels: Labels = Field(default_factory=dict)


class Autoscaling(_Model):
    min_nodes: int = Field(ge=1)
    max_nodes: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.max_nodes < self.min_nodes:
            raise ValueError(f"max_nodes {self.max_nodes} is below min_nodes {self.min_nodes}")
        return self


class Environment(_Model):
    """One row of the platform's configuration matrix: what an environment runs on."""

    database: str = ""
    cache: str = ""
    cdn: list[str] = Field(default_factory=list)  # empty: no CDN
    regions: list[str] = Field(default_factory=list)
    zones: int | None = Field(default=None, ge=1)
    autoscaling: Autoscaling | None = None  # None: a fixed number of nodes


class ScrapeSource(_Model):
    interval: Duration = timedelta(seconds=15)
    timeout: Duration = timedelta(seconds=2)  # covers a target's whole response
    # the most a page may hold after decompression, as Prometheus names it: 50MB is 50·10⁶
    # bytes, 50MiB 50·2²⁰; every page is bounded (Prometheus's 0, no limit, is refused)
    body_size_limit: ByteSize = Field(default=ByteSize(50_000_000), gt=0)
    targets: list[ScrapeTarget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> ScrapeSource:
        if self.timeout > self.interval:  # as Prometheus: a scrape ends before the next one
            raise ValueError(f"timeout {format_duration(self.timeout)} is longer than interval "
                             f"{format_duration(self.interval)}")
        return self


# HTTP header names are RFC 9110 tokens; values one line of visible text (no CR/LF: a header
# value cannot smuggle another header in).
HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", max_length=100)]
HeaderValue = Annotated[str, Field(pattern=r"^[^\r\n\x00]*$", max_length=4096)]
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$", max_length=200)]
ParamName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.\[\]-]*$", max_length=100)]
# a header or query parameter whose value is a credential: only ever from the environment
_SECRET_NAME = re.compile(r"authorization|cookie|token|secret|passw|api[-_]?key|credential",
                          re.I)
# set by the collector on every query: a `params` entry would silently replace them
_QUERY_PARAMETERS = frozenset({"query", "start", "end", "step", "time", "timeout"})
_HOP_HEADERS = frozenset({"host", "content-length", "content-type", "connection",
                          "transfer-encoding"})


def _param_text(value: Any) -> Any:
    """`dedup: true` in YAML is a bool: the API wants the text `true`, as Thanos writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


ParamValue = Annotated[str, BeforeValidator(_param_text),
                       Field(pattern=r"^[^\r\n\x00]*$", max_length=1000)]


class PrometheusSource(_Model):
    """Prometheus, Thanos Query or Mimir (docs/prometheus-collector.md).

    `headers` go with every request (Mimir's `X-Scope-OrgID`); a header that carries a
    credential (Authorization…) is named in `headers_env` by the environment variable
    holding its value. `params` are extra query parameters (Thanos `dedup`,
    `partial_response`, `max_source_resolution`). A minute is read once it ended `delay`
    ago; each run rewrites the last `lookback` of such minutes. `label` is the label whose
    value is a service's slug.
    """

    url: str | None = Field(default=None, pattern=r"^https?://")
    interval: Duration = timedelta(minutes=1)
    timeout: Duration = timedelta(seconds=10)
    delay: Wait = timedelta(seconds=30)
    lookback: Duration = timedelta(minutes=5)
    label: LabelName = "job"
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)
    headers_env: dict[HeaderName, EnvName] = Field(default_factory=dict)
    params: dict[ParamName, ParamValue] = Field(default_factory=dict)

    @field_validator("label")
    @classmethod
    def _not_le(cls, label: str) -> str:
        if label == "le":
            raise ValueError("'le' holds histogram bucket bounds; a service cannot be "
                             "matched on it")
        return label

    @field_validator("lookback")
    @classmethod
    def _whole_minutes(cls, lookback: timedelta) -> timedelta:
        seconds = lookback.total_seconds()
        if seconds < 60 or seconds % 60:
            raise ValueError("must be a whole number of minutes, at least 1m")
        return lookback

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name in headers:
            if _SECRET_NAME.search(name):
                raise ValueError(f"header {name!r} carries a secret: name the environment "
                                 f"variable holding its value in headers_env instead")
        return headers

    @field_validator("headers", "headers_env")
    @classmethod
    def _no_transport_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name in headers:
            if name.lower() in _HOP_HEADERS:
                raise ValueError(f"header {name!r} is set by the HTTP client itself")
        return headers

    @field_validator("params")
    @classmethod
    def _params_of_our_own(cls, params: dict[str, str]) -> dict[str, str]:
        for name in params:
            if name in _QUERY_PARAMETERS:
                raise ValueError(f"parameter {name!r} is set by the collector on every "
                                 "query (the query's timeout is `timeout`)")
            if _SECRET_NAME.search(name):
                raise ValueError(f"parameter {name!r} looks like a credential: send it as "
                                 "a header named in headers_env instead")
        return params

    @model_validator(mode="after")
    def _consistent(self) -> PrometheusSource:
        twice = sorted({n.lower() for n in self.headers} & {n.lower() for n in self.headers_env})
        if twice:
            raise ValueError(f"header(s) {', '.join(twice)} set in both headers and "
                             "headers_env")
        if self.lookback < self.interval:  # a run every 10m rewriting 5m skips 5m each time
            raise ValueError(f"lookback {format_duration(self.lookback)} is shorter than "
                             f"interval {format_duration(self.interval)}: the minutes "
                             "between runs would never be read")
        return self

    def secret_names(self) -> list[str]:
        """The environment variables the headers need set."""
        return list(self.headers_env.values())

    def request_headers(self) -> dict[str, str]:
        """`headers` and the values of `headers_env` from the environment; ConfigError
        naming the variable if one is not set."""
        headers = dict(self.headers)
        for name, variable in self.headers_env.items():
            value = read_secret(variable)
            if value is None:
                raise ConfigError(f"sources.prometheus.headers_env.{name}: the environment "
                                  f"variable {variable} is not set")
            if "\r" in value or "\n" in value:
                raise ConfigError(f"sources.prometheus.headers_env.{name}: the environment "
                                  f"variable {variable} holds a line break")
            headers[name] = value
        return headers


class ClickHouseSource(_Model):
    """`chdb:///abs/path` for the in-process engine, `http(s)://…` for a server.

    Empty means the embedded engine under `data_dir/events`.
    """

    dsn: str | None = Field(default=None, pattern=r"^(chdb|https?|clickhouse)://")
    table: str = Field(default="events", pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    interval: Duration = timedelta(minutes=5)


class DocumentSource(_Model):
    files: list[str] = Field(default_factory=list)
    interval: Duration = timedelta(minutes=10)


class CostSource(DocumentSource):
    opencost_url: str | None = Field(default=None, pattern=r"^https?://")


class Sources(_Model):
    scrape: ScrapeSource = Field(default_factory=ScrapeSource)
    prometheus: PrometheusSource = Field(default_factory=PrometheusSource)
    clickhouse: ClickHouseSource = Field(default_factory=ClickHouseSource)
    roadmap: DocumentSource = Field(default_factory=DocumentSource)
    costs: CostSource = Field(default_factory=CostSource)


class Notifier(_Model):
    """Where alerts go. Secret parts are named by environment variable, never written here:
    a Slack URL (`url_env`), a PagerDuty routing key and a webhook's signing secret
    (`secret_env`). Alertmanager and webhook URLs may be written out (`url`)."""

    name: Slug
    kind: Literal["slack", "pagerduty", "alertmanager", "webhook"]
    url: str | None = Field(default=None, pattern=r"^https?://")
    url_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    secret_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    timeout: Duration = timedelta(seconds=10)
    # PagerDuty severity for each alert severity (critical, error, warning or info)
    severities: dict[str, Literal["critical", "error", "warning", "info"]] = Field(
        default_factory=lambda: {"page": "critical", "ticket": "warning"})

    @model_validator(mode="after")
    def _secret_urls_from_env(self) -> Notifier:
        if self.kind == "slack" and self.url is not None:
            raise ValueError(
                "a slack URL carries a secret: set url_env to the name of an "
                "environment variable instead of url"
            )
        if self.url is None and self.url_env is None and self.kind != "pagerduty":
            raise ValueError("needs url or url_env")
        if self.kind == "pagerduty" and self.secret_env is None:
            raise ValueError("needs secret_env: the variable holding the routing key")
        return self

    def secret_names(self) -> list[str]:
        """The environment variables this notifier needs set."""
        return [n for n in (self.url_env, self.secret_env) if n]


class Route(_Model):
    """A node of the routing tree, as Alertmanager's: the first child whose matchers all
    match takes the alert (and the next ones too while `continue` is set); an alert no
    child takes stays at this node. Unset fields are inherited from the parent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    receiver: str | None = None  # a notifier name
    matchers: list[str] = Field(default_factory=list)  # severity="page", team=~"pay.*"
    group_by: list[str] | None = None
    group_wait: Wait | None = None
    repeat_interval: Duration | None = None
    continue_: bool = Field(default=False, alias="continue")
    routes: list[Route] = Field(default_factory=list)


class AbsentAlerts(_Model):
    """An SLI with no data for `after` raises its own alert (Pyrra's absent alerts)."""

    after: Duration = timedelta(minutes=10)
    severity: str = "ticket"


class Delivery(_Model):
    """How the outbox worker delivers: retries with exponential backoff and jitter until
    `deadline` after the message was written, then the message is dead."""

    deadline: Duration = timedelta(hours=24)
    initial_backoff: Duration = timedelta(seconds=1)
    max_backoff: Duration = timedelta(minutes=5)
    concurrency: int = Field(default=8, ge=1, le=64)  # requests in flight per worker
    batch: int = Field(default=500, ge=1, le=10_000)  # rows claimed at once
    lease: Duration = timedelta(seconds=60)  # a claim outlives a stuck send this long


class AlertingConfig(_Model):
    """The alert lifecycle and where its notifications go."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    enabled: bool = True
    for_: dict[str, Wait] = Field(default_factory=dict, alias="for")  # severity -> pending
    keep_firing_for: Wait = timedelta(0)
    absent: AbsentAlerts = Field(default_factory=AbsentAlerts)
    repost_interval: Duration = timedelta(minutes=1)  # firing alerts to Alertmanager again
    dashboard_url: str | None = Field(default=None, pattern=r"^https?://")
    delivery: Delivery = Field(default_factory=Delivery)
    route: Route | None = None  # None: every alert to every notifier

    def pending_for(self, severity: str) -> timedelta:
        return self.for_.get(severity, timedelta(0))


class Retention(_Model):
    minute: Duration = timedelta(days=14)
    hour: Duration = timedelta(days=400)
    runs: Duration = timedelta(days=30)  # collector runs: what each run did


class FleetEvents(_Model):
    enabled: bool = True
    backfill_days: int = Field(default=30, ge=0, le=400)
    events_per_minute: float = Field(default=20.0, gt=0)
    users: int = Field(default=50_000, gt=0)


class FleetConfig(_Model):
    """The simulated platform behind `apollo fleet` and `apollo demo`."""

    host: str = "127.0.0.1"
    base_port: int = Field(default=0, ge=0, le=65535)  # 0: free ports chosen at start
    control_port: int = Field(default=0, ge=0, le=65535)
    seed: int = 42
    daily_amplitude: float = Field(default=0.2, ge=0, lt=1)
    noise: float = Field(default=0.02, ge=0, lt=0.5)
    events: FleetEvents = Field(default_factory=FleetEvents)
    history_days: int = Field(default=30, ge=0, le=400)  # written by `apollo demo` on first start


class Listen(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)


class ApiConfig(Listen):
    """The HTTP API. Tokens come from APOLLO_API_TOKENS (scope:token,…): writes always need
    a write token; reads need a read token only with `require_token_for_reads`."""

    port: int = Field(default=8000, ge=0, le=65535)
    require_token_for_reads: bool = False
    cors_origins: list[str] = Field(default_factory=list)  # closed by default
    cache_ttl: Duration = timedelta(minutes=5)  # cached responses, also bounded by version
    rate_limit_per_minute: int = Field(default=1200, ge=1)  # per token or client address
    max_body: ByteSize = Field(default=ByteSize(1 << 20))  # uploads, receiver payloads


class Settings(BaseSettings):
    """Everything Apollo can be told. Environment (`APOLLO_X__Y`) wins over the file."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = Field(default=None, pattern=r"^rediss?://")
    services: list[ServiceConfig] = Field(default_factory=list)
    environments: dict[Slug, Environment] = Field(default_factory=dict)
    sources: Sources = Field(default_factory=Sources)
    slo_files: list[str] = Field(default_factory=lambda: ["slos/*.yaml"])
    notifiers: list[Notifier] = Field(default_factory=list)
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    retention: Retention = Field(default_factory=Retention)
    fleet: FleetConfig = Field(default_factory=FleetConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    dashboard: Listen = Field(default_factory=lambda: Listen(port=8501))
    _source: Path | None = PrivateAttr(default=None)  # the file these settings came from

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _targets_name_known_environments(self) -> Settings:
        for i, target in enumerate(self.sources.scrape.targets):
            if target.environment is not None and target.environment not in self.environments:
                known = ", ".join(self.environments) or "none configured"
                raise ValueError(f"sources.scrape.targets.{i}.environment: "
                                 f"{target.environment!r} is not in environments ({known})")
        return self

    @model_validator(mode="after")
    def _routes_name_known_notifiers(self) -> Settings:
        known = {n.name for n in self.notifiers}

        def walk(route: Route, where: str) -> None:
            if route.receiver is not None and route.receiver not in known:
                raise ValueError(f"{where}.receiver: {route.receiver!r} is not a notifier "
                                 f"({', '.join(sorted(known)) or 'none configured'})")
            for i, child in enumerate(route.routes):
                walk(child, f"{where}.routes.{i}")

        if self.alerting.route is not None:
            walk(self.alerting.route, "alerting.route")
        return self

    @field_validator("data_dir")
    @classmethod
    def _a_usable_path(cls, path: Path) -> Path:
        if "\x00" in str(path):
            raise ValueError("a path cannot hold a NUL character")
        return path

    @field_validator("notifiers")
    @classmethod
    def _notifier_names_unique(cls, notifiers: list[Notifier]) -> list[Notifier]:
        names = [n.name for n in notifiers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"notifier name(s) {', '.join(twice)} appear more than once")
        return notifiers

    @model_validator(mode="after")
    def _targets_unique(self) -> Settings:
        """One target is one series: the same URL twice, or two targets of one service at
        one host:port, would write each other's rows."""
        seen: dict[tuple[str, str], int] = {}
        for i, target in enumerate(self.sources.scrape.targets):
            instance = url_instance(target.url)
            for key in ((target.url, ""), (target.service, instance)):
                if key in seen:
                    raise ValueError(f"sources.scrape.targets.{i}: {mask_url(target.url)} "
                                     f"repeats target {seen[key]} (same URL, or same service "
                                     "and host:port)")
                seen[key] = i
        return self

    @model_validator(mode="after")
    def _services_unique(self) -> Settings:
        seen: set[str] = set()
        for service in self.services:
            if service.slug in seen:
                raise ValueError(f"service slug {service.slug!r} appears twice")
            seen.add(service.slug)
        known = seen
        for target in self.sources.scrape.targets:
            if known and target.service not in known:
                raise ValueError(f"scrape target names unknown service {target.service!r}")
        return self

    @property
    def store_url(self) -> str:
        """The SQLAlchemy URL of the store: PostgreSQL if configured, else SQLite in data_dir."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'apollo.db').resolve()}"

    @property
    def events_dsn(self) -> str:
        """The ClickHouse DSN; the embedded engine's path must be absolute (three slashes)."""
        return self.sources.clickhouse.dsn or f"chdb://{(self.data_dir / 'events').resolve()}"

    def ensure_data_dir(self) -> Path:
        """The data folder, created if missing; ConfigError naming it if it cannot be."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"data_dir: cannot create {self.data_dir}: {exc.strerror}"
                              ) from None
        return self.data_dir

    def service(self, slug: str) -> ServiceConfig:
        for service in self.services:
            if service.slug == slug:
                return service
        raise ConfigError(f"no service {slug!r}; known: {', '.join(self.slugs) or 'none'}")

    @property
    def slugs(self) -> list[str]:
        return [s.slug for s in self.services]


def child_environment(settings: Settings) -> dict[str, str]:
    """Environment for a child process (the dashboard) that must load the same settings."""
    env = dict(os.environ)
    if settings._source is not None:
        env[f"{ENV_PREFIX}CONFIG"] = str(settings._source.resolve())
    return env


def config_path_from_env() -> Path | None:
    value = os.environ.get(f"{ENV_PREFIX}CONFIG")
    return Path(value) if value else None


def _find_config(path: Path | None) -> Path:
    if path is not None:
        return path
    if (env_path := config_path_from_env()) is not None:
        return env_path
    local = Path("apollo.yaml")
    return local if local.exists() else EXAMPLE_CONFIG


def _env_names(loc: tuple[Any, ...]) -> list[str]:
    """The APOLLO_* variables that could have set the value at `loc`."""
    names = []
    for cut in range(len(loc), 0, -1):
        name = ENV_PREFIX + "__".join(str(p) for p in loc[:cut]).upper()
        if name in os.environ:
            names.append(name)
    return names


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: dict[str, Any]) -> str:
    msg = mask_url(str(error["msg"]).removeprefix("Value error, "))
    if error["type"] == "extra_forbidden":
        return "unknown field"
    shown = mask_url(repr(error.get("input")))  # a refused URL may carry a password
    if (
        error["type"] != "missing"
        and not isinstance(error.get("input"), dict | list)
        and shown not in msg
    ):
        msg += f" (got {shown})"
    return msg


def _errors(exc: ValidationError, doc: YamlDocument, path: str) -> list[str]:
    """One line per problem, in file order; values set by APOLLO_* name their variable."""
    located = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        env = _env_names(loc)
        line = doc.line_of(loc)
        where = f"environment {env[0]}" if env else f"{path}:{line}"
        located.append((bool(env), line, f"{where}: {_dotted(loc)}: {_describe(error)}"))
    return [text for *_, text in sorted(located)]


_INLINE_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]*@")
_SECRET_PARAMETER = re.compile(r"[?&](password|passwd|pwd|token|secret|api_?key)=", re.I)


def _strings(data: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every string value of the document with where it is."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, (*loc, index))
    elif isinstance(data, str):
        yield loc, data


def _refuse_inline_secrets(doc: YamlDocument, path: str) -> None:
    """A password or token written into any URL of the file is refused, every one at once:
    files get copied, committed and shown; secrets come from the environment."""
    problems = []
    for loc, value in _strings(doc.data):
        if _INLINE_PASSWORD.match(value) or _SECRET_PARAMETER.search(value):
            keys = [str(k) for k in loc if not isinstance(k, int)]
            variable = ENV_PREFIX + "__".join(keys).upper()
            problems.append(f"{path}:{doc.line_of(loc)}: {_dotted(loc)}: a password or token "
                            f"may not be written in the file ({mask_url(value)}); set "
                            f"{variable} in the environment instead")
    if problems:
        raise ConfigError("\n".join(problems))


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (or the bundled example), apply APOLLO_* variables, validate.

    Raises ConfigError with one line per problem, each naming file (or variable), line
    and field.
    """
    config_path = _find_config(path)
    shown = str(config_path)
    try:
        text = read_text(config_path)
    except InputError as exc:  # names the file (and the line of a byte that is not UTF-8)
        where = f"{shown}:{exc.line}" if exc.line else shown
        raise ConfigError(f"{where}: cannot read configuration: {exc.reason}") from exc
    try:
        doc = load_document(text, path=shown)
    except InputError as exc:
        raise ConfigError(str(exc)) from exc
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{shown}:1: (top level): expected a mapping of settings")
    _refuse_inline_secrets(doc, shown)
    try:
        settings = Settings(**{**doc.data, **overrides})
    except ValidationError as exc:
        raise ConfigError("\n".join(_errors(exc, doc, shown))) from exc
    settings._source = config_path
    return settings


def read_secret(name: str) -> str | None:
    """The value of the environment variable `name` (secrets live only there); None when
    unset or empty."""
    return os.environ.get(name) or None
