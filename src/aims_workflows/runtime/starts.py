"""Starting runs: by hand (``aims start``), from a trigger another event fired, and on a
schedule. Part of :class:`~aims_workflows.runtime.Runtime` (a base class of it), kept apart
so each file has one job."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import Connection, select, text, update
from sqlalchemy.exc import IntegrityError

from ..audit.inputs import programme_inputs
from ..config import AimsConfig
from ..engine import Actor, StartRun, Transition, advance, new_run
from ..engine.state import Subject
from ..errors import EngineError
from ..ports import Clock
from ..risks.inputs import reads_register, register_inputs
from ..spec.expressions import ExpressionError, evaluate
from ..spec.loader import LoadedSpec
from ..spec.model import WorkflowSpec
from ..store import Database
from ..store.models import Run
from .directory_inputs import directory_inputs
from .first_due import first_due
from .specs import SpecRegistry
from .subjects import ai_system_subject, organisation_subject

if TYPE_CHECKING:
    from .core import Runtime

__all__ = ["RunStarts", "CLI"]

CLI = Actor("cli", "cli")


class RunStarts:
    """How runs begin; the unit of work itself is the Runtime's."""

    db: Database
    config: AimsConfig
    clock: Clock
    specs: SpecRegistry
    _new_id: Callable[[], str]

    def _commit_transition(
        self,
        conn: Connection,
        spec: WorkflowSpec,
        t: Transition,
        lock_version: int | None,
        now: datetime,
    ) -> None:
        raise NotImplementedError  # the Runtime's

    # -- starting runs ----------------------------------------------------------------------
    def _start_inputs(
        self,
        conn: Connection,
        spec: WorkflowSpec,
        subject: Subject,
        inputs: dict[str, Any] | None,
        now: datetime,
        spawned_by: str | None = None,
    ) -> dict[str, Any] | None:
        """What a run starts with: the inputs given, and those its workflow declares it takes
        from the risk register, the directory of people and the approved audit programme (the
        engine reads no database: they reach the run as inputs)."""
        inputs = register_inputs(conn, spec, subject, inputs, spawned_by)
        inputs = directory_inputs(conn, cast("Runtime", self), spec, inputs)
        return programme_inputs(conn, spec, inputs, now.date())

    def _start(
        self,
        conn: Connection,
        loaded: LoadedSpec,
        subject: Subject,
        now: datetime,
        *,
        inputs: dict[str, Any] | None = None,
        actor: Actor = CLI,
        trigger: str = "manual",
        run_id: str | None = None,
        parent_run_id: str | None = None,
        spawned_by: str | None = None,
    ) -> Transition:
        inputs = self._start_inputs(conn, loaded.spec, subject, inputs, now, spawned_by)
        transition = self._started(
            loaded,
            subject,
            now,
            inputs=inputs,
            actor=actor,
            trigger=trigger,
            run_id=run_id,
            parent_run_id=parent_run_id,
        )
        self._store_start(conn, loaded, transition, now)
        return transition

    def _started(
        self,
        loaded: LoadedSpec,
        subject: Subject,
        now: datetime,
        *,
        inputs: dict[str, Any] | None = None,
        actor: Actor = CLI,
        trigger: str = "manual",
        run_id: str | None = None,
        parent_run_id: str | None = None,
    ) -> Transition:
        """A new run's first transition, from the engine alone (no database)."""
        run = new_run(
            loaded.spec,
            run_id=run_id or self._new_id(),
            spec_hash=loaded.content_hash,
            subject=subject,
            inputs=inputs,
            parent_run_id=parent_run_id,
        )
        # a new run, dropped after this event: no need to copy it
        return advance(loaded.spec, run, StartRun(actor=actor, trigger=trigger), now, copy=False)

    def _store_start(
        self, conn: Connection, loaded: LoadedSpec, transition: Transition, now: datetime
    ) -> None:
        self.specs.register(conn, loaded, now)
        self._commit_transition(conn, loaded.spec, transition, None, now)

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
        again: bool = False,
        only_one: bool = False,
    ) -> Transition:
        """Start a run by hand (``aims start``).

        A second open run of the same workflow on the same subject is refused, naming the open
        one (registering an AI system already starts its assessments); ``again`` starts it
        anyway. Runs told apart by a required input are not refused, unless ``only_one``: a
        caller for whom one open run per subject is the rule whatever the inputs."""
        loaded = self.specs.current(workflow_id)
        if not loaded.spec.trigger.manual:
            raise EngineError(
                f"workflow '{workflow_id}' is not started by hand",
                hint="it starts from its triggers",
            )
        now = self.clock.now()
        with self.db.connect() as conn:
            subject = self.subject_for(conn, loaded.spec, system, finding)
            # runs told apart by a required input (one risk, one review action) are not
            # duplicates of each other
            again = (again or any(d.required for d in loaded.spec.inputs)) and not only_one
            if not again:
                self._refuse_second_open_run(conn, workflow_id, subject)
            inputs = self._start_inputs(conn, loaded.spec, subject, inputs, now)
        # the engine's templates and conditions run before the write transaction (see receive)
        transition = self._started(loaded, subject, now, inputs=inputs, actor=actor)
        with self.db.begin() as conn:
            if not again:  # another start may have come in meanwhile
                self._refuse_second_open_run(conn, workflow_id, subject)
            self._store_start(conn, loaded, transition, now)
        return transition

    def _refuse_second_open_run(self, conn: Connection, workflow_id: str, subject: Subject) -> None:
        table = Run.__table__
        open_run = conn.execute(
            select(table.c.id, table.c.started_at, table.c.current_step)
            .where(
                table.c.workflow_id == workflow_id,
                table.c.subject_type == subject.type,
                table.c.subject_id == subject.id,
                table.c.status.in_(("new", "running", "waiting")),
            )
            .order_by(table.c.started_at)
            .limit(1)
        ).first()
        if open_run is not None:
            at = f", at step '{open_run.current_step}'" if open_run.current_step else ""
            raise EngineError(
                f"run {open_run.id} of '{workflow_id}' on '{subject.name}' is still open "
                f"(started {open_run.started_at:%Y-%m-%d}{at})",
                hint=f"carry on with it (`aims runs show {open_run.id}`), or pass --again to "
                "start another beside it",
            )

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

    def _plan_triggers(
        self,
        event_name: str,
        subject: Subject,
        now: datetime,
        *,
        fields: Iterable[str] = (),
        workflow: str | None = None,
        actor: Actor = CLI,
        skip: Callable[[str], bool] | None = None,
        conn: Connection | None = None,
        seen_inputs: dict[str, dict[str, Any] | None] | None = None,
    ) -> list[tuple[LoadedSpec, Transition]]:
        """The runs this event would start, each workflow's scope evaluated and its first
        transition made by the engine: callers that know the subject before their write
        transaction plan here and store with :meth:`_fire_triggers`. Only a workflow that
        starts from the risk register reads the database (``conn``, else a read of its own);
        ``seen_inputs`` gets what each planned run was given from it, to be checked again when
        the plan is stored (runtime/trigger_plans)."""
        planned: list[tuple[LoadedSpec, Transition]] = []
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
                if (skip is not None and skip(spec.id)) or not self._in_scope(spec, subject):
                    continue
                trigger = f"{event_name}" + (
                    f" ({', '.join(sorted(changed & set(on.fields or changed)))})"
                    if changed
                    else ""
                )
                inputs = self._register_inputs(conn, spec, subject)
                if seen_inputs is not None:
                    seen_inputs[spec.id] = inputs
                planned.append(
                    (
                        loaded,
                        self._started(
                            loaded, subject, now, inputs=inputs, actor=actor, trigger=trigger
                        ),
                    )
                )
                break
        return planned

    def _register_inputs(
        self, conn: Connection | None, spec: WorkflowSpec, subject: Subject
    ) -> dict[str, Any] | None:
        """A triggered run's inputs: the risk register's current values where it starts from
        them (a re-assessment shows the register), else none."""
        if not reads_register(spec, subject):
            return None
        if conn is not None:
            return register_inputs(conn, spec, subject, None)
        with self.db.connect() as read:
            return register_inputs(read, spec, subject, None)

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
        planned: list[tuple[LoadedSpec, Transition]] | None = None,
    ) -> list[str]:
        """Start every workflow subscribed to this event whose scope admits the subject and
        that has no open run on it. ``planned`` (:meth:`_plan_triggers`, made before the write
        transaction) is stored as it is; without it the plan is made here."""
        if planned is None:  # in the caller's transaction: no evaluation for a busy workflow
            planned = self._plan_triggers(
                event_name,
                subject,
                now,
                fields=fields,
                workflow=workflow,
                actor=actor,
                skip=lambda workflow_id: self._open_run_exists(conn, workflow_id, subject),
                conn=conn,
            )
        started: list[str] = []
        for loaded, transition in planned:
            if self._open_run_exists(conn, loaded.spec.id, subject):
                continue
            run_id = self._store_marked(conn, loaded, transition, now, "triggered")
            if run_id is not None:
                started.append(run_id)
        return started

    def _store_marked(
        self,
        conn: Connection,
        loaded: LoadedSpec,
        transition: Transition,
        now: datetime,
        mark: Literal["triggered", "scheduled"],
    ) -> str | None:
        """Store one start (prepared before the write) in a savepoint, its run's ``mark``
        column set. None when another process started it first: both saw no open run, and the
        unique index over open triggered (or scheduled) runs refuses the second (on PostgreSQL
        it waits for the first to commit, then refuses); only this start is rolled back, not
        the caller's transaction or pass."""
        try:
            with conn.begin_nested():
                self._store_start(conn, loaded, transition, now)
                run_id = transition.run.run_id
                table = Run.__table__
                conn.execute(update(table).where(table.c.id == run_id).values({mark: True}))
        except IntegrityError:
            return None
        return run_id

    # -- schedules -------------------------------------------------------------------------
    def _open_subjects(self, conn: Connection, workflow_id: str) -> set[str]:
        """Subjects with an open run of the workflow: one query for all of them, not one per
        subject (the worker runs this every few seconds over the whole inventory)."""
        table = Run.__table__
        return set(
            conn.scalars(
                select(table.c.subject_id).where(
                    table.c.workflow_id == workflow_id, table.c.status.in_(("new", "running"))
                )
            )
        )

    def _due_subjects(
        self,
        conn: Connection,
        spec: WorkflowSpec,
        subjects: list[Subject],
        every: timedelta,
        now: datetime,
    ) -> list[Subject]:
        """The subjects whose interval has passed (or that never had a run) and that have no
        open run of the workflow. Reads only; evaluates no template or condition."""
        table = Run.__table__
        last = dict(
            conn.execute(
                select(table.c.subject_id, table.c.started_at)
                .where(table.c.workflow_id == spec.id)
                .order_by(table.c.started_at)
            ).all()
        )
        busy = self._open_subjects(conn, spec.id)
        due_now: list[Subject] = []
        for subject in subjects:
            if subject.id in busy:
                continue
            previous = last.get(subject.id)
            due = (
                previous + every
                if previous is not None
                else first_due(conn, self.config, spec.id, subject, every)
            )
            if due is not None and due <= now:
                due_now.append(subject)
        return due_now

    def run_schedules(self) -> list[str]:
        """Start recurring workflows whose interval has passed for a subject (or that never ran).

        The scope conditions and the new runs' templates are evaluated on a snapshot, before
        the write transaction (as ``receive`` does), which only checks again what is due and
        stores the starts. Safe with any number of workers: on PostgreSQL one worker at a time
        stores a workflow's starts (a transaction-scoped advisory lock, per schema; a worker
        that does not get it skips the workflow, which the holder is starting), and a unique
        index over open scheduled runs turns any start that slips through into a skipped one.
        On SQLite the write transaction serialises the workers, and the check in it sees what
        the one before stored."""
        from ..store import inventory as inventory_store

        now = self.clock.now()
        started: list[str] = []
        scheduled = [item for item in self.specs.workflows if item.spec.trigger.schedule]
        systems: list[Subject] | None = None  # read once per pass, only if a schedule needs them
        scheduler = Actor("scheduler", "scheduler")
        for loaded in scheduled:
            spec = loaded.spec
            schedule = spec.trigger.schedule
            if schedule is None:  # the list above holds scheduled workflows only
                continue
            every = schedule.every
            every_text = schedule.model_dump(mode="json")["every"]
            with self.db.connect() as conn:
                if spec.subject == "ai_system":
                    if systems is None:
                        systems = [ai_system_subject(r) for r in inventory_store.list_all(conn)]
                    subjects = systems
                else:
                    subjects = [organisation_subject(self.config.organisation)]
                candidates = self._due_subjects(conn, spec, subjects, every, now)
                # an internal audit audits what the approved programme plans for the period
                inputs = (
                    directory_inputs(
                        conn,
                        cast("Runtime", self),
                        spec,
                        programme_inputs(conn, spec, None, now.date()),
                    )
                    if candidates
                    else None
                )
            # the engine's conditions and templates, before the write transaction
            prepared = {
                subject.id: self._started(
                    loaded,
                    subject,
                    now,
                    inputs=inputs,
                    actor=scheduler,
                    trigger=f"schedule (every {every_text})",
                )
                for subject in candidates
                if self._in_scope(spec, subject)
            }
            if not prepared:
                continue
            with self.db.begin() as conn:
                if not _schedule_lock(conn, spec.id):
                    continue
                # what another worker stored since the snapshot is not started again
                still_due = self._due_subjects(
                    conn, spec, [s for s in candidates if s.id in prepared], every, now
                )
                for subject in still_due:
                    run_id = self._store_marked(
                        conn, loaded, prepared[subject.id], now, "scheduled"
                    )
                    if run_id is not None:
                        started.append(run_id)
        return started


def _schedule_lock(conn: Connection, workflow_id: str) -> bool:
    """Take the schedule of ``workflow_id`` for this transaction (PostgreSQL); False when another
    worker holds it. Keyed by schema too, so databases that share a server (tests in schemas of
    their own) never wait on each other. SQLite's write transaction is the lock there."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(
        conn.execute(
            text(
                "SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), "
                "hashtext('aims.schedule:' || :workflow))"
            ),
            {"workflow": workflow_id},
        ).scalar()
    )
