"""The AI system inventory: the record and its fields (``model``), reading import files
(``importer``) and the service behind ``aims systems add | import | set`` (``service``).

::

    from aims_workflows.inventory import AISystemRecord, parse_import

The table access lives in ``store.inventory``. The service sits above the runtime (it starts
the workflows an inventory change triggers), so this package imports it only on first use:
the store and the exports read the record without loading the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .importer import parse_import
from .model import (
    LIFECYCLE_STAGES,
    LIST_FIELDS,
    MATERIAL_FIELDS,
    RISK_TIERS,
    AISystemRecord,
    validate_changes,
)

if TYPE_CHECKING:
    from .service import Inventory

__all__ = [
    "AISystemRecord",
    "Inventory",
    "LIFECYCLE_STAGES",
    "LIST_FIELDS",
    "MATERIAL_FIELDS",
    "RISK_TIERS",
    "parse_import",
    "validate_changes",
]


def __getattr__(name: str) -> Any:
    if name == "Inventory":
        from .service import Inventory

        return Inventory
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
