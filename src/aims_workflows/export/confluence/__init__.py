"""Documents for Confluence: the SoA, the review pack and an audit summary in storage format."""

from .documents import (
    DOCUMENT_KEYS,
    Document,
    audit_summary_document,
    review_pack_document,
    soa_document,
)
from .storage import element, html_to_storage

__all__ = [
    "DOCUMENT_KEYS",
    "Document",
    "audit_summary_document",
    "element",
    "html_to_storage",
    "review_pack_document",
    "soa_document",
]
