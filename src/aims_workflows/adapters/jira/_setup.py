"""``aims jira setup``: check the project, create the Nonconformity and AI system proposal issue
types when the site lacks them, create or map the custom fields the workflows need, scope them
to the project, put them on its screens, and register the webhook.

Idempotent: run it again after adding a workflow and only what is missing is created; a run
that finds everything in place changes nothing and says so. A field
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
from ._nonconformity import NONCONFORMITY_TYPE
from ._proposal import PROPOSAL_TYPE
from ._reported import NONCONFORMITIES, PROPOSALS, ensure_issue_type, missing_type_problem
from ._screens import ProjectScreens, createmeta_fields, project_screens
from ._webhook_setup import WebhookPlan, ensure_webhook, manual_steps

__all__ = ["SetupReport", "WebhookPlan", "setup_project", "workflow_forms"]


@dataclass
class SetupReport:
    """What setup found and did, one line per field, plus problems an admin must fix."""

    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    """custom field name -> Jira field id"""
    changed: list[str] = field(default_factory=list)
    """What this run changed in Jira (empty: a repeat run, nothing to change)"""
    manual: list[str] = field(default_factory=list)
    """Steps an administrator must take by hand (the webhook, when the account may not)"""

    def change(self, line: str) -> None:
        self.changed.append(line)
        self.done.append(line)

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
        report.change(f"added options {', '.join(missing)} to '{name}'")


def _admin_check(conn: JiraConnection, project: str) -> None:
    """Creating fields, scoping contexts and editing screens are Jira administration: say so
    before anything is changed, rather than stopping half-way."""
    answer = conn.call(
        "GET",
        "mypermissions",
        params={"permissions": "ADMINISTER"},
        what="check the account's global permissions",
    )
    held = (((answer or {}).get("permissions") or {}).get("ADMINISTER") or {}).get("havePermission")
    if not held:
        raise ConfigError(
            f"the Jira account lacks the 'Administer Jira' global permission, which creating "
            f"fields and placing them on the screens of {project} needs; nothing was changed",
            hint="ask a site administrator to grant it (Settings > System > Global permissions) "
            "or to run `aims jira setup` with their own e-mail and API token",
        )


def _scope(
    conn: JiraConnection, field_id: str, name: str, project_id: str, report: SetupReport
) -> None:
    """Make the field apply to the project through a context of its own; a context that
    covers the project already (global or its own) is kept."""
    mappings = _all_values(
        conn,
        f"field/{field_id}/context/projectmapping",
        what=f"read which projects the contexts of {name} cover",
    )
    if any(
        str(m.get("projectId")) == str(project_id) or m.get("isGlobalContext") for m in mappings
    ):
        return
    conn.call(
        "POST",
        f"field/{field_id}/context",
        json={"name": f"aims-workflows: {name}", "projectIds": [str(project_id)]},
        what=f"add a context of {name} for the project",
    )
    report.change(f"gave '{name}' a context for the project")


def _scope_new(
    conn: JiraConnection, field_id: str, name: str, project_id: str, report: SetupReport
) -> None:
    """A field Jira has just made comes with a global context: give it one for the project and
    drop the global one, so the field does not show on every other project's issues. (Jira
    Cloud no longer lets projects be assigned to a global context, CHANGE-3019.)"""
    made_global = _all_values(
        conn, f"field/{field_id}/context", what=f"read the contexts of {name}"
    )
    conn.call(
        "POST",
        f"field/{field_id}/context",
        json={"name": f"aims-workflows: {name}", "projectIds": [str(project_id)]},
        what=f"add a context of {name} for the project",
    )
    for context in made_global:
        if context.get("isGlobalContext"):
            conn.call(
                "DELETE",
                f"field/{field_id}/context/{context['id']}",
                what=f"remove the global context of {name}",
            )


def setup_project(
    conn: JiraConnection,
    project: str,
    issue_type: str,
    forms: Iterable[Iterable[Mapping[str, Any]]],
    *,
    manage_options: bool = True,
    dry_run: bool = False,
    webhook: WebhookPlan | None = None,
    nonconformity_type: str | None = NONCONFORMITY_TYPE,
    proposal_type: str | None = PROPOSAL_TYPE,
) -> SetupReport:
    """Check ``project`` and ``issue_type``; create or map a custom field for every form field,
    scoped to the project and on its create, edit and view screens; check the result against
    createmeta; register the webhook (``webhook``) where the account may.

    Every check that can refuse (the project, the admin permission, a field clash, the
    screens) runs before the first change."""
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
    project_id = str(proj.get("id"))
    types = {t.get("name"): str(t.get("id")) for t in proj.get("issueTypes") or []}
    if issue_type not in types:
        raise ConfigError(
            f"project {project} has no issue type '{issue_type}' "
            f"(it has {', '.join(map(str, types))})",
            hint="add it (see integrations/jira/) or set AIMS_JIRA_ISSUE_TYPE",
        )
    report.done.append(f"issue type '{issue_type}' available")
    type_id = types[issue_type]
    reported_types = ((nonconformity_type, NONCONFORMITIES), (proposal_type, PROPOSALS))
    misnamed = [
        problem
        for name, kind in reported_types
        if name and (problem := missing_type_problem(project, list(types), name, kind))
    ]
    if misnamed:
        raise ConfigError("; ".join(misnamed) + "; nothing was changed")
    _admin_check(conn, project)
    existing = FieldMap(conn.fields(what="list the Jira fields"))
    wanted = sorted(wanted_fields(forms).items())
    clashes = [
        f"a field '{name}' exists with type {', '.join(existing.names[name])}, not {kind}"
        for (name, kind), spec in wanted
        if not existing.get(spec) and existing.names.get(name)
    ]
    if clashes:
        raise ConfigError(
            "; ".join(clashes) + "; nothing was changed",
            hint="rename the existing field in Jira (or the form field's label), then run "
            "`aims jira setup` again",
        )
    screens = project_screens(conn, project_id, project, type_id)
    for type_name, reported in reported_types:
        if type_name:
            ensure_issue_type(conn, project, types, type_name, reported, report, dry_run=dry_run)
    for (name, kind), spec in wanted:
        found = existing.get(spec)
        if found:
            report.done.append(f"mapped '{name}' ({kind}) to {found}")
            if not dry_run:
                _scope(conn, found, name, project_id, report)
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
            report.change(f"created '{name}' ({kind}) as {found}, for project {project} only")
            _scope_new(conn, found, name, project_id, report)
        report.fields[name] = found
        if spec.options and manage_options and not dry_run:
            _options(conn, found, spec.options, report, name, project_id)
    _place(conn, screens, list(report.fields.values()), report, dry_run=dry_run)
    if not dry_run:
        _verify(conn, project, type_id, report)
    if webhook is not None:
        _webhook(conn, webhook, report, dry_run=dry_run)
    return report


def _place(
    conn: JiraConnection,
    screens: ProjectScreens,
    field_ids: list[str],
    report: SetupReport,
    *,
    dry_run: bool,
) -> None:
    for screen_id, missing in screens.missing(field_ids).items():
        where = "/".join(screens.operations[screen_id])
        if dry_run:
            report.done.append(f"would put {len(missing)} fields on the {where} screen")
            continue
        for field_id in missing:
            conn.call(
                "POST",
                f"screens/{screen_id}/tabs/{screens.tabs[screen_id]}/fields",
                json={"fieldId": field_id},
                what=f"put {field_id} on screen {screen_id}",
            )
        report.change(f"put {len(missing)} fields on the {where} screen ({screen_id})")
    if field_ids:
        report.done.append(
            f"all {len(field_ids)} form fields are on the create/edit/view and transition screens"
        )
    report.done.extend(screens.notes)
    report.manual.extend(shared.steps(screens.project) for shared in screens.shared)


def _verify(conn: JiraConnection, project: str, type_id: str, report: SetupReport) -> None:
    """Read back what a create request may set: the screens are only right if Jira says so."""
    on_create = createmeta_fields(conn, project, type_id)
    absent = sorted(name for name, fid in report.fields.items() if fid not in on_create)
    if absent:
        report.problems.append(
            f"Jira's createmeta does not offer {', '.join(absent)}: check the create screen "
            f"of {project} (a field configuration may hide them)"
        )
    else:
        report.done.append("createmeta offers every form field")
    if "priority" not in on_create:
        report.done.append("the create screen has no Priority: aims leaves it out")
    # editmeta needs an issue: the newest of the project's aims issues, when there is one
    newest = next(
        conn.search(
            f"project = {project} AND labels = aims ORDER BY created DESC",
            fields=["summary"],
            page_size=1,
            what=f"find an issue of {project} to check editmeta with",
        ),
        None,
    )
    if newest is None:
        return
    meta = conn.call("GET", f"issue/{newest['key']}/editmeta", what="read editmeta") or {}
    editable = set(meta.get("fields") or {})
    absent = sorted(name for name, fid in report.fields.items() if fid not in editable)
    if absent:
        report.problems.append(
            f"Jira's editmeta of {newest['key']} does not offer {', '.join(absent)}: check the "
            f"edit screen of {project}"
        )
    else:
        report.done.append(f"editmeta of {newest['key']} offers every form field")


def _webhook(
    conn: JiraConnection, plan: WebhookPlan, report: SetupReport, *, dry_run: bool
) -> None:
    try:
        line, changed = ensure_webhook(conn, plan, dry_run=dry_run)
    except PermissionError as why:
        report.manual.extend(manual_steps(plan, str(why)))
        return
    if changed:
        report.change(line)
    else:
        report.done.append(line)
