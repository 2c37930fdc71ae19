"""One exception tree for the whole package.

::

    AimsError                      base: every error the package raises on purpose
    ├── ConfigError                settings or aims.yaml are wrong (says which key and how to fix)
    ├── SpecError                  a workflow file is invalid; carries every Problem found
    ├── InventoryError             an AI system record or import is invalid (row/column reasons)
    ├── NotFound                   a run, system, workflow or record that does not exist
    ├── EngineError                an event that the run cannot accept in its current state
    ├── EvidenceError              an evidence payload that does not fit its kind's contract
    ├── StoreError                 the database refused or is not initialised
    │   ├── LedgerTampered         the evidence hash chain does not verify
    │   └── SpecTampered           a run's pinned workflow text no longer matches its hash
    ├── ExportError                an export cannot be written where asked (exists, no directory)
    └── IntegrationError           a call to an outside system (Jira, Slack) failed
        ├── RetryableError         try again later (429, 503, timeouts); may carry retry_after
        └── PermanentError         will not succeed as sent (4xx that cannot be fixed by retrying)

Adapters translate foreign exceptions into ``IntegrationError`` subclasses at the boundary, so
the outbox dispatcher only has to ask ``isinstance(err, RetryableError)``.
"""

from __future__ import annotations

__all__ = [
    "AimsError",
    "ConfigError",
    "SpecError",
    "InventoryError",
    "NotFound",
    "EngineError",
    "EvidenceError",
    "StoreError",
    "LedgerTampered",
    "SpecTampered",
    "ExportError",
    "IntegrationError",
    "RetryableError",
    "PermanentError",
]


class AimsError(Exception):
    """Base class. ``hint`` tells the user how to fix the problem, when we know."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(AimsError):
    pass


class SpecError(AimsError):
    """A workflow definition is invalid. ``problems`` lists every problem, not just the first."""

    def __init__(self, problems: list, *, source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in workflow definition:\n{lines}")


class InventoryError(AimsError):
    """Bad AI system data. ``problems`` holds (row, column, message) tuples for imports."""

    def __init__(self, message: str, *, problems: list | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = list(problems or [])


class NotFound(AimsError):
    pass


class EngineError(AimsError):
    pass


class EvidenceError(AimsError):
    """An evidence kind that is not in the contract, or a payload that does not fit its kind
    (an unknown field, a missing one, a value of the wrong type)."""


class StoreError(AimsError):
    pass


class DatabaseUnavailable(StoreError):
    """The database did not answer, refused the connection, or stayed locked by another writer:
    a short problem worth waiting out and trying again (``aims worker`` backs off and retries)."""


class LedgerTampered(StoreError):
    """The evidence chain does not verify. ``seq`` is the first row that fails."""

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class SpecTampered(StoreError):
    """The stored text of a workflow version a run is pinned to does not hash to the pinned
    content hash: the run cannot go on with it (it is not the workflow it started on)."""


class ExportError(AimsError):
    """An export cannot be written where it was asked to go; nothing was left half written."""


class IntegrationError(AimsError):
    retryable = False
    answered: int | None = None
    """The HTTP status the other service answered with; None when no answer came (a timeout or
    a dropped connection), so whether the request took effect is unknown."""


class RetryableError(IntegrationError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class PermanentError(IntegrationError):
    retryable = False
