"""The directory of people: who a Jira account, a Slack user or a CLI claim is, which roles they
hold, and who stands in for whom.

Every change is a ledger row naming who made it: a link between a person and an account, a role
granted or revoked (aims.yaml's roles are synced in as grants), a delegation. Something the
directory refuses (an unknown person, an ambiguous e-mail, a delegate who is the person
delegating) is a ``directory.refused`` row, and nothing else is written.

:meth:`Directory.identify` is how every event's actor becomes a person before the engine sees
it: the Jira accountId or Slack user id is looked up, never the e-mail alone; whoever the
directory does not know is marked ``unresolved``, which the engine refuses for any task or
approval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Connection, select, text

from ..engine import Actor
from ..engine import evidence_kinds as ev
from ..engine.identity import CLI_FORBIDDEN, UNRESOLVED
from ..errors import AimsError, NotFound
from ..store import people as store
from ..store.models import AISystem

if TYPE_CHECKING:
    from .core import Runtime

__all__ = [
    "AccountMatch",
    "Directory",
    "DirectoryRefusal",
    "PersonView",
    "SyncReport",
    "CONFIG_ACTOR",
    "is_email",
]

CONFIG_ACTOR = Actor("aims.yaml", "config")
"""Who grants aims.yaml's roles in the ledger (the file is the authority)."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NOT_A_PERSON = frozenset({"system", "scheduler", "config"})


def is_email(text: str) -> bool:
    """Whether ``text`` reads as an e-mail address (how aims.yaml and forms name people)."""
    return _EMAIL.match(text) is not None


class DirectoryRefusal(AimsError):
    """A change to the directory that was refused, and recorded as refused."""


@dataclass(frozen=True)
class PersonView:
    """A person as ``aims people list | show`` shows them."""

    person_id: str
    display_name: str
    email: str | None
    jira_account_id: str | None
    slack_user_id: str | None
    roles: tuple[str, ...]
    conflicts: tuple[tuple[str, str], ...]
    history: tuple[str, ...] = ()
    delegations: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountMatch:
    """What a sync found in a tool for a person named by e-mail (``account`` None: nobody)."""

    email: str
    account: str | None
    display_name: str = ""


@dataclass
class SyncReport:
    """What a sync did: links made, and the people it could not match, by tool."""

    linked: list[str] = field(default_factory=list)
    unmatched: dict[str, list[str]] = field(default_factory=dict)
    granted: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)


_KNOWN_LIMIT = 50_000
"""Actors kept per version token (a bound, not a size any directory is expected to reach)."""


@dataclass(frozen=True)
class _Known:
    """What the directory says of one actor, as read under one version token: who they are,
    their roles, every delegation to them (with whether its giver holds the role; which are in
    force is decided at the time of each event), and the account to tie to them, if any."""

    person: store.PersonRow | None
    roles: tuple[str, ...] = ()
    delegations: tuple[tuple[store.DelegationRow, bool], ...] = ()
    link_pending: str | None = None


def _display_name(email: str) -> str:
    return email.split("@")[0].replace(".", " ").replace("_", " ").title()


class Directory:
    """The directory over the runtime's database, ledger and aims.yaml."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._roles_synced = False
        # what the directory said of each actor met, under the version token it was read at
        self._known: tuple[str | None, dict[tuple[str, str, str | None], _Known]] = (None, {})
        self._delegations: tuple[str | None, tuple[store.DelegationRow, ...]] = (None, ())

    # -- aims.yaml -> grants ----------------------------------------------------------------
    def sync_roles(self, conn: Connection, now: datetime) -> SyncReport:
        """Make the directory hold aims.yaml's roles: a person for everyone it names (and every
        AI system's owner), a grant for each role it gives that is not open yet, and a
        revocation for each grant from aims.yaml it no longer gives. Idempotent."""
        report = SyncReport()
        _one_sync_at_a_time(conn)
        wanted = {
            (person, role) for role, people in self.rt.config.roles.items() for person in people
        }
        for email in sorted({p for p, _ in wanted}):
            self.ensure_person(conn, email, now, method="aims.yaml")
        # the owners of AI systems decide as system_owner: people of the directory too
        owners = conn.scalars(select(AISystem.__table__.c.owner).distinct()).all()
        for email in sorted({o for o in owners if o}):
            self.ensure_person(conn, email, now, method="inventory owner")
        open_from_config = {
            (g.person_id, g.role): g
            for g in store.open_grants(conn)
            if g.granted_by == CONFIG_ACTOR.id
        }
        held = {(g.person_id, g.role) for g in store.open_grants(conn)}
        for email, role in sorted(wanted):
            person = store.find(conn, "email", email)
            assert person is not None  # ensured above
            if (person.person_id, role) in held:
                continue
            store.grant(conn, person.person_id, role, now, CONFIG_ACTOR.id)
            self.rt.record(
                conn,
                ev.RoleGranted(
                    person_id=person.person_id, role=role, source="aims.yaml", valid_from=now
                ),
                now,
                actor=CONFIG_ACTOR,
            )
            report.granted.append(f"{person.person_id} {role}")
        wanted_ids = {
            (found.person_id, role)
            for email, role in wanted
            if (found := store.find(conn, "email", email)) is not None
        }
        for (person_id, role), grant in sorted(open_from_config.items()):
            if (person_id, role) in wanted_ids:
                continue
            store.revoke(conn, grant.id, now, CONFIG_ACTOR.id)
            self.rt.record(
                conn,
                ev.RoleRevoked(person_id=person_id, role=role, source="aims.yaml", valid_to=now),
                now,
                actor=CONFIG_ACTOR,
            )
            report.revoked.append(f"{person_id} {role}")
        self._roles_synced = True
        return report

    def ensure_synced(self, conn: Connection, now: datetime) -> None:
        """aims.yaml's roles in the directory, once per process (cheap after the first)."""
        if not self._roles_synced:
            self.sync_roles(conn, now)

    def prepare(self) -> None:
        """Sync aims.yaml's roles in a transaction of its own, once per process, so that a
        unit of work that is retried never finds the directory half synced."""
        if self._roles_synced:
            return
        with self.rt.db.begin() as conn:
            self.sync_roles(conn, self.rt.clock.now())

    def ensure_person(
        self, conn: Connection, email: str, now: datetime, *, method: str, name: str = ""
    ) -> store.PersonRow:
        """The person with this e-mail, added (and the e-mail's link recorded) if new."""
        found = store.find(conn, "email", email)
        if found is not None:
            return found
        person = store.add_person(conn, email, name or _display_name(email), email, now)
        self.rt.record(
            conn,
            ev.PersonLinked(person_id=email, account="email", value=email, method=method),
            now,
            actor=CONFIG_ACTOR if method == "aims.yaml" else Actor(method, "config"),
        )
        return person

    # -- identifying actors -------------------------------------------------------------------
    def identify(
        self, conn: Connection, actor: Actor, now: datetime, *, link: bool = True
    ) -> Actor:
        """``actor`` as the directory knows them: their person id, roles in force, delegations
        in force, conflicting roles held, and how their identity is known. With ``link=False``
        nothing is written (a read-only snapshot): an account first seen with its e-mail is
        still recognised, and tied to its person when called again in a write transaction.

        What the directory says of an actor is kept in this process for as long as the
        directory's version token stays the same (every change gets a new one), so an event
        costs one read of the token instead of the handful of reads below."""
        if actor.via in _NOT_A_PERSON:
            return actor
        # the token first, then the rows: rows newer than their token only cost a re-read later
        token = store.version(conn)
        cache = self._known
        if cache[0] != token:
            cache = self._known = (token, {})
        key = (actor.via, actor.id, actor.handle)
        known = cache[1].get(key)
        if known is None:
            known = self._read(conn, actor)
            if len(cache[1]) < _KNOWN_LIMIT:
                cache[1][key] = known
        if link and known.link_pending and known.person is not None:
            # the tool showed the e-mail of a person its account is not tied to yet: tie it
            # (a change of the directory: its token changes, and the copy kept here goes)
            self._link(
                conn,
                known.person.person_id,
                actor.via,
                known.link_pending,
                now,
                method=f"e-mail shown by {actor.via}",
                by=Actor(actor.via, "config"),
            )
        return self._as_known(actor, known, now)

    def _as_known(self, actor: Actor, known: _Known, now: datetime) -> Actor:
        if known.person is None:
            # recorded as their tool named them: the e-mail it showed, else jira:/slack:<id>
            return Actor(
                actor.id,
                actor.via,
                (),
                handle=actor.handle,
                assurance=UNRESOLVED,
            )
        acts_for = tuple(
            (d.from_person, d.role)
            for d, giver_holds_role in known.delegations
            # no re-delegation: only a holder of the role can hand it on
            if giver_holds_role and d.valid_from <= now < d.until
        )
        closed = actor.via == "cli" and not self.rt.cli_decisions_allowed
        return Actor(
            known.person.person_id,
            actor.via,
            known.roles,
            handle=actor.handle,
            assurance=CLI_FORBIDDEN if closed else _assurance(actor),
            acts_for=acts_for,
            conflicts=self.rt.config.conflicts_of(known.roles),
        )

    def _read(self, conn: Connection, actor: Actor) -> _Known:
        """What the directory's tables say of ``actor`` (reads only)."""
        person, link_pending = self._person_of(conn, actor)
        if person is None:
            return _Known(None)
        delegations = tuple(
            (d, d.role in self.roles_in_force(conn, d.from_person))
            for d in store.delegations(conn, person.person_id)
            if d.to_person == person.person_id
        )
        return _Known(
            person, self.roles_in_force(conn, person.person_id), delegations, link_pending
        )

    def _person_of(
        self, conn: Connection, actor: Actor
    ) -> tuple[store.PersonRow | None, str | None]:
        """The person ``actor`` is, and the account to tie to them when their tool showed
        their e-mail with an account not tied to anyone yet (None when nothing is to tie)."""
        if actor.via in ("jira", "slack"):
            # the account in the tool; an id written jira:<accountId> / slack:<user id> is one
            handle = actor.handle or (
                None if _EMAIL.match(actor.id) else actor.id.removeprefix(f"{actor.via}:")
            )
            if handle:
                found = store.find(conn, _account(actor.via), handle)
                if found is not None:
                    return found, None
            if not _EMAIL.match(actor.id):
                return None, None
            # the tool showed the e-mail: tie the account to the person who has it, once
            by_email = store.find(conn, "email", actor.id)
            if by_email is None or handle is None:
                return (by_email if handle is None else None), None
            current = by_email.jira_account_id if actor.via == "jira" else by_email.slack_user_id
            if current not in (None, handle):
                return None, None  # the person has another account there: not theirs to claim
            return by_email, (handle if current is None else None)
        return store.person(conn, actor.id) or store.find(conn, "email", actor.id), None

    def roles_in_force(self, conn: Connection, person_id: str) -> tuple[str, ...]:
        return tuple(sorted({g.role for g in store.open_grants(conn, person_id)}))

    # -- changes by people --------------------------------------------------------------------
    def link(self, name: str, account: str, value: str, *, by: Actor) -> store.PersonRow:
        """Tie a Jira accountId or Slack user id (or an e-mail) to the person ``name``."""
        asked = {"person": name, "account": account, "value": value}
        now = self.rt.clock.now()
        with self.rt.db.begin() as conn:
            if account not in ("email", "jira", "slack"):
                problem = f"'{account}' is not an account aims links: email, jira or slack"
            else:
                problem = None
            person = self._named(conn, name) if problem is None else None
            if problem is None and person is None:
                problem = self._unknown(conn, name)
            if problem is None and person is not None:
                taken = store.find(conn, _account(account), value)
                if taken is not None and taken.person_id != person.person_id:
                    problem = f"{account} '{value}' is linked to {taken.person_id} already"
            if problem is None and person is not None:
                self._link(conn, person.person_id, account, value, now, method="by hand", by=by)
                found = store.person(conn, person.person_id)
                assert found is not None
                return found
        self.refuse("link", problem or "refused", asked, by=by)
        raise AssertionError("unreachable")  # refuse raises

    def record_matches(
        self, tool: str, matches: list[AccountMatch], *, by: Actor, method: str
    ) -> SyncReport:
        """Links for the accounts a sync found (``tool`` is jira or slack); who it did not find
        is reported, and an account already tied to someone else is left alone."""
        report = SyncReport()
        now = self.rt.clock.now()
        with self.rt.db.begin() as conn:
            self.sync_roles(conn, now)
            for match in matches:
                person = store.find(conn, "email", match.email)
                if person is None:
                    person = self.ensure_person(
                        conn, match.email, now, method=method, name=match.display_name
                    )
                if match.account is None:
                    report.unmatched.setdefault(tool, []).append(match.email)
                    continue
                taken = store.find(conn, _account(tool), match.account)
                current = person.jira_account_id if tool == "jira" else person.slack_user_id
                if current == match.account:
                    continue
                if taken is not None or current is not None:
                    report.unmatched.setdefault(tool, []).append(
                        f"{match.email} (the account {match.account} or theirs is linked "
                        "elsewhere: use `aims people link`)"
                    )
                    continue
                self._link(conn, person.person_id, tool, match.account, now, method=method, by=by)
                report.linked.append(f"{person.person_id} {tool} {match.account}")
        return report

    def delegate(
        self,
        from_name: str,
        to_name: str,
        role: str,
        until: datetime,
        reason: str,
        *,
        by: Actor,
    ) -> store.DelegationRow:
        """``to`` may act for ``from`` in ``role`` until ``until``: refused (and recorded so)
        for an unknown person or role, a role ``from`` does not hold themselves (no
        re-delegation), oneself, a date passed, or no reason."""
        asked = {
            "from": from_name,
            "to": to_name,
            "role": role,
            "until": until.isoformat(),
            "reason": reason,
        }
        now = self.rt.clock.now()
        with self.rt.db.begin() as conn:
            self.ensure_synced(conn, now)
            giver, taker = self._named(conn, from_name), self._named(conn, to_name)
            problem = self._delegation_problem(
                conn, from_name, to_name, giver, taker, role, until, reason, now
            )
            if problem is None and giver is not None and taker is not None:
                store.add_delegation(
                    conn,
                    from_person=giver.person_id,
                    to_person=taker.person_id,
                    role=role,
                    now=now,
                    until=until,
                    reason=reason.strip(),
                    by=by.id,
                )
                self.rt.record(
                    conn,
                    ev.DelegationGranted(
                        from_person=giver.person_id,
                        to_person=taker.person_id,
                        role=role,
                        until=until,
                        reason=reason.strip(),
                    ),
                    now,
                    actor=by,
                )
                return store.delegations(conn, taker.person_id)[-1]
        self.refuse("delegate", problem or "refused", asked, by=by)
        raise AssertionError("unreachable")

    def _delegation_problem(
        self,
        conn: Connection,
        from_name: str,
        to_name: str,
        giver: store.PersonRow | None,
        taker: store.PersonRow | None,
        role: str,
        until: datetime,
        reason: str,
        now: datetime,
    ) -> str | None:
        if giver is None:
            return self._unknown(conn, from_name)
        if taker is None:
            return self._unknown(conn, to_name)
        known = self.rt.known_roles()
        if role not in known:
            return f"'{role}' is not a role aims.yaml defines (roles: {', '.join(sorted(known))})"
        if giver.person_id == taker.person_id:
            return "a person cannot delegate to themselves"
        if role not in self.roles_in_force(conn, giver.person_id):
            return (
                f"{giver.person_id} does not hold {role} themselves, so cannot delegate it "
                "(a delegate cannot delegate again)"
            )
        if until <= now:
            return f"the delegation would end {until.isoformat()}, which has passed"
        if not reason.strip():
            return "a delegation needs a reason (--reason)"
        return None

    def refuse(self, action: str, reason: str, asked: dict[str, str], *, by: Actor) -> None:
        """Record the refusal (in a transaction of its own: nothing else of the request is
        written) and raise it."""
        now = self.rt.clock.now()
        with self.rt.db.begin() as conn:
            self.rt.record(
                conn, ev.DirectoryRefused(action=action, reason=reason, asked=asked), now, actor=by
            )
        raise DirectoryRefusal(reason)

    # -- reading ------------------------------------------------------------------------------
    def everyone(self) -> list[PersonView]:
        with self.rt.db.begin() as conn:
            self.ensure_synced(conn, self.rt.clock.now())
            return [self._view(conn, p) for p in store.everyone(conn)]

    def show(self, name: str) -> PersonView:
        with self.rt.db.begin() as conn:
            self.ensure_synced(conn, self.rt.clock.now())
            person = self._named(conn, name)
            if person is None:
                raise NotFound(self._unknown(conn, name), hint="see `aims people list`")
            return self._view(conn, person, full=True)

    def delegates_in(self, role: str, holders: list[str]) -> list[str]:
        """People a holder in ``holders`` delegated ``role`` to, in force now."""
        if not holders:
            return []
        now = self.rt.clock.now()
        with self.rt.db.connect() as conn:
            # every delegation, kept while the directory's version token stays the same (see
            # identify): asked for every approval decided, they are few and rarely change
            token = store.version(conn)
            kept = self._delegations
            if kept[0] != token:
                kept = self._delegations = (token, tuple(store.delegations(conn)))
        wanted = set(holders)
        in_force = (
            d.to_person
            for d in kept[1]
            if d.role == role and d.from_person in wanted and d.valid_from <= now < d.until
        )
        return list(dict.fromkeys(in_force))

    def person_of(self, tool: str, account: str) -> str | None:
        """The person id tied to a Jira accountId or Slack user id, if any."""
        with self.rt.db.connect() as conn:
            found = store.find(conn, _account(tool), account)
        return found.person_id if found else None

    def knows(self, tool: str, account: str) -> bool:
        """Whether a Jira accountId or Slack user id is tied to a person."""
        with self.rt.db.connect() as conn:
            return store.find(conn, _account(tool), account) is not None

    def people_without(self, tool: str) -> list[str]:
        """E-mails of people with no account linked in ``tool`` (jira or slack)."""
        return [
            v.email
            for v in self.everyone()
            if v.email and (v.jira_account_id if tool == "jira" else v.slack_user_id) is None
        ]

    def _view(self, conn: Connection, person: store.PersonRow, full: bool = False) -> PersonView:
        roles = self.roles_in_force(conn, person.person_id)
        history: tuple[str, ...] = ()
        delegations: tuple[str, ...] = ()
        if full:
            history = tuple(
                f"{g.role}: from {g.valid_from:%Y-%m-%d %H:%M}"
                + (f" to {g.valid_to:%Y-%m-%d %H:%M}" if g.valid_to else "")
                + f" (granted by {g.granted_by})"
                for g in store.grants_of(conn, person.person_id)
            )
            delegations = tuple(
                f"{d.to_person} for {d.from_person} as {d.role} until {d.until:%Y-%m-%d}: "
                f"{d.reason}"
                for d in store.delegations(conn, person.person_id)
            )
        return PersonView(
            person.person_id,
            person.display_name,
            person.email,
            person.jira_account_id,
            person.slack_user_id,
            roles,
            self.rt.config.conflicts_of(roles),
            history,
            delegations,
        )

    def find_person(self, conn: Connection, name: str) -> store.PersonRow | None:
        """A person by id, e-mail, Jira accountId or Slack user id, or None."""
        return self._named(conn, name)

    def _named(self, conn: Connection, name: str) -> store.PersonRow | None:
        """A person by id, e-mail, Jira accountId or Slack user id."""
        name = name.strip()
        return (
            store.person(conn, name)
            or store.find(conn, "email", name)
            or store.find(conn, "jira", name)
            or store.find(conn, "slack", name)
        )

    def _unknown(self, conn: Connection, name: str) -> str:
        close = [
            p.person_id
            for p in store.everyone(conn)
            if name.lower().split("@")[0] in p.person_id.lower()
        ][:3]
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        return f"nobody called '{name}' is in the directory of people{hint}"

    def _link(
        self,
        conn: Connection,
        person_id: str,
        account: str,
        value: str,
        now: datetime,
        *,
        method: str,
        by: Actor,
    ) -> None:
        store.set_account(conn, person_id, _account(account), value)
        self.rt.record(
            conn,
            ev.PersonLinked(
                person_id=person_id,
                account=_account(account),
                value=value,
                method=method,
            ),
            now,
            actor=by,
        )


def _one_sync_at_a_time(conn: Connection) -> None:
    """Workers starting together each sync aims.yaml's roles: on PostgreSQL the second waits
    for the first to commit (a transaction-scoped advisory lock, keyed by schema) and then
    finds everyone there, instead of adding the same person again. SQLite's write transaction
    is the lock there."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtext(current_schema()), "
                "hashtext('aims.directory.sync'))"
            )
        )


def _account(name: str) -> store.Account:
    """``name`` as one of the accounts the directory keeps (checked by the callers)."""
    if name not in ("email", "jira", "slack"):
        raise ValueError(f"no account '{name}'")
    return cast(store.Account, name)


def _assurance(actor: Actor) -> str:
    if actor.via in ("jira", "slack"):
        return f"verified by {actor.via}"
    if actor.assurance and actor.assurance not in (UNRESOLVED, CLI_FORBIDDEN):
        return actor.assurance
    return f"claimed (os user {actor.handle})" if actor.handle else "claimed"
