"""The `fairdue` command as an operator uses it, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fairdue.cli.main import app

RUN_DATE = "2026-06-30"  # the generator's default as-of date


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("FAIRDUE_KEY_FILE", str(tmp_path / "keys" / "fairdue.key"))
    monkeypatch.setenv("COLUMNS", "400")  # no wrapped lines in what we match
    (tmp_path / "keys").mkdir()
    yield CliRunner()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, list(args))


def says(output: str, text: str) -> bool:
    """Whether `text` is in `output`, ignoring the line breaks rich puts in long lines."""
    return "".join(text.split()) in "".join(output.split())


@pytest.mark.empty_database
def test_init_creates_the_key_file_and_a_second_init_is_up_to_date(
    cli: CliRunner, db_url: str, tmp_path: Path
) -> None:
    key = tmp_path / "keys" / "fairdue.key"
    first = run(cli, "init", "--db", db_url)
    assert first.exit_code == 0, first.output
    assert key.exists()
    assert says(first.output, "created key file") and says(first.output, str(key.resolve()))

    second = run(cli, "init", "--db", db_url)
    assert second.exit_code == 0, second.output
    assert says(second.output, "is up to date")
    assert says(second.output, "kept") and not says(second.output, "created")


@pytest.mark.parametrize(
    "command",
    [["export", "cases"], ["run-day", "--date", RUN_DATE], ["audit", "verify"],
     ["borrower", "show", "B00000001"], ["pay", "--loan", "L1", "--amount", "1.00"]],
)
@pytest.mark.empty_database
def test_any_other_command_on_an_uninitialised_database_exits_2_with_the_init_hint(
    cli: CliRunner, db_url: str, command: list[str]
) -> None:
    result = run(cli, *command, "--db", db_url)
    assert result.exit_code == 2, result.output
    assert says(result.output, "has no fairdue schema")
    assert says(result.output, "run: fairdue init --db")


def test_generate_with_the_same_seed_gives_byte_identical_files(
    portfolio: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    result = CliRunner().invoke(app, ["generate", "--loans", "300", "--seed", "5", "--out",
                                      str(again)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in portfolio.iterdir())
    assert names == ["borrowers.csv", "installments.csv", "loans.csv", "payments.csv"]
    for name in names:
        assert (again / name).read_bytes() == (portfolio / name).read_bytes(), name
    with (portfolio / "loans.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 300


def test_run_day_with_workers_gives_the_cases_and_decisions_one_process_gives(
    cli: CliRunner, db_url: str, second_db_url: str, portfolio: Path
) -> None:
    """On SQLite `--workers 2` is the writer and a helper process; on PostgreSQL two
    worker processes. The cases and the day's decisions are the same as one process's."""
    exported: list[tuple[list[dict[str, object]], list[tuple[object, ...]]]] = []
    for url, workers in ((db_url, "2"), (second_db_url, "1")):
        assert run(cli, "init", "--db", url).exit_code == 0
        assert run(cli, "import", str(portfolio), "--db", url).exit_code in (0, 1)
        day = run(cli, "run-day", "--date", RUN_DATE, "--workers", workers, "--db", url)
        assert day.exit_code == 0, day.output
        assert says(day.output, "cases opened")
        cases = [json.loads(line) for line in
                 run(cli, "export", "cases", "--db", url).stdout.splitlines()]
        decisions = sorted(
            (d["case_id"], d["step"], json.dumps(d["actions"], sort_keys=True))
            for d in map(json.loads, run(cli, "export", "decisions", "--db", url)
                         .stdout.splitlines()))
        exported.append((cases, decisions))
    assert exported[0] == exported[1]
    assert exported[0][0] and exported[0][1]


def test_the_books_through_the_command_line(
    cli: CliRunner, db_url: str, portfolio: Path, tmp_path: Path
) -> None:
    assert run(cli, "init", "--db", db_url).exit_code == 0

    imported = run(cli, "import", str(portfolio), "--db", db_url)
    assert imported.exit_code in (0, 1), imported.output
    assert says(imported.output, "loans.csv")

    day = run(cli, "run-day", "--date", RUN_DATE, "--db", db_url)
    assert day.exit_code == 0, day.output
    assert says(day.output, f"{RUN_DATE}:") and says(day.output, "cases opened")
    made = re.search(r"(\d+) decisions: (.*)", " ".join(day.output.split()))
    assert made and int(made.group(1)) > 0 and "scheduled" in made.group(2), day.output
    again = run(cli, "run-day", "--date", RUN_DATE, "--db", db_url)
    assert says(again.output, "already run; nothing to do")

    cases_csv = run(cli, "export", "cases", "--format", "csv", "--db", db_url)
    assert cases_csv.exit_code == 0, cases_csv.output
    table = list(csv.DictReader(io.StringIO(cases_csv.stdout)))
    assert table, "the generated book has borrowers in arrears"
    assert {"case_id", "borrower_id", "status", "dpd", "bucket", "amount_due", "opened_on",
            "closed_on"} <= set(table[0])
    for row in table:
        assert row["status"] == "open" and row["opened_on"] == RUN_DATE
        units, _, cents = row["amount_due"].partition(".")
        assert units.isdigit() and len(cents) == 2

    cases_jsonl = run(cli, "export", "cases", "--format", "jsonl", "--db", db_url)
    records = [json.loads(line) for line in cases_jsonl.stdout.splitlines()]
    assert [r["case_id"] for r in records] == [r["case_id"] for r in table]
    assert all(isinstance(r["amount_due"], str) and int(r["dpd"]) > 0 for r in records)

    # Pay everything one case's borrower owes on one overdue loan.
    loans = [json.loads(line) for line in
             run(cli, "export", "loans", "--db", db_url).stdout.splitlines()]
    assert all(isinstance(x["outstanding"], str) for x in loans)
    case = records[0]
    overdue = [x for x in loans if x["borrower_id"] == case["borrower_id"] and x["dpd"] > 0]
    assert overdue
    target = overdue[0]
    paid = run(cli, "pay", "--loan", target["loan_id"], "--amount", target["amount_due"],
               "--at", f"{RUN_DATE}T16:00:00+08:00", "--id", "CLI-PAY-1", "--db", db_url)
    assert paid.exit_code == 0, paid.output
    assert says(paid.output,
                f"posted CLI-PAY-1: {target['amount_due']} CNY to loan {target['loan_id']}")
    assert says(paid.output, "DPD now 0")
    if len(overdue) == 1:
        assert says(paid.output, "case cured")
    resend = run(cli, "pay", "--loan", target["loan_id"], "--amount", target["amount_due"],
                 "--at", f"{RUN_DATE}T16:00:00+08:00", "--id", "CLI-PAY-1", "--db", db_url)
    assert says(resend.output, "already posted; nothing changed")
    refused = run(cli, "pay", "--loan", "NO-SUCH-LOAN", "--amount", "1.00", "--db", db_url)
    assert refused.exit_code == 2 and says(refused.output, "no loan 'NO-SUCH-LOAN' is known")
    bad_time = run(cli, "pay", "--loan", target["loan_id"], "--amount", "1.00", "--at",
                   "2026-06-30T10:00:00", "--db", db_url)
    assert bad_time.exit_code == 2 and says(bad_time.output, "with an offset")

    payments = run(cli, "export", "payments", "--format", "jsonl", "--db", db_url)
    mine = [json.loads(x) for x in payments.stdout.splitlines() if "CLI-PAY-1" in x]
    assert [(p["loan_id"], p["amount"]) for p in mine] == [
        (target["loan_id"], target["amount_due"])]
    events = run(cli, "export", "events", "--db", db_url)
    names = {json.loads(x)["name"] for x in events.stdout.splitlines()}
    assert {"CaseOpened", "InstallmentMissed", "PaymentPosted"} <= names
    out_file = tmp_path / "loans.csv"
    to_file = run(cli, "export", "loans", "--format", "csv", "--out", str(out_file),
                  "--db", db_url)
    assert to_file.exit_code == 0 and out_file.read_text(encoding="utf-8").startswith("loan_id,")
    assert run(cli, "export", "people", "--db", db_url).exit_code == 2

    masked = run(cli, "borrower", "show", case["borrower_id"], "--db", db_url)
    assert masked.exit_code == 0, masked.output
    shown = json.loads(masked.stdout)
    assert shown["masked"] is True
    assert all(p[3:7] == "****" for p in shown["phones"]), shown["phones"]
    refused_unmask = run(cli, "borrower", "show", case["borrower_id"], "--unmask", "--role",
                         "agent", "--reason", "x", "--db", db_url)
    assert refused_unmask.exit_code == 2
    unmasked = run(cli, "borrower", "show", case["borrower_id"], "--unmask", "--role",
                   "compliance", "--reason", "x", "--db", db_url)
    assert unmasked.exit_code == 0, unmasked.output
    clear = json.loads(unmasked.stdout)
    assert clear["masked"] is False
    assert all("*" not in p and p.lstrip("+").isdigit() for p in clear["phones"])
    assert [p[:3] + p[-4:] for p in clear["phones"]] == [
        p[:3] + p[-4:] for p in shown["phones"]]

    verified = run(cli, "audit", "verify", "--db", db_url)
    assert verified.exit_code == 0, verified.output
    assert says(verified.output, "audit log intact")

    if db_url.startswith("sqlite"):
        database = db_url.removeprefix("sqlite:///")
        with sqlite3.connect(database) as conn:
            conn.execute("DROP TRIGGER audit_log_no_update")
            conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
        broken = run(cli, "audit", "verify", "--db", db_url)
        assert broken.exit_code == 1, broken.output
        assert says(broken.output, "audit log broken at entry 3")
        assert says(broken.output, "entry 3 was altered")


def test_the_installed_console_script_runs() -> None:
    script = Path(sys.executable).parent / "fairdue"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    for command in ("init", "import", "run-day", "pay", "export", "audit", "borrower"):
        assert command in done.stdout


def test_demo_lives_a_small_portfolio_and_sends_its_messages(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fairdue.bootstrap import build_app
    from fairdue.services.demo import DEMO_LOGINS, DEMO_PASSWORD
    from fairdue.services.staff import authenticate
    from fairdue.services.workbench import queue
    from fairdue.settings import load_settings

    monkeypatch.delenv("FAIRDUE_KEY_FILE")
    folder = tmp_path / "demo"
    result = run(cli, "demo", "--dir", str(folder), "--loans", "600", "--days", "6", "--seed", "4",
                 "--no-serve")
    assert result.exit_code == 0, result.output
    assert says(result.output, "contacts the policy planned")
    assert says(result.output, "600 loans lived from 2026-06-24 to 2026-06-30")
    sent = list((folder / "outbox").glob("*.json"))
    assert sent, "the worker sent nothing to the file sink"
    message = json.loads(sent[0].read_text(encoding="utf-8"))
    assert message["channel"] in ("sms", "email", "push") and message["body"]
    assert "rejected" not in result.output
    # One login per role works on the demo's own database, and the agent has a queue.
    assert says(result.output, "demo logins") and says(result.output, DEMO_PASSWORD)
    demo_app = build_app(load_settings({}, database_url=f"sqlite:///{folder / 'fairdue.db'}",
                                       key_file=str(folder / "fairdue.key")))
    try:
        for username, role in DEMO_LOGINS:
            assert authenticate(demo_app, username, DEMO_PASSWORD).role == role
        with demo_app.engine.connect() as conn:
            assert len(queue(conn, username="agent")) > 0
    finally:
        demo_app.close()
