"""`aims worker` killed with SIGKILL at every point of posting to Slack: just before a post
(its intent written down, nothing posted) and just after it (Slack has the message, the
database does not know its ``ts`` yet). The restarted worker looks each unrecorded post up in
the conversation's history by its marker before posting, so every approver and every person
notified ends with exactly one message: none lost, none doubled. Real processes, the Slack
sandbox over HTTP, slack_sdk."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from slack_worker import WORKER_APP, approval_request_waiting, worker_env  # noqa: E402
from test_slack_world import slack_world  # noqa: E402

from aims_workflows.store.outbox import LEASE  # noqa: E402

TOM, TINA = "tom@example.com", "tina@example.com"
NOTIFIED = ["amy@example.com", "rita@example.com", "eve@example.com"]
PHASES = ("before", "after")

# Kills itself at post number ``kill_at``: "before" stops once the post is about to be made,
# "after" once Slack has answered it, before anything of the answer is recorded.
PRELUDE = WORKER_APP + textwrap.dedent("""
    kill_at, phase = int(sys.argv[2]), sys.argv[3]

    def stop():
        print("stopped", flush=True)
        sys.stdin.readline()  # killed here
        raise SystemExit(3)

    def post(**kwargs):
        global posts
        posts += 1
        if posts == kill_at and phase == "before":
            stop()
        answer = real_post(**kwargs)
        if posts == kill_at and phase == "after":
            stop()
        return answer

    client.chat_postMessage = post
""")

APPROVALS = PRELUDE + textwrap.dedent("""
    report = app.dispatcher.pump()
    print("done", report.done, report.dead, flush=True)
    app.slack.close()
""")

NOTIFY = PRELUDE + textwrap.dedent("""
    from aims_workflows.engine.commands import Notify

    command = Notify(
        key=sys.argv[4], run_id="R-notify", to=("aims_owner",), people=tuple(sys.argv[5:]),
        message="Notice " + sys.argv[4],
    )
    print("done", app.slack.ports.notifier.perform(command), flush=True)
    app.slack.close()
""")


def _killed_then_restarted(script: Path, env, now, later, args: list[str]) -> None:
    """Run ``script`` until it stops at its kill point, kill -9 it, then run it again to the
    end after the dead process's claim has run out."""

    def run(when, kill_at: int, phase: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, str(script), when.isoformat(), str(kill_at), phase, *args],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    kill_at, phase = int(args[0]), args[1]
    del args[:2]
    first = run(now, kill_at, phase)
    line = first.stdout.readline()
    assert line.strip() == "stopped", (line, first.stderr.read())
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    second = run(later, 0, "none")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0 and "Traceback" not in err, err
    assert out.startswith("done"), out


def _tally(counts: list[int]) -> tuple[int, int]:
    """(lost, doubled): people with no message, and messages beyond the first."""
    return sum(1 for n in counts if n == 0), sum(n - 1 for n in counts if n > 1)


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [1, 2])
@pytest.mark.parametrize("phase", PHASES)
def test_an_approval_request_killed_at_any_post_reaches_each_approver_once(
    tmp_path: Path, kill_at: int, phase: str
) -> None:
    with slack_world(tmp_path) as world:
        run_id = approval_request_waiting(world)
        script = tmp_path / "approvals.py"
        script.write_text(APPROVALS, encoding="utf-8")
        now, later = world.clock.now(), world.clock.now() + LEASE + timedelta(seconds=1)
        _killed_then_restarted(script, worker_env(world), now, later, [str(kill_at), phase])
        counts = [len(world.sandbox.messages(p)) for p in (TOM, TINA)]
        with world.rt.db.connect() as conn:
            recorded = conn.execute(text("SELECT count(*) FROM slack_messages")).scalar()
        lost, doubled = _tally(counts)
        print(f"\nrequest, kill -9 {phase} post {kill_at}: lost {lost}, doubled {doubled}")
        assert (lost, doubled) == (0, 0), counts
        assert recorded == 2  # every copy known, so closing the approval updates each

        # closing updates both copies, the one found in the history included: no live buttons
        approval = world.approval(run_id)
        assert approval is not None
        world.clock.advance(LEASE * 2)
        world.rt.decide(
            approval["approval_id"],
            person=TINA,
            decision="approve",
            reason="Reviewed",
            content_hash=approval["content_hash"],
            via="slack",
        )
        world.pump()
        for person in (TOM, TINA):
            [message] = world.sandbox.messages(person)
            assert message.text.startswith("Approved"), person
            assert not any(b.get("type") == "actions" for b in message.blocks), person


@pytest.mark.slow
def test_a_notification_killed_at_any_post_reaches_each_person_once(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        script = tmp_path / "notify.py"
        script.write_text(NOTIFY, encoding="utf-8")
        env = worker_env(world)
        now = world.clock.now()
        totals = {"lost": 0, "doubled": 0, "kill points": 0}
        for kill_at in range(1, len(NOTIFIED) + 1):
            for phase in PHASES:
                key = f"R-notify/n{kill_at}{phase}/notify"
                _killed_then_restarted(
                    script, env, now, now + LEASE, [str(kill_at), phase, key, *NOTIFIED]
                )
                counts = [
                    sum(1 for m in world.sandbox.messages(p) if key in m.text) for p in NOTIFIED
                ]
                lost, doubled = _tally(counts)
                totals["lost"] += lost
                totals["doubled"] += doubled
                totals["kill points"] += 1
        print(f"\nnotification to {len(NOTIFIED)} people, kill -9 at each post: {totals}")
        assert totals == {"lost": 0, "doubled": 0, "kill points": 2 * len(NOTIFIED)}
