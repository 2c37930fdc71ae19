"""A loopback Confluence Cloud site: spaces and versioned pages over the REST API v2.

Held to Atlassian's ``openapi-v2.v3.json`` by the contract tests; ``atlassian-python-api``'s
``ConfluenceCloud`` client talks to it as to a real site.
"""

from .._capture import Exchange
from ._sandbox import ConfluenceSandbox, default_users
from ._standalone import run_confluence_sandbox
from ._state import ConfluenceApiError, ConfluenceUser, Page, PageVersion, Space

__all__ = [
    "ConfluenceApiError",
    "ConfluenceSandbox",
    "ConfluenceUser",
    "Exchange",
    "Page",
    "PageVersion",
    "Space",
    "default_users",
    "run_confluence_sandbox",
]
