"""A batch of loans made ready to write, without the database: the part a second core can do.

Checking the columns, settling the plain loans (`lane`) and building their rows to write
depend on the files only. `prepare` does that for one batch; `Prefetch` runs it (and the
borrowers' like job: checking and sealing) for the next batches in a forked worker process
while the importer's own process looks up, writes and commits the current one, so the two
halves of the import use both cores of a small machine. What needs the database (is the
loan new, is its borrower known, is a payment id stored) is decided afterwards in the
importer's process, which may still send a prepared loan the row-by-row way; nothing here
writes, reports or counts.

The worker is off by default (`loans.PARALLEL`, which says why); off, where `fork` is not
available, or for a small import, the same function runs inline, so both ways give the same
rows (`tests/integration/test_import_batches.py`).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any, Generic, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fairdue.domain.ledger import Component
from fairdue.services.importer import columns as col
from fairdue.services.importer.grouping import KEY, Grouped
from fairdue.services.importer.lane import settle_batch
from fairdue.services.importer.payments import PAYMENT_COLUMNS
from fairdue.services.importer.schedules import loan_columns, payment_columns, schedule_columns
from fairdue.services.sharding import shard_of
from fairdue.services.tabular import LINE

LOAN_COLUMNS = (
    "loan_id", "borrower_id", "product", "currency", "principal", "annual_rate",
    "disbursed_on", "penalty_daily_rate",
)
# Batches prepared ahead of the one being written: enough to keep the worker busy while a
# commit runs, few enough that their rows stay a small part of the memory.
AHEAD = 2
T = TypeVar("T")


@dataclass
class Source:
    """Everything `prepare` reads: the sorted loans, the grouped installments and payments."""

    loans: pa.Table
    insts: Grouped
    pays: Grouped | None
    now: datetime
    zone: str | None
    sqlite: bool
    order: tuple[Component, ...]
    order_text: str
    shards: dict[str, int] = field(default_factory=dict)

    def batch(self, first: int, last: int) -> tuple[pa.Table, np.ndarray, pa.Table, np.ndarray]:
        """Installment and payment rows of loan positions first..last-1, with offsets."""
        inst_table = self.insts.rows_of(first, last)
        inst_starts = np.asarray(self.insts.starts[first:last + 1], np.int64) - self.insts.starts[first]
        if self.pays is None:
            return inst_table, inst_starts, no_payments(), np.zeros(last - first + 1, np.int64)
        pay_table = self.pays.rows_of(first, last)
        pay_starts = np.asarray(self.pays.starts[first:last + 1], np.int64) - self.pays.starts[first]
        return inst_table, inst_starts, pay_table, pay_starts


@dataclass
class Prepared:
    """A batch's plain loans, settled, as rows to write; every other loan is left out."""

    quick: np.ndarray                 # bool per loan of the batch
    loans: list[tuple[Any, ...]]      # rows of `loans`, by loan id
    installments: list[tuple[Any, ...]]
    payments: list[tuple[Any, ...]]


def no_payments() -> pa.Table:
    return pa.table({name: pa.array([], pa.string()) for name in (*PAYMENT_COLUMNS, KEY)}
                    | {LINE: pa.array([], pa.int64())})


def prepare(source: Source, rows: np.ndarray, first: int) -> Prepared:
    """The batch of loan-table rows `rows` (one per loan, positions first, first + 1, ...)."""
    last = first + len(rows)
    picked = source.loans.take(pa.array(rows, pa.int64()))
    loan_cols = loan_columns(picked)
    inst_table, inst_starts, pay_table, pay_starts = source.batch(first, last)
    sched = schedule_columns(inst_table)
    pay_cols = payment_columns(pay_table, source.now, source.zone, source.sqlite)
    n = len(rows)
    candidate = loan_cols.ok.copy()
    rank = np.zeros(pay_table.num_rows, np.int64)
    if pay_table.num_rows:
        # A payment id twice in the batch: its loans go row by row, where the first row by
        # time is taken and the others are reported.
        pay_ids = pc.utf8_trim_whitespace(pay_table.column("payment_id"))
        codes = col.ints(pc.dictionary_encode(pay_ids).combine_chunks().indices)
        reused = np.bincount(codes)[codes] > 1
        pay_loan = np.repeat(np.arange(n), np.diff(pay_starts))
        candidate &= np.bincount(pay_loan[reused], minlength=n)[:n] == 0
        rank = col.ints(pc.rank(pay_ids, sort_keys="ascending", tiebreaker="first"))
    lane = settle_batch(
        candidate, loan_cols.disbursed, loan_cols.principal, inst_starts, sched.ok, sched.seq,
        sched.due_days, sched.principal, sched.interest, sched.fee, pay_starts, pay_cols.ok,
        pay_cols.paid_days, rank, pay_cols.amount, source.order)
    quick = np.nonzero(lane.quick)[0]
    if not len(quick):
        return Prepared(lane.quick, [], [], [])
    sqlite = source.sqlite
    loan_rows = picked.take(pa.array(quick))
    c = loan_rows.column
    borrower_ids = c("borrower_id").to_pylist()
    shards = source.shards
    for b in set(borrower_ids).difference(shards):
        shards[b] = shard_of(b)
    fingerprints = pc.binary_join_element_wise(*(c(n) for n in LOAN_COLUMNS), "\x1f")
    sha256 = hashlib.sha256
    next_due = lane.next_due_row[quick]
    accrued = lane.accrued_row[quick]
    out_loans = list(zip(
        c("loan_id").to_pylist(), borrower_ids, [shards[b] for b in borrower_ids],
        c("product").to_pylist(), c("currency").to_pylist(),
        loan_cols.principal[quick].tolist(), c("annual_rate").to_pylist(),
        days_out(loan_cols.disbursed[quick], sqlite),
        [p or "0.0005" for p in c("penalty_daily_rate").to_pylist()],
        [sha256(t.encode()).hexdigest() for t in fingerprints.to_pylist()],
        repeat(source.order_text),
        days_out(_at(sched.due_days, next_due), sqlite, next_due >= 0),
        days_out(_at(pay_cols.paid_days, accrued), sqlite, accrued >= 0),
        lane.credit[quick].tolist(), lane.outstanding[quick].tolist(), strict=False))
    at = lane.inst_rows
    take = pa.array(at)
    due = sched.due.take(take).to_pylist() if sqlite else days_out(sched.due_days[at], sqlite)
    paid = lane.inst_paid
    out_insts = list(zip(
        inst_table.column(KEY).take(take).to_pylist(), sched.seq[at].tolist(), due,
        sched.principal[at].tolist(), sched.interest[at].tolist(), sched.fee[at].tolist(),
        repeat(0), paid[:, 0].tolist(), paid[:, 1].tolist(), paid[:, 2].tolist(), repeat(0),
        strict=False))
    at = lane.pay_rows
    take = pa.array(at)
    loan_of = np.repeat(np.arange(n), np.diff(pay_starts))[at]
    paid_on = pay_cols.paid_on.take(take)
    out_pays = list(zip(
        pay_cols.payment_id.take(take).to_pylist(), pay_table.column(KEY).take(take).to_pylist(),
        pay_cols.stored.take(take).to_pylist(),
        (col.iso_days(paid_on) if sqlite else paid_on).to_pylist(),
        pay_cols.amount[at].tolist(), picked.column("currency").take(pa.array(loan_of)).to_pylist(),
        pay_cols.channel.take(take).to_pylist(), [pay_cols.digests[r] for r in at.tolist()],
        strict=True))
    return Prepared(lane.quick, out_loans, out_insts, out_pays)


def _at(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`values[rows]`, where a row of -1 (none) gives 0: the caller masks those out. (The
    batch may have no payment rows at all, and -1 is no index into an empty array.)"""
    if not len(values):
        return np.zeros(len(rows), np.int64)
    picked: np.ndarray = values[np.maximum(rows, 0)]
    return picked


def days_out(days: np.ndarray, sqlite: bool, known: np.ndarray | None = None) -> list[Any]:
    """Dates (days since 1970) as the database takes them: ISO text on SQLite, else dates;
    None where not `known`."""
    mask = None if known is None else ~known
    array = pa.array(days.astype(np.int32), pa.int32(), mask=mask).cast(pa.date32())
    return list((col.iso_days(array) if sqlite else array).to_pylist())


# The worker's job and its input, inherited when it is forked (never pickled: the tables are
# large, and the borrowers' job holds the key ring).
_JOB: tuple[Callable[..., Any], Any] | None = None


def _run_in_worker(*args: Any) -> Any:
    assert _JOB is not None
    function, state = _JOB
    try:
        return function(state, *args)
    finally:
        # Arrow's allocator keeps freed blocks for reuse; in the worker they would only add
        # to the memory of the import (the tables themselves are shared with the parent).
        pa.default_memory_pool().release_unused()


def can_fork() -> bool:
    """A second core to use and a way to share the tables with it without copying them."""
    return (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()


class Prefetch(Generic[T]):
    """Yields `function(state, *job)` for each job in order, computed AHEAD jobs in advance in
    one forked worker process (or inline when `parallel` is false)."""

    def __init__(self, function: Callable[..., T], state: Any, jobs: list[tuple[Any, ...]], *,
                 parallel: bool) -> None:
        self.function, self.state, self.jobs, self.parallel = function, state, jobs, parallel

    def __iter__(self) -> Generator[T, None, None]:
        if not self.parallel:
            for job in self.jobs:
                yield self.function(self.state, *job)
            return
        global _JOB
        _JOB = (self.function, self.state)   # the worker is forked at the first submit
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        pending: deque[Future[T]] = deque()
        try:
            for job in self.jobs:
                pending.append(pool.submit(_run_in_worker, *job))
                if len(pending) > AHEAD:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            _JOB = None
            pool.shutdown(wait=True, cancel_futures=True)
