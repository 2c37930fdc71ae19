"""Persistence: the database, its migrations, the evidence ledger, and the tables the runtime
and the KPIs read."""

from . import (  # noqa: F401 - every table on Base.metadata
    ledger,
    models,
    models_jira,
    models_kpi,
    models_people,
    models_risks,
    models_slack,
)
from .db import Database, redact_url

__all__ = ["Database", "ledger", "models", "redact_url"]
