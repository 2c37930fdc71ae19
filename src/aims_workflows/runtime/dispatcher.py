"""The outbox dispatcher: carries commands out through the ports, exactly once per key.

Internal commands (start a run, report a finished run to its parent, fire triggers) are applied
in the same transaction that marks them done. External ones (Jira, Slack, notifications) are
performed outside any transaction, then their result is recorded; a failure is retried with
back-off, and after ``max_attempts`` the command is parked as dead with its reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update

from ..engine import Actor, Event
from ..engine.commands import Command
from ..engine.state import Subject
from ..errors import AimsError, PermanentError, RetryableError
from ..ports import ApprovalChannel, IssueTracker, Notifier
from ..store import outbox
from ..store import runs as run_store
from ..store.models import Approval, Finding, Run
from .backoff import Backoff
from .core import Runtime

__all__ = ["Dispatcher", "DispatchReport", "INTERNAL_KINDS"]

log = logging.getLogger("aims.dispatcher")

INTERNAL_KINDS = ("run.start", "run.cancel", "run.completed")


@dataclass
class DispatchReport:
    done: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def __iadd__(self, other: DispatchReport) -> DispatchReport:
        self.done += other.done
        self.retried += other.retried
        self.dead += other.dead
        self.errors += other.errors
        return self


class Dispatcher:
    def __init__(
        self,
        runtime: Runtime,
        *,
        tracker: IssueTracker,
        approvals: ApprovalChannel,
        notifier: Notifier,
        backoff: Backoff | None = None,
    ) -> None:
        self.rt = runtime
        self.ports = {"task": tracker, "approval": approvals, "notify": notifier}
        self.backoff = backoff or Backoff()

    # -- internal commands ---------------------------------------------------------------
    def _run_start(self, conn, command: Command, now) -> dict[str, Any]:
        p = command.payload
        runs = Run.__table__
        if conn.execute(select(runs.c.id).where(runs.c.id == p["run_id"])).first():
            return {"run_id": p["run_id"], "existing": True}  # started by an earlier attempt
        loaded = self.rt.specs.current(p["workflow"])
        if p.get("finding"):
            f = p["finding"]
            conn.execute(
                insert(Finding.__table__).values(
                    id=f["id"],
                    title=f["title"],
                    severity=f["severity"],
                    source=f["source"],
                    clause=f.get("clause"),
                    description=f.get("description"),
                    system_name=f.get("system"),
                    status="open",
                    raised_at=now,
                    corrective_run_id=p["run_id"],
                )
            )
            self.rt.record(
                conn,
                "finding.raised",
                f,
                now,
                actor=Actor("aims", "engine"),
                run_id=command.run_id,
                ref=f["id"],
            )
            from .subjects import finding_subject

            subject = finding_subject(conn, f["id"])
        else:
            subject = Subject.model_validate(p["subject"])
        self.rt._start(
            conn,
            loaded,
            subject,
            now,
            inputs=p.get("inputs"),
            actor=Actor("aims", "engine"),
            trigger=f"spawned by {command.run_id}",
            run_id=p["run_id"],
            parent_run_id=p.get("parent_run_id"),
        )
        run_store.set_spawned_by(conn, p["run_id"], command.run_id)
        return {"run_id": p["run_id"]}

    def _run_completed(self, conn, command: Command, now) -> dict[str, Any]:
        p = command.payload
        result: dict[str, Any] = {}
        if p.get("parent_run_id"):
            event = Event(
                "child.completed",
                data={"run_id": command.run_id, "status": p.get("status", "completed")},
            )
            self.rt._apply(conn, p["parent_run_id"], event, now)
            result["parent"] = p["parent_run_id"]
        if p.get("status", "completed") == "completed":
            subject = Subject.model_validate(p["subject"])
            result["started"] = self.rt._fire_triggers(
                conn,
                "run.completed",
                subject,
                now,
                workflow=p["workflow"],
                actor=Actor("aims", "engine"),
            )
        return result

    def _run_cancel(self, conn, command: Command, now) -> dict[str, Any]:
        transition = self.rt._apply(
            conn,
            command.payload["run_id"],
            Event(
                "run.cancel", Actor("aims", "engine"), data={"reason": command.payload["reason"]}
            ),
            now,
        )
        return {"run_id": command.payload["run_id"], "ignored": transition.ignored}

    def _internal(self, limit: int) -> DispatchReport:
        report = DispatchReport()
        handlers = {
            "run.start": self._run_start,
            "run.cancel": self._run_cancel,
            "run.completed": self._run_completed,
        }
        now = self.rt.clock.now()
        with self.rt.db.begin() as conn:
            claimed = outbox.claim_due(conn, now, kinds=INTERNAL_KINDS, limit=limit)
        for item in claimed:
            # each in its own transaction with its completion mark: one that cannot be carried
            # out (a spawned run's input of the wrong type) must not hold up the others
            try:
                with self.rt.db.begin() as conn:
                    result = handlers[item.command.kind](conn, item.command, now)
                    outbox.complete(conn, item.id, now, result)
            except run_store.ConcurrentUpdate as err:
                self._failed(item, err, now, report)
                continue
            except AimsError as err:
                self._bury(item, str(err), now, report)
                continue
            except Exception as err:  # noqa: BLE001 - a bug here must not stop the worker
                log.exception("internal command %s failed unexpectedly", item.command.key)
                self._failed(item, err, now, report)
                continue
            report.done += 1
        return report

    # -- external commands ---------------------------------------------------------------
    def _prepare(self, command: Command) -> Command:
        """Resolve roles to people (aims.yaml) so adapters deal in people, not roles."""
        p = dict(command.payload)
        subject_owner = (p.get("subject") or {}).get("owner")
        if command.kind == "task.create":
            role = p["role"]
            people = self.rt.people_in(role, subject_owner)
            if not people:
                raise PermanentError(
                    f"role '{role}' has nobody in aims.yaml",
                    hint=f"add a person under roles.{role}",
                )
            p["assignee"] = people[0]
        elif command.kind == "approval.request":
            people = self.rt.eligible_approvers(
                p["approvers"],
                subject_owner,
                exclude=p.get("exclude", ()),
                forbidden_roles=p.get("forbidden_roles", ()),
            )
            if not people:
                raise PermanentError(
                    f"no eligible approver for roles {', '.join(p['approvers'])} (after segregation of duties)",
                    hint="add people to those roles in aims.yaml",
                )
            p["people"] = people
        elif command.kind == "task.remind" and p.get("assignee"):
            p["people"] = [p["assignee"]]  # a reminder is for the person the task is assigned to
        elif "to" in p:
            p["people"] = sorted(
                {person for role in p["to"] for person in self.rt.people_in(role, subject_owner)}
            )
        return Command(command.kind, command.key, command.run_id, p)

    def _after(self, conn, command: Command, result: dict[str, Any], now) -> None:
        if command.kind == "task.create" and result.get("ref"):
            event = Event(
                "task.created",
                Actor("aims", "dispatcher"),
                step_id=command.payload["step_id"],
                attempt=command.payload["attempt"],
                data={"assignee": result.get("assignee")},
                ref=result["ref"],
            )
            self.rt._apply(conn, command.run_id, event, now)
        elif command.kind == "approval.request" and result.get("ref"):
            table = Approval.__table__
            conn.execute(
                update(table)
                .where(table.c.approval_id == command.payload["approval_id"])
                .values(external_ref=str(result["ref"])[:300])
            )

    def _external(self, limit: int) -> DispatchReport:
        report = DispatchReport()
        now = self.rt.clock.now()
        with self.rt.db.begin() as conn:
            claimed = outbox.claim_due(conn, now, exclude=INTERNAL_KINDS, limit=limit)
        for item in claimed:
            command = item.command
            port = self.ports[command.kind.split(".")[0]]
            try:
                result = port.perform(self._prepare(command)) or {}
            except RetryableError as err:
                self._failed(item, err, now, report, retry_after=err.retry_after)
                continue
            except PermanentError as err:
                self._bury(item, str(err), now, report)
                continue
            except AimsError as err:
                self._failed(item, err, now, report)
                continue
            except Exception as err:  # noqa: BLE001 - an adapter bug must not stop the other commands
                log.exception("command %s failed unexpectedly", command.key)
                self._failed(item, err, now, report)
                continue
            with self.rt.db.begin() as conn:
                outbox.complete(conn, item.id, now, result)
                self._after(conn, command, result, now)
            report.done += 1
        return report

    def _failed(
        self, item, err: Exception, now, report: DispatchReport, retry_after: float | None = None
    ) -> None:
        reason = f"{err.__class__.__name__}: {err}"
        if item.attempts >= self.backoff.max_attempts:
            self._bury(
                item, f"gave up after {item.attempts} attempts; last error {reason}", now, report
            )
            return
        with self.rt.db.begin() as conn:
            outbox.retry_later(
                conn, item.id, now + self.backoff.delay(item.attempts, retry_after), reason
            )
        report.retried += 1
        report.errors.append(reason)

    def _bury(self, item, reason: str, now, report: DispatchReport) -> None:
        with self.rt.db.begin() as conn:
            outbox.bury(conn, item.id, now, reason)
            self.rt.record(
                conn,
                "command.dead",
                {
                    "key": item.command.key,
                    "kind": item.command.kind,
                    "reason": reason,
                    "attempts": item.attempts,
                },
                now,
                actor=Actor("aims", "dispatcher"),
                run_id=item.command.run_id,
            )
        log.warning("command %s parked as dead: %s", item.command.key, reason)
        report.dead += 1
        report.errors.append(reason)

    def revive(self, run_id: str, *, actor: Actor) -> list[tuple[str, str]]:
        """Queue a run's dead commands again (``aims runs retry``); the ledger records who did it."""
        now = self.rt.clock.now()
        with self.rt.db.begin() as conn:
            run_store.load(conn, run_id)  # NotFound for an unknown run
            revived = outbox.revive(conn, run_id, now)
            if revived:
                self.rt.record(
                    conn,
                    "command.revived",
                    {"commands": [{"kind": k, "key": key} for k, key in revived]},
                    now,
                    actor=actor,
                    run_id=run_id,
                )
        return revived

    def pump(self, *, limit: int = 200, rounds: int = 50) -> DispatchReport:
        """Carry out everything due now, until nothing new becomes due (bounded by ``rounds``)."""
        total = DispatchReport()
        for _ in range(rounds):
            step = self._internal(limit)
            step += self._external(limit)
            total += step
            if step.done == 0:
                break
        return total
