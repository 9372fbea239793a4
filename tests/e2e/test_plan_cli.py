"""`fairdue plan`, `grace` and `waiver` as an operator runs them, on SQLite and PostgreSQL:
the schedule shown before it is recorded, approval by role, a payment counted toward the
plan, a grace period, a waiver that lowers what is owed, and the mistakes refused."""

from __future__ import annotations

import json
from decimal import Decimal

from typer.testing import CliRunner, Result

from fairdue.cli.main import app

AT = "2026-07-01T10:00:00+08:00"


def run(books: tuple[CliRunner, str], *args: str) -> Result:
    cli, db_url = books
    return cli.invoke(app, [*args, "--db", db_url])


def flat(text: str) -> str:
    """The output with rich's line wrapping undone (it wraps at the terminal's width)."""
    return " ".join(text.split())


def jsonl(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _open_cases(books: tuple[CliRunner, str]) -> list[dict[str, object]]:
    return sorted((c for c in jsonl(run(books, "export", "cases")) if c["status"] == "open"),
                  key=lambda c: str(c["borrower_id"]))


def _loan_of(books: tuple[CliRunner, str], borrower: str) -> str:
    loans = [loan for loan in jsonl(run(books, "export", "loans"))
             if loan["borrower_id"] == borrower and Decimal(str(loan["amount_due"])) > 0]
    return str(loans[0]["loan_id"])


def test_a_plan_shown_then_proposed_approved_and_paid_toward(books: tuple[CliRunner, str]) -> None:
    case = _open_cases(books)[0]
    borrower, due = str(case["borrower_id"]), Decimal(str(case["amount_due"]))
    shown = run(books, "plan", "propose", "--borrower", borrower, "--installments", "3",
                "--first", "2026-07-10", "--at", AT, "--preview")
    assert shown.exit_code == 0, shown.output
    assert "preview of plan (not recorded)" in shown.stdout
    assert f"total {due} CNY" in shown.stdout and "2026-09-10" in shown.stdout
    assert "needs a supervisor's approval" in flat(shown.stdout)  # no income or expenses stated
    assert jsonl(run(books, "plan", "list", "--json")) == []

    proposed = jsonl(run(books, "plan", "propose", "--borrower", borrower, "--installments", "3",
                         "--first", "2026-07-10", "--at", AT, "--income", "900000.00",
                         "--expenses", "2000.00", "--actor", "agent7", "--json"))[0]
    schedule = proposed["schedule"]
    assert isinstance(schedule, list)
    assert sum(Decimal(i["amount"]) for i in schedule) == due  # exactly the amount due
    assert proposed["needs_supervisor"] is False and proposed["recorded"] is True
    plan_id = str(proposed["plan_id"])

    refused = run(books, "plan", "approve", plan_id, "--actor", "c1", "--role", "compliance",
                  "--at", AT)
    assert refused.exit_code == 2 and "cannot approve plans" in flat(refused.output)
    approved = run(books, "plan", "approve", plan_id, "--actor", "agent7", "--role", "agent",
                   "--at", AT)
    assert approved.exit_code == 0, approved.output
    assert f"plan {plan_id} approved by agent7 (agent); status active" in flat(approved.stdout)

    first = Decimal(schedule[0]["amount"])
    paid = run(books, "pay", "--loan", _loan_of(books, borrower), "--amount", str(first),
               "--at", "2026-07-02T10:00:00+08:00", "--id", "E2E-PLAN-1")
    assert paid.exit_code == 0, paid.output
    shown_after = run(books, "plan", "show", plan_id)
    assert shown_after.exit_code == 0 and f"paid {first}" in shown_after.stdout
    assert "paid" in shown_after.stdout.splitlines()[2]  # installment 1 is paid
    detail = jsonl(run(books, "plan", "show", plan_id, "--json"))[0]
    assert detail["status"] == "active" and detail["decided_by"] == "agent7"
    assert [r["plan_id"] for r in jsonl(run(books, "export", "plans"))] == [plan_id]
    listed = run(books, "plan", "list", "--borrower", borrower)
    assert listed.exit_code == 0 and plan_id in listed.stdout and "active" in listed.stdout


def test_grace_and_waiver_from_the_command_line(books: tuple[CliRunner, str]) -> None:
    charged = {str(loan["borrower_id"]) for loan in jsonl(run(books, "export", "loans"))
               if Decimal(str(loan["penalty_daily_rate"])) > 0 and int(str(loan["dpd"])) > 1}
    case = next(c for c in _open_cases(books) if c["borrower_id"] in charged)  # penalty to waive
    borrower = str(case["borrower_id"])
    grace = run(books, "grace", "grant", "--borrower", borrower, "--days", "7", "--freeze-penalty",
                "--reason", "hospital stay", "--actor", "agent7", "--at", AT)
    assert grace.exit_code == 0, grace.output
    assert "no collection contact 2026-07-01 to 2026-07-07, penalty frozen" in flat(grace.stdout)

    requested = run(books, "waiver", "request", "--borrower", borrower, "--component", "penalty",
                    "--amount", "0.01", "--reason", "goodwill", "--actor", "agent7", "--at", AT)
    assert requested.exit_code == 0, requested.output
    waiver_id = requested.stdout.split()[1]
    assert waiver_id.startswith("WVR-")
    no_reason = run(books, "waiver", "approve", waiver_id, "--actor", "agent7", "--role", "agent")
    assert no_reason.exit_code == 2 and "needs a reason" in flat(no_reason.output)
    approved = run(books, "waiver", "approve", waiver_id, "--actor", "agent7", "--role", "agent",
                   "--reason", "first default", "--at", AT)
    assert approved.exit_code == 0, approved.output
    assert "approved by agent7 (agent): 0.01 CNY of penalty" in flat(approved.stdout)
    after = next(c for c in _open_cases(books) if c["borrower_id"] == borrower)
    assert Decimal(str(after["amount_due"])) == Decimal(str(case["amount_due"])) - Decimal("0.01")
    rows = jsonl(run(books, "waiver", "list", "--borrower", borrower, "--json"))
    assert [(r["status"], r["decision_reason"]) for r in rows] == [("approved", "first default")]


def test_mistakes_are_refused_with_the_reason(books: tuple[CliRunner, str]) -> None:
    borrower = str(_open_cases(books)[0]["borrower_id"])
    bad_sum = run(books, "plan", "propose", "--borrower", borrower, "--installments", "2",
                  "--first", "2026-07-10", "--at", AT, "--amounts", "1.00,2.00")
    assert bad_sum.exit_code == 2 and "add up to 3.00" in flat(bad_sum.output)
    cadence = run(books, "plan", "propose", "--borrower", borrower, "--installments", "2",
                  "--first", "2026-07-10", "--at", AT, "--cadence", "daily")
    assert cadence.exit_code == 2 and "unknown cadence 'daily'" in flat(cadence.output)
    unknown = run(books, "plan", "approve", "PLN-nope", "--role", "agent")
    assert unknown.exit_code == 2 and "no plan 'PLN-nope'" in flat(unknown.output)
    days = run(books, "grace", "grant", "--borrower", borrower, "--days", "400", "--reason", "x")
    assert days.exit_code == 2 and "1 to 30 days" in flat(days.output)
    component = run(books, "waiver", "request", "--borrower", borrower, "--component", "principal",
                    "--amount", "1.00", "--reason", "x")
    assert component.exit_code == 2 and "cannot waive 'principal'" in flat(component.output)
    status = run(books, "waiver", "list", "--status", "maybe")
    assert status.exit_code == 2 and "unknown waiver status" in flat(status.output)
    assert jsonl(run(books, "plan", "list", "--json")) == []


def test_a_grace_request_recorded_then_approved_for_fewer_days(books: tuple[CliRunner, str]
                                                               ) -> None:
    borrower = str(_open_cases(books)[0]["borrower_id"])
    asked = run(books, "grace", "request", "--borrower", borrower, "--days", "10", "--reason",
                "asked on the phone: lost job", "--actor", "agent7", "--at", AT)
    assert asked.exit_code == 0, asked.output
    request_id = asked.stdout.split()[2]
    assert request_id.startswith("GRQ-") and "10 days, requested" in flat(asked.stdout)
    by_agent = run(books, "grace", "approve", request_id, "--role", "agent", "--actor", "agent7")
    assert by_agent.exit_code == 2 and "a supervisor or above decides" in flat(by_agent.output)
    approved = run(books, "grace", "approve", request_id, "--days", "5", "--freeze-penalty",
                   "--actor", "sup1", "--reason", "five days is enough", "--at", AT)
    assert approved.exit_code == 0, approved.output
    [row] = jsonl(run(books, "grace", "list", "--borrower", borrower, "--json"))
    assert (row["status"], row["days"], row["starts_on"], row["ends_on"], row["freeze_penalty"]) \
        == ("approved", 10, "2026-07-01", "2026-07-05", True)
    again = run(books, "grace", "reject", request_id, "--reason", "changed my mind")
    assert again.exit_code == 2 and "is approved" in flat(again.output)
    waiting = run(books, "grace", "list", "--status", "requested")
    assert waiting.exit_code == 0 and "no grace requests" in waiting.output
