"""Atlassian's basic authentication for scripts: ``Authorization: Basic base64(email:token)``."""

from __future__ import annotations

import base64
import binascii
import hmac

__all__ = ["basic_credentials", "token_matches"]


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(e-mail, API token) from an Authorization header, or None when it is not Basic or does
    not decode."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        email, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return email, token


def token_matches(expected: str, given: str) -> bool:
    """Compared in constant time, as a real service does."""
    return hmac.compare_digest(expected.encode(), given.encode())
