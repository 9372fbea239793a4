"""Checking loan rows, schedules and payment rows: column-wise first, row by row when needed.

`*_columns` check a batch's columns against strict patterns and convert them (`columns`)
into numpy arrays for the quick lane (`lane`), and into tuples for the loans that go row by
row; `quick_schedule` accepts a loan's schedule only when every rule certainly holds. Anything
else goes to `checked_loan` / `checked_schedule`, the per-row rules with their messages,
which decide and explain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import numpy as np
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


@dataclass
class LoanColumns:
    """A batch of loan rows checked column-wise: which rows take the quick way, with values."""

    ok: np.ndarray            # bool: every field matched its strict pattern
    disbursed: np.ndarray     # int64 days since 1970-01-01 (meaningful where ok)
    principal: np.ndarray     # int64 minor units (meaningful where ok)


def loan_columns(chunk: pa.Table) -> LoanColumns:
    c = chunk.column
    day_ok, days = col.day(c("disbursed_on"))
    principal_ok, principal = col.money_minor(c("principal"), positive=True)
    ok = col.all_of([
        col.matches(c("loan_id"), col.ID), col.matches(c("borrower_id"), col.ID),
        col.matches(c("product"), col.text_pattern(64)),
        col.matches(c("currency"), col.TWO_PLACE_CURRENCY),
        principal_ok, day_ok,
        col.matches(c("annual_rate"), r"^[0-9](\.[0-9]{1,20})?$"),
        col.matches(c("penalty_daily_rate"), r"^$|^0\.0[0-9]{0,18}$"),
    ])
    return LoanColumns(col.bools(ok), col.ints(days.cast(pa.int32())), col.ints(principal))


@dataclass
class ScheduleColumns:
    """Installment rows checked column-wise, in the order of their table."""

    ok: np.ndarray            # bool: every field matched its strict pattern
    seq: np.ndarray           # int64 (0 where not ok)
    due: pa.ChunkedArray      # the due_on text as written
    due_days: np.ndarray      # int64 days since 1970-01-01 (meaningful where ok)
    principal: np.ndarray     # int64 minor units, as are interest and fee
    interest: np.ndarray
    fee: np.ndarray

    def tuples(self, rows: np.ndarray) -> list[tuple[Any, ...]]:
        """(ok, seq, due_on, principal, interest, fee) of `rows`, for the row-by-row way."""
        return list(zip(self.ok[rows].tolist(), self.seq[rows].tolist(),
                        self.due.take(pa.array(rows)).to_pylist(),
                        self.principal[rows].tolist(), self.interest[rows].tolist(),
                        self.fee[rows].tolist(), strict=True))


def schedule_columns(table: pa.Table) -> ScheduleColumns:
    c = table.column
    due_ok, due_days = col.day(c("due_on"))
    seq_ok = col.matches(c("seq"), r"^([1-9][0-9]{0,2}|1000)$")
    seq = pc.cast(pc.if_else(seq_ok, c("seq"), "0"), pa.int64())
    parts = [col.money_minor(c(name), positive=False)
             for name in ("principal_due", "interest_due", "fee_due")]
    ok = col.all_of([seq_ok, due_ok, *(p[0] for p in parts)])
    return ScheduleColumns(col.bools(ok), col.ints(seq), c("due_on"),
                           col.ints(due_days.cast(pa.int32())),
                           *(col.ints(p[1]) for p in parts))


@dataclass
class PaymentColumns:
    """Payment rows checked column-wise, in the order of their table."""

    ok: np.ndarray            # bool: every field matched, the instant is not in the future
    payment_id: pa.ChunkedArray
    stored: pa.ChunkedArray   # paid_at as the database stores it (SQLite text, else timestamp)
    paid_on: pa.ChunkedArray  # business date (date32)
    paid_days: np.ndarray     # the same, int64 days since 1970-01-01
    amount: np.ndarray        # int64 minor units
    channel: pa.ChunkedArray
    digests: list[str]        # `services.payments.payment_row_hash` of each row
    sqlite: bool

    def tuples(self, rows: np.ndarray) -> list[tuple[Any, ...]]:
        """(ok, id, paid_at as stored, paid_on ISO, amount, channel, fingerprint) of `rows`."""
        if not len(self.digests):
            return [(False,)] * len(rows)
        take = pa.array(rows)
        return list(zip(self.ok[rows].tolist(), self.payment_id.take(take).to_pylist(),
                        self.stored.take(take).to_pylist(),
                        col.iso_days(self.paid_on.take(take)).to_pylist(),
                        self.amount[rows].tolist(), self.channel.take(take).to_pylist(),
                        [self.digests[r] for r in rows.tolist()], strict=True))


def payment_columns(table: pa.Table, now: datetime, zone: str | None,
                    sqlite: bool) -> PaymentColumns:
    """Payment rows checked and converted column-wise; none is ok without a time zone.

    The fingerprint is `services.payments.payment_row_hash`, computed from columns.
    """
    c = table.column
    n = table.num_rows
    if zone is None or n == 0:
        empty = pa.chunked_array([], pa.string())
        return PaymentColumns(np.zeros(n, bool), empty, empty, pa.chunked_array([], pa.date32()),
                              np.zeros(n, np.int64), np.zeros(n, np.int64), empty, [], sqlite)
    moment_ok, utc = col.moment(c("paid_at"))
    amount_ok, amount = col.money_minor(c("amount"), positive=True)
    not_future = pc.less_equal(utc, pa.scalar(now, pa.timestamp("s", tz="UTC")))
    ok = col.all_of([col.matches(c("payment_id"), col.ID), moment_ok, amount_ok, not_future,
                     col.matches(c("channel"), r"^[a-z_]{1,32}$")])
    paid_on = col.business_day(utc, zone)
    text = pc.binary_join_element_wise(
        c("payment_id"), pc.utf8_trim_whitespace(c("loan_id")),
        col.utc_text(utc, sep="T", suffix="+00:00"), pc.cast(amount, pa.string()),
        c("channel"), "|")
    stored = col.utc_text(utc, sep=" ", suffix=".000000") if sqlite else utc
    sha256 = hashlib.sha256
    digests = [sha256(t.encode()).hexdigest() if t is not None else ""
               for t in text.to_pylist()]
    return PaymentColumns(col.bools(ok), c("payment_id"), _chunked(stored), _chunked(paid_on),
                          col.ints(paid_on.cast(pa.int32())), col.ints(amount), c("channel"),
                          digests, sqlite)


def _chunked(array: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


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
