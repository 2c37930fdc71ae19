"""OSCAL documents of the AIMS: the catalogue of clauses and controls, the Statement of
Applicability as a profile, a system security plan of the AI management system, an assessment
plan, the period's assessment results citing the ledger, and a plan of action and milestones.

::

    from aims_workflows.export.oscal import write_oscal

``writer`` validates and writes the six documents; ``catalog``, ``profile``, ``ssp``, ``plan``,
``results`` and ``poam`` build one document each; the private modules hold the stable
identifiers (``_ids``), shared metadata and aims as the producing tool (``_meta``), the ledger
queries (``_evidence``, ``_systems``, ``_poam_data``), the cited ledger rows (``_ledger_rows``)
and the optional compliance-trestle import.
"""

from __future__ import annotations

from .writer import (
    FILES,
    OscalResult,
    build_documents,
    default_directory_name,
    pack_documents,
    write_oscal,
)

__all__ = [
    "OscalResult",
    "FILES",
    "write_oscal",
    "build_documents",
    "pack_documents",
    "default_directory_name",
]
