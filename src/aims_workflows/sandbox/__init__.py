"""Loopback imitations of the outside services (Jira, Slack) for the demo and the tests.

Each sandbox is a real HTTP server on 127.0.0.1 that the vendors' own client libraries talk to,
held to the vendors' published API descriptions (``../shared/specs``), so that tests fake the
network and never our own code. ``_server.BackgroundServer`` runs any ASGI app in a thread.
"""
