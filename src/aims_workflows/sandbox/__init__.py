"""Loopback imitations of the outside services (Jira, Slack) for the demo and the tests.

Each sandbox is a real HTTP server on 127.0.0.1 that the vendors' own client libraries talk to,
held to the vendors' published API descriptions (``../shared/specs``), so that tests fake the
network and never our own code. :class:`BackgroundServer` runs any ASGI app in a thread.

The sandboxes import nothing of the product (only the standard library and third-party
packages), so they stay faithful to the vendors rather than to our code.
"""

from ._server import BackgroundServer

__all__ = ["BackgroundServer"]
