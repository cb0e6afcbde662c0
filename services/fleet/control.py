"""The demo fleet's control client: what the dashboard (and any caller allowed to import
services.fleet) uses to read the running fleet and inject or clear its faults.

The running fleet (`apollo fleet`, `apollo demo`) writes its control URL to
`data_dir/fleet.json` (runner.write_state); this reads it and speaks the control endpoint
of services/fleet/server.py:

    GET    /                         the fleet's services, up or down, their faults
    POST   /faults/{service}         {kind, rate?, factor?, duration} -> 201
    DELETE /faults/{service}[?kind]  end its faults now

Errors: SourceUnavailable when no fleet runs or it does not answer; InputError (naming
the field) when the fleet refuses a fault or does not know the service.
"""

from __future__ import annotations

from typing import Any

import httpx

from services.config import Settings
from services.errors import ConfigError, InputError, SourceUnavailable
from services.fleet.faults import KINDS
from services.fleet.runner import read_state

TIMEOUT_S = 5.0


class FleetControl:
    """One running fleet's control endpoint at `url`."""

    def __init__(self, url: str, *, timeout_s: float = TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(timeout=timeout_s, transport=transport, trust_env=False)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> FleetControl:
        """The fleet `data_dir/fleet.json` names; SourceUnavailable when none runs."""
        try:
            url = read_state(settings).get("control_url")
        except ConfigError as exc:
            raise SourceUnavailable("demo fleet", str(exc)) from None
        except (OSError, ValueError, AttributeError) as exc:
            raise SourceUnavailable("demo fleet", f"{settings.data_dir}/fleet.json cannot be "
                                                  f"read ({type(exc).__name__})") from None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SourceUnavailable("demo fleet", f"{settings.data_dir}/fleet.json names no "
                                                  "control URL")
        return cls(url, **kwargs)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> FleetControl:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        target = self.url + path
        try:
            response = self._client.request(method, target, **kwargs)
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"fleet control {self.url}",
                                    f"does not answer ({type(exc).__name__}): is the fleet "
                                    "still running?") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SourceUnavailable(f"fleet control {self.url}",
                                    f"HTTP {response.status_code} without a JSON object")
        return response.status_code, body

    def state(self) -> dict[str, Any]:
        """{"control_url", "services": [{slug, name, metrics_url, up, faults}]}."""
        status, body = self._call("GET", "/")
        if status != 200:
            raise SourceUnavailable(f"fleet control {self.url}", f"HTTP {status}")
        return body

    def inject(self, service: str, kind: str, *, duration: str = "5m",
               rate: float | None = None, factor: float | None = None) -> dict[str, Any]:
        """Set a fault (`error_burst` with `rate`, `latency` with `factor`, or `down`) on
        one service for `duration`; returns {"service", "fault"} as the fleet set it."""
        if kind not in KINDS:
            raise InputError(f"expected one of {', '.join(KINDS)}, got {kind!r}", field="kind")
        body: dict[str, Any] = {"kind": kind, "duration": duration}
        if rate is not None:
            body["rate"] = rate
        if factor is not None:
            body["factor"] = factor
        status, answer = self._call("POST", f"/faults/{service}", json=body)
        if status == 201:
            return answer
        self._refused(status, answer)
        raise AssertionError("unreachable")

    def clear(self, service: str, kind: str | None = None) -> dict[str, Any]:
        """End a service's faults (of `kind`, or all) now; the errors they caused stay."""
        status, answer = self._call("DELETE", f"/faults/{service}",
                                    params={"kind": kind} if kind else {})
        if status == 200:
            return answer
        self._refused(status, answer)
        raise AssertionError("unreachable")

    def _refused(self, status: int, answer: dict[str, Any]) -> None:
        error = str(answer.get("error", f"HTTP {status}"))
        if status == 404:
            known = answer.get("known")
            more = f"; known: {', '.join(map(str, known))}" if isinstance(known, list) else ""
            raise InputError(error + more, field="service")
        if status == 400:
            field, _sep, reason = error.partition(": ")
            raise InputError(reason or error, field=field if reason else "")
        raise SourceUnavailable(f"fleet control {self.url}", f"HTTP {status}: {error}")
