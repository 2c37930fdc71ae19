"""``python -m aims_workflows.engine.evidence_kinds [PATH]``: write the evidence reference
(``docs/evidence.md``) to PATH, or print it."""

from __future__ import annotations

import sys
from pathlib import Path

from ._reference import evidence_reference

if __name__ == "__main__":  # pragma: no cover - a maintenance helper
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(evidence_reference(), encoding="utf-8")
        print(sys.argv[1])
    else:
        sys.stdout.write(evidence_reference())
