"""``aims jira setup``: check the project and create or map the custom fields the workflows need.

Idempotent: run it again after adding a workflow and only what is missing is created. A field
is mapped when the site already has a custom field of the same name and type; a field with the
same name but another type is reported, since the engine would misread its values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import AimsError, ConfigError
from ._client import JiraConnection
from ._fields import FieldMap, wanted_fields

__all__ = ["SetupReport", "setup_project", "workflow_forms"]


@dataclass
class SetupReport:
    """What setup found and did, one line per field, plus problems an admin must fix."""

    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    """custom field name -> Jira field id"""

    @property
    def ok(self) -> bool:
        return not self.problems


def workflow_forms(workflows) -> list[list[dict[str, Any]]]:
    """The forms of every task step of a ``WorkflowSet`` (as dicts, like task.create payloads)."""
    forms = []
    for loaded in workflows:
        for step in loaded.spec.steps:
            if getattr(step, "kind", None) == "task" and step.form:
                forms.append([f.model_dump(mode="json") for f in step.form])
    return forms


_MAX_PAGES = 200
"""A bound on paging through one list (20,000 entries at 100 a page): a site that never says
``isLast`` must not keep setup looping."""


def _all_values(
    conn: JiraConnection, path: str, *, what: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every entry of a paged Jira list (PageBean: startAt, maxResults, isLast, values)."""
    values: list[dict[str, Any]] = []
    for _ in range(_MAX_PAGES):
        page = (
            conn.call(
                "GET",
                path,
                params={**(params or {}), "startAt": len(values), "maxResults": 100},
                what=what,
            )
            or {}
        )
        chunk = page.get("values") or []
        values += chunk
        if page.get("isLast", True) or not chunk:
            return values
    raise ConfigError(
        f"Jira kept paging while trying to {what} ({len(values)} entries read)",
        hint="check the field's contexts and options in Jira's field settings",
    )


def _project_context(
    conn: JiraConnection, field_id: str, project_id: str | None, name: str
) -> str | None:
    """The context whose options the project's issues are held to: a context for this project
    wins over the global one, as in Jira; None if neither exists."""
    mappings = _all_values(
        conn,
        f"field/{field_id}/context/projectmapping",
        what=f"read which projects the contexts of {name} cover",
    )
    own = next(
        (
            m["contextId"]
            for m in mappings
            if project_id and str(m.get("projectId")) == str(project_id)
        ),
        None,
    )
    return own or next((m["contextId"] for m in mappings if m.get("isGlobalContext")), None)


def _options(
    conn: JiraConnection,
    field_id: str,
    wanted: Iterable[str],
    report: SetupReport,
    name: str,
    project_id: str | None,
) -> None:
    context_id = _project_context(conn, field_id, project_id, name)
    if context_id is None:
        report.problems.append(
            f"field '{name}' has no context for this project: add one in Jira with the options "
            f"{', '.join(wanted)}"
        )
        return
    existing = {
        o.get("value")
        for o in _all_values(
            conn,
            f"field/{field_id}/context/{context_id}/option",
            what=f"read the options of {name}",
        )
    }
    missing = [v for v in wanted if v not in existing]
    if missing:
        conn.call(
            "POST",
            f"field/{field_id}/context/{context_id}/option",
            json={"options": [{"value": v} for v in missing]},
            what=f"add options to {name}",
        )
        report.done.append(f"added options {', '.join(missing)} to '{name}'")


def setup_project(
    conn: JiraConnection,
    project: str,
    issue_type: str,
    forms: Iterable[Iterable[Mapping[str, Any]]],
    *,
    manage_options: bool = True,
    dry_run: bool = False,
) -> SetupReport:
    """Check ``project`` and ``issue_type``; create or map a custom field for every form field."""
    report = SetupReport()
    info = conn.server_info(what="read the site's server info")
    if info.get("deploymentType") != "Cloud":
        report.problems.append(
            f"{conn.url} is Jira {info.get('deploymentType') or 'Server'}; "
            "aims-workflows needs Jira Cloud"
        )
    try:
        proj = conn.project(project, what=f"read project {project}")
    except AimsError as err:
        raise ConfigError(
            f"cannot use Jira project {project}: {err.message}",
            hint="set AIMS_JIRA_PROJECT to an existing project key the integration account "
            "can browse",
        ) from None
    report.done.append(f"project {proj.get('key')} ({proj.get('name')}) found")
    types = [t.get("name") for t in proj.get("issueTypes") or []]
    if issue_type in types:
        report.done.append(f"issue type '{issue_type}' available")
    else:
        report.problems.append(
            f"project {project} has no issue type '{issue_type}' "
            f"(it has {', '.join(map(str, types))}); "
            "add it (see integrations/jira/) or set AIMS_JIRA_ISSUE_TYPE"
        )
    existing = FieldMap(conn.fields(what="list the Jira fields"))
    for (name, kind), spec in sorted(wanted_fields(forms).items()):
        found = existing.get(spec)
        if found:
            report.done.append(f"mapped '{name}' ({kind}) to {found}")
        elif existing.names.get(name):
            report.problems.append(
                f"a field '{name}' exists with type {', '.join(existing.names[name])}, not {kind}: "
                "rename one of them"
            )
            continue
        elif dry_run:
            report.done.append(f"would create '{name}' ({kind})")
            continue
        else:
            created = conn.call(
                "POST",
                "field",
                what=f"create the field '{name}'",
                json={
                    "name": name,
                    "type": spec.type_key,
                    "searcherKey": spec.searcher_key,
                    "description": "Answer to an aims-workflows task form",
                },
            )
            found = created["id"]
            report.done.append(f"created '{name}' ({kind}) as {found}")
        report.fields[name] = found
        if spec.options and manage_options and not dry_run:
            _options(conn, found, spec.options, report, name, proj.get("id"))
    return report
