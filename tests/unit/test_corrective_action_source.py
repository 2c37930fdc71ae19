"""The corrective action's first task says what kind of source a finding came from and where
it came in (by hand, from a Jira issue, from a run of another workflow), read from the finding
row as the runtime builds its subject."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from test_shipped_workflows import Drive, shipped  # noqa: F401 - the fixture

from aims_workflows.runtime.subjects import finding_subject
from aims_workflows.store.models import Finding


@pytest.mark.parametrize(
    ("source", "source_type", "shown"),
    [
        ("cli", "complaint", "Source: complaint, raised by hand (aims findings raise)."),
        ("jira:AIMS-42", "external-audit", "Source: external audit, from Jira issue AIMS-42."),
        (
            "ai-incident/R0A1B2C3D4E",
            "incident",
            "Source: incident, raised by the ai-incident run R0A1B2C3D4E.",
        ),
        # a finding from before kinds of source were kept: an internal audit raised it
        ("internal-audit/R9", None, "Source: internal, raised by the internal-audit run R9."),
    ],
)
def test_the_first_task_names_the_kind_of_source_and_where_it_came_from(
    harness,
    shipped,
    source,
    source_type,
    shown,  # noqa: F811
):
    h = harness
    with h.db.begin() as conn:
        conn.execute(
            insert(Finding.__table__).values(
                id="F-1",
                title="Complaint about biased answers",
                severity="minor",
                source=source,
                source_type=source_type,
                status="open",
                raised_at=h.clock.now(),
            )
        )
    with h.db.connect() as conn:
        subject = finding_subject(conn, "F-1")
    drive = Drive(shipped, "corrective-action", subject)
    drive.start()
    description = drive.kinds("task.create")[-1].description
    assert shown in description
    assert "Source: " + source + "." not in description
