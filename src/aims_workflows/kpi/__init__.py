"""KPIs over the projections: coverage, open and overdue tasks, approval latency, time to close."""

from .queries import Kpi, compute_kpis, median_from_histogram
from .render import format_value, kpi_table, kpis_csv, kpis_json

__all__ = ["Kpi", "compute_kpis", "format_value", "kpi_table", "kpis_csv", "kpis_json", "median_from_histogram"]
