"""The demo fleet's faults over the API (demo only), through the fleet's control endpoint.

    GET    /fleet                    services of the running fleet, up or down, their faults
    POST   /fleet/faults             (write) {service, kind, rate?, factor?, for} -> 201
    DELETE /fleet/faults/{service}   (write) [?kind=K] end its faults now

The running fleet (`apollo fleet` or `apollo demo`) writes its control URL to
`data_dir/fleet.json`, as `apollo fleet fault` reads it; with no fleet running, or one that
does not answer, these routes answer 503 naming the problem.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import httpx
from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ValidationError

from services.api.deps import Reader, Writer, state
from services.api.schemas_writes import (
    NOT_JSON,
    READ_ERRORS,
    WRITE_ERRORS,
    BoundedRoute,
    FaultIn,
    FaultKind,
    FaultsCleared,
    FaultSet,
    FleetState,
    bad_body,
    problem,
)
from services.config import Settings
from services.errors import ConfigError
from services.fleet.runner import read_state, state_file

M = TypeVar("M", bound=BaseModel)
router = APIRouter(prefix="/fleet", tags=["fleet"], route_class=BoundedRoute)
TIMEOUT_S = 5.0
FLEET_ERRORS: dict[int | str, dict[str, Any]] = {
    502: problem("The fleet's control endpoint gave an answer that makes no sense"),
    503: problem("No demo fleet is running, or its control endpoint does not answer"),
}


def control_url(settings: Settings) -> str:
    """The running fleet's control URL, from data_dir/fleet.json; 503 when there is none."""
    try:
        url = read_state(settings).get("control_url")
    except ConfigError:
        raise HTTPException(503, detail=f"no demo fleet is running ({state_file(settings)} "
                                        "not found): start one with `apollo fleet` or "
                                        "`apollo demo`") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise HTTPException(503, detail=f"no demo fleet is running: {settings.data_dir}/"
                                        f"fleet.json cannot be read ({type(exc).__name__})"
                            ) from None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise HTTPException(503, detail=f"no demo fleet is running: {settings.data_dir}/"
                                        "fleet.json names no control URL")
    return url.rstrip("/")


def _call(method: str, url: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of one control request; 503 when the fleet does not answer."""
    try:
        response = httpx.request(method, url, timeout=TIMEOUT_S, **kwargs)
    except httpx.HTTPError as exc:
        raise HTTPException(503, detail=f"the demo fleet's control {url} does not answer "
                                        f"({type(exc).__name__}): is the fleet still "
                                        "running?") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise HTTPException(502, detail=f"fleet control {url}: HTTP {response.status_code} "
                                        "without a JSON object")
    return response.status_code, body


def _parsed(model: type[M], data: Any, url: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError:
        raise HTTPException(502, detail=f"fleet control {url}: an answer not shaped as "
                                        f"{model.__name__}") from None


def _unknown(body: dict[str, Any]) -> str:
    known = body.get("known")
    return str(body.get("error", "unknown service")) + (
        f"; known: {', '.join(map(str, known))}" if isinstance(known, list) else "")


@router.get("", response_model=FleetState, responses={**READ_ERRORS, **FLEET_ERRORS})
def fleet_state(request: Request, _: Reader) -> FleetState:
    """The running demo fleet: each service's /metrics URL, whether it is up, its faults."""
    url = control_url(state(request).settings)
    status, body = _call("GET", url + "/")
    if status != 200:
        raise HTTPException(502, detail=f"fleet control {url}: HTTP {status}")
    return _parsed(FleetState, body, url)


@router.post("/faults", status_code=201, response_model=FaultSet,
             responses={**WRITE_ERRORS, **NOT_JSON, **FLEET_ERRORS})
def inject_fault(body: FaultIn, request: Request, _: Writer) -> FaultSet:
    """Inject a fault into one service of the running demo fleet: `error_burst` (a `rate`
    of requests fail), `latency` (`factor` times slower) or `down`, `for` a while."""
    url = control_url(state(request).settings)
    sent: dict[str, Any] = {"kind": body.kind, "duration": body.duration}
    if body.rate is not None:
        sent["rate"] = body.rate
    if body.factor is not None:
        sent["factor"] = body.factor
    status, answer = _call("POST", f"{url}/faults/{body.service}", json=sent)
    if status == 404:
        raise bad_body("service", _unknown(answer))
    if status == 400:
        field, _sep, reason = str(answer.get("error", "")).partition(": ")
        field = "for" if field == "duration" else field
        raise bad_body(field if reason else "", reason or field)
    if status != 201:
        raise HTTPException(502, detail=f"fleet control {url}: HTTP {status}")
    return _parsed(FaultSet, {**answer, "control_url": url}, url)


@router.delete("/faults/{service}", response_model=FaultsCleared,
               responses={**WRITE_ERRORS, **FLEET_ERRORS,
                          404: problem("No such service in the fleet")})
def clear_faults(
    service: Annotated[str, Path(max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$")],
    request: Request, _: Writer,
    kind: Annotated[FaultKind | None, Query(description="Only this kind of fault.")] = None,
) -> FaultsCleared:
    """End a service's faults (of one kind, or all) now; the errors they caused stay."""
    url = control_url(state(request).settings)
    status, answer = _call("DELETE", f"{url}/faults/{service}",
                           params={"kind": kind} if kind else {})
    if status == 404:
        raise HTTPException(404, detail=_unknown(answer))
    if status != 200:
        raise HTTPException(502, detail=f"fleet control {url}: HTTP {status}")
    return _parsed(FaultsCleared, answer, url)
