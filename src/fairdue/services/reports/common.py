"""Query pieces every report family shares: the window, a loan's bucket on a date.

A loan's bucket on a date is not stored; the bucket history is. So "the bucket on day D" is
the target of the loan's last move on or before D (M0 without one), found for every loan
that ever fell behind at once by one ranked pass over the history, never a loop over loans.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, Select, case, func, literal, select, union_all
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from fairdue.adapters.db.tables import (
    cases,
    contact_attempts,
    contacts,
    daily_runs,
    loan_bucket_history,
    loans,
)
from fairdue.domain.delinquency import BucketTable
from fairdue.errors import InvalidInput
from fairdue.services.reports.model import Window
from fairdue.settings import Settings


def delinquent_on(day: date, buckets: BucketTable) -> Subquery:
    """(loan_id, bucket) for every loan in a bucket other than the first (M0) at the end of
    `day`: the target of its last move on or before `day`. Read from the bucket history alone
    (one ranked pass), so its cost follows the loans that ever fell behind, not the book."""
    history = loan_bucket_history
    ranked = (
        select(history.c.loan_id, history.c.to_bucket,
               func.row_number().over(partition_by=history.c.loan_id,
                                      order_by=(history.c.moved_on.desc(),
                                                history.c.move_id.desc())).label("rn"))
        .where(history.c.moved_on <= day)
        .subquery()
    )
    return (
        select(ranked.c.loan_id, ranked.c.to_bucket.label("bucket"))
        .where(ranked.c.rn == 1, ranked.c.to_bucket != buckets.names[0])
        .subquery()
    )


def bucket_rank(column: ColumnElement[Any], buckets: BucketTable) -> ColumnElement[int]:
    """The bucket's position in the table (0 = current), so buckets compare in SQL."""
    return case(*((column == name, i) for i, name in enumerate(buckets.names)),
                else_=literal(len(buckets.names), Integer))


def default_window(conn: Connection, settings: Settings, start: date | None, end: date | None
                   ) -> Window:
    """The dates asked for; by default from the first to the last daily run."""
    if start is None or end is None:
        first, last = conn.execute(
            select(func.min(daily_runs.c.business_date), func.max(daily_runs.c.business_date))
        ).one()
        if first is None:
            first, last = conn.execute(select(func.min(cases.c.opened_on),
                                              func.max(cases.c.opened_on))).one()
        if first is None:
            raise InvalidInput("there is nothing to report yet: no daily run has been made "
                               "(run `fairdue run-day` or `fairdue simulate` first)")
        start = start or first
        end = end or last
    assert start is not None and end is not None
    if end < start:
        raise InvalidInput(f"the report's end {end} is before its start {start}")
    return Window(start, end, settings.zone)


def active_cases(window: Window) -> Select[Any]:
    """Cases worked at some point in the window: opened by its end, not closed before it."""
    return select(cases.c.case_id).where(
        cases.c.opened_on <= window.end,
        (cases.c.closed_on.is_(None)) | (cases.c.closed_on >= window.start),
    )


def month_pairs(window: Window) -> list[tuple[date, date]]:
    """(D, D + 30) snapshot pairs inside the window, every 30 days from its start; at least
    one pair (start, end) when the window is shorter than a month."""
    pairs = []
    day = window.start
    while day + timedelta(days=30) <= window.end:
        pairs.append((day, day + timedelta(days=30)))
        day += timedelta(days=30)
    return pairs or [(window.start, window.end)]


def pct(value: float | None) -> float | None:
    """A share shown as a percentage with one decimal (None stays None)."""
    return None if value is None else round(value * 100, 1)


def loans_disbursed_by(conn: Connection, day: date) -> int:
    return int(conn.execute(select(func.count()).where(loans.c.disbursed_on <= day)).scalar_one())


def contacts_made(window: Window) -> Subquery:
    """(case_id, n): the contacts each case actually received in the window, messages sent
    and calls made (not what was planned, blocked or cancelled): treatment intensity."""
    sent = select(contacts.c.case_id.label("case_id")).where(
        contacts.c.channel.in_(("sms", "email", "push")), contacts.c.sent_at.is_not(None),
        contacts.c.sent_at >= window.start_utc, contacts.c.sent_at < window.end_utc,
        contacts.c.case_id.is_not(None))
    called = select(contact_attempts.c.case_id.label("case_id")).where(
        contact_attempts.c.channel == "call", contact_attempts.c.at >= window.start_utc,
        contact_attempts.c.at < window.end_utc, contact_attempts.c.case_id.is_not(None))
    both = union_all(sent, called).subquery()
    return select(both.c.case_id, func.count().label("n")).group_by(both.c.case_id).subquery()
