"""``aims risks list | show``: the AI risk register and the history of one risk."""

from __future__ import annotations

from enum import StrEnum

import typer

from ._group import command_group
from ._listing import FormatOption, ListFormat

__all__ = ["register"]


class ShowFormat(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    risks = command_group("The AI risk register: risks, ratings, treatments, history.")
    app.add_typer(risks, name="risks")

    @risks.command("list")
    def risks_list(
        system: str | None = typer.Option(None, "--system", help="only this AI system's risks"),
        open_only: bool = typer.Option(False, "--open", help="only open risks (not closed)"),
        overdue: bool = typer.Option(
            False, "--overdue", help="the treatment actions past their target date instead"
        ),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """The risk register: each risk's level now, inherent and residual ratings, treatment,
        owner and target date. `--format csv` or `json` is the register export."""
        from ..risks.queries import REGISTER_COLUMNS, list_risks, overdue_treatments
        from ._context import open_cli_app
        from ._listing import Column, emit

        app_ = open_cli_app()
        today = app_.runtime.clock.now().date()
        with app_.db.connect() as conn:
            system = _known_system(conn, system)
            if overdue:
                late = overdue_treatments(conn, today, system=system)
            else:
                rows = list_risks(conn, today=today, system=system, open_only=open_only)
        if overdue:
            emit(
                [
                    Column("risk_id", "risk", 0),
                    Column("system", "system", 2),
                    Column("risk", "title", 3),
                    Column("action_owner", "owner", 1),
                    Column("due_date", "due", 1),
                    Column("days_overdue", "days late", 1),
                    Column("run_id", "treatment run", 0),
                ],
                late,
                fmt,
                empty="no overdue risk treatments",
            )
            return
        if fmt in (ListFormat.json, ListFormat.csv):
            columns = [Column(key, key) for key in REGISTER_COLUMNS]
        else:
            columns = [
                Column("risk_id", "risk", 0),
                Column("system", "system", 2),
                Column("title", "title", 3),
                Column("status", "status", 1),
                Column("level", "level", 1),
                Column("score", "score", 1),
                Column("treatment", "treatment", 2),
                Column("treatment_status", "action", 2),
                Column("target_date", "target", 2),
                Column("owner", "owner", 3),
            ]
        emit(
            columns,
            rows,
            fmt,
            styles={"treatment_status": _action_style},
            empty="no risks in the register" + (f" for {system}" if system else ""),
        )

    @risks.command("show")
    def risks_show(
        risk_id: str = typer.Argument(..., help="the risk's id, e.g. RISK-3"),
        fmt: ShowFormat = typer.Option(ShowFormat.text, "--format", case_sensitive=False),
    ) -> None:
        """One risk: where it stands and its history (assessments, ratings, closures,
        treatment actions, acceptance)."""
        import json
        import sys

        from ..risks.queries import risk_history
        from ._context import open_cli_app

        app_ = open_cli_app()
        with app_.db.connect() as conn:
            risk = risk_history(conn, risk_id, today=app_.runtime.clock.now().date())
        if fmt is ShowFormat.json:
            sys.stdout.write(json.dumps(risk, indent=2, default=str) + "\n")
            return
        _print_risk(risk)


def _known_system(conn, system: str | None) -> str | None:
    """The system's name as the inventory spells it: one that is not there is a typo (refused
    with a suggestion), not an empty register."""
    if system is None:
        return None
    from ..store import inventory as inventory_store

    return str(inventory_store.get(conn, system)["name"])


def _action_style(row: dict) -> str:
    status = row.get("treatment_status") or ""
    return f"[red]{status}[/]" if status == "overdue" else status


def _print_risk(risk: dict) -> None:
    from rich.markup import escape

    from ._output import console

    out = console()
    out.print(f"[bold]{risk['risk_id']}[/] {escape(risk['title'])}  ({escape(risk['system'])})")
    facts = [
        ("status", risk["status"] + (f": {risk['close_reason']}" if risk["close_reason"] else "")),
        ("now", f"{risk['score']} ({risk['level']})" if risk["score"] is not None else "-"),
        ("inherent", risk["inherent"]),
        ("residual", risk["residual"]),
        ("treatment", risk["treatment"]),
        ("controls", ", ".join(risk["controls"])),
        ("sources", ", ".join(risk["sources"])),
        ("affected", risk["affected_parties"]),
        ("risk owner", risk["owner"]),
        ("action owner", risk["action_owner"]),
        ("target date", risk["target_date"]),
        ("accepted by", f"{', '.join(risk['accepted_by'])} ({risk['acceptance_level']})"),
    ]
    for label, value in facts:
        if value:
            out.print(f"  {label:<13} {escape(str(value))}")
    out.print("[bold]history[/]")
    for event in risk["history"]:
        extra = {
            k: v
            for k, v in event.items()
            if k not in ("at", "event", "run_id") and v not in ("", [])
        }
        details = "; ".join(f"{k.replace('_', ' ')} {_show(v)}" for k, v in extra.items())
        out.print(
            f"  {event['at'][:10]}  {event['event']:<20} {escape(details)}"
            f"  [dim]{escape(event['run_id'])}[/]"
        )
    if risk["treatments"]:
        out.print("[bold]treatment actions[/]")
        for t in risk["treatments"]:
            status = f"[red]{t['status']}[/]" if t["status"] == "overdue" else t["status"]
            out.print(
                f"  {t['due_date']}  {status:<10} {escape(t['action_owner'])}: "
                f"{escape(t['plan'][:100])}  [dim]{escape(t['run_id'])}[/]"
            )


def _show(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
