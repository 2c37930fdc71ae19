"""Slack's v0 request signature, as put on every request Slack sends to an app.

``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<timestamp>:<raw body>")>`` with the
timestamp in ``X-Slack-Request-Timestamp``. The verifier is here too so that demo receivers
can check what the sandbox sends without another dependency.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["MAX_AGE_SECONDS", "signature", "signed_headers", "verify"]

MAX_AGE_SECONDS = 300
"""Apps must refuse requests whose timestamp is further than this from their clock."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v0=`` + the hex HMAC-SHA256 of ``v0:<timestamp>:<body>`` under ``secret``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The two headers Slack adds to a request carrying ``body``."""
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(secret, timestamp, body),
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> bool:
    """True if ``headers`` sign ``body`` with ``secret`` and are at most 5 minutes off ``now``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered.get("x-slack-request-timestamp", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > MAX_AGE_SECONDS:
        return False
    expected = signature(secret, timestamp, body)
    # Constant-time comparison, so the signature cannot be guessed byte by byte.
    return hmac.compare_digest(expected, lowered.get("x-slack-signature", ""))
