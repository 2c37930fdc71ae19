"""What a reported nonconformity says, checked before anything is written."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.evidence_kinds import FINDING_SOURCES
from ..errors import AimsError

__all__ = ["SOURCES", "SEVERITIES", "FindingError", "FindingReport", "parse_source"]

SOURCES: tuple[str, ...] = FINDING_SOURCES
"""Where a nonconformity can come from (10.2 asks for all of them to be acted on)."""

SEVERITIES: tuple[str, ...] = ("minor", "major")
"""The grades corrective action knows: a major one goes to top management at once."""

TITLE_MAX = 300
DESCRIPTION_MAX = 20_000


class FindingError(AimsError):
    """A finding that cannot be raised as given."""


def parse_source(text: str) -> str:
    """The source type ``text`` names; refused with the list of known ones."""
    value = text.strip().lower()
    if value not in SOURCES:
        raise FindingError(
            f"unknown source '{text}'",
            hint=f"use one of: {', '.join(SOURCES)}",
        )
    return value


def parse_severity(text: str) -> str:
    value = text.strip().lower()
    if value not in SEVERITIES:
        raise FindingError(
            f"unknown severity '{text}'",
            hint=f"use one of: {', '.join(SEVERITIES)} (an observation needs no corrective action)",
        )
    return value


def parse_requirement(text: str) -> str:
    """A clause or Annex A control of the catalogue, in its canonical form."""
    from ..catalog import load_catalog

    catalog = load_catalog()
    if not catalog.is_known(text):
        guess = catalog.suggest(text)
        raise FindingError(
            f"'{text}' is no clause or Annex A control of ISO/IEC 42001",
            hint=f"did you mean {guess}?"
            if guess
            else "name one such as 8.2 or A.6.2.4 (see `aims export clauses`)",
        )
    return catalog.get(text).id


@dataclass(frozen=True)
class FindingReport:
    """One nonconformity as reported, checked: build it with :meth:`checked`."""

    source_type: str
    title: str
    severity: str
    clause: str | None = None
    description: str | None = None
    system: str | None = None
    raised_by: str = "cli"
    """What raised it, as the evidence's ``source`` keeps it: 'cli' or 'jira:KEY'."""
    tracker_issue: str | None = None
    tracker_issue_id: str | None = None

    @classmethod
    def checked(
        cls,
        *,
        source: str,
        title: str,
        severity: str,
        clause: str | None = None,
        description: str | None = None,
        system: str | None = None,
        raised_by: str = "cli",
        tracker_issue: str | None = None,
        tracker_issue_id: str | None = None,
    ) -> FindingReport:
        title = " ".join(title.split())
        if not title:
            raise FindingError("a finding needs a title", hint="say in short what was found")
        if len(title) > TITLE_MAX:
            raise FindingError(
                f"the title is {len(title)} characters long (at most {TITLE_MAX})",
                hint="put the detail in the description",
            )
        description = (description or "").strip() or None
        if description is not None and len(description) > DESCRIPTION_MAX:
            raise FindingError(
                f"the description is {len(description)} characters long "
                f"(at most {DESCRIPTION_MAX})",
                hint="link to the full report instead",
            )
        return cls(
            source_type=parse_source(source),
            title=title,
            severity=parse_severity(severity),
            clause=parse_requirement(clause) if clause else None,
            description=description,
            system=(system or "").strip() or None,
            raised_by=raised_by,
            tracker_issue=tracker_issue,
            tracker_issue_id=tracker_issue_id,
        )
