"""``aims audit programme``: the internal audit programme over the certification cycle, its
coverage of clauses 4 to 10 and the applicable Annex A controls, and its submission for
approval (the ``audit-programme`` workflow)."""

from __future__ import annotations

from datetime import date

import typer

from ._group import command_group
from ._listing import FormatOption, ListFormat

__all__ = ["register", "plan_text"]


def _cycle_start(given: str | None, configured: date | None, today: date) -> date:
    if given is None:
        return configured or date(today.year, 1, 1)
    try:
        return date.fromisoformat(given)
    except ValueError:
        from ..errors import ConfigError

        raise ConfigError(
            f"--cycle-start '{given}' is not a date", hint="give it as YYYY-MM-DD"
        ) from None


def _programme(app_, cycle_start: str | None, years: int | None):
    """The programme for the cycle asked for, from aims.yaml and the database."""
    from ..audit import areas_from_config, plan_programme, programme_facts
    from ..audit.areas import DEFAULT_AREAS
    from ..errors import ConfigError

    settings = app_.config.audit_programme
    years = years if years is not None else settings.cycle_years
    if not 1 <= years <= 6:
        raise ConfigError(f"--years {years} is not a cycle length", hint="give 1 to 6 (usually 3)")
    now = app_.runtime.clock.now()
    start = _cycle_start(cycle_start, settings.cycle_start, now.date())
    areas = areas_from_config(settings.areas)
    with app_.db.connect() as conn:
        facts = programme_facts(conn, app_.config, now=now, years=years)
    return plan_programme(
        areas,
        required=facts.required,
        excluded=facts.excluded,
        cycle_start=start,
        years=years,
        high_risk=facts.high_risk,
        finding_requirements=facts.finding_requirements,
        fallback=DEFAULT_AREAS,
    )


def plan_text(programme) -> str:
    """The plan as the approval and the record keep it: one line per quarter."""
    by_period: dict[str, list[str]] = {}
    for audit in programme.audits:
        by_period.setdefault(f"{audit.period} ({audit.starts:%Y-%m-%d})", []).append(
            f"{audit.area.title} [{', '.join(audit.area.covers)}]"
        )
    return "\n".join(f"{period}: {'; '.join(areas)}" for period, areas in by_period.items())


def coverage_text(programme) -> str:
    coverage = programme.coverage
    clauses = sum(1 for r in coverage.required if not r.startswith("A."))
    controls = len(coverage.required) - clauses
    text = f"all {clauses} clauses of 4 to 10 and {controls} applicable Annex A controls"
    if coverage.excluded:
        text += f" (excluded in the SoA: {', '.join(coverage.excluded)})"
    return text


def register(app: typer.Typer) -> None:
    audit = command_group("The internal audit programme over the certification cycle (9.2).")
    app.add_typer(audit, name="audit")

    @audit.command("programme")
    def programme_(
        cycle_start: str | None = typer.Option(
            None, "--cycle-start", help="first day of the cycle, YYYY-MM-DD (default: aims.yaml)"
        ),
        years: int | None = typer.Option(
            None, "--years", help="length of the cycle in years (default: aims.yaml, else 3)"
        ),
        submit: bool = typer.Option(
            False, "--submit", help="start the audit-programme workflow to have it approved"
        ),
        person: str | None = typer.Option(
            None, "--as", help="who submits it (recorded as claimed, with your OS user)"
        ),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """The audit plan per year and quarter: every area at least once per cycle, areas with
        findings or high-risk AI systems more often. Exits 1, naming what to add, when a clause
        4 to 10 or an applicable Annex A control is in no area."""
        from ._context import open_cli_app, settle
        from ._listing import Column, emit
        from ._output import console, err_console, ok

        app_ = open_cli_app()
        programme = _programme(app_, cycle_start, years)
        why = {p.area.key: "; ".join(p.reasons) for p in programme.areas}
        times = {p.area.key: p.times for p in programme.areas}
        emit(
            [
                Column("period", "period", 0),
                Column("starts", "starts", 1),
                Column("area", "area", 0),
                Column("covers", "covers", 2),
                Column("times", "audits in cycle", 3),
                Column("why", "why", 3),
            ],
            [
                {
                    "period": a.period,
                    "starts": f"{a.starts:%Y-%m-%d}",
                    "area": a.area.title,
                    "covers": ", ".join(a.area.covers),
                    "times": times[a.area.key],
                    "why": why[a.area.key],
                }
                for a in programme.audits
            ],
            fmt,
            empty="no audits planned",
        )
        coverage = programme.coverage
        if not coverage.complete:
            for requirement in coverage.missing:
                err_console().print(
                    f"[red]✗[/] {requirement} is audited in no area: "
                    f"{programme.suggestions[requirement]}",
                    markup=True,
                    highlight=False,
                )
            err_console().print(
                f"the programme misses {len(coverage.missing)} requirement(s) within the "
                "cycle: add them to audit_programme.areas in aims.yaml",
                markup=False,
            )
            raise typer.Exit(1)
        if fmt is ListFormat.table:
            console().print(
                f"cycle {programme.cycle_start:%Y-%m-%d} to {programme.ends:%Y-%m-%d}: "
                f"covers {coverage_text(programme)}",
                markup=False,
                soft_wrap=True,
            )
        if not submit:
            return
        from ..audit.approved import schedule_json
        from ..runtime.core import CLI

        actor = app_.runtime.actor(person, "cli") if person else CLI
        transition = app_.runtime.start(
            "audit-programme",
            inputs={
                "schedule": schedule_json(programme),
                "plan": plan_text(programme),
                "cycle_start": f"{programme.cycle_start:%Y-%m-%d}",
                "cycle_years": programme.years,
                "coverage": coverage_text(programme),
            },
            actor=actor,
        )
        settle(app_)
        ok(
            f"submitted for approval: run {transition.run.run_id} "
            f"(see `aims runs show {transition.run.run_id}`)"
        )

    @audit.command("due")
    def due(
        on: str | None = typer.Option(None, "--on", help="a day, YYYY-MM-DD (default: today)"),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """The areas the approved audit programme plans for the quarter a day falls in: what an
        internal audit of that period checks."""
        from ._context import open_cli_app
        from ._listing import Column, emit

        app_ = open_cli_app()
        approved, day = _approved(app_, on)
        emit(
            [
                Column("period", "period", 0),
                Column("area", "area", 0),
                Column("covers", "covers", 1),
            ],
            [{"period": a.period, "area": a.area, "covers": a.covers} for a in approved.due(day)],
            fmt,
            empty=_nothing_due(approved, day),
        )

    @audit.command("start")
    def start(
        on: str | None = typer.Option(None, "--on", help="the period's day (default: today)"),
        person: str | None = typer.Option(
            None, "--as", help="who starts it (recorded as claimed, with your OS user)"
        ),
    ) -> None:
        """Start the internal audit of this period with the areas the approved audit programme
        plans for it."""
        from ..audit.inputs import due_inputs
        from ..errors import EngineError
        from ..runtime.core import CLI
        from ._context import open_cli_app, settle
        from ._output import ok

        app_ = open_cli_app()
        approved, day = _approved(app_, on)
        areas = approved.due(day)
        if not areas:
            raise EngineError(_nothing_due(approved, day), hint="see `aims audit due`")
        actor = app_.runtime.actor(person, "cli") if person else CLI
        transition = app_.runtime.start(
            "internal-audit", inputs=due_inputs(approved, day), actor=actor
        )
        settle(app_)
        ok(
            f"started run {transition.run.run_id} (internal-audit of {areas[0].period}: "
            f"{len(areas)} area(s) of programme {approved.reference}); "
            f"see `aims runs show {transition.run.run_id}`"
        )


def _approved(app_, on: str | None):
    """The approved programme and the day asked about; refused while none is approved."""
    from ..audit.approved import approved_programme
    from ..errors import ConfigError, NotFound

    try:
        day = date.fromisoformat(on) if on else app_.runtime.clock.now().date()
    except ValueError:
        raise ConfigError(f"--on '{on}' is not a date", hint="give it as YYYY-MM-DD") from None
    with app_.db.connect() as conn:
        approved = approved_programme(conn)
    if approved is None:
        raise NotFound(
            "no audit programme is approved yet",
            hint="`aims audit programme --submit`, then complete its review and approval",
        )
    return approved, day


def _nothing_due(approved, day: date) -> str:
    following = approved.next_after(day)
    return f"programme {approved.reference} plans no audit for the quarter of {day:%Y-%m-%d}" + (
        f"; next: {following.period} from {following.starts:%Y-%m-%d}" if following else ""
    )
