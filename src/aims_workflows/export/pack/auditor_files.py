"""The pack's auditor files (``auditor/``), its witness files (``witness/``), the modules its
verifier imports, and the canonical JSON of each pinned workflow definition.

Kept apart from ``writer`` so that the writer only gains calls: the files themselves are built
by :mod:`.auditor` (standard library only), which the verifier runs again over the pack.
"""

from __future__ import annotations

import json
from typing import Any

from ...engine import chain_walk, checkpoints, timestamps
from ...engine.evidence import iso
from ...kpi import formulas
from ..ledger_slice import FIELDS, iter_slice, seq_range
from ..period import Period
from . import auditor, kpi_rows
from ._zip import PackWriter

__all__ = [
    "add_auditor_files",
    "add_kpi_facts",
    "add_witness_files",
    "spec_json",
    "VERIFIER_MODULES",
]

VERIFIER_MODULES = {
    "evidence/aims_chain.py": chain_walk,
    "evidence/aims_auditor.py": auditor,
    "evidence/aims_checkpoints.py": checkpoints,
    "evidence/aims_timestamps.py": timestamps,
    "evidence/aims_kpis.py": formulas,
    "evidence/aims_kpi_rows.py": kpi_rows,
}
"""The modules the pack's verifier imports, shipped as their source next to it."""


def _source(module: Any) -> str:
    from pathlib import Path

    return Path(module.__file__).read_text(encoding="utf-8")


def add_auditor_files(
    pack: PackWriter, conn: Any, period: Period, seed: str | None, counts: dict[str, int]
) -> str:
    """auditor/ from the period's ledger rows (the rows of evidence/ledger.jsonl, read again);
    returns the sampling seed used."""
    for path, module in VERIFIER_MODULES.items():
        pack.add(path, _source(module))
    bounds = seq_range(conn, period)
    rows = (
        (dict(zip(FIELDS, values, strict=True)) for values in iter_slice(conn, *bounds))
        if bounds
        else iter(())
    )
    last_hash = None
    if bounds:
        last = list(iter_slice(conn, bounds[1], bounds[1]))
        last_hash = last[0][-1] if last else None
    used = seed or auditor.default_seed(last_hash)
    since, until = period.as_dict()["since"], period.as_dict()["until"]
    files = auditor.build(rows, seed=used, since=since, until=until)
    for path, text in files.items():
        pack.add(path, text)
    counts["auditor/sample.csv"] = max(0, files["auditor/sample.csv"].count("\r\n") - 1)
    return used


def add_kpi_facts(pack: PackWriter, kpis: list[Any], chain: Any, generated: str) -> None:
    """evidence/kpi_facts.json: each KPI of ``kpis.csv`` with the base measures it was made
    from (``Kpi.facts``), its unit, target and direction, and the ledger head the database
    stood at when they were read, for the verifier to run the formulas again
    (``aims_kpis.rebuilt``)."""
    from ...kpi.queries import definitions

    defined = {d.key: d for d in definitions()}
    entries = []
    for kpi in kpis:
        definition = defined[kpi.key]
        entries.append(
            {
                "key": kpi.key,
                "label": kpi.label,
                "unit": kpi.unit,
                "target": kpi.target,
                "target_setting": definition.target,
                "direction": definition.direction,
                "facts": kpi.facts,
            }
        )
    document = {
        "measured_at": generated,
        "chain_head": {"seq": chain.head_seq, "hash": chain.head_hash},
        "about": (
            "the base measures each KPI in kpis.csv was computed from, read from the database "
            "at measured_at, when the ledger head was chain_head; evidence/verify_ledger.py "
            "applies each KPI's formula (evidence/aims_kpis.py) to them again and compares "
            "with kpis.csv"
        ),
        "kpis": entries,
    }
    pack.add("evidence/kpi_facts.json", json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def add_witness_files(pack: PackWriter, conn: Any, app: Any) -> int:
    """witness/: every checkpoint in the ledger (all of them, whatever the period: they vouch
    for the chain as a whole) and the public key they verify under, when the key file is
    there. Returns the number of checkpoints."""
    from ...runtime.witness import ledger_checkpoints

    found = ledger_checkpoints(conn)
    lines = [json.dumps({"row": seq, **c.as_dict()}, sort_keys=True) for seq, c in found]
    pack.add("witness/checkpoints.jsonl", "".join(line + "\n" for line in lines))
    path = app.settings.witness_key_path()
    if path.exists():
        from ...errors import ConfigError
        from ...runtime.witness import WitnessKey

        try:
            key = WitnessKey.load(path)
        except ConfigError as err:
            pack.add("witness/NO-PUBLIC-KEY.txt", f"the witness key could not be read: {err}\n")
        else:
            pack.add("witness/public_key.txt", key.public_text() + "\n")
    add_timestamp_files(pack, conn, app)
    return len(found)


def add_timestamp_files(pack: PackWriter, conn: Any, app: Any) -> None:
    """witness/timestamps.jsonl (every TSA token in the ledger, with the checkpoint it stamps),
    witness/tsa-certificates.pem (the certificates the tokens carry: the TSA's chain) and
    witness/tsa-ca.pem (the CA the exporter trusts, AIMS_WITNESS_TSA_CA). Nothing when the
    ledger holds no token."""
    from ...runtime.timestamps import ledger_timestamps

    rows = ledger_timestamps(conn)
    if not rows:
        return
    lines, tokens = [], []
    for seq, payload, stored in rows:
        entry = json.loads(stored) if payload is None else payload.model_dump(mode="json")
        if payload is not None:
            entry["at"] = iso(payload.at)
            tokens.append(payload.token)
        lines.append(json.dumps({"row": seq, **entry}, sort_keys=True))
    pack.add("witness/timestamps.jsonl", "".join(line + "\n" for line in lines))
    pack.add("witness/tsa-certificates.pem", _carried_certificates(tokens))
    ca = app.settings.witness_tsa_ca
    if ca is not None and ca.is_file():
        pack.add("witness/tsa-ca.pem", ca.read_bytes().decode("ascii", errors="replace"))


def _carried_certificates(tokens: list[str]) -> str:
    """The distinct certificates the tokens carry, PEM, in the order first seen."""
    try:
        seen: dict[str, None] = {}
        for token in tokens:
            try:
                facts = timestamps.token_facts(timestamps.decode_token(token))
            except ValueError:
                continue  # the verifier names a damaged token
            seen.update(dict.fromkeys(facts.get("certificates", [])))
    except ImportError:
        return "# the certificates were not extracted: rfc3161-client is not installed\n"
    return "".join(seen)


def spec_json(text: str, source: str) -> str:
    """The canonical JSON of a stored workflow text: the bytes its pinned hash covers (see
    :func:`aims_workflows.spec.loader.spec_hash`)."""
    from ...spec.loader import parse_spec, spec_canonical_json

    try:
        spec = parse_spec(text, source).spec
    except Exception as err:  # noqa: BLE001 - said in the file; the verifier names the mismatch
        return json.dumps({"error": f"this version no longer parses: {err}"}) + "\n"
    return spec_canonical_json(spec)
