"""Lining up installments and payments with their loans, column-wise.

The three files are read as Arrow tables. Loans are sorted by id; every installment and
payment row gets the position of its loan (a hash lookup in Arrow, not in Python) and is
sorted by it, keeping file order within a loan. A batch of consecutive loans then owns one
contiguous slice of each of the other two tables, found from per-loan row counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

import pyarrow as pa
import pyarrow.compute as pc

from fairdue.services.tabular import LINE

KEY = "__key"
LOAN = "__loan"


@dataclass
class Grouped:
    """Rows sorted by their loan's position; `starts[k]` is loan k's first row."""

    table: pa.Table          # rows with a known loan, sorted by (loan position, line)
    starts: list[int]        # len(loans) + 1 offsets into `table`
    orphans: pa.Table        # rows whose loan is not in the loans file

    def rows_of(self, first: int, last: int) -> pa.Table:
        """The rows of loans first..last-1."""
        return self.table.slice(self.starts[first], self.starts[last] - self.starts[first])


def _key(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Ids without surrounding blanks; the column itself (no copy) when it has none."""
    trimmed = pc.utf8_trim_whitespace(column)
    return column if pc.all(pc.equal(trimmed, column)).as_py() is not False else trimmed


def sorted_loans(table: pa.Table) -> pa.Table:
    """Loans by id (then line), with the stripped id as the key column."""
    keyed = table.append_column(KEY, _key(table.column("loan_id")))
    return keyed.sort_by([(KEY, "ascending"), (LINE, "ascending")])


def group(table: pa.Table, key_column: str, loan_keys: pa.Array, *,
          then: tuple[str, ...] = ()) -> Grouped:
    """Rows of `table` lined up with `loan_keys` (unique, sorted) by `key_column`."""
    keys = _key(table.column(key_column))
    position = pc.index_in(keys, value_set=loan_keys)
    table = table.append_column(KEY, keys).append_column(LOAN, position)
    known = pc.is_valid(position)
    if pc.all(known).as_py() and _in_order(table, then):
        # The usual export, already by loan (and date): no sorted copy of a large table.
        orphans, rows = table.slice(0, 0), table
    else:
        orphans = table.filter(pc.invert(known)).sort_by(
            [(KEY, "ascending"), *((c, "ascending") for c in then), (LINE, "ascending")])
        rows = table.filter(known).sort_by(
            [(LOAN, "ascending"), *((c, "ascending") for c in then), (LINE, "ascending")])
    del table
    counts = [0] * len(loan_keys)
    tally = pa.table({LOAN: rows.column(LOAN)}).group_by(LOAN).aggregate([(LOAN, "count")])
    for loan, n in zip(tally.column(LOAN).to_pylist(), tally.column(f"{LOAN}_count").to_pylist(),
                       strict=True):
        counts[loan] = n
    starts = [0, *accumulate(counts)]
    return Grouped(rows, starts, orphans)


def _in_order(table: pa.Table, then: tuple[str, ...]) -> bool:
    """Whether rows already stand by (loan position, *then), file order breaking ties."""
    n = table.num_rows
    if n < 2:
        return True
    position = table.column(LOAN)
    before, after = position.slice(0, n - 1), position.slice(1)
    ordered = pc.less(before, after)
    same = pc.equal(before, after)
    if then:
        # One tie-breaking column is enough for the importer (payments by paid_at).
        (name,) = then
        column = table.column(name)
        ordered = pc.or_(ordered, pc.and_(same, pc.less_equal(column.slice(0, n - 1),
                                                               column.slice(1))))
    else:
        ordered = pc.or_(ordered, same)
    return bool(pc.all(ordered).as_py())
