"""Importing a lender's portfolio: borrowers, loans with their schedules, and payments.

Each bad row is reported with file, line and reason and left out; good rows go in.
Work is committed in batches of whole loans (a loan, its schedule and its payments in one
transaction), so a crash leaves no half-imported loan, and a re-run skips what is there:
importing the same files twice changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from sqlalchemy import insert, select, update

from fairdue.adapters.db.bulk import insert_dicts
from fairdue.adapters.db.ledger_repo import load_loans
from fairdue.adapters.db.tables import (
    borrowers,
    fairness_attributes,
    installments,
    loans,
    payments,
)
from fairdue.bootstrap import App
from fairdue.domain.ledger import (
    DailyRate,
    Installment,
    LoanLedger,
    PaymentFact,
    business_date,
)
from fairdue.errors import FairdueError, InvalidInput
from fairdue.services import validation as v
from fairdue.services.daily_run import shard_of
from fairdue.services.payments import apply_payments, books_date, payment_row_hash
from fairdue.services.tabular import SourceFile, find_source, read_source
from fairdue.services.unit_of_work import UnitOfWork

BORROWER_COLUMNS = (
    "borrower_id", "name", "id_number", "phone", "email", "address", "city", "latitude",
    "longitude", "timezone", "language", "push_token",
)
FAIRNESS_COLUMNS = ("gender", "birth_date", "occupation", "ethnicity")
LOAN_COLUMNS = (
    "loan_id", "borrower_id", "product", "currency", "principal", "annual_rate",
    "disbursed_on", "penalty_daily_rate",
)
INSTALLMENT_COLUMNS = ("loan_id", "seq", "due_on", "principal_due", "interest_due", "fee_due")
PAYMENT_COLUMNS = ("payment_id", "loan_id", "paid_at", "amount", "channel")

BATCH = 2000

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class FileCounts:
    read: int = 0
    added: int = 0
    unchanged: int = 0
    updated: int = 0
    rejected: int = 0


@dataclass
class ImportReport:
    counts: dict[str, FileCounts] = field(default_factory=dict)
    errors: list[BadRow] = field(default_factory=list)

    def reject(self, file: str, line: int, reason: str) -> None:
        self.errors.append(BadRow(file, line, reason))
        self.counts[file].rejected += 1

    @property
    def ok(self) -> bool:
        return not self.errors


def _hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_portfolio(app: App, directory: Path, *, progress: Progress | None = None,
                     actor: str = "import") -> ImportReport:
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a folder with borrowers.csv, loans.csv, ...")
    sources = {
        "borrowers": find_source(directory, "borrowers", required=False),
        "loans": find_source(directory, "loans", required=False),
        "installments": find_source(directory, "installments", required=False),
        "payments": find_source(directory, "payments", required=False),
    }
    if not any(sources.values()):
        raise InvalidInput(
            f"{directory} has none of borrowers, loans, installments, payments (.csv or .parquet)"
        )
    if (sources["loans"] is None) != (sources["installments"] is None):
        raise InvalidInput("loans and installments are imported together; give both files")
    report = ImportReport()
    importer = _Importer(app, report, progress or (lambda *_: None), actor)
    if sources["borrowers"]:
        importer.borrowers(sources["borrowers"])
    payment_source = (
        read_source(sources["payments"], PAYMENT_COLUMNS).sorted_by("loan_id", "paid_at")
        if sources["payments"] else None
    )
    if sources["loans"] and sources["installments"]:
        importer.loans(sources["loans"], sources["installments"], payment_source)
    elif payment_source is not None:
        importer.loans(None, None, payment_source)
    return report


class _Importer:
    def __init__(self, app: App, report: ImportReport, progress: Progress, actor: str) -> None:
        self.app = app
        self.report = report
        self.progress = progress
        self.actor = actor

    # ----- borrowers --------------------------------------------------------------------

    def borrowers(self, path: Path) -> None:
        source = read_source(path, BORROWER_COLUMNS, FAIRNESS_COLUMNS)
        name = source.name
        counts = self.report.counts.setdefault(name, FileCounts())
        for line, reason in source.malformed:
            counts.read += 1
            self.report.reject(name, line, reason)
        seen: dict[str, int] = {}
        batch: list[dict[str, object]] = []
        total = source.rows
        done = 0
        digest = _file_digest(path)
        for row in source.iter_rows([*BORROWER_COLUMNS, *FAIRNESS_COLUMNS]):
            counts.read += 1
            line = int(row[-1])
            try:
                record = self._borrower(row)
            except v.RowError as exc:
                self.report.reject(name, line, str(exc))
                continue
            first = seen.get(str(record["borrower_id"]))
            if first is not None:
                self.report.reject(name, line, f"borrower_id {record['borrower_id']} repeats line {first}")
                continue
            seen[str(record["borrower_id"])] = line
            batch.append(record)
            if len(batch) >= BATCH:
                done += len(batch)
                self._save_borrowers(batch, name, digest)
                batch = []
                self.progress(name, done, total)
        if batch:
            done += len(batch)
            self._save_borrowers(batch, name, digest)
        self.progress(name, total, total)

    def _borrower(self, row: tuple[str, ...]) -> dict[str, object]:
        (borrower_id, name, id_number, phone, email, address, city, lat, lon, zone, lang,
         push_token, gender, birth_date, occupation, ethnicity, _line) = row
        borrower_id = v.identifier(borrower_id, "borrower_id")
        phones = [v.phone(p, "phone") for p in phone.replace(";", "|").split("|") if p.strip()]
        if not phones:
            raise v.RowError("phone is empty")
        emails = [e for e in (v.email(x) for x in email.replace(";", "|").split("|")) if e]
        pii = {
            "name": v.text(name, "name", max_len=100),
            "id_number": v.text(id_number, "id_number", max_len=32),
            "phones": phones,
            "emails": emails,
            "addresses": [{
                "line": v.text(address, "address", max_len=300),
                "city": v.text(city, "city", max_len=64),
                "latitude": v.coordinate(lat, "latitude", limit=90),
                "longitude": v.coordinate(lon, "longitude", limit=180),
                "timezone": v.timezone(zone),
            }],
            "push_token": push_token.strip() or None,
        }
        fairness = {
            "gender": gender.strip() or None,
            "birth_date": v.day(birth_date, "birth_date") if birth_date.strip() else None,
            "occupation": occupation.strip() or None,
            "ethnicity": ethnicity.strip() or None,
        }
        return {
            "borrower_id": borrower_id,
            "pii": pii,
            "city": pii["addresses"][0]["city"],  # type: ignore[index]
            "timezone": v.timezone(zone),
            "language": v.language(lang),
            "has_email": bool(emails),
            "has_app": bool(pii["push_token"]),
            "fairness": fairness,
            "row_hash": _hash(*row[:-1]),
        }

    def _save_borrowers(self, batch: list[dict[str, object]], file: str, digest: str) -> None:
        counts = self.report.counts[file]
        with self.app.uow(self.actor) as uow:
            conn = uow.connection
            ids = [str(r["borrower_id"]) for r in batch]
            existing = dict(
                conn.execute(
                    select(borrowers.c.borrower_id, borrowers.c.row_hash).where(
                        borrowers.c.borrower_id.in_(ids)
                    )
                ).all()
            )
            new_rows, new_fair, changed = [], [], []
            for r in batch:
                bid = str(r["borrower_id"])
                if existing.get(bid) == r["row_hash"]:
                    counts.unchanged += 1
                    continue
                values = {
                    "pii": self.app.keys.cipher.seal(r["pii"], aad=bid),  # type: ignore[arg-type]
                    "phone_index": self.app.keys.blind_index(r["pii"]["phones"][0]),  # type: ignore[index]
                    "city": r["city"], "timezone": r["timezone"], "language": r["language"],
                    "has_email": r["has_email"], "has_app": r["has_app"],
                    "shard": shard_of(bid), "row_hash": r["row_hash"],
                }
                fair = {"borrower_id": bid, **r["fairness"]}  # type: ignore[dict-item]
                if bid in existing:
                    changed.append((bid, values, fair))
                else:
                    new_rows.append({"borrower_id": bid, **values})
                    if any(value is not None for key, value in fair.items() if key != "borrower_id"):
                        new_fair.append(fair)
            insert_dicts(conn, borrowers, new_rows)
            counts.added += len(new_rows)
            insert_dicts(conn, fairness_attributes, new_fair)
            for bid, values, fair in changed:
                conn.execute(update(borrowers).where(borrowers.c.borrower_id == bid).values(values))
                conn.execute(fairness_attributes.delete().where(fairness_attributes.c.borrower_id == bid))
                conn.execute(insert(fairness_attributes).values(fair))
                uow.audit("BorrowerUpdated", bid, {"source": file, "file_sha256": digest})
                counts.updated += 1
            if new_rows:
                uow.audit("BorrowersImported", file, {
                    "file_sha256": digest, "borrower_ids": [r["borrower_id"] for r in new_rows],
                })
            uow.commit()

    # ----- loans, schedules and payments ------------------------------------------------------

    def loans(self, loans_path: Path | None, inst_path: Path | None,
              pay_source: SourceFile | None) -> None:
        loan_rows: Iterator[tuple[str, ...]] = iter(())
        inst_rows: Iterator[tuple[str, ...]] = iter(())
        total = 0
        if loans_path is not None and inst_path is not None:
            loan_source = read_source(loans_path, LOAN_COLUMNS).sorted_by("loan_id")
            inst_source = read_source(inst_path, INSTALLMENT_COLUMNS).sorted_by("loan_id")
            self._malformed(loan_source)
            self._malformed(inst_source)
            self.loan_file, self.inst_file = loan_source.name, inst_source.name
            loan_rows = loan_source.iter_rows(LOAN_COLUMNS)
            inst_rows = inst_source.iter_rows(INSTALLMENT_COLUMNS)
            total = loan_source.rows
            self.digest = _file_digest(loans_path)
        else:
            self.loan_file, self.inst_file, self.digest = "loans.csv", "installments.csv", ""
        pay_rows: Iterator[tuple[str, ...]] = iter(())
        self.pay_file = "payments.csv"
        if pay_source is not None:
            self._malformed(pay_source)
            self.pay_file = pay_source.name
            pay_rows = pay_source.iter_rows(PAYMENT_COLUMNS)
        insts = _Grouped(inst_rows)
        pays = _Grouped(pay_rows, key_index=1)
        orphans: dict[str, list[tuple[str, ...]]] = {}
        batch: list[_LoanBundle] = []
        done = 0
        seen_loans: dict[str, int] = {}
        for row in loan_rows:
            loan_id = row[0].strip()
            if loan_id in seen_loans:
                self._count(self.loan_file).read += 1
                self.report.reject(self.loan_file, int(row[-1]),
                                   f"loan_id {loan_id} repeats line {seen_loans[loan_id]}")
                continue
            seen_loans[loan_id] = int(row[-1])
            for other_id, group in insts.until(loan_id):
                for inst in group:
                    self._count(self.inst_file).read += 1
                    self.report.reject(self.inst_file, int(inst[-1]),
                                       f"loan {other_id} is not in {self.loan_file}")
            for other_id, group in pays.until(loan_id):
                orphans.setdefault(other_id, []).extend(group)
            batch.append(_LoanBundle(row, insts.take(loan_id), pays.take(loan_id)))
            if len(batch) >= BATCH:
                self._save_loans(batch)
                done += len(batch)
                batch = []
                self.progress(self.loan_file, done, total)
        if batch:
            self._save_loans(batch)
        for other_id, group in insts.until(None):
            for inst in group:
                self._count(self.inst_file).read += 1
                self.report.reject(self.inst_file, int(inst[-1]),
                                   f"loan {other_id} is not in {self.loan_file}")
        for other_id, group in pays.until(None):
            orphans.setdefault(other_id, []).extend(group)
        if total:
            self.progress(self.loan_file, total, total)
        if orphans:
            self._payments_for_existing_loans(orphans)

    def _malformed(self, source: SourceFile) -> None:
        counts = self._count(source.name)
        for line, reason in source.malformed:
            counts.read += 1
            self.report.reject(source.name, line, reason)

    def _count(self, file: str) -> FileCounts:
        return self.report.counts.setdefault(file, FileCounts())

    def _save_loans(self, batch: list[_LoanBundle]) -> None:
        with self.app.uow(self.actor) as uow:
            conn = uow.connection
            loan_ids = [b.loan_row[0].strip() for b in batch]
            existing_loans = dict(conn.execute(
                select(loans.c.loan_id, loans.c.row_hash).where(loans.c.loan_id.in_(loan_ids))
            ).all())
            borrower_ids = {b.loan_row[1].strip() for b in batch}
            known_borrowers = set(conn.execute(
                select(borrowers.c.borrower_id).where(borrowers.c.borrower_id.in_(borrower_ids))
            ).scalars())
            payment_ids = [p[0].strip() for b in batch for p in b.payment_rows]
            existing_payments: dict[str, tuple[str, str]] = {}
            for start in range(0, len(payment_ids), 1000):
                for pid, lid, h in conn.execute(
                    select(payments.c.payment_id, payments.c.loan_id, payments.c.row_hash).where(
                        payments.c.payment_id.in_(payment_ids[start:start + 1000])
                    )
                ):
                    existing_payments[pid] = (lid, h)
            new_loans: list[dict[str, object]] = []
            new_insts: list[dict[str, object]] = []
            new_pays: list[dict[str, object]] = []
            later: dict[str, list[str]] = {}
            for bundle in batch:
                self._loan_bundle(bundle, existing_loans, known_borrowers, existing_payments,
                                  new_loans, new_insts, new_pays, later)
            insert_dicts(conn, loans, new_loans)
            insert_dicts(conn, installments, new_insts)
            fresh_pays = [p for p in new_pays if p["loan_id"] not in later]
            insert_dicts(conn, payments, fresh_pays)
            if new_loans:
                uow.audit("LoansImported", self.loan_file, {
                    "file_sha256": self.digest, "loan_ids": [r["loan_id"] for r in new_loans],
                    "payments": len(fresh_pays),
                })
            self._apply_later(uow, later, [p for p in new_pays if p["loan_id"] in later])
            uow.commit()

    def _loan_bundle(self, bundle: _LoanBundle, existing_loans: dict[str, str],
                     known_borrowers: set[str], existing_payments: dict[str, tuple[str, str]],
                     new_loans: list[dict[str, object]], new_insts: list[dict[str, object]],
                     new_pays: list[dict[str, object]], later: dict[str, list[str]]) -> None:
        loan_counts = self._count(self.loan_file)
        inst_counts = self._count(self.inst_file)
        loan_counts.read += 1
        inst_counts.read += len(bundle.installment_rows)
        line = int(bundle.loan_row[-1])
        try:
            loan = self._loan(bundle.loan_row)
        except v.RowError as exc:
            self.report.reject(self.loan_file, line, str(exc))
            self._reject_installments(bundle, "its loan row was rejected")
            self._reject_payments(bundle, f"loan {bundle.loan_row[0].strip()} was not imported")
            return
        loan_id = str(loan["loan_id"])
        if loan["borrower_id"] not in known_borrowers:
            self.report.reject(self.loan_file, line, f"borrower {loan['borrower_id']} is not known; "
                               "import borrowers.csv first or with it")
            self._reject_installments(bundle, f"loan {loan_id} was rejected")
            self._reject_payments(bundle, f"loan {loan_id} was not imported")
            return
        if loan_id in existing_loans:
            if existing_loans[loan_id] != loan["row_hash"]:
                self.report.reject(self.loan_file, line, f"loan {loan_id} already exists with "
                                   "different terms; a loan's terms are not changed by import")
                self._reject_installments(bundle, f"loan {loan_id} was rejected")
                self._reject_payments(bundle, f"loan {loan_id} was rejected")
                return
            loan_counts.unchanged += 1
            inst_counts.unchanged += len(bundle.installment_rows)
            new_ids = self._payments(bundle.payment_rows, loan_id, str(loan["currency"]),
                                     existing_payments, new_pays)
            if new_ids:
                later[loan_id] = new_ids
            return
        try:
            schedule = self._schedule(bundle.installment_rows, loan)
        except _ScheduleRejected as exc:
            self.report.reject(self.loan_file, line, f"loan {loan_id}: {exc}")
            self._reject_payments(bundle, f"loan {loan_id} was rejected")
            return
        pays_before = len(new_pays)
        self._payments(bundle.payment_rows, loan_id, str(loan["currency"]), existing_payments, new_pays)
        facts = [
            PaymentFact(str(p["payment_id"]), p["paid_on"], p["amount_minor"])  # type: ignore[arg-type]
            for p in new_pays[pays_before:]
        ]
        ledger = LoanLedger(
            loan_id, str(loan["currency"]), DailyRate(Decimal(str(loan["penalty_daily_rate"]))),
            [Installment(i.seq, i.due_on, i.principal, i.interest, i.fee) for i in schedule],
            self.app.allocation_order,
        )
        ledger.replay(facts, through=None)
        new_loans.append({
            **loan,
            "allocation_order": ",".join(c.value for c in ledger.allocation_order),
            "next_unpaid_due_on": ledger.next_unpaid_due_on,
            "accrued_through": ledger.accrued_through,
            "credit_minor": ledger.credit,
            "outstanding_minor": ledger.outstanding_minor(),
        })
        for inst in ledger.installments:
            new_insts.append({
                "loan_id": loan_id, "seq": inst.seq, "due_on": inst.due_on,
                "principal_minor": inst.principal, "interest_minor": inst.interest,
                "fee_minor": inst.fee, "penalty_minor": inst.penalty,
                "principal_paid_minor": inst.principal_paid, "interest_paid_minor": inst.interest_paid,
                "fee_paid_minor": inst.fee_paid, "penalty_paid_minor": inst.penalty_paid,
            })
        loan_counts.added += 1
        inst_counts.added += len(schedule)

    def _loan(self, row: tuple[str, ...]) -> dict[str, object]:
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
            "disbursed_on": v.day(disbursed_on, "disbursed_on"),
            "penalty_daily_rate": v.rate(penalty_text, "penalty_daily_rate", upper=Decimal("0.1")),
            "row_hash": _hash(*(x.strip() for x in row[:-1])),
        }

    def _schedule(self, rows: list[tuple[str, ...]], loan: dict[str, object]) -> list[Installment]:
        if not rows:
            raise _ScheduleRejected(f"has no installments in {self.inst_file}")
        code = str(loan["currency"])
        result: list[Installment] = []
        problems: list[tuple[int, str]] = []
        seen: set[int] = set()
        for row in rows:
            _, seq, due_on, principal, interest, fee, line = row
            try:
                number = v.integer(seq, "seq", low=1, high=1000)
                if number in seen:
                    raise v.RowError(f"seq {number} appears twice for loan {loan['loan_id']}")
                seen.add(number)
                due = v.day(due_on, "due_on")
                if due < loan["disbursed_on"]:  # type: ignore[operator]
                    raise v.RowError(f"due_on {due} is before the loan was disbursed")
                result.append(Installment(
                    number, due,
                    v.money_minor(principal, "principal_due", code),
                    v.money_minor(interest, "interest_due", code),
                    v.money_minor(fee, "fee_due", code),
                ))
            except v.RowError as exc:
                problems.append((int(line), str(exc)))
        if problems:
            for bad_line, reason in problems:
                self.report.reject(self.inst_file, bad_line, reason)
            rest = len(rows) - len(problems)
            self._count(self.inst_file).rejected += rest
            raise _ScheduleRejected(f"{len(problems)} installment row(s) are invalid; the loan "
                                    "and its whole schedule were left out")
        result.sort(key=lambda i: i.seq)
        for a, b in pairwise(result):
            if b.due_on < a.due_on:
                self._count(self.inst_file).rejected += len(rows)
                raise _ScheduleRejected(f"installment {b.seq} falls due before installment {a.seq}")
        principal_sum = sum(i.principal for i in result)
        if principal_sum != loan["principal_minor"]:
            self._count(self.inst_file).rejected += len(rows)
            raise _ScheduleRejected(
                f"installments' principal adds up to {Decimal(principal_sum).scaleb(-2)}, the loan's "
                f"principal is {Decimal(int(loan['principal_minor'])).scaleb(-2)}"  # type: ignore[call-overload]
            )
        return result

    def _payments(self, rows: list[tuple[str, ...]], loan_id: str, code: str,
                  existing: dict[str, tuple[str, str]], out: list[dict[str, object]]) -> list[str]:
        counts = self._count(self.pay_file)
        new_ids: list[str] = []
        zone = self.app.zone
        now = self.app.clock.now()
        for row in rows:
            payment_id, _, paid_at, amount, channel, line = row
            counts.read += 1
            try:
                pid = v.identifier(payment_id, "payment_id")
                moment = v.moment(paid_at, "paid_at")
                if moment > now:
                    raise v.RowError(f"paid_at {paid_at.strip()} is in the future")
                minor = v.money_minor(amount, "amount", code, positive=True)
                chan = v.text(channel, "channel", max_len=32, required=False) or "unknown"
            except v.RowError as exc:
                self.report.reject(self.pay_file, int(line), str(exc))
                continue
            fingerprint = payment_row_hash(pid, loan_id, moment, minor, chan)
            if pid in existing:
                if existing[pid] == (loan_id, fingerprint):
                    counts.unchanged += 1
                else:
                    self.report.reject(self.pay_file, int(line),
                                       f"payment {pid} already exists with different content")
                continue
            existing[pid] = (loan_id, fingerprint)
            out.append({
                "payment_id": pid, "loan_id": loan_id, "paid_at": moment.astimezone(UTC),
                "paid_on": business_date(moment, zone), "amount_minor": minor, "currency": code,
                "channel": chan, "row_hash": fingerprint,
            })
            new_ids.append(pid)
            counts.added += 1
        return new_ids

    def _reject_installments(self, bundle: _LoanBundle, reason: str) -> None:
        self._count(self.inst_file).rejected += len(bundle.installment_rows)
        if bundle.installment_rows:
            first = int(bundle.installment_rows[0][-1])
            self.report.errors.append(BadRow(self.inst_file, first,
                                             f"{len(bundle.installment_rows)} installment row(s) "
                                             f"left out: {reason}"))

    def _reject_payments(self, bundle: _LoanBundle, reason: str) -> None:
        counts = self._count(self.pay_file)
        for row in bundle.payment_rows:
            counts.read += 1
            self.report.reject(self.pay_file, int(row[-1]), f"payment {row[0].strip()}: {reason}")

    def _apply_later(self, uow: UnitOfWork, later: dict[str, list[str]],
                     rows: list[dict[str, object]]) -> None:
        """New payments for loans already in the books: posted like live payments."""
        if not later:
            return
        conn = uow.connection
        insert_dicts(conn, payments, rows)
        stored = load_loans(conn, later.keys(), for_update=True)
        for loan_id, ids in later.items():
            paid_on = max(r["paid_on"] for r in rows if r["loan_id"] == loan_id)  # type: ignore[type-var]
            apply_payments(uow, self.app, stored[loan_id], ids, today=books_date(conn, paid_on))  # type: ignore[arg-type]

    def _payments_for_existing_loans(self, orphans: dict[str, list[tuple[str, ...]]]) -> None:
        ids = sorted(orphans)
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            with self.app.uow(self.actor) as uow:
                conn = uow.connection
                known = dict(conn.execute(
                    select(loans.c.loan_id, loans.c.currency).where(loans.c.loan_id.in_(chunk))
                ).all())
                pids = [r[0].strip() for lid in chunk for r in orphans[lid]]
                existing = {
                    pid: (lid, h) for pid, lid, h in conn.execute(
                        select(payments.c.payment_id, payments.c.loan_id, payments.c.row_hash)
                        .where(payments.c.payment_id.in_(pids))
                    )
                }
                rows: list[dict[str, object]] = []
                later: dict[str, list[str]] = {}
                for loan_id in chunk:
                    if loan_id not in known:
                        counts = self._count(self.pay_file)
                        for row in orphans[loan_id]:
                            counts.read += 1
                            self.report.reject(self.pay_file, int(row[-1]),
                                               f"payment {row[0].strip()}: no loan {loan_id!r} is known")
                        continue
                    new_ids = self._payments(orphans[loan_id], loan_id, known[loan_id], existing, rows)
                    if new_ids:
                        later[loan_id] = new_ids
                self._apply_later(uow, later, rows)
                uow.commit()


class _ScheduleRejected(FairdueError):
    pass


@dataclass(slots=True)
class _LoanBundle:
    loan_row: tuple[str, ...]
    installment_rows: list[tuple[str, ...]]
    payment_rows: list[tuple[str, ...]]


class _Grouped:
    """Walks rows sorted by their first column (a loan id), in step with the loans file."""

    def __init__(self, rows: Iterator[tuple[str, ...]], key_index: int = 0) -> None:
        self._rows = rows
        self._index = key_index
        self._head: tuple[str, ...] | None = next(rows, None)

    def _key(self) -> str | None:
        return None if self._head is None else self._head[self._index].strip()

    def take(self, key: str) -> list[tuple[str, ...]]:
        group = []
        while self._head is not None and self._key() == key:
            group.append(self._head)
            self._head = next(self._rows, None)
        return group

    def until(self, key: str | None) -> Iterator[tuple[str, list[tuple[str, ...]]]]:
        """Groups whose key sorts before `key` (all remaining when None)."""
        while self._head is not None:
            current = self._key()
            assert current is not None
            if key is not None and current >= key:
                return
            yield current, self.take(current)
