"""Response cache and rate limits around the routes (filled in by the cache work)."""

from __future__ import annotations

from fastapi import FastAPI

from services.config import Settings


def install(app: FastAPI, settings: Settings) -> dict[str, str]:
    """Add the cache and rate-limit layers; returns their state for /ready."""
    del app, settings
    return {"cache": "off", "rate_limit": "off"}
