"""Answers checked against a task's form, each problem a sentence a person can act on."""

from __future__ import annotations

import pytest

from aims_workflows.engine import check_answers
from aims_workflows.spec.model import FormField

FORM = (
    FormField(id="likelihood", type="number", label="Likelihood", min=1, max=5, integer=True),
    FormField(id="cost", type="number", label="Cost", required=False),
    FormField(id="tier", type="choice", label="Tier", choices=("low", "high"), required=False),
    FormField(
        id="areas",
        type="multi_choice",
        label="Areas",
        choices=("policy", "risk", "data"),
        required=False,
    ),
    FormField(id="due", type="date", label="Due", required=False),
    FormField(id="who", type="user", label="Who", required=False),
    FormField(id="link", type="url", label="Link", required=False),
    FormField(id="ok", type="bool", label="OK", required=False),
    FormField(
        id="ticket",
        type="text",
        label="Ticket",
        required=False,
        pattern=r"[A-Z]+-\d+",
        max_length=10,
    ),
)
WHY = FormField(id="why", type="text", label="Why", required=False, required_if="s.likelihood >= 4")


def check(answers):
    return check_answers(FORM, answers, step_id="s", context={})


def test_clean_answers_are_converted():
    clean, problems = check(
        {
            "likelihood": "3",
            "cost": "12.5",
            "tier": " high ",
            "areas": "data, policy, data",
            "due": "2026-02-01T10:00",
            "who": "ana@example.com",
            "link": "https://example.com/x",
            "ok": "yes",
            "ticket": "AIMS-12",
            "extra": "dropped",
        }
    )
    assert problems == []
    assert clean == {
        "likelihood": 3,
        "cost": 12.5,
        "tier": "high",
        "areas": ["policy", "data"],
        "due": "2026-02-01",
        "who": "ana@example.com",
        "link": "https://example.com/x",
        "ok": True,
        "ticket": "AIMS-12",
    }


@pytest.mark.parametrize(
    "answers, problem",
    [
        ({"likelihood": 9}, "Likelihood: must be at most 5, not 9."),
        ({"likelihood": 0}, "Likelihood: must be at least 1, not 0."),
        ({"likelihood": 2.5}, "Likelihood: must be a whole number, not 2.5."),
        ({"likelihood": True}, "Likelihood: must be a number."),
        ({"likelihood": "three"}, "Likelihood: must be a number, not 'three'."),
        ({"likelihood": "nan"}, "Likelihood: must be a finite number, not 'nan'."),
        ({"likelihood": 2, "cost": "inf"}, "Cost: must be a finite number, not 'inf'."),
        ({"likelihood": 2, "tier": "mid"}, "Tier: must be one of low, high, not 'mid'."),
        ({"likelihood": 2, "areas": ["risk", "hr"]}, "Areas: 'hr' not among policy, risk, data."),
        ({"likelihood": 2, "areas": 7}, "Areas: must be a list of choices, not 7."),
        (
            {"likelihood": 2, "due": "next week"},
            "Due: must be a date as YYYY-MM-DD, not 'next week'.",
        ),
        (
            {"likelihood": 2, "who": "a b"},
            "Who: must be a person's e-mail or account id, not 'a b'.",
        ),
        ({"likelihood": 2, "link": "ftp://x"}, "Link: must be an http(s) link, not 'ftp://x'."),
        ({"likelihood": 2, "ok": "perhaps"}, "OK: must be yes or no, not 'perhaps'."),
        (
            {"likelihood": 2, "ticket": "aims 12"},
            "Ticket: does not match the expected format ([A-Z]+-\\d+).",
        ),
        ({"likelihood": 2, "ticket": "AIMS-123456789"}, "Ticket: is 14 characters; at most 10."),
        ({}, "Likelihood: an answer is required."),
        ({"likelihood": "  "}, "Likelihood: an answer is required."),
    ],
)
def test_each_problem_is_reported_once(answers, problem):
    clean, problems = check(answers)
    assert problems == [problem]


def test_every_problem_at_once_and_the_rest_kept():
    clean, problems = check({"likelihood": 7, "tier": "mid", "ok": "no"})
    assert problems == [
        "Likelihood: must be at most 5, not 7.",
        "Tier: must be one of low, high, not 'mid'.",
    ]
    assert clean == {"ok": False}


def test_required_if():
    form = FORM + (WHY,)
    assert check_answers(form, {"likelihood": 4}, step_id="s", context={})[1] == [
        "Why: an answer is required."
    ]
    assert check_answers(form, {"likelihood": 3}, step_id="s", context={}) == (
        {"likelihood": 3},
        [],
    )
    assert check_answers(form, {"likelihood": 4, "why": "public"}, step_id="s", context={})[1] == []


def test_a_condition_over_a_missing_answer_asks_for_it():
    form = (FormField(id="x", type="text", label="X", required=False, required_if="s.score > 3"),)
    assert check_answers(form, {}, step_id="s", context={}) == ({}, ["X: an answer is required."])


def test_answers_that_are_not_a_mapping():
    assert check_answers(FORM, ["likelihood", 3], step_id="s", context={}) == (
        {},
        ["the answers must be named fields, not list."],
    )
