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
from services.errors import InputError, SourceUnavailable
from services.fleet.control import FleetControl

M = TypeVar("M", bound=BaseModel)
router = APIRouter(prefix="/fleet", tags=["fleet"], route_class=BoundedRoute)
TIMEOUT_S = 5.0
FLEET_ERRORS: dict[int | str, dict[str, Any]] = {
    502: problem("The fleet's control endpoint gave an answer that makes no sense"),
    503: problem("No demo fleet is running, or its control endpoint does not answer"),
}


def control(settings: Settings) -> FleetControl:
    """The running fleet's control client (services/fleet/control.py); 503 naming the
    problem when no fleet runs."""
    try:
        return FleetControl.from_settings(settings, timeout_s=TIMEOUT_S)
    except SourceUnavailable as exc:
        raise _unavailable(exc) from None


def _unavailable(exc: SourceUnavailable) -> HTTPException:
    reason = str(exc).removeprefix("demo fleet: ")
    return HTTPException(503, detail=f"no demo fleet is running: {reason}"
                         if exc.source == "demo fleet" else str(exc))


def _parsed(model: type[M], data: Any, url: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError:
        raise HTTPException(502, detail=f"fleet control {url}: an answer not shaped as "
                                        f"{model.__name__}") from None


@router.get("", response_model=FleetState, responses={**READ_ERRORS, **FLEET_ERRORS})
def fleet_state(request: Request, _: Reader) -> FleetState:
    """The running demo fleet: each service's /metrics URL, whether it is up, its faults."""
    with control(state(request).settings) as fleet:
        try:
            return _parsed(FleetState, fleet.state(), fleet.url)
        except SourceUnavailable as exc:
            raise _unavailable(exc) from None


@router.post("/faults", status_code=201, response_model=FaultSet,
             responses={**WRITE_ERRORS, **NOT_JSON, **FLEET_ERRORS})
def inject_fault(body: FaultIn, request: Request, _: Writer) -> FaultSet:
    """Inject a fault into one service of the running demo fleet: `error_burst` (a `rate`
    of requests fail), `latency` (`factor` times slower) or `down`, `for` a while."""
    with control(state(request).settings) as fleet:
        try:
            answer = fleet.inject(body.service, body.kind, duration=body.duration,
                                  rate=body.rate, factor=body.factor)
        except SourceUnavailable as exc:
            raise _unavailable(exc) from None
        except InputError as exc:
            field = "for" if exc.field == "duration" else exc.field
            raise bad_body(field, exc.reason) from None
        return _parsed(FaultSet, {**answer, "control_url": fleet.url}, fleet.url)


@router.delete("/faults/{service}", response_model=FaultsCleared,
               responses={**WRITE_ERRORS, **FLEET_ERRORS,
                          404: problem("No such service in the fleet")})
def clear_faults(
    service: Annotated[str, Path(max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$")],
    request: Request, _: Writer,
    kind: Annotated[FaultKind | None, Query(description="Only this kind of fault.")] = None,
) -> FaultsCleared:
    """End a service's faults (of one kind, or all) now; the errors they caused stay."""
    with control(state(request).settings) as fleet:
        try:
            answer = fleet.clear(service, kind)
        except SourceUnavailable as exc:
            raise _unavailable(exc) from None
        except InputError as exc:
            raise HTTPException(404, detail=exc.reason) from None
        return _parsed(FaultsCleared, answer, fleet.url)
