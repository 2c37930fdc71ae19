"""The auditor's files of the pack, built from the ledger rows in the pack and nothing else.

The exporter builds them from the rows it writes to ``evidence/ledger.jsonl``; the pack's
standalone verifier builds them again from that file and compares byte for byte. So a register
edited in the pack (together with the manifest) is named, and every figure in these files can
be traced to ledger rows an auditor has verified.

* ``auditor/risk_register.csv``, ``auditor/impact_register.csv``: the risk register entries and
  impact assessment records the workflows recorded (``artefact.recorded`` rows);
* ``auditor/control_index.csv``: control (or clause) -> run -> the ledger rows of the run;
* ``auditor/sampling.json`` and ``auditor/sample.csv``: a seeded, reproducible sample of runs
  per control (10%, at least 3, at most 30 runs, all of them when there are fewer);
* ``auditor/sod_exceptions.csv``: every refused approval attempt, and every approval given by
  someone who also held a conflicting part in the same run (:data:`CONFLICT_RULES`);
* ``auditor/coverage_timeline.csv``: per AI system and month of the period, the risk and impact
  assessments current at the month's end, months without one flagged;
* ``auditor/runs/<run>.md``: each run's timeline as a readable page.

Standard library only, Python 3.8 syntax: shipped as ``evidence/aims_auditor.py``.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

__all__ = [
    "CONFLICT_RULES",
    "SAMPLE_MAX",
    "SAMPLE_MIN",
    "SAMPLE_RATE",
    "build",
    "CROSS_CHECK_KINDS",
    "RegisterRows",
    "coverage_problems",
    "cross_check_registers",
    "default_seed",
    "draw",
    "loads",
    "sample_size",
]

SAMPLE_RATE = 0.10
SAMPLE_MIN = 3
SAMPLE_MAX = 30
ASSESSMENT_VALID_DAYS = 365
"""An assessment is current for a year after it was completed (the shipped yearly review)."""
ASSESSMENTS = (("risk_assessment", "8.2"), ("impact_assessment", "8.4"))
"""What the coverage timeline looks for: runs that evidence these clauses and completed."""
REGISTERS = (
    ("auditor/risk_register.csv", "risk_register_entry"),
    ("auditor/impact_register.csv", "impact_assessment_record"),
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DECODER = json.JSONDecoder()
# the C scanner that JSONDecoder.decode runs after two regexes
_SCAN = _DECODER.scan_once  # type: ignore[attr-defined]


def loads(text: str) -> Any:
    """``json.loads(text)`` for text: the same value, or the same ValueError. A text that is one
    JSON value and nothing else (every row and payload aims writes) goes to the C scanner
    straight, without ``decode``'s whitespace matching and two Python calls: it is read once
    per row, twice with its payload, and that set-up was a third of the time."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        return _DECODER.decode(text)  # raises, saying where
    if end != len(text):
        return _DECODER.decode(text)  # trailing whitespace, or extra data (raises)
    return value


_DECODE = loads


def cell(value: Any) -> str:
    """A JSON value as CSV text, defused like every CSV of the pack (a leading apostrophe on text
    a spreadsheet would run as a formula)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(round(value, 6))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def sample_size(population: int) -> int:
    """10% of the population, at least 3 and at most 30; never more than there are."""
    wanted = max(SAMPLE_MIN, min(SAMPLE_MAX, math.ceil(population * SAMPLE_RATE)))
    return min(population, wanted)


def _draw_key(seed: str, control: str, run_id: str) -> str:
    return hashlib.sha256(f"{seed}\n{control}\n{run_id}".encode()).hexdigest()


def draw(seed: str, control: str, population: Iterable[str]) -> list[tuple[str, str]]:
    """The sample of ``population`` (run ids) for ``control``: every run is ranked by
    SHA-256(seed, control, run id) and the lowest ranks are taken. Anyone can redraw it with the
    seed; nobody can steer it without changing the seed."""
    ranked = sorted((_draw_key(seed, control, run), run) for run in set(population))
    return [(run, key) for key, run in ranked[: sample_size(len(ranked))]]


def default_seed(last_hash: str | None) -> str:
    """The seed when none is given: drawn from the hash of the last row in the pack, which
    nobody picks (it is fixed by the whole history before it)."""
    return (last_hash or "0" * 64)[:16]


# -- one pass over the rows ---------------------------------------------------------------------
class _Run:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.workflow = ""
        self.version: Any = None
        self.spec_hash = ""
        self.subject: dict[str, Any] = {}
        self.evidences: list[str] = []
        self.status = "open"
        self.completed_at: str | None = None
        self.seqs: list[int] = []
        self.lines: list[tuple[int, str, str, str, str]] = []
        self.participants: dict[str, list[tuple[str, str]]] = {}  # person -> (step, role)
        self.step_roles: dict[str, str] = {}  # step -> the role its task was asked of
        self.approvers: dict[str, list[str]] = {}  # approval id -> the roles that may decide
        self.started = False


class _Ledger:
    def __init__(self) -> None:
        self.runs: dict[str, _Run] = {}
        self.artefacts: dict[str, list[tuple[int, str, str, dict[str, Any]]]] = {}
        self.sod: list[list[Any]] = []
        self.systems: dict[str, tuple[str, str]] = {}  # id -> (name, registered at)
        self.first_at: str | None = None
        self.last_at: str | None = None
        self.last_hash: str | None = None

    def run(self, run_id: str) -> _Run:
        found = self.runs.get(run_id)
        if found is None:
            found = self.runs[run_id] = _Run(run_id)
        return found

    def add(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """Take in one row; returns its payload parsed, None when it is no JSON object."""
        kind, at = row["kind"], row["effective_at"]
        self.first_at = self.first_at or row["recorded_at"]
        self.last_at, self.last_hash = row["recorded_at"], row["hash"]
        try:
            payload = _DECODE(row["payload"])
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = None
        self._add(row, kind, at, payload or {})
        return payload

    def _add(self, row: Mapping[str, Any], kind: str, at: str, payload: dict[str, Any]) -> None:
        if kind == "ai_system.registered":
            record = payload.get("record") or {}
            self.systems[str(payload.get("system_id"))] = (str(record.get("name", "")), at)
        run_id = row["run_id"]
        if not run_id:
            return
        run = self.runs.get(run_id) or self.run(run_id)  # the lookup inlined: once a row
        seq = row["seq"]
        run.seqs.append(seq)
        run.lines.append((seq, at, kind, row["actor"], describe(kind, payload)))
        if kind == "run.started":
            run.started = True
            run.workflow = str(payload.get("workflow", ""))
            run.version = payload.get("version")
            run.spec_hash = str(payload.get("spec_hash", ""))
            run.subject = payload.get("subject") or {}
            run.evidences = [str(c) for c in payload.get("evidences") or []]
        elif kind in ("run.completed", "run.cancelled", "run.failed"):
            run.status = kind.split(".", 1)[1]
            run.completed_at = at
        elif kind == "artefact.recorded":
            name = str(payload.get("artefact", ""))
            fields = payload.get("fields") or {}
            self.artefacts.setdefault(name, []).append((row["seq"], run_id, at, fields))
        elif kind == "task.requested":
            run.step_roles[str(row["step_id"])] = str(payload.get("role"))
        elif kind == "approval.requested":
            run.approvers[str(payload.get("approval_id"))] = [
                str(r) for r in payload.get("approvers") or []
            ]
        elif kind in ("task.completed", "task.answers_changed"):
            step = str(row["step_id"])
            done = "completed" if kind == "task.completed" else "changed the answers of"
            run.participants.setdefault(str(payload.get("by")), []).append(
                (f"{done} step {step}", run.step_roles.get(step, ""))
            )
        elif kind == "approval.refused":
            self.sod.append(
                [
                    row["seq"],
                    at,
                    run_id,
                    "refused attempt",
                    payload.get("person"),
                    payload.get("approval_id"),
                    payload.get("reason"),
                ]
            )
        elif kind == "approval.decided" and payload.get("decision") == "approve":
            person = str(payload.get("person"))
            for rule in CONFLICT_RULES:
                conflict = rule(person, payload, run)
                if conflict:
                    self.sod.append(
                        [
                            row["seq"],
                            at,
                            run_id,
                            "conflicting roles",
                            person,
                            payload.get("approval_id"),
                            conflict,
                        ]
                    )


def _doer_and_approver(person: str, decision: Mapping[str, Any], run: _Run) -> str | None:
    """The approver did work of the run in a role that is not one of the approval's: one
    person in two roles (a risk owner who treats a risk and accepts it acts in one role)."""
    approving = run.approvers.get(str(decision.get("approval_id")), [])
    other = [
        (what, role) for what, role in run.participants.get(person, []) if role not in approving
    ]
    if not other:
        return None
    done = "; ".join(f"{what} as {role or 'an unknown role'}" for what, role in other)
    return f"approved as {' or '.join(approving) or 'an approver'} after having {done}"


CONFLICT_RULES: list[Callable[[str, Mapping[str, Any], Any], str | None]] = [_doer_and_approver]
"""Each rule reads an approval (the approver, the decision's payload, what the run did before)
and says what conflict it finds. A people directory with role grants adds its rules here."""


def describe(kind: str, payload: Mapping[str, Any]) -> str:
    """One line saying what a row records, for the run timelines."""
    p = payload
    if kind == "run.started":
        subject = (p.get("subject") or {}).get("name", "")
        return f"started {p.get('workflow')} v{p.get('version')} on {subject}"
    if kind == "task.requested":
        return f"task '{p.get('title')}' for {p.get('role')}"
    if kind == "task.issued":
        return f"issued as {p.get('ref')} to {p.get('assignee') or 'nobody yet'}"
    if kind == "task.completed":
        return f"completed by {p.get('by')}"
    if kind == "approval.requested":
        return f"approval {p.get('approval_id')} asked of {', '.join(p.get('approvers') or [])}"
    if kind == "approval.decided":
        return f"{p.get('person')}: {p.get('decision')}, '{p.get('reason')}'"
    if kind == "approval.refused":
        return f"refused {p.get('person')}: {p.get('reason')}"
    if kind == "approval.closed":
        return f"approval {p.get('approval_id')} {p.get('outcome')}"
    if kind == "artefact.recorded":
        return f"recorded {p.get('artefact')}"
    if kind in ("run.cancelled", "run.failed"):
        return str(p.get("reason", ""))
    scalars = [f"{k}={v}" for k, v in sorted(p.items()) if isinstance(v, (str, int, float))]
    return ", ".join(scalars)[:200]


# -- the files -----------------------------------------------------------------------------------
def _registers(ledger: _Ledger) -> dict[str, str]:
    files = {}
    for path, artefact in REGISTERS:
        entries = ledger.artefacts.get(artefact, [])
        names: list[str] = sorted({k for _, _, _, fields in entries for k in fields})
        rows = [
            [seq, run_id, at, *(fields.get(name) for name in names)]
            for seq, run_id, at, fields in entries
        ]
        files[path] = csv_text(["ledger_seq", "run", "recorded_at", *names], rows)
    return files


def _controls(ledger: _Ledger) -> dict[str, list[_Run]]:
    by_control: dict[str, list[_Run]] = {}
    for run in ledger.runs.values():
        for control in run.evidences:
            by_control.setdefault(control, []).append(run)
    return dict(sorted(by_control.items()))


def _control_index(ledger: _Ledger) -> str:
    rows = [
        [
            control,
            run.run_id,
            run.workflow,
            run.version,
            run.subject.get("name"),
            run.status,
            len(run.seqs),
            " ".join(str(s) for s in run.seqs),
        ]
        for control, runs in _controls(ledger).items()
        for run in sorted(runs, key=lambda r: r.run_id)
    ]
    header = ["control", "run", "workflow", "version", "subject", "status", "rows", "ledger_seqs"]
    return csv_text(header, rows)


def _sample(ledger: _Ledger, seed: str) -> tuple[str, str]:
    rows = []
    controls = _controls(ledger)
    runs = ledger.runs
    for control, members in controls.items():
        population = [r.run_id for r in members]
        for rank, (run_id, key) in enumerate(draw(seed, control, population), start=1):
            run = runs[run_id]
            rows.append(
                [
                    control,
                    len(set(population)),
                    rank,
                    run_id,
                    run.workflow,
                    run.subject.get("name"),
                    run.status,
                    key,
                ]
            )
    header = ["control", "population", "rank", "run", "workflow", "subject", "status", "draw_key"]
    method = {
        "seed": seed,
        "unit": "run (a workflow run that evidences the control, started in the pack's rows)",
        "rate": SAMPLE_RATE,
        "minimum": SAMPLE_MIN,
        "maximum": SAMPLE_MAX,
        "method": "rank each run by SHA-256 of '<seed>\\n<control>\\n<run id>' (hex); take the "
        "lowest ranks: max(3, min(30, ceil(10% of the population))), at most the population",
        "controls": len(controls),
        "sampled": len(rows),
    }
    return json.dumps(method, indent=2, ensure_ascii=False) + "\n", csv_text(header, rows)


def _time(text: str) -> datetime:
    return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def _months(first: str, last: str) -> list[tuple[str, datetime]]:
    """``(YYYY-MM, the first moment of the next month)`` from ``first``'s month to ``last``'s."""
    year, month = int(first[:4]), int(first[5:7])
    end = (int(last[:4]), int(last[5:7]))
    months = []
    while (year, month) <= end:
        after = (year + month // 12, month % 12 + 1)
        months.append(
            (f"{year:04d}-{month:02d}", datetime(after[0], after[1], 1, tzinfo=timezone.utc))
        )
        year, month = after
    return months


def _coverage(ledger: _Ledger, since: str | None, until: str | None) -> str:
    header = ["system", "month", "risk_assessment", "impact_assessment", "flagged", "missing"]
    first = since or ledger.first_at
    last = until or ledger.last_at
    if first is None or last is None:
        return csv_text(header, [])
    systems: dict[str, tuple[str, str | None]] = {
        key: (name, at) for key, (name, at) in ledger.systems.items()
    }
    done: dict[str, dict[str, list[tuple[datetime, str]]]] = {}
    for run in ledger.runs.values():
        if run.subject.get("type") != "ai_system":
            continue
        key = str(run.subject.get("id"))
        systems.setdefault(key, (str(run.subject.get("name", "")), None))
        if run.status == "completed" and run.completed_at:
            for what, clause in ASSESSMENTS:
                if clause in run.evidences:
                    done.setdefault(key, {}).setdefault(what, []).append(
                        (_time(run.completed_at), run.run_id)
                    )
    rows = []
    validity = timedelta(days=ASSESSMENT_VALID_DAYS)
    for key, (name, registered) in sorted(systems.items(), key=lambda item: item[1][0]):
        for month, month_end in _months(first, last):
            if registered and _time(registered) >= month_end:
                continue  # not in the inventory yet
            current = []
            for what, _ in ASSESSMENTS:
                valid = [
                    (at, run_id)
                    for at, run_id in done.get(key, {}).get(what, [])
                    if month_end - validity <= at < month_end
                ]
                current.append(max(valid)[1] if valid else "")
            missing = [what for (what, _), run in zip(ASSESSMENTS, current) if not run]  # noqa: B905
            rows.append([name, month, *current, "yes" if missing else "no", " ".join(missing)])
    return csv_text(header, rows)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _md(text: Any) -> str:
    text = str(text)
    if "\\" in text or "|" in text or "\n" in text:  # rarely: most text is left as it is
        text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text


def _timelines(ledger: _Ledger) -> dict[str, str]:
    pages = {}
    for run in sorted(ledger.runs.values(), key=lambda r: r.run_id):
        subject = run.subject.get("name") or "(started before the pack's first row)"
        lines = [
            f"# Run {_md(run.run_id)}",
            "",
            f"- Workflow: {_md(run.workflow or '(not in these rows)')} v{run.version}",
            f"- Pinned definition: `{run.spec_hash or '-'}`",
            f"- Subject: {_md(subject)}",
            f"- Status at the end of the pack's rows: {run.status}",
            f"- Evidences: {', '.join(run.evidences) or '-'}",
            "",
            "| Row | When (UTC) | What | Who | Details |",
            "| ---: | --- | --- | --- | --- |",
        ]
        for seq, at, kind, actor, text in run.lines:
            when = at[:19].replace("T", " ")
            lines.append(f"| {seq} | {when} | {kind} | {_md(actor)} | {_md(text)} |")
        pages[f"auditor/runs/{_safe(run.run_id)}.md"] = "\n".join(lines) + "\n"
    return pages


def build(
    rows: Iterable[Mapping[str, Any]],
    *,
    seed: str | None = None,
    since: str | None = None,
    until: str | None = None,
    also: Callable[[Mapping[str, Any], dict[str, Any] | None], None] | None = None,
) -> dict[str, str]:
    """Every auditor file, by its path in the pack, from ledger ``rows`` in ``seq`` order.

    ``since``/``until``: the period (``YYYY-MM-DD``, both days included), for the coverage
    timeline's months; ``seed``: the sampling seed (default: :func:`default_seed`); ``also``:
    called with every row and its parsed payload (so that other checks need not parse it
    again, e.g. :meth:`RegisterRows.add`)."""
    ledger = _Ledger()
    # what is kept of the rows holds no reference cycle, and the cyclic collector would walk
    # all of it again and again as it grows (a tenth of the time on a large pack): paused
    collecting = gc.isenabled()
    gc.disable()
    try:
        if also is None:
            for row in rows:
                ledger.add(row)
        else:
            for row in rows:
                also(row, ledger.add(row))
    finally:
        if collecting:
            gc.enable()
    seed = seed or default_seed(ledger.last_hash)
    files = _registers(ledger)
    files["auditor/control_index.csv"] = _control_index(ledger)
    files["auditor/sampling.json"], files["auditor/sample.csv"] = _sample(ledger, seed)
    files["auditor/sod_exceptions.csv"] = csv_text(
        ["ledger_seq", "at", "run", "type", "person", "approval", "detail"], ledger.sod
    )
    files["auditor/coverage_timeline.csv"] = _coverage(ledger, since, until)
    files.update(_timelines(ledger))
    return files


# -- the registers written from the database's tables, checked against the rows ------------------
def _plain(text: str) -> str:
    """A CSV cell's value with the spreadsheet defusing undone."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS):
        return text[1:]
    return text


def _mismatches(entry: Mapping[str, str], want: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(column, what the register's ``entry`` says, what it should say) for each column of
    ``want`` whose cell, its spreadsheet defusing undone, says otherwise; in ``want``'s order."""
    found = []
    for column, value in want.items():
        have = _plain(entry.get(column, ""))
        if have != value:
            found.append((column, have, value))
    return found


_CHECKED_KINDS = (
    "run.started",
    "run.completed",
    "run.cancelled",
    "run.failed",
    "approval.requested",
    "approval.decided",
)


def _cell_text(value: Any) -> str:
    """A value as the pack's CSVs write it (``export/_csv.cell``), defusing undone."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict))
    return str(value)


_INVENTORY_TEXT = (
    "name",
    "owner",
    "business_purpose",
    "model_type",
    "data_sources",
    "outputs",
    "users",
    "deployment_scale",
    "dependencies",
    "lifecycle_stage",
    "risk_tier",
    "in_scope",
    "jurisdictions",
)
_REGISTER_KINDS = (
    "ai_system.registered",
    "ai_system.changed",
    "finding.raised",
    "task.requested",
    "task.issued",
    "task.completed",
)
CROSS_CHECK_KINDS = frozenset(_CHECKED_KINDS + _REGISTER_KINDS)
SOA_ARTEFACT = "statement_of_applicability"
"""The artefact the soa-review workflow records when top management approves a version."""
_SOA_LINE = re.compile(r"^\s*(A\.\d+(?:\.\d+)+)\s*:\s*(.+?)\s*$")
"""The kinds of row :class:`RegisterRows` reads."""


_UNPARSED: Any = object()


class RegisterRows:
    """What the ledger rows say about the registers written from the database's tables,
    gathered in one pass (:meth:`add` every row in ``seq`` order; rows of other kinds are
    passed over), then compared by :meth:`runs_problems` and :meth:`register_problems`."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}
        self.ended: dict[str, str] = {}
        self.requested: set[str] = set()
        self.decided: dict[str, list[tuple[str, str, str]]] = {}
        self.systems: dict[str, dict[str, Any]] = {}
        self.findings: dict[str, dict[str, Any]] = {}
        self.tasks: dict[tuple[str, str, str], dict[str, str]] = {}
        # for soa.csv and clauses.csv: per (run, step), its rows and latest moment
        self.step_rows: dict[tuple[str, Any], list[Any]] = {}  # -> [rows, latest effective_at]
        self.started_at: dict[str, str] = {}  # run -> effective_at of its run.started row
        self.completed_at: dict[str, str] = {}  # run -> effective_at of its run.completed row
        self.approved_soa: dict[str, Any] | None = None  # the last approved SoA's fields

    def add(self, row: Mapping[str, Any], payload: Any = _UNPARSED) -> None:
        """Take in one row; ``payload``: its payload as :meth:`_Ledger.add` parsed it (None:
        no JSON object), when it was."""
        kind = row["kind"]
        run_id = row["run_id"]
        if run_id:
            key = (run_id, row["step_id"])
            seen = self.step_rows.get(key)
            if seen is None:
                self.step_rows[key] = [1, row["effective_at"]]
            else:
                seen[0] += 1
                if row["effective_at"] > seen[1]:  # max() without the call, once a row
                    seen[1] = row["effective_at"]
            if kind == "run.started":
                self.started_at[run_id] = row["effective_at"]
            elif kind == "run.completed":
                self.completed_at[run_id] = row["effective_at"]
        soa = kind == "artefact.recorded" and SOA_ARTEFACT in row["payload"]
        if not soa and kind not in CROSS_CHECK_KINDS:
            return
        if payload is _UNPARSED:
            try:
                payload = _DECODE(row["payload"])
            except ValueError:
                return
        if not isinstance(payload, dict):
            return
        if soa:
            if payload.get("artefact") == SOA_ARTEFACT:
                self.approved_soa = payload.get("fields") or {}
            return
        if kind == "run.started":
            self.started[str(row["run_id"])] = payload
        elif kind in ("run.completed", "run.cancelled", "run.failed"):
            self.ended[str(row["run_id"])] = kind.split(".", 1)[1]
        elif kind == "approval.requested":
            self.requested.add(str(payload.get("approval_id")))
        elif kind == "approval.decided":
            self.decided.setdefault(str(payload.get("approval_id")), []).append(
                (
                    str(payload.get("person")),
                    str(payload.get("decision")),
                    str(payload.get("reason")),
                )
            )
        elif kind == "ai_system.registered":
            record = payload.get("record") or {}
            self.systems[str(payload.get("system_id"))] = {
                k: _cell_text(record.get(k)) for k in _INVENTORY_TEXT if k in record
            }
        elif kind == "ai_system.changed":
            known = self.systems.setdefault(str(payload.get("system_id")), {})
            for name, change in (payload.get("changes") or {}).items():
                if name in _INVENTORY_TEXT and isinstance(change, list) and len(change) == 2:
                    known[name] = _cell_text(change[1])
        elif kind == "finding.raised":
            self.findings[str(payload.get("id"))] = {
                "title": _cell_text(payload.get("title")),
                "severity": _cell_text(payload.get("severity")),
                "clause": _cell_text(payload.get("clause")),
                "system": _cell_text(payload.get("system")),
            }
        else:
            visit = (str(row["run_id"]), str(row["step_id"]), str(payload.get("attempt")))
            want = self.tasks.setdefault(visit, {})
            if kind == "task.requested":
                want["title"] = _cell_text(payload.get("title"))
                want["role"] = _cell_text(payload.get("role"))
            elif kind == "task.issued" and payload.get("ref"):
                want["issue"] = _cell_text(payload.get("ref"))
            elif kind == "task.completed":
                want["status"] = "done"

    def runs_problems(self, registers: Mapping[str, list[dict[str, str]]]) -> list[str]:
        """See :func:`cross_check`."""
        problems = []
        listed = {r.get("run", ""): r for r in registers.get("runs.csv", [])}
        for run_id, payload in sorted(self.started.items()):
            entry = listed.get(run_id)
            if entry is None:
                problems.append(f"runs.csv does not list run {run_id}, which the rows show started")
                continue
            subject = payload.get("subject") or {}
            expected = {
                "workflow": str(payload.get("workflow")),
                "version": str(payload.get("version")),
                "spec_hash": str(payload.get("spec_hash")),
                "subject_id": str(subject.get("id")),
            }
            if run_id in self.ended:
                expected["status"] = self.ended[run_id]
            for column, have, want in _mismatches(entry, expected):
                problems.append(
                    f"runs.csv says {column} {have!r} for run {run_id}; "
                    f"its ledger rows say {want!r}"
                )
        by_approval: dict[str, list[tuple[str, str, str]]] = {}
        for entry in registers.get("approvals.csv", []):
            if entry.get("decided_by"):
                by_approval.setdefault(entry.get("approval", ""), []).append(
                    (
                        _plain(entry["decided_by"]),
                        _plain(entry.get("decision", "")),
                        _plain(entry.get("reason", "")),
                    )
                )
        for approval in sorted(self.requested):
            have_decisions = sorted(by_approval.get(approval, []))
            want_decisions = sorted(self.decided.get(approval, []))
            if have_decisions != want_decisions:
                problems.append(
                    f"approvals.csv gives the decisions of {approval} as {have_decisions}; its "
                    f"ledger rows give {want_decisions}"
                )
        return problems

    def register_problems(
        self, registers: Mapping[str, list[dict[str, str]]], *, to_head: bool = True
    ) -> list[str]:
        """See :func:`cross_check_registers`."""
        problems: list[str] = []

        def compare(
            name: str, what: str, entry: Mapping[str, str], want: Mapping[str, str]
        ) -> None:
            for column, have, value in sorted(_mismatches(entry, want)):
                problems.append(
                    f"{name} says {column} {have!r} for {what}; its ledger rows say {value!r}"
                )

        if to_head and "inventory.csv" in registers:
            listed = {r.get("id", ""): r for r in registers["inventory.csv"]}
            for system_id, want in sorted(self.systems.items()):
                entry = listed.get(system_id)
                if entry is None:
                    problems.append(
                        f"inventory.csv does not list AI system {system_id}, which the rows show"
                    )
                else:
                    compare("inventory.csv", f"AI system {system_id}", entry, want)
        if "findings.csv" in registers:
            listed = {r.get("finding", ""): r for r in registers["findings.csv"]}
            for finding_id, want in sorted(self.findings.items()):
                entry = listed.get(finding_id)
                if entry is None:
                    problems.append(
                        f"findings.csv does not list finding {finding_id}, which the rows show "
                        "raised"
                    )
                else:
                    compare("findings.csv", f"finding {finding_id}", entry, want)
        if "tasks.csv" in registers:
            listed_tasks = {
                (r.get("run", ""), r.get("step", ""), r.get("attempt", "")): r
                for r in registers["tasks.csv"]
            }
            for visit, want in sorted(self.tasks.items()):
                if "title" not in want:
                    continue  # requested before the rows begin: not the rows' to check
                entry = listed_tasks.get(visit)
                if entry is None:
                    problems.append(
                        f"tasks.csv does not list step {visit[1]} (attempt {visit[2]}) of run "
                        f"{visit[0]}, which the rows show requested"
                    )
                else:
                    compare(
                        "tasks.csv",
                        f"step {visit[1]} attempt {visit[2]} of {visit[0]}",
                        entry,
                        want,
                    )
        return problems


def _gathered(rows: Iterable[Mapping[str, Any]]) -> RegisterRows:
    gathered = RegisterRows()
    for row in rows:
        gathered.add(row)
    return gathered


def cross_check(
    rows: Iterable[Mapping[str, Any]], registers: Mapping[str, list[dict[str, str]]]
) -> list[str]:
    """What ``runs.csv`` and ``approvals.csv`` (written from the database's tables) say that the
    ledger rows in the pack contradict. Only what the rows cover is checked: a run started before
    the period, a decision before it, are not in the rows.

    * runs.csv: every run started in the rows is listed, with the workflow, version, pinned hash
      and subject its ``run.started`` row names, and the status its last end row gives;
    * approvals.csv: for every approval requested in the rows, the decisions listed (person,
      decision, reason) are exactly the ``approval.decided`` rows.
    """
    return _gathered(rows).runs_problems(registers)


def cross_check_registers(
    rows: Iterable[Mapping[str, Any]],
    registers: Mapping[str, list[dict[str, str]]],
    *,
    to_head: bool = True,
) -> list[str]:
    """What ``inventory.csv``, ``findings.csv`` and ``tasks.csv`` (written from the database's
    tables) say that the ledger rows in the pack contradict. Only what the rows cover is
    checked, each value the way the CSV writes it:

    * inventory.csv (when the rows run to the head, as the inventory is as of export): every
      system registered in the rows is listed with the record its ``ai_system.registered`` row
      and later ``ai_system.changed`` rows give; a system only changed in the rows, with the
      values of the fields changed;
    * findings.csv: every finding raised in the rows is listed with the title, severity,
      clause and system of its ``finding.raised`` row;
    * tasks.csv: every task visit requested in the rows is listed with its title and role; the
      issue its ``task.issued`` row names; status ``done`` when a ``task.completed`` row
      completed that visit.
    """
    return _gathered(rows).register_problems(registers, to_head=to_head)


# -- soa.csv and clauses.csv (computed from the database), rebuilt from the rows --------------
OPEN_RUN_STATUSES = ("new", "running")


def soa_reasons(fields: Mapping[str, Any]) -> dict[str, str]:
    """Control id -> the reason an approved SoA's lines give (``A.x.y: reason``)."""
    reasons: dict[str, str] = {}
    for line in [*(fields.get("inclusions") or []), *(fields.get("exclusions") or [])]:
        match = _SOA_LINE.match(str(line))
        if match:
            reasons[match.group(1)] = match.group(2)
    return reasons


def _risk_order(risk_id: str) -> tuple[int, str]:
    """RISK-2 before RISK-10."""
    number = risk_id.rpartition("-")[2]
    return (int(number) if number.isdigit() else -1, risk_id)


def soa_risk_links(fields: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Control id -> the register's risks an approved SoA links to it (``RISK-n: A.x.y, ...``
    lines), in register order."""
    risks: dict[str, set[str]] = {}
    for line in fields.get("risk_links") or []:
        risk_id, _, controls = str(line).partition(":")
        for control in controls.replace(",", " ").split():
            risks.setdefault(control, set()).add(risk_id.strip())
    return {c: tuple(sorted(r, key=_risk_order)) for c, r in risks.items()}


def coverage_status(
    applicable: bool, completed: int, rows: int, opened: int, implementation: str
) -> str:
    """A control's or clause's status from its figures (``export/soa/coverage`` and the
    verifier both decide it here)."""
    if not applicable:
        return "excluded"
    if completed and rows:
        return "implemented"
    if rows or opened:
        return "in_progress"
    return "described" if implementation else "no_evidence"


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


def _in_period(at: str, since: str | None, until: str | None) -> bool:
    return (not since or at[:10] >= since) and (not until or at[:10] <= until)


def _soa_decisions(
    soa_config: Mapping[str, Any], approved: Mapping[str, Any] | None
) -> Callable[[str], tuple[bool, str, str]]:
    """control -> (applicable, justification, implementation) as the SoA export decides them:
    aims.yaml's decision where it states one, else the approved SoA's (as
    ``export/soa/coverage._decided``)."""
    stated = soa_config.get("controls") or {}
    excluded = {str(c) for c in (approved or {}).get("excluded") or []}
    reasons = soa_reasons(approved or {})

    def decide(control: str) -> tuple[bool, str, str]:
        decision = stated.get(control) or {}
        applicable = bool(decision.get("applicable", True))
        justification = str(decision.get("justification") or "")
        implementation = str(decision.get("implementation") or "")
        if approved is None:
            return applicable, justification, implementation
        signed = control not in excluded
        if control not in stated:
            return signed, reasons.get(control, ""), implementation
        if not justification and applicable == signed:
            justification = reasons.get(control, "")
        return applicable, justification, implementation

    return decide


if TYPE_CHECKING:  # never evaluated: the verifier's oldest Python cannot subscript these
    Specs = Mapping[tuple[str, str], tuple[frozenset, Mapping[str, frozenset]]]
    """(workflow, version) -> (ids the whole workflow names, step id -> ids it names per step)."""


def spec_citations(spec: Mapping[str, Any]) -> tuple[frozenset, dict[str, frozenset]]:
    """What a pinned definition (its canonical JSON, ``workflows/*.spec.json``) says it
    evidences: as a whole, and per step."""
    steps = {}
    for step in spec.get("steps") or []:
        if isinstance(step, dict) and step.get("evidences"):
            steps[str(step.get("id"))] = frozenset(str(e) for e in step["evidences"])
    return frozenset(str(e) for e in spec.get("evidences") or []), steps


class _RunFacts:
    """One run as the SoA figures need it."""

    __slots__ = ("key", "status", "started_at", "completed_at")

    def __init__(self, key: tuple[str, str], status: str, started_at: str, completed_at: str):
        self.key, self.status = key, status
        self.started_at, self.completed_at = started_at, completed_at


def _run_table(
    gathered: RegisterRows, registers: Mapping[str, list[dict[str, str]]]
) -> dict[str, _RunFacts]:
    """Every run the figures count: runs.csv's (the runs active in the period, each checked
    against its rows by :meth:`RegisterRows.runs_problems` where the rows cover it), with the
    workflow version and moments of the rows where the rows hold them."""
    runs: dict[str, _RunFacts] = {}
    for entry in registers.get("runs.csv") or []:
        runs[_plain(entry.get("run", ""))] = _RunFacts(
            (_plain(entry.get("workflow", "")), _plain(entry.get("version", ""))),
            _plain(entry.get("status", "")),
            _plain(entry.get("started_at", "")),
            _plain(entry.get("completed_at", "")),
        )
    for run_id, payload in gathered.started.items():
        listed = runs.get(run_id)
        status = gathered.ended.get(run_id, "running")
        runs[run_id] = _RunFacts(
            (str(payload.get("workflow")), str(payload.get("version"))),
            listed.status if listed else status,
            gathered.started_at.get(run_id, ""),
            gathered.completed_at.get(run_id, listed.completed_at if listed else ""),
        )
    return runs


def _figures(
    wanted: Callable[[str], bool],
    runs: Mapping[str, _RunFacts],
    gathered: RegisterRows,
    specs: Specs,
    since: str | None,
    until: str | None,
) -> dict[str, Any]:
    """runs_completed, runs_open, evidence_rows, latest_evidence of what names an id
    ``wanted`` accepts, as ``export/soa/coverage`` counts them from the database's tables."""

    def cites(ids: Iterable[str]) -> bool:
        return any(wanted(i) for i in ids)

    def names(key: tuple[str, str], run_id: str, step: Any) -> bool:
        whole, steps = specs.get(key) or (_started_evidences(gathered, run_id), {})
        if cites(whole):
            return True
        return step is not None and cites(steps.get(str(step), ()))

    def anywhere(key: tuple[str, str], run_id: str) -> bool:
        whole, steps = specs.get(key) or (_started_evidences(gathered, run_id), {})
        return cites(whole) or any(cites(ids) for ids in steps.values())

    rows, latest = 0, ""
    for (run_id, step), (count, newest) in gathered.step_rows.items():
        run = runs.get(run_id)
        if run is not None and names(run.key, run_id, step):
            rows += count
            latest = max(latest, newest)
    completed = opened = 0
    for run_id, run in runs.items():
        if not anywhere(run.key, run_id):
            continue
        done_at = run.completed_at
        if run.status == "completed" and done_at and _in_period(done_at, since, until):
            completed += 1
        still = run.status in OPEN_RUN_STATUSES
        if until:
            late = run.status == "completed" and done_at and done_at[:10] > until
            if run.started_at[:10] <= until and (still or late):
                opened += 1
        elif still:
            opened += 1
    return {
        "runs_completed": completed,
        "runs_open": opened,
        "evidence_rows": rows,
        "latest_evidence": latest,
    }


def _related(own: str, *, clause: bool) -> Callable[[str], bool]:
    """Which evidenced ids count for ``own``: itself; for a clause also its sub-clauses and the
    clauses above it (a workflow that names 9.2 names 9.2.1 too)."""
    if not clause:
        return lambda evidenced: evidenced == own
    return lambda e: e == own or e.startswith(own + ".") or own.startswith(e + ".")


def _started_evidences(gathered: RegisterRows, run_id: str) -> frozenset:
    """What a run's ``run.started`` row says it evidences, for a version the pack holds no
    definition of."""
    return frozenset(str(e) for e in (gathered.started.get(run_id) or {}).get("evidences") or [])


def _first_difference(
    name: str, line: int, what: str, entry: Mapping[str, str], want: Mapping[str, Any]
) -> str | None:
    for column, have, value in _mismatches(entry, {k: _cell_text(v) for k, v in want.items()}):
        return (
            f"{name} row {line} ({what}), column {column}: it says {have!r}, the ledger rows "
            f"in the pack give {value!r}"
        )
    return None


def coverage_problems(
    gathered: RegisterRows,
    registers: Mapping[str, list[dict[str, str]]],
    *,
    soa_config: Mapping[str, Any] | None,
    since: str | None,
    until: str | None,
    specs: Specs | None = None,
) -> tuple[list[str], list[str]]:
    """Each row of ``soa.csv`` and ``clauses.csv`` (computed from the database) rebuilt from the
    ledger rows in the pack and compared exactly: the first cell that differs in a row is named.

    * runs_completed, runs_open, evidence_rows, latest_evidence and status are counted as the
      export counts them: over the rows of the pack (each placed by its run's workflow version:
      the ``run.started`` row, else runs.csv) and the runs of runs.csv, with what each pinned
      definition in ``workflows/`` (``specs``) names as a whole and per step; a clause counts
      its sub-clauses and the clauses above it, and a parent is ``partial`` until every
      sub-clause is implemented;
    * soa.csv's applicable, justification, implementation and risks columns are decided again
      from ``aims-config.json`` and the last approved SoA (``statement_of_applicability``
      recorded by soa-review) when the rows settle which that is: one is in the rows, or the
      rows start at row 1 (then none was ever approved).

    The titles, the workflows column, gap and notes name workflow files that may have no run
    in the pack: they are not rebuilt.
    """
    problems: list[str] = []
    notes: list[str] = []
    specs = specs or {}
    runs = _run_table(gathered, registers)
    for name, key in (("soa.csv", "control"), ("clauses.csv", "clause")):
        entries = registers.get(name)
        if entries is None:
            continue
        decide = None
        if name == "soa.csv" and soa_config is not None:
            if gathered.approved_soa is None and since:
                notes.append(
                    "soa.csv's decisions are not checked: no SoA approval is in the pack's rows "
                    "and the rows start after row 1, so an approval before the period may apply"
                )
            else:
                decide = _soa_decisions(soa_config, gathered.approved_soa)
        links = soa_risk_links(gathered.approved_soa or {})
        ids = [_plain(entry.get(key, "")) for entry in entries]
        wants: dict[str, dict[str, Any]] = {}
        for own in ids:
            figures = _figures(
                _related(own, clause=key == "clause"), runs, gathered, specs, since, until
            )
            entry = entries[ids.index(own)]
            applicable = _plain(entry.get("applicable", "yes")) == "yes"
            implementation = _plain(entry.get("implementation", ""))
            want: dict[str, Any] = {}
            if decide is not None:
                applicable, justification, implementation = decide(own)
                want.update(
                    applicable="yes" if applicable else "no",
                    justification=justification,
                    implementation=implementation,
                )
                if "risks" in entry:
                    want["risks"] = " ".join(links.get(own, ()))
            want.update(figures)
            want["status"] = coverage_status(
                applicable,
                figures["runs_completed"],
                figures["evidence_rows"],
                figures["runs_open"],
                implementation,
            )
            wants[own] = want
        if key == "clause":  # deepest first: clause 9 sees what 9.2 and 9.3 became
            for own in sorted(wants, key=lambda i: -i.count(".")):
                children = [i for i in wants if i.rpartition(".")[0] == own]
                lacking = [c for c in children if wants[c]["status"] != "implemented"]
                if children and lacking and wants[own]["status"] == "implemented":
                    wants[own]["status"] = "partial"
        for line, (own, entry) in enumerate(zip(ids, entries), start=2):  # noqa: B905
            problem = _first_difference(name, line, f"{key} {own}", entry, wants[own])
            if problem:
                problems.append(problem)
    return problems, notes
