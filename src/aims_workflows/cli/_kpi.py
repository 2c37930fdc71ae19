"""``aims kpi``: the KPIs against their targets, now or as a past day closed, for the whole AIMS
or one AI system, risk tier or workflow, and each KPI's written definition (``--explain``)."""

from __future__ import annotations

from datetime import date

import typer

from ._listing import FormatOption, ListFormat

__all__ = ["register"]


def _day(text: str | None) -> date | None:
    from ..errors import ConfigError

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--at {text!r} is not a date", hint="write the day as YYYY-MM-DD, e.g. 2026-03-31"
        ) from None


def register(app: typer.Typer) -> None:
    @app.command(short_help="The KPIs against their targets in aims.yaml, now or on a past day.")
    def kpi(
        key: str | None = typer.Argument(
            None, metavar="[KPI]", help="only this KPI (its key, as --explain lists them)"
        ),
        explain: bool = typer.Option(
            False,
            "--explain",
            help="print each KPI's definition: base measures, formula, indicator, target, "
            "frequency, owner",
        ),
        at: str | None = typer.Option(
            None,
            "--at",
            metavar="DATE",
            help="the values as that day closed (UTC), from the KPI history",
        ),
        system: str | None = typer.Option(None, "--system", help="only this AI system"),
        tier: str | None = typer.Option(None, "--tier", help="only AI systems of this risk tier"),
        workflow: str | None = typer.Option(None, "--workflow", help="only runs of this workflow"),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """Coverage, tasks, approval latency, nonconformities, controls' evidence and findings.

        Each KPI is judged against its target in aims.yaml's kpi_targets; --explain prints how
        each is defined. --at DATE answers from the values stored as that day closed, so it
        prints what `aims kpi` printed at the end of that day."""
        from ..engine.evidence import iso
        from ..kpi.history import values_on
        from ..kpi.queries import Scope, definitions
        from ..kpi.snapshots import day_of
        from ._context import open_cli_app
        from ._output import write

        scope = Scope(system=system, tier=tier, workflow=workflow)
        wanted = _wanted(key, [d.key for d in definitions()])
        app_ = open_cli_app()
        targets = app_.config.kpi_targets
        if explain:
            _explain([d for d in definitions() if d.key in wanted], targets, fmt)
            return
        day = _day(at)
        now = app_.runtime.clock.now()
        _known_scope(app_, scope)
        with app_.db.connect() as conn:
            found = values_on(
                conn,
                day or day_of(now),
                targets,
                now=now,
                scope=scope,
                specs=app_.runtime.specs,
                workflows=app_.workflows,
                soa=app_.config.soa,
            )
        kpis = [k for k in found.kpis if k.key in wanted]
        _print(kpis, fmt, iso(now), found, at is not None, scope, write)


def _wanted(key: str | None, known: list[str]) -> list[str]:
    from ..errors import NotFound

    if key is None:
        return known
    if key not in known:
        raise NotFound(f"no KPI '{key}'", hint="the KPIs are: " + ", ".join(known))
    return [key]


def _known_scope(app_, scope) -> None:
    """A misspelt system, tier or workflow is named, not answered with empty KPIs."""
    from sqlalchemy import select

    from ..errors import NotFound
    from ..store.models import AISystem

    systems = AISystem.__table__.c
    with app_.db.connect() as conn:
        if scope.system:
            names = list(conn.scalars(select(systems.name).order_by(systems.name)))
            if scope.system not in names:
                raise NotFound(
                    f"no AI system '{scope.system}'",
                    hint="the AI systems are: " + (", ".join(names) or "none yet"),
                )
        if scope.tier:
            tiers = sorted(set(conn.scalars(select(systems.risk_tier))) - {""})
            if scope.tier not in tiers:
                raise NotFound(
                    f"no AI system has the risk tier '{scope.tier}'",
                    hint="the tiers in use are: " + (", ".join(tiers) or "none yet"),
                )
    if scope.workflow and scope.workflow not in app_.workflows:
        known = ", ".join(sorted(loaded.spec.id for loaded in app_.workflows))
        raise NotFound(f"no workflow '{scope.workflow}'", hint=f"the workflows are: {known}")


def _print(kpis, fmt, generated_at, found, asked_day, scope, write) -> None:
    import json

    from ..engine.evidence import iso
    from ..kpi import kpi_table, kpis_csv
    from ._output import console

    if fmt == "json":
        document = {"generated_at": generated_at, "kpis": [k.as_dict() for k in kpis]}
        if asked_day:
            document = {
                "generated_at": generated_at,
                "at": iso(found.at),
                "source": found.source,
                "kpis": document["kpis"],
            }
        if scope.dimension:
            document["scope"] = {scope.dimension: getattr(scope, scope.dimension)}
        write(json.dumps(document, indent=2))
    elif fmt == "csv":
        write(kpis_csv(kpis))
    elif fmt is ListFormat.plain:
        for k in kpis:
            value = "" if k.value is None else f"{round(k.value, 6)}"
            met = "" if k.met is None else ("met" if k.met else "not met")
            target = "" if k.target is None else str(k.target)
            write("\t".join([k.key, value, target, met, k.detail]))
    else:
        title = "AIMS KPIs"
        if scope.dimension:
            title += f" for {scope.describe()}"
        if asked_day:
            title += f" as {found.day.isoformat()} closed"
            if found.source == "live":
                title = title.replace("closed", "stands (today)")
            elif found.source == "rebuilt":
                title += " (rebuilt from dated records: before the KPI history began)"
        console().print(kpi_table(kpis, title=title))


def _explain(definitions, targets, fmt) -> None:
    import json

    from ._output import console, write

    if fmt == "json":
        write(json.dumps([d.as_dict(targets) for d in definitions], indent=2))
        return
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        fields = list(definitions[0].as_dict(targets)) if definitions else []
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for d in definitions:
            row = d.as_dict(targets)
            writer.writerow(
                {
                    **row,
                    "base_measures": "; ".join(row["base_measures"]),
                    "scopes": " ".join(row["scopes"]),
                }
            )
        write(out.getvalue())
        return
    lines: list[str] = []
    for d in definitions:
        row = d.as_dict(targets)
        lines += [
            f"{d.key}: {d.label}",
            f"  information need  {row['information_need']}",
            "  base measures     " + "; ".join(row["base_measures"]),
            f"  formula           {row['formula']}",
            f"  indicator         {row['indicator']}",
            f"  target            {row['target']} ({row['target_setting']} in aims.yaml)",
            f"  frequency         {row['frequency']}",
            f"  owner             {row['owner']}",
            "  measured for      "
            + ", ".join(["the whole AIMS", *(f"each {s}" for s in row["scopes"])]),
            "",
        ]
    if fmt is ListFormat.plain:
        write("\n".join(lines).rstrip())
    else:
        console().print("\n".join(lines).rstrip(), markup=False, highlight=False)
