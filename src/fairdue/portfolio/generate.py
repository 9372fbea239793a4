"""`fairdue generate`: a realistic, reproducible micro-loan portfolio written as four CSV files.

Demos, benchmarks and import tests need a book that looks like a real lender's (mostly
good payers, a few percent behind in the ways people really fall behind) and that is the
same every time: the same seed, as-of date and loan count give byte-identical files on any
machine and any day, because nothing reads the clock and all randomness flows from one
seeded generator. Rows are streamed to disk as they are made, so a million loans need
little memory; files are written under temporary names and renamed at the end, so an
interrupted run never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType

from fairdue.errors import InvalidInput
from fairdue.portfolio.loans import BEHAVIOURS, LoanFactory
from fairdue.portfolio.people import BorrowerFactory, NamePools

DEFAULT_AS_OF = date(2026, 6, 30)
MAX_LOANS = 99_999_999  # ids are B/L plus eight digits

BORROWER_COLUMNS = (
    "borrower_id", "name", "id_number", "phone", "email", "address", "city", "latitude",
    "longitude", "timezone", "language", "push_token", "gender", "birth_date", "occupation",
    "ethnicity",
)
LOAN_COLUMNS = (
    "loan_id", "borrower_id", "product", "currency", "principal", "annual_rate",
    "disbursed_on", "penalty_daily_rate",
)
INSTALLMENT_COLUMNS = ("loan_id", "seq", "due_on", "principal_due", "interest_due", "fee_due")
PAYMENT_COLUMNS = ("payment_id", "loan_id", "paid_at", "amount", "channel")

FILES: dict[str, tuple[str, ...]] = {
    "borrowers.csv": BORROWER_COLUMNS,
    "loans.csv": LOAN_COLUMNS,
    "installments.csv": INSTALLMENT_COLUMNS,
    "payments.csv": PAYMENT_COLUMNS,
}

# Loans per borrower: most have one, some two or three, so a case can span several loans.
_LOANS_PER_BORROWER = (1,) * 85 + (2,) * 11 + (3,) * 4

ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class GenerationSummary:
    """What a run wrote: row counts per file and how many borrowers got each behaviour."""

    out_dir: Path
    seed: int
    as_of: date
    borrowers: int
    loans: int
    installments: int
    payments: int
    behaviour_mix: Mapping[str, int] = field(hash=False)

    @property
    def files(self) -> tuple[Path, ...]:
        """The four files written, in the order an importer should read them."""
        return tuple(self.out_dir / name for name in FILES)


def generate_portfolio(
    out_dir: Path,
    *,
    loans: int,
    seed: int,
    as_of: date = DEFAULT_AS_OF,
    progress: ProgressCallback | None = None,
) -> GenerationSummary:
    """Write borrowers.csv, loans.csv, installments.csv and payments.csv into `out_dir`.

    `progress`, if given, is called with (stage, done, total) at the start and end of each
    stage ("names", then "loans") and every so many loans in between, never once per row.
    Existing files of the same names are replaced.
    """
    if isinstance(loans, bool) or not isinstance(loans, int) or not 1 <= loans <= MAX_LOANS:
        raise InvalidInput(f"loans must be a whole number from 1 to {MAX_LOANS:,}, not {loans!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidInput(f"seed must be a whole number, not {seed!r}")
    if not isinstance(as_of, date):
        raise InvalidInput(f"as_of must be a date, not {as_of!r}")

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report("names", 0, 1)
    # A few thousand names are plenty for any size; small runs get a smaller pool so that
    # tests and demos do not wait on Faker.
    pools = NamePools.build(seed, size=min(2000, max(100, loans)))
    report("names", 1, 1)

    rng = random.Random(seed)
    people = BorrowerFactory(rng, pools, as_of)
    mix = dict.fromkeys(BEHAVIOURS, 0)
    step = max(1, min(10_000, loans // 100))
    next_report = step
    borrowers = 0
    made = 0
    temps = {name: out_dir / f".{name}.partial" for name in FILES}
    report("loans", 0, loans)
    with ExitStack() as stack:
        handles = {}
        for name, columns in FILES.items():
            handle = stack.enter_context(
                open(temps[name], "w", encoding="utf-8", newline="", buffering=1 << 20)
            )
            handle.write(",".join(columns) + "\n")
            handles[name] = handle
        # Borrower fields (names, addresses) are the only free text, so only they go
        # through csv.writer and its quoting.
        borrower_w = csv.writer(handles["borrowers.csv"], lineterminator="\n")
        factory = LoanFactory(rng, as_of, handles["loans.csv"], handles["installments.csv"],
                              handles["payments.csv"])
        per_borrower = _LOANS_PER_BORROWER
        while made < loans:
            borrowers += 1
            borrower_id = f"B{borrowers:08d}"
            borrower_w.writerow(people.row(borrowers))
            behaviour = factory.behaviour()
            mix[behaviour] += 1
            channel = factory.channel()
            count = per_borrower[int(rng.random() * len(per_borrower))]
            for _ in range(min(count, loans - made)):
                made += 1
                factory.loan(f"L{made:08d}", borrower_id, behaviour, channel)
            if made >= next_report:
                report("loans", made, loans)
                next_report = made + step
    for name in FILES:
        os.replace(temps[name], out_dir / name)
    report("loans", loans, loans)
    return GenerationSummary(
        out_dir=out_dir,
        seed=seed,
        as_of=as_of,
        borrowers=borrowers,
        loans=made,
        installments=factory.installments,
        payments=factory.payments,
        behaviour_mix=MappingProxyType(mix),
    )
