"""Opening the user's text files (specs, data, documents) with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from slo.errors import InputError


def read_text(path: Path) -> str:
    """The whole file as UTF-8 text; InputError naming the file if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text", path=str(path)) from exc


def open_text(path: Path) -> TextIO:
    """The file opened for `csv` (newline="" as the csv module asks)."""
    try:
        return path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from exc
