"""The sandboxed expression and template language: evaluation, templates, the names an
expression reads, and refusal of everything that reaches for Python internals."""

from __future__ import annotations

import pytest

from aims_workflows.spec.expressions import (
    ExpressionError,
    Reference,
    check_syntax,
    evaluate,
    references,
    render,
)

CONTEXT = {
    "subject": {
        "name": "Chatbot",
        "risk_tier": "high",
        "jurisdictions": ["EU", "UK"],
        "owner": "ana@example.com",
    },
    "assess": {"likelihood": 3, "impact": 5, "rationale": "public facing"},
    "inputs": {"reason": None},
}


@pytest.mark.parametrize(
    "text, value",
    [
        ("assess.likelihood * assess.impact", 15),
        ("assess.likelihood * assess.impact >= 15 and subject.risk_tier == 'high'", True),
        ("subject['name']", "Chatbot"),
        ("'EU' in subject.jurisdictions", True),
        ("subject.jurisdictions | length", 2),
        ("inputs.reason or 'manual'", "manual"),
        ("'major' if assess.impact > 4 else 'minor'", "major"),
        ("[1, 2, 3] | sum", 6),
        ("'Gap in ' ~ subject.name", "Gap in Chatbot"),
        ("subject.name.upper()", "CHATBOT"),
        ("none", None),
    ],
)
def test_evaluate(text, value):
    assert evaluate(text, CONTEXT) == value


@pytest.mark.parametrize(
    "text",
    [
        "''.__class__",
        "''.__class__.__mro__",
        "subject.__class__.__mro__",
        "subject.__class__",
        "().__class__.__bases__[0].__subclasses__()",
        "assess.__init__",
        "lipsum.__globals__",
        "cycler.__init__.__globals__",
        "'{0.__class__}'.format(1)",
        "subject.update({'name': 'x'})",
        "subject.jurisdictions.append('US')",
        "subject.__getitem__('name')",
        "range(10 ** 9) | list | length",
    ],
)
def test_the_sandbox_refuses_python_internals_and_mutation(text):
    before = repr(CONTEXT)
    with pytest.raises(ExpressionError):
        evaluate(text, CONTEXT)
    assert repr(CONTEXT) == before


@pytest.mark.parametrize(
    "text",
    [
        "{{ subject.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{% set x = subject.pop('name') %}{{ x }}",
    ],
)
def test_templates_refuse_internals_and_mutation(text):
    with pytest.raises(ExpressionError):
        render(text, CONTEXT)
    assert CONTEXT["subject"]["name"] == "Chatbot"


@pytest.mark.parametrize(
    "text, message",
    [
        ("nope", "'nope' is undefined"),
        ("subject.nope", "'subject.nope' is undefined"),
        ("1 / 0", "'1 / 0' failed: division by zero"),
        ("'a' + 1", 'failed: can only concatenate str (not "int") to str'),
        ("int('x')", "'int' is undefined"),
        ("[1][5]", "is undefined"),
    ],
)
def test_evaluation_failures_are_expression_errors(text, message):
    with pytest.raises(ExpressionError) as caught:
        evaluate(text, CONTEXT)
    assert message in str(caught.value)


def test_runaway_recursion_is_an_expression_error():
    with pytest.raises(ExpressionError):
        render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", {})


def test_render_templates():
    assert (
        render("Risk review of {{ subject.name }} ({{ subject.risk_tier }})", CONTEXT)
        == "Risk review of Chatbot (high)"
    )
    assert render("{% for j in subject.jurisdictions %}{{ j }};{% endfor %}", CONTEXT) == "EU;UK;"
    assert render("no placeholders", {}) == "no placeholders"
    # no HTML escaping: messages go to Jira and Slack, which escape themselves
    assert render("{{ x }}", {"x": "<b>&"}) == "<b>&"
    with pytest.raises(ExpressionError) as caught:
        render("Hi {{ nobody }}", CONTEXT)
    assert "'nobody' is undefined" in str(caught.value)


@pytest.mark.parametrize("text", ["1 +", "a b", "(", "a.", "{{ x }}", "x; y", ""])
def test_syntax_errors(text):
    with pytest.raises(ExpressionError) as caught:
        check_syntax(text)
    assert str(caught.value).startswith(f"cannot parse {text!r}")


def test_template_syntax_errors():
    with pytest.raises(ExpressionError):
        check_syntax("{% if %}", template=True)
    check_syntax("{{ a }} and {% if b %}c{% endif %}", template=True)


@pytest.mark.parametrize(
    "text, found",
    [
        ("assess.likelihood * assess.impact", [("assess", "likelihood"), ("assess", "impact")]),
        ("item", [("item", None)]),
        ("inputs.reason", [("inputs", "reason")]),
        ("subject['risk_tier']", [("subject", "risk_tier")]),
        ("subject[key]", [("subject", None), ("key", None)]),
        ("x > 1 and y.z", [("y", "z"), ("x", None)]),
        ("'literal'", []),
        ("a.b.c", [("a", "b")]),
    ],
)
def test_references(text, found):
    assert references(text) == [Reference(n, a) for n, a in found]


def test_references_in_templates_skip_locally_bound_names():
    refs = references(
        "{% set n = subject.name %}{% for j in subject.jurisdictions %}{{ j }} {{ n }}{% endfor %}",
        template=True,
    )
    assert refs == [Reference("subject", "name"), Reference("subject", "jurisdictions")]


def test_nothing_is_evaluated_with_eval(monkeypatch):
    import builtins

    def refuse(*args, **kwargs):
        raise AssertionError("eval was called")

    monkeypatch.setattr(builtins, "eval", refuse)
    assert evaluate("1 + 2 * 3", {}) == 7
    assert render("{{ 2 * 3 }}", {}) == "6"
