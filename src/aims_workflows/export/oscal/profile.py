"""The Statement of Applicability as an OSCAL profile: it imports the catalog and selects what
applies to the AIMS, the requirement clauses (all of them: ISO/IEC 42001 allows no exclusion of
clauses 4-10) and the Annex A controls applicable in ``aims.yaml``.

An excluded control is not selected; its exclusion and the reason given in ``aims.yaml`` are kept
as ``soa-excluded`` properties of the profile's metadata (one per control, the reason in the
property's remarks), because OSCAL's selection lists carry no reasons. Each selected Annex A
control is altered to carry its SoA decision: ``soa-status`` and, as parts in the project's
namespace, the justification and the implementation note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...catalog import Catalog
from ..soa import Coverage, CoverageReport
from ._ids import PROPS_NS, oscal_id, stable_uuid
from ._meta import line, metadata, props, sentence
from .plan import CATALOG_FILE, file_resource

__all__ = ["build_profile", "profile_uuid", "selected_ids"]


def profile_uuid(organisation: str) -> str:
    return stable_uuid("profile", "soa", organisation)


def selected_ids(catalog: Catalog, coverage: CoverageReport) -> list[str]:
    """Catalogue ids the profile selects: every requirement clause that is a control in the
    catalog (4.1 ... 10.2; 4 ... 10 are groups), then the applicable Annex A controls."""
    clauses = [e.id for e in catalog.clauses() if e.parent is not None]
    return clauses + [c.id for c in coverage.controls if c.applicable]


def build_profile(
    m: Any,
    *,
    coverage: CoverageReport,
    catalog: Catalog,
    config: Any,
    now: datetime,
    catalog_uuid: str,
    catalog_sha256: str,
) -> Any:
    """A ``trestle.oscal.profile.Profile``; building it validates it."""
    common = m.common
    organisation = line(config.organisation, default="Our organisation")
    selected = selected_ids(catalog, coverage)
    applicable = [c for c in coverage.controls if c.applicable]
    excluded = [c for c in coverage.controls if not c.applicable]
    clauses = selected[: len(selected) - len(applicable)]
    resource = file_resource(
        m,
        uuid=stable_uuid("resource", "catalog", catalog_uuid),
        title=f"{coverage.standard} catalogue",
        href=CATALOG_FILE,
        sha256=catalog_sha256,
        description="The catalog this profile selects from.",
    )
    alters = [_alter(m, c) for c in applicable]
    summary = (
        f"{len(applicable)} of {len(coverage.controls)} Annex A controls applicable"
        + (f"; excluded: {', '.join(c.id for c in excluded)}" if excluded else "")
        + f"; the {len(clauses)} requirement clauses always apply."
    )
    return m.profile.Profile(
        uuid=profile_uuid(organisation),
        metadata=metadata(
            m,
            title=f"ISO/IEC 42001 Statement of Applicability: {organisation}",
            now=now,
            config=config,
            remarks=(
                "The Statement of Applicability of aims.yaml (soa:) as an OSCAL profile of the "
                f"catalog in {CATALOG_FILE}. {summary} An excluded control is not selected; "
                "the reason for excluding it is the remarks of its soa-excluded property here."
            ),
            extra_props=[_excluded(m, c) for c in excluded],
        ),
        imports=[
            m.profile.Import2(
                href=CATALOG_FILE,
                include_controls=[
                    m.profile.SelectControl(with_ids=[oscal_id(i) for i in selected])
                ],
            )
        ],
        merge=m.profile.Merge2(as_is=True),  # the catalog's groups kept
        modify=m.profile.Modify(alters=alters) if alters else None,
        back_matter=common.BackMatter(resources=[resource]),
    )


def _excluded(m: Any, control: Coverage) -> Any:
    why = control.justification.strip()
    reason = (
        f"{control.id} {control.title}: excluded. Why: {why}"
        if why
        else f"{control.id} {control.title}: excluded; aims.yaml gives no reason"
    )
    return m.common.Property(
        name="soa-excluded", ns=PROPS_NS, value=oscal_id(control.id), remarks=sentence(reason)
    )


def _alter(m: Any, control: Coverage) -> Any:
    parts = []
    if control.justification.strip():
        parts.append(_part(m, control, "soa-justification", control.justification))
    if control.implementation.strip():
        parts.append(_part(m, control, "soa-implementation", control.implementation))
    return m.profile.Alter(
        control_id=oscal_id(control.id),
        adds=[
            m.profile.Add(
                position="ending",
                props=props(m, [("soa-applicable", "yes"), ("soa-status", control.status)]),
                parts=parts or None,
            )
        ],
    )


def _part(m: Any, control: Coverage, name: str, text: str) -> Any:
    return m.common.Part(
        id=f"{oscal_id(control.id)}_{name}", name=name, ns=PROPS_NS, prose=text.strip()
    )
