"""`fairdue report`: the figures management reads, computed from the data by set-based SQL.

One module per family of measures: portfolio (roll rates, cure, recovery), contacts (PTP,
RPC, cost, complaints, refusals, visits), variants (champion/challenger) and fairness (S18).
This module gathers them, from one snapshot of the data, into a `Report` that
adapters/report_writer.py renders as HTML, charts and CSV.
"""

from __future__ import annotations

from datetime import date

from fairdue.bootstrap import App
from fairdue.services.reports.common import default_window
from fairdue.services.reports.contacts import (
    complaints_per_10k,
    contacts_and_cost,
    field_visits,
    ptp_kept_rate,
    refused_by_rule,
    right_party_contact_rate,
)
from fairdue.services.reports.fairness import Finding, fairness_figures, fairness_findings
from fairdue.services.reports.model import Chart, Figure, Report, Window
from fairdue.services.reports.portfolio import (
    cure_rate,
    recovery_by_bucket,
    recovery_by_vintage,
    roll_rates,
)
from fairdue.services.reports.variants import variant_results
from fairdue.settings import parse_channel_costs

__all__ = ["Chart", "Figure", "Finding", "Report", "Window", "build_report", "fairness_findings"]


def build_report(app: App, *, start: date | None = None, end: date | None = None) -> Report:
    """Every figure for the business dates `start`..`end` (default: the days run so far)."""
    settings = app.settings
    currency = settings.currency
    buckets = settings.bucket_table
    with app.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # One snapshot for every figure, so they add up while the day's work goes on
            # (SQLite's read transaction is a snapshot already).
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        window = default_window(conn, settings, start, end)
        report = Report(window=window, currency=currency, generated_at=app.clock.now())
        report.sections = [
            ("Portfolio", [
                roll_rates(conn, window, buckets),
                cure_rate(conn, window),
                recovery_by_bucket(conn, window, buckets, currency),
                recovery_by_vintage(conn, window, buckets, currency),
            ]),
            ("Collection", [
                ptp_kept_rate(conn, window),
                right_party_contact_rate(conn, window),
                contacts_and_cost(conn, window, parse_channel_costs(settings.channel_costs), currency),
                field_visits(conn, window),
            ]),
            ("Conduct", [
                complaints_per_10k(conn, window),
                refused_by_rule(conn, window),
            ]),
            ("Strategy variants", [variant_results(conn, window, currency)]),
            ("Fairness (S18)", fairness_figures(conn, window, settings)),
        ]
    return report
