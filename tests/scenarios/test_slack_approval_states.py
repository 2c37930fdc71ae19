"""Expired requests and withdrawn decisions through Slack, end to end: the real Bolt app behind
the real HTTP route, the sandbox's people clicking and typing, the clock injected."""

from __future__ import annotations

from pathlib import Path

import httpx
from slack_messages import buttons, text_of
from test_slack_world import slack_world

from aims_workflows.adapters.slack import APPROVE, DECISION_CALLBACK, REASON_ACTION, WITHDRAW
from aims_workflows.config import KpiTargets
from aims_workflows.kpi import compute_kpis
from aims_workflows.sandbox._server import BackgroundServer
from aims_workflows.web import create_app

TOM, TINA, AMY = "tom@example.com", "tina@example.com", "amy@example.com"
EXPIRING = "    expire:\n      after: 12h\n      to: aims_owner\n"
WITHDRAWABLE = "    withdraw_within: 1h\n"


def test_an_expired_request_is_not_a_rejection_and_goes_to_the_alternate(tmp_path: Path) -> None:
    with slack_world(tmp_path, sign_off_extra=EXPIRING) as world:
        run_id = world.start_release()
        first = world.approval(run_id)["approval_id"]
        world.clock.advance(days=3, hours=12)  # due after 3 days, expiring 12 hours later
        world.rt.tick()
        world.pump()
        second = world.approval(run_id)
        assert second is not None and second["approval_id"] != first
        assert second["approvers"] == ["aims_owner"]
        # every copy of the first request says it expired, without buttons
        for person in (TOM, TINA):
            copy = [m for m in world.sandbox.messages(person) if first in text_of(m)][-1]
            shown = text_of(copy)
            assert buttons(copy) == [] and "Expired" in shown and "not a rejection" in shown
            assert "Asked of aims_owner instead" in shown
        # the alternate gets a request with buttons, saying why it came to her
        amy = world.slack.message_for(AMY, second["approval_id"])
        assert amy is not None and first in text_of(amy)
        assert world.slack.pending(TOM) == []
        assert world.slack.approve(AMY, second["approval_id"], "Accepted in Tom's absence").ok
        world.pump()
        assert world.run_status(run_id) == ("completed", None)

        expired = world.evidence("approval.expired", run_id)
        assert [e["payload"]["approval_id"] for e in expired] == [first]
        assert [e["payload"]["outcome"] for e in world.evidence("approval.closed", run_id)] == [
            "approved"
        ]
        from aims_workflows.store.models import Approval

        with world.rt.db.connect() as conn:
            rows = {
                r.approval_id: (r.status, r.latency_seconds)
                for r in conn.execute(Approval.__table__.select())
            }
        assert rows[first] == ("expired", None)  # no latency: the KPI does not count it
        assert rows[second["approval_id"]][0] == "approved"
        with world.rt.db.connect() as conn:
            latency = compute_kpis(conn, world.clock.now(), KpiTargets())
        [median] = [k for k in latency if k.key == "median_approval_latency_hours"]
        assert "over 1 closed approvals" in median.detail  # the expired one is not counted

        # the dashboard and the run page (what `aims runs show` prints) say it expired
        server = BackgroundServer(create_app(world.app, process_in_background=False)).start()
        try:
            with httpx.Client(base_url=server.url) as http:
                board = http.get("/dashboard").text
                page = http.get(f"/dashboard/runs/{run_id}").text
        finally:
            server.stop()
        assert "1 expired undecided (not rejections" in board
        assert "expired undecided (due 2026-01-08); asked of aims_owner instead" in page
        assert f"after {first} expired" in page


def test_withdrawing_through_slack_reopens_the_request(tmp_path: Path) -> None:
    with slack_world(tmp_path, sign_off_extra=WITHDRAWABLE) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        assert world.slack.approve(TOM, approval_id, "Looks fine").ok
        world.pump()
        assert world.run_status(run_id) == ("running", "sign_off")  # the window is open
        mine = world.sandbox.messages(TOM)[-1]
        assert buttons(mine) == [WITHDRAW] and "you can withdraw it" in text_of(mine)

        tom = world.sandbox.person(TOM)
        world.clock.advance(minutes=20)
        assert tom.click(mine, WITHDRAW).ok
        world.slack.wait()
        modal = world.sandbox.modal(TOM)
        assert modal is not None and modal.callback_id == DECISION_CALLBACK
        assert modal.title["text"] == "Withdraw"
        assert tom.submit(modal, {REASON_ACTION: "I missed the open incident"}).ok
        world.slack.wait()
        world.pump()

        withdrawn = world.evidence("approval.withdrawn", run_id)
        assert [(w["actor"], w["payload"]["reason"]) for w in withdrawn] == [
            (TOM, "I missed the open incident")
        ]
        assert len(world.evidence("approval.decided", run_id)) == 1  # never edited
        again = world.sandbox.messages(TOM)[-1]
        assert buttons(again) == [APPROVE, "aims_reject"] and "You withdrew" in text_of(again)
        world.clock.advance(hours=2)
        world.rt.tick()
        world.pump()
        assert world.run_status(run_id) == ("running", "sign_off")  # nothing to settle

        assert world.slack.reject(TINA, approval_id, "Wait for the incident review").ok
        world.pump()
        world.clock.advance(minutes=61)
        world.rt.tick()
        world.pump()
        assert world.run_status(run_id) == ("running", "prepare")


def test_withdrawing_after_the_window_is_refused_with_the_time_it_closed(tmp_path: Path) -> None:
    with slack_world(tmp_path, quorum="all", sign_off_extra=WITHDRAWABLE) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        assert world.slack.approve(TOM, approval_id, "Fine").ok
        world.pump()
        mine = world.sandbox.messages(TOM)[-1]
        world.clock.advance(hours=2)
        tom = world.sandbox.person(TOM)
        seen = len(world.sandbox.ephemerals(TOM))
        assert tom.click(mine, WITHDRAW).ok
        world.slack.wait()
        assert tom.submit(world.sandbox.modal(TOM), {REASON_ACTION: "Too late?"}).ok
        world.slack.wait()
        world.pump()
        told = [e.text for e in world.sandbox.ephemerals(TOM)[seen:]]
        assert any("could be withdrawn until 2026-01-05T10:00" in t for t in told), told
        assert world.evidence("approval.withdrawn", run_id) == []
        refused = world.evidence("approval.refused", run_id)
        assert refused[-1]["payload"]["decision"] == "withdraw"


def test_the_form_opens_before_the_checks_and_says_why_a_click_cannot_count(
    tmp_path: Path,
) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        message = world.slack.message_for(TOM, approval_id)
        # Tina decides first; Tom clicks before his copy has lost its buttons
        assert world.slack.approve(TINA, approval_id, "Fine").ok
        assert buttons(world.sandbox.messages(TOM)[-1]) == [APPROVE, "aims_reject"]
        tom = world.sandbox.person(TOM)
        assert tom.click(message, APPROVE).ok
        world.slack.wait()
        methods = [c.method for c in world.sandbox.calls]
        last_open = len(methods) - 1 - methods[::-1].index("views.open")
        assert "views.update" in methods[last_open:]
        form = world.sandbox.modal(TOM)
        assert form is not None and form.title["text"] == "Not recorded" and not form.submit
        assert "this request was already approved by tina@example.com" in str(form.blocks)
        [refused] = world.evidence("approval.refused", run_id)
        assert refused["actor"] == TOM
        world.pump()
        assert buttons(world.sandbox.messages(TOM)[-1]) == []


def test_a_request_after_a_rework_says_what_changed_and_links_the_run_page(
    tmp_path: Path,
) -> None:
    from aims_workflows.adapters.slack._service import run_page_url

    with slack_world(tmp_path) as world:
        world.slack.channel.run_url = run_page_url("https://aims.example.com/")
        run_id = world.start_release(summary="Retrieval index v2", risk=18)
        first = world.approval(run_id)["approval_id"]
        card = text_of(world.slack.message_for(TINA, first))
        assert f"<https://aims.example.com/dashboard/runs/{run_id}|{run_id}>" in card
        assert "Changed since the last request" not in card  # nothing to compare with yet
        assert world.slack.reject(TOM, first, "Risk score too high").ok
        world.pump()
        world.complete(run_id, summary="Retrieval index v2 with output filter", risk=8)
        second = world.approval(run_id)["approval_id"]
        card = text_of(world.slack.message_for(TINA, second))
        assert "Changed since the last request" in card
        assert "*Risk score*: 18 → 8" in card
        assert "*Summary*: Retrieval index v2 → Retrieval index v2 with output filter" in card


def test_the_form_opened_from_the_home_tab_names_the_request_clicked(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        world.start_release()
        tina = world.sandbox.person(TINA)
        assert tina.open_home().ok
        world.slack.wait()
        assert tina.click(world.sandbox.home(TINA), APPROVE).ok
        world.slack.wait()
        form = world.sandbox.modal(TINA)
        assert form is not None and form.title["text"] == "Approve"
        assert "*Release Support chatbot*" in str(form.blocks)
