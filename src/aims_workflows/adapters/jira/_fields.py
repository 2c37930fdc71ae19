"""Form fields as Jira custom fields: which Jira type each form type becomes, how the fields are
found on a site, and how values cross over in both directions.

A form field is stored in a custom field named after its label (what the engineer sees on the
issue) whose type matches the form type. ``aims jira setup`` creates the missing ones; the
tracker and the inbound mapping look them up by (name, type) through :class:`FieldMap`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import PermanentError
from . import _adf

__all__ = [
    "PREFIX",
    "JiraFieldSpec",
    "jira_field_for",
    "FieldMap",
    "answers_from_issue",
    "value_for_jira",
    "jira_value",
    "wanted_fields",
]

PREFIX = "com.atlassian.jira.plugin.system.customfieldtypes:"
_SEARCHERS = {
    "textfield": "textsearcher",
    "textarea": "textsearcher",
    "url": "exacttextsearcher",
    "float": "exactnumber",
    "datepicker": "daterange",
    "select": "multiselectsearcher",
    "multiselect": "multiselectsearcher",
    "userpicker": "userpickergroupsearcher",
}
BOOL_CHOICES = ("Yes", "No")


@dataclass(frozen=True)
class JiraFieldSpec:
    """The custom field a form field needs: its name, type suffix and options (select types)."""

    name: str
    type: str
    options: tuple[str, ...] = ()

    @property
    def type_key(self) -> str:
        return PREFIX + self.type

    @property
    def searcher_key(self) -> str:
        return PREFIX + _SEARCHERS[self.type]


def jira_field_for(field: Mapping[str, Any]) -> JiraFieldSpec:
    """The custom field for a form field (a ``FormField`` dumped to a dict)."""
    kind = field["type"]
    name = str(field["label"])[:255]
    if kind == "text":
        # Jira's single-line text holds 255 characters; longer answers need a paragraph field.
        limit = field.get("max_length")
        return JiraFieldSpec(name, "textfield" if limit and limit <= 255 else "textarea")
    if kind == "number":
        return JiraFieldSpec(name, "float")
    if kind == "choice":
        return JiraFieldSpec(name, "select", tuple(field.get("choices") or ()))
    if kind == "multi_choice":
        return JiraFieldSpec(name, "multiselect", tuple(field.get("choices") or ()))
    if kind == "date":
        return JiraFieldSpec(name, "datepicker")
    if kind == "user":
        return JiraFieldSpec(name, "userpicker")
    if kind == "url":
        return JiraFieldSpec(name, "url")
    if kind == "bool":
        return JiraFieldSpec(name, "select", BOOL_CHOICES)
    raise PermanentError(f"form field '{field.get('id')}' has a type Jira cannot hold: {kind}")


def wanted_fields(
    forms: Iterable[Iterable[Mapping[str, Any]]],
) -> dict[tuple[str, str], JiraFieldSpec]:
    """Every distinct custom field that the given forms need, by (name, type); options merged."""
    wanted: dict[tuple[str, str], JiraFieldSpec] = {}
    for form in forms:
        for field in form:
            spec = jira_field_for(field)
            key = (spec.name, spec.type)
            if key in wanted:
                merged = tuple(dict.fromkeys(wanted[key].options + spec.options))
                spec = JiraFieldSpec(spec.name, spec.type, merged)
            wanted[key] = spec
    return wanted


class FieldMap:
    """Custom fields of a site by (name, type suffix), read from ``GET /field``."""

    def __init__(self, fields: Iterable[Mapping[str, Any]]) -> None:
        self.by_key: dict[tuple[str, str], str] = {}
        self.names: dict[str, list[str]] = {}
        for f in fields:
            if not f.get("custom"):
                continue
            custom = str((f.get("schema") or {}).get("custom", ""))
            suffix = custom.removeprefix(PREFIX) if custom.startswith(PREFIX) else custom
            self.by_key.setdefault((f["name"], suffix), f["id"])
            self.names.setdefault(f["name"], []).append(suffix)

    def get(self, spec: JiraFieldSpec) -> str | None:
        return self.by_key.get((spec.name, spec.type))

    def resolve(self, form: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        """form field id -> Jira field id; a missing field is a PermanentError naming it."""
        result: dict[str, str] = {}
        missing: list[str] = []
        for field in form:
            spec = jira_field_for(field)
            found = self.get(spec)
            if found is None:
                missing.append(f"'{spec.name}' ({spec.type})")
            else:
                result[field["id"]] = found
        if missing:
            raise PermanentError(
                f"Jira has no custom field for {', '.join(missing)}",
                hint="run `aims jira setup` to create them",
            )
        return result


def value_for_jira(field: Mapping[str, Any], value: Any, account_of: Any = None) -> Any:
    """A clean answer as the value a create/edit request sets (used to pre-fill a reopened task)."""
    return jira_value(jira_field_for(field).type, field["type"], value, account_of)


def jira_value(jira_type: str, form_type: str, value: Any, account_of: Any = None) -> Any:
    """``value`` (an answer) as Jira takes it in a field of custom type ``jira_type``."""
    if value is None:
        return None
    if jira_type == "textarea":
        return _adf.from_text(str(value))
    if jira_type == "select":
        if form_type == "bool":
            truthy = value is True or str(value).strip().lower() in ("yes", "true", "y", "1")
            return {"value": "Yes" if truthy else "No"}
        return {"value": str(value)}
    if jira_type == "multiselect":
        items = (
            value
            if isinstance(value, (list, tuple))
            else [v.strip() for v in str(value).split(",")]
        )
        return [{"value": str(v)} for v in items]
    if jira_type == "userpicker":
        account = account_of(str(value)) if account_of else None
        return {"accountId": account} if account else None
    if jira_type == "float":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return str(value)


def _answer(kind: str, raw: Any, email_of: Any) -> Any:
    if raw is None:
        return None
    if isinstance(raw, dict) and _adf.is_document(raw):
        return _adf.to_text(raw).strip()
    if kind == "user":
        if isinstance(raw, dict):
            return (
                raw.get("emailAddress")
                or (email_of(raw.get("accountId")) if email_of else None)
                or raw.get("accountId")
            )
        return raw
    if isinstance(raw, dict) and "value" in raw:
        return raw["value"]
    if isinstance(raw, list):
        return [item.get("value") if isinstance(item, dict) else item for item in raw]
    return raw


def answers_from_issue(
    fields: Mapping[str, Any], issue_fields: Mapping[str, Any], email_of: Any = None
) -> dict[str, Any]:
    """The answers an issue holds, by form field id, in the shapes the form checker takes.

    ``fields`` maps each form field id to ``[jira field id, form type]`` (kept per issue when it
    is created, so a later change of the workflow file does not change how it is read)."""
    answers: dict[str, Any] = {}
    for form_id, (jira_id, kind) in fields.items():
        value = _answer(kind, issue_fields.get(jira_id), email_of)
        if value is not None:
            answers[form_id] = value
    return answers
