"""Importing in batches, on SQLite and on PostgreSQL: the worker process that prepares batches
on the second core gives the same books and the same report as the inline way, and a crash
in the middle of a batch leaves none of that batch's loans behind, half or whole."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import fairdue.services.importer.borrowers as borrower_import
import fairdue.services.importer.loans as loan_import
from fairdue.adapters.crypto import create_key_file
from fairdue.adapters.db.migrate import upgrade
from fairdue.adapters.db.tables import borrowers, installments, loans, payments
from fairdue.bootstrap import App, build_app
from fairdue.clock import FixedClock
from fairdue.portfolio import generate_portfolio
from fairdue.services.importer.prepare import can_fork
from fairdue.services.importing import ImportReport, import_portfolio
from fairdue.settings import load_settings

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=timezone(timedelta(hours=8)))


def _app(db_url: str, key_dir: Path) -> App:
    key_file = key_dir / "k.key"
    if not key_file.exists():
        create_key_file(key_file)
    app = build_app(load_settings({}, database_url=db_url, key_file=str(key_file)),
                    clock=FixedClock(NOW), check_schema=False)
    upgrade(app.engine)
    return app


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    application = _app(db_url, tmp_path)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def second_app(second_db_url: str, tmp_path: Path) -> Iterator[App]:
    application = _app(second_db_url, tmp_path)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated book with a few bad rows of each kind added."""
    folder = tmp_path_factory.mktemp("book")
    generate_portfolio(folder, loans=400, seed=11)
    _append(folder / "loans.csv", [
        ["LX1", "B00000001", "cash30", "CNY", "100.005", "0.24", "2026-02-08", "0.0005"],
        ["LX2", "B99999999", "cash30", "CNY", "100.00", "0.24", "2026-02-08", "0.0005"],
        ["LX3", "B00000002", "cash30", "CNY", "100.00", "0.24", "2026-02-08", "0.0005"],
    ])
    _append(folder / "installments.csv", [
        ["LX1", "1", "2026-03-10", "100.00", "0", "0"],
        ["LX2", "1", "2026-03-10", "100.00", "0", "0"],
        ["LX3", "1", "2026-04-31", "100.00", "0", "0"],
    ])
    with (folder / "payments.csv").open(encoding="utf-8") as handle:
        first_payment = list(csv.reader(handle))[1]
    _append(folder / "payments.csv", [
        [*first_payment[:3], "0.01", first_payment[4]],           # one id, another amount
        ["PX1", "L00000003", "2026-05-01T10:00:00+08:00", "1.5e3", "app"],
        ["PX2", "LNOWHERE", "2026-05-01T10:00:00+08:00", "10.00", "app"],
    ])
    _append(folder / "borrowers.csv", [
        ["B00000001", "x", "y", "13800000000", "", "a", "b", "", "", "", "", "", "", "", "", ""],
        ["BX1", "x", "y", "not-a-phone", "", "a", "b", "", "", "", "", "", "", "", "", ""],
    ])
    return folder


def _append(path: Path, rows: list[list[str]]) -> None:
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _books(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every imported row except the sealed personal data (its nonce is random)."""
    with app.engine.connect() as conn:
        return {
            "borrowers": [tuple(r) for r in conn.execute(
                select(*(c for c in borrowers.c if c.name != "pii")).order_by(borrowers.c.borrower_id))],
            "loans": [tuple(r) for r in conn.execute(select(loans).order_by(loans.c.loan_id))],
            "installments": [tuple(r) for r in conn.execute(
                select(installments).order_by(installments.c.loan_id, installments.c.seq))],
            "payments": [tuple(r) for r in conn.execute(
                select(payments).order_by(payments.c.payment_id))],
        }


def _summary(report: ImportReport) -> tuple[object, ...]:
    return ({n: vars(c) for n, c in report.counts.items()},
            sorted((e.file, e.line, e.reason) for e in report.errors))


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of a few dozen rows, so that a small book has many of them."""
    monkeypatch.setattr(loan_import, "BATCH", 37)
    monkeypatch.setattr(borrower_import, "BATCH", 29)


@pytest.mark.skipif(not can_fork(), reason="needs fork and two cores")
def test_the_worker_process_imports_what_the_inline_way_does(
    app: App, second_app: App, portfolio: Path, small_batches: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loan_import, "PARALLEL", False)
    monkeypatch.setattr(borrower_import, "PARALLEL", False)
    inline = import_portfolio(app, portfolio)
    monkeypatch.setattr(loan_import, "PARALLEL", True)
    monkeypatch.setattr(borrower_import, "PARALLEL", True)
    parallel = import_portfolio(second_app, portfolio)

    assert _summary(parallel) == _summary(inline)
    assert _books(second_app) == _books(app)
    reasons = " | ".join(e.reason for e in inline.errors)
    for expected in ("more than 2 decimal places", "borrower B99999999 is not known",
                     "is not a date", "already exists with different content",
                     "no loan 'LNOWHERE' is known", "repeats line", "is not a phone number"):
        assert expected in reasons
    assert inline.counts["loans.csv"].added == 400


@pytest.mark.parametrize("parallel", [
    False, pytest.param(True, marks=pytest.mark.skipif(not can_fork(), reason="needs fork"))])
def test_a_crash_in_a_batch_leaves_none_of_its_loans_and_a_rerun_completes(
    app: App, second_app: App, portfolio: Path, small_batches: None,
    monkeypatch: pytest.MonkeyPatch, parallel: bool,
) -> None:
    monkeypatch.setattr(loan_import, "PARALLEL", parallel)
    monkeypatch.setattr(borrower_import, "PARALLEL", parallel)
    real = loan_import.bulk_insert
    calls = {"payments": 0}

    def crash_on_the_fourth_payments_write(conn: Any, table: Any, *args: Any, **kwargs: Any) -> None:
        real(conn, table, *args, **kwargs)       # the batch's loans and installments are in
        if table is payments:
            calls["payments"] += 1
            if calls["payments"] == 4:
                raise RuntimeError("power cut")

    monkeypatch.setattr(loan_import, "bulk_insert", crash_on_the_fourth_payments_write)
    with pytest.raises(RuntimeError, match="power cut"):
        import_portfolio(app, portfolio)

    # Three whole batches are in: every loan with its whole schedule and its payments.
    books = _books(app)
    assert len(books["loans"]) == 3 * 37
    loan_ids = {r[0] for r in books["loans"]}
    with app.engine.connect() as conn:
        per_loan = dict(conn.execute(select(installments.c.loan_id, func.count())
                                     .group_by(installments.c.loan_id)).all())
    with (portfolio / "installments.csv").open(encoding="utf-8") as handle:
        in_file: dict[str, int] = {}
        for row in list(csv.reader(handle))[1:]:
            in_file[row[0]] = in_file.get(row[0], 0) + 1
    assert per_loan == {loan_id: in_file[loan_id] for loan_id in loan_ids}
    assert {r[1] for r in books["payments"]} <= loan_ids

    monkeypatch.setattr(loan_import, "bulk_insert", real)
    rerun = import_portfolio(app, portfolio)
    clean = import_portfolio(second_app, portfolio)
    assert _books(app) == _books(second_app)
    assert rerun.counts["loans.csv"].added == clean.counts["loans.csv"].added - 3 * 37
    assert rerun.counts["loans.csv"].unchanged == 3 * 37


def test_loans_with_a_payments_file_of_no_rows_go_in(app: App, portfolio: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no-payments"
    folder.mkdir()
    for name in ("borrowers.csv", "loans.csv", "installments.csv"):
        (folder / name).write_bytes((portfolio / name).read_bytes())
    (folder / "payments.csv").write_text("payment_id,loan_id,paid_at,amount,channel\n")
    report = import_portfolio(app, folder)
    assert report.counts["loans.csv"].added == 400
    assert report.counts["payments.csv"].read == 0
    with app.engine.connect() as conn:
        unpaid = conn.execute(select(func.count()).select_from(loans)
                              .where(loans.c.accrued_through.is_(None))).scalar_one()
    assert unpaid == 400
