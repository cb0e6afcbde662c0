"""Who may call: bearer tokens and HMAC-SHA256 signatures, checked in constant time.

Signatures cover the timestamp and the body, as `v1=<hex>` of HMAC-SHA256(secret,
"<timestamp>.<body>") with the timestamp in Unix seconds: the outbound webhook notifier
signs this way and the inbound receiver verifies this way, rejecting timestamps outside
the replay window.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Apollo-Signature"
TIMESTAMP_HEADER = "X-Apollo-Timestamp"
REPLAY_WINDOW_S = 300.0  # a signed request older (or newer) than this is refused


class AuthError(Exception):
    """A request that may not pass; `reason` says why, without echoing secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
