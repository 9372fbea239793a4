"""The report's measures on tiny hand-made books with known answers, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from fairdue.adapters.db.tables import (
    borrowers,
    cases,
    contact_attempts,
    contact_restrictions,
    contacts,
    fairness_attributes,
    installments,
    loan_bucket_history,
    loans,
    payments,
    promises,
)
from fairdue.bootstrap import App, build_app
from fairdue.clock import FixedClock
from fairdue.services.reports import Report, build_report, fairness_findings
from fairdue.settings import Settings

START, END = date(2026, 6, 1), date(2026, 7, 1)


def _at(day: date, hour: int = 3) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _borrowers(engine: Engine, ids: list[str], **attributes: list[Any]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(borrowers), [{
            "borrower_id": b, "pii": b"sealed", "phone_index": None, "city": "Shanghai",
            "timezone": "Asia/Shanghai", "language": "zh-CN", "has_email": False,
            "has_app": False, "shard": 0, "row_hash": "h"} for b in ids])
        conn.execute(insert(loans), [{
            "loan_id": "L" + b[1:], "borrower_id": b, "shard": 0, "product": "p",
            "currency": "CNY", "principal_minor": 100_000, "annual_rate": "0.1",
            "disbursed_on": date(2026, 1, 1), "penalty_daily_rate": "0.0005",
            "allocation_order": "penalty,fee,interest,principal", "row_hash": "h"} for b in ids])
        if attributes:
            conn.execute(insert(fairness_attributes), [
                {"borrower_id": b, **{k: v[i] for k, v in attributes.items()}}
                for i, b in enumerate(ids)])


def _case(case_id: str, borrower: str, opened: date, closed: date | None) -> dict[str, Any]:
    return {"case_id": case_id, "borrower_id": borrower, "currency": "CNY",
            "status": "cured" if closed else "open", "opened_on": opened, "closed_on": closed,
            "dpd": 0 if closed else 5, "bucket": "M0" if closed else "M1",
            "amount_due_minor": 0 if closed else 5000, "overdue_loans": 0 if closed else 1}


def _contact(contact_id: str, borrower: str, status: str, *, channel: str = "sms",
             blocked_by: str | None = None, sent: bool = False,
             case_id: str | None = None) -> dict[str, Any]:
    return {"contact_id": contact_id, "case_id": case_id, "borrower_id": borrower,
            "channel": channel, "language": "zh-CN", "status": status, "blocked_by": blocked_by,
            "idempotency_key": contact_id, "created_at": _at(date(2026, 6, 10)),
            "updated_at": _at(date(2026, 6, 10)),
            "sent_at": _at(date(2026, 6, 10)) if sent else None}


def _attempt(attempt_id: str, borrower: str, outcome: str, *, party: str = "debtor",
             disposition: str | None = None, violated: str | None = None) -> dict[str, Any]:
    return {"attempt_id": attempt_id, "borrower_id": borrower, "channel": "call", "party": party,
            "outcome": outcome, "disposition": disposition, "at": _at(date(2026, 6, 12)),
            "recorded_by": "agent", "violated": violated, "recorded_at": _at(date(2026, 6, 12))}


@pytest.fixture
def app(engine: Engine, db_url: str, tmp_path: Any) -> Iterator[App]:
    settings = Settings(database_url=db_url, key_file=str(tmp_path / "k"),
                        fairness_min_cases=20)
    application = build_app(settings, clock=FixedClock(_at(END, 12)))
    try:
        yield application
    finally:
        application.close()


def _figure(report: Report, name: str) -> list[list[Any]]:
    return next(f for f in report.figures() if f.name == name).rows


def test_measures_on_a_hand_made_book(engine: Engine, app: App) -> None:
    ids = [f"B{i:08d}" for i in range(1, 9)]
    _borrowers(engine, ids)
    moves = [  # (loan, day, from, to)
        ("L00000001", date(2026, 5, 20), "M0", "M1"), ("L00000001", date(2026, 6, 20), "M1", "M2"),
        ("L00000002", date(2026, 5, 25), "M0", "M1"), ("L00000002", date(2026, 6, 10), "M1", "M0"),
        ("L00000003", date(2026, 5, 30), "M0", "M1"),
        ("L00000004", date(2026, 5, 15), "M0", "M1"), ("L00000004", date(2026, 6, 14), "M1", "M2"),
        ("L00000004", date(2026, 6, 25), "M2", "M3"),
        ("L00000005", date(2026, 6, 15), "M0", "M1"),
    ]
    with engine.begin() as conn:
        conn.execute(insert(loan_bucket_history), [
            {"loan_id": loan, "moved_on": day, "from_bucket": a, "to_bucket": b, "dpd": 1}
            for loan, day, a, b in moves])
        conn.execute(insert(cases), [
            _case("C1", ids[0], date(2026, 6, 5), date(2026, 6, 10)),
            _case("C2", ids[1], date(2026, 6, 6), None),
            _case("C3", ids[2], date(2026, 6, 20), date(2026, 6, 25)),
            _case("C4", ids[3], date(2026, 5, 20), date(2026, 6, 15)),
        ])
        conn.execute(insert(promises), [
            {"promise_id": f"P{i}", "case_id": "C2", "borrower_id": ids[1], "amount_minor": 100,
             "currency": "CNY", "due_on": date(2026, 6, 10 + i), "made_at": _at(date(2026, 6, 6)),
             "made_by": "agent", "status": status, "paid_minor": 0}
            for i, status in enumerate(["kept", "kept", "broken", "pending"])])
        conn.execute(insert(contact_attempts), [
            _attempt("A1", ids[0], "conversation"),
            _attempt("A2", ids[1], "conversation", party="contact", disposition="wrong_party"),
            _attempt("A3", ids[2], "no_answer", violated="CN-04,CN-02"),
            _attempt("A4", ids[3], "conversation", disposition="ptp"),
        ])
        conn.execute(insert(contacts), [
            _contact("K1", ids[0], "blocked", blocked_by="CN-04"),
            _contact("K2", ids[1], "blocked", blocked_by="CN-04"),
            _contact("K3", ids[2], "blocked", blocked_by="CN-02"),
            _contact("K4", ids[0], "sent", sent=True),
            _contact("K5", ids[1], "delivered", sent=True),
        ])
        conn.execute(insert(contact_restrictions), [
            {"restriction_id": "R1", "borrower_id": ids[0], "kind": "complaint",
             "started_at": _at(date(2026, 6, 7)), "recorded_by": "x"},
            {"restriction_id": "R2", "borrower_id": ids[1], "kind": "dispute",
             "started_at": _at(date(2026, 6, 8)), "recorded_by": "x"},
        ])
        # L1 owed 105.00 from 15 May, paid 5.00 on 20 May: 100.00 overdue on 1 June, 40.00
        # paid in June. L3 owed 20.00, paid 30.00 in June: counts 20.00 (what it owed).
        conn.execute(insert(installments), [
            {"loan_id": "L00000001", "seq": 1, "due_on": date(2026, 5, 15), "principal_minor": 10000,
             "interest_minor": 500, "fee_minor": 0},
            {"loan_id": "L00000003", "seq": 1, "due_on": date(2026, 5, 28), "principal_minor": 2000,
             "interest_minor": 0, "fee_minor": 0},
        ])
        conn.execute(insert(payments), [
            {"payment_id": f"Y{n}", "loan_id": loan, "paid_at": _at(day), "paid_on": day,
             "amount_minor": amount, "currency": "CNY", "channel": "app", "row_hash": "h"}
            for n, (loan, day, amount) in enumerate([
                ("L00000001", date(2026, 5, 20), 500), ("L00000001", date(2026, 6, 10), 4000),
                ("L00000003", date(2026, 6, 15), 3000)])])
    report = build_report(app, start=START, end=END)

    recovery = {row[0]: row[1:] for row in _figure(report, "recovery_by_bucket")}
    assert recovery == {"M1": [4, "120.00", "60.00", 50.0]}
    assert _figure(report, "recovery_by_vintage") == [["2026-01", 4, "120.00", "60.00", 50.0]]

    rolls = {row[0]: row for row in _figure(report, "roll_rates")}
    # M1 on 1 June: L1 -> M2, L2 -> M0, L3 stays, L4 -> M3: a quarter each.
    assert rolls["M1"][1:6] == [4, 25.0, 25.0, 25.0, 25.0]
    assert rolls["M1"][-2:] == [50.0, 25.0]  # roll rate (worse bucket), cure
    # M0: L5 fell into M1, L6-L8 stayed current.
    assert rolls["M0"][1:3] == [4, 75.0] and rolls["M0"][-2] == 25.0

    cure = {row[0]: row for row in _figure(report, "cure_rate")}
    assert cure["all opened in window"][1:] == [3, 2, 66.7]
    assert cure["open at window start"][1:] == [1, 1, 100.0]

    ptp = {row[0]: row for row in _figure(report, "ptp_kept_rate")}
    assert ptp["kept rate"][1:] == [3, 66.7]
    assert ptp["pending"][1] == 1

    assert _figure(report, "right_party_contact_rate") == [["call", 4, 3, 2, 50.0]]

    refused = {row[0]: row[1:] for row in _figure(report, "refused_by_rule")}
    assert refused == {"CN-04": [2, 1, 3], "CN-02": [1, 1, 2]}

    complaints = {row[0]: row[1:] for row in _figure(report, "complaints_per_10k")}
    assert complaints["complaint"] == [1, 4, 2500.0]
    assert complaints["dispute"] == [1, 4, 2500.0]

    cost = {row[0]: row for row in _figure(report, "contacts_and_cost")}
    assert cost["sms"][1] == 2 and cost["call"][1] == 4
    assert cost["call"][3] == "6.00"  # 4 attempts at the default 1.50
    # 6.10 spent (2 SMS at 0.05, 4 calls at 1.50) for the 40.00 paid while a case was open
    # (L3's payment came before its case opened).
    assert cost["cost per unit recovered"][3] == "0.1525"


def test_fairness_flags_a_group_contacted_more_at_equal_risk(engine: Engine, app: App) -> None:
    """60 women and 60 men in the same bucket and amount band: the women's cases get five
    times the contacts, the same cure rate. Contacts are flagged, cure is not."""
    ids = [f"B{i:08d}" for i in range(1, 121)]
    genders = ["F" if i % 2 else "M" for i in range(120)]
    _borrowers(engine, ids, gender=genders)
    with engine.begin() as conn:
        conn.execute(insert(cases), [
            _case(f"C{i}", b, date(2026, 6, 5), date(2026, 6, 20) if i % 4 < 2 else None)
            for i, b in enumerate(ids)])
        rows = []
        for i, b in enumerate(ids):
            for k in range(10 if genders[i] == "F" else 2):
                rows.append(_contact(f"K{i}-{k}", b, "sent", sent=True, case_id=f"C{i}"))
        conn.execute(insert(contacts), rows)
        findings = fairness_findings(conn, app.settings, start=START, end=END)
    by = {(f.attribute, f.group, f.measure): f for f in findings}
    women = by[("gender", "F", "contacts per case")]
    assert women.value == 10 and women.expected == 2
    assert women.relative_difference == pytest.approx(4.0)
    assert women.verdict.flagged and "more contacts per case" in women.verdict.text
    cure = by[("gender", "F", "cure")]
    assert cure.value == 50.0 and not cure.verdict.flagged
    assert by[("age band", "unknown", "cure")].cases == 120
    report = build_report(app, start=START, end=END)
    gender = next(f for f in report.figures() if f.name == "fairness_gender")
    assert any("gender = F" in text for text in gender.flagged)


def test_variants_side_by_side_with_wilson_intervals(engine: Engine, app: App) -> None:
    """Champion: 10 cases, 5 cured; challenger: 10 cases, 8 cured."""
    from fairdue.adapters.db.tables import experiment_assignments, policies

    ids = [f"B{i:08d}" for i in range(1, 21)]
    _borrowers(engine, ids)
    with engine.begin() as conn:
        conn.execute(insert(policies).values(version="v1", name="p", profile="cn", source="s",
                                             body="b", first_used_at=_at(START)))
        conn.execute(insert(cases), [
            _case(f"C{i}", b, date(2026, 6, 5),
                  date(2026, 6, 9) if (i < 10 and i < 5) or (i >= 10 and i < 18) else None)
            for i, b in enumerate(ids)])
        conn.execute(insert(experiment_assignments), [
            {"case_id": f"C{i}", "experiment": "sms-2", "variant": "champion" if i < 10 else "challenger",
             "policy_version": "v1", "assigned_on": date(2026, 6, 5)} for i in range(20)])
    rows = {row[0]: row for row in _figure(build_report(app, start=START, end=END), "variants")}
    assert rows["sms-2/champion"][1:6] == [10, 5, 50.0, 23.7, 76.3]
    assert rows["sms-2/challenger"][1:4] == [10, 8, 80.0]
    assert rows["sms-2/challenger"][4] == pytest.approx(49.0, abs=0.1)
