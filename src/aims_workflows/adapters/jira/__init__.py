"""Jira Cloud (REST API v3, through the ``jira`` package) behind the IssueTracker port.

* :class:`JiraIssueTracker` carries out ``task.*`` commands: idempotent issue creation (the
  idempotency key as an entity property and a label), assignee by accountId from e-mail, due
  date, labels, priority, form fields as custom fields, links to related runs' issues,
  reminders, escalations, refusals (the issue moves back with a plain-words comment), the
  evidence file of a completed step and the engineer's attachments (downloaded, hashed, in the
  ledger).
* :func:`to_event` turns a Jira change into an engine ``Event``; :class:`InboxProcessor`
  applies stored webhook deliveries; :class:`Reconciler` polls ``/search/jql`` for what a
  lost webhook did not report.
* :func:`setup_project` is ``aims jira setup`` (``demo.jira_loopback.JiraLoopback`` runs all
  of it against the loopback sandbox).

Errors of the client are translated at the boundary (:func:`translate`): 429/503 with their
``Retry-After`` and other 5xx are retryable, 4xx that cannot succeed are permanent.
"""

from ._adf import document, from_text, to_text
from ._client import JiraConnection, translate
from ._fields import (
    FieldMap,
    JiraFieldSpec,
    answers_from_issue,
    jira_field_for,
    jira_value,
    wanted_fields,
)
from ._inbound import Change, InboxProcessor, parse_change, to_event
from ._integration import JiraIntegration
from ._reconcile import Reconciler
from ._reported import NONCONFORMITIES, PROPOSALS, missing_type_problem
from ._screens import createmeta_fields
from ._setup import SetupReport, setup_project, workflow_forms
from ._shape import change_version, payload_problem
from ._time import jira_time
from ._tracker import OWNED_LABEL, PROPERTY, JiraIssueTracker, idem_label

__all__ = [
    "jira_time",
    "missing_type_problem",
    "NONCONFORMITIES",
    "PROPOSALS",
    "Change",
    "FieldMap",
    "InboxProcessor",
    "JiraConnection",
    "JiraFieldSpec",
    "JiraIntegration",
    "JiraIssueTracker",
    "OWNED_LABEL",
    "PROPERTY",
    "Reconciler",
    "SetupReport",
    "createmeta_fields",
    "answers_from_issue",
    "document",
    "from_text",
    "idem_label",
    "jira_field_for",
    "jira_value",
    "parse_change",
    "payload_problem",
    "change_version",
    "setup_project",
    "to_event",
    "to_text",
    "translate",
    "wanted_fields",
    "workflow_forms",
]
