"""The outbox dispatcher: carries commands out through the ports, exactly once per key.

Internal commands (start a run, report a finished run to its parent, fire triggers) are applied
in the same transaction that marks them done. External ones (Jira, Slack, notifications) are
performed outside any transaction, then their result is recorded; a failure is retried with
back-off, and after ``max_attempts`` the command is parked as dead with its reason.

Any number of dispatchers (workers) may share a database. Each takes a few commands at a time
under its own name (:attr:`Dispatcher.owner`), renews its claims while it works on them
(:class:`~aims_workflows.runtime.heartbeat.Heartbeat`) and checks, before each call out and
when it records the outcome, that the command is still its own. A dispatcher that lost a claim
(it stalled past the lease and another took the command) records nothing: the holder does.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..engine import Actor, TaskCreated
from ..engine import evidence_kinds as ev
from ..engine.commands import (
    ApprovalCommand,
    CancelChildRun,
    Command,
    CreateTask,
    EscalateApproval,
    EscalateTask,
    Notify,
    PostCheckpoint,
    RemindApproval,
    RemindTask,
    ReportRunEnd,
    RequestApproval,
    SpawnRun,
    TaskCommand,
)
from ..errors import AimsError, DatabaseUnavailable, NotFound, PermanentError, RetryableError
from ..ports import ApprovalChannel, IssueTracker, Notifier
from ..store import outbox
from ..store import runs as run_store
from ..store.models import Approval, Finding, Run
from .approval_context import changed_since_last_request
from .backoff import Backoff
from .completion_effects import apply_effect
from .core import Runtime
from .heartbeat import Heartbeat
from .internal_plans import Plan, finding_row, plan_internal, store_planned_start, store_run_event

__all__ = ["Dispatcher", "DispatchReport", "INTERNAL_KINDS"]

log = logging.getLogger("aims.dispatcher")

INTERNAL_KINDS = ("run.start", "run.cancel", "run.completed")
ENGINE = Actor("aims", "engine")
CLAIM_SIZE = 10
"""Commands a dispatcher takes at a time: few, so a slow vendor holds few of them up."""


class LostClaim(Exception):
    """The command being recorded is no longer this dispatcher's (rolls the record back)."""


def _owner_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class DispatchReport:
    done: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0
    """Commands whose claim ran out and another dispatcher took over (it records them)."""
    errors: list[str] = field(default_factory=list)

    def __iadd__(self, other: DispatchReport) -> DispatchReport:
        self.done += other.done
        self.retried += other.retried
        self.dead += other.dead
        self.lost += other.lost
        self.errors += other.errors
        return self


class _NoWitness:
    """The witness port when none is wired: a checkpoint queued for a witness this process
    cannot reach waits (retried) rather than being dropped."""

    def perform(self, command: Command) -> dict[str, Any]:
        raise RetryableError(
            f"no witness poster is configured in this process for {command.kind}",
            hint="run `aims worker` with the Slack and Jira settings of aims.yaml's witness:",
        )


class Dispatcher:
    def __init__(
        self,
        runtime: Runtime,
        *,
        tracker: IssueTracker,
        approvals: ApprovalChannel,
        notifier: Notifier,
        backoff: Backoff | None = None,
        claim_size: int = CLAIM_SIZE,
        lease: timedelta = outbox.LEASE,
        renew_every: float | None = None,
        owner: str | None = None,
        witness: Notifier | None = None,
    ) -> None:
        """``claim_size`` commands are taken at a time for ``lease`` (in the runtime's clock),
        renewed every ``renew_every`` seconds of wall time (a quarter of the lease by default)
        while they are worked on."""
        self.rt = runtime
        self.claim_size = claim_size
        self.lease = lease
        self.renew_every = renew_every if renew_every is not None else lease.total_seconds() / 4
        self.owner = owner or _owner_name()
        self.ports: dict[str, IssueTracker | ApprovalChannel | Notifier] = {
            "task": tracker,
            "approval": approvals,
            "notify": notifier,
            "witness": witness or _NoWitness(),
        }
        self.backoff = backoff or Backoff()

    # -- internal commands ---------------------------------------------------------------
    def _run_start(
        self, conn: Connection, command: SpawnRun, now: datetime, plan: Plan
    ) -> dict[str, Any]:
        runs = Run.__table__
        child_id = command.child_run_id
        if conn.execute(select(runs.c.id).where(runs.c.id == child_id)).first():
            return {"run_id": child_id, "existing": True}  # started by an earlier attempt
        if plan.start is None:
            raise ValueError("a run.start is carried out with its planned start")
        finding = command.finding
        if finding is not None:
            conn.execute(insert(Finding.__table__).values(finding_row(command, now)))
            self.rt.record(
                conn,
                ev.FindingRaised(
                    id=finding.id,
                    title=finding.title,
                    severity=finding.severity,
                    clause=finding.clause,
                    description=finding.description,
                    source=finding.source,
                    system=finding.system,
                    source_type=finding.source_type,  # type: ignore[arg-type]
                ),
                now,
                actor=ENGINE,
                run_id=command.run_id,
                ref=finding.id,
            )
        store_planned_start(self.rt, conn, plan.start, command, now)
        run_store.set_spawned_by(conn, child_id, command.run_id)
        return {"run_id": child_id}

    def _run_completed(
        self, conn: Connection, command: ReportRunEnd, now: datetime, plan: Plan
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if command.parent_run_id and plan.run_event is not None:
            result["parent"] = store_run_event(self.rt, conn, plan.run_event, now)
        effect = self.rt.completion_effects.get(command.workflow)
        if command.status == "completed" and effect is not None:
            # e.g. an approved change of an AI system's place in the scope is made only now
            result.update(apply_effect(effect, conn, command.run_id, plan.effect, now))
        if command.status == "completed":
            result["started"] = self.rt._fire_triggers(
                conn,
                "run.completed",
                command.subject,
                now,
                workflow=command.workflow,
                actor=ENGINE,
                planned=plan.triggers,
            )
        return result

    def _run_cancel(
        self, conn: Connection, command: CancelChildRun, now: datetime, plan: Plan
    ) -> dict[str, Any]:
        if plan.run_event is None:
            raise ValueError("a run.cancel is carried out with its planned cancellation")
        store_run_event(self.rt, conn, plan.run_event, now)
        ignored = (
            None if isinstance(plan.run_event, NotFound) else plan.run_event.transition.ignored
        )
        return {"run_id": command.child_run_id, "ignored": ignored}

    def _carry_out_internal(
        self, conn: Connection, command: Command, now: datetime, plan: Plan
    ) -> dict[str, Any]:
        """Store what the engine made of ``command`` (``plan``, made before this transaction:
        internal_plans) and the rest of what it changes."""
        if isinstance(command, SpawnRun):
            return self._run_start(conn, command, now, plan)
        if isinstance(command, CancelChildRun):
            return self._run_cancel(conn, command, now, plan)
        if isinstance(command, ReportRunEnd):
            return self._run_completed(conn, command, now, plan)
        raise PermanentError(f"'{command.kind}' is not carried out by the dispatcher itself")

    def _claim(self, limit: int, *, internal: bool) -> list[outbox.Claimed]:
        kinds = {"kinds": INTERNAL_KINDS} if internal else {"exclude": INTERNAL_KINDS}
        with self.rt.db.begin() as conn:
            return outbox.claim_due(
                conn,
                self.rt.clock.now(),
                owner=self.owner,
                limit=min(limit, self.claim_size),
                lease=self.lease,
                **kinds,
            )

    def _renew_all(self) -> None:
        with self.rt.db.begin() as conn:
            outbox.renew(conn, self.owner, self.rt.clock.now(), lease=self.lease)

    def _still_mine(self, item: outbox.Claimed) -> bool:
        """Renew ``item``'s claim just before acting on it; False when it was lost."""
        with self.rt.db.begin() as conn:
            return (
                outbox.renew(conn, self.owner, self.rt.clock.now(), lease=self.lease, item=item)
                == 1
            )

    def _batches(
        self, limit: int, *, internal: bool
    ) -> Generator[list[outbox.Claimed], None, None]:
        """Claims of at most ``claim_size`` commands until ``limit`` were taken or none is due."""
        taken = 0
        while taken < limit:
            claimed = self._claim(limit - taken, internal=internal)
            if not claimed:
                return
            taken += len(claimed)
            with Heartbeat(self._renew_all, self.renew_every):
                yield claimed

    def _internal(self, limit: int) -> DispatchReport:
        report = DispatchReport()
        # closed on the way out, also by an exception: its heartbeat must not outlive the work
        with closing(self._batches(limit, internal=True)) as batches:
            for claimed in batches:
                for item in claimed:
                    self._one_internal(item, report)
        return report

    def _one_internal(self, item: outbox.Claimed, report: DispatchReport) -> None:
        now = self.rt.clock.now()
        # each in its own transaction with its completion mark: one that cannot be carried out
        # (a spawned run's input of the wrong type) must not hold up the others

        def attempt() -> None:
            # the engine's work (templates, conditions, the runs a completion triggers) is
            # planned on a snapshot before the write transaction, as receive() does for events;
            # what changed meanwhile is planned again (Runtime._retrying)
            plan = plan_internal(self.rt, item.command, now, ENGINE)
            with self.rt.db.begin() as conn:
                result = self._carry_out_internal(conn, item.command, now, plan)
                if not outbox.complete(conn, item, now, result):
                    raise LostClaim(item.command.key)

        try:
            self.rt._retrying(attempt)
        except LostClaim:
            self._lost(item, report)
            return
        except run_store.ConcurrentUpdate as err:
            self._failed(item, err, now, report)
            return
        except DatabaseUnavailable:
            raise  # not the command's fault: the worker waits and the claim runs out
        except AimsError as err:
            self._bury(item, str(err), now, report)
            return
        except Exception as err:  # noqa: BLE001 - a bug here must not stop the worker
            log.exception("internal command %s failed unexpectedly", item.command.key)
            self._failed(item, err, now, report)
            return
        report.done += 1

    def _lost(self, item: outbox.Claimed, report: DispatchReport) -> None:
        log.info(
            "command %s is another dispatcher's now; its outcome is theirs to record",
            item.command.key,
        )
        report.lost += 1

    # -- external commands ---------------------------------------------------------------
    def _prepare(self, command: Command) -> Command:
        """Resolve roles to people (aims.yaml) so adapters deal in people, not roles."""
        # the subject's owner holds system_owner for it
        if isinstance(command, CreateTask):
            if command.assignee:  # the step names its person (see TaskStep.assignee)
                return command
            people = self.rt.people_in(command.role, command.subject.owner)
            if not people:
                raise PermanentError(
                    f"role '{command.role}' has nobody in aims.yaml",
                    hint=f"add a person under roles.{command.role}",
                )
            return command.model_copy(update={"assignee": people[0]})
        if isinstance(command, RequestApproval):
            people = self.rt.eligible_approvers(
                command.approvers,
                command.subject.owner,
                exclude=command.exclude,
                forbidden_roles=command.forbidden_roles,
            )
            if not people:
                raise PermanentError(
                    f"no eligible approver for roles {', '.join(command.approvers)} "
                    "(after segregation of duties)",
                    hint="add people to those roles in aims.yaml",
                )
            with self.rt.db.connect() as conn:
                changed = changed_since_last_request(conn, command)
            return command.model_copy(update={"people": tuple(people), "changed": changed})
        if isinstance(command, RemindTask) and command.assignee:
            # a reminder is for the person the task is assigned to
            return command.model_copy(update={"people": (command.assignee,)})
        if isinstance(command, Notify) and command.people and not command.to:
            return command  # addressed to people by name (the requesters of an approval)
        if isinstance(
            command, (RemindTask, EscalateTask, RemindApproval, EscalateApproval, Notify)
        ):
            owner = command.subject.owner if command.subject is not None else None
            people = sorted(
                {person for role in command.to for person in self.rt.people_in(role, owner)}
            )
            return command.model_copy(update={"people": tuple(people)})
        return command

    def _after(
        self, conn: Connection, command: Command, result: dict[str, Any], now: datetime
    ) -> None:
        if isinstance(command, CreateTask) and result.get("ref"):
            assignee = result.get("assignee")
            event = TaskCreated(
                actor=Actor("aims", "dispatcher"),
                step_id=command.step_id,
                attempt=command.attempt,
                # what the tracker answered: a person's id, or nothing usable
                assignee=assignee if isinstance(assignee, str) else None,
                ref=str(result["ref"]),
            )
            self.rt._apply(conn, command.run_id, event, now)
        elif isinstance(command, PostCheckpoint) and result.get("token"):
            from .timestamps import record_timestamp

            record_timestamp(conn, command, result, now)
        elif isinstance(command, RequestApproval) and result.get("ref"):
            table = Approval.__table__
            conn.execute(
                update(table)
                .where(table.c.approval_id == command.approval_id)
                .values(external_ref=str(result["ref"])[:300])
            )

    def _external(self, limit: int) -> DispatchReport:
        report = DispatchReport()
        with closing(self._batches(limit, internal=False)) as batches:
            for claimed in batches:
                for item in claimed:
                    self._one_external(item, report)
        return report

    def _one_external(self, item: outbox.Claimed, report: DispatchReport) -> None:
        command = item.command
        if not self._still_mine(item):
            # taken over while earlier commands of the batch were slow: never call out twice
            self._lost(item, report)
            return
        port = self._port_for(command)
        now = self.rt.clock.now()
        try:
            result = port.perform(self._prepare(command)) or {}
        except RetryableError as err:
            self._failed(item, err, now, report, retry_after=err.retry_after)
            return
        except PermanentError as err:
            self._bury(item, str(err), now, report)
            return
        except AimsError as err:
            self._failed(item, err, now, report)
            return
        except Exception as err:  # noqa: BLE001 - an adapter bug must not stop the other commands
            log.exception("command %s failed unexpectedly", command.key)
            self._failed(item, err, now, report)
            return
        now = self.rt.clock.now()
        try:
            with self.rt.db.begin() as conn:
                if not outbox.complete(conn, item, now, result):
                    raise LostClaim(command.key)
                self._after(conn, command, result, now)
        except LostClaim:
            # the holder carries it out again; the port finds what this call did (Jira by the
            # issue's key label, Slack by the recorded copies), so it is not done twice
            self._lost(item, report)
            return
        report.done += 1

    def _port_for(self, command: Command) -> IssueTracker | ApprovalChannel | Notifier:
        if isinstance(command, TaskCommand):
            return self.ports["task"]
        if isinstance(command, ApprovalCommand):
            return self.ports["approval"]
        if isinstance(command, PostCheckpoint):
            return self.ports["witness"]
        return self.ports["notify"]

    def _failed(
        self,
        item: outbox.Claimed,
        err: Exception,
        now: datetime,
        report: DispatchReport,
        retry_after: float | None = None,
    ) -> None:
        reason = f"{err.__class__.__name__}: {err}"
        if item.attempts >= self.backoff.max_attempts:
            self._bury(
                item, f"gave up after {item.attempts} attempts; last error {reason}", now, report
            )
            return
        with self.rt.db.begin() as conn:
            kept = outbox.retry_later(
                conn, item, now + self.backoff.delay(item.attempts, retry_after), reason
            )
        if not kept:
            self._lost(item, report)
            return
        report.retried += 1
        report.errors.append(reason)

    def _bury(
        self, item: outbox.Claimed, reason: str, now: datetime, report: DispatchReport
    ) -> None:
        try:
            with self.rt.db.begin() as conn:
                if not outbox.bury(conn, item, now, reason):
                    raise LostClaim(item.command.key)
                self._record_dead(conn, item, reason, now)
        except LostClaim:
            self._lost(item, report)
            return
        log.warning("command %s parked as dead: %s", item.command.key, reason)
        report.dead += 1
        report.errors.append(reason)

    def _record_dead(
        self, conn: Connection, item: outbox.Claimed, reason: str, now: datetime
    ) -> None:
        self.rt.record(
            conn,
            ev.CommandDead(
                key=item.command.key,
                kind=item.command.kind,
                reason=reason,
                attempts=item.attempts,
            ),
            now,
            actor=Actor("aims", "dispatcher"),
            run_id=item.command.run_id,
        )

    def revive(self, run_id: str, *, actor: Actor) -> list[tuple[str, str]]:
        """Queue a run's dead commands again (``aims runs retry``); the ledger records who did
        it."""
        now = self.rt.clock.now()
        with self.rt.db.begin() as conn:
            run_store.load(conn, run_id)  # NotFound for an unknown run
            revived = outbox.revive(conn, run_id, now)
            if revived:
                self.rt.record(
                    conn,
                    ev.CommandRevived(
                        commands=[ev.CommandRef(kind=kind, key=key) for kind, key in revived]
                    ),
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
