"""Champion/challenger: each variant's cases and outcomes side by side, with intervals.

Cases are assigned to variants by a hash of their id (docs/policy.md), so the variants are
comparable samples of the same book; the Wilson interval on each cure rate shows how much
of a difference between them could be chance.
"""

from __future__ import annotations

from sqlalchemy import Connection, case, func, select

from fairdue.adapters.db.tables import cases, experiment_assignments, loans, payments
from fairdue.domain.fairness import rate, wilson_interval
from fairdue.domain.money import format_minor
from fairdue.services.reports.common import active_cases, contacts_made, pct
from fairdue.services.reports.model import Chart, Figure, Window


def variant_results(conn: Connection, window: Window, currency: str) -> Figure:
    ea = experiment_assignments
    cured = case(((cases.c.status == "cured") & (cases.c.closed_on <= window.end), 1), else_=0)
    base = (
        select(ea.c.experiment, ea.c.variant, func.count().label("cases"),
               func.sum(cured).label("cured"))
        .join(cases, cases.c.case_id == ea.c.case_id)
        .where(ea.c.case_id.in_(active_cases(window)))
        .group_by(ea.c.experiment, ea.c.variant)
    )
    received = contacts_made(window)
    made = (
        select(ea.c.experiment, ea.c.variant, func.sum(received.c.n).label("contacts"))
        .join(received, received.c.case_id == ea.c.case_id)
        .group_by(ea.c.experiment, ea.c.variant)
    )
    collected = (
        select(ea.c.experiment, ea.c.variant, func.sum(payments.c.amount_minor).label("paid"))
        .join(cases, cases.c.case_id == ea.c.case_id)
        .join(loans, loans.c.borrower_id == cases.c.borrower_id)
        .join(payments, payments.c.loan_id == loans.c.loan_id)
        .where(payments.c.paid_on >= window.start, payments.c.paid_on <= window.end,
               payments.c.paid_on >= cases.c.opened_on,
               cases.c.closed_on.is_(None) | (payments.c.paid_on <= cases.c.closed_on))
        .group_by(ea.c.experiment, ea.c.variant)
    )
    contacts_by = {(e, v): int(n) for e, v, n in conn.execute(made)}
    paid_by = {(e, v): int(p or 0) for e, v, p in conn.execute(collected)}
    figure = Figure(
        "variants", "Strategy variants (champion/challenger)",
        "Each experiment variant's cases active in the window, the share cured by its end with "
        "a 95 % Wilson interval, contacts made per case (messages sent, calls made), and what "
        "was paid while cases were open. Overlapping intervals mean the data cannot yet tell "
        "the variants apart.",
        ["variant", "cases", "cured", "cure rate %", "95% low %", "95% high %",
         "contacts per case", "collected"],
        chart=Chart("interval", "variant", "cure rate %", "95% low %", "95% high %", percent=True),
    )
    for experiment, variant, n, c in conn.execute(base.order_by(ea.c.experiment, ea.c.variant)):
        n, c = int(n), int(c or 0)
        low, high = wilson_interval(c, n)
        per_case = rate(contacts_by.get((experiment, variant), 0), n)
        figure.rows.append([
            f"{experiment}/{variant}", n, c, pct(rate(c, n)), pct(low), pct(high),
            None if per_case is None else round(per_case, 2),
            format_minor(paid_by.get((experiment, variant), 0), currency),
        ])
    if not figure.rows:
        figure.explanation += " (The policy in force declares no experiment: nothing to compare.)"
    return figure
