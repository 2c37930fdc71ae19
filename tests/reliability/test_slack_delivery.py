"""Delivering approvals to Slack when Slack pushes back: rate limits, a person Slack does not
know, an unreachable API. Nothing is lost and nothing is posted twice."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from test_slack_world import slack_world  # noqa: E402

from aims_workflows.store.models import OutboxItem  # noqa: E402

TOM, TINA = "tom@example.com", "tina@example.com"


def outbox(world, kind: str) -> list[dict]:
    table = OutboxItem.__table__
    with world.rt.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).where(table.c.kind == kind))]


def test_429_from_chat_post_message_is_retried_after_retry_after_without_duplicates(
    tmp_path: Path,
) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.rt.start("model-release", system="Support chatbot").run.run_id
        world.pump()
        client = world.slack.ports.client
        real_post = client.chat_postMessage
        posted: list[str] = []

        def post_then_limit(**kwargs):
            answer = real_post(**kwargs)
            posted.append(kwargs["channel"])
            if len(posted) == 1:  # Slack starts limiting after the first approver's message
                world.sandbox.faults.rate_limit("chat.postMessage", times=1, retry_after=30)
            return answer

        client.chat_postMessage = post_then_limit
        world.complete(run_id)
        request = outbox(world, "approval.request")[0]
        assert (
            request["status"] == "pending"
            and "ratelimited" in request["last_error"]
            and "429" in request["last_error"]
        )
        assert (
            request["next_attempt_at"] - world.clock.now()
        ).total_seconds() >= 30  # Retry-After honoured
        assert sum(len(world.sandbox.messages(p)) for p in (TOM, TINA)) == 1

        world.pump()  # not due yet: Retry-After is honoured
        assert sum(len(world.sandbox.messages(p)) for p in (TOM, TINA)) == 1
        world.clock.advance(seconds=31)
        world.pump()
        assert [len(world.sandbox.messages(p)) for p in (TOM, TINA)] == [
            1,
            1,
        ]  # the first was not posted again
        assert outbox(world, "approval.request")[0]["status"] == "done"
        assert world.sandbox.calls_to("chat.postMessage")[1].status == 429

        approval_id = world.approval(run_id)["approval_id"]
        assert world.slack.approve(TINA, approval_id, "Approved").ok
        world.pump()
        assert all("Approved" in world.sandbox.messages(p)[-1].text for p in (TOM, TINA))


def test_an_approver_unknown_to_slack_is_a_clear_error_on_the_run(tmp_path: Path) -> None:
    people = [TOM, "eve@example.com", "amy@example.com"]  # Tina is in aims.yaml but not in Slack
    with slack_world(tmp_path, slack_people=people) as world:
        run_id = world.start_release()
        request = outbox(world, "approval.request")[0]
        assert request["status"] == "dead"
        assert "tina@example.com" in request["last_error"] and "aims.yaml" in request["last_error"]
        dead = world.evidence("command.dead", run_id)
        assert (
            len(dead) == 1
            and "no Slack user with the e-mail tina@example.com" in dead[0]["payload"]["reason"]
        )
        assert world.sandbox.messages(TOM) == []  # nobody was asked with half the approvers missing
        assert world.sandbox.calls_to("chat.postMessage") == []


def test_slack_unreachable_is_retried_later(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.rt.start("model-release", system="Support chatbot").run.run_id
        world.pump()
        world.slack.ports.client.base_url = (
            "http://127.0.0.1:9/api/"  # nothing listens on the discard port
        )
        world.complete(run_id)
        request = outbox(world, "approval.request")[0]
        assert request["status"] == "pending" and "could not be reached" in request["last_error"]
        world.slack.ports.client.base_url = world.sandbox.api_url
        world.clock.advance(minutes=5)
        world.pump()
        assert outbox(world, "approval.request")[0]["status"] == "done"
        assert [len(world.sandbox.messages(p)) for p in (TOM, TINA)] == [1, 1]
