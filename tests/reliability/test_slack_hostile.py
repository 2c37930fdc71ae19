"""Slack when it is busy or odd: a rate-limited user lookup never turns an eligible approver
into "not an approver" (they are told to try again and nothing is recorded; a stored
submission waits and is applied once Slack answers)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from test_slack_world import slack_world  # noqa: E402

from aims_workflows.adapters.slack import APPROVE  # noqa: E402

TOM = "tom@example.com"


def test_a_rate_limited_lookup_says_try_again_and_the_click_works_after(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        world.slack.ports.directory.forget()  # as after a restart: who is who is asked again
        world.sandbox.faults.rate_limit("users.info", times=1, retry_after=30)

        tom = world.sandbox.person(TOM)
        assert tom.click(world.slack.message_for(TOM, approval_id), APPROVE).ok
        world.pump()
        notice = world.sandbox.ephemerals(TOM)[-1].text
        assert "try again" in notice and "not an approver" not in notice
        assert world.sandbox.modal(TOM) is None
        assert world.evidence("approval.refused", run_id) == []

        # once Slack answers again, the same click opens the form and the decision counts
        assert world.slack.approve(TOM, approval_id, "Release validated").ok
        world.pump()
        assert [e["actor"] for e in world.evidence("approval.decided", run_id)] == [TOM]
        assert world.evidence("approval.refused", run_id) == []


def test_a_submission_during_a_rate_limit_waits_and_is_recorded_later(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        tom = world.sandbox.person(TOM)
        assert tom.click(world.slack.message_for(TOM, approval_id), APPROVE).ok
        world.slack.wait()
        modal = world.sandbox.modal(TOM)
        world.slack.ports.directory.forget()
        world.sandbox.faults.rate_limit("users.info", times=1, retry_after=30)
        assert tom.submit(modal, {"reason_text": "Release validated"}).ok
        world.slack.wait()
        assert world.evidence("approval.decided", run_id) == []
        assert world.evidence("approval.refused", run_id) == []
        assert "not recorded yet" in world.sandbox.ephemerals(TOM)[-1].text

        # the worker's pass over stored decisions applies it once Slack answers
        assert world.slack.integration.pump() == {"applied": 1}
        world.pump()
        assert [e["actor"] for e in world.evidence("approval.decided", run_id)] == [TOM]
