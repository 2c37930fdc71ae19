"""Confluence Cloud: publishing aims' documents as pages (atlassian-python-api, REST API v2)."""

from ._client import ConfluenceApi, ConfluenceRequestError, open_client
from ._publisher import MARKER, EditedInConfluence, LastPublication, Published, publish_page

__all__ = [
    "MARKER",
    "ConfluenceApi",
    "ConfluenceRequestError",
    "EditedInConfluence",
    "LastPublication",
    "Published",
    "open_client",
    "publish_page",
]
