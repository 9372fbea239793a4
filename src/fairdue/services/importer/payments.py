"""Imported payments: checked row by row when needed, and posted to loans already in the books.

A payment for a loan imported in the same run is written with the loan (see `loans`). A
payment for a loan already in the books is posted the way a live payment is
(`services.payments.apply_payments`): the loan is replayed and its bucket and case follow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from fairdue.adapters.db.bulk import insert_dicts, select_in
from fairdue.adapters.db.ledger_repo import load_loans
from fairdue.adapters.db.tables import loans, payments
from fairdue.bootstrap import App
from fairdue.domain.ledger import business_date
from fairdue.services import validation as v
from fairdue.services.importer.report import ImportReport
from fairdue.services.payments import apply_payments, books_date, followups_of, payment_row_hash
from fairdue.services.unit_of_work import UnitOfWork

PAYMENT_COLUMNS = ("payment_id", "loan_id", "paid_at", "amount", "channel")
BATCH = 2000

Existing = dict[str, tuple[str, str]]


class PaymentRows:
    """Checks payment rows of one file against what is stored, and counts them."""

    def __init__(self, app: App, report: ImportReport, file: str) -> None:
        self.app = app
        self.report = report
        self.file = file
        self.now = app.clock.now()

    def checked(self, rows: list[tuple[str, ...]], loan_id: str, code: str,
                existing: Existing, out: list[dict[str, Any]]) -> list[str]:
        """Rows of one loan through the validators; new ones appended to `out`, ids returned."""
        counts = self.report.count(self.file)
        new_ids: list[str] = []
        for row in rows:
            payment_id, _, paid_at, amount, channel, line = row
            counts.read += 1
            try:
                pid = v.identifier(payment_id, "payment_id")
                moment = v.moment(paid_at, "paid_at")
                if moment > self.now:
                    raise v.RowError(f"paid_at {paid_at.strip()} is in the future")
                minor = v.money_minor(amount, "amount", code, positive=True)
                chan = v.text(channel, "channel", max_len=32, required=False) or "unknown"
            except v.RowError as exc:
                self.report.reject(self.file, int(line), str(exc))
                continue
            fingerprint = payment_row_hash(pid, loan_id, moment, minor, chan)
            if not self.is_new(pid, loan_id, fingerprint, int(line), existing):
                continue
            out.append({
                "payment_id": pid, "loan_id": loan_id, "paid_at": moment.astimezone(UTC),
                "paid_on": business_date(moment, self.app.zone), "amount_minor": minor,
                "currency": code, "channel": chan, "row_hash": fingerprint,
            })
            new_ids.append(pid)
            counts.added += 1
        return new_ids

    def is_new(self, pid: str, loan_id: str, fingerprint: str, line: int,
               existing: Existing) -> bool:
        """False for a payment already stored (unchanged) or stored differently (rejected)."""
        known = existing.get(pid)
        if known is not None:
            if known == (loan_id, fingerprint):
                self.report.count(self.file).unchanged += 1
            else:
                self.report.reject(self.file, line, f"payment {pid} already exists with different content")
            return False
        existing[pid] = (loan_id, fingerprint)
        return True

    def reject_all(self, rows: list[tuple[str, ...]], reason: str) -> None:
        counts = self.report.count(self.file)
        for row in rows:
            counts.read += 1
            self.report.reject(self.file, int(row[-1]), f"payment {row[0].strip()}: {reason}")


def stored_payments(conn: Any, ids: list[str]) -> Existing:
    """(loan id, fingerprint) of the payments among `ids` already in the books."""
    return {pid: (lid, digest)
            for pid, lid, digest in select_in(conn, payments, "payment_id", ["loan_id", "row_hash"], ids)}


def apply_later(uow: UnitOfWork, app: App, later: dict[str, list[str]],
                rows: list[dict[str, Any]]) -> None:
    """New payments for loans already in the books: posted like live payments."""
    if not later:
        return
    conn = uow.connection
    insert_dicts(conn, payments, rows)
    stored = load_loans(conn, later.keys(), for_update=True)
    followups = followups_of(conn, sorted({s.borrower_id for s in stored.values()}), sorted(later))
    paid_on: dict[str, date] = {}
    for r in rows:
        paid_on[r["loan_id"]] = max(paid_on.get(r["loan_id"], r["paid_on"]), r["paid_on"])
    for loan_id, ids in later.items():
        apply_payments(uow, app, stored[loan_id], ids, today=books_date(conn, paid_on[loan_id]),
                       followups=followups)


def payments_for_existing_loans(app: App, checker: PaymentRows, actor: str,
                                orphans: dict[str, list[tuple[str, ...]]]) -> None:
    """Payments whose loan is in no imported loans file: for loans already in the books."""
    ids = sorted(orphans)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        with app.uow(actor) as uow:
            conn = uow.connection
            known = dict(conn.execute(
                select(loans.c.loan_id, loans.c.currency).where(loans.c.loan_id.in_(chunk))
            ).all())
            existing = stored_payments(conn, [r[0].strip() for lid in chunk for r in orphans[lid]])
            rows: list[dict[str, Any]] = []
            later: dict[str, list[str]] = {}
            for loan_id in chunk:
                if loan_id not in known:
                    checker.reject_all(orphans[loan_id], f"no loan {loan_id!r} is known")
                    continue
                new_ids = checker.checked(orphans[loan_id], loan_id, known[loan_id], existing, rows)
                if new_ids:
                    later[loan_id] = new_ids
            apply_later(uow, app, later, rows)
            uow.commit()


def utc_text(moment: datetime) -> str:
    """How SQLite stores an instant (what adapters/db/bulk.py writes for a datetime)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
