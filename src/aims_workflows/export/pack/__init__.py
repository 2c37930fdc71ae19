"""The audit pack: one zip of records, coverage, KPIs, the ledger slice of a period, and a
stdlib-only verifier (``templates/verify_ledger.py``) that an auditor runs without installing aims.

::

    from aims_workflows.export.pack import write_audit_pack
"""

from __future__ import annotations

from .writer import PackResult, default_pack_name, write_audit_pack

__all__ = ["PackResult", "write_audit_pack", "default_pack_name"]
