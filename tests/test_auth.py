"""Bearer tokens and HMAC signatures (services/auth.py); expected values computed here."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.auth import (
    REPLAY_WINDOW_S,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Authenticator,
    AuthError,
    ScopeError,
    parse_tokens,
    sign_body,
    tokens_from_env,
    verify_signature,
)
from services.errors import ConfigError

WRITE = "w-0123456789abcdef0123"
READ = "r-fedcba9876543210fedc"
SECRET = "a webhook secret"
NOW = 1_800_000_000
BODY = b'{"version":"4"}'


def hmac_of(secret: str, timestamp: int, body: bytes) -> str:
    """The scheme written out independently: hex HMAC-SHA256 of "<ts>.<body>", v1= prefix."""
    message = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@pytest.fixture
def tokens():
    return parse_tokens(f"write:{WRITE}, read:{READ},")


# --- parse_tokens -------------------------------------------------------------------------


def test_tokens_parse_with_their_scopes(tokens):
    assert len(tokens) == 2
    assert tokens.check(f"Bearer {WRITE}", "write") == "write"
    assert tokens.check(f"Bearer {WRITE}", "read") == "write"  # write implies read
    assert tokens.check(f"bearer   {READ} ", "read") == "read"


@pytest.mark.parametrize(("text", "message"), [
    pytest.param(f"write:{WRITE},{READ}", r"APOLLO_API_TOKENS: entry 2: expected scope:token",
                 id="an entry without a scope"),
    pytest.param(f"admin:{WRITE}", r"APOLLO_API_TOKENS: entry 1: unknown scope",
                 id="a scope that is neither read nor write"),
    pytest.param(f"read:{READ},,write:", r"APOLLO_API_TOKENS: entry 3: the token .* is empty",
                 id="an empty token (empty entries between commas are skipped)"),
    pytest.param("write:Xq7Zp", r"entry 1: the token is shorter than 16",
                 id="a token too short to be a secret"),
    pytest.param(f"write:{WRITE[:-2]} x{READ}", r"entry 1: the token may hold only",
                 id="a token with a space in it"),
    pytest.param(f"write:{WRITE},read:{WRITE}", r"entry 2: repeats the token of entry 1",
                 id="one token given twice"),
    pytest.param(" , ", r"APOLLO_API_TOKENS: no tokens", id="nothing but commas"),
])
def test_malformed_tokens_name_the_variable_and_entry_never_the_token(text, message):
    with pytest.raises(ConfigError, match=message) as caught:
        parse_tokens(text)
    for secret in (WRITE, READ, WRITE[:-2], "Xq7Zp"):
        assert secret not in str(caught.value)


def test_tokens_are_not_shown_in_a_repr(tokens):
    assert WRITE not in repr(tokens) and READ not in repr(tokens)
    authenticator = Authenticator(tokens, SECRET)
    assert SECRET not in repr(authenticator)


def test_tokens_come_from_the_environment(monkeypatch):
    assert tokens_from_env() is None
    monkeypatch.setenv("APOLLO_API_TOKENS", f"read:{READ}")
    assert tokens_from_env().check(f"Bearer {READ}", "read") == "read"


# --- Tokens.check -------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "scope", "reason", "error"), [
    pytest.param(None, "write", "missing bearer token", AuthError, id="no header"),
    pytest.param("", "read", "missing bearer token", AuthError, id="an empty header"),
    pytest.param("Bearer ", "read", "missing bearer token", AuthError, id="Bearer alone"),
    pytest.param("Basic dXNlcjpwYXNz", "read", "not a bearer token", AuthError,
                 id="Basic instead of Bearer"),
    pytest.param("Bearer " + WRITE + "x", "read", "unknown bearer token", AuthError,
                 id="a token one character longer"),
    pytest.param("Bearer " + WRITE[:-1], "read", "unknown bearer token", AuthError,
                 id="a prefix of a token"),
    pytest.param("Bearer a b", "read", "malformed bearer token", AuthError,
                 id="a token with a space"),
    pytest.param(f"Bearer {READ}", "write", "token does not grant write", ScopeError,
                 id="a read token asking to write"),
])
def test_check_refuses_with_a_reason(tokens, header, scope, reason, error):
    with pytest.raises(error, match=reason) as caught:
        tokens.check(header, scope)
    assert type(caught.value) is error
    assert WRITE not in caught.value.reason and READ not in caught.value.reason


def test_check_refuses_an_unknown_scope(tokens):
    with pytest.raises(ValueError, match="unknown scope 'admin'"):
        tokens.check(f"Bearer {WRITE}", "admin")


# --- signatures ---------------------------------------------------------------------------


def test_sign_body_is_hmac_sha256_over_timestamp_dot_body():
    assert sign_body(SECRET, NOW, BODY) == hmac_of(SECRET, NOW, BODY)


def test_a_fresh_signature_verifies():
    verify_signature(SECRET, str(NOW), hmac_of(SECRET, NOW, BODY), BODY, now=NOW + 299)
    verify_signature(SECRET, str(NOW), hmac_of(SECRET, NOW, BODY), BODY, now=NOW - 299)


@pytest.mark.parametrize(("timestamp", "signature", "body", "now", "reason"), [
    pytest.param(str(NOW), hmac_of(SECRET, NOW, b'{"version":"3"}'), BODY, NOW,
                 "does not match the body", id="signature for a different body"),
    pytest.param(str(NOW), hmac_of("another secret", NOW, BODY), BODY, NOW,
                 "does not match the body", id="signed with another secret"),
    pytest.param(str(NOW), hmac_of(SECRET, NOW - 1, BODY), BODY, NOW,
                 "does not match the body", id="signature for another timestamp"),
    pytest.param(str(NOW - 301), hmac_of(SECRET, NOW - 301, BODY), BODY, NOW,
                 "301s away from now, outside the 300s replay window", id="301 s old"),
    pytest.param(str(NOW + 301), hmac_of(SECRET, NOW + 301, BODY), BODY, NOW,
                 "301s away from now", id="301 s in the future"),
    pytest.param(None, hmac_of(SECRET, NOW, BODY), BODY, NOW, f"missing {TIMESTAMP_HEADER}",
                 id="no timestamp"),
    pytest.param(str(NOW), None, BODY, NOW, SIGNATURE_HEADER, id="no signature"),
    pytest.param("yesterday", hmac_of(SECRET, NOW, BODY), BODY, NOW, "expected Unix seconds",
                 id="a timestamp that is not a number"),
])
def test_bad_signatures_are_refused(timestamp, signature, body, now, reason):
    with pytest.raises(AuthError, match=reason):
        verify_signature(SECRET, timestamp, signature, body, now=now)


def test_the_replay_window_is_five_minutes():
    assert REPLAY_WINDOW_S == 300


# --- Authenticator: a write token or a signature ------------------------------------------


def signed_headers(timestamp: int = NOW, body: bytes = BODY) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: hmac_of(SECRET, timestamp, body)}


def test_authenticator_accepts_a_write_token_or_a_signature(tokens):
    auth = Authenticator(tokens, SECRET)
    assert auth.check({"Authorization": f"Bearer {WRITE}"}, BODY, now=NOW) == "bearer"
    assert auth.check(signed_headers(), BODY, now=NOW + 10) == "signature"
    # header names are case-insensitive, as on the wire
    lowered = {k.lower(): v for k, v in signed_headers().items()}
    assert auth.check(lowered, BODY, now=NOW) == "signature"
    # a failed bearer token does not hide a good signature
    both = {"Authorization": f"Bearer {READ}", **signed_headers()}
    assert auth.check(both, BODY, now=NOW) == "signature"


@pytest.mark.parametrize(("headers", "reason", "error"), [
    pytest.param({}, "missing bearer token or signature", AuthError, id="no credentials"),
    pytest.param({"Authorization": "Bearer wrong-token-0000000000"}, "unknown bearer token",
                 AuthError, id="a wrong token"),
    pytest.param({"Authorization": f"Bearer {READ}"}, "token does not grant write", ScopeError,
                 id="a read token"),
    pytest.param(signed_headers(NOW - 301), "outside the 300s replay window", AuthError,
                 id="an old signature"),
    pytest.param(signed_headers(body=b"{}"), "does not match the body", AuthError,
                 id="a signature of another body"),
    pytest.param({"Authorization": f"Bearer {READ}", **signed_headers(body=b"{}")},
                 "token does not grant write; .* does not match the body", AuthError,
                 id="both presented, both wrong: both reasons"),
])
def test_authenticator_refuses_with_a_reason(tokens, headers, reason, error):
    with pytest.raises(error, match=reason) as caught:
        Authenticator(tokens, SECRET).check(headers, BODY, now=NOW)
    assert type(caught.value) is error


def test_authenticator_with_nothing_configured_refuses_everything():
    with pytest.raises(AuthError, match="no credentials are configured"):
        Authenticator().check({"Authorization": f"Bearer {WRITE}"}, BODY, now=NOW)


def test_authenticator_refuses_a_kind_of_credential_it_was_not_given(tokens):
    with pytest.raises(AuthError, match="signatures are not accepted here"):
        Authenticator(tokens, None).check(signed_headers(), BODY, now=NOW)
    with pytest.raises(AuthError, match="bearer tokens are not accepted here"):
        Authenticator(None, SECRET).check({"Authorization": f"Bearer {WRITE}"}, BODY, now=NOW)


def test_authenticator_reads_its_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("APOLLO_API_TOKENS", f"write:{WRITE}")
    monkeypatch.setenv("APOLLO_WEBHOOK_SECRET", SECRET)
    auth = Authenticator.from_env()
    assert auth.check({"Authorization": f"Bearer {WRITE}"}, BODY, now=NOW) == "bearer"
    assert auth.check(signed_headers(), BODY, now=NOW) == "signature"


def test_a_malformed_token_variable_is_named_at_startup(monkeypatch):
    monkeypatch.setenv("APOLLO_API_TOKENS", "write")
    with pytest.raises(ConfigError, match="APOLLO_API_TOKENS: entry 1"):
        Authenticator.from_env()
