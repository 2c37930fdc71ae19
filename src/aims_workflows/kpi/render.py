"""KPI output as a table, JSON or CSV."""

from __future__ import annotations

import json

from . import formulas
from .queries import Kpi

__all__ = ["format_value", "format_target", "kpis_json", "kpis_csv", "kpi_table"]


def format_value(kpi: Kpi) -> str:
    if kpi.value is None:
        return "n/a"
    if kpi.unit == "ratio":
        return f"{kpi.value:.0%}"
    if kpi.unit == "count":
        return f"{int(kpi.value)}"
    return f"{kpi.value:.1f} {kpi.unit}"


def format_target(kpi: Kpi) -> str:
    if kpi.target is None:
        return ""
    if kpi.unit == "ratio":
        return f">= {kpi.target:.0%}"
    if kpi.unit == "count":
        return f"<= {int(kpi.target)}"
    return f"<= {kpi.target:g} {kpi.unit}"


def kpis_json(kpis: list[Kpi], generated_at: str) -> str:
    return json.dumps({"generated_at": generated_at, "kpis": [k.as_dict() for k in kpis]}, indent=2)


def kpis_csv(kpis: list[Kpi]) -> str:
    # the pack's verifier writes the rows again with the same function (formulas.csv_text)
    return formulas.csv_text(k.as_dict() for k in kpis)


def kpi_table(kpis: list[Kpi], title: str = "AIMS KPIs"):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    # long words (role and KPI names) fold onto the next line rather than being cut with "…"
    table.add_column("KPI", overflow="fold")
    table.add_column("Value", justify="right")
    table.add_column("Target", justify="right")
    table.add_column("Status")
    table.add_column("Detail", style="dim", overflow="fold")
    for k in kpis:
        status = "" if k.met is None else ("[green]met[/]" if k.met else "[red]not met[/]")
        table.add_row(k.label, format_value(k), format_target(k), status, k.detail)
    return table
