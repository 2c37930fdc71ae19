"""Transition screens that other projects show too, which ``aims jira setup`` leaves alone.

A screen belongs to no project: every workflow whose transitions name it shows it, in every
project that uses such a workflow. Jira's own screens (the *Resolve Issue Screen* of the Done
transition above all) are named by the default workflows that most projects of a site use, so
adding aims' form fields to one puts a dozen AIMS questions in front of everyone closing an issue
anywhere. Jira's API does not say which workflows show a screen; what it does say is enough:
Jira's own screens keep the same ids on every site, and ``GET /workflow/{id}/projectUsages``
lists the projects that use a workflow. When either says the screen is shared, setup changes
nothing and prints what the admin does instead: copy the screen (and the workflow, when other
projects use it) for this project, and point the transition at the copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import PermanentError
from ._client import JiraConnection

__all__ = ["JIRA_SCREENS", "SharedScreen", "TransitionScreen", "shared_screen"]

JIRA_SCREENS = {"1": "Default Screen", "2": "Resolve Issue Screen", "3": "Workflow Screen"}
"""Jira's own screens, with the ids they have on every site."""
_NAMED = 5
"""How many of the other projects a message names (by key)."""
_USAGE_PAGES = 10


@dataclass(frozen=True)
class TransitionScreen:
    """A transition of the project's workflow that shows a screen."""

    transition: str
    screen_id: str
    screen_name: str
    workflow: str
    workflow_id: str | None
    """The workflow's entity id (what ``projectUsages`` takes), when Jira gave it."""


@dataclass(frozen=True)
class SharedScreen:
    """A transition screen other projects show too, and why aims thinks so."""

    found: TransitionScreen
    jira_default: bool
    other_projects: list[str] | None
    """Keys (or ids) of other projects using the workflow; None when Jira would not say."""

    def steps(self, project: str) -> str:
        """What the admin does instead, in the order Jira's settings take it."""
        t = self.found
        if self.jira_default:
            why = "is Jira's own screen, shared by every project whose workflow shows it"
        else:
            why = "is shown by a workflow other projects use too"
        if self.other_projects:
            why += f" ({', '.join(self.other_projects)})"
        elif self.other_projects is None:
            why += " (aims could not read which projects use the workflow)"
        copy = f"{project}: {t.screen_name}"
        workflow_shared = self.other_projects != []
        steps = [f"Settings > Issues > Screens: copy '{t.screen_name}' as '{copy}'"]
        if workflow_shared:
            steps.append(
                f"Settings > Issues > Workflows: copy '{t.workflow}' as '{project}: {t.workflow}', "
                f"and make project {project} use the copy (Project settings > Workflows, "
                "for all its issue types)"
            )
        flow = f"{project}: {t.workflow}" if workflow_shared else t.workflow
        steps.append(
            f"edit workflow '{flow}': set the screen of the '{t.transition}' transition to "
            f"'{copy}', and publish it"
        )
        steps.append("run `aims jira setup` again: it puts the form fields on the new screen")
        numbered = "; ".join(f"({n}) {step}" for n, step in enumerate(steps, start=1))
        return (
            f"the '{t.transition}' transition of workflow '{t.workflow}' shows the screen "
            f"'{t.screen_name}' ({t.screen_id}), which {why}: aims did not add its fields to it, "
            f"as every project using it would get them. To answer on that transition too: "
            f"{numbered}. Until then engineers fill in the answers on the issue before moving it."
        )


def shared_screen(
    conn: JiraConnection, found: TransitionScreen, project_id: str
) -> SharedScreen | None:
    """Why the screen of ``found`` is shared with other projects; None when it is this
    project's own (not one of Jira's, on a workflow no other project uses)."""
    jira_default = found.screen_id in JIRA_SCREENS or found.screen_name in JIRA_SCREENS.values()
    others = _other_projects(conn, found, project_id)
    if not jira_default and others == []:
        return None
    return SharedScreen(found, jira_default, others)


def _other_projects(
    conn: JiraConnection, found: TransitionScreen, project_id: str
) -> list[str] | None:
    """Keys of the other projects using the workflow (ids past the first few); None when Jira
    does not say (no entity id, or the account may not ask)."""
    if not found.workflow_id:
        return None
    ids: list[str] = []
    token: str | None = None
    try:
        for _ in range(_USAGE_PAGES):
            params = {"maxResults": 200, **({"nextPageToken": token} if token else {})}
            page = conn.call(
                "GET",
                f"workflow/{found.workflow_id}/projectUsages",
                params=params,
                what=f"read which projects use workflow '{found.workflow}'",
            )
            projects = (page or {}).get("projects") or {}
            ids += [str(p.get("id")) for p in projects.get("values") or [] if p.get("id")]
            token = projects.get("nextPageToken")
            if not token:
                break
    except PermanentError:
        return None
    others = [i for i in ids if i != project_id]
    named = []
    for project in others[:_NAMED]:
        try:
            named.append(str(conn.project(project, what="name a project")["key"]))
        except PermanentError:
            named.append(project)
    return named + others[_NAMED:]
