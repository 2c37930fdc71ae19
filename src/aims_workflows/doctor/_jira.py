"""Jira: reachable, Cloud, the token valid (and not about to expire), the project and issue
type there, the permissions aims uses, the custom fields the forms need, and the clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from ..adapters.jira import (
    NONCONFORMITIES,
    PROPOSALS,
    FieldMap,
    JiraConnection,
    createmeta_fields,
    jira_time,
    missing_type_problem,
    wanted_fields,
)
from ..errors import AimsError
from ._check import Check, Status

__all__ = ["NEEDED_PERMISSIONS", "jira_checks"]

NEEDED_PERMISSIONS = {
    "BROWSE_PROJECTS": "find the issues it created",
    "CREATE_ISSUES": "create a task's issue",
    "EDIT_ISSUES": "pre-fill and correct fields",
    "ASSIGN_ISSUES": "assign the task to its person",
    "TRANSITION_ISSUES": "close an issue completed elsewhere",
    "ADD_COMMENTS": "say who completed a task and through what",
    "CREATE_ATTACHMENTS": "attach the evidence of a completed step",
}
EXPIRY_WARNING_DAYS = 30
MAX_CLOCK_SKEW_SECONDS = 60


def _fail(name: str, err: AimsError) -> Check:
    return Check("jira", name, "fail", err.message, err.hint or "")


def _expiry(expires: date | None, today: date) -> Check:
    if expires is None:
        return Check(
            "jira",
            "token expiry",
            "warn",
            "not known: API tokens expire (within a year for new ones) and Jira cannot say when",
            "set AIMS_JIRA_TOKEN_EXPIRES to the date id.atlassian.com shows for the token",
        )
    days = (expires - today).days
    if days < 0:
        return Check("jira", "token expiry", "fail", f"expired on {expires}", "create a new token")
    status: Status = "warn" if days <= EXPIRY_WARNING_DAYS else "ok"
    return Check(
        "jira",
        "token expiry",
        status,
        f"{days} days left (expires {expires})",
        "create a new token and update AIMS_JIRA_API_TOKEN" if status == "warn" else "",
    )


def jira_checks(
    conn: JiraConnection,
    *,
    project: str,
    issue_type: str,
    forms: Iterable[Iterable[Mapping[str, Any]]],
    reported_types: Iterable[str] = (NONCONFORMITIES.default_name, PROPOSALS.default_name),
    token_expires: date | None,
    webhook_secret_set: bool,
    now: datetime,
    poll_seconds: int | None = None,
) -> list[Check]:
    checks: list[Check] = []
    try:
        info = conn.server_info(what="read the site's server info")
    except AimsError as err:
        # Jira refuses wrong credentials on every request, even one that needs none
        refused = err.message.startswith(("Jira answered 401", "Jira answered 403"))
        return [_fail("credentials" if refused else "reachable", err)]
    cloud = info.get("deploymentType") == "Cloud"
    checks.append(
        Check(
            "jira",
            "reachable",
            "ok" if cloud else "fail",
            f"{conn.url} ({info.get('deploymentType')})",
            "" if cloud else "aims-workflows needs Jira Cloud",
        )
    )
    server_time = jira_time(info.get("serverTime"))
    if server_time is not None:
        skew = abs((server_time.astimezone(UTC) - now).total_seconds())
        ok = skew <= MAX_CLOCK_SKEW_SECONDS
        checks.append(
            Check(
                "clock",
                "skew against Jira",
                "ok" if ok else "fail",
                f"{skew:.0f} s",
                "" if ok else "synchronise this machine's clock (NTP): due dates and SLAs use it",
            )
        )
    try:
        me = conn.myself(what="sign in")
    except AimsError as err:
        checks.append(_fail("credentials", err))
        return checks
    checks.append(
        Check(
            "jira",
            "credentials",
            "ok",
            f"signed in as {me.get('displayName')} ({me.get('accountId')})",
        )
    )
    checks.append(_expiry(token_expires, now.date()))
    try:
        proj = conn.project(project, what=f"read project {project}")
    except AimsError as err:
        checks.append(
            Check(
                "jira",
                "project",
                "fail",
                err.message,
                "set AIMS_JIRA_PROJECT to a project key the account can browse",
            )
        )
        return checks
    types = [str(t.get("name")) for t in proj.get("issueTypes") or []]
    checks.append(
        Check("jira", "project", "ok", f"{proj.get('key')} ({proj.get('name')})")
        if issue_type in types
        else Check(
            "jira",
            "project",
            "fail",
            f"{project} has no issue type {issue_type!r} (it has {', '.join(types)})",
            "add the issue type to the project's scheme or set AIMS_JIRA_ISSUE_TYPE",
        )
    )
    checks.append(_reported_types(project, types, reported_types))
    try:
        granted = conn.call(
            "GET",
            "mypermissions",
            what="read the account's permissions",
            params={"projectKey": project, "permissions": ",".join(NEEDED_PERMISSIONS)},
        )
    except AimsError as err:
        checks.append(_fail("permissions", err))
    else:
        held = (granted or {}).get("permissions") or {}
        missing = [k for k in NEEDED_PERMISSIONS if not (held.get(k) or {}).get("havePermission")]
        checks.append(
            Check("jira", "permissions", "ok", f"all {len(NEEDED_PERMISSIONS)} project permissions")
            if not missing
            else Check(
                "jira",
                "permissions",
                "fail",
                "missing " + "; ".join(f"{k} ({NEEDED_PERMISSIONS[k]})" for k in missing),
                f"grant them to the account in project {project}'s permission scheme",
            )
        )
    try:
        existing = FieldMap(conn.fields(what="list the Jira fields"))
    except AimsError as err:
        checks.append(_fail("fields", err))
    else:
        wanted = wanted_fields(forms)
        absent = sorted(name for (name, _), spec in wanted.items() if existing.get(spec) is None)
        type_id = next(
            (str(t.get("id")) for t in proj.get("issueTypes") or [] if t.get("name") == issue_type),
            None,
        )
        checks.append(
            _on_screens(conn, project, type_id, [existing.get(s) for s in wanted.values()])
            if not absent
            else Check(
                "jira",
                "fields",
                "fail",
                f"{len(absent)} of {len(wanted)} form fields missing: {', '.join(absent[:5])}"
                + (" ..." if len(absent) > 5 else ""),
                "run `aims jira setup`",
            )
        )
    if poll_seconds is not None:
        checks.append(
            Check(
                "jira",
                "webhook secret",
                "ok",
                f"poll mode: no webhook, polled every {poll_seconds} s",
            )
        )
        return checks
    checks.append(
        Check("jira", "webhook secret", "ok", "set")
        if webhook_secret_set
        else Check(
            "jira",
            "webhook secret",
            "fail",
            "AIMS_JIRA_WEBHOOK_SECRET is not set",
            "choose a secret, set it here and in the Jira webhook (System, WebHooks)",
        )
    )
    return checks


def _reported_types(project: str, types: list[str], names: Iterable[str]) -> Check:
    """The issue types people report nonconformities and propose AI systems with (each
    problem says its own fix)."""
    problems = []
    for name, kind in zip(names, (NONCONFORMITIES, PROPOSALS), strict=True):
        if name in types:
            continue
        problems.append(
            missing_type_problem(project, types, name, kind)
            or f"project {project} has no issue type '{name}' for {kind.purpose} yet: run "
            "`aims jira setup` (it creates it)"
        )
    if not problems:
        return Check("jira", "issue types", "ok", ", ".join(names))
    return Check("jira", "issue types", "fail", "; ".join(problems))


def _on_screens(
    conn: JiraConnection, project: str, type_id: str | None, field_ids: list[str | None]
) -> Check:
    """The form fields exist; are they on the create screen? (Jira's createmeta says.)"""
    if type_id is None:
        return Check("jira", "fields", "ok", f"all {len(field_ids)} form fields exist")
    try:
        offered = createmeta_fields(conn, project, type_id)
    except AimsError as err:
        return _fail("fields", err)
    off = [f for f in field_ids if f and f not in offered]
    if not off:
        return Check(
            "jira", "fields", "ok", f"all {len(field_ids)} form fields exist and are on screens"
        )
    return Check(
        "jira",
        "fields",
        "fail",
        f"{len(off)} of {len(field_ids)} form fields are not on the create screen of {project}: "
        + ", ".join(off[:5])
        + (" ..." if len(off) > 5 else ""),
        "run `aims jira setup` (it puts them on the project's screens)",
    )
