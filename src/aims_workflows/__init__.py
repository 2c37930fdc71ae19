"""aims-workflows: ISO/IEC 42001 AI management system workflows in Jira and Slack, with a
hash-chained evidence ledger.

The public names below are imported on first use, so ``import aims_workflows`` (and the ``aims``
command's start-up) stays cheap::

    from aims_workflows import load_workflows, advance, parse_event
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # the workflow language
    "WorkflowSpec": "spec",
    "load_spec": "spec",
    "load_workflows": "spec",
    "parse_spec": "spec",
    # the pure engine
    "advance": "engine",
    "new_run": "engine",
    "Event": "engine",
    "parse_event": "engine",
    "Actor": "engine",
    "Command": "engine",
    "EvidenceRecord": "engine",
    "RunState": "engine",
    "Subject": "engine",
    "Transition": "engine",
    # persistence and runtime
    "Database": "store",
    "Runtime": "runtime",
    "Dispatcher": "runtime",
    "Inventory": "inventory",
    "open_app": "app",
    "Settings": "config",
    "AimsConfig": "config",
    # the catalogue
    "load_catalog": "catalog",
    # errors
    "AimsError": "errors",
    "ConfigError": "errors",
    "SpecError": "errors",
    "InventoryError": "errors",
    "NotFound": "errors",
    "EngineError": "errors",
    "StoreError": "errors",
    "LedgerTampered": "errors",
    "ExportError": "errors",
    "IntegrationError": "errors",
    "RetryableError": "errors",
    "PermanentError": "errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aims_workflows' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
