"""The project's exception tree. It lives in `slo/` because `slo/` imports nothing of ours.

    ApolloError                 every error the project raises on purpose
     ├── InputError             bad user input; the message names file, line and field
     │    ├── SpecError         an SLO spec that does not validate      (slo/)
     │    ├── InputErrors       several of them, one per line (SpecErrors: of one spec)
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


class InputErrors(InputError):
    """Every problem found in the user's input, so a file is fixed in one pass, not one per run.

    `.errors` holds them in line order; the message is one per line (the first
    `MAX_SHOWN`, then how many more).
    """

    MAX_SHOWN = 20

    def __init__(self, errors: list[InputError]) -> None:
        if not errors:
            raise ValueError(f"{type(self).__name__} needs at least one error")
        ordered = sorted(errors, key=lambda e: (e.path, e.line or 0))
        shown = [str(e) for e in ordered[:self.MAX_SHOWN]]
        if len(ordered) > self.MAX_SHOWN:
            shown.append(f"… and {len(ordered) - self.MAX_SHOWN} more")
        ApolloError.__init__(self, "\n".join(shown))
        self.errors = ordered
        self.path, self.line, self.field = ordered[0].path, ordered[0].line, ordered[0].field
        self.reason = ordered[0].reason


class SpecErrors(InputErrors):
    """Every error found in one spec text."""
