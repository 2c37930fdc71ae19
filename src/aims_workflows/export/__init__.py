"""Exports for auditors: the Statement of Applicability, clause coverage and the audit pack.

::

    from aims_workflows.export import build_coverage, write_audit_pack, parse_period

Everything reads one consistent snapshot of the database (see ``_snapshot``) and only the
non-secret parts of the configuration.
"""

from __future__ import annotations

from .period import Period, parse_period
from .soa import Coverage, CoverageReport, build_coverage

__all__ = ["Period", "parse_period", "Coverage", "CoverageReport", "build_coverage"]
