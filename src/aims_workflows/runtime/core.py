"""The runtime: one unit of work per event, and the services built on it.

A unit of work loads a run, advances it with the pure engine, saves it, appends the evidence and
enqueues the commands, all in one transaction: either everything of an event is recorded or
nothing is. Effects happen later, in the dispatcher, from the outbox.

:meth:`Runtime.receive` is the one way in for a unit of work: the CLI's actions, a Jira change
and a Slack decision all come as an event (with the inbox delivery that carried it, when it
came from outside). Integrations call it and the read-only questions below it, nothing else.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, text

from ..config import AimsConfig
from ..engine import (
    Actor,
    ApprovalDecided,
    CloseTask,
    Command,
    Event,
    TimerTick,
    Transition,
    advance,
)
from ..engine.evidence import ChainedEvidence, EvidenceRecord, Unlinked, unlinked
from ..engine.evidence_kinds import EvidencePayload, evidence_payload
from ..engine.state import RunState
from ..errors import EngineError, NotFound, SpecTampered
from ..ports import Clock
from ..spec.loader import WorkflowSet
from ..spec.model import WorkflowSpec
from ..store import Database, ledger, outbox, projections
from ..store import runs as run_store
from ..store._fast import savepoint
from . import inbound, views
from .actions import PeoplesActions
from .approvals import addressed_decision, approval_row
from .batch import HeldBack, Queued
from .completion_effects import CompletionEffect
from .directory import Directory
from .inbound import Delivery, Parked, as_delivery
from .role_holders import RoleHolders
from .specs import SpecRegistry
from .starts import CLI, RunStarts
from .subjects import ORGANISATION_ID

__all__ = ["Runtime", "Outcome", "CLI", "Delivery", "Queued", "HeldBack"]

log = logging.getLogger("aims.runtime")
# The engine runs on a snapshot before the write transaction (see receive), so a run changed
# meanwhile by another writer redoes the unit of work; each retry is cheap.
_RETRIES_ON_CONFLICT = 10
_T = TypeVar("_T")


@dataclass(frozen=True)
class Outcome:
    """What handling one event did. ``duplicate``: the delivery was seen before.
    ``not_applied``: why a delivery was recorded without reaching a run (no such run or
    approval, or nothing in it for the engine)."""

    run_id: str | None
    transition: Transition | None = None
    duplicate: bool = False
    not_applied: str | None = None

    @property
    def ignored(self) -> str | None:
        return self.transition.ignored if self.transition else self.not_applied


@dataclass(frozen=True)
class _Prepared:
    """An event the engine applied to a snapshot of its run, ready to be stored."""

    run_id: str
    spec: WorkflowSpec
    transition: Transition
    lock_version: int
    actor: Actor
    """Who acted, as the directory knew them in the snapshot."""


@dataclass(frozen=True)
class _Snapshot:
    """What the engine needs to apply an event, as read from the database."""

    run_id: str
    spec: WorkflowSpec
    run: RunState
    lock_version: int
    event: Event
    actor: Actor

    def advance(self, now: datetime) -> _Prepared:
        # the run was just loaded for this event and is dropped after it: no need to copy it
        transition = advance(self.spec, self.run, self.event, now, copy=False)
        return _Prepared(self.run_id, self.spec, transition, self.lock_version, self.actor)


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


class _LedgerTail:
    """A group commit's evidence and commands, event by event, appended to the ledger and the
    outbox together at the end of its transaction. Everything that can be is serialised as each
    event is added (evidence payloads, outbox rows): once the ledger's head is locked, only the
    hash chain is computed and the rows inserted, and the lock is held to the commit."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        # per event: its evidence serialised, and its outbox rows (a command that names the
        # event's ledger rows is kept as it is, to be sealed once they are numbered)
        self._events: list[tuple[list[Unlinked], list[dict[str, Any] | CloseTask]]] = []

    def add(self, evidence: Sequence[EvidenceRecord], commands: Sequence[Command]) -> None:
        serialised = unlinked(evidence, recorded_at=self.now)
        rows: list[dict[str, Any] | CloseTask] = [
            c if isinstance(c, CloseTask) else outbox.row_of(c, self.now) for c in commands
        ]
        self._events.append((serialised, rows))

    def mark(self) -> int:
        return len(self._events)

    def back_to(self, mark: int) -> None:
        del self._events[mark:]

    def write(self, conn: Connection) -> None:
        rows = ledger.append_unlinked(conn, [item for items, _ in self._events for item in items])
        commands: list[dict[str, Any]] = []
        at = 0
        for items, own in self._events:
            sealed = rows[at : at + len(items)]
            at += len(items)
            for row in own:
                if isinstance(row, dict):
                    commands.append(row)
                else:
                    [command] = _with_sealed_evidence([row], sealed)
                    commands.append(outbox.row_of(command, self.now))
        outbox.insert_rows(conn, commands)


class Runtime(RunStarts, PeoplesActions):
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
        self.people = Directory(self)
        self.role_holders = RoleHolders(self)
        # whether the CLI may complete tasks and decide approvals (aims.yaml's cli_decisions;
        # open_app closes it by default once Jira or Slack is configured)
        self.cli_decisions_allowed = config.cli_decisions != "forbid"
        # workflow id -> what its completed runs change beyond the engine (runtime/
        # completion_effects); applied by the dispatcher in the transaction that reports the
        # completion.
        # Registered by the layers built on the runtime (the inventory: approved scope changes).
        self.completion_effects: dict[str, CompletionEffect] = {}

        self._kpi_history_init(workflows, config)

    def known_roles(self) -> set[str]:
        """The roles workflows and aims.yaml may name."""
        from ..spec.checks import DEFAULT_ROLES

        return set(DEFAULT_ROLES) | self.config.role_names()

    # -- the unit of work -------------------------------------------------------------------
    def _commit_transition(
        self,
        conn: Connection,
        spec: WorkflowSpec,
        t: Transition,
        lock_version: int | None,
        now: datetime,
        tail: _LedgerTail | None = None,
    ) -> None:
        if lock_version is None:
            run_store.insert_run(conn, t.run, now)
        else:
            run_store.save(conn, t.run, lock_version, now)
        self.kpi_days.before_evidence(conn, now)  # KPI history: see _kpi_history_init
        coverage = (spec.coverage.kpi, spec.coverage.valid_for) if spec.coverage else None
        projections.apply(conn, t.run, t.evidence, now, coverage)
        # the ledger last: its head is the one row every writer locks, held to the commit
        own = tail or _LedgerTail(now)
        own.add(t.evidence, t.commands)
        if tail is None:
            own.write(conn)

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

    def _retrying(self, work: Callable[[], _T]) -> _T:
        for attempt in range(_RETRIES_ON_CONFLICT):
            try:
                return work()
            except run_store.ConcurrentUpdate:
                if attempt == _RETRIES_ON_CONFLICT - 1:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    # -- the one way in ---------------------------------------------------------------------
    def receive(
        self,
        event: Event,
        *,
        run_id: str | None = None,
        delivery: Delivery | None = None,
        follow_up: Sequence[Command] = (),
    ) -> Outcome:
        """Apply one event to one run in one transaction, with the inbox row of the delivery
        that carried it (recorded now if it was not stored before): a delivery is applied once,
        and a repeat is an Outcome with ``duplicate``.

        ``run_id`` is the run the event is for; an ``approval.decided`` event names its approval
        instead, and the run is the approval's. ``follow_up`` are commands of the integration
        that carried the event (fetch what the change brought), queued in the same transaction.
        A delivery for a run or approval that does not exist is recorded as ignored, with why;
        without a delivery that is a :class:`~aims_workflows.errors.NotFound`.
        """

        self.people.prepare()

        def work() -> Outcome:
            now = self.clock.now()
            # The engine (and every template and condition it evaluates) runs on a snapshot,
            # before the write transaction: the write lock (all of SQLite, the run's row on
            # PostgreSQL) is held only to store the result. A run changed meanwhile fails the
            # version check on save and the whole unit of work is redone (``_retrying``).
            with self.db.read_then_write() as unit:  # one pooled connection for both
                with unit.read() as read:
                    prepared = self._prepare(event, run_id, now, read)
                tail = _LedgerTail(now)  # the ledger's head locked at the end, as in a batch
                with unit.write() as conn:
                    outcome = self._store_prepared(
                        conn, event, prepared, run_id, delivery, follow_up, now, tail
                    )
                    tail.write(conn)
                    return outcome

        return self._retrying(work)

    def _store_prepared(
        self,
        conn: Connection,
        event: Event,
        prepared: _Prepared | NotFound,
        run_id: str | None,
        delivery: Delivery | None,
        follow_up: Sequence[Command],
        now: datetime,
        tail: _LedgerTail | None = None,
    ) -> Outcome:
        """Store an event the engine applied to a snapshot (:meth:`_prepare`), in ``conn``'s
        write transaction, with the inbox row of its delivery. Nothing here evaluates a
        template or condition. With ``tail`` (group commit) its evidence and commands wait
        there to be appended with the batch's others."""
        if delivery and not inbound.take(conn, delivery, now):
            return Outcome(run_id, duplicate=True)
        newer = inbound.superseded_by(conn, delivery) if delivery else None
        if delivery and newer is not None:
            # Jira does not promise delivery order: an older edit arriving after a
            # newer one must not set the answers back
            late = f"older than the change already applied (delivery {newer})"
            inbound.settle(conn, delivery, now, late)
            return Outcome(run_id, not_applied=late)
        # ties an account first seen with its e-mail to its person (a write the snapshot could
        # not make). The directory changed since the snapshot: the unit of work is redone.
        identified = self.people.identify(conn, event.actor, now)
        if not isinstance(prepared, NotFound) and identified != prepared.actor:
            raise run_store.ConcurrentUpdate("the directory of people changed meanwhile")
        if isinstance(prepared, NotFound):
            if delivery is None:
                raise prepared
            inbound.settle(conn, delivery, now, str(prepared))
            outbox.enqueue(conn, follow_up, now)
            return Outcome(run_id, not_applied=str(prepared))
        if prepared.transition.ignored is None:
            self._commit_transition(
                conn, prepared.spec, prepared.transition, prepared.lock_version, now, tail
            )
        if tail is not None:
            tail.add((), follow_up)  # after the event's own commands, as without a tail
        else:
            outbox.enqueue(conn, follow_up, now)
        if delivery:
            inbound.settle(conn, delivery, now, prepared.transition.ignored)
        return Outcome(prepared.run_id, prepared.transition)

    def _prepare(
        self, event: Event, run_id: str | None, now: datetime, conn: Connection | None = None
    ) -> _Prepared | NotFound:
        """The event applied by the engine to a snapshot of its run, outside any write
        transaction (``conn``, a read connection, else one of its own); a NotFound (no such
        run or approval) is returned for the caller to record with the delivery."""
        if conn is None:
            with self.db.connect() as own:
                read = self._snapshot(own, event, run_id, now)
        else:
            read = self._snapshot(conn, event, run_id, now)
        return read if isinstance(read, NotFound) else read.advance(now)

    def _snapshot(
        self, conn: Connection, event: Event, run_id: str | None, now: datetime
    ) -> _Snapshot | NotFound:
        """What the engine needs to apply ``event``, read on ``conn``."""
        try:
            row = None
            if run_id is None and isinstance(event, ApprovalDecided):
                row = approval_row(conn, event.approval_id)
                run_id = row["run_id"]
            if run_id is None:
                raise EngineError(f"a '{event.kind}' event needs the run it is for")
            run, lock_version = run_store.load(conn, run_id)
            spec = self.specs.by_hash(conn, run.spec_hash)
            # who acted, as the directory of people knows them (Jira and Slack accounts,
            # CLI claims); read only here, see receive()
            identified = self.people.identify(conn, event.actor, now, link=False)
            if identified != event.actor:
                event = event.model_copy(update={"actor": identified})
            if row is not None and isinstance(event, ApprovalDecided):
                event = addressed_decision(conn, event, row, run, spec, self.eligible_approvers)
        except NotFound as err:
            return err
        return _Snapshot(run_id, spec, run, lock_version, event, identified)

    def receive_batch(self, queued: Sequence[Queued]) -> list[Outcome | Exception]:
        """Apply queued events with group commit: one write transaction for many events, each
        in a savepoint of its own, so one that fails rolls back alone (its result is the
        exception, to retry or park it alone) and the others commit together.

        As in :meth:`receive`, the engine runs on snapshots before the write transaction. A
        transaction takes at most one event per run; a run's next event goes in the next
        transaction, prepared on what the one before stored, so each run's events are applied
        in the order given. After a failure the run's later events are held back
        (:class:`HeldBack`). A run changed by another writer since its snapshot fails with
        ``ConcurrentUpdate`` (retry it). The result lists one entry per event."""
        self.people.prepare()  # as receive() does: the actors are identified in the directory
        results: list[Outcome | Exception | None] = [None] * len(queued)
        failed: set[str] = set()
        pending = list(enumerate(queued))
        while pending:
            this_round: list[tuple[int, Queued]] = []
            later: list[tuple[int, Queued]] = []
            keys: set[str] = set()
            for position, item in pending:
                key = item.order_key()
                if key is not None and key in keys:
                    later.append((position, item))
                    continue
                if key is not None:
                    keys.add(key)
                this_round.append((position, item))
            self._batch_round(this_round, results, failed)
            pending = later
        done = [r for r in results if r is not None]
        assert len(done) == len(queued)  # every event is in exactly one round
        return done

    def _batch_round(
        self,
        items: list[tuple[int, Queued]],
        results: list[Outcome | Exception | None],
        failed: set[str],
    ) -> None:
        now = self.clock.now()
        prepared: dict[int, _Prepared | NotFound] = {}
        problems: dict[int, Exception] = {}
        snapshots: dict[int, _Snapshot | NotFound] = {}
        # one read connection for the batch's snapshots: a pool checkout and its reset per
        # event were two of the round trips each event cost on PostgreSQL
        with self.db.connect() as read:
            for position, item in items:
                key = item.order_key()
                if key is not None and key in failed:
                    continue
                try:
                    snapshots[position] = self._snapshot(read, item.event, item.run_id, now)
                except Exception as err:  # noqa: BLE001 - reported per event, the batch goes on
                    problems[position] = err
                    read.rollback()  # on PostgreSQL a failed statement ends the transaction
        for position, snapshot in snapshots.items():  # the engine, with no connection held
            try:
                prepared[position] = (
                    snapshot if isinstance(snapshot, NotFound) else snapshot.advance(now)
                )
            except Exception as err:  # noqa: BLE001 - reported per event, the batch goes on
                problems[position] = err
        tail = _LedgerTail(now)
        try:
            with self.db.begin() as conn:
                for position, item in items:
                    key = item.order_key()
                    if key is not None and key in failed:
                        results[position] = HeldBack(key)
                        continue
                    mark = tail.mark()
                    try:
                        if position in problems:
                            raise problems[position]
                        with savepoint(conn):
                            results[position] = self._store_prepared(
                                conn, item.event, prepared[position], item.run_id,
                                item.delivery, item.follow_up, now, tail,
                            )  # fmt: skip
                    except Exception as err:  # noqa: BLE001 - per event, the batch goes on
                        tail.back_to(mark)  # its savepoint rolled back: so do its rows
                        results[position] = err
                        if key is not None:
                            failed.add(key)
                # The ledger head is the one row every writer locks: taken here, just before
                # the commit, instead of at the batch's first event, so that workers' batches
                # overlap in everything but this.
                tail.write(conn)
        except Exception as err:  # noqa: BLE001 - the batch's commit failed: all of it did
            for position, item in items:
                if isinstance(results[position], Outcome):
                    results[position] = err
                    if (key := item.order_key()) is not None:
                        failed.add(key)

    def ignore(self, delivery: Delivery, reason: str, *, follow_up: Sequence[Command] = ()) -> bool:
        """Record a delivery that carries nothing for the engine, with why (and the
        integration's ``follow_up`` commands). False when it was settled before."""

        def work() -> bool:
            now = self.clock.now()
            with self.db.begin() as conn:
                if not inbound.take(conn, delivery, now):
                    return False
                outbox.enqueue(conn, follow_up, now)
                inbound.settle(conn, delivery, now, reason)
                return True

        return self._retrying(work)

    def store_delivery(self, delivery: Delivery) -> bool:
        """Record a delivery to be applied later (the sender is answered as soon as it is
        stored); False for a repeat of one stored before."""
        now = self.clock.now()
        # urgent: the sender waits for the answer (on SQLite it goes before the writes nobody
        # waits on, see store/write_gate)
        with self.db.begin(urgent=True) as conn:
            return inbound.store(conn, delivery, now)

    def park(self, delivery: Delivery, reason: str) -> bool:
        """Set aside a stored delivery that cannot be applied, with why, so the deliveries
        behind it go on (it shows in ``aims runs show``, the dashboard and ``/metrics``).
        False when it was settled meanwhile."""
        now = self.clock.now()
        with self.db.begin() as conn:
            return inbound.park(conn, delivery, reason, now)

    def parked_deliveries(self, run_id: str | None = None, limit: int = 100) -> list[Parked]:
        """Parked deliveries, newest first (of one run when ``run_id`` is given)."""
        with self.db.connect() as conn:
            return inbound.parked(conn, run_id=run_id, limit=limit)

    def retry_parked(
        self,
        *,
        delivery_id: str | None = None,
        source: str | None = None,
        actor: Actor = CLI,
    ) -> list[Parked]:
        """Put parked deliveries back in the queue (one by its id, or all), recorded in the
        ledger with who did it and why each had been parked; what was put back. A worker's
        next pass applies them (or parks them again, with the reason it finds then)."""
        from ..engine.evidence_kinds import DeliveriesRetried, DeliveryRef

        now = self.clock.now()
        with self.db.begin() as conn:
            back = inbound.retry_parked(conn, source=source, delivery_id=delivery_id)
            if back:
                refs = [
                    DeliveryRef(
                        source=p.source,
                        delivery_id=p.id,
                        run_id=p.run_id,
                        parked_because=p.reason,
                    )
                    for p in back
                ]
                self.record(conn, DeliveriesRetried(deliveries=refs), now, actor=actor)
        return back

    def inbox_parked(self) -> dict[str, int]:
        """How many deliveries are parked, by source."""
        with self.db.connect() as conn:
            return inbound.parked_counts(conn)

    def stored_deliveries(self, source: str, limit: int = 500) -> list[Delivery]:
        """Deliveries of ``source`` stored and not applied yet, oldest first."""
        with self.db.connect() as conn:
            return inbound.stored(conn, source, limit)

    def claim_deliveries(self, source: str, owner: str, limit: int = 100) -> list[Delivery]:
        """Stored deliveries of ``source`` taken for ``owner`` to apply, oldest first
        (:func:`inbound.claim_stored`)."""
        now = self.clock.now()
        with self.db.begin() as conn:
            return inbound.claim_stored(conn, source, owner, now, limit=limit)

    def release_deliveries(self, source: str, owner: str) -> int:
        """Give back the deliveries ``owner`` took and did not settle."""
        with self.db.begin() as conn:
            return inbound.release(conn, source, owner)

    def inbox_backlog(self) -> dict[str, int]:
        """How many stored deliveries wait to be applied, by source."""
        with self.db.connect() as conn:
            return inbound.backlog(conn)

    def handle(
        self,
        run_id: str,
        event: Event,
        *,
        delivery: Delivery | tuple[str, str] | None = None,
        payload: str = "",
    ) -> Outcome:
        """Apply one event to one run in one transaction (:meth:`receive`)."""
        return self.receive(event, run_id=run_id, delivery=as_delivery(delivery, payload))

    # -- read-only questions for the integrations -------------------------------------------
    def task_status(self, run_id: str, step_id: str, attempt: int) -> views.TaskStatus | None:
        """Whether visit ``attempt`` of task ``step_id`` is open, completed, cancelled or
        closed, from the run's state; None when there is no such run."""
        with self.db.connect() as conn:
            try:
                run, _ = run_store.load(conn, run_id)
            except NotFound:
                return None
        return views.task_status(run, step_id, attempt)

    def deciders(self, run_id: str, approval_id: str) -> set[str]:
        """People whose decision on the open request ``approval_id`` is recorded."""
        with self.db.connect() as conn:
            try:
                run, _ = run_store.load(conn, run_id)
            except NotFound:
                return set()
        return views.deciders(run, approval_id)

    def system_status(self, name: str) -> views.SystemStatus | list[str]:
        """An AI system's assessments and latest runs; the known names when there is none."""
        with self.db.connect() as conn:
            return views.system_status(conn, name)

    def check_database(self) -> None:
        """Raise when the database does not answer (``/healthz``)."""
        with self.db.connect() as conn:
            conn.execute(text("SELECT 1"))

    # -- time -------------------------------------------------------------------------------
    def tick(self, limit: int = 500) -> int:
        """Fire every due timer (reminders, due dates, escalations, waits). Returns runs ticked
        here (a run another worker is ticking is left to it)."""
        now = self.clock.now()
        with self.db.connect() as conn:
            due = run_store.due_for_tick(conn, now, limit)
        ticked = 0
        for run_id in due:
            ticked += self._retrying(partial(self._tick_one, run_id))
        return ticked

    def _tick_one(self, run_id: str) -> int:
        """Tick one run if it is still due and no other worker holds it (1), else leave it (0):
        workers sharing a database claim due timers, they do not queue behind each other. A
        run whose pinned workflow text no longer matches its hash is left alone, logged."""
        now = self.clock.now()
        event = TimerTick()
        try:
            # the timers' templates (reminders, escalations) run on a snapshot, before the
            # write transaction, as in receive(); a run changed meanwhile is redone
            prepared = self._prepare(event, run_id, now)
            if isinstance(prepared, NotFound):
                return 0
            with self.db.begin() as conn:
                if not run_store.take_due(conn, run_id, now):
                    return 0
                self._store_prepared(conn, event, prepared, run_id, None, (), now)
        except SpecTampered as err:  # this run cannot go on; the others can
            log.error("run %s not ticked: %s", run_id, err)
            return 0
        return 1

    # -- ledger-only records ----------------------------------------------------------------
    def record(
        self,
        conn: Connection,
        evidence: EvidencePayload,
        now: datetime,
        *,
        actor: Actor = CLI,
        run_id: str | None = None,
        ref: str | None = None,
    ) -> None:
        """Append ``evidence`` outside any run event, in ``conn``'s transaction."""
        self.kpi_days.before_evidence(conn, now)  # KPI history: see _kpi_history_init
        payload = evidence_payload(evidence)
        ledger.append(
            conn,
            [EvidenceRecord(evidence.KIND, run_id, None, actor.id, actor.via, now, payload, ref)],
            recorded_at=now,
        )

    def organisation_id(self) -> str:
        return ORGANISATION_ID

    # -- KPI history ------------------------------------------------------------------------
    def _kpi_history_init(self, workflows: WorkflowSet, config: AimsConfig) -> None:
        """The KPIs as each day closed are stored by the first unit of work after it, in its
        transaction, before its evidence and projections (aims_workflows.kpi.snapshots): called
        in _commit_transition and record, the two ways evidence is appended for an event, just
        before the ledger's head is locked, so locks are taken in the usual order (the run's
        row, then the head). What the unit wrote before (the run, a finding) is dated after the
        day closed, and the KPIs of a closed day count rows by their dates."""
        from ..kpi.snapshots import DailySnapshots

        self.kpi_days = DailySnapshots(config.kpi_targets, workflows, config.soa)
