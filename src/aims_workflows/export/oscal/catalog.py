"""The ISO/IEC 42001 catalogue as an OSCAL catalog: what the assessment results point into.

Groups ``clause-4`` ... ``clause-10`` hold the requirement clauses as controls (sub-clauses nested
in their clause, 6.1.2 inside 6.1); groups ``a-2`` ... ``a-10`` hold the Annex A controls (A.6 by
way of its sub-groups A.6.1 and A.6.2). Only what the project's catalogue holds goes in: the ids,
short titles and summaries written in the project's own words, the evidence kinds and the
crosswalk to clauses. The standard's text is copyrighted and is not reproduced.

Ids are mapped as ``_oscal_ids`` describes; the catalogue id is each entry's ``label``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from ...catalog import Catalog, CatalogEntry
from ._ids import objective_id, oscal_id, sort_id, stable_uuid
from ._meta import metadata, prop, props

__all__ = ["build_catalog", "catalog_uuid"]


def catalog_uuid(catalog: Catalog) -> str:
    """Changes when, and only when, the catalogue's content does (a new release of the data)."""
    content = [
        [
            e.id,
            e.kind,
            e.title,
            e.summary,
            e.parent,
            list(e.evidence_kinds),
            [r.id for r in catalog.related(e.id)],
        ]
        for e in catalog.entries()
    ]
    digest = hashlib.sha256(
        json.dumps([catalog.standard, content], ensure_ascii=False).encode()
    ).hexdigest()
    return stable_uuid("catalog", digest)


def build_catalog(m: Any, catalog: Catalog, *, now: datetime) -> Any:
    """A ``trestle.oscal.catalog.Catalog``; building it validates it."""
    groups = [_clause_group(m, catalog, top) for top in catalog.clauses() if top.parent is None]
    groups += [_annex_group(m, catalog, top) for top in catalog.groups() if top.parent is None]
    return m.catalog.Catalog(
        uuid=catalog_uuid(catalog),
        metadata=metadata(
            m,
            title=(
                f"{catalog.standard}: requirement clauses and "
                "Annex A controls (aims-workflows catalogue)"
            ),
            now=now,
            remarks=(
                "Ids, short titles and summaries are the aims-workflows project's own "
                "paraphrases, written to let records point at the standard's numbering. "
                "The text of the standard is not reproduced: read it in ISO/IEC 42001 "
                "itself. Catalogue id -> OSCAL id: 6.1.2 -> clause-6.1.2, A.6.2.4 -> "
                "a-6.2.4; the catalogue id is each group's and control's label."
            ),
        ),
        groups=groups,
    )


def _common_props(m: Any, entry: CatalogEntry) -> list[Any]:
    return [prop(m, "label", entry.id), prop(m, "sort-id", sort_id(entry.id))]


def _overview(m: Any, entry: CatalogEntry) -> list[Any] | None:
    if not entry.summary:
        return None
    return [m.common.Part(id=oscal_id(entry.id) + "_ovw", name="overview", prose=entry.summary)]


def _clause_group(m: Any, catalog: Catalog, top: CatalogEntry) -> Any:
    children = [_clause_control(m, catalog, child) for child in catalog.children(top.id)]
    return m.catalog.Group2(
        id=oscal_id(top.id),
        class_="clause",
        title=top.title,
        props=_common_props(m, top),
        parts=_overview(m, top),
        controls=children or None,
    )


def _clause_control(m: Any, catalog: Catalog, entry: CatalogEntry) -> Any:
    nested = [_clause_control(m, catalog, child) for child in catalog.children(entry.id)]
    return m.catalog.Control(
        id=oscal_id(entry.id),
        class_="clause",
        title=entry.title,
        props=_common_props(m, entry),
        parts=_objective(m, entry),
        links=_related(m, catalog, entry),
        controls=nested or None,
    )


def _annex_group(m: Any, catalog: Catalog, group: CatalogEntry) -> Any:
    children = catalog.children(group.id)
    sub_groups = [c for c in children if c.kind == "group"]
    common = dict(
        id=oscal_id(group.id),
        class_="annex-a",
        title=group.title,
        props=_common_props(m, group),
        parts=_overview(m, group),
    )
    if sub_groups:
        # trestle's models follow OSCAL's JSON schema: a group holds either groups or controls
        return m.catalog.Group1(**common, groups=[_annex_group(m, catalog, g) for g in sub_groups])
    return m.catalog.Group2(
        **common, controls=[_annex_control(m, catalog, c) for c in children] or None
    )


def _annex_control(m: Any, catalog: Catalog, entry: CatalogEntry) -> Any:
    extra = props(m, [("evidence-kind", kind) for kind in entry.evidence_kinds]) or []
    return m.catalog.Control(
        id=oscal_id(entry.id),
        class_="annex-a",
        title=entry.title,
        props=_common_props(m, entry) + extra,
        parts=_objective(m, entry),
        links=_related(m, catalog, entry),
    )


def _objective(m: Any, entry: CatalogEntry) -> list[Any] | None:
    """The summary as the control's assessment objective: what records show it is met, in the
    project's words. Findings in the assessment results target this part."""
    if not entry.summary:
        return None
    return [
        m.common.Part(id=objective_id(entry.id), name="assessment-objective", prose=entry.summary)
    ]


def _related(m: Any, catalog: Catalog, entry: CatalogEntry) -> list[Any] | None:
    """The project's own control-to-clause crosswalk, as links inside this catalog."""
    links = [
        m.common.Link(href=f"#{oscal_id(r.id)}", rel="related", text=r.label)
        for r in catalog.related(entry.id)
    ]
    return links or None
