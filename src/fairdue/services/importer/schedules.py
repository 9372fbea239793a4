"""Checking loan rows, schedules and payment rows: column-wise first, row by row when needed.

`fast_*` check a batch's columns against strict patterns and convert them (`columns`);
`quick_schedule` accepts a loan's schedule only when every rule certainly holds. Anything
else goes to `checked_loan` / `checked_schedule`, the per-row rules with their messages,
which decide and explain.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fairdue.errors import FairdueError
from fairdue.services import validation as v
from fairdue.services.importer import columns as col
from fairdue.services.importer.report import ImportReport, row_hash
from fairdue.services.sharding import shard_of

INSTALLMENT_COLUMNS = ("loan_id", "seq", "due_on", "principal_due", "interest_due", "fee_due")
# Scheduled installment as the importer holds it: seq, due_on (ISO text), principal, interest, fee.
Scheduled = tuple[int, str, int, int, int]


class ScheduleRejected(FairdueError):
    """A loan's schedule breaks a rule; the loan and its whole schedule are left out."""


def fast_loans(chunk: pa.Table) -> pa.Array:
    c = chunk.column
    day_ok, _ = col.day(c("disbursed_on"))
    principal_ok, _ = col.money_minor(c("principal"), positive=True)
    return col.all_of([
        col.matches(c("loan_id"), col.ID), col.matches(c("borrower_id"), col.ID),
        col.matches(c("product"), col.text_pattern(64)),
        col.matches(c("currency"), col.TWO_PLACE_CURRENCY),
        principal_ok, day_ok,
        col.matches(c("annual_rate"), r"^[0-9](\.[0-9]{1,20})?$"),
        col.matches(c("penalty_daily_rate"), r"^$|^0\.0[0-9]{0,18}$"),
    ])


def fast_schedule(table: pa.Table) -> list[tuple[Any, ...]]:
    """(ok, seq, due_on, principal, interest, fee) per installment row."""
    c = table.column
    due_ok, _ = col.day(c("due_on"))
    seq_ok = col.matches(c("seq"), r"^([1-9][0-9]{0,2}|1000)$")
    seq = pc.cast(pc.if_else(seq_ok, c("seq"), "0"), pa.int64())
    parts = [col.money_minor(c(name), positive=False)
             for name in ("principal_due", "interest_due", "fee_due")]
    ok = col.all_of([seq_ok, due_ok, *(p[0] for p in parts)])
    return list(zip(ok.to_pylist(), seq.to_pylist(), c("due_on").to_pylist(),
                    *(p[1].to_pylist() for p in parts), strict=True))


def fast_payments(table: pa.Table, now: datetime, zone: str | None,
                  sqlite: bool) -> list[tuple[Any, ...]]:
    """(ok, id, paid_at as stored, paid_on ISO, amount, channel, fingerprint) per row.

    The fingerprint is `services.payments.payment_row_hash`, computed from columns.
    """
    c = table.column
    n = table.num_rows
    if zone is None or n == 0:
        return [(False,)] * n
    moment_ok, utc = col.moment(c("paid_at"))
    amount_ok, amount = col.money_minor(c("amount"), positive=True)
    not_future = pc.less_equal(utc, pa.scalar(now, pa.timestamp("s", tz="UTC")))
    ok = col.all_of([col.matches(c("payment_id"), col.ID), moment_ok, amount_ok, not_future,
                     col.matches(c("channel"), r"^[a-z_]{1,32}$")])
    paid_on = col.iso_days(col.business_day(utc, zone))
    text = pc.binary_join_element_wise(
        c("payment_id"), pc.utf8_trim_whitespace(c("loan_id")),
        col.utc_text(utc, sep="T", suffix="+00:00"), pc.cast(amount, pa.string()),
        c("channel"), "|")
    stored = (col.utc_text(utc, sep=" ", suffix=".000000").to_pylist() if sqlite
              else utc.to_pylist())
    digests = [hashlib.sha256(t.encode()).hexdigest() if t is not None else ""
               for t in text.to_pylist()]
    return list(zip(ok.to_pylist(), c("payment_id").to_pylist(), stored, paid_on.to_pylist(),
                    amount.to_pylist(), c("channel").to_pylist(), digests, strict=True))


def quick_schedule(rows: list[tuple[Any, ...]], loan: dict[str, Any]) -> list[Scheduled] | None:
    """The schedule when every rule certainly holds, else None (the rules then explain)."""
    schedule = sorted((r[1:] for r in rows), key=lambda r: r[0])
    if not schedule:
        return None
    disbursed = loan["disbursed_on"]
    total = 0
    previous_seq, previous_due = 0, ""
    for seq, due, principal, _i, _f in schedule:
        if seq == previous_seq or due < disbursed or due < previous_due:
            return None
        previous_seq, previous_due = seq, due
        total += principal
    if total != loan["principal_minor"]:
        return None
    return schedule


def checked_loan(row: tuple[str, ...]) -> dict[str, Any]:
    loan_id, borrower_id, product, currency, principal, annual_rate, disbursed_on, penalty, _ = row
    code = v.currency(currency)
    penalty_text = penalty.strip() or "0.0005"
    return {
        "loan_id": v.identifier(loan_id, "loan_id"),
        "borrower_id": v.identifier(borrower_id, "borrower_id"),
        "shard": shard_of(borrower_id.strip()),
        "product": v.text(product, "product", max_len=64),
        "currency": code,
        "principal_minor": v.money_minor(principal, "principal", code, positive=True),
        "annual_rate": v.rate(annual_rate, "annual_rate", upper=Decimal(10)),
        "disbursed_on": v.day(disbursed_on, "disbursed_on").isoformat(),
        "penalty_daily_rate": v.rate(penalty_text, "penalty_daily_rate", upper=Decimal("0.1")),
        "row_hash": row_hash(*(x.strip() for x in row[:-1])),
    }


def checked_schedule(rows: list[tuple[Any, ...]], loan: dict[str, Any], report: ImportReport,
                     file: str) -> list[Scheduled]:
    """Every installment row of a loan through the rules; ScheduleRejected says why not."""
    if not rows:
        raise ScheduleRejected(f"has no installments in {file}")
    code = str(loan["currency"])
    result: list[Scheduled] = []
    problems: list[tuple[int, str]] = []
    seen: set[int] = set()
    for row in rows:
        _, seq, due_on, principal, interest, fee, line = row
        try:
            number = v.integer(seq, "seq", low=1, high=1000)
            if number in seen:
                raise v.RowError(f"seq {number} appears twice for loan {loan['loan_id']}")
            seen.add(number)
            due = v.day(due_on, "due_on").isoformat()
            if due < loan["disbursed_on"]:
                raise v.RowError(f"due_on {due} is before the loan was disbursed")
            result.append((number, due, v.money_minor(principal, "principal_due", code),
                           v.money_minor(interest, "interest_due", code),
                           v.money_minor(fee, "fee_due", code)))
        except v.RowError as exc:
            problems.append((int(line), str(exc)))
    counts = report.count(file)
    if problems:
        for bad_line, reason in problems:
            report.reject(file, bad_line, reason)
        counts.rejected += len(rows) - len(problems)
        raise ScheduleRejected(f"{len(problems)} installment row(s) are invalid; the loan "
                               "and its whole schedule were left out")
    result.sort(key=lambda i: i[0])
    for a, b in pairwise(result):
        if b[1] < a[1]:
            counts.rejected += len(rows)
            raise ScheduleRejected(f"installment {b[0]} falls due before installment {a[0]}")
    principal_sum = sum(i[2] for i in result)
    if principal_sum != loan["principal_minor"]:
        counts.rejected += len(rows)
        raise ScheduleRejected(
            f"installments' principal adds up to {Decimal(principal_sum).scaleb(-2)}, the loan's "
            f"principal is {Decimal(int(loan['principal_minor'])).scaleb(-2)}"
        )
    return result
