"""Opening the user's files: text with errors that name the file; SLO specs, alert-window
files and per-minute SLI data read for `slo/`; and `mask_url`, the one way a URL is shown.

`slo/` never opens a file; this module does, and turns what it reads into the pure
model's inputs. Every error names the file and line, and a file with several errors
reports all of them.
"""

from __future__ import annotations

import csv
import glob
import math
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TextIO

import numpy as np

from services.timerange import parse_timestamp
from slo.attribution import Marker
from slo.errors import InputError, InputErrors, SpecError
from slo.model import SLO
from slo.series import MinuteSeries
from slo.specs import load_slo_texts
from slo.windows import AlertWindows, parse_windows_document
from slo.yamlpos import iter_documents

# --- showing URLs ---------------------------------------------------------------------------

MASK = "***"
_USER = re.compile(r"[^:/?#@\s]*:")
_PARAM = re.compile(r"(?P<lead>^|[?&;\s])(?P<key>[^=&;#?\s]+)=(?P<value>[^&;#\s]*)")
_SECRET_KEYS = ("pass", "pwd", "secret", "token", "apikey", "api_key", "api-key", "auth",
                "credential", "signature", "private")


def url_instance(url: str) -> str:
    """The `host:port` a scrape URL names: Prometheus's `instance` label, and the store's
    instance of every row scraped from it."""
    return url.split("://", 1)[-1].split("/", 1)[0]


def mask_url(url: str) -> str:
    """`url` with its password and secret parameters replaced by `***`, to show to anyone.

    Any scheme (`postgresql+psycopg://u:pw@h/db`, `redis://:pw@h`, `https://u:pw@h`,
    `clickhouse://…`, `chdb:///path`); query or keyword parameters whose name says secret
    (`?password=`, `&token=`, `secret=`, `api_key=` …) too. A string that does not parse as
    a URL (a password holding `/`, say) is masked from `://user:` to its last `@`, so the
    password never shows, at the price of sometimes hiding more; so is `user:pw@host`
    without a scheme. A message quoting several URLs has each masked. Pass a SQLAlchemy
    URL as `str(engine.url)` (it already shows `***`)."""
    head, *rests = url.split("://")  # without a scheme, the text may start with user:pw@
    masked = "://".join([head, *map(_mask_userinfo, rests)]) if rests else _mask_userinfo(url)
    return _PARAM.sub(_mask_param, masked)


def _mask_userinfo(rest: str) -> str:
    """`rest` (what follows a `://`) with the password before its host masked."""
    authority = re.split(r"[/?#\s]", rest, maxsplit=1)[0]
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        name, colon, password = userinfo.partition(":")
        shown = f"{name}:{MASK}" if colon and password else userinfo
        return f"{shown}@{host}{rest[len(authority):]}"
    user = _USER.match(rest)
    if user is not None and "@" in rest[user.end():]:  # a password holding / ? # or space
        return f"{user.group()}{MASK}{rest[rest.rindex('@'):]}"
    return rest


def _mask_param(match: re.Match[str]) -> str:
    key, value = match["key"], match["value"]
    if value and any(word in key.lower() for word in _SECRET_KEYS):
        value = MASK
    return f"{match['lead']}{key}={value}"


# --- the user's text files -------------------------------------------------------------------


MAX_TEXT_BYTES = 10 * 2**20  # a spec, document or config file: far more than any real one


def read_text(path: Path, *, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The whole file as UTF-8 text, read no further than `max_bytes` (a huge file is refused
    before it fills memory); InputError naming the file, and the line of a bad byte."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    if len(data) > max_bytes:
        raise InputError(f"larger than {max_bytes // 2**20} MiB; not read", path=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", path=str(path), line=line) from exc


def open_text(path: Path) -> TextIO:
    """The file opened for `csv` (newline="" as the csv module asks)."""
    try:
        return path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from exc


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`: a reader
    (or a crash) never sees half a file. InputError naming the file if it cannot be."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write: {exc.strerror}", path=str(path)) from None


def expand(patterns: Iterable[str]) -> list[Path]:
    """Files named or matched by glob patterns, each once, in order."""
    seen: dict[Path, None] = {}
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [
            pattern]
        for match in matches:
            seen.setdefault(Path(match), None)
    return list(seen)


def load_slo_files(paths: Iterable[Path]) -> list[SLO]:
    """Every SLO of every file; all problems of all files are reported together. The files
    are read as one set (`load_slo_texts`): an OpenSLO reference in one may name an object
    of another, and a reference naming none of them is an error."""
    texts: list[tuple[str, str]] = []
    errors: list[InputError] = []
    for path in paths:
        try:
            texts.append((str(path), read_text(path)))
        except InputError as exc:
            errors.append(exc)
    slos: list[SLO] = []
    try:
        slos = load_slo_texts(texts)
    except InputErrors as exc:
        errors.extend(exc.errors)
    except InputError as exc:
        errors.append(exc)
    if errors:
        raise InputErrors(errors)
    ids: dict[str, SLO] = {}
    for slo in slos:
        if slo.id in ids:
            first = ids[slo.id].source
            errors.append(SpecError(f"SLO id {slo.id!r} is also defined at "
                                    f"{first.path}:{first.line}", path=slo.source.path,
                                    line=slo.source.line, field="name"))
        ids[slo.id] = slo
    if errors:
        raise InputErrors(errors)
    return slos


def _stamp(path: Path) -> tuple[str, int, int]:
    """What tells a file changed: its modification time and size (-1s: not there)."""
    try:
        info = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), info.st_mtime_ns, info.st_size)


_CATALOG: list[tuple[tuple[tuple[str, int, int], ...], list[SLO]]] = []  # the last read
_CATALOG_LOCK = threading.Lock()


def slo_catalog(patterns: Iterable[str]) -> list[SLO]:
    """The SLOs of the files `patterns` name or match (`expand`, `load_slo_files`), read
    again only when one of them changes (its time or size, or which files match): a
    long-lived reader (the API) parses them once, not per request. The last read is kept
    and replaced whole, so concurrent callers get one read or the other (the list is
    shared: do not change it). Raises what
    `load_slo_files` raises (InputErrors naming every file and line), and reads again on
    the next call."""
    paths = expand(patterns)
    key = tuple(_stamp(p) for p in paths)
    last = _CATALOG[-1] if _CATALOG else None
    if last is not None and last[0] == key:
        return last[1]
    with _CATALOG_LOCK:  # one reader parses; the others wait for its result
        last = _CATALOG[-1] if _CATALOG else None
        if last is not None and last[0] == key:
            return last[1]
        slos = load_slo_files(paths)
        _CATALOG[:] = [(key, slos)]
        return slos


def load_windows(paths: Iterable[Path]) -> dict[timedelta, AlertWindows]:
    """Sloth AlertWindows files, or directories of them, keyed by SLO period."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.y*ml")) if path.is_dir() else [path])
    out: dict[timedelta, AlertWindows] = {}
    for file in files:
        for doc in iter_documents(read_text(file), path=str(file)):
            windows = parse_windows_document(doc.data, path=str(file), line_of=doc.line_of)
            out[windows.period] = windows
    return out


# --- per-minute SLI data ------------------------------------------------------------------


def _number(text: str | None, name: str) -> float:
    if text is None or not text.strip():
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}: expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a count of 0 or more, got {text!r}")
    return value


@dataclass(frozen=True)
class _Row:
    minute: int
    good: float
    total: float


def csv_records(handle: TextIO, shown: str, required: Sequence[str], *,
                expected: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) of a CSV with a header naming `required` columns; a file that is not
    UTF-8 or not CSV is one error naming its line, never a traceback."""
    reader = csv.DictReader(handle)
    try:
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}; expected "
                             f"{expected or ','.join(required)}", path=shown, line=1)
        for record in reader:
            yield reader.line_num, record
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=shown, line=reader.line_num + 1) from None
    except csv.Error as exc:
        raise InputError(f"not CSV: {exc}", path=shown, line=reader.line_num) from None


MAX_CSV_DAYS = 400  # a data file's span: a year of minutes and some room, 576,000 rows
MILLISECONDS = 10**11  # a Unix time past this (year 5138) is surely milliseconds


def _minute(text: str) -> int:
    """A data file's timestamp: absolute, on a minute; a millisecond time is named as such."""
    stripped = text.strip()
    if stripped.isdigit() and int(stripped) >= MILLISECONDS:
        raise ValueError(f"timestamp: {text!r} looks like milliseconds; the file wants Unix "
                         "seconds (divide by 1000) or ISO 8601")
    try:
        t = parse_timestamp(text)
    except ValueError as exc:
        raise ValueError(f"timestamp: {exc}") from None
    if t % 60:
        raise ValueError(f"timestamp: {text!r} is not on a minute")
    return t


def read_minutes_csv(path: Path, *, max_days: int = MAX_CSV_DAYS) -> MinuteSeries:
    """`timestamp,good,total`, one row per minute. Missing minutes, and rows with an empty
    count (good or total), are gaps, never zeros; a timestamp off the minute, a duplicate
    minute, good above total or a bad number is an error naming the line; the rows may span
    at most `max_days` (one stray millisecond time would otherwise ask for terabytes)."""
    shown = str(path)
    rows: list[_Row] = []
    errors: list[InputError] = []
    seen: dict[int, int] = {}
    with open_text(path) as handle:
        for line, record in csv_records(handle, shown, ("timestamp", "good", "total")):
            try:
                t = _minute(record["timestamp"] or "")
                good, total = _number(record["good"], "good"), _number(record["total"], "total")
                if math.isnan(good) or math.isnan(total):
                    good = total = math.nan  # one count missing: the minute is a gap
                elif good > total:
                    raise ValueError(f"good: {record['good']} is more than total "
                                     f"{record['total']}")
                if t in seen:
                    raise ValueError(f"timestamp: minute already given on line {seen[t]}")
            except ValueError as exc:  # every message starts with its field
                field, _, reason = str(exc).partition(": ")
                errors.append(InputError(reason, path=shown, line=line, field=field))
                continue
            seen[t] = line
            rows.append(_Row(t, good, total))
    if errors:
        raise InputErrors(errors)
    if not rows:
        raise InputError("no data rows", path=shown, line=2)
    rows.sort(key=lambda r: r.minute)
    start, end = rows[0].minute, rows[-1].minute
    if end - start > max_days * 86_400:
        raise InputError(
            f"the rows span {(end - start) / 86_400:,.0f} days (lines {seen[start]} and "
            f"{seen[end]}); at most {max_days} days are read at once: split the file, or check "
            "for a stray timestamp", path=shown, line=seen[end], field="timestamp")
    n = (end - start) // 60 + 1
    good = np.full(n, np.nan)
    total = np.full(n, np.nan)
    for r in rows:
        good[(r.minute - start) // 60] = r.good
        total[(r.minute - start) // 60] = r.total
    return MinuteSeries(start, good, total)


def read_markers_csv(path: Path) -> list[Marker]:
    """`name,kind,start,end` rows (times as in the data file)."""
    markers: list[Marker] = []
    errors: list[InputError] = []
    with open_text(path) as handle:
        for line, record in csv_records(handle, str(path), ("name", "start", "end"),
                                        expected="name,kind,start,end"):
            try:
                start = parse_timestamp(record["start"] or "")
                end = parse_timestamp(record["end"] or "")
                if end <= start:
                    raise ValueError("end must be after start")
            except ValueError as exc:
                errors.append(InputError(str(exc), path=str(path), line=line,
                                         field="start/end"))
                continue
            markers.append(Marker(record["name"], start, end, record.get("kind") or "event"))
    if errors:
        raise InputErrors(errors)
    return markers
