"""What the KPI test modules share (``from kpi_world import ...``): the KPIs as measured at the
harness's clock, and a nonconformity written straight into the findings table, as the ones
raised by hand or by an outside source are."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert

from aims_workflows.kpi import compute_kpis
from aims_workflows.kpi.queries import KpiContext, Scope
from aims_workflows.store.models import Finding


def kpis(h, scope: Scope | None = None) -> dict:
    """Key -> the KPI measured now, organisation-wide or for ``scope``."""
    context = KpiContext(h.app.workflows, h.app.config.soa)
    with h.db.connect() as conn:
        found = compute_kpis(
            conn, h.clock.now(), h.app.config.kpi_targets, scope=scope, context=context
        )
    return {k.key: k for k in found}


def add_finding(h, finding_id: str, source_type: str | None, raised: datetime, **fields) -> None:
    """An open minor finding against 6.1.3 raised at ``raised``; ``fields`` set any other
    column (``source`` is "cli" and ``status`` "open" unless given)."""
    with h.db.begin() as conn:
        conn.execute(
            insert(Finding.__table__).values(
                id=finding_id,
                title="Risk register stale",
                severity="minor",
                source=fields.pop("source", "cli"),
                source_type=source_type,
                clause="6.1.3",
                status=fields.pop("status", "open"),
                raised_at=raised,
                **fields,
            )
        )
