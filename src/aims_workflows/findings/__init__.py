"""Nonconformities from any source: raised by hand (``aims findings raise``), through a Jira
issue of type Nonconformity, or by a workflow's spawn (an internal audit); each starts the
workflows subscribed to ``finding.raised`` (corrective action, 10.2) and is counted per source.
"""

from __future__ import annotations

from .queries import count_by_source, list_findings
from .report import SEVERITIES, SOURCES, FindingError, FindingReport, parse_source
from .service import Findings, Raised

__all__ = [
    "SOURCES",
    "SEVERITIES",
    "FindingError",
    "FindingReport",
    "Findings",
    "Raised",
    "count_by_source",
    "list_findings",
    "parse_source",
]
