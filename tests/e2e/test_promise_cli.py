"""`fairdue promise add|list` and `fairdue export promises` as an operator runs them, on
SQLite and on PostgreSQL, with the errors an operator can make."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from typer.testing import CliRunner, Result

from fairdue.cli.main import app


def run(books: tuple[CliRunner, str], *args: str) -> Result:
    cli, db_url = books
    return cli.invoke(app, [*args, "--db", db_url])


def jsonl(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _borrowers(books: tuple[CliRunner, str]) -> tuple[str, str]:
    """A borrower with an open case, and one without."""
    cases = jsonl(run(books, "export", "cases"))
    loans = jsonl(run(books, "export", "loans"))
    open_ = sorted(str(c["borrower_id"]) for c in cases if c["status"] == "open")
    without = sorted({str(loan["borrower_id"]) for loan in loans} - set(open_))
    assert open_ and without
    return open_[0], without[0]


def _in_days(days: int) -> str:
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)).isoformat()


def test_add_then_list_and_export(books: tuple[CliRunner, str]) -> None:
    borrower, _ = _borrowers(books)
    call = run(books, "contact", "record", "--borrower", borrower, "--channel", "call",
               "--outcome", "ptp", "--at", "2026-07-01T10:00:00+08:00")
    assert call.exit_code == 0, call.output
    attempt = call.stdout.split()[1]
    added = run(books, "promise", "add", "--borrower", borrower, "--amount", "150.00",
                "--due", _in_days(5), "--attempt", attempt, "--actor", "agent7")
    assert added.exit_code == 0, added.output
    assert "promise PTP-" in added.stdout and f"150.00 CNY by {_in_days(5)}" in added.stdout

    listed = run(books, "promise", "list", "--borrower", borrower)
    assert listed.exit_code == 0 and "pending" in listed.stdout and "agent7" in listed.stdout
    rows = jsonl(run(books, "promise", "list", "--status", "pending", "--json"))
    assert len(rows) == 1
    assert rows[0]["borrower_id"] == borrower and rows[0]["attempt_id"] == attempt
    assert rows[0]["amount"] == "150.00" and rows[0]["paid"] == "0.00"
    assert jsonl(run(books, "promise", "list", "--status", "kept", "--json")) == []
    exported = jsonl(run(books, "export", "promises"))
    assert [r["promise_id"] for r in exported] == [rows[0]["promise_id"]]


def test_errors_are_refused_with_the_reason(books: tuple[CliRunner, str]) -> None:
    with_case, without_case = _borrowers(books)
    no_case = run(books, "promise", "add", "--borrower", without_case, "--amount", "10.00",
                  "--due", _in_days(3))
    assert no_case.exit_code == 2 and f"{without_case} has no open case" in no_case.output
    for amount in ("abc", "-5.00", "0", "10.001"):
        bad = run(books, "promise", "add", "--borrower", with_case, "--amount", amount,
                  "--due", _in_days(3))
        assert bad.exit_code == 2, (amount, bad.output)
        assert "amount" in bad.output, bad.output
    past = run(books, "promise", "add", "--borrower", with_case, "--amount", "10.00",
               "--due", "2026-07-01")
    assert past.exit_code == 2 and "before the promise's own date" in past.output
    far = run(books, "promise", "add", "--borrower", with_case, "--amount", "10.00",
              "--due", _in_days(31))
    assert far.exit_code == 2 and "more than 30 days" in far.output
    not_a_date = run(books, "promise", "add", "--borrower", with_case, "--amount", "10.00",
                     "--due", "soon")
    assert not_a_date.exit_code == 2 and "is not a date" in not_a_date.output
    status = run(books, "promise", "list", "--status", "forgotten")
    assert status.exit_code == 2 and "unknown promise status" in status.output
    assert jsonl(run(books, "promise", "list", "--json")) == []
