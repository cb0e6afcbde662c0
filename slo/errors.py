"""The project's exception tree. It lives in `slo/` because `slo/` imports nothing of ours.

    ApolloError                 every error the project raises on purpose
     ├── InputError             bad user input; the message names file, line and field
     │    ├── SpecError         an SLO spec that does not validate      (slo/)
     │    ├── SpecErrors        every SpecError of one spec text, one per line  (slo/specs)
     │    ├── ConfigError       the YAML configuration or an APOLLO_* variable  (services/)
     │    └── EventTableError   a ClickHouse events table lacking columns  (collectors/)
     ├── StoreError             the store cannot be opened or migrated  (services/store)
     ├── PortInUseError         a port we were told to bind is taken    (services/)
     └── SourceUnavailable      a collector's source did not answer     (collectors/)
"""

from __future__ import annotations


class ApolloError(Exception):
    """Base of every error the project raises on purpose."""


class InputError(ApolloError, ValueError):
    """Bad input; the message says where: `path:line: field: what was expected`."""

    def __init__(
        self, msg: str, *, path: str = "", line: int | None = None, field: str = ""
    ) -> None:
        self.path, self.line, self.field, self.reason = path, line, field, msg
        where = f"{path}:{line}" if path and line else path
        parts = [p for p in (where, field) if p]
        super().__init__(": ".join([*parts, msg]))


class SpecError(InputError):
    """An SLO spec that does not validate."""


class SpecErrors(InputError):
    """Every error found in one spec text, so a user fixes a file in one pass, not one per run.

    `.errors` holds the `SpecError`s in line order; the message is one of them per line.
    """

    def __init__(self, errors: list[SpecError]) -> None:
        if not errors:
            raise ValueError("SpecErrors needs at least one error")
        ordered = sorted(errors, key=lambda e: e.line or 0)
        super().__init__("\n".join(str(e) for e in ordered))
        self.errors = ordered
        self.path, self.line, self.field = ordered[0].path, ordered[0].line, ordered[0].field
