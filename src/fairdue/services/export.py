"""Exports for other programs: cases, loans, payments, domain events, decisions and planned
contacts, as JSON lines or CSV.

Amounts are decimal strings (never floats) and rows are streamed, so a million loans export
in constant memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import IO, Any

from sqlalchemy import Connection, Select, select

from fairdue.adapters.db.tables import (
    cases,
    contacts,
    decisions,
    domain_events,
    loans,
    payments,
    promises,
)
from fairdue.domain.money import format_minor
from fairdue.errors import InvalidInput

Row = dict[str, Any]


def _cases(conn: Connection) -> Iterator[Row]:
    query = select(cases).order_by(cases.c.case_id)
    for r in _stream(conn, query):
        yield {
            "case_id": r.case_id, "borrower_id": r.borrower_id, "status": r.status, "dpd": r.dpd,
            "bucket": r.bucket, "amount_due": format_minor(r.amount_due_minor, r.currency),
            "currency": r.currency, "overdue_loans": r.overdue_loans,
            "opened_on": r.opened_on, "closed_on": r.closed_on,
        }


def _loans(conn: Connection) -> Iterator[Row]:
    query = select(loans).order_by(loans.c.loan_id)
    for r in _stream(conn, query):
        yield {
            "loan_id": r.loan_id, "borrower_id": r.borrower_id, "product": r.product,
            "currency": r.currency, "principal": format_minor(r.principal_minor, r.currency),
            "annual_rate": r.annual_rate, "disbursed_on": r.disbursed_on,
            "penalty_daily_rate": r.penalty_daily_rate, "dpd": r.dpd, "bucket": r.bucket,
            "amount_due": format_minor(r.amount_due_minor, r.currency),
            "outstanding": format_minor(r.outstanding_minor, r.currency),
            "credit": format_minor(r.credit_minor, r.currency),
            "next_unpaid_due_on": r.next_unpaid_due_on, "accrued_through": r.accrued_through,
        }


def _payments(conn: Connection) -> Iterator[Row]:
    query = select(payments).order_by(payments.c.payment_id)
    for r in _stream(conn, query):
        yield {
            "payment_id": r.payment_id, "loan_id": r.loan_id, "paid_at": r.paid_at,
            "paid_on": r.paid_on, "amount": format_minor(r.amount_minor, r.currency),
            "currency": r.currency, "channel": r.channel,
        }


def _events(conn: Connection) -> Iterator[Row]:
    query = select(domain_events).order_by(domain_events.c.event_id)
    for r in _stream(conn, query):
        yield {
            "event_id": r.event_id, "name": r.name, "subject": r.subject,
            "occurred_on": r.occurred_on, "recorded_at": r.recorded_at,
            "payload": json.loads(r.payload),
        }


def _decisions(conn: Connection) -> Iterator[Row]:
    query = select(decisions).order_by(decisions.c.business_date, decisions.c.case_id)
    for r in _stream(conn, query):
        yield {
            "decision_id": r.decision_id, "case_id": r.case_id, "borrower_id": r.borrower_id,
            "business_date": r.business_date, "policy_version": r.policy_version,
            "variant": r.variant, "step": r.step, "facts": json.loads(r.facts),
            "actions": json.loads(r.actions), "rules_checked": json.loads(r.rules_checked),
            "decided_at": r.decided_at,
        }


def _contacts(conn: Connection) -> Iterator[Row]:
    query = select(contacts).order_by(contacts.c.created_at, contacts.c.contact_id)
    for r in _stream(conn, query):
        yield contact_row(r)


def contact_row(r: Any) -> Row:
    """A planned contact as other programs see it: no personal data, times as stored."""
    return {
        "contact_id": r.contact_id, "case_id": r.case_id, "borrower_id": r.borrower_id,
        "channel": r.channel, "template": r.template, "language": r.language,
        "priority": r.priority, "scheduled_at": r.scheduled_at, "status": r.status,
        "blocked_by": r.blocked_by, "blocked_reason": r.blocked_reason, "reason": r.reason,
        "attempts": r.attempts, "last_error": r.last_error, "provider_id": r.provider_id,
        "sent_at": r.sent_at, "delivered_at": r.delivered_at, "decision_id": r.decision_id,
        "created_at": r.created_at,
    }


def find_contacts(conn: Connection, *, status: str | None = None, channel: str | None = None,
                  borrower_id: str | None = None, case_id: str | None = None,
                  after: str | None = None, limit: int = 100) -> list[Row]:
    """Contacts by status (e.g. the dead letters), channel, borrower or case, in contact id
    order, a page at a time (`after`: the last contact id of the previous page)."""
    query = select(contacts)
    for column, value in ((contacts.c.status, status), (contacts.c.channel, channel),
                          (contacts.c.borrower_id, borrower_id), (contacts.c.case_id, case_id)):
        if value is not None:
            query = query.where(column == value)
    if after is not None:
        query = query.where(contacts.c.contact_id > after)
    rows = conn.execute(query.order_by(contacts.c.contact_id).limit(limit))
    return [{k: _plain(v) for k, v in contact_row(r).items()} for r in rows]


def _promises(conn: Connection) -> Iterator[Row]:
    from fairdue.services.promises import promise_row

    query = select(promises).order_by(promises.c.made_at, promises.c.promise_id)
    for r in _stream(conn, query):
        yield promise_row(r)


def _plans(conn: Connection) -> Iterator[Row]:
    from fairdue.adapters.db.tables_plans import plans
    from fairdue.services.plans import plan_row

    query = select(plans).order_by(plans.c.proposed_at, plans.c.plan_id)
    for r in _stream(conn, query):
        yield plan_row(r)


EXPORTS: dict[str, Callable[[Connection], Iterator[Row]]] = {
    "cases": _cases, "loans": _loans, "payments": _payments, "events": _events,
    "decisions": _decisions, "contacts": _contacts, "promises": _promises, "plans": _plans,
}


def _stream(conn: Connection, query: Select[Any]) -> Iterator[Any]:
    yield from conn.execution_options(yield_per=5000).execute(query)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        # SQLite hands back stored UTC times without their zone; say which zone they are in.
        return value.replace(tzinfo=UTC).isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def write_export(conn: Connection, what: str, fmt: str, out: IO[str]) -> int:
    """Write one export to `out`; returns the number of rows written."""
    if what not in EXPORTS:
        raise InvalidInput(f"cannot export {what!r}; choose one of {', '.join(EXPORTS)}")
    if fmt not in ("jsonl", "csv"):
        raise InvalidInput(f"format {fmt!r} is not jsonl or csv")
    count = 0
    writer: csv.DictWriter[str] | None = None
    for row in EXPORTS[what](conn):
        plain = {k: _plain(v) for k, v in row.items()}
        if fmt == "jsonl":
            out.write(json.dumps(plain, ensure_ascii=False) + "\n")
        else:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(plain), lineterminator="\n")
                writer.writeheader()
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else
                             ("" if v is None else v) for k, v in plain.items()})
        count += 1
    return count
