"""``run_confluence_sandbox``: the sandbox as a foreground process for ``aims sandbox
confluence``. It prints the settings that point aims at it, then serves until interrupted."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from ._sandbox import ConfluenceSandbox

__all__ = ["run_confluence_sandbox"]


def run_confluence_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    space: str = "AIMS",
    *,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve a Confluence site with one space on ``host:port`` until Ctrl+C or ``stop``."""
    out = out or sys.stdout
    stop = stop or threading.Event()
    with ConfluenceSandbox(host=host, port=port, space=space) as site:
        email, token = site.credentials()
        lines = [
            f"Confluence sandbox listening on {site.url}/wiki (space {space})",
            "Point aims at it:",
            f"  export AIMS_CONFLUENCE_URL={site.url}/wiki",
            f"  export AIMS_CONFLUENCE_EMAIL={email}",
            f"  export AIMS_CONFLUENCE_API_TOKEN={token}",
            f"  export AIMS_CONFLUENCE_SPACE={space}",
            "then `aims publish soa`; pages are at the URL it prints.",
            "Press Ctrl+C to stop.",
        ]
        print("\n".join(lines), file=out, flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("Confluence sandbox stopped.", file=out, flush=True)
