"""A task's form from the command line: what ``aims tasks show`` lists (keys, labels, types,
allowed values, what is required), and the checks ``aims tasks complete`` makes on the keys it
is given before anything is recorded (a label or a near miss gets "did you mean `risk_title`?")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError, NotFound

__all__ = [
    "allowed_text",
    "check_keys",
    "field_rows",
    "keyed_problem",
    "read_answers_file",
    "step_title",
    "task_step",
    "template_yaml",
]

_TYPE_WORDS = {
    "text": "text",
    "number": "number",
    "choice": "one of",
    "multi_choice": "some of",
    "date": "date",
    "user": "person",
    "url": "link",
    "bool": "yes/no",
}


def task_step(app: Any, run_id: str, step_id: str) -> tuple[Any, Any]:
    """(run state, task step) of ``run_id``; a step that is not a task of the run's workflow
    is a clear error listing the ones that are."""
    from ..spec.model import TaskStep
    from ..spec.problems import did_you_mean
    from ..store import runs as run_store

    with app.db.connect() as conn:
        run, _ = run_store.load(conn, run_id)
        spec = app.runtime.specs.by_hash(conn, run.spec_hash)
    tasks = [s.id for s in spec.steps if isinstance(s, TaskStep)]
    if step_id not in tasks:
        hint = did_you_mean(step_id, tasks) or f"its tasks are {', '.join(tasks) or 'none'}"
        raise NotFound(f"workflow '{spec.id}' of run {run_id} has no task '{step_id}'", hint=hint)
    return run, spec.step(step_id, TaskStep)


def step_title(run: Any, step: Any) -> str:
    """The step's title as people see it in Jira (its template rendered over the run)."""
    from ..engine._context import expression_context
    from ..spec.expressions import ExpressionError, render

    if not step.title:
        return str(step.id)
    try:
        return render(step.title, expression_context(run))
    except ExpressionError:
        return str(step.title)


def allowed_text(field: Any) -> str:
    if field.choices:
        return ", ".join(field.choices)
    if field.type == "number":
        low = "" if field.min is None else f"{field.min:g}"
        high = "" if field.max is None else f"{field.max:g}"
        whole = "whole number " if field.integer else ""
        return f"{whole}{low}..{high}" if low or high else whole.strip()
    if field.type == "date":
        return "YYYY-MM-DD"
    if field.type == "user":
        return "e-mail"
    if field.type == "url":
        return "http(s) link"
    if field.type == "bool":
        return "yes, no"
    if field.pattern:
        return f"matches {field.pattern}"
    if field.max_length:
        return f"up to {field.max_length} characters"
    return ""


def _required_text(field: Any) -> str:
    if field.required_if:
        return f"if {field.required_if}"
    return "yes" if field.required else "no"


def field_rows(step: Any) -> list[dict[str, str]]:
    return [
        {
            "key": f.id,
            "label": f.label,
            "type": _TYPE_WORDS.get(f.type, f.type),
            "allowed": allowed_text(f),
            "required": _required_text(f),
            "help": f.help or "",
        }
        for f in step.form
    ]


def _normal(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def check_keys(step: Any, answers: dict[str, Any]) -> None:
    """Refuse answers to keys the form does not have, saying which key was meant."""
    from ..spec.problems import did_you_mean

    keys = [f.id for f in step.form]
    by_label = {_normal(f.label): f.id for f in step.form}
    problems = []
    for given in answers:
        if given in keys:
            continue
        meant = by_label.get(_normal(given))
        if meant is None:
            close = did_you_mean(given, keys)
            meant = close.split("'")[1] if close else None
        if meant:
            problems.append(f"'{given}' is not a key of this form: did you mean `{meant}`?")
        else:
            problems.append(f"'{given}' is not a key of this form")
    if problems:
        raise ConfigError(
            "; ".join(problems),
            hint=f"the form's keys are {', '.join(keys)} (see `aims tasks show RUN STEP`)",
        )


def keyed_problem(step: Any, problem: str) -> str:
    """``"Risk title: an answer is required."`` -> ``"risk_title (Risk title): ..."``: the
    engine words problems for people in Jira; on the command line the key is what to type."""
    for field in step.form:
        if problem.startswith(f"{field.label}:"):
            return f"{field.id} ({field.label}){problem[len(field.label) :]}"
    return problem


def read_answers_file(path: Path) -> dict[str, Any]:
    """A YAML (or JSON) mapping of form keys to answers; lists for multi-choice fields."""
    from ..spec.source import YamlSyntaxError, read_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"answers file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read answers file {path}: {err}") from None
    try:
        data = read_yaml(text).data if text.strip() else {}
    except YamlSyntaxError as err:
        raise ConfigError(f"{path}:{err.line}:{err.column}: YAML syntax: {err.message}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ConfigError(
            f"{path} must be a mapping of form keys to answers (risk_title: ...)",
            hint="`aims tasks show RUN STEP --template` writes one to fill in",
        )
    return {k: v for k, v in data.items() if v is not None}


def template_yaml(step: Any) -> str:
    """An answers file to fill in: every key with its label, what is allowed and whether it is
    required as a comment."""
    lines = [f"# answers for '{step.id}': fill in, then `aims tasks complete ... --answers-file`"]
    for f in step.form:
        allowed = allowed_text(f)
        note = f"{f.label}; {_TYPE_WORDS.get(f.type, f.type)}"
        note += f": {allowed}" if allowed else ""
        note += "; required" if f.required and not f.required_if else ""
        note += f"; required if {f.required_if}" if f.required_if else ""
        lines.append(f"# {note}")
        lines.append(f"{f.id}: {'[]' if f.type == 'multi_choice' else ''}".rstrip())
    return "\n".join(lines) + "\n"
