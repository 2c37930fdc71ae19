"""``aims export review-pack`` run in-process on a database the real runtime filled (SQLite and
PostgreSQL): the period it says it used, the files it writes and refuses to replace, its errors."""

from __future__ import annotations

import re

import pytest
from export_world import assessed_world, tamper
from review_world import management_review
from test_export_cli import cli  # noqa: F401 - the fixture that runs `aims` in-process


@pytest.fixture
def reviewed(cli, harness, answers, db_url):  # noqa: F811 - the imported fixture
    assessed_world(harness, answers)
    review = management_review(harness, ["Hire an <auditor>"])
    return cli(db_url, harness.config_path), review


def test_the_pack_is_markdown_by_default_and_the_terminal_says_which_period_and_why(
    reviewed, harness, tmp_path
):
    aims, review = reviewed
    completed = harness.run_row(review).completed_at.date()
    result = aims("export", "review-pack")
    assert result.code == 0, result
    match = re.search(
        rf"period: {completed} to (\d{{4}}-\d\d-\d\d) \((\d+) days?\), since the last completed "
        r"management review, "
        rf"{review}, completed on {completed}",
        result.out,
    )
    assert match, result.out
    assert re.search(r"compared with: \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d", result.out)
    assert "evidence chain verified" in result.out and "section 7 is for people" in result.out
    (written,) = tmp_path.glob("aims-review-pack-*.md")
    assert (
        re.fullmatch(r"aims-review-pack-\d{4}-\d\d-\d\d\.md", written.name)
        and f"wrote {written.name}" in result.out
    )
    text = written.read_text(encoding="utf-8")
    assert text.startswith("# Management review input pack: Example Ltd\n")
    assert (
        f"- **Period:** {completed} to {match.group(1)} ({match.group(2)} days): since the last "
        "completed management review" in text
    )
    assert (
        "| Hire an &lt;auditor&gt; |" in text
        and "## 7. For people to complete before the review" in text
    )


def test_an_existing_pack_is_kept_unless_forced_and_html_follows_the_suffix(reviewed, tmp_path):
    aims, _ = reviewed
    target = tmp_path / "review.html"
    target.write_text("the copy top management annotated", encoding="utf-8")
    refused = aims("export", "review-pack", "--out", str(target))
    assert refused.code == 1 and "exists already" in refused.err and "--force" in refused.err
    assert target.read_text(encoding="utf-8") == "the copy top management annotated"
    forced = aims("export", "review-pack", "--out", str(target), "--force", "--no-verify")
    assert forced.code == 0, forced
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Hire an &lt;auditor&gt;" in page
    assert (
        "Evidence chain NOT VERIFIED for this pack" in page
        and "evidence chain NOT verified (--no-verify)" in forced.out
    )
    assert [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".")
    ] == []  # no temporary file left
    # --format wins over the suffix; a directory gets the default name
    (tmp_path / "packs").mkdir()
    into = aims("export", "review-pack", "--out", "packs", "--format", "html")
    assert into.code == 0, into
    (made,) = (tmp_path / "packs").iterdir()
    assert re.fullmatch(r"aims-review-pack-\d{4}-\d\d-\d\d\.html", made.name)
    unknown = aims("export", "review-pack", "--format", "pdf")
    assert unknown.code == 2 and "must be md or html" in unknown.err


@pytest.mark.parametrize(
    "args, words",
    [
        (("--since", "2026-31-01"), "expected YYYY-MM-DD"),
        (("--until", "last week"), "expected YYYY-MM-DD"),
        (
            ("--since", "2026-03-01", "--until", "2026-02-01"),
            "is after --until 2026-02-01: swap them",
        ),
        (("--since", "2999-01-01"), "is in the future"),
    ],
)
def test_bad_dates_are_usage_errors_that_say_what_to_type(reviewed, tmp_path, args, words):
    aims, _ = reviewed
    result = aims("export", "review-pack", *args)
    assert result.code == 2 and words in result.err, result
    assert not list(tmp_path.glob("aims-review-pack-*"))


def test_a_period_given_in_full_and_a_broken_chain(reviewed, harness, tmp_path):
    aims, _ = reviewed
    result = aims(
        "export", "review-pack", "--since", "2026-01-01", "--until", "2026-01-31", "--out", "jan.md"
    )
    assert result.code == 0, result
    assert (
        "period: 2026-01-01 to 2026-01-31 (31 days), as asked with --since and --until"
        in result.out
    )
    assert "compared with: 2025-12-01 to 2025-12-31" in result.out
    january = (tmp_path / "jan.md").read_text(encoding="utf-8")
    assert (
        "No management review had been completed by the end of the period." in january
        and "Hire an" not in january
    )  # it came in February
    tamper(harness.db, "UPDATE evidence SET payload = :p WHERE seq = 3", p='{"forged":true}')
    broken = aims("export", "review-pack", "--out", "broken.md")
    assert (
        broken.code == 1
        and "evidence chain BROKEN at row 3" in broken.err
        and "the pack was written" in broken.err
    )
    assert "**Evidence chain: BROKEN at row 3**" in (tmp_path / "broken.md").read_text(
        encoding="utf-8"
    )


def test_a_database_never_initialised_says_how_to_fix_it(cli, tmp_path):  # noqa: F811
    empty = cli(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "aims.yaml")
    result = empty("export", "review-pack")
    assert result.code == 1 and "has no aims tables" in result.err and "aims init" in result.err, (
        result
    )
    assert not list(tmp_path.glob("aims-review-pack-*"))


def test_the_help_names_the_command_and_its_options():
    from typer.testing import CliRunner

    from aims_workflows.cli import app

    assert "review-pack" in CliRunner().invoke(app, ["export", "--help"]).output
    text = CliRunner().invoke(app, ["export", "review-pack", "--help"], terminal_width=200).output
    for option in (
        "--since",
        "--until",
        "--out",
        "--format",
        "--force",
        "--no-verify",
        "--risk-threshold",
    ):
        assert option in text, option
