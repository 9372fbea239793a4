"""How the book moved: roll rates between buckets, cure rate, recovery by bucket and vintage.

All set-based: a handful of grouped queries whatever the portfolio's size.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import Connection, case, extract, func, select

from fairdue.adapters.db.tables import cases, installments, loans, payments
from fairdue.domain.delinquency import BucketTable
from fairdue.domain.fairness import rate
from fairdue.domain.money import format_minor
from fairdue.services.reports.common import (
    bucket_rank,
    delinquent_on,
    loans_disbursed_by,
    month_pairs,
    pct,
)
from fairdue.services.reports.model import Chart, Figure, Window


def roll_rates(conn: Connection, window: Window, buckets: BucketTable) -> Figure:
    """Where the loans of each bucket stood 30 days later (every 30-day step in the window)."""
    names = buckets.names
    current = names[0]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for first, second in month_pairs(window):
        before, after = delinquent_on(first, buckets), delinquent_on(second, buckets)
        # Behind on the first day: where each stood on the second (current without a row).
        for source, target, n in conn.execute(
            select(before.c.bucket, after.c.bucket, func.count())
            .select_from(before.outerjoin(after, after.c.loan_id == before.c.loan_id))
            .group_by(before.c.bucket, after.c.bucket)
        ):
            counts[(source, target or current)] += int(n)
        # Current on the first day (disbursed by then, no row), behind on the second.
        fell = 0
        for target, n in conn.execute(
            select(after.c.bucket, func.count())
            .select_from(after.join(loans, loans.c.loan_id == after.c.loan_id)
                         .outerjoin(before, before.c.loan_id == after.c.loan_id))
            .where(before.c.loan_id.is_(None), loans.c.disbursed_on <= first)
            .group_by(after.c.bucket)
        ):
            counts[(current, target)] += int(n)
            fell += int(n)
        behind_first = int(conn.execute(select(func.count()).select_from(before)).scalar_one())
        # The rest of the book disbursed by the first day stayed current.
        counts[(current, current)] += loans_disbursed_by(conn, first) - behind_first - fell
    figure = Figure(
        "roll_rates", "Roll-rate matrix",
        "Share of the loans in each bucket (rows) found in each bucket (columns) 30 days later, "
        "pooled over every 30-day step of the window (one step from start to end when the "
        "window is shorter). Roll rate: share that moved to a worse bucket; cure: back to "
        f"{names[0]}.",
        ["from bucket", "loans", *[f"to {n} %" for n in names], "roll rate %", "cure %"],
        chart=Chart("heatmap", "from bucket", percent=True),
    )
    for i, source in enumerate(names):
        total = sum(counts[(source, t)] for t in names)
        if total == 0:
            continue
        worse = sum(counts[(source, t)] for t in names[i + 1:])
        figure.rows.append([
            source, total, *[pct(rate(counts[(source, t)], total)) for t in names],
            pct(rate(worse, total)), pct(rate(counts[(source, names[0])], total)),
        ])
    return figure


def cure_rate(conn: Connection, window: Window) -> Figure:
    """Cases opened in the window (by week) and the share of them cured by its end."""
    cured = case((((cases.c.status == "cured") & (cases.c.closed_on <= window.end)), 1), else_=0)
    opened_in = (cases.c.opened_on > window.start) & (cases.c.opened_on <= window.end)
    rows = conn.execute(
        select(cases.c.opened_on, func.count(), func.sum(cured))
        .where(opened_in).group_by(cases.c.opened_on).order_by(cases.c.opened_on)
    ).all()
    backlog = conn.execute(
        select(func.count(), func.sum(cured)).where(
            cases.c.opened_on <= window.start,
            cases.c.closed_on.is_(None) | (cases.c.closed_on > window.start))
    ).one()
    weekly: dict[str, list[int]] = {}
    for opened_on, n, c in rows:
        monday = window.start + timedelta(days=((opened_on - window.start).days // 7) * 7)
        slot = weekly.setdefault(monday.isoformat(), [0, 0])
        slot[0] += int(n)
        slot[1] += int(c or 0)
    figure = Figure(
        "cure_rate", "Cure rate",
        "Cases opened in each week of the window after its first day and the share cured "
        "(everything overdue paid) by the window's end; the last rows pool every case opened "
        "in the window, and the cases open at the end of its first day (the book as it stood). "
        "Later weeks have had less time to cure.",
        ["cohort", "cases", "cured", "cure rate %"],
        chart=Chart("bar", "cohort", "cure rate %", percent=True),
    )
    for label, (n, c) in weekly.items():
        figure.rows.append([f"opened week of {label}", n, c, pct(rate(c, n))])
    opened = sum(v[0] for v in weekly.values())
    cured_n = sum(v[1] for v in weekly.values())
    figure.rows.append(["all opened in window", opened, cured_n, pct(rate(cured_n, opened))])
    figure.rows.append(["open at window start", int(backlog[0]), int(backlog[1] or 0),
                        pct(rate(int(backlog[1] or 0), int(backlog[0])))])
    return figure


def _recovery_base(window: Window, buckets: BucketTable):  # type: ignore[no-untyped-def]
    """Per loan delinquent at the end of the window's first day: its bucket then, what was
    overdue then (instalments due by then less payments by then, penalty excluded), what it
    paid in the rest of the window, and that payment capped at what was overdue."""
    start_bucket = delinquent_on(window.start, buckets)
    # Sums over the cohort's own instalments and payments (their indexes), not the book's.
    due = (
        select(installments.c.loan_id,
               func.sum(installments.c.principal_minor + installments.c.interest_minor
                        + installments.c.fee_minor).label("due"))
        .join(start_bucket, start_bucket.c.loan_id == installments.c.loan_id)
        .where(installments.c.due_on < window.start)  # due before: overdue on the first day
        .group_by(installments.c.loan_id).subquery()
    )
    paid_before = (
        select(payments.c.loan_id, func.sum(payments.c.amount_minor).label("paid"))
        .join(start_bucket, start_bucket.c.loan_id == payments.c.loan_id)
        .where(payments.c.paid_on <= window.start).group_by(payments.c.loan_id).subquery()
    )
    paid_in = (
        select(payments.c.loan_id, func.sum(payments.c.amount_minor).label("paid"))
        .join(start_bucket, start_bucket.c.loan_id == payments.c.loan_id)
        .where(payments.c.paid_on > window.start, payments.c.paid_on <= window.end)
        .group_by(payments.c.loan_id).subquery()
    )
    overdue = func.coalesce(due.c.due, 0) - func.coalesce(paid_before.c.paid, 0)
    overdue = case((overdue > 0, overdue), else_=0)
    collected = func.coalesce(paid_in.c.paid, 0)
    recovered = case((collected < overdue, collected), else_=overdue)
    return (
        select(start_bucket.c.bucket.label("bucket"), loans.c.disbursed_on.label("disbursed_on"),
               overdue.label("overdue"), recovered.label("recovered"))
        .select_from(start_bucket)
        .join(loans, loans.c.loan_id == start_bucket.c.loan_id)
        .outerjoin(due, due.c.loan_id == loans.c.loan_id)
        .outerjoin(paid_before, paid_before.c.loan_id == loans.c.loan_id)
        .outerjoin(paid_in, paid_in.c.loan_id == loans.c.loan_id)
        .subquery()
    )


_RECOVERY_TEXT = (
    "Loans overdue at the end of the window's first day, {by}: what was overdue then "
    "(instalments due before that day less payments made by its end; penalty excluded) and how "
    "much of it was paid in the rest of the window (a loan's payments count up to what it had "
    "overdue)."
)


def recovery_by_bucket(conn: Connection, window: Window, buckets: BucketTable,
                       currency: str) -> Figure:
    base = _recovery_base(window, buckets)
    rank = bucket_rank(base.c.bucket, buckets)
    rows = conn.execute(
        select(base.c.bucket, func.count(), func.sum(base.c.overdue), func.sum(base.c.recovered))
        .group_by(base.c.bucket).order_by(func.min(rank))
    ).all()
    figure = Figure(
        "recovery_by_bucket", "Recovery by bucket",
        _RECOVERY_TEXT.format(by="by their bucket on that day"),
        ["bucket", "loans", "overdue at start", "recovered", "recovery rate %"],
        chart=Chart("bar", "bucket", "recovery rate %", percent=True),
    )
    for bucket, n, overdue, recovered in rows:
        figure.rows.append([bucket, int(n), format_minor(int(overdue or 0), currency),
                            format_minor(int(recovered or 0), currency),
                            pct(rate(int(recovered or 0), int(overdue or 0)))])
    return figure


def recovery_by_vintage(conn: Connection, window: Window, buckets: BucketTable,
                        currency: str) -> Figure:
    base = _recovery_base(window, buckets)
    # Computed in a subquery and grouped by its column: PostgreSQL does not see two renderings
    # of one expression with bound parameters as the same grouping.
    dated = select(
        (extract("year", base.c.disbursed_on) * 100
         + extract("month", base.c.disbursed_on)).label("vintage"),
        base.c.overdue, base.c.recovered,
    ).subquery()
    rows = conn.execute(
        select(dated.c.vintage, func.count(), func.sum(dated.c.overdue), func.sum(dated.c.recovered))
        .group_by(dated.c.vintage).order_by(dated.c.vintage)
    ).all()
    figure = Figure(
        "recovery_by_vintage", "Recovery by vintage",
        _RECOVERY_TEXT.format(by="by the month the loan was disbursed (its vintage)"),
        ["vintage", "loans", "overdue at start", "recovered", "recovery rate %"],
        chart=Chart("bar", "vintage", "recovery rate %", percent=True),
    )
    for v, n, overdue, recovered in rows:
        label = f"{int(v) // 100:04d}-{int(v) % 100:02d}"
        figure.rows.append([label, int(n), format_minor(int(overdue or 0), currency),
                            format_minor(int(recovered or 0), currency),
                            pct(rate(int(recovered or 0), int(overdue or 0)))])
    return figure
