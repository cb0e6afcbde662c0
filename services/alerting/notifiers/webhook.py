"""The generic JSON webhook: every message of a group in one signed POST.

Body: `{"version": "1", "status": "firing" | "resolved", "alerts": [AlertMessage.to_dict()
…]}`, status `resolved` only when every alert is. Headers (added by `build_requests`):
`X-Apollo-Timestamp` (Unix seconds), `X-Apollo-Signature: v1=<hex>` = HMAC-SHA256 of
`<timestamp>.<body>` with the notifier's secret when it names one (`services.auth`), and
`Idempotency-Key` when the request carries one message. Receivers de-duplicate by
`alerts[].key`: delivery is at least once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.alerting.message import AlertMessage

VERSION = "1"


def payload(messages: Sequence[AlertMessage]) -> dict[str, Any]:
    """The webhook body for `messages`, in their order."""
    resolved = all(m.status == "resolved" for m in messages)
    return {"version": VERSION, "status": "resolved" if resolved else "firing",
            "alerts": [m.to_dict() for m in messages]}
