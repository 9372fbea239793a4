"""Reading the lender's CSV and Parquet files as rows of text with their line numbers.

Both formats arrive as columns of strings so that every value is checked by the same
validators, and a malformed CSV row (wrong number of fields) becomes a reported bad row
instead of aborting the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fairdue.errors import InvalidInput

LINE = "__line"


@dataclass
class SourceFile:
    path: Path
    table: pa.Table
    malformed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    def sorted_by(self, *columns: str) -> SourceFile:
        return SourceFile(
            self.path, self.table.sort_by([(c, "ascending") for c in columns]), self.malformed
        )

    def iter_rows(self, columns: Sequence[str], batch: int = 50_000) -> Iterator[tuple[str, ...]]:
        """Rows as tuples of the named columns followed by the line number."""
        names = [*columns, LINE]
        for record_batch in self.table.select(names).to_batches(max_chunksize=batch):
            yield from zip(*(record_batch.column(i).to_pylist() for i in range(len(names))),
                           strict=True)


def find_source(directory: Path, stem: str, *, required: bool) -> Path | None:
    csv_path = directory / f"{stem}.csv"
    parquet_path = directory / f"{stem}.parquet"
    if csv_path.exists() and parquet_path.exists():
        raise InvalidInput(
            f"{directory} holds both {csv_path.name} and {parquet_path.name}; keep one of them"
        )
    if csv_path.exists():
        return csv_path
    if parquet_path.exists():
        return parquet_path
    if required:
        raise InvalidInput(f"{directory} has no {stem}.csv or {stem}.parquet")
    return None


def read_source(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> SourceFile:
    """Read a whole file as text columns, with a line number column (CSV line, Parquet row)."""
    if path.suffix == ".parquet":
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidInput(f"{path.name}: not a readable Parquet file ({exc})") from None
        _check_columns(path, table.column_names, required)
        columns = {}
        for name in [*required, *(o for o in optional if o in table.column_names)]:
            column = table.column(name)
            if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
                column = pc.cast(column, pa.string())
            columns[name] = pc.fill_null(column, "")
        # Numbered like the CSV lines they stand for: the first data row is line 2.
        result = pa.table({**columns, LINE: _numbers_from_2(table.num_rows)})
        return SourceFile(path, _add_missing(result, optional))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None)
    if header is None:
        raise InvalidInput(f"{path.name} is empty; it needs a header row")
    header = [h.strip() for h in header]
    _check_columns(path, header, required)
    malformed: list[tuple[int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        line = row.number if row.number is not None else 0
        malformed.append(
            (line, f"has {row.actual_columns} fields, the header has {row.expected_columns}")
        )
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=header, skip_rows=1, encoding="utf8", use_threads=False
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=[*required, *(o for o in optional if o in header)],
            ),
        )
    except pa.ArrowInvalid as exc:
        raise InvalidInput(f"{path.name}: cannot be read as CSV ({exc})") from None
    table = table.append_column(
        LINE, _csv_line_numbers(path, table.num_rows, {line for line, _ in malformed}))
    return SourceFile(path, _add_missing(table, optional), malformed)


def _numbers_from_2(rows: int) -> pa.Array:
    """2, 3, ... rows + 1, built in Arrow: a Python list of ten million ints is 300 MiB."""
    ones = pc.fill_null(pa.nulls(rows, pa.int64()), 1)
    return pc.add(pc.cumulative_sum(ones), 1) if rows else pa.array([], pa.int64())


def _csv_line_numbers(path: Path, rows: int, skipped: set[int]) -> pa.Array:
    """Physical line numbers of the data rows, skipping blank and malformed lines."""
    if not skipped and _one_row_per_line(path, rows):
        # The common case: no blank or malformed line, so row i sits on line i + 2.
        return _numbers_from_2(rows)
    numbers = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number == 1 or not line.strip() or number in skipped:
                continue
            numbers.append(number)
    return pa.array(numbers[:rows], pa.int64())


def _one_row_per_line(path: Path, rows: int) -> bool:
    """True when the file has exactly the header and `rows` lines (no blank line anywhere):
    counting line breaks in blocks is much quicker than looking at every line in Python."""
    breaks = 0
    last = b""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            breaks += block.count(b"\n")
            last = block[-1:]
    lines = breaks + (1 if last and last != b"\n" else 0)
    return lines == rows + 1


def _check_columns(path: Path, present: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in present]
    if missing:
        raise InvalidInput(f"{path.name} lacks the column(s) {', '.join(missing)}")


def _add_missing(table: pa.Table, optional: Sequence[str]) -> pa.Table:
    for name in optional:
        if name not in table.column_names:
            table = table.append_column(name, pa.array([""] * table.num_rows, type=pa.string()))
    return table
