"""The database: reachable, migrated to this release, and holding a ledger head."""

from __future__ import annotations

from ..errors import AimsError
from ..store import Database
from ..store.db import redact_url
from ._check import Check

__all__ = ["database_checks"]


def database_checks(url: str) -> list[Check]:
    where = redact_url(url)
    try:
        db = Database(url)
    except AimsError as err:
        return [Check("database", "reachable", "fail", f"{where}: {err.message}", err.hint or "")]
    try:
        try:
            with db.connect():
                pass
        except AimsError as err:
            return [
                Check(
                    "database",
                    "reachable",
                    "fail",
                    f"{where}: {err.message}",
                    err.hint or "check AIMS_DATABASE_URL",
                )
            ]
        except Exception as err:  # noqa: BLE001 - any driver error means unreachable
            return [
                Check(
                    "database",
                    "reachable",
                    "fail",
                    f"{where}: {type(err).__name__}",
                    "check AIMS_DATABASE_URL and that the server is running and accepts this user",
                )
            ]
        checks = [Check("database", "reachable", "ok", where)]
        try:
            db.require_ready()
        except AimsError as err:
            checks.append(Check("database", "migrated", "fail", err.message, err.hint or ""))
            return checks
        checks.append(Check("database", "migrated", "ok", f"revision {db.current_revision()}"))
        return checks
    finally:
        db.dispose()
