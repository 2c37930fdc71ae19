"""The runtime: units of work around the pure engine, the outbox dispatcher, timers, schedules
and the inventory service."""

from .backoff import Backoff
from .core import CLI, Outcome, Runtime
from .dispatcher import Dispatcher, DispatchReport
from .inbound import Delivery
from .inventory_service import Inventory

__all__ = [
    "Backoff",
    "CLI",
    "Delivery",
    "DispatchReport",
    "Dispatcher",
    "Inventory",
    "Outcome",
    "Runtime",
]
