"""Reading the relief a borrower was granted (penalty freezes, waiver credits) for the ledger.

The daily run's accrual and a payment's replay both apply them through domain/relief.py,
so a grace period's frozen penalty or an approved waiver is never undone by either path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import Connection, func, or_, select

from fairdue.adapters.db.tables import borrowers, daily_runs
from fairdue.adapters.db.tables_plans import penalty_freezes, waiver_credits
from fairdue.domain.ledger import Component
from fairdue.domain.relief import Credit, Freeze

_CHUNK = 2000


def first_unaccrued_day(conn: Connection, on: date) -> date:
    """The first business day from `on` whose penalty has not been charged yet: penalty is
    charged at the start of each day, so relief granted after the daily run of `on`
    completed starts the next day (and a replay agrees with what the run did)."""
    last = conn.execute(select(func.max(daily_runs.c.business_date))
                        .where(daily_runs.c.status == "completed")).scalar()
    return on if last is None or last < on else last + timedelta(days=1)


def freezes_of(conn: Connection, borrower_ids: Sequence[str]) -> dict[str, list[Freeze]]:
    """Every penalty freeze of these borrowers."""
    found: dict[str, list[Freeze]] = defaultdict(list)
    ids = list(borrower_ids)
    for start in range(0, len(ids), _CHUNK):
        for r in conn.execute(select(penalty_freezes).where(
                penalty_freezes.c.borrower_id.in_(ids[start:start + _CHUNK]))):
            if r.ends_on is None or r.ends_on >= r.starts_on:  # a plan ended before it froze a day
                found[r.borrower_id].append(Freeze(r.starts_on, r.ends_on))
    return found


def partition_freezes(conn: Connection, shard_from: int, shard_to: int, since: date, day: date
                      ) -> dict[str, list[Freeze]]:
    """The freezes of a shard range's borrowers that cover any day of `since`..`day`: the
    daily run's one query for them (they are few; most borrowers have none)."""
    rows = conn.execute(
        select(penalty_freezes.c.borrower_id, penalty_freezes.c.starts_on, penalty_freezes.c.ends_on)
        .join(borrowers, borrowers.c.borrower_id == penalty_freezes.c.borrower_id)
        .where(borrowers.c.shard.between(shard_from, shard_to),
               penalty_freezes.c.starts_on <= day,
               or_(penalty_freezes.c.ends_on.is_(None), penalty_freezes.c.ends_on >= since))
    )
    found: dict[str, list[Freeze]] = defaultdict(list)
    for borrower_id, starts_on, ends_on in rows:
        if ends_on is None or ends_on >= starts_on:
            found[borrower_id].append(Freeze(starts_on, ends_on))
    return found


def credits_of(conn: Connection, loan_id: str) -> list[Credit]:
    """The approved waivers' credits on one loan, as a replay applies them."""
    return [
        Credit(r.applied_on, r.seq, Component(r.component), r.amount_minor, r.waiver_id)
        for r in conn.execute(select(waiver_credits).where(waiver_credits.c.loan_id == loan_id))
    ]
