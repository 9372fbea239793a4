"""Importing loans with their schedules and payments, in batches of whole loans.

A loan, its installments and its payments go into the books in one transaction with the
other loans of their batch, or not at all: a crash leaves no half-imported loan. Each file is
checked column-wise (`columns`, strict patterns), and each loan whose rows all pass takes
the quick lane (`lane`, `prepare`: settled and made into rows with array operations, once
the database confirms the loan is new); a loan with any other row, or that the lane cannot
settle, goes through the per-row validators, which accept it or report each bad row with its
line, and its state after its payments comes from `settle` (the ledger's rules, with a proven
shortcut for loans paid on time).
"""

from __future__ import annotations

from contextlib import closing
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fairdue.adapters.db.bulk import bulk_insert, select_in
from fairdue.adapters.db.tables import borrowers, installments, loans, payments
from fairdue.bootstrap import App
from fairdue.domain.money import MINOR_UNITS
from fairdue.services import validation as v
from fairdue.services.importer import columns as col
from fairdue.services.importer.grouping import KEY, group, sorted_loans
from fairdue.services.importer.payments import (
    PAYMENT_COLUMNS,
    PaymentRows,
    apply_later,
    payments_for_existing_loans,
    stored_payments,
)
from fairdue.services.importer.prepare import (
    LOAN_COLUMNS,
    Prefetch,
    Prepared,
    Source,
    can_fork,
    prepare,
)
from fairdue.services.importer.report import BadRow, ImportReport, Progress, file_digest, row_hash
from fairdue.services.importer.schedules import (
    INSTALLMENT_COLUMNS,
    ScheduleRejected,
    checked_loan,
    checked_schedule,
    loan_columns,
    payment_columns,
    quick_schedule,
    schedule_columns,
)
from fairdue.services.importer.settle import settle
from fairdue.services.importer.writer import bulk_load, bulk_load_done
from fairdue.services.sharding import shard_of
from fairdue.services.tabular import LINE, read_source

BATCH = 10_000
# Prepare batches in a forked worker on the second core (`prepare.Prefetch`). Off: measured on
# the shared 2-core machine (docs/benchmarks.md), the worker cost 40% more CPU in all (result
# pickling, copy-on-write faults) and took only about a fifth of the work off the writer, so
# the import was slower whenever the second core was busy. Tests run both ways.
PARALLEL = False
LOAN_OUT = ("loan_id", "borrower_id", "shard", "product", "currency", "principal_minor",
            "annual_rate", "disbursed_on", "penalty_daily_rate", "row_hash", "allocation_order",
            "next_unpaid_due_on", "accrued_through", "credit_minor", "outstanding_minor")
INST_OUT = ("loan_id", "seq", "due_on", "principal_minor", "interest_minor", "fee_minor",
            "penalty_minor", "principal_paid_minor", "interest_paid_minor", "fee_paid_minor",
            "penalty_paid_minor")
PAY_OUT = ("payment_id", "loan_id", "paid_at", "paid_on", "amount_minor", "currency",
           "channel", "row_hash")


def import_loans(app: App, loans_path: Path | None, inst_path: Path | None,
                 pay_path: Path | None, report: ImportReport, progress: Progress,
                 actor: str) -> None:
    checker = PaymentRows(app, report, pay_path.name if pay_path else "payments.csv")
    if loans_path is None or inst_path is None:
        orphans = _payments_table(pay_path, report) if pay_path else None
    else:
        orphans = _Loans(app, report, progress, actor, checker).run(
            loans_path, inst_path, pay_path, file_digest(loans_path))
    if orphans is not None and orphans.num_rows:
        grouped: dict[str, list[tuple[str, ...]]] = {}
        for row in _tuples(orphans, PAYMENT_COLUMNS):
            grouped.setdefault(row[1].strip(), []).append(row)
        for rows in grouped.values():
            rows.sort(key=lambda row: (row[2], row[-1]))
        payments_for_existing_loans(app, checker, actor, grouped)


def _payments_table(path: Path, report: ImportReport) -> pa.Table:
    source = read_source(path, PAYMENT_COLUMNS)
    report.malformed(source.name, source.malformed)
    return source.table


def _tuples(table: pa.Table, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    names = [*columns, LINE]
    return list(zip(*(table.column(n).to_pylist() for n in names), strict=True))


class _Loans:
    def __init__(self, app: App, report: ImportReport, progress: Progress, actor: str,
                 checker: PaymentRows) -> None:
        self.app, self.report, self.progress, self.actor = app, report, progress, actor
        self.pays = checker
        self.order = app.allocation_order
        self.order_text = ",".join(c.value for c in self.order)
        self.zone = getattr(app.zone, "key", None)
        self.shards: dict[str, int] = {}

    def run(self, loans_path: Path, inst_path: Path, pay_path: Path | None,
            digest: str) -> pa.Table | None:
        loan_source = read_source(loans_path, LOAN_COLUMNS)
        inst_source = read_source(inst_path, INSTALLMENT_COLUMNS)
        self.loan_file, self.inst_file, self.digest = loan_source.name, inst_source.name, digest
        self.loan_counts = self.report.count(self.loan_file)
        self.inst_counts = self.report.count(self.inst_file)
        self.report.malformed(loan_source.name, loan_source.malformed)
        self.report.malformed(inst_source.name, inst_source.malformed)
        loan_table = sorted_loans(loan_source.table)
        del loan_source
        loan_keys = pc.unique(loan_table.column(KEY))
        insts = group(inst_source.table, "loan_id", loan_keys)
        del inst_source
        # Payments only by loan here; within a loan they are ordered by time in `_batch`.
        pays = group(_payments_table(pay_path, self.report), "loan_id", loan_keys) if pay_path else None
        pa.default_memory_pool().release_unused()
        self.source = Source(loan_table, insts, pays, self.pays.now, self.zone,
                             self.app.engine.dialect.name == "sqlite", self.order, self.order_text)
        total = loan_table.num_rows
        plan = self._plan(loan_table)
        batches = [(rows, first) for _, rows, first, _ in plan if len(rows)]
        prefetch = Prefetch(prepare, self.source, batches,
                            parallel=PARALLEL and len(batches) > 2 and can_fork())
        # Closed on the way out, error or not: the worker process ends with the import.
        with closing(iter(prefetch)) as prepared:
            for start, rows, first, repeats in plan:
                for line, key, first_line in repeats:
                    self.loan_counts.read += 1
                    self.report.reject(self.loan_file, line, f"loan_id {key} repeats line {first_line}")
                if len(rows):
                    self._batch(next(prepared), rows, first)
                self.progress(self.loan_file, min(start + BATCH, total), total)
        for row in _tuples(insts.orphans, INSTALLMENT_COLUMNS):
            self.report.count(self.inst_file).read += 1
            self.report.reject(self.inst_file, int(row[-1]),
                               f"loan {row[0].strip()} is not in {self.loan_file}")
        if total:
            self.progress(self.loan_file, total, total)
        return pays.orphans if pays else None

    @staticmethod
    def _plan(loan_table: pa.Table) -> list[tuple[int, np.ndarray, int, list[tuple[int, str, int]]]]:
        """Per batch of BATCH loan rows: (start, rows of distinct loans, position of the first,
        repeated ids as (line, id, line of the first)). Loans are sorted by id, so a repeated
        id follows its first row."""
        plan = []
        previous: str | None = None
        previous_line = 0
        position = 0
        for start in range(0, loan_table.num_rows, BATCH):
            chunk = loan_table.slice(start, BATCH)
            rows: list[int] = []
            repeats: list[tuple[int, str, int]] = []
            for i, (key, line) in enumerate(zip(chunk.column(KEY).to_pylist(),
                                                chunk.column(LINE).to_pylist(), strict=True)):
                if key == previous:
                    repeats.append((line, key, previous_line))
                    continue
                previous, previous_line = key, line
                rows.append(start + i)
            plan.append((start, np.asarray(rows, np.int64), position, repeats))
            position += len(rows)
        return plan

    def _batch(self, prepared: Prepared, rows: np.ndarray, first: int) -> None:
        """One transaction: the batch's prepared plain loans (`prepare`) that the database
        confirms are new, every other loan row by row (`_loan`); then the rows are written
        and the batch audited."""
        source, sqlite = self.source, self.source.sqlite
        last = first + len(rows)
        picked = source.loans.take(pa.array(rows))     # loan k is position first + k
        inst_table, inst_starts, pay_table, pay_starts = source.batch(first, last)
        pay_ids = pc.utf8_trim_whitespace(pay_table.column("payment_id"))
        n = len(rows)
        with self.app.uow(self.actor) as uow:
            conn = uow.connection
            bulk_load(conn)
            ids = picked.column(KEY).to_pylist()
            existing_loans: dict[str, str] = dict(select_in(conn, loans, "loan_id", ["row_hash"], ids))
            borrower_ids = sorted(set(pc.utf8_trim_whitespace(picked.column("borrower_id")).to_pylist()))
            known_borrowers = {r[0] for r in select_in(conn, borrowers, "borrower_id", [], borrower_ids)}
            existing_pays = stored_payments(conn, pay_ids.to_pylist())
            # What only the database knows: a prepared loan already in the books, of an
            # unknown borrower, or with a stored payment id goes the row-by-row way.
            confirmed = col.bools(pc.is_in(picked.column("borrower_id"),
                                           value_set=pa.array(list(known_borrowers), pa.string())))
            if existing_loans:
                confirmed &= ~col.bools(pc.is_in(picked.column(KEY),
                                                 value_set=pa.array(list(existing_loans))))
            if existing_pays:
                stored = col.bools(pc.is_in(pay_ids, value_set=pa.array(list(existing_pays))))
                pay_loan = np.repeat(np.arange(n), np.diff(pay_starts))
                confirmed &= np.bincount(pay_loan[stored], minlength=n)[:n] == 0
            out_loans, out_insts, out_pays = prepared.loans, prepared.installments, prepared.payments
            quick = prepared.quick & confirmed
            if (prepared.quick & ~confirmed).any():
                keep = set(picked.column(KEY).take(pa.array(np.nonzero(quick)[0])).to_pylist())
                out_loans = [r for r in out_loans if r[0] in keep]
                out_insts = [r for r in out_insts if r[0] in keep]
                out_pays = [r for r in out_pays if r[1] in keep]
            self._count_quick(len(out_loans), len(out_insts), len(out_pays))
            later: dict[str, list[str]] = {}
            later_rows: list[dict[str, Any]] = []
            slow = np.nonzero(~quick)[0]
            if len(slow):
                slow_table = picked.take(pa.array(slow))
                loan_rows = _tuples(slow_table, LOAN_COLUMNS)
                loan_ok = loan_columns(slow_table).ok
                inst_index, inst_at = _rows_of(inst_starts, slow)
                inst_slow = inst_table.take(pa.array(inst_index))
                inst_rows = _tuples(inst_slow, INSTALLMENT_COLUMNS)
                inst_fast = schedule_columns(inst_slow).tuples(np.arange(len(inst_index)))
                pay_index, pay_at = _rows_of(pay_starts, slow)
                pay_slow = pay_table.take(pa.array(pay_index))
                pay_rows = _tuples(pay_slow, PAYMENT_COLUMNS)
                pay_fast = payment_columns(pay_slow, self.pays.now, self.zone, sqlite).tuples(
                    np.arange(len(pay_index)))
                for j in range(len(slow)):
                    a, b = inst_at[j], inst_at[j + 1]
                    c, d = pay_at[j], pay_at[j + 1]
                    loan_pays, loan_pay_fast = _by_time(pay_rows[c:d], pay_fast[c:d])
                    self._loan(loan_rows[j], bool(loan_ok[j]), inst_rows[a:b], inst_fast[a:b],
                               loan_pays, loan_pay_fast, existing_loans, known_borrowers,
                               existing_pays, out_loans, out_insts, out_pays, later, later_rows,
                               sqlite)
                if len(slow) < n:
                    out_loans.sort(key=itemgetter(0))   # the audit lists the ids in file order
            bulk_insert(conn, loans, LOAN_OUT, out_loans, ready=True)
            bulk_insert(conn, installments, INST_OUT, out_insts, ready=True)
            bulk_insert(conn, payments, PAY_OUT, out_pays, ready=True)
            if out_loans:
                uow.audit("LoansImported", self.loan_file, {
                    "file_sha256": self.digest, "loan_ids": [r[0] for r in out_loans],
                    "payments": len(out_pays),
                })
            apply_later(uow, self.app, later, later_rows)
            bulk_load_done(conn)
            uow.commit()

    def _count_quick(self, loans_: int, installments_: int, payments_: int) -> None:
        self.loan_counts.read += loans_
        self.loan_counts.added += loans_
        self.inst_counts.read += installments_
        self.inst_counts.added += installments_
        pay_counts = self.report.count(self.pays.file)
        pay_counts.read += payments_
        pay_counts.added += payments_

    def _loan(self, raw: tuple[str, ...], fast: bool, inst_raw: list[tuple[Any, ...]],
              inst_fast: list[Any], pay_raw: list[tuple[Any, ...]], pay_fast: list[Any],
              existing_loans: dict[str, str], known_borrowers: set[str],
              existing_pays: dict[str, tuple[str, str]], out_loans: list[tuple[Any, ...]],
              out_insts: list[tuple[Any, ...]], out_pays: list[tuple[Any, ...]],
              later: dict[str, list[str]], later_rows: list[dict[str, Any]], sqlite: bool) -> None:
        report, loan_file, inst_file = self.report, self.loan_file, self.inst_file
        loan_counts, inst_counts = self.loan_counts, self.inst_counts
        loan_counts.read += 1
        inst_counts.read += len(inst_raw)
        line = int(raw[-1])
        try:
            loan = _fast_loan(raw, self.shards) if fast else checked_loan(raw)
        except v.RowError as exc:
            report.reject(loan_file, line, str(exc))
            self._reject_installments(inst_raw, "its loan row was rejected")
            self.pays.reject_all(pay_raw, f"loan {raw[0].strip()} was not imported")
            return
        loan_id, code = loan["loan_id"], loan["currency"]
        if loan["borrower_id"] not in known_borrowers:
            report.reject(loan_file, line, f"borrower {loan['borrower_id']} is not known; "
                          "import borrowers.csv first or with it")
            self._reject_installments(inst_raw, f"loan {loan_id} was rejected")
            self.pays.reject_all(pay_raw, f"loan {loan_id} was not imported")
            return
        if loan_id in existing_loans:
            if existing_loans[loan_id] != loan["row_hash"]:
                report.reject(loan_file, line, f"loan {loan_id} already exists with different "
                              "terms; a loan's terms are not changed by import")
                self._reject_installments(inst_raw, f"loan {loan_id} was rejected")
                self.pays.reject_all(pay_raw, f"loan {loan_id} was rejected")
                return
            loan_counts.unchanged += 1
            inst_counts.unchanged += len(inst_raw)
            new_ids = self.pays.checked(pay_raw, loan_id, code, existing_pays, later_rows)
            if new_ids:
                later[loan_id] = new_ids
            return
        try:
            schedule = quick_schedule(inst_fast, loan) if all(f[0] for f in inst_fast) else None
            if schedule is None:
                schedule = checked_schedule(inst_raw, loan, report, inst_file)
        except ScheduleRejected as exc:
            report.reject(loan_file, line, f"loan {loan_id}: {exc}")
            self.pays.reject_all(pay_raw, f"loan {loan_id} was rejected")
            return
        paid = self._payments(pay_raw, pay_fast, loan_id, code, existing_pays, out_pays, sqlite)
        state = settle(schedule, paid, penalty_rate=loan["penalty_daily_rate"], order=self.order,
                       loan_id=loan_id, currency=code)
        day = _dates(sqlite)
        out_loans.append((
            loan_id, loan["borrower_id"], loan["shard"], loan["product"], code,
            loan["principal_minor"], loan["annual_rate"], day(loan["disbursed_on"]),
            loan["penalty_daily_rate"], loan["row_hash"], self.order_text,
            day(state.next_unpaid_due_on), day(state.accrued_through), state.credit,
            state.outstanding,
        ))
        for (seq, due, p, i, f), (pen, pp, ip, fp, penp) in zip(schedule, state.paid, strict=True):
            out_insts.append((loan_id, seq, day(due), p, i, f, pen, pp, ip, fp, penp))
        loan_counts.added += 1
        inst_counts.added += len(schedule)

    def _payments(self, raw: list[tuple[Any, ...]], fast: list[Any], loan_id: str, code: str,
                  existing: dict[str, tuple[str, str]], out: list[tuple[Any, ...]],
                  sqlite: bool) -> list[tuple[str, str, int]]:
        """New payments of a new loan: written, and returned as (id, paid on, amount)."""
        paid: list[tuple[str, str, int]] = []
        two_places = MINOR_UNITS.get(code) == 2
        counts = self.pays.report.count(self.pays.file)
        for row, quick in zip(raw, fast, strict=True):
            if not (quick[0] and two_places):
                dicts: list[dict[str, Any]] = []
                self.pays.checked([row], loan_id, code, existing, dicts)
                for d in dicts:
                    on = d["paid_on"].isoformat()
                    out.append((d["payment_id"], loan_id,
                                d["paid_at"].strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else d["paid_at"],
                                on if sqlite else d["paid_on"], d["amount_minor"], code,
                                d["channel"], d["row_hash"]))
                    paid.append((d["payment_id"], on, d["amount_minor"]))
                continue
            _ok, pid, paid_at, paid_on, amount, channel, fingerprint = quick
            counts.read += 1
            if not self.pays.is_new(pid, loan_id, fingerprint, int(row[-1]), existing):
                continue
            counts.added += 1
            out.append((pid, loan_id, paid_at, paid_on if sqlite else date.fromisoformat(paid_on),
                        amount, code, channel, fingerprint))
            paid.append((pid, paid_on, amount))
        return paid

    def _reject_installments(self, rows: list[tuple[Any, ...]], reason: str) -> None:
        self.report.count(self.inst_file).rejected += len(rows)
        if rows:
            self.report.errors.append(BadRow(self.inst_file, int(rows[0][-1]),
                                             f"{len(rows)} installment row(s) left out: {reason}"))


def _by_time(rows: list[tuple[Any, ...]], fast: list[Any]
             ) -> tuple[list[tuple[Any, ...]], list[Any]]:
    """A loan's payment rows by paid_at as written, then line: the order they are checked in
    (which of two rows with one payment id is the first)."""
    if len(rows) < 2:
        return rows, fast
    pairs = sorted(zip(rows, fast, strict=True), key=lambda pair: (pair[0][2], pair[0][-1]))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _fast_loan(raw: tuple[str, ...], shards: dict[str, int]) -> dict[str, Any]:
    loan_id, borrower_id, product, currency, principal, annual_rate, disbursed_on, penalty, _ = raw
    shard = shards.get(borrower_id)
    if shard is None:
        shard = shards[borrower_id] = shard_of(borrower_id)
    whole, _, fraction = principal.partition(".")
    return {
        "loan_id": loan_id, "borrower_id": borrower_id, "shard": shard, "product": product,
        "currency": currency, "principal_minor": int(whole) * 100 + int(fraction.ljust(2, "0") or 0),
        "annual_rate": annual_rate, "disbursed_on": disbursed_on,
        "penalty_daily_rate": penalty or "0.0005", "row_hash": row_hash(*raw[:-1]),
    }


def _rows_of(starts: np.ndarray, loans_: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The rows of some loans (indexes into the batch's table) and where each loan's begin."""
    counts = starts[loans_ + 1] - starts[loans_]
    at = np.concatenate(([0], np.cumsum(counts)))
    rows = np.arange(at[-1]) - np.repeat(at[:-1], counts) + np.repeat(starts[loans_], counts)
    return rows, at.tolist()


def _dates(sqlite: bool) -> Any:
    if sqlite:
        return lambda text: text
    return lambda text: date.fromisoformat(text) if text else None

