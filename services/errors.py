"""Errors raised by the backend; the tree is drawn in `slo/errors.py`."""

from __future__ import annotations

from slo.errors import ApolloError, InputError


class ConfigError(InputError):
    """The configuration file or an APOLLO_* variable is wrong; the message says where."""

    def __init__(self, msg: str) -> None:
        ApolloError.__init__(self, msg)
        self.path, self.line, self.field, self.reason = "", None, "", msg


class StoreError(ApolloError):
    """The store cannot be opened, migrated or written."""


class PortInUseError(ApolloError):
    """A port we were told to bind is taken."""

    def __init__(self, host: str, port: int, what: str) -> None:
        super().__init__(f"port {host}:{port} ({what}) is already in use")
        self.host, self.port, self.what = host, port, what


class SourceUnavailable(ApolloError):
    """A collector's source did not answer; carries `.source`."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source


__all__ = ["ApolloError", "ConfigError", "InputError", "PortInUseError", "SourceUnavailable",
           "StoreError"]
