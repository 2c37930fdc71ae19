"""The registry of evidence kinds: parsing a stored payload into its model, and back."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any, TypeAlias, cast

from pydantic import ValidationError

from ...errors import EvidenceError
from . import (
    _approval_states,
    _approvals,
    _documents,
    _inbox,
    _integrations,
    _inventory,
    _people,
    _runs,
    _tasks,
    _witness,
)
from ._approval_states import ApprovalExpired, ApprovalStepUpRequested, ApprovalWithdrawn
from ._approvals import (
    ApprovalClosed,
    ApprovalDecided,
    ApprovalEscalated,
    ApprovalInvalidated,
    ApprovalOverdue,
    ApprovalRefused,
    ApprovalReminded,
    ApprovalRequested,
)
from ._base import EvidencePayload
from ._documents import DocumentRegistered, DocumentReviewed
from ._inbox import DeliveriesRetried
from ._integrations import AttachmentRecorded, CommandDead, CommandRevived, DocumentPublished
from ._inventory import AISystemChanged, AISystemRegistered, FindingRaised
from ._people import (
    DelegationGranted,
    DirectoryRefused,
    PersonLinked,
    RoleGranted,
    RoleRevoked,
)
from ._runs import (
    ArtefactRecorded,
    ChildFinished,
    DecisionTaken,
    NotificationSent,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunSpawned,
    RunStarted,
    SubjectChanged,
    WaitEnded,
    WaitStarted,
)
from ._tasks import (
    TaskAnswersChanged,
    TaskAnswersRefused,
    TaskCompleted,
    TaskEscalated,
    TaskIssued,
    TaskOverdue,
    TaskRefused,
    TaskReminded,
    TaskRequested,
)
from ._witness import LedgerCheckpoint

__all__ = [
    "SCHEMA_VERSION",
    "AREAS",
    "EVIDENCE_KINDS",
    "AnyEvidence",
    "close_kinds",
    "evidence_model",
    "evidence_payload",
    "parse_evidence",
]

SCHEMA_VERSION = "1.6"
"""The revision of the evidence contract: MAJOR.MINOR. MINOR grows with an additive change (a new
kind, a new optional field); MAJOR would grow only if a kind left the contract, which does not
happen: rows stay in the ledger for good, so a new shape is a new kind name."""

AREAS: dict[str, tuple[type[EvidencePayload], ...]] = {
    "Runs": _runs.KINDS,
    "Tasks": _tasks.KINDS,
    "Approvals": _approvals.KINDS + _approval_states.KINDS,
    "Inventory and findings": _inventory.KINDS,
    "Integrations": _integrations.KINDS,
    "The ledger": _witness.KINDS,
    "People and roles": _people.KINDS,
    "Documented information": _documents.KINDS,
    "Inbound deliveries": _inbox.KINDS,
}
"""The kinds grouped by what they are about, in the order the reference presents them."""


def _registry() -> dict[str, type[EvidencePayload]]:
    kinds: dict[str, type[EvidencePayload]] = {}
    for models in AREAS.values():
        for model in models:
            if model.KIND in kinds:  # pragma: no cover - a mistake in this package
                raise RuntimeError(f"two models for evidence kind '{model.KIND}'")
            kinds[model.KIND] = model
    return kinds


EVIDENCE_KINDS: dict[str, type[EvidencePayload]] = _registry()
"""Every evidence kind the ledger holds, by its name in the ledger's kind column."""

AnyEvidence: TypeAlias = (
    RunStarted
    | RunCompleted
    | RunFailed
    | RunCancelled
    | SubjectChanged
    | RunSpawned
    | ChildFinished
    | DecisionTaken
    | ArtefactRecorded
    | NotificationSent
    | WaitStarted
    | WaitEnded
    | TaskRequested
    | TaskIssued
    | TaskCompleted
    | TaskAnswersRefused
    | TaskRefused
    | TaskAnswersChanged
    | TaskReminded
    | TaskOverdue
    | TaskEscalated
    | ApprovalRequested
    | ApprovalDecided
    | ApprovalRefused
    | ApprovalClosed
    | ApprovalInvalidated
    | ApprovalReminded
    | ApprovalOverdue
    | ApprovalEscalated
    | ApprovalExpired
    | ApprovalWithdrawn
    | ApprovalStepUpRequested
    | AISystemRegistered
    | AISystemChanged
    | FindingRaised
    | AttachmentRecorded
    | CommandDead
    | CommandRevived
    | DocumentPublished
    | LedgerCheckpoint
    | PersonLinked
    | RoleGranted
    | RoleRevoked
    | DelegationGranted
    | DirectoryRefused
    | DocumentRegistered
    | DocumentReviewed
    | DeliveriesRetried
)
"""Any evidence payload; the ledger's kind column (through :data:`EVIDENCE_KINDS`) says which."""

_WHERE_LISTED = "the kinds and their fields are in docs/evidence.md and `aims schema --evidence`"


def close_kinds(kind: str) -> list[str]:
    """Known kinds whose names are close to ``kind``, closest first (for 'did you mean')."""
    return difflib.get_close_matches(kind, EVIDENCE_KINDS, n=3, cutoff=0.6)


def evidence_model(kind: str) -> type[EvidencePayload]:
    """The model of ``kind``; :class:`EvidenceError` naming close matches if there is none."""
    model = EVIDENCE_KINDS.get(kind)
    if model is not None:
        return model
    close = close_kinds(kind)
    if close:
        hint = f"did you mean {' or '.join(close)}? {_WHERE_LISTED}"
    else:
        hint = f"the kinds are {', '.join(sorted(EVIDENCE_KINDS))}"
    raise EvidenceError(f"unknown evidence kind '{kind}'", hint=hint)


def parse_evidence(kind: str, payload: str | Mapping[str, Any]) -> AnyEvidence:
    """The payload of a ledger row of ``kind`` as its model.

    ``payload`` is the stored JSON text or the dict it was made from. Raises
    :class:`EvidenceError` for an unknown kind, or naming the kind and every field that does not
    fit: unknown, missing, or of the wrong type.
    """
    model = evidence_model(kind)
    try:
        if isinstance(payload, str):
            parsed = model.model_validate_json(payload)
        else:
            parsed = model.model_validate(payload)
    except ValidationError as err:
        raise EvidenceError(_misfit(kind, model, err), hint=_WHERE_LISTED) from None
    return cast(AnyEvidence, parsed)  # the registry holds only members of AnyEvidence


def evidence_payload(evidence: EvidencePayload) -> dict[str, Any]:
    """The payload as the ledger stores it: ``canonical_json`` of this dict is the stored text.

    Fields a payload was read without (ones added to its kind after the row was written) stay
    absent, so a row parsed and written again keeps its bytes; a null that was written stays.
    """
    return evidence.model_dump(mode="json", exclude_unset=True)


def _misfit(kind: str, model: type[EvidencePayload], err: ValidationError) -> str:
    """One sentence naming the kind and, per field, what is wrong with it."""
    by_field: dict[str, list[str]] = {}
    unknown: list[str] = []
    for error in err.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"] if not _is_union_branch(part))
        kind_of_error = error["type"]
        if kind_of_error == "extra_forbidden":
            unknown.append(where)
            continue
        if kind_of_error == "missing":
            what = "missing"
        elif kind_of_error == "json_invalid":
            what = f"the payload is not JSON ({error['msg']})"
        elif kind_of_error in ("model_type", "model_attributes_type") and not where:
            what = "the payload must be a JSON object"
        elif kind_of_error == "value_error":
            what = error["msg"].removeprefix("Value error, ")
        else:
            what = f"{error['msg'].lower()} (got {_shown(error.get('input'))})"
        by_field.setdefault(where, [])
        if what not in by_field[where]:
            by_field[where].append(what)
    problems = [
        f"field '{where}': {' or '.join(whats)}" if where else " or ".join(whats)
        for where, whats in by_field.items()
    ]
    top = [name for name in unknown if "." not in name]
    if top:
        names = ", ".join(f"'{name}'" for name in top)
        fields = ", ".join(model.model_fields)
        problems.append(f"unknown field {names} ({kind} has the fields {fields})")
    problems += [f"unknown field '{name}'" for name in unknown if "." in name]
    return f"evidence {kind} does not fit its contract: " + "; ".join(problems)


def _is_union_branch(part: str | int) -> bool:
    # pydantic names the branch of a union it tried ("str", "literal['any','all']"): not a field
    return isinstance(part, str) and (part in _TYPE_NAMES or part.startswith(_TYPE_PREFIXES))


_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "none", "dict", "list", "function-before"})
_TYPE_PREFIXES = ("literal[", "list[", "dict[", "function-")


def _shown(value: object) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
