"""The runtime: one unit of work per event, and the services built on it.

A unit of work loads a run, advances it with the pure engine, saves it, appends the evidence and
enqueues the commands, all in one transaction: either everything of an event is recorded or
nothing is. Effects happen later, in the dispatcher, from the outbox.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from ..config import AimsConfig
from ..engine import (
    Actor,
    ApprovalDecided,
    CancelRun,
    CloseTask,
    Command,
    Event,
    ReplyTo,
    StartRun,
    TaskCompleted,
    TaskUpdated,
    TimerTick,
    Transition,
    advance,
    new_run,
)
from ..engine.evidence import ChainedEvidence, EvidenceRecord
from ..engine.state import RunState, Subject
from ..errors import EngineError, NotFound
from ..ports import Clock
from ..spec.durations import format_duration
from ..spec.expressions import ExpressionError, evaluate
from ..spec.loader import LoadedSpec, WorkflowSet
from ..spec.model import WorkflowSpec
from ..store import Database, inbox, ledger, outbox, projections
from ..store import runs as run_store
from ..store._fast import Prepared
from ..store.models import Approval, Run
from .specs import SpecRegistry
from .subjects import ORGANISATION_ID, ai_system_subject, organisation_subject

__all__ = ["Runtime", "Outcome", "CLI"]

CLI = Actor("cli", "cli")
_RETRIES_ON_CONFLICT = 5


@dataclass(frozen=True)
class Outcome:
    """What handling one event did. ``duplicate``: the delivery was seen before."""

    run_id: str | None
    transition: Transition | None = None
    duplicate: bool = False

    @property
    def ignored(self) -> str | None:
        return self.transition.ignored if self.transition else None


def _settle(
    conn: Connection, delivery: tuple[str, str] | None, transition: Transition, now: datetime
) -> None:
    """Mark an inbox delivery with what applying it did (processed, or ignored and why)."""
    if delivery:
        inbox.mark(
            conn,
            delivery[0],
            delivery[1],
            "ignored" if transition.ignored else "processed",
            now,
            transition.ignored,
        )


def _with_sealed_evidence(commands: list[Command], rows: list[ChainedEvidence]) -> list[Command]:
    """A ``task.close`` names the ledger rows its unit of work appended (numbered only now, after
    the engine), so the tracker can attach exactly what the ledger holds, read when it attaches."""
    if not rows or not any(isinstance(c, CloseTask) for c in commands):
        return commands
    seqs = (rows[0].seq, rows[-1].seq)
    return [
        c.model_copy(update={"evidence_seqs": seqs}) if isinstance(c, CloseTask) else c
        for c in commands
    ]


class Runtime:
    """Everything that changes state goes through here."""

    def __init__(
        self,
        db: Database,
        workflows: WorkflowSet,
        config: AimsConfig,
        clock: Clock,
        *,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        from ..spec.checks import DEFAULT_ROLES

        self.db = db
        self.config = config
        self.clock = clock
        self.specs = SpecRegistry(workflows, set(DEFAULT_ROLES) | config.role_names())
        self._new_id = new_id or (lambda: "R" + uuid.uuid4().hex[:10].upper())

    # -- the unit of work -------------------------------------------------------------------
    def _commit_transition(
        self,
        conn: Connection,
        spec: WorkflowSpec,
        t: Transition,
        lock_version: int | None,
        now: datetime,
    ) -> None:
        if lock_version is None:
            run_store.insert_run(conn, t.run, now)
        else:
            run_store.save(conn, t.run, lock_version, now)
        rows = ledger.append(conn, t.evidence, recorded_at=now)
        outbox.enqueue(conn, _with_sealed_evidence(t.commands, rows), now)
        coverage = (spec.coverage.kpi, spec.coverage.valid_for) if spec.coverage else None
        projections.apply(conn, t.run, t.evidence, now, coverage)

    def _apply(self, conn: Connection, run_id: str, event: Event, now: datetime) -> Transition:
        run, lock_version = run_store.load(conn, run_id, lock=True)
        return self._apply_loaded(
            conn, self.specs.by_hash(conn, run.spec_hash), run, lock_version, event, now
        )

    def _apply_loaded(
        self,
        conn: Connection,
        spec: WorkflowSpec,
        run: RunState,
        lock_version: int,
        event: Event,
        now: datetime,
    ) -> Transition:
        # the run was just loaded for this event and is dropped after it: no need to copy it
        transition = advance(spec, run, event, now, copy=False)
        if transition.ignored is None:
            self._commit_transition(conn, spec, transition, lock_version, now)
        return transition

    def _retrying(self, work: Callable[[], Any]) -> Any:
        for attempt in range(_RETRIES_ON_CONFLICT):
            try:
                return work()
            except run_store.ConcurrentUpdate:
                if attempt == _RETRIES_ON_CONFLICT - 1:
                    raise

    def handle(
        self,
        run_id: str,
        event: Event,
        *,
        delivery: tuple[str, str] | None = None,
        payload: str = "",
    ) -> Outcome:
        """Apply one event to one run in one transaction. ``delivery`` = (source, id)
        de-duplicates."""

        def work() -> Outcome:
            now = self.clock.now()
            with self.db.begin() as conn:
                if delivery and not inbox.claim(conn, delivery[0], delivery[1], payload, now):
                    return Outcome(run_id, duplicate=True)
                transition = self._apply(conn, run_id, event, now)
                _settle(conn, delivery, transition, now)
                return Outcome(run_id, transition)

        return self._retrying(work)

    # -- starting runs ----------------------------------------------------------------------
    def _start(
        self,
        conn: Connection,
        loaded: LoadedSpec,
        subject: Subject,
        now: datetime,
        *,
        inputs: dict | None = None,
        actor: Actor = CLI,
        trigger: str = "manual",
        run_id: str | None = None,
        parent_run_id: str | None = None,
    ) -> Transition:
        self.specs.register(conn, loaded, now)
        run = new_run(
            loaded.spec,
            run_id=run_id or self._new_id(),
            spec_hash=loaded.content_hash,
            subject=subject,
            inputs=inputs,
            parent_run_id=parent_run_id,
        )
        # a new run, dropped after this event: no need to copy it
        transition = advance(
            loaded.spec, run, StartRun(actor=actor, trigger=trigger), now, copy=False
        )
        self._commit_transition(conn, loaded.spec, transition, None, now)
        return transition

    def subject_for(
        self,
        conn: Connection,
        spec: WorkflowSpec,
        system: str | None = None,
        finding: str | None = None,
    ) -> Subject:
        from ..store import inventory as inventory_store
        from .subjects import finding_subject

        if spec.subject == "ai_system":
            if not system:
                raise EngineError(
                    f"workflow '{spec.id}' runs on an AI system", hint="pass --system NAME"
                )
            return ai_system_subject(inventory_store.get(conn, system))
        if spec.subject == "finding":
            if not finding:
                raise EngineError(
                    f"workflow '{spec.id}' runs on a finding",
                    hint="pass --finding ID (see `aims findings list`)",
                )
            return finding_subject(conn, finding)
        return organisation_subject(self.config.organisation)

    def start(
        self,
        workflow_id: str,
        *,
        system: str | None = None,
        finding: str | None = None,
        inputs: dict[str, Any] | None = None,
        actor: Actor = CLI,
    ) -> Transition:
        """Start a run by hand (``aims start``)."""
        loaded = self.specs.current(workflow_id)
        if not loaded.spec.trigger.manual:
            raise EngineError(
                f"workflow '{workflow_id}' is not started by hand",
                hint="it starts from its triggers",
            )
        now = self.clock.now()
        with self.db.begin() as conn:
            subject = self.subject_for(conn, loaded.spec, system, finding)
            return self._start(conn, loaded, subject, now, inputs=inputs, actor=actor)

    def _in_scope(self, spec: WorkflowSpec, subject: Subject) -> bool:
        if not spec.trigger.scope:
            return True
        context = {
            "subject": {
                **subject.attributes,
                "id": subject.id,
                "name": subject.name,
                "owner": subject.owner,
            },
            "inputs": {},
        }
        try:
            return bool(evaluate(spec.trigger.scope, context))
        except ExpressionError:
            return False

    def _open_run_exists(self, conn: Connection, workflow_id: str, subject: Subject) -> bool:
        table = Run.__table__
        return (
            conn.execute(
                select(table.c.id)
                .where(
                    table.c.workflow_id == workflow_id,
                    table.c.subject_type == subject.type,
                    table.c.subject_id == subject.id,
                    table.c.status.in_(("new", "running")),
                )
                .limit(1)
            ).first()
            is not None
        )

    def _fire_triggers(
        self,
        conn: Connection,
        event_name: str,
        subject: Subject,
        now: datetime,
        *,
        fields: Iterable[str] = (),
        workflow: str | None = None,
        actor: Actor = CLI,
    ) -> list[str]:
        """Start every workflow subscribed to this event whose scope admits the subject."""
        started: list[str] = []
        changed = set(fields)
        for loaded in self.specs.workflows:
            spec = loaded.spec
            for on in spec.trigger.on:
                if on.event != event_name or spec.subject != subject.type:
                    continue
                if on.event == "ai_system.changed" and on.fields and not changed & set(on.fields):
                    continue
                if on.event == "run.completed" and on.workflow != workflow:
                    continue
                if not self._in_scope(spec, subject) or self._open_run_exists(
                    conn, spec.id, subject
                ):
                    continue
                trigger = f"{event_name}" + (
                    f" ({', '.join(sorted(changed & set(on.fields or changed)))})"
                    if changed
                    else ""
                )
                started.append(
                    self._start(conn, loaded, subject, now, actor=actor, trigger=trigger).run.run_id
                )
                break
        return started

    # -- people's actions -------------------------------------------------------------------
    def complete_task(
        self,
        run_id: str,
        step_id: str,
        answers: dict[str, Any],
        *,
        person: str,
        via: str = "cli",
        attempt: int | None = None,
        ref: str | None = None,
        delivery: tuple[str, str] | None = None,
    ) -> Outcome:
        event = TaskCompleted(
            actor=Actor(person, via, self.config.roles_of(person)),
            step_id=step_id,
            attempt=attempt,
            answers=answers,
            ref=ref,
        )
        return self.handle(
            run_id, event, delivery=delivery, payload=json.dumps(answers, default=str)
        )

    def update_answers(
        self,
        run_id: str,
        step_id: str,
        answers: dict[str, Any],
        *,
        person: str,
        via: str = "cli",
        ref: str | None = None,
    ) -> Outcome:
        event = TaskUpdated(
            actor=Actor(person, via, self.config.roles_of(person)),
            step_id=step_id,
            answers=answers,
            ref=ref,
        )
        return self.handle(run_id, event)

    def approval(self, approval_id: str) -> dict[str, Any]:
        with self.db.connect() as conn:
            return _approval_row(conn, approval_id)

    def people_in(self, role: str, subject_owner: str | None) -> list[str]:
        """Who holds a role for a subject: ``system_owner`` is the AI system's owner, every other
        role the people aims.yaml names for it."""
        if role == "system_owner" and subject_owner:
            return [subject_owner]
        return self.config.people(role)

    def eligible_approvers(
        self,
        approvers: Iterable[str],
        subject_owner: str | None,
        *,
        exclude: Iterable[str] = (),
        forbidden_roles: Iterable[str] = (),
    ) -> list[str]:
        """People who may decide: holders of the approver roles, minus those segregation of duties
        rules out (named people, holders of a forbidden role)."""
        people = {person for role in approvers for person in self.people_in(role, subject_owner)}
        forbidden = set(forbidden_roles)
        return sorted(
            p
            for p in people
            if p not in set(exclude) and not forbidden & set(self.config.roles_of(p))
        )

    def decide(
        self,
        approval_id: str,
        *,
        person: str,
        decision: str,
        reason: str,
        content_hash: str | None = None,
        via: str = "cli",
        ref: str | None = None,
        delivery: tuple[str, str] | None = None,
        response: ReplyTo | None = None,
    ) -> Outcome:
        """An approver's decision. ``content_hash`` is what they saw; None means the current
        content.

        One transaction, as :meth:`handle`: the approval, and the run it belongs to (loaded once,
        under the same lock as any event), are read in the unit of work that applies the decision.
        """

        def work() -> Outcome:
            now = self.clock.now()
            with self.db.begin() as conn:
                row = _approval_row(conn, approval_id)
                run_id = row["run_id"]
                seen = content_hash or row["content_hash"]
                if delivery:
                    payload = json.dumps(
                        {
                            "approval_id": approval_id,
                            "decision": decision,
                            "reason": reason,
                            "content_hash": seen,
                            "response": response.model_dump() if response else None,
                        }
                    )
                    if not inbox.claim(conn, delivery[0], delivery[1], payload, now):
                        return Outcome(run_id, duplicate=True)
                run, lock_version = run_store.load(conn, run_id, lock=True)
                spec = self.specs.by_hash(conn, run.spec_hash)
                eligible = self.eligible_approvers(
                    row["approvers"],
                    run.subject.owner,
                    forbidden_roles=spec.step(row["step_id"]).separation.forbidden_roles,
                )
                event = ApprovalDecided(
                    actor=Actor(person, via, self.config.roles_of(person)),
                    approval_id=approval_id,
                    decision=decision,
                    reason=reason,
                    content_hash=seen,
                    eligible=tuple(eligible),
                    reply_to=response,
                    ref=ref,
                )
                transition = self._apply_loaded(conn, spec, run, lock_version, event, now)
                _settle(conn, delivery, transition, now)
                return Outcome(run_id, transition)

        return self._retrying(work)

    def cancel(self, run_id: str, reason: str, actor: Actor = CLI) -> Outcome:
        return self.handle(run_id, CancelRun(actor=actor, reason=reason))

    # -- time -------------------------------------------------------------------------------
    def tick(self, limit: int = 500) -> int:
        """Fire every due timer (reminders, due dates, escalations, waits). Returns runs ticked."""
        now = self.clock.now()
        with self.db.connect() as conn:
            due = run_store.due_for_tick(conn, now, limit)
        for run_id in due:
            self.handle(run_id, TimerTick())
        return len(due)

    def run_schedules(self) -> list[str]:
        """Start recurring workflows whose interval has passed for a subject (or that never ran)."""
        from ..store import inventory as inventory_store

        now = self.clock.now()
        started: list[str] = []
        table = Run.__table__
        scheduled = [item for item in self.specs.workflows if item.spec.trigger.schedule]
        systems: list[Subject] | None = None  # read once per pass, only if a schedule needs them
        for loaded in scheduled:
            spec = loaded.spec
            every = spec.trigger.schedule.every
            with self.db.begin() as conn:
                if spec.subject == "ai_system":
                    if systems is None:
                        systems = [ai_system_subject(r) for r in inventory_store.list_all(conn)]
                    subjects = systems
                else:
                    subjects = [organisation_subject(self.config.organisation)]
                last = dict(
                    conn.execute(
                        select(table.c.subject_id, table.c.started_at)
                        .where(table.c.workflow_id == spec.id)
                        .order_by(table.c.started_at)
                    ).all()
                )
                # one query for the subjects that already have an open run, not one per subject:
                # the worker runs this every few seconds over the whole inventory
                busy = set(
                    conn.scalars(
                        select(table.c.subject_id).where(
                            table.c.workflow_id == spec.id, table.c.status.in_(("new", "running"))
                        )
                    )
                )
                for subject in subjects:
                    previous = last.get(subject.id)
                    if previous is not None and previous + every > now:
                        continue
                    if subject.id in busy or not self._in_scope(spec, subject):
                        continue
                    started.append(
                        self._start(
                            conn,
                            loaded,
                            subject,
                            now,
                            actor=Actor("scheduler", "scheduler"),
                            trigger=f"schedule (every {format_duration(every)})",
                        ).run.run_id
                    )
                    busy.add(subject.id)
        return started

    # -- ledger-only records ----------------------------------------------------------------
    def record(
        self,
        conn: Connection,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
        *,
        actor: Actor = CLI,
        run_id: str | None = None,
        ref: str | None = None,
    ) -> None:
        ledger.append(
            conn,
            [EvidenceRecord(kind, run_id, None, actor.id, actor.via, now, payload, ref)],
            recorded_at=now,
        )

    def organisation_id(self) -> str:
        return ORGANISATION_ID


# compiled once per dialect: every decision reads its approval (see store/_fast)
_APPROVAL_BY_ID = Prepared(
    select(Approval.__table__).where(
        Approval.__table__.c.approval_id == bindparam("b_approval_id")
    ),
    ("b_approval_id",),
)
_APPROVAL_KEYS = tuple(Approval.__table__.c.keys())


def _approval_row(conn: Connection, approval_id: str) -> dict[str, Any]:
    row = _APPROVAL_BY_ID.first(conn, {"b_approval_id": approval_id})
    if row is None:
        raise NotFound(f"no approval '{approval_id}'", hint="see `aims approvals list`")
    return dict(zip(_APPROVAL_KEYS, row, strict=True))
