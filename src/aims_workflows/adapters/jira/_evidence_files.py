"""The evidence side of the Jira tracker: files attached to issues and files recorded from them.

``task.close`` attaches the ledger rows of a completion to the issue as one JSON file (once, by
file name). ``task.record_attachments`` downloads what an engineer attached, hashes it and
records each file in the ledger, skipping the tracker's own evidence files and files already
recorded.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ...engine.commands import AttachEvidence, RecordAttachments
from ...engine.evidence import EvidenceRecord
from ...engine.evidence_kinds import AttachmentRecorded, evidence_payload
from ...errors import PermanentError
from ...ports import Clock, JiraIssueStore
from ._people import JiraPeople
from ._time import jira_time

__all__ = ["EvidenceFiles", "evidence_file"]


class EvidenceFiles(JiraPeople):
    """Attaching and recording evidence files; mixed into
    :class:`~aims_workflows.adapters.jira.JiraIssueTracker`, which supplies the connection, the
    store and the clock."""

    store: JiraIssueStore | None
    clock: Clock

    def _sealed_records(self, seqs: tuple[int, int] | None) -> list[dict[str, Any]]:
        """The ledger rows a completion appended, as stored (hashes included)."""
        if not seqs or self.store is None:
            return []
        return self.store.evidence_rows(seqs[0], seqs[1])

    def _attachments(self, key: str) -> list[dict[str, Any]]:
        issue = self.jira.issue(key, fields="attachment", what=f"list the attachments of {key}")
        return list(issue["fields"].get("attachment") or [])

    def _attach_evidence(self, command: AttachEvidence) -> dict[str, Any]:
        """Kept for commands queued before ``task.close`` carried the evidence itself."""
        attached = self._attach_once(command.ref, command.filename, command.content)
        return {"ref": command.ref, **attached}

    def _attach_once(self, key: str, filename: str, content: str) -> dict[str, Any]:
        if any(a.get("filename") == filename for a in self._attachments(key)):
            return {"attached": filename, "existing": True}
        self.jira.attach(key, filename, content.encode(), what=f"attach the evidence to {key}")
        return {"attached": filename}

    def _record_attachments(self, command: RecordAttachments) -> dict[str, Any]:
        if self.store is None:
            raise PermanentError(
                "recording attachments needs the database",
                hint="give the tracker the Jira integration's store",
            )
        store = self.store
        key = command.ref
        me = self.service_account()
        recorded: list[str] = []
        for attachment in self._attachments(key):
            author = (attachment.get("author") or {}).get("accountId")
            if author == me:
                continue  # our own evidence files
            if store.attachment_recorded(str(attachment["id"])):
                continue
            content = self.jira.download(
                attachment["content"],
                what=f"download attachment {attachment.get('filename')} of {key}",
            )
            digest = hashlib.sha256(content).hexdigest()
            person = (
                (attachment.get("author") or {}).get("emailAddress")
                or self.email_of(author)
                or author
                or "unknown"
            )
            attached = AttachmentRecorded(
                issue=key,
                attachment_id=str(attachment["id"]),
                filename=attachment.get("filename"),
                mime_type=attachment.get("mimeType"),
                size=len(content),
                sha256=digest,
            )
            evidence = EvidenceRecord(
                attached.KIND,
                command.run_id,
                command.step_id,
                person,
                "jira",
                jira_time(attachment.get("created")) or self.clock.now(),
                evidence_payload(attached),
                key,
            )
            if store.record_attachment(
                attachment_id=str(attachment["id"]),
                issue_key=key,
                filename=str(attachment.get("filename")),
                size=len(content),
                sha256=digest,
                evidence=evidence,
            ):
                recorded.append(str(attachment["id"]))
        return {"ref": key, "recorded": recorded}


def evidence_file(
    records: list[dict[str, Any]], *, run_id: str, step_id: str, attempt: Any, issue: str
) -> tuple[str, str]:
    """(file name, JSON text) of the evidence attached to an issue when its step completes."""
    body = {
        "run_id": run_id,
        "step_id": step_id,
        "attempt": attempt,
        "issue": issue,
        "records": records,
        "note": "ledger rows as recorded; verify them with `aims evidence verify`",
    }
    return f"aims-evidence-{step_id}-{attempt}.json", json.dumps(
        body, indent=2, sort_keys=True, default=str
    )
