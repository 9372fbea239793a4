"""The demo: a generated portfolio lived through day by day with the real services.

The generator writes a payment history up to its end date; the demo imports the books as
they stood at the start, then for each business date, on a clock that lives the day too:
at half past midnight the daily run (the books, then the policy's decisions), at half past
nine the outbox worker (messages to the file sink in the demo folder's `outbox/`), at the
end of the day that day's payments through the importer; so cases open, are contacted, age
and cure as they would live.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select

from fairdue.adapters.channels import sender_for
from fairdue.adapters.crypto import create_key_file
from fairdue.adapters.db.migrate import upgrade
from fairdue.adapters.db.tables import cases, contacts
from fairdue.adapters.templates import templates_from_settings
from fairdue.bootstrap import App
from fairdue.clock import FixedClock
from fairdue.domain.money import format_minor
from fairdue.portfolio.generate import generate_portfolio
from fairdue.services.daily_run import run_days
from fairdue.services.dispatch import Dispatcher
from fairdue.services.importing import import_portfolio

Progress = Callable[[str, int, int], None]


@dataclass
class DemoSummary:
    start: date
    end: date
    loans: int
    open_by_bucket: list[tuple[str, int, str]] = field(default_factory=list)
    cases_opened: int = 0
    cases_cured: int = 0
    payments_posted: int = 0
    rejected_rows: int = 0
    contacts_by_status: list[tuple[str, str, int]] = field(default_factory=list)


def prepare(folder: Path) -> None:
    """Start from nothing: the demo folder is the demo's own."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def split_payments(portfolio: Path, start: date, days_dir: Path) -> dict[date, Path]:
    """Keep payments up to `start` in the portfolio; write later ones into one folder a day."""
    source = portfolio / "payments.csv"
    later: dict[date, list[list[str]]] = defaultdict(list)
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        early: list[list[str]] = []
        for row in reader:
            paid_on = date.fromisoformat(row[2][:10])
            (early if paid_on <= start else later[paid_on]).append(row)
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(early)
    folders = {}
    for day, rows in later.items():
        folder = days_dir / day.isoformat()
        folder.mkdir(parents=True)
        with (folder / "payments.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        folders[day] = folder
    return folders


def run_demo(app: App, folder: Path, *, loans: int, days: int, seed: int, end: date,
             progress: Progress) -> DemoSummary:
    upgrade(app.engine)
    key = app.settings.resolved_key_file()
    if not key.exists():
        create_key_file(key)
    start = end - timedelta(days=days)
    portfolio = folder / "portfolio"
    generate_portfolio(portfolio, loans=loans, seed=seed, as_of=end, progress=progress)
    per_day = split_payments(portfolio, start, folder / "days")
    report = import_portfolio(app, portfolio, progress=progress)
    summary = DemoSummary(start=start, end=end, loans=loans, rejected_rows=len(report.errors))
    clock = FixedClock(_at(start, time(0, 30), app))
    app.clock = clock
    run_days(app, through=start)
    sink = f"file://{folder / 'outbox'}"
    dispatcher = Dispatcher(app, {c: sender_for(sink) for c in ("sms", "email", "push")},
                            templates_from_settings(app.settings))
    day = start + timedelta(days=1)
    n = 0
    while day <= end:
        clock.moment = _at(day, time(0, 30), app)
        run_days(app, through=day)
        clock.moment = _at(day, time(9, 30), app)
        dispatcher.run_once()
        clock.moment = _at(day, time(23, 59, 59, 999999), app)
        if day in per_day:
            posted = import_portfolio(app, per_day[day])
            counts = posted.counts.get("payments.csv")
            summary.payments_posted += counts.added if counts else 0
            summary.rejected_rows += len(posted.errors)
        n += 1
        progress("daily cycle", n, days)
        day += timedelta(days=1)
    dispatcher.close()
    with app.engine.connect() as conn:
        summary.contacts_by_status = [
            (channel, status, count) for channel, status, count in conn.execute(
                select(contacts.c.channel, contacts.c.status, func.count())
                .group_by(contacts.c.channel, contacts.c.status)
                .order_by(contacts.c.channel, contacts.c.status))
        ]
        summary.cases_cured = conn.execute(
            select(func.count()).select_from(cases).where(cases.c.status == "cured")
        ).scalar_one()
        summary.cases_opened = conn.execute(select(func.count()).select_from(cases)).scalar_one()
        rows = conn.execute(
            select(cases.c.bucket, func.count(), func.sum(cases.c.amount_due_minor))
            .where(cases.c.status == "open").group_by(cases.c.bucket)
        ).all()
    order = app.buckets.names
    summary.open_by_bucket = sorted(
        ((bucket, count, format_minor(int(total or 0), app.settings.currency))
         for bucket, count, total in rows),
        key=lambda r: order.index(r[0]) if r[0] in order else len(order),
    )
    return summary


def _at(day: date, moment: time, app: App) -> datetime:
    return datetime.combine(day, moment, tzinfo=app.zone)
