"""`aims worker` killed with SIGKILL while it posts an approval request to its approvers: the
restarted worker posts only to those not messaged yet (each copy is recorded before the next is
posted, and looked up before posting again), and closing the approval updates every copy,
including those posted before the kill, so no live buttons are left."""

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

WORKER = WORKER_APP + textwrap.dedent("""
    block_at = int(sys.argv[2])

    def post(**kwargs):
        global posts
        posts += 1
        if posts == block_at:  # the first copy is posted and recorded; stop before the next
            print("posting", flush=True)
            sys.stdin.readline()
        return real_post(**kwargs)

    client.chat_postMessage = post
    report = app.dispatcher.pump()
    print("report", report.done, report.retried, report.dead, flush=True)
    app.slack.close()
""")


def _live_buttons(message) -> bool:
    return any(block.get("type") == "actions" for block in message.blocks)


@pytest.mark.slow
def test_a_worker_killed_mid_posting_posts_no_duplicates_and_closing_updates_every_copy(
    tmp_path: Path,
) -> None:
    with slack_world(tmp_path) as world:
        run_id = approval_request_waiting(world)
        script = tmp_path / "worker.py"
        script.write_text(WORKER, encoding="utf-8")
        env = worker_env(world)

        def worker(now, block_at: int) -> subprocess.Popen:
            return subprocess.Popen(
                [sys.executable, str(script), now.isoformat(), str(block_at)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

        first = worker(world.clock.now(), block_at=2)
        line = first.stdout.readline()
        assert line.strip() == "posting", (line, first.stderr.read())
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
        assert first.returncode == -signal.SIGKILL
        before = {p: len(world.sandbox.messages(p)) for p in (TOM, TINA)}
        assert sorted(before.values()) == [0, 1]  # one approver was messaged before the kill

        # restarted once the dead worker's claim has run out
        second = worker(world.clock.now() + LEASE + timedelta(seconds=1), block_at=0)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0 and "Traceback" not in err, err
        after = {p: len(world.sandbox.messages(p)) for p in (TOM, TINA)}
        with world.rt.db.connect() as conn:
            recorded = conn.execute(text("SELECT count(*) FROM slack_messages")).scalar()
        print(f"\n2 approvers, kill -9 after the first post: {sum(after.values())} request copies")
        assert after == {TOM: 1, TINA: 1}, after
        assert recorded == 2

        approval = world.approval(run_id)
        assert approval is not None
        world.clock.advance(LEASE * 2)
        outcome = world.rt.decide(
            approval["approval_id"],
            person=TINA,
            decision="approve",
            reason="Retrieval index reviewed",
            content_hash=approval["content_hash"],
            via="slack",
        )
        assert outcome.transition is not None and outcome.transition.ignored is None
        world.pump()
        for person in (TOM, TINA):
            [message] = world.sandbox.messages(person)
            assert message.text.startswith("Approved") and not _live_buttons(message), person


def test_a_reminder_cut_short_and_retried_by_another_process_reposts_nobody_twice(
    tmp_path: Path,
) -> None:
    with slack_world(tmp_path, quorum="all") as world:
        run_id = world.start_release()
        assert world.approval(run_id) is not None
        channel = world.slack.channel
        client = channel.client
        real_post = client.chat_postMessage
        posts = {"n": 0}

        def dies_before_the_second_repost(**kwargs):
            posts["n"] += 1
            if posts["n"] == 2:
                raise OSError("the worker was killed")
            return real_post(**kwargs)

        world.clock.advance(days=1, minutes=1)
        world.rt.tick()
        client.chat_postMessage = dies_before_the_second_repost
        world.pump()
        client.chat_postMessage = real_post
        channel._progress.clear()  # another process: nothing of the first attempt in memory
        world.clock.advance(minutes=30)
        world.pump()
        counts = {p: len(world.sandbox.messages(p)) for p in (TOM, TINA)}
        print(f"\nreminder retried after a cut: {counts} messages (request + one reminder each)")
        assert counts == {TOM: 2, TINA: 2}
        for person in (TOM, TINA):
            live = [m for m in world.sandbox.messages(person) if _live_buttons(m)]
            assert len(live) == 1 and "Reminder" in str(live[0].blocks), person
