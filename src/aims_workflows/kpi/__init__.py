"""KPIs: the registry of definitions and query functions (:mod:`.queries`, :mod:`.definitions`),
the shipped KPIs (:mod:`.measures`), their daily history (:mod:`.snapshots`, read through
:mod:`.history`), the compliance dashboard's data (:mod:`.dashboard`), the ledger's cached
chain status (:mod:`.chain_status`), run timelines (:mod:`.timeline`) and their HTML
(:mod:`.html`)."""

from . import (  # noqa: F401 - registers the shipped KPIs, whatever is imported first
    measures,
    measures_risks,  # the risk register's
    operations,  # those of the operational workflows
)
from .queries import Kpi, compute_kpis, median_from_histogram
from .render import format_target, format_value, kpi_table, kpis_csv, kpis_json

__all__ = [
    "Kpi",
    "compute_kpis",
    "format_target",
    "format_value",
    "kpi_table",
    "kpis_csv",
    "kpis_json",
    "median_from_histogram",
]
