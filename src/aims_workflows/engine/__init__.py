"""The pure workflow engine: events in; new state, commands and evidence out. No I/O, no clock."""

from .advance import MAX_STEPS_PER_EVENT, Transition, advance, expression_context, new_run
from .commands import Command
from .events import SYSTEM, Actor, Event
from .evidence import (
    GENESIS_HASH,
    ChainedEvidence,
    EvidenceRecord,
    canonical_json,
    chain,
    chain_hash,
    iso,
    verify_chain,
)
from .forms import check_answers
from .state import (
    SCHEMA_VERSION,
    ApprovalState,
    RunState,
    Subject,
    TaskState,
    Timer,
    dump_run,
    load_run,
)

__all__ = [
    "Actor",
    "ApprovalState",
    "ChainedEvidence",
    "Command",
    "Event",
    "EvidenceRecord",
    "GENESIS_HASH",
    "MAX_STEPS_PER_EVENT",
    "RunState",
    "SCHEMA_VERSION",
    "SYSTEM",
    "Subject",
    "TaskState",
    "Timer",
    "Transition",
    "advance",
    "canonical_json",
    "chain",
    "chain_hash",
    "check_answers",
    "dump_run",
    "expression_context",
    "iso",
    "load_run",
    "new_run",
    "verify_chain",
]
