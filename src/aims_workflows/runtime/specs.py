"""Which spec a run uses: the files on disk for new runs, the stored text for pinned versions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from ..errors import SpecError, SpecTampered
from ..spec.loader import LoadedSpec, WorkflowSet, parse_spec
from ..spec.model import WorkflowSpec
from ..store._fast import Prepared
from ..store.models import SpecVersion
from ..store.upsert import insert_for

__all__ = ["SpecRegistry"]

_VERSIONS = SpecVersion.__table__
# compiled once per dialect: every start reads it (see store/_fast)
_STORED_HASH = Prepared(
    select(_VERSIONS.c.content_hash).where(
        _VERSIONS.c.workflow_id == bindparam("b_workflow_id"),
        _VERSIONS.c.version == bindparam("b_version"),
    ),
    ("b_workflow_id", "b_version"),
)


class SpecRegistry:
    """Current workflows plus every version a run was pinned to (a run started on version 3
    finishes on version 3, even after the file moves on)."""

    def __init__(self, workflows: WorkflowSet, roles: Iterable[str]) -> None:
        self.workflows = workflows
        self._roles = set(roles)
        self._by_hash: dict[str, WorkflowSpec] = {
            item.content_hash: item.spec for item in workflows
        }

    def current(self, workflow_id: str) -> LoadedSpec:
        return self.workflows.get(workflow_id)

    def register(self, conn: Connection, loaded: LoadedSpec, now: datetime) -> None:
        """Store this version's text once; refuse a changed file that kept its version number."""
        # No in-process cache of "registered": the caller's transaction may still roll back.
        spec = loaded.spec
        key = {"b_workflow_id": spec.id, "b_version": spec.version}
        found = _STORED_HASH.first(conn, key)
        stored = None if found is None else found[0]
        if stored is None:
            # insert-or-nothing, then read again: two workers registering the same version at
            # once (the first start of a workflow) both go on, instead of one failing on the key
            conn.execute(
                insert_for(conn.dialect.name, _VERSIONS)
                .values(
                    workflow_id=spec.id,
                    version=spec.version,
                    content_hash=loaded.content_hash,
                    source_name=loaded.source,
                    text=loaded.text,
                    registered_at=now,
                )
                .on_conflict_do_nothing()
            )
            found = _STORED_HASH.first(conn, key)
            stored = None if found is None else found[0]
        if stored != loaded.content_hash:
            raise _changed_without_bump(loaded)

    def by_hash(self, conn: Connection, content_hash: str) -> WorkflowSpec:
        spec = self._by_hash.get(content_hash)
        if spec is None:
            row = conn.execute(
                select(_VERSIONS.c.text, _VERSIONS.c.source_name).where(
                    _VERSIONS.c.content_hash == content_hash
                )
            ).first()
            if row is None:
                from ..errors import NotFound

                raise NotFound(f"no stored workflow version with hash {content_hash[:12]}")
            loaded = parse_spec(row.text, row.source_name, roles=self._roles)
            if loaded.content_hash != content_hash:
                raise SpecTampered(
                    f"the stored text of workflow '{loaded.spec.id}' v{loaded.spec.version} "
                    f"hashes to {loaded.content_hash[:12]}, not {content_hash[:12]} as pinned by "
                    "its runs: it is not the workflow they started on",
                    hint="restore the spec_versions row from a backup (aims db backup) or the "
                    "audit pack; runs on it stay where they are until then",
                )
            spec = loaded.spec
            self._by_hash[content_hash] = spec
        return spec


def _changed_without_bump(loaded: LoadedSpec) -> SpecError:
    from ..spec.problems import Problem

    return SpecError(
        [
            Problem(
                loaded.source,
                2,
                1,
                "version",
                f"workflow '{loaded.spec.id}' version {loaded.spec.version} changed since runs "
                "were started on it",
                f"raise 'version' to {loaded.spec.version + 1}: runs keep the version they "
                "started on",
            )
        ]
    )
