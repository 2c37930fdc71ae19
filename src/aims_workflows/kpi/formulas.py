"""The KPI formulas: from a KPI's base measures (its *facts*, plain JSON values) to the
indicator (value, detail, breakdown), whether it meets its target, and its row of ``kpis.csv``.

Every KPI measure (:mod:`.measures`, :mod:`.operations`, :mod:`.measures_risks`) reads its base
measures from the database, puts them in a facts dict (``{"formula": name, ...}``, moments as
ISO 8601 text) and lets :func:`apply` make the reading; the audit pack keeps each KPI's facts in
``evidence/kpi_facts.json``, and the pack's verifier runs this same module (shipped as
``evidence/aims_kpis.py``) over them to rebuild ``kpis.csv``. So there is one implementation of
each formula, and a ``kpis.csv`` edited in the pack is named KPI by KPI.

Standard library only, Python 3.8 syntax.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Tuple

__all__ = [
    "CSV_HEADER",
    "FORMULAS",
    "apply",
    "csv_row",
    "csv_text",
    "median_from_histogram",
    "met",
    "ratio",
]

Result = Tuple[Any, str, Any]
"""(value or None, detail, breakdown or None)."""


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)  # the facts hold datetime.isoformat() text


def _maybe(text: str | None) -> datetime | None:
    return None if text is None else _moment(text)


def median_from_histogram(buckets: Iterable[Iterable[int]]) -> float | None:
    """Median of values grouped in whole-minute buckets [(minute, count)], in minutes.

    Within half a minute of the exact median: each value is taken as the middle of its bucket,
    and for an even count the two middle values are averaged, as a plain median does.
    """
    pairs = [(int(minute), int(count)) for minute, count in buckets]
    total = sum(count for _, count in pairs)
    if total == 0:
        return None
    ordered = sorted((minute, count) for minute, count in pairs if count > 0)

    def value_at(position: int) -> float:  # 1-based position in the sorted values
        seen = 0
        for minute, count in ordered:
            seen += count
            if seen >= position:
                return minute + 0.5
        raise AssertionError("unreachable: position <= total")  # pragma: no cover

    if total % 2:
        return value_at(total // 2 + 1)
    return (value_at(total // 2) + value_at(total // 2 + 1)) / 2


# -- the formulas, by name ----------------------------------------------------------------------
def _coverage(f: Mapping[str, Any]) -> Result:
    return ratio(f["current"], f["in_scope"]), f"{f['current']} of {f['in_scope']}", None


def _open_tasks(f: Mapping[str, Any]) -> Result:
    return f["count"], f"{f['count']} open", None


def _overdue(f: Mapping[str, Any]) -> Result:
    return f["count"], f"{f['count']} past their due date", None


def _overdue_treatments(f: Mapping[str, Any]) -> Result:
    late = f["count"]
    return late, f"{late} past their target date (aims risks list --overdue)", None


def _approval_latency(f: Mapping[str, Any]) -> Result:
    minutes = median_from_histogram(f["buckets"])
    hours = minutes / 60 if minutes is not None else None
    return hours, f"over {sum(int(c) for _, c in f['buckets'])} closed approvals", None


def _nonconformities(f: Mapping[str, Any]) -> list[tuple[datetime, Any, Any, int]]:
    """(raised, actioned, closed, checks) of each nonconformity in the facts."""
    return [
        (_moment(raised), _maybe(actioned), _maybe(closed), int(checks))
        for raised, actioned, closed, checks in f["nonconformities"]
    ]


def _nonconformity_days(f: Mapping[str, Any]) -> Result:
    ncs, at = _nonconformities(f), _moment(f["at"])
    if not ncs:
        return None, "no nonconformities", None
    ages = [((actioned or at) - raised).total_seconds() / 86400 for raised, actioned, _, _ in ncs]
    actioned = [nc for nc in ncs if nc[1] is not None]
    still_open = [nc for nc in ncs if nc[1] is None]
    waiting = sum(1 for nc in actioned if nc[2] is None)
    detail = f"{len(actioned)} actioned, {len(still_open)} open"
    if still_open:
        oldest = max((at - nc[0]).total_seconds() for nc in still_open) / 86400
        detail += f" (oldest {oldest:.0f} days)"
    detail += f"; {waiting} awaiting the effectiveness check"
    parts = {"actioned": len(actioned), "open": len(still_open), "awaiting_check": waiting}
    return sum(ages) / len(ages), detail, parts


def _effectiveness(f: Mapping[str, Any]) -> Result:
    ncs = _nonconformities(f)
    checks = sum(nc[3] for nc in ncs)
    effective = sum(1 for nc in ncs if nc[2] is not None and nc[3])
    waiting = sum(1 for nc in ncs if nc[1] is not None and nc[2] is None)
    return (
        ratio(effective, checks),
        f"{effective} of {checks} checks found the action effective; {waiting} awaiting a check",
        {"checks": checks, "effective": effective, "awaiting_check": waiting},
    )


def _first(ids: Iterable[str], limit: int = 5) -> str:
    ordered = sorted(ids)
    shown = ", ".join(ordered[:limit])
    return shown + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")


def _controls(f: Mapping[str, Any]) -> Result:
    states = f.get("states")
    if states is None:
        return None, "needs the workflows in use to tell which controls they evidence", None
    values = list(states.values())
    current, stale = values.count("current"), values.count("stale")
    none = values.count("no_evidence")
    detail = (
        f"{current} of {len(states)} applicable current, {stale} stale, {none} without evidence"
        f" ({f['excluded']} excluded)"
    )
    if stale:
        detail += f"; stale: {_first(c for c, s in states.items() if s == 'stale')}"
    parts = {"current": current, "stale": stale, "no_evidence": none}
    return ratio(current, len(states)), detail, parts


def _repeated_findings(f: Mapping[str, Any]) -> Result:
    by_area: dict[str, int] = f["by_area"]
    repeats = {area: n for area, n in by_area.items() if n > 1}
    total = sum(by_area.values())
    detail = f"{total} finding{'' if total == 1 else 's'} in {len(by_area)} area" + (
        "" if len(by_area) == 1 else "s"
    )
    if repeats:
        detail += "; repeated in " + ", ".join(f"{a} ({n})" for a, n in sorted(repeats.items()))
    parts = {area: float(n) for area, n in sorted(by_area.items())}
    return sum(n - 1 for n in repeats.values()), detail, parts


def _training(f: Mapping[str, Any]) -> Result:
    by_role: dict[str, list[int]] = f["by_role"]  # role -> [trained, held], held > 0
    done, held = sum(d for d, _ in by_role.values()), sum(n for _, n in by_role.values())
    if not held:
        return None, "no role holders in the directory", None
    short = [role for role, (d, n) in by_role.items() if d < n]
    detail = f"{done} of {held} role holders trained"
    if short:
        detail += "; short in " + ", ".join(f"{r} ({by_role[r][0]}/{by_role[r][1]})" for r in short)
    return done / held, detail, {role: d / n for role, (d, n) in by_role.items()}


def _incident_response(f: Mapping[str, Any]) -> Result:
    """Median time from detection to the step (``per`` seconds a ``unit``), open ones by age."""
    incidents = [(_moment(detected), _maybe(done)) for detected, done in f["incidents"]]
    if not incidents:
        return None, "no AI incidents", None
    at, per, unit = _moment(f["at"]), float(f["per"]), f["unit"]
    times = [max(0.0, ((done or at) - start).total_seconds() / per) for start, done in incidents]
    pending = [t for (_, done), t in zip(incidents, times) if done is None]
    finished = len(incidents) - len(pending)
    detail = f"over {len(incidents)} incident{'s' if len(incidents) != 1 else ''}: {finished} done"
    if pending:
        detail += f", {len(pending)} not yet (oldest {max(pending):.0f} {unit}, counted by age)"
    return statistics.median(times), detail, {"done": finished, "open": len(pending)}


def _sources_text(counts: Mapping[str, float], totals: Mapping[str, float] | None = None) -> str:
    parts = []
    for source, n in counts.items():
        if n or (totals and totals.get(source)):
            parts.append(
                f"{source} {int(n)}" + (f" of {int(totals[source])}" if totals is not None else "")
            )
    return ", ".join(parts) or "none"


def _open_findings(f: Mapping[str, Any]) -> Result:
    open_, total = f["open"], f["total"]
    n, all_ = int(sum(open_.values())), int(sum(total.values()))
    return n, f"{n} open of {all_} raised: {_sources_text(open_, total)}", open_


def _raised(f: Mapping[str, Any]) -> Result:
    counts = f["counts"]
    n = int(sum(counts.values()))
    return n, f"{n} in the last {f['days']} days: {_sources_text(counts)}", counts


FORMULAS: dict[str, Callable[[Mapping[str, Any]], Result]] = {
    "coverage": _coverage,
    "open_tasks": _open_tasks,
    "overdue_tasks": _overdue,
    "overdue_treatments": _overdue_treatments,
    "approval_latency": _approval_latency,
    "nonconformity_days": _nonconformity_days,
    "nonconformity_effectiveness": _effectiveness,
    "controls": _controls,
    "repeated_findings": _repeated_findings,
    "training": _training,
    "incident_response": _incident_response,
    "open_findings": _open_findings,
    "nonconformities_raised": _raised,
}
"""Formula name (a facts dict's ``formula``) -> the function making the reading."""


def apply(facts: Mapping[str, Any]) -> Result:
    """(value, detail, breakdown) of the KPI whose base measures are ``facts``; ValueError for
    facts naming no known formula or missing what it needs."""
    name = facts.get("formula")
    formula = FORMULAS.get(str(name))
    if formula is None:
        raise ValueError(f"no KPI formula is called {name!r} (known: {', '.join(FORMULAS)})")
    try:
        return formula(facts)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"the facts of formula {name!r} do not fit it: {err!r}") from None


def met(value: float | None, target: float | None, direction: str) -> bool | None:
    """Whether ``value`` meets ``target``: at least it, or at most it (``direction``)."""
    if value is None or target is None:
        return None
    return value >= target if direction == "at_least" else value <= target


# -- kpis.csv -----------------------------------------------------------------------------------
CSV_HEADER = ["key", "label", "value", "unit", "target", "met", "detail", "breakdown"]


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def csv_row(kpi: Mapping[str, Any]) -> list[Any]:
    """A KPI's row of ``kpis.csv`` from its key, label, value, unit, target, met, detail and
    breakdown (``Kpi.as_dict``)."""
    value, target, is_met = kpi["value"], kpi["target"], kpi["met"]
    return [
        kpi["key"],
        kpi["label"],
        "" if value is None else round(value, 6),
        kpi["unit"],
        "" if target is None else target,
        "" if is_met is None else str(is_met).lower(),
        kpi["detail"],
        "; ".join(f"{part}={_plain(n)}" for part, n in (kpi["breakdown"] or {}).items()),
    ]


def csv_text(kpis: Iterable[Mapping[str, Any]]) -> str:
    """``kpis.csv``: the header and :func:`csv_row` of each KPI."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for kpi in kpis:
        writer.writerow(csv_row(kpi))
    return out.getvalue()


def rebuilt(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A KPI as ``Kpi.as_dict`` gives it, rebuilt from its entry in ``kpi_facts.json`` (key,
    label, unit, target, direction and facts)."""
    value, detail, breakdown = apply(entry["facts"])
    return {
        "key": entry["key"],
        "label": entry["label"],
        "value": value,
        "unit": entry["unit"],
        "target": entry["target"],
        "met": met(value, entry["target"], entry["direction"]),
        "detail": detail,
        "breakdown": breakdown,
    }
