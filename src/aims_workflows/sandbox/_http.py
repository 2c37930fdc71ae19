"""HTTP clients for the sandboxes' own calls (webhook deliveries, simulated people).

The sandboxes open a client per delivery or per person, hundreds in a demo. Building the
default TLS context loads the CA bundle each time (about a tenth of the demo's CPU), so the
clients share one context, made on first use: verification stays on for an https target.
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

import httpx

__all__ = ["client"]


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def client(**options: Any) -> httpx.Client:
    """An ``httpx.Client`` with ``options`` and the shared TLS context."""
    return httpx.Client(verify=_tls(), **options)
