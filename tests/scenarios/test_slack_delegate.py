"""``/aims delegate`` through the real Bolt app: the sandbox's person types the command (signed
into the real HTTP route), the directory of people applies the same rules as ``aims delegate``,
and the delegate's decision reads "B for A"."""

from __future__ import annotations

from pathlib import Path

from test_slack_world import slack_world

TOM, AMY, RITA = "tom@example.com", "amy@example.com", "rita@example.com"


def typed(world, who: str, text: str) -> str:
    person = world.sandbox.person(who)
    seen = len(world.sandbox.ephemerals(who))
    assert person.command(text).ok
    world.slack.wait()
    answers = world.sandbox.ephemerals(who)[seen:]
    assert answers, f"no answer to /aims {text}"
    return answers[-1].text


def mention(world, who: str) -> str:
    return f"<@{world.sandbox.user(who).id}>"  # as Slack sends a mention (should_escape)


def test_a_delegation_typed_in_slack_lets_the_delegate_decide_for_the_holder(tmp_path: Path):
    with slack_world(tmp_path) as world:
        answer = typed(
            world,
            TOM,
            f"delegate {mention(world, AMY)} until 2026-01-09 role top_management "
            "Away at the regulator's hearing",
        )
        assert answer.startswith(":handshake: amy@example.com may act for you (tom@example.com)")
        assert "until 2026-01-10 00:00 UTC" in answer
        [granted] = world.evidence("delegation.granted")
        assert (granted["actor"], granted["via"]) == (TOM, "slack")
        assert granted["payload"]["reason"] == "Away at the regulator's hearing"

        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        assert world.slack.approve(AMY, approval_id, "Approved while Tom is away").ok
        world.pump()
        [decided] = world.evidence("approval.decided", run_id)
        assert decided["actor"] == AMY and decided["payload"]["on_behalf_of"] == TOM


def test_the_rules_of_aims_delegate_hold_in_slack_and_refusals_are_recorded(tmp_path: Path):
    with slack_world(tmp_path) as world:
        to_self = typed(world, TOM, f"delegate {mention(world, TOM)} until 2026-01-09 leave")
        assert to_self.startswith(
            ":no_entry: Not delegated: a person cannot delegate to themselves"
        )
        not_held = typed(
            world, RITA, f"delegate {mention(world, AMY)} until 2026-01-09 role top_management x"
        )
        assert "rita@example.com does not hold top_management themselves" in not_held
        bad_date = typed(world, TOM, f"delegate {mention(world, AMY)} until next-week leave")
        assert "'next-week' is not a date: write it as YYYY-MM-DD" in bad_date
        no_reason = typed(world, TOM, f"delegate {mention(world, AMY)} until 2026-01-09")
        assert "give a reason" in no_reason
        passed = typed(world, TOM, f"delegate {mention(world, AMY)} until 2026-01-01 leave")
        assert "which has passed" in passed
        nobody = typed(world, TOM, "delegate bob until 2026-01-09 leave")
        assert "'bob' is not a person" in nobody
        # no re-delegation: Amy acts for Tom, but cannot hand his role on
        typed(world, TOM, f"delegate {mention(world, AMY)} until 2026-01-09 leave")
        again = typed(
            world, AMY, f"delegate {mention(world, RITA)} until 2026-01-09 role top_management x"
        )
        assert "a delegate cannot delegate again" in again
        assert len(world.evidence("delegation.granted")) == 1
        refusals = world.evidence("directory.refused")
        assert len(refusals) == 7 and {r["via"] for r in refusals} == {"slack"}
