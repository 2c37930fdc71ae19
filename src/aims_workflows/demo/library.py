"""The demo organisation's documents kept outside aims, in its policy library on the wiki: the
processes ISO/IEC 42001 asks to be documented that no shipped workflow produces (risk criteria,
risk treatment, impact assessment), entered in the register as ``aims documents add`` does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ..documents.model import DocumentFields
from ..documents.register import DocumentRegister

__all__ = ["LIBRARY", "LibraryDocument", "register_library"]


@dataclass(frozen=True)
class LibraryDocument:
    reference: str
    requirement: str
    title: str
    version: str
    author: str
    approver: str
    page: str


LIBRARY = (
    LibraryDocument(
        "AIMS-PRO-003",
        "risk-criteria",
        "AI risk criteria and risk assessment method (5x5 matrix, appetite by risk tier)",
        "3.0",
        "rui.costa@example.com",
        "carla.mendes@example.com",
        "https://wiki.example.com/aims/risk-methodology-v3",
    ),
    LibraryDocument(
        "AIMS-PRO-004",
        "risk-treatment-process",
        "AI risk treatment: options, owners, target dates and acceptance of residual risk",
        "2.1",
        "rui.costa@example.com",
        "tomas.reis@example.com",
        "https://wiki.example.com/aims/risk-treatment",
    ),
    LibraryDocument(
        "AIMS-PRO-005",
        "impact-process",
        "AI system impact assessment: when, who, and the harms to individuals and society",
        "1.2",
        "dora.vaz@example.com",
        "carla.mendes@example.com",
        "https://wiki.example.com/aims/impact-assessment",
    ),
)

SOA_DOCUMENT = LibraryDocument(
    "AIMS-SOA-001",
    "soa",
    "Statement of Applicability (ISO/IEC 42001 Annex A)",
    "1.0",
    "ana.silva@example.com",
    "carla.mendes@example.com",
    "https://wiki.example.com/aims/soa",
)


def register_library(
    runtime, config, config_dir: Path, documents: tuple[LibraryDocument, ...], actor
) -> list[str]:
    """Enter each document in the register, approved today and due for review in a year; the
    references entered."""
    today: date = runtime.clock.now().date()
    register = DocumentRegister(runtime, config, config_dir)
    for doc in documents:
        register.add(
            doc.reference,
            DocumentFields(
                requirement=doc.requirement,
                title=doc.title,
                version=doc.version,
                author=doc.author,
                approver=doc.approver,
                approved_on=today,
                next_review=today + timedelta(days=365),
                location=doc.page,
            ),
            actor=actor,
            today=today,
        )
    return [doc.reference for doc in documents]
