"""SLO specs: validate a document, or upload it into the configured SLO folder.

    POST /specs/validate          any supported format (apollo/v1, OpenSLO, Sloth, Pyrra),
                                  YAML or JSON -> 200 {valid, slos, errors}: a spec that
                                  does not validate is an answer, not a failure
    POST /specs[?replace=true]    (write) validate, then write it atomically into the first
                                  slo_files folder as <slo id>.yaml (<service>.yaml for
                                  several SLOs of one service) -> 201 with its path

The file name comes from the SLO id, never from the client; an upload that would overwrite
a file (without `replace=true`) or define an SLO id another spec file defines is 409.
Collectors and alert evaluation read slo_files when they start: the answer says so.
"""

from __future__ import annotations

import fnmatch
import glob
import re
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from services.api.deps import Reader, Writer, state
from services.api.schemas_writes import (
    READ_ERRORS,
    WRITE_ERRORS,
    BoundedRoute,
    FieldErrors,
    SpecProblem,
    SpecSlo,
    SpecStored,
    SpecValidation,
    bad_body,
    problem,
)
from services.config import Settings
from services.files import expand, read_text, write_atomically
from slo.durations import format_duration
from slo.errors import InputError, InputErrors
from slo.model import SLO
from slo.specs import FORMATS, load_slos

router = APIRouter(prefix="/specs", tags=["specs"], route_class=BoundedRoute)

SHOWN_AS = "spec"  # how messages name the uploaded document
EXTENSIONS = (".yaml", ".yml", ".json")
MAX_STEM = 100
NOTE = ("Collectors and alert evaluation read slo_files when they start: restart them "
        "(or apollo demo) to pick this spec up.")
_EXAMPLE = """apiVersion: apollo/v1
kind: SLO
service: payment-service
name: availability
objective: 99.9
period: 30d
sli:
  request_ratio:
    errors: sum(rate(http_requests_total{job="payment-service",code=~"5.."}[{{.window}}]))
    total: sum(rate(http_requests_total{job="payment-service"}[{{.window}}]))
"""
# Any YAML or JSON value is a document the loader answers for (a wrong one with its
# errors): the formats are described in docs/slo-spec.md, not in this schema.
SPEC_BODY = {"requestBody": {"required": True, "description": "An SLO spec document",
                             "content": {
    "application/yaml": {"schema": {}, "example": _EXAMPLE},
    "application/json": {"schema": {}},
    "text/plain": {"schema": {"type": "string"}, "example": _EXAMPLE},
}}}
EMPTY = "empty; expected an SLO spec in YAML or JSON (" + ", ".join(FORMATS) + ")"
_write_lock = threading.Lock()  # check-then-write of one process's uploads


# --- validation -------------------------------------------------------------------------


def _sli_kind(slo: SLO) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(slo.sli).__name__).lower()


def describe(slo: SLO) -> SpecSlo:
    period = format_duration(slo.period.length) if slo.period.rolling else (
        f"{slo.period.calendar_unit} (calendar)")
    return SpecSlo(id=slo.id, service=slo.service, name=slo.name, objective=slo.objective,
                   period=period, budgeting=slo.budgeting, sli=_sli_kind(slo),
                   format=slo.source.format, line=slo.source.line,
                   description=slo.description)


def _problem(exc: InputError) -> SpecProblem:
    return SpecProblem(line=exc.line, field=exc.field, message=exc.reason)


def validate_body(body: bytes) -> tuple[list[SLO], list[SpecProblem]]:
    """The SLOs of an uploaded document, or every error found in it, each at its line."""
    if not body.strip():  # no document at all: a bad request, not a spec that fails
        raise bad_body("", EMPTY)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[:exc.start].count(b"\n") + 1
        return [], [SpecProblem(line=line, field="", message="not UTF-8 text")]
    try:
        return load_slos(text, path=SHOWN_AS), []
    except InputErrors as exc:
        return [], [_problem(e) for e in exc.errors]
    except InputError as exc:
        return [], [_problem(exc)]


def _validation(body: bytes) -> SpecValidation:
    slos, errors = validate_body(body)
    return SpecValidation(valid=not errors, slos=[describe(s) for s in slos], errors=errors)


@router.post("/validate", response_model=SpecValidation, openapi_extra=SPEC_BODY,
             responses={**READ_ERRORS, 413: WRITE_ERRORS[413],
                        422: {"description": "An empty body: no document to validate",
                              "model": FieldErrors}})
async def validate_spec(request: Request, _: Reader) -> SpecValidation:
    """Validate an SLO spec of any supported format: its SLOs, or every error with its
    line and field. A spec that does not validate is a 200 with `valid: false`; an empty
    body is 422."""
    body = await request.body()
    return await run_in_threadpool(_validation, body)


# --- upload -----------------------------------------------------------------------------


def _stem(slos: list[SLO]) -> str:
    """The file name (without extension) the SLO ids give: the SLO's id, or the service of
    several SLOs; only [a-z0-9._-], never a path, never hidden."""
    services = sorted({s.service for s in slos})
    if len(services) > 1:
        raise bad_body("", f"holds SLOs of {len(services)} services ({', '.join(services)}); "
                           "upload one service's SLOs per document")
    raw = slos[0].id if len(slos) == 1 else services[0]
    stem = re.sub(r"[^a-z0-9._-]+", "-", raw.lower()).strip("-._")[:MAX_STEM].strip("-._")
    return stem or "slo"


def _folder(pattern: str) -> str | None:
    """The folder part of a slo_files glob (`slos/*.yaml` -> `slos`); None for a glob that
    names one file (nothing new can be written there)."""
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        if glob.has_magic(part):
            return "/".join(parts[:i]) if i else "."
    return None


def _matches(path: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(
        path, pattern.replace("**/", ""))


def target_path(settings: Settings, stem: str) -> str:
    """Where a spec named `stem` goes: the first slo_files glob with a folder, under a name
    that glob matches (so the collectors load it)."""
    for pattern in settings.slo_files:
        folder = _folder(pattern)
        if folder is None:
            continue
        for ext in EXTENSIONS:
            candidate = stem + ext if folder == "." else f"{folder.rstrip('/')}/{stem}{ext}"
            if _matches(candidate, pattern):
                return candidate
    raise HTTPException(503, detail="slo_files names no folder a new spec file could be "
                                    f"written into ({', '.join(settings.slo_files) or 'none'})")


def _defined_elsewhere(settings: Settings, target: Path, ids: set[str]) -> list[str]:
    """Where another configured spec file defines one of `ids` (two would stop the
    collectors: ids are unique across slo_files)."""
    found = []
    for path in expand(settings.slo_files):
        if path.resolve() == target.resolve() or not path.is_file():
            continue
        try:
            slos = load_slos(read_text(path), path=str(path))
        except InputError:  # a broken file is its own problem, not this upload's
            continue
        found += [f"{s.id} ({path.name}:{s.source.line})" for s in slos if s.id in ids]
    return found


def _store(settings: Settings, body: bytes, replace: bool) -> SpecStored:
    slos, errors = validate_body(body)
    if errors:
        raise HTTPException(422, detail=[
            {"loc": ["body", *(p for p in e.field.split(".") if p)],
             "msg": f"line {e.line}: {e.message}" if e.line else e.message,
             "type": "value_error", "line": e.line} for e in errors])
    if not slos:
        raise bad_body("", "the document holds no SLO (only SLIs or services, say): "
                           "nothing to store")
    shown = target_path(settings, _stem(slos))
    target = Path(shown)
    with _write_lock:
        existed = target.exists()
        if existed and not replace:
            raise HTTPException(409, detail=f"{shown} exists already; upload with "
                                            "?replace=true to overwrite it")
        clashes = _defined_elsewhere(settings, target, {s.id for s in slos})
        if clashes:
            raise HTTPException(409, detail="SLO id(s) defined in another spec file: "
                                            + ", ".join(clashes))
        try:
            write_atomically(target, body.decode("utf-8"))
        except InputError as exc:
            raise HTTPException(503, detail=f"{shown}: {exc.reason}") from None
    return SpecStored(path=shown, replaced=existed, slos=[describe(s) for s in slos],
                      note=NOTE)


UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS,
    409: problem("The file exists (without replace=true), or another spec file defines "
                 "one of its SLO ids"),
    503: problem("slo_files names no folder to write into, or it cannot be written"),
}


@router.post("", status_code=201, response_model=SpecStored, openapi_extra=SPEC_BODY,
             responses=UPLOAD_ERRORS)
async def upload_spec(
    request: Request, _: Writer,
    replace: Annotated[bool, Query(description="Overwrite the file of the same name.")] = False,
) -> SpecStored:
    """Validate an SLO spec and store it in the first slo_files folder, named after its
    SLO id (422 with every error when it does not validate)."""
    body = await request.body()
    return await run_in_threadpool(_store, state(request).settings, body, replace)
