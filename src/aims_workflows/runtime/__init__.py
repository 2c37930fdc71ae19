"""The runtime: units of work around the pure engine, the outbox dispatcher, timers and
schedules (the inventory service built on it is ``aims_workflows.inventory.Inventory``)."""

from .backoff import Backoff
from .batch import HeldBack, Queued
from .core import CLI, Outcome, Runtime
from .directory import AccountMatch, Directory, DirectoryRefusal, PersonView, SyncReport
from .dispatcher import Dispatcher, DispatchReport
from .inbound import Delivery
from .step_ups import PendingStepUp, applied_elsewhere, pending_step_ups

__all__ = [
    "AccountMatch",
    "Backoff",
    "Directory",
    "DirectoryRefusal",
    "PendingStepUp",
    "PersonView",
    "SyncReport",
    "CLI",
    "Delivery",
    "DispatchReport",
    "Dispatcher",
    "HeldBack",
    "Outcome",
    "Queued",
    "Runtime",
    "applied_elsewhere",
    "pending_step_ups",
]
