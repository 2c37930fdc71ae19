"""The Statement of Applicability and clause coverage: what applies, why, and what evidence the
ledger holds for it (``coverage``), as CSV, Markdown and JSON (``render``)."""

from __future__ import annotations

from .coverage import STATUS_LABELS, Coverage, CoverageReport, build_coverage

__all__ = ["Coverage", "CoverageReport", "STATUS_LABELS", "build_coverage"]
