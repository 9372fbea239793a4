"""`fairdue run-day` with decisions, `contact record|restrict|lift|prefer` and the decision and
contact exports, as an operator runs them, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner, Result

from fairdue.cli.main import app


def run(books: tuple[CliRunner, str], *args: str) -> Result:
    cli, db_url = books
    return cli.invoke(app, [*args, "--db", db_url])


def jsonl(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_the_run_writes_decisions_and_planned_contacts(books: tuple[CliRunner, str]) -> None:
    made = jsonl(run(books, "export", "decisions"))
    planned = jsonl(run(books, "export", "contacts"))
    assert made and planned
    assert {d["business_date"] for d in made} == {"2026-07-01"}
    assert {c["borrower_id"] for c in planned} <= {d["borrower_id"] for d in made}
    first = planned[0]
    for column in ("contact_id", "case_id", "borrower_id", "channel", "template", "scheduled_at",
                   "status", "blocked_by"):
        assert column in first
    as_csv = run(books, "export", "contacts", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == len(planned)


def test_record_a_refusal_and_a_violation(books: tuple[CliRunner, str]) -> None:
    borrower = str(jsonl(run(books, "export", "decisions"))[0]["borrower_id"])
    lawful = run(books, "contact", "record", "--borrower", borrower, "--channel", "call",
                 "--outcome", "refused", "--at", "2026-07-01T10:00:00+08:00", "--actor", "agent-3")
    assert lawful.exit_code == 0, lawful.output
    assert "recorded A-" in lawful.stdout
    late = run(books, "contact", "record", "--borrower", borrower, "--channel", "call",
               "--outcome", "no_answer", "--at", "2026-07-01T23:30:00+08:00")
    assert late.exit_code == 1
    assert "CN-01" in late.output


def test_bad_input_is_refused_with_the_reason(books: tuple[CliRunner, str]) -> None:
    unknown = run(books, "contact", "record", "--borrower", "B99999999", "--channel", "call",
                  "--outcome", "no_answer", "--at", "2026-07-01T10:00:00+08:00")
    assert unknown.exit_code == 2 and "no borrower 'B99999999'" in unknown.output
    outcome = run(books, "contact", "record", "--borrower", "B00000001", "--channel", "call",
                  "--outcome", "yelled", "--at", "2026-07-01T10:00:00+08:00")
    assert outcome.exit_code == 2 and "unknown outcome 'yelled'" in outcome.output
    naive = run(books, "contact", "record", "--borrower", "B00000001", "--channel", "call",
                "--outcome", "busy", "--at", "2026-07-01T10:00:00")
    assert naive.exit_code == 2 and "offset" in naive.output


def test_restrict_then_lift(books: tuple[CliRunner, str]) -> None:
    put = run(books, "contact", "restrict", "--borrower", "B00000001", "--kind", "complaint",
              "--at", "2026-07-01T12:00:00+08:00", "--note", "hotline ticket 88")
    assert put.exit_code == 0, put.output
    lifted = run(books, "contact", "lift", "--borrower", "B00000001", "--kind", "complaint")
    assert lifted.exit_code == 0 and "lifted 1" in lifted.stdout
    again = run(books, "contact", "lift", "--borrower", "B00000001", "--kind", "complaint")
    assert again.exit_code == 2 and "no complaint in force" in again.output
    opt = run(books, "contact", "restrict", "--borrower", "B00000001", "--kind", "opt_out")
    assert opt.exit_code == 2 and "names the channel" in opt.output
    prefer = run(books, "contact", "prefer", "--borrower", "B00000001", "--channels", "sms",
                 "--agreed", "19:00-21:00")
    assert prefer.exit_code == 0, prefer.output


def test_a_case_timeline_from_the_command_line(books: tuple[CliRunner, str]) -> None:
    made = jsonl(run(books, "export", "decisions"))
    case_id = str(made[0]["case_id"])
    text = run(books, "case", "timeline", case_id)
    assert text.exit_code == 0, text.output
    assert f"case {case_id}" in text.stdout and "decision" in text.stdout
    lines = jsonl(run(books, "case", "timeline", case_id, "--json"))
    assert {line["kind"] for line in lines} >= {"event", "decision", "contact"}
    missing = run(books, "case", "timeline", "C-NOBODY-20260701")
    assert missing.exit_code == 2 and "no case" in missing.output
