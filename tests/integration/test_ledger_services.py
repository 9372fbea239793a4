"""The books end to end through the services, on SQLite and on PostgreSQL: import, the
daily run, payments, cases, domain events, the audit log and the exports."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

import fairdue.services.aging as aging
import fairdue.services.daily_run as daily_run
import fairdue.services.sharding as sharding
from fairdue.adapters.audit import verify_audit
from fairdue.adapters.crypto import create_key_file
from fairdue.adapters.db.migrate import upgrade
from fairdue.adapters.db.tables import (
    audit_log,
    borrowers,
    cases,
    daily_run_partitions,
    daily_runs,
    domain_events,
    installments,
    loan_bucket_history,
    loans,
    payments,
)
from fairdue.bootstrap import App, build_app
from fairdue.clock import FixedClock
from fairdue.domain.events import CaseCured, CaseOpened, DomainEvent, PaymentPosted
from fairdue.errors import InvalidInput, PaymentRejected
from fairdue.services.borrowers import show_borrower
from fairdue.services.daily_run import run_days
from fairdue.services.export import write_export
from fairdue.services.importing import ImportReport, import_portfolio
from fairdue.services.payments import PaymentRequest, PaymentResult, post_payment
from fairdue.settings import load_settings

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=CST)

BORROWERS = [
    ["borrower_id", "name", "id_number", "phone", "email", "address", "city", "latitude",
     "longitude", "timezone", "language", "push_token"],
    ["B1", "张三", "110101199001011234", "13812341234", "zs@example.com",
     "北京市朝阳区建国路1号", "北京", "39.9", "116.4", "Asia/Shanghai", "zh-CN", ""],
    ["B2", "李四", "310101198505052345", "13900001111", "", "上海市黄浦区南京东路2号", "上海",
     "", "", "Asia/Shanghai", "zh-CN", ""],
    ["B3", "赵六", "440101199212123456", "13600003333", "", "广州市天河区体育西路3号", "广州",
     "", "", "Asia/Shanghai", "en", ""],
    ["B5", "王五", "510101197707074567", "13700002222", "", "成都市锦江区春熙路5号", "成都",
     "", "", "Asia/Shanghai", "zh-CN", "tok-abcdefghijklmnop"],
]
LOANS = [
    ["loan_id", "borrower_id", "product", "currency", "principal", "annual_rate", "disbursed_on",
     "penalty_daily_rate"],
    ["L1", "B1", "cash30", "CNY", "1000.00", "0.24", "2026-02-08", "0.0005"],
    ["L2", "B1", "cash30", "CNY", "600.00", "0.24", "2026-02-10", "0.0005"],
    ["L3", "B2", "cash30", "CNY", "800.00", "0.24", "2026-02-08", "0.0005"],
    ["L4", "B3", "cash30", "CNY", "300.00", "0.24", "2026-04-01", "0.0005"],
    ["L5", "B5", "cash30", "CNY", "300.00", "0.24", "2026-02-08", "0.0005"],
]
INSTALLMENTS = [
    ["loan_id", "seq", "due_on", "principal_due", "interest_due", "fee_due"],
    ["L1", "1", "2026-03-10", "500.00", "20.00", "5.00"],
    ["L1", "2", "2026-04-10", "500.00", "20.00", "5.00"],
    ["L2", "1", "2026-03-12", "600.00", "10.00", "0.00"],
    ["L3", "1", "2026-03-10", "400.00", "10.00", "5.00"],
    ["L3", "2", "2026-04-10", "400.00", "10.00", "5.00"],
    ["L4", "1", "2026-05-01", "300.00", "6.00", "0"],
    ["L5", "1", "2026-03-10", "300.00", "9.00", "1.00"],
]
PAYMENTS = [
    ["payment_id", "loan_id", "paid_at", "amount", "channel"],
    ["P1", "L3", "2026-03-09T10:00:00+08:00", "415.00", "app"],
    ["P2", "L5", "2026-03-10T20:00:00+08:00", "100.00", "bank"],
]
PORTFOLIO = {"borrowers": BORROWERS, "loans": LOANS, "installments": INSTALLMENTS,
             "payments": PAYMENTS}

D11, D12, D13, D14, D15 = (date(2026, 3, d) for d in (11, 12, 13, 14, 15))


# ----- helpers --------------------------------------------------------------------------------


def write_csv(folder: Path, tables: dict[str, list[list[str]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, rows in tables.items():
        with (folder / f"{stem}.csv").open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return folder


def write_parquet(folder: Path, tables: dict[str, list[list[str]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, rows in tables.items():
        header, body = rows[0], rows[1:]
        columns = {name: pa.array([r[i] for r in body], type=pa.string())
                   for i, name in enumerate(header)}
        pq.write_table(pa.table(columns), folder / f"{stem}.parquet")
    return folder


def make_app(db_url: str, key_dir: Path, **overrides: Any) -> App:
    key_file = key_dir / "k.key"
    settings = load_settings({}, database_url=db_url, key_file=str(key_file), **overrides)
    if not key_file.exists():
        create_key_file(key_file)
    app = build_app(settings, clock=FixedClock(NOW), check_schema=False)
    upgrade(app.engine)
    return app


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    application = make_app(db_url, tmp_path)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def second_app(second_db_url: str, tmp_path: Path) -> Iterator[App]:
    application = make_app(second_db_url, tmp_path)
    try:
        yield application
    finally:
        application.close()


def imported(app: App, folder: Path) -> ImportReport:
    report = import_portfolio(app, folder)
    assert report.ok, [str(e) for e in report.errors]
    return report


def export(app: App, what: str, fmt: str = "jsonl") -> str:
    out = io.StringIO()
    with app.engine.connect() as conn:
        write_export(conn, what, fmt, out)
    return out.getvalue()


def rows(app: App, what: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in export(app, what).splitlines()]


def count(app: App, table: Any) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def case_of(app: App, borrower_id: str) -> dict[str, Any]:
    found = [c for c in rows(app, "cases") if c["borrower_id"] == borrower_id]
    assert len(found) == 1, found
    return found[0]


def loan_row(app: App, loan_id: str) -> dict[str, Any]:
    return next(r for r in rows(app, "loans") if r["loan_id"] == loan_id)


def pay(app: App, payment_id: str, loan_id: str, amount: str,
        at: datetime = datetime(2026, 3, 14, 15, 0, tzinfo=CST), channel: str = "app"
        ) -> PaymentResult:
    return post_payment(app, PaymentRequest(payment_id, loan_id, amount, at, channel))


def fingerprint(app: App) -> dict[str, object]:
    """Row counts of every books table and a hash of every export."""
    counts = {t.name: count(app, t) for t in (borrowers, loans, installments, payments, cases,
                                               loan_bucket_history, domain_events)}
    hashes = {w: hashlib.sha256(export(app, w, "csv").encode()).hexdigest()
              for w in ("cases", "loans", "payments", "events")}
    return {"counts": counts, "exports": hashes}


def bucket_moves(app: App) -> list[tuple[str, date, str, str, int]]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            select(loan_bucket_history.c.loan_id, loan_bucket_history.c.moved_on,
                   loan_bucket_history.c.from_bucket, loan_bucket_history.c.to_bucket,
                   loan_bucket_history.c.dpd)
            .order_by(loan_bucket_history.c.moved_on, loan_bucket_history.c.loan_id))]


def event_names(app: App) -> list[tuple[str, str, str | None]]:
    return [(e["name"], e["subject"], e["occurred_on"]) for e in rows(app, "events")]


@pytest.fixture
def books(app: App, tmp_path: Path) -> App:
    """The hand-written portfolio, imported."""
    imported(app, write_csv(tmp_path / "books", PORTFOLIO))
    return app


# ----- import -----------------------------------------------------------------------------------


def test_import_counts_every_row_of_every_file(app: App, tmp_path: Path) -> None:
    report = imported(app, write_csv(tmp_path / "books", PORTFOLIO))

    added = {name: (c.read, c.added, c.rejected) for name, c in report.counts.items()}
    assert added == {
        "borrowers.csv": (4, 4, 0), "loans.csv": (5, 5, 0),
        "installments.csv": (7, 7, 0), "payments.csv": (2, 2, 0),
    }
    assert (count(app, borrowers), count(app, loans), count(app, installments),
            count(app, payments)) == (4, 5, 7, 2)
    l5 = loan_row(app, "L5")
    # P2 paid the fee, the interest and 90.00 of principal.
    assert (l5["outstanding"], l5["next_unpaid_due_on"], l5["credit"]) == (
        "210.00", "2026-03-10", "0.00")
    assert loan_row(app, "L3")["next_unpaid_due_on"] == "2026-04-10"


def test_bad_rows_are_reported_with_file_line_and_reason_and_good_rows_go_in(
    app: App, tmp_path: Path
) -> None:
    bad_borrowers = [*BORROWERS[:3], ["B9", "x", "y", "13800000000", "", "a", "b", "", "", "",
                                      "", "", "extra", "fields"]]
    bad_loans = [
        *LOANS[:3],
        ["L6", "B1", "cash30", "CNY", "100.00", "0.24", "2026-13-01", "0.0005"],
        ["L7", "B1", "cash30", "CNY", "100.005", "0.24", "2026-02-08", "0.0005"],
        ["L8", "B99", "cash30", "CNY", "100.00", "0.24", "2026-02-08", "0.0005"],
        ["L9", "B2", "cash30", "CNY", "100.00", "0.24", "2026-02-08", "0.0005"],
    ]
    bad_installments = [
        *INSTALLMENTS[:4],
        ["L6", "1", "2026-03-10", "100.00", "0", "0"],
        ["L7", "1", "2026-03-10", "100.00", "0", "0"],
        ["L8", "1", "2026-03-10", "100.00", "0", "0"],
        ["L9", "1", "2026-03-10", "60.00", "0", "0"],
        ["L9", "2", "2026-04-10", "30.00", "0", "0"],
    ]
    bad_payments = [
        *PAYMENTS[:2],
        ["P7", "L1", "2026-03-09T10:00:00+08:00", "100.00", "app"],
        ["P7", "L1", "2026-03-09T10:00:00+08:00", "200.00", "app"],
    ]
    folder = write_csv(tmp_path / "bad", {"borrowers": bad_borrowers, "loans": bad_loans,
                                          "installments": bad_installments,
                                          "payments": bad_payments})

    report = import_portfolio(app, folder)

    problems = {(e.file, e.line): e.reason for e in report.errors}
    malformed = [e for e in report.errors if e.file == "borrowers.csv"]
    assert [e.reason for e in malformed] == ["has 14 fields, the header has 12"]
    assert "disbursed_on '2026-13-01' is not a date YYYY-MM-DD" in problems[("loans.csv", 4)]
    assert "principal '100.005' has more than 2 decimal places" in problems[("loans.csv", 5)]
    assert "borrower B99 is not known" in problems[("loans.csv", 6)]
    assert "principal adds up to 90.00" in problems[("loans.csv", 7)]
    assert "100.00" in problems[("loans.csv", 7)]
    assert "P7 already exists with different content" in problems[("payments.csv", 4)]
    assert not report.ok
    with app.engine.connect() as conn:
        assert set(conn.execute(select(borrowers.c.borrower_id)).scalars()) == {"B1", "B2"}
        assert set(conn.execute(select(loans.c.loan_id)).scalars()) == {"L1", "L2"}
        assert set(conn.execute(select(installments.c.loan_id)).scalars()) == {"L1", "L2"}
        assert list(conn.execute(select(payments.c.payment_id, payments.c.amount_minor))) == [
            ("P7", 10000)]
    assert report.counts["loans.csv"].added == 2
    assert report.counts["loans.csv"].rejected == 4
    # P1 is for L3, which is in no file and not in the books.
    assert any(e.file == "payments.csv" and e.line == 2 and "no loan 'L3'" in e.reason
               for e in report.errors)


def test_a_malformed_csv_row_is_reported_on_its_line_and_later_lines_stay_right(
    app: App, tmp_path: Path
) -> None:
    rows_ = [BORROWERS[0], BORROWERS[1], [*BORROWERS[2], "extra", "fields"],
             ["B4", "x", "y", "not-a-phone", "", "a", "b", "", "", "", "", ""], BORROWERS[3]]
    report = import_portfolio(app, write_csv(tmp_path / "m", {"borrowers": rows_}))
    assert [(e.line, e.reason) for e in report.errors] == [
        (3, "has 14 fields, the header has 12"), (4, "phone 'not-a-phone' is not a phone number")]


def test_a_bad_installment_row_leaves_its_whole_loan_out(app: App, tmp_path: Path) -> None:
    bad = [*INSTALLMENTS[:2], ["L1", "2", "2026-04-31", "500.00", "20.00", "5.00"],
           *INSTALLMENTS[3:]]
    report = import_portfolio(app, write_csv(tmp_path / "b", {**PORTFOLIO, "installments": bad}))
    problems = {(e.file, e.line): e.reason for e in report.errors}
    assert "due_on '2026-04-31' is not a date" in problems[("installments.csv", 3)]
    assert "loan L1" in problems[("loans.csv", 2)]
    with app.engine.connect() as conn:
        assert "L1" not in set(conn.execute(select(loans.c.loan_id)).scalars())
        assert "L1" not in set(conn.execute(select(installments.c.loan_id)).scalars())
    assert count(app, loans) == 4


def test_importing_the_same_files_again_changes_nothing(app: App, tmp_path: Path) -> None:
    folder = write_csv(tmp_path / "books", PORTFOLIO)
    imported(app, folder)
    run_days(app, through=D11)
    before = fingerprint(app)
    audit_before = count(app, audit_log)

    report = imported(app, folder)

    assert fingerprint(app) == before
    assert count(app, audit_log) == audit_before
    assert {n: (c.added, c.unchanged, c.updated) for n, c in report.counts.items()} == {
        "borrowers.csv": (0, 4, 0), "loans.csv": (0, 5, 0), "installments.csv": (0, 7, 0),
        "payments.csv": (0, 2, 0),
    }


def test_a_payment_id_reused_with_different_content_on_reimport_is_rejected(
    books: App, tmp_path: Path
) -> None:
    changed = [PAYMENTS[0], ["P1", "L3", "2026-03-09T10:00:00+08:00", "416.00", "app"]]
    report = import_portfolio(books, write_csv(tmp_path / "again", {"payments": changed}))
    assert [(e.file, e.line) for e in report.errors] == [("payments.csv", 2)]
    assert "P1 already exists with different content" in report.errors[0].reason
    assert rows(books, "payments")[0]["amount"] == "415.00"


def test_parquet_files_import_the_same_as_csv(
    app: App, second_app: App, tmp_path: Path
) -> None:
    csv_report = imported(app, write_csv(tmp_path / "csv", PORTFOLIO))
    parquet_report = imported(second_app, write_parquet(tmp_path / "parquet", PORTFOLIO))

    def added(report: ImportReport) -> dict[str, tuple[int, int]]:
        return {Path(n).stem: (c.read, c.added) for n, c in report.counts.items()}

    assert added(parquet_report) == added(csv_report)
    for what in ("loans", "payments"):
        assert export(second_app, what) == export(app, what)
    show = show_borrower(second_app, "B1")
    assert show["phones"] == ["138****1234"] and show["loans"] == ["L1", "L2"]


def test_files_in_any_row_order_import_the_same_as_files_in_loan_order(
    app: App, second_app: App, tmp_path: Path
) -> None:
    # Installments and payments out of loan order (and L1's payments out of time order)
    # take the sorting way; the books must come out the same.
    payments_ = [*PAYMENTS, ["P3", "L1", "2026-03-11T09:00:00+08:00", "10.00", "app"],
                 ["P4", "L1", "2026-03-10T09:00:00+08:00", "525.00", "app"]]
    in_order = {**PORTFOLIO, "payments": [payments_[0], *sorted(payments_[1:], key=lambda r: (r[1], r[2]))]}
    shuffled = {**PORTFOLIO,
                "installments": [INSTALLMENTS[0], *reversed(INSTALLMENTS[1:])],
                "payments": [payments_[0], *reversed(payments_[1:])]}
    imported(app, write_csv(tmp_path / "ordered", in_order))
    imported(second_app, write_csv(tmp_path / "shuffled", shuffled))
    for what in ("loans", "payments"):
        assert export(second_app, what) == export(app, what)
    assert loan_row(app, "L1")["credit"] == "0.00"


# ----- the daily run ------------------------------------------------------------------------------


def test_the_daily_run_opens_a_case_on_the_first_overdue_day(books: App) -> None:
    result = run_days(books, through=D11)

    assert [d.business_date for d in result.days] == [D11]
    assert result.loans_touched == 2  # L1 and L5; L2, L3 and L4 are not past due
    assert result.days[0].cases_opened == 2
    b1 = case_of(books, "B1")
    assert b1 == {
        "case_id": "C-B1-20260311", "borrower_id": "B1", "status": "open", "dpd": 1,
        "bucket": "M1", "amount_due": "525.25", "currency": "CNY", "overdue_loans": 1,
        "opened_on": "2026-03-11", "closed_on": None,
    }
    # L5: 210.00 principal left after P2, one day of penalty 21000 x 0.0005 = 10.5 -> 11 fen.
    b5 = case_of(books, "B5")
    assert (b5["dpd"], b5["bucket"], b5["amount_due"]) == (1, "M1", "210.11")
    assert (loan_row(books, "L1")["dpd"], loan_row(books, "L1")["bucket"]) == (1, "M1")
    assert loan_row(books, "L2")["dpd"] == 0
    assert [c["borrower_id"] for c in rows(books, "cases")] == ["B1", "B5"]


def test_the_daily_run_catches_up_missed_dates_in_order(books: App) -> None:
    run_days(books, through=D11)
    result = run_days(books, through=D14)

    assert [d.business_date for d in result.days] == [D12, D13, D14]
    assert [d.loans_touched for d in result.days] == [2, 3, 3]
    assert bucket_moves(books) == [
        ("L1", D11, "M0", "M1", 1), ("L5", D11, "M0", "M1", 1), ("L2", D13, "M0", "M1", 1)]
    b1 = case_of(books, "B1")
    # L1: 525.00 + 4 x 0.25; L2: 610.00 + 2 x 0.30.
    assert (b1["dpd"], b1["amount_due"], b1["overdue_loans"], b1["opened_on"]) == (
        4, "1136.60", 2, "2026-03-11")
    with books.engine.connect() as conn:
        assert list(conn.execute(select(daily_runs.c.business_date, daily_runs.c.status)
                                 .order_by(daily_runs.c.business_date))) == [
            (d, "completed") for d in (D11, D12, D13, D14)]
    missed = [(n, s, on) for n, s, on in event_names(books) if n == "InstallmentMissed"]
    assert missed == [("InstallmentMissed", "L1", "2026-03-11"),
                      ("InstallmentMissed", "L5", "2026-03-11"),
                      ("InstallmentMissed", "L2", "2026-03-13")]


def test_bucket_moves_are_dated_on_the_day_they_happen_during_a_catch_up(
    db_url: str, tmp_path: Path
) -> None:
    app = make_app(db_url, tmp_path, buckets="M0:0,M1:1-2,M2:3-")
    try:
        imported(app, write_csv(tmp_path / "books", PORTFOLIO))
        run_days(app, through=D11)
        run_days(app, through=D15)
        assert [m for m in bucket_moves(app) if m[0] == "L1"] == [
            ("L1", D11, "M0", "M1", 1), ("L1", D13, "M1", "M2", 3)]
        changed = [(e["subject"], e["occurred_on"], e["payload"]["from_bucket"],
                    e["payload"]["to_bucket"])
                   for e in rows(app, "events") if e["name"] == "BucketChanged"]
        assert ("C-B1-20260311", "2026-03-13", "M1", "M2") in changed
        assert case_of(app, "B1")["bucket"] == "M2"
    finally:
        app.close()


def test_the_daily_run_is_idempotent_per_date(books: App) -> None:
    run_days(books, through=D12)
    before = fingerprint(books)
    audit_before = count(books, audit_log)

    again = run_days(books, through=D12)
    earlier = run_days(books, through=D11)

    assert [d.skipped for d in again.days] == [True]
    assert [d.skipped for d in earlier.days] == [True]
    assert again.loans_touched == 0
    assert fingerprint(books) == before
    assert count(books, audit_log) == audit_before


def test_grace_days_delay_the_case(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path, grace_days=2)
    try:
        imported(app, write_csv(tmp_path / "books", PORTFOLIO))
        run_days(app, through=D12)
        assert rows(app, "cases") == []
        assert loan_row(app, "L1")["dpd"] == 2
        run_days(app, through=D13)
        assert case_of(app, "B1")["opened_on"] == "2026-03-13"
        assert case_of(app, "B1")["dpd"] == 3
    finally:
        app.close()


# ----- payments ------------------------------------------------------------------------------------


def test_a_payment_during_the_day_cures_the_case_at_once_and_a_later_run_keeps_it_closed(
    books: App,
) -> None:
    run_days(books, through=D11)
    run_days(books, through=D14)

    first = pay(books, "PX1", "L2", "610.60")
    assert (first.loan_dpd, first.loan_amount_due, first.case_cured) == (0, "0.00", False)
    assert (case_of(books, "B1")["status"], case_of(books, "B1")["amount_due"]) == (
        "open", "526.00")

    second = pay(books, "PX2", "L1", "526.00")
    assert second.case_cured and second.loan_dpd == 0
    cured = case_of(books, "B1")
    assert (cured["status"], cured["closed_on"], cured["dpd"], cured["bucket"],
            cured["amount_due"]) == ("cured", "2026-03-14", 0, "M0", "0.00")

    result = run_days(books, through=D15)
    assert result.loans_touched == 1  # only L5 is still past due
    assert case_of(books, "B1")["status"] == "cured"
    assert case_of(books, "B5")["dpd"] == 5
    assert loan_row(books, "L1")["next_unpaid_due_on"] == "2026-04-10"

    names = {n for n, _, _ in event_names(books)}
    assert {"CaseOpened", "InstallmentMissed", "PaymentPosted", "BucketChanged",
            "CaseCured"} <= names
    posted = [e["payload"] for e in rows(books, "events") if e["name"] == "PaymentPosted"]
    assert [(p["payment_id"], p["amount"], p["to_credit"]) for p in posted] == [
        ("PX1", "610.60", "0.00"), ("PX2", "526.00", "0.00")]
    assert loan_row(books, "L2")["bucket"] == "M0"


def test_an_overpayment_is_kept_as_credit_on_the_loan(books: App) -> None:
    result = pay(books, "PX9", "L4", "400.00", at=datetime(2026, 4, 2, 9, 0, tzinfo=CST))
    assert result.to_credit == "94.00"
    assert (loan_row(books, "L4")["credit"], loan_row(books, "L4")["outstanding"]) == (
        "94.00", "0.00")


def test_a_back_dated_payment_removes_penalty_charged_after_it(books: App) -> None:
    run_days(books, through=D11)
    run_days(books, through=D14)
    # A bank transfer made on 3-11 that arrives after the runs of 3-12 to 3-14.
    pay(books, "PX3", "L1", "525.25", at=datetime(2026, 3, 11, 9, 0, tzinfo=CST))
    assert loan_row(books, "L1")["dpd"] == 0
    with books.engine.connect() as conn:
        penalty = conn.execute(select(installments.c.penalty_minor).where(
            installments.c.loan_id == "L1", installments.c.seq == 1)).scalar_one()
    assert penalty == 25
    assert case_of(books, "B1")["amount_due"] == "610.60"


def test_payments_are_rejected_with_the_reason(books: App) -> None:
    before = fingerprint(books)
    with pytest.raises(PaymentRejected, match="no loan 'NOPE' is known"):
        pay(books, "PR1", "NOPE", "10.00")
    for amount in ("0", "0.00", "-5.00"):
        with pytest.raises(PaymentRejected, match="amount must be positive"):
            pay(books, "PR2", "L1", amount)
    with pytest.raises(InvalidInput, match="more than 2 decimal places"):
        pay(books, "PR3", "L1", "1.005")
    with pytest.raises(PaymentRejected, match="in the future"):
        pay(books, "PR4", "L1", "1.00", at=NOW + timedelta(days=1))
    assert fingerprint(books) == before

    pay(books, "PR5", "L1", "10.00")
    with pytest.raises(PaymentRejected, match="already posted with different content"):
        pay(books, "PR5", "L1", "11.00")
    with pytest.raises(PaymentRejected, match="already posted with different content"):
        pay(books, "PR5", "L2", "10.00")
    after_first = fingerprint(books)
    audit_after_first = count(books, audit_log)

    resend = pay(books, "PR5", "L1", "10.00")
    assert resend.already_posted
    assert fingerprint(books) == after_first
    assert count(books, audit_log) == audit_after_first


# ----- events ----------------------------------------------------------------------------------------


def test_handlers_see_events_only_after_commit_and_never_after_a_rollback(
    books: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bool]] = []

    def on_event(event: DomainEvent) -> None:
        # A separate connection sees the change only if it was committed.
        with books.engine.connect() as conn:
            if isinstance(event, CaseOpened | CaseCured):
                status = conn.execute(select(cases.c.status).where(
                    cases.c.case_id == event.case_id)).scalar()
                committed = status == ("open" if isinstance(event, CaseOpened) else "cured")
            else:
                assert isinstance(event, PaymentPosted)
                committed = conn.execute(select(payments.c.payment_id).where(
                    payments.c.payment_id == event.payment_id)).scalar() is not None
        seen.append((event.name, committed))

    for kind in (CaseOpened, CaseCured, PaymentPosted):
        books.bus.subscribe(kind, on_event)

    real = aging.record_aging

    def failing(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the cases written and their events recorded, then a failure
        raise RuntimeError("disk full")

    monkeypatch.setattr(aging, "record_aging", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        run_days(books, through=D11)
    assert seen == []
    assert rows(books, "cases") == []
    assert [n for n, _, _ in event_names(books)] == []

    monkeypatch.undo()
    run_days(books, through=D11)
    assert seen == [("CaseOpened", True), ("CaseOpened", True)]

    pay(books, "PX4", "L1", "525.25", at=datetime(2026, 3, 11, 18, 0, tzinfo=CST))
    assert seen[2:] == [("PaymentPosted", True), ("CaseCured", True)]

    with pytest.raises(PaymentRejected):
        pay(books, "PX4", "L1", "1.00")
    assert len(seen) == 4


# ----- crash and resume ---------------------------------------------------------------------------


def _crash_on_call(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    real = daily_run.run_partition
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> tuple[int, int, int]:
        calls["n"] += 1
        if calls["n"] == n:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(daily_run, "run_partition", flaky)


def _books_state(app: App) -> dict[str, object]:
    events = sorted(json.dumps([e["name"], e["subject"], e["occurred_on"], e["payload"]])
                    for e in rows(app, "events"))
    return {"cases": export(app, "cases"), "loans": export(app, "loans"),
            "moves": bucket_moves(app), "events": events}


@pytest.mark.parametrize("rerun_through", [D11, D14])
def test_a_crashed_run_resumes_and_ends_as_a_clean_run_would(
    db_url: str, second_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    rerun_through: date,
) -> None:
    folder = write_csv(tmp_path / "books", PORTFOLIO)
    crashed = make_app(db_url, tmp_path, run_partitions=4)
    clean = make_app(second_db_url, tmp_path, run_partitions=4)
    try:
        imported(crashed, folder)
        imported(clean, folder)
        # B1 is in partition 0, B2 in 1, B5 in 2 and B3 in 3 of 4.
        assert [sharding.shard_of(b) * 4 // sharding.SHARDS for b in ("B1", "B2", "B5", "B3")
                ] == [0, 1, 2, 3]

        _crash_on_call(monkeypatch, 3)
        with pytest.raises(RuntimeError, match="worker killed"):
            run_days(crashed, through=D11)
        monkeypatch.undo()
        with crashed.engine.connect() as conn:
            assert conn.execute(select(daily_runs.c.status)).scalar_one() == "running"
            assert list(conn.execute(
                select(daily_run_partitions.c.partition_no, daily_run_partitions.c.status)
                .order_by(daily_run_partitions.c.partition_no))) == [
                (0, "completed"), (1, "completed"), (2, "pending"), (3, "pending")]
        assert [c["borrower_id"] for c in rows(crashed, "cases")] == ["B1"]

        resumed = run_days(crashed, through=rerun_through)
        assert resumed.days[0].business_date == D11
        assert resumed.days[0].partitions_run == 2
        run_days(crashed, through=D14)

        run_days(clean, through=D11)
        run_days(clean, through=D14)
        assert _books_state(crashed) == _books_state(clean)
        with crashed.engine.connect() as conn:
            assert set(conn.execute(select(daily_runs.c.status)).scalars()) == {"completed"}
        with crashed.engine.connect() as conn:
            assert verify_audit(conn).ok
    finally:
        crashed.close()
        clean.close()


# ----- personal data and the audit log ---------------------------------------------------------------


def _audit_actions(app: App) -> list[tuple[str, str, str]]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.subject)
            .order_by(audit_log.c.seq))]


def test_an_unmasked_read_is_audited_and_a_masked_one_is_not(books: App) -> None:
    before = _audit_actions(books)
    masked = show_borrower(books, "B1")
    assert masked["masked"] is True
    assert masked["phones"] == ["138****1234"]
    assert masked["name"] != "张三" and "张三" not in json.dumps(masked, ensure_ascii=False)
    assert "110101199001011234" not in json.dumps(masked)
    assert _audit_actions(books) == before

    with pytest.raises(InvalidInput, match="may not see personal data unmasked"):
        show_borrower(books, "B1", unmask=True, role="agent", reason="call")
    with pytest.raises(InvalidInput, match="needs a reason"):
        show_borrower(books, "B1", unmask=True, role="compliance", reason=" ")
    assert _audit_actions(books) == before

    clear = show_borrower(books, "B1", unmask=True, actor="alice", role="compliance",
                          reason="dispute 42")
    assert clear["phones"] == ["13812341234"] and clear["name"] == "张三"
    assert _audit_actions(books) == [*before, ("alice", "PiiUnmasked", "B1")]
    with books.engine.connect() as conn:
        details = json.loads(conn.execute(select(audit_log.c.details).order_by(
            audit_log.c.seq.desc()).limit(1)).scalar_one())
    assert details["role"] == "compliance" and details["reason"] == "dispute 42"


def test_every_change_is_audited_and_the_chain_verifies(books: App) -> None:
    run_days(books, through=D11)
    pay(books, "PX5", "L5", "210.11", at=datetime(2026, 3, 11, 12, 0, tzinfo=CST))
    show_borrower(books, "B5", unmask=True, role="supervisor", reason="complaint")

    actions = [a for _, a, _ in _audit_actions(books)]
    for expected in ("BorrowersImported", "LoansImported", "CaseOpened", "InstallmentMissed",
                     "DailyRunCompleted", "PaymentPosted", "CaseCured", "PiiUnmasked"):
        assert expected in actions
    assert case_of(books, "B5")["status"] == "cured"
    with books.engine.connect() as conn:
        result = verify_audit(conn)
    assert result.ok and result.entries_checked == len(actions)


def test_exports_carry_the_case_columns_with_amounts_as_decimal_strings(books: App) -> None:
    run_days(books, through=D11)
    reader = list(csv.DictReader(io.StringIO(export(books, "cases", "csv"))))
    assert {"case_id", "borrower_id", "status", "dpd", "bucket", "amount_due", "opened_on",
            "closed_on"} <= set(reader[0])
    assert [(r["case_id"], r["amount_due"], r["closed_on"]) for r in reader] == [
        ("C-B1-20260311", "525.25", ""), ("C-B5-20260311", "210.11", "")]
    for line in export(books, "cases").splitlines():
        assert isinstance(json.loads(line)["amount_due"], str)
    payment = rows(books, "payments")[0]
    assert payment["amount"] == "415.00"
    assert datetime.fromisoformat(payment["paid_at"]).astimezone(UTC) == datetime(
        2026, 3, 9, 2, 0, tzinfo=UTC)


def test_an_unknown_export_or_format_is_refused(books: App) -> None:
    with pytest.raises(InvalidInput, match="cannot export 'borrowers'"):
        export(books, "borrowers")
    with pytest.raises(InvalidInput, match="not jsonl or csv"):
        export(books, "cases", "xml")

