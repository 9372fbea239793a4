"""Importing a lender's portfolio: borrowers, loans with their schedules, and payments.

Each bad row is reported with file, line and reason and left out; good rows go in. Work is
committed in batches of whole loans (a loan, its schedule and its payments in one
transaction), so a crash leaves no half-imported loan, and a re-run skips what is there:
importing the same files twice changes nothing. The modules, by job:

- `report`: what the caller gets back (counts and bad rows);
- `columns`: column-wise checks and conversions with pyarrow.compute;
- `borrowers`: borrowers, their sealed personal data and fairness attributes;
- `grouping`, `schedules`, `loans`: loans with their schedules and payments, per batch;
- `lane`, `prepare`: a batch's plain loans checked, settled and made into rows with array
  operations (optionally ahead, in a worker process); every other loan goes row by row;
- `settle`: a loan's state after its payments (the ledger's rules, with a proven shortcut);
- `payments`: payment rows checked one by one, and payments for loans already in the books;
- `writer`: the connection settings of a bulk load.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from fairdue.bootstrap import App
from fairdue.errors import InvalidInput
from fairdue.services.importer.borrowers import import_borrowers
from fairdue.services.importer.loans import import_loans
from fairdue.services.importer.report import BadRow, FileCounts, ImportReport, Progress
from fairdue.services.tabular import find_source

__all__ = ["BadRow", "FileCounts", "ImportReport", "Progress", "import_portfolio"]


def import_portfolio(app: App, directory: Path, *, progress: Progress | None = None,
                     actor: str = "import") -> ImportReport:
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a folder with borrowers.csv, loans.csv, ...")
    sources = {stem: find_source(directory, stem, required=False)
               for stem in ("borrowers", "loans", "installments", "payments")}
    if not any(sources.values()):
        raise InvalidInput(
            f"{directory} has none of borrowers, loans, installments, payments (.csv or .parquet)"
        )
    if (sources["loans"] is None) != (sources["installments"] is None):
        raise InvalidInput("loans and installments are imported together; give both files")
    report = ImportReport()
    tick = progress or (lambda *_: None)
    if sources["borrowers"]:
        import_borrowers(app, sources["borrowers"], report, tick, actor)
        # Hand the borrowers file's Arrow memory back before the larger files are read.
        pa.default_memory_pool().release_unused()
    if sources["loans"] or sources["payments"]:
        import_loans(app, sources["loans"], sources["installments"], sources["payments"],
                     report, tick, actor)
    return report
