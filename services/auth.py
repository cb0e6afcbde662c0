"""Who may call: bearer tokens and HMAC-SHA256 signatures, checked in constant time.

Bearer tokens come from the environment only: `APOLLO_API_TOKENS` holds comma-separated
`scope:token` entries, scope `read` or `write` (write implies read), e.g.
`write:3f9c…,read:b71a…` (`parse_tokens`, `Tokens.check`). A presented token is compared
with every configured one, each time, with `hmac.compare_digest` over SHA-256 digests (the
same length whatever was sent), so neither timing nor an early exit says which token, or
how much of one, matched.

Signatures cover the timestamp and the body, as `v1=<hex>` of HMAC-SHA256(secret,
"<timestamp>.<body>") with the timestamp in Unix seconds: the outbound webhook notifier
signs this way and the inbound receiver verifies this way, rejecting timestamps outside
the replay window. The receiver's secret is `APOLLO_WEBHOOK_SECRET`.

`Authenticator` is what a write endpoint asks: a bearer token granting write, or a valid
signature. It is framework-free; the FastAPI glue lives beside the routes that use it.

    AuthError       the request may not pass (HTTP 401); `.reason` says why
     └── ScopeError the token is known but does not grant the scope asked for (HTTP 403)
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from services.config import read_secret
from services.errors import ConfigError

SIGNATURE_HEADER = "X-Apollo-Signature"
TIMESTAMP_HEADER = "X-Apollo-Timestamp"
REPLAY_WINDOW_S = 300.0  # a signed request older (or newer) than this is refused

TOKENS_VARIABLE = "APOLLO_API_TOKENS"
WEBHOOK_SECRET_VARIABLE = "APOLLO_WEBHOOK_SECRET"
MIN_TOKEN_LENGTH = 16

Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")
_GRANTS: dict[str, frozenset[str]] = {"read": frozenset({"read"}),
                                      "write": frozenset({"read", "write"})}
# RFC 6750's b64token: what may follow "Bearer " in an Authorization header.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class AuthError(Exception):
    """A request that may not pass; `reason` says why, without echoing secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ScopeError(AuthError):
    """The caller is known, but its token does not grant what the request needs."""


def sign_body(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str | None, signature: str | None, body: bytes,
                     *, now: float, window_s: float = REPLAY_WINDOW_S) -> None:
    """Raise AuthError unless `signature` signs `body` at `timestamp`, within the window."""
    if not timestamp or not signature:
        raise AuthError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        at = int(timestamp)
    except ValueError:
        raise AuthError(f"{TIMESTAMP_HEADER}: expected Unix seconds") from None
    if abs(now - at) > window_s:
        raise AuthError(f"{TIMESTAMP_HEADER}: {abs(now - at):.0f}s away from now, outside "
                        f"the {window_s:.0f}s replay window")
    expected = sign_body(secret, at, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise AuthError(f"{SIGNATURE_HEADER}: does not match the body")


# --- bearer tokens ----------------------------------------------------------------------


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class _Entry:
    scope: Scope
    digest: bytes = field(repr=False)  # only the SHA-256 of the token is kept


@dataclass(frozen=True)
class Tokens:
    """The configured bearer tokens and their scopes (never shown in a repr)."""

    entries: tuple[_Entry, ...] = field(repr=False)

    def __len__(self) -> int:
        return len(self.entries)

    def check(self, authorization_header: str | None, scope: Scope) -> str:
        """The scope the presented token has ("read" or "write") if it grants `scope`;
        AuthError (ScopeError for a known token short of `scope`) otherwise."""
        if scope not in _GRANTS:
            raise ValueError(f"unknown scope {scope!r}; expected one of {', '.join(SCOPES)}")
        token = bearer_token(authorization_header)
        presented = _digest(token)
        matched: Scope | None = None
        for entry in self.entries:  # every entry, every time: no early exit
            if hmac.compare_digest(presented, entry.digest):
                matched = entry.scope
        if matched is None:
            raise AuthError("unknown bearer token")
        if scope not in _GRANTS[matched]:
            raise ScopeError(f"token does not grant {scope}")
        return matched


def bearer_token(authorization_header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; AuthError otherwise."""
    if authorization_header is None or not authorization_header.strip():
        raise AuthError("missing bearer token")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthError("Authorization header is not a bearer token "
                        "(expected 'Bearer <token>')")
    token = token.strip()
    if not token:
        raise AuthError("missing bearer token")
    if not _TOKEN.fullmatch(token):
        raise AuthError("malformed bearer token")
    return token


def parse_tokens(text: str, *, variable: str = TOKENS_VARIABLE) -> Tokens:
    """`scope:token[,scope:token…]` -> Tokens. ConfigError naming `variable` and the entry's
    position (1-based) for a malformed entry; a token is never echoed."""
    entries: list[_Entry] = []
    seen: dict[bytes, int] = {}
    for position, raw in enumerate(text.split(","), start=1):
        item = raw.strip()
        if not item:
            continue  # a trailing or doubled comma
        where = f"{variable}: entry {position}"
        scope, colon, token = item.partition(":")
        scope, token = scope.strip(), token.strip()
        if not colon:
            raise ConfigError(f"{where}: expected scope:token (scope read or write)")
        if scope not in _GRANTS:
            raise ConfigError(f"{where}: unknown scope; expected read or write before ':'")
        if not token:
            raise ConfigError(f"{where}: the token after '{scope}:' is empty")
        if not _TOKEN.fullmatch(token):
            raise ConfigError(f"{where}: the token may hold only letters, digits and "
                              "-._~+/ (and trailing =)")
        if len(token) < MIN_TOKEN_LENGTH:
            raise ConfigError(f"{where}: the token is shorter than {MIN_TOKEN_LENGTH} "
                              "characters")
        digest = _digest(token)
        if digest in seen:
            raise ConfigError(f"{where}: repeats the token of entry {seen[digest]}")
        seen[digest] = position
        entries.append(_Entry(cast(Scope, scope), digest))
    if not entries:
        raise ConfigError(f"{variable}: no tokens; expected scope:token[,scope:token…]")
    return Tokens(tuple(entries))


def tokens_from_env(variable: str = TOKENS_VARIABLE) -> Tokens | None:
    """The tokens `variable` configures; None when it is unset or empty."""
    text = read_secret(variable)
    return None if text is None else parse_tokens(text, variable=variable)


# --- either of them ---------------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict: look the name up case-insensitively
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


@dataclass(frozen=True)
class Authenticator:
    """Lets a request pass with a bearer token granting `scope`, or with a valid HMAC
    signature over its timestamp and body (signatures grant write). With neither
    configured, every request is refused."""

    tokens: Tokens | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    window_s: float = REPLAY_WINDOW_S

    @classmethod
    def from_env(cls) -> Authenticator:
        """Tokens from APOLLO_API_TOKENS, the secret from APOLLO_WEBHOOK_SECRET."""
        return cls(tokens_from_env(), read_secret(WEBHOOK_SECRET_VARIABLE))

    def check(self, headers: Mapping[str, str], body: bytes, *, now: float,
              scope: Scope = "write") -> str:
        """How the request passed: "bearer" or "signature". AuthError otherwise, with the
        reason of every credential presented (ScopeError when the only failure is a known
        token short of `scope`)."""
        authorization = _header(headers, "Authorization")
        timestamp = _header(headers, TIMESTAMP_HEADER)
        signature = _header(headers, SIGNATURE_HEADER)
        if self.tokens is None and self.webhook_secret is None:
            raise AuthError(f"no credentials are configured: set {TOKENS_VARIABLE} or "
                            f"{WEBHOOK_SECRET_VARIABLE}")
        failures: list[AuthError] = []
        if authorization is not None:
            if self.tokens is None:
                failures.append(AuthError(f"bearer tokens are not accepted here "
                                          f"({TOKENS_VARIABLE} is not set)"))
            else:
                try:
                    self.tokens.check(authorization, scope)
                    return "bearer"
                except AuthError as exc:
                    failures.append(exc)
        if timestamp is not None or signature is not None:
            if self.webhook_secret is None:
                failures.append(AuthError(f"signatures are not accepted here "
                                          f"({WEBHOOK_SECRET_VARIABLE} is not set)"))
            else:
                try:
                    verify_signature(self.webhook_secret, timestamp, signature, body,
                                     now=now, window_s=self.window_s)
                    return "signature"
                except AuthError as exc:
                    failures.append(exc)
        if not failures:
            accepted = [what for what, on in (("bearer token", self.tokens),
                                              ("signature", self.webhook_secret)) if on]
            raise AuthError(f"missing {' or '.join(accepted)}")
        reason = "; ".join(f.reason for f in failures)
        if all(isinstance(f, ScopeError) for f in failures):
            raise ScopeError(reason)
        raise AuthError(reason)
