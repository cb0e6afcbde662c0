"""Test harness: real servers on free loopback ports, in temp dirs, stopped by PID."""

from .servers import (
    HarnessError,
    PostgresProcess,
    PrometheusProcess,
    ServerProcess,
    free_port,
    start_alertmanager,
    start_postgres,
    start_prometheus,
    start_redis,
    wait_until,
)

__all__ = [
    "HarnessError",
    "PostgresProcess",
    "PrometheusProcess",
    "ServerProcess",
    "free_port",
    "start_alertmanager",
    "start_postgres",
    "start_prometheus",
    "start_redis",
    "wait_until",
]
