"""The Slack route under attack and under Slack's own retries: forged and replayed requests
are refused with 401 before anything is read or written; a submission delivered twice, retried
by Slack or clicked twice records one decision; the acknowledgement does not wait for the work;
secrets stay out of logs, errors and evidence."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from test_slack_world import SIGNING_SECRET, slack_world  # noqa: E402

from aims_workflows.adapters.slack import APPROVE  # noqa: E402
from aims_workflows.sandbox.slack import signed_headers  # noqa: E402
from aims_workflows.store.models import Evidence, InboxItem, OutboxItem  # noqa: E402

TOM, TINA = "tom@example.com", "tina@example.com"
FORM = "application/x-www-form-urlencoded"


def counts(world) -> tuple[int, int, int]:
    with world.rt.db.connect() as conn:
        return tuple(
            conn.scalar(select(func.count()).select_from(t.__table__))
            for t in (Evidence, InboxItem, OutboxItem)
        )  # type: ignore[return-value]


def post(world, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        world.slack.app_url, content=body, headers={"Content-Type": FORM, **headers}, timeout=5
    )


def submission_of(
    world, person: str, approval_id: str, decision: str = "approve", reason: str = "Fine"
) -> tuple[Any, Any]:
    """Click and fill the modal, returning (person, modal) just before submitting."""
    who = world.sandbox.person(person)
    who.click(
        world.slack.message_for(person, approval_id),
        APPROVE if decision == "approve" else "aims_reject",
    )
    world.slack.wait()
    return who, world.sandbox.modal(person)


def test_forged_signature_gets_401_and_changes_nothing(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        who, modal = submission_of(world, TOM, approval_id)
        payload = {
            "type": "view_submission",
            "user": {"id": world.sandbox.user(TOM).id},
            "view": {
                "id": modal.id,
                "callback_id": modal.callback_id,
                "private_metadata": modal.private_metadata,
                "state": {
                    "values": {
                        "reason": {"reason_text": {"type": "plain_text_input", "value": "forged"}}
                    }
                },
            },
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        before, calls = counts(world), len(world.sandbox.calls)
        now = int(time.time())
        forged = post(world, body, signed_headers("not-the-secret-0123456789abcdef", now, body))
        tampered = post(world, body + b"x", signed_headers(SIGNING_SECRET, now, body))
        unsigned = post(world, body, {})
        assert (forged.status_code, tampered.status_code, unsigned.status_code) == (401, 401, 401)
        world.pump()
        assert (
            counts(world) == before
            and len(world.sandbox.calls) == len(world.sandbox.calls[:calls]) == calls
        )
        assert world.evidence("approval.decided") == []
        assert SIGNING_SECRET not in forged.text


def test_replay_older_than_five_minutes_gets_401(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        who, modal = submission_of(world, TOM, approval_id)
        delivery = who.submit(modal, {"reason_text": "Approved"})
        assert delivery.ok
        world.pump()
        before = counts(world)
        # the same signed body, replayed six minutes later with its signature redone for that time
        old = int(time.time()) - 301
        replay = post(world, delivery.body, signed_headers(SIGNING_SECRET, old, delivery.body))
        future = post(
            world,
            delivery.body,
            signed_headers(SIGNING_SECRET, int(time.time()) + 400, delivery.body),
        )
        assert (replay.status_code, future.status_code) == (401, 401)
        # and a person whose requests are stamped six minutes ago (the sandbox's clock)
        world.sandbox.clock = lambda: time.time() - 360
        late = world.sandbox.person(TINA).command("pending")
        assert late.status == 401
        world.pump()
        assert counts(world) == before


def test_the_same_view_submission_twice_and_slack_retries_record_once(tmp_path: Path) -> None:
    with slack_world(tmp_path, quorum="all") as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        who, modal = submission_of(world, TOM, approval_id)
        first = who.submit(modal, {"reason_text": "Approved once"})
        world.slack.wait()
        now = int(time.time())
        again = post(world, first.body, signed_headers(SIGNING_SECRET, now, first.body))
        retried = [
            post(
                world,
                first.body,
                {
                    **signed_headers(SIGNING_SECRET, now, first.body),
                    "X-Slack-Retry-Num": str(n),
                    "X-Slack-Retry-Reason": "http_timeout",
                },
            )
            for n in (1, 2, 3)
        ]
        assert first.ok and again.status_code == 200 and all(r.status_code == 200 for r in retried)
        world.pump()
        decided = world.evidence("approval.decided", run_id)
        assert [(e["actor"], e["payload"]["reason"]) for e in decided] == [(TOM, "Approved once")]
        assert (
            world.evidence("approval.refused", run_id) == []
        )  # repeats are dropped by the inbox, not refused
        with world.rt.db.connect() as conn:
            inbox = conn.execute(select(InboxItem.__table__.c.delivery_id)).scalars().all()
        assert inbox == [f"view:{modal.id}"]


def test_concurrent_duplicates_and_double_clicks_record_once(tmp_path: Path) -> None:
    with slack_world(tmp_path, quorum="all") as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        tom = world.sandbox.person(TOM)
        message = world.slack.message_for(TOM, approval_id)
        tom.click(message, APPROVE)
        tom.click(message, APPROVE)  # a double click opens two modals
        world.slack.wait()
        modals = world.sandbox.modals(TOM)
        assert len(modals) == 2
        results: list[Any] = []

        def submit(modal) -> None:
            results.append(tom.submit(modal, {"reason_text": f"Approved in {modal.id}"}))

        threads = [threading.Thread(target=submit, args=(m,)) for m in modals]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r.ok for r in results)
        world.pump()
        assert len(world.evidence("approval.decided", run_id)) == 1
        refused = world.evidence("approval.refused", run_id)
        assert [e["payload"]["reason"] for e in refused] == [
            "you have already decided on this request"
        ]

        # the same body sent by ten threads at once is still one delivery
        who, modal = submission_of(world, TINA, approval_id)
        delivery = who.submit(modal, {"reason_text": "Approved by Tina"})
        now = int(time.time())
        threads = [
            threading.Thread(
                target=post,
                args=(world, delivery.body, signed_headers(SIGNING_SECRET, now, delivery.body)),
            )
            for _ in range(10)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        world.pump()
        assert [e["actor"] for e in world.evidence("approval.decided", run_id)] == [TOM, TINA]
        assert world.run_status(run_id)[0] == "completed"


class SlowRuntime:
    """The real runtime, except that applying an event (``receive``) waits until the test
    lets it go."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self.release = threading.Event()
        self.entered = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    def receive(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        assert self.release.wait(10)
        return self._runtime.receive(*args, **kwargs)


def test_the_acknowledgement_does_not_wait_for_the_work(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        slow = SlowRuntime(world.rt)
        world.slack.integration.wait_idle()
        world.slack._server.stop()
        world.slack.attach(
            slow
        )  # the same app, with a decision that takes as long as the test wants
        who, modal = submission_of(world, TOM, approval_id)
        started = time.perf_counter()
        delivery = who.submit(modal, {"reason_text": "Approved while the database is slow"})
        acked_in = time.perf_counter() - started
        assert (
            delivery.ok and len(delivery.attempts) == 1
        )  # no Slack retry: it was answered in time
        assert slow.entered.wait(5) and world.evidence("approval.decided", run_id) == []
        assert acked_in < 1.0
        slow.release.set()
        world.pump()
        assert len(world.evidence("approval.decided", run_id)) == 1


def test_secrets_never_reach_logs_errors_or_evidence(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with slack_world(
        tmp_path, slack_people=[TOM, "eve@example.com"]
    ) as world:  # Tina is not in Slack
        token = world.sandbox.bot_token
        run_id = world.start_release()
        report = world.pump()
        assert world.approval(run_id) is not None
        forged = post(
            world,
            b"payload=%7B%7D",
            signed_headers("wrong-secret", int(time.time()), b"payload=%7B%7D"),
        )
        assert forged.status_code == 401
        # a revoked token: the error says what to do, and does not quote the token
        from aims_workflows.adapters.slack import SlackPorts
        from aims_workflows.engine.commands import Notify
        from aims_workflows.errors import PermanentError

        broken = SlackPorts(bot_token="xoxb-0000-revoked-token", api_url=world.sandbox.api_url)
        try:
            broken.notifier.perform(
                Notify(key="k", run_id="r", to=("aims_owner",), people=(TOM,), message="hi")
            )
        except PermanentError as err:
            assert (
                "invalid_auth" in str(err)
                and "xoxb-0000" not in str(err)
                and "AIMS_SLACK_BOT_TOKEN" in str(err)
            )
        else:
            raise AssertionError("a bad token must fail")
        with world.rt.db.connect() as conn:
            stored = [
                str(v)
                for t in (Evidence, InboxItem, OutboxItem)
                for row in conn.execute(select(t.__table__))
                for v in row
            ]
    everything = caplog.text + "\n".join(stored) + repr(report) + repr(broken)
    for secret in (token, SIGNING_SECRET, "xoxb-0000-revoked-token"):
        assert secret not in everything
    assert "tina@example.com" in "\n".join(stored)  # the unknown approver is named on the run


ODD_PAYLOADS = [
    "not json",
    "[]",
    "null",
    json.dumps({"type": "view_submission"}),
    json.dumps({"type": "view_submission", "user": {"id": "U0TOM"}, "view": "x"}),
    json.dumps(
        {
            "type": "view_submission",
            "user": {"id": "U0TOM"},
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": "aims_decision",
                "private_metadata": "not json",
            },
        }
    ),
    json.dumps(
        {
            "type": "view_submission",
            "user": {"id": "U0TOM"},
            "view": {
                "id": "V2",
                "type": "modal",
                "callback_id": "aims_decision",
                "private_metadata": json.dumps({"a": 5, "d": ["x"], "h": None}),
                "state": {"values": {"reason": {"reason_text": {"value": ["?"]}}}},
            },
        }
    ),
    json.dumps({"type": "block_actions", "user": {"id": "U0TOM"}, "actions": "approve"}),
    json.dumps(
        {
            "type": "block_actions",
            "user": {"id": "U0TOM"},
            "trigger_id": "1.2",
            "actions": [{"action_id": APPROVE, "value": "\u0000{broken"}],
        }
    ),
    json.dumps({"type": "block_actions", "user": None, "actions": [None, 3]}),
]


def test_signed_payloads_of_odd_shape_never_answer_500_and_decide_nothing(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        world.pump()
        evidence_before = counts(world)[0]
        statuses = []
        for payload in ODD_PAYLOADS:
            body = urlencode({"payload": payload}).encode()
            headers = signed_headers(SIGNING_SECRET, int(time.time()), body)
            statuses.append(post(world, body, headers).status_code)
        raw = b"payload"  # a form field without a value
        statuses.append(post(world, raw, signed_headers(SIGNING_SECRET, int(time.time()), raw)))
        world.slack.wait()
        world.pump()
        codes = [s if isinstance(s, int) else s.status_code for s in statuses]
        assert all(code < 500 for code in codes), dict(enumerate(codes))
        assert world.evidence("approval.decided", run_id) == []
        assert counts(world)[0] == evidence_before
