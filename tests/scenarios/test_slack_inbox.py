"""Slack comes in the way Jira does: a decision is stored in the inbox before Slack is told it
was received, and applied by the runtime afterwards; one stored but not applied (the process
stopped in between) is applied by the worker. A refusal goes back through the interaction's
``response_url``."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from test_slack_world import STRANGER, slack_world

from aims_workflows.store.models import InboxItem, OutboxItem

TOM = "tom@example.com"


def inbox(world) -> list[tuple[str, str, str]]:
    table = InboxItem.__table__
    with world.rt.db.connect() as conn:
        rows = conn.execute(select(table.c.source, table.c.delivery_id, table.c.status))
        return [tuple(r) for r in rows]


def test_a_decision_acknowledged_but_not_applied_is_applied_by_the_worker(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        inbound = world.slack.integration.inbox

        def stopped(decision):  # the process stops right after the acknowledgement
            raise RuntimeError("stopped")

        inbound.apply = stopped
        result = world.slack.approve(TOM, approval_id, "Approved before the restart")
        assert result.ok  # Slack was answered: the modal closed
        view_id = result.submit.payload["view"]["id"]
        assert inbox(world) == [("slack", f"view:{view_id}", "received")]
        assert world.evidence("approval.decided", run_id) == []
        assert "received but not recorded yet" in world.sandbox.ephemerals(TOM)[-1].text

        del inbound.apply  # the worker, after the restart
        assert world.slack.integration.pump() == {"applied": 1}
        assert world.slack.integration.pump() == {"applied": 0}
        world.pump()
        decided = world.evidence("approval.decided", run_id)
        assert [(e["actor"], e["payload"]["reason"]) for e in decided] == [
            (TOM, "Approved before the restart")
        ]
        assert inbox(world) == [("slack", f"view:{view_id}", "processed")]
        assert world.run_status(run_id) == ("completed", None)


def test_a_refused_click_is_answered_through_its_response_url(tmp_path: Path) -> None:
    with slack_world(tmp_path, channel="channel") as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        result = world.slack.approve(STRANGER, approval_id, "Sure")
        assert result.click.ok and result.submit is None  # no modal for someone not asked
        world.pump()
        assert "not in the directory of people" in world.sandbox.ephemerals(STRANGER)[-1].text
        table = OutboxItem.__table__
        with world.rt.db.connect() as conn:
            (shown,) = conn.execute(
                select(table.c.result).where(table.c.kind == "approval.refuse")
            ).scalars()
        assert json.loads(shown) == {"shown": "ephemeral", "via": "response_url"}
        assert [(s, status) for s, _, status in inbox(world)] == [("slack", "processed")]
