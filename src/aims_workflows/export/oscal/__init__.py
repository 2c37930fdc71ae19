"""OSCAL 1.1 documents of the AIMS: the catalogue of clauses and controls, the system security
plan that says which controls apply, and the assessment results that cite the ledger.

::

    from aims_workflows.export.oscal import write_oscal

``writer`` validates and writes the three documents; ``catalog``, ``plan`` and ``results`` build
one document each; the private modules hold the stable identifiers (``_ids``), shared metadata
(``_meta``), the ledger queries (``_evidence``) and the optional compliance-trestle import.
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
