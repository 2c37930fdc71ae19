"""The management-review input pack (clause 9.3): gathered from one snapshot of the database into
a :class:`~.model.ReviewPack`, drawn by :mod:`.render`.

Only what the database holds is reported: runs, tasks, approvals, findings, the risk register, the
inventory and its history, and the ledger rows of the few runs that matter (the last review, the
review actions, the audits, the effectiveness checks), each read by run id. The ledger is read in
full only to verify the chain, which ``verify=False`` skips. Every figure is given for the period
and for the previous period of the same length (or at the start and the end of the period).

>>> with snapshot(app.db) as conn:                                        # doctest: +SKIP
...     period = choose_period(conn, since=None, until=None, now=clock.now())
...     pack = gather_review(app, conn, period, now=clock.now())
>>> pack.period.reason                                                    # doctest: +SKIP
'since the last completed management review, R0A1..., completed on 2026-11-18'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ... import __version__
from ...store import ledger
from ..ledger_slice import check_chain, seq_range
from ..period import ClosedPeriod
from .model import ChainSection, ForPeople, ReviewPack
from .period import ReviewPeriod
from .risk import gather_risk
from .state import CoverageHistory, coverage_check

__all__ = [
    "gather_review",
    "FOR_PEOPLE",
    "REVIEW_ACTION",
    "INTERNAL_AUDIT",
    "DEFAULT_RISK_THRESHOLD",
]
from ._queries import INTERNAL_AUDIT, REVIEW_ACTION
from .actions import gather_actions
from .audits import gather_audits
from .nonconformities import findings_between, gather_nonconformities
from .performance import gather_performance

DEFAULT_RISK_THRESHOLD = 10.0
"""Residual risk score from which an accepted risk is listed: the shipped risk workflow's appetite
(a residual score of 10 or more goes to top management)."""

FOR_PEOPLE = [
    (
        "Changes in external and internal issues",
        "aims holds no record of the organisation's context (regulation, "
        "market, technology, strategy, organisation). Describe what changed "
        "since the last review and whether it affects the AIMS scope.",
        (("external issues", "external_issues"), ("internal issues", "internal_issues")),
    ),
    (
        "Changes in the needs and expectations of interested parties",
        "aims holds no record of interested parties (customers, regulators, staff, "
        "affected people). Describe new or changed requirements and expectations.",
        (("interested parties", "interested_parties"),),
    ),
    (
        "Results of external audits and other sources",
        "aims holds internal audits only (section 4). Add certification or "
        "customer audit results, complaints and feedback from interested parties.",
        (("audit results", "audit_results"),),
    ),
    (
        "Opportunities for continual improvement",
        "aims holds no list of improvement opportunities. Add them, "
        "with who proposes them; the figures above may suggest some.",
        (("opportunities", "opportunities"),),
    ),
]
"""Inputs top management must consider that the database cannot know: sections left for people."""


def gather_review(
    app: Any,
    conn: Connection,
    rp: ReviewPeriod,
    *,
    now: datetime,
    verify: bool = True,
    risk_threshold: float = DEFAULT_RISK_THRESHOLD,
) -> ReviewPack:
    """Everything the pack shows for the period ``rp`` (see :func:`.review_period.choose_period`),
    read from ``conn``, which should be one snapshot (``_snapshot.snapshot``)."""
    cur, prev = rp.current, rp.previous
    as_of = min(cur.end, now)
    coverage = CoverageHistory(conn, app.runtime.specs, app.workflows, prev.start)
    snapshots = {
        name: coverage.at(moment)
        for name, moment in (("previous_start", prev.start), ("start", cur.start), ("end", as_of))
    }
    notes = list(coverage.notes)
    if as_of == now:
        problems = coverage_check(conn, snapshots["end"])
        if problems:
            notes.append(
                "The coverage rebuilt from the run history does not match the KPI projection ("
                + "; ".join(problems)
                + "), as happens when rows are changed or removed outside aims: treat the "
                "coverage figures with care and run `aims evidence verify`."
            )
    findings = findings_between(conn, prev.start, cur.end)
    actions = gather_actions(conn, rp, as_of)
    review_inputs = actions.last_review.inputs if actions.last_review else {}
    return ReviewPack(
        organisation=app.config.organisation,
        generated_at=now,
        period=rp,
        as_of=as_of,
        tool_version=__version__,
        database=app.db.dialect,
        actions=actions,
        performance=gather_performance(conn, rp, as_of, snapshots, app.config.kpi_targets, notes),
        nonconformities=gather_nonconformities(conn, rp, as_of, findings, app.config.kpi_targets),
        audits=gather_audits(conn, rp, as_of, findings),
        risk=gather_risk(conn, rp, as_of, snapshots, coverage.validity, risk_threshold),
        chain=_chain(conn, cur, now, verify),
        for_people=_for_people(review_inputs),
    )


def _for_people(recorded: dict[str, Any]) -> list[ForPeople]:
    sections = []
    for title, why, keys in FOR_PEOPLE:
        last = [
            (label, _text(recorded.get(key)))
            for label, key in keys
            if recorded.get(key) not in (None, "", [])
        ]
        sections.append(ForPeople(title, why, last))
    return sections


def _text(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


# -- 6. the ledger ---------------------------------------------------------------------------------
def _chain(conn: Connection, period: ClosedPeriod, now: datetime, verify: bool) -> ChainSection:
    from ...engine.evidence import iso

    check = check_chain(conn, iso(now)) if verify else None
    head_seq, head_hash = ledger.head(conn)
    bounds = seq_range(conn, period)
    return ChainSection(check, head_seq, head_hash, bounds[1] - bounds[0] + 1 if bounds else 0)
