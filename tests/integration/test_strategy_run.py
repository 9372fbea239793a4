"""The daily run with decisions, on SQLite and on PostgreSQL: the policy decides, the guard
judges every action at the moment it would happen, and messages, call tasks and refusals
are written with the decision that made them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fairdue.adapters.crypto import create_key_file
from fairdue.adapters.db.migrate import upgrade
from fairdue.adapters.db.tables import contact_attempts, decisions, experiment_assignments, policies
from fairdue.bootstrap import App, build_app
from fairdue.clock import FixedClock
from fairdue.errors import ConfigurationError, InvalidInput, NotFound
from fairdue.services.contacts import lift_restriction, record_contact, restrict_contact, set_preferences
from fairdue.services.daily_run import run_days
from fairdue.services.export import write_export
from fairdue.services.importer import import_portfolio
from fairdue.settings import load_settings

CST = timezone(timedelta(hours=8))
DAY1 = date(2026, 7, 1)

PORTFOLIO = {
    "borrowers": [
        ["borrower_id", "name", "id_number", "phone", "email", "address", "city", "latitude",
         "longitude", "timezone", "language", "push_token"],
        ["B1", "张三", "110101199001011234", "13812341234", "zs@example.com", "北京市朝阳区建国路1号",
         "北京", "39.9", "116.4", "Asia/Shanghai", "zh-CN", "tok-abcdefghijklmnop"],
        ["B2", "李四", "310101198505052345", "13900001111", "", "上海市黄浦区南京东路2号", "上海",
         "", "", "Asia/Shanghai", "zh-CN", ""],
        ["B3", "王五", "510101197707074567", "13700002222", "", "成都市锦江区春熙路5号", "成都",
         "", "", "Asia/Shanghai", "zh-CN", ""],
    ],
    "loans": [
        ["loan_id", "borrower_id", "product", "currency", "principal", "annual_rate",
         "disbursed_on", "penalty_daily_rate"],
        ["L1", "B1", "cash30", "CNY", "1000.00", "0.24", "2026-05-30", "0.0005"],
        ["L2", "B2", "cash30", "CNY", "600.00", "0.24", "2026-05-30", "0.0005"],
        ["L3", "B3", "cash30", "CNY", "600.00", "0.24", "2026-05-30", "0.0005"],
    ],
    "installments": [
        ["loan_id", "seq", "due_on", "principal_due", "interest_due", "fee_due"],
        ["L1", "1", "2026-06-30", "1000.00", "20.00", "0.00"],
        ["L2", "1", "2026-06-30", "600.00", "12.00", "0.00"],
        ["L3", "1", "2026-06-30", "600.00", "12.00", "0.00"],
    ],
    "payments": [
        ["payment_id", "loan_id", "paid_at", "amount", "channel"],
        ["P1", "L3", "2026-06-29T10:00:00+08:00", "612.00", "app"],
    ],
}

#: A deliberately careless policy: an SMS and a call every day, whatever the facts say.
#: The guard, not the policy, must stop what is unlawful.
EVERY_DAY = """
name: every-day
profile: cn
locale: zh-CN
steps:
  - id: always
    when: {dpd: {gte: 1}}
    actions:
      - kind: sms
        template: reminder_sms
      - kind: call
        priority: 10
"""

EXPERIMENT = EVERY_DAY + """
experiment:
  name: sms-tone
  variants:
    champion: {share: 50}
    challenger: {share: 50}
"""


class MovingClock(FixedClock):
    def set(self, moment: datetime) -> None:
        self.moment = moment


def _write_portfolio(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, rows in PORTFOLIO.items():
        with (folder / f"{stem}.csv").open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return folder


def _app(db_url: str, tmp_path: Path, clock: MovingClock, **overrides: Any) -> App:
    """A migrated app on `db_url`. Its daily run is one partition on either database: these
    tests run a book of a few borrowers through weeks of days, and partitions are
    test_daily_run's subject (eight on PostgreSQL cost a second a day here)."""
    key_file = tmp_path / "k.key"
    if not key_file.exists():
        create_key_file(key_file)
    settings = load_settings({}, database_url=db_url, key_file=str(key_file),
                             **{"run_partitions": 1, **overrides})
    application = build_app(settings, clock=clock, check_schema=False)
    upgrade(application.engine)
    return application


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(datetime(2026, 7, 1, 0, 30, tzinfo=CST))


def _policy(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: MovingClock) -> Iterator[App]:
    application = _app(db_url, tmp_path, clock)
    import_portfolio(application, _write_portfolio(tmp_path / "data"))
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def careless(db_url: str, tmp_path: Path, clock: MovingClock) -> Iterator[App]:
    application = _app(db_url, tmp_path, clock, policy=_policy(tmp_path, EVERY_DAY))
    import_portfolio(application, _write_portfolio(tmp_path / "data"))
    try:
        yield application
    finally:
        application.close()


def _export(app: App, what: str) -> list[dict[str, Any]]:
    buffer = io.StringIO()
    with app.engine.connect() as conn:
        write_export(conn, what, "jsonl", buffer)
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def _contacts(app: App, borrower: str, day: date | None = None) -> list[dict[str, Any]]:
    found = [c for c in _export(app, "contacts") if c["borrower_id"] == borrower]
    if day is not None:
        found = [c for c in found if c["contact_id"].split("-")[-2] == f"{day:%Y%m%d}"]
    return found


def test_the_first_overdue_day_plans_the_seeds_first_contacts(app: App) -> None:
    run_days(app, through=DAY1)
    b1 = {c["channel"]: c for c in _contacts(app, "B1")}
    # S1 SMS, S3 email (B1 has an address), S4 push (B1 has the app), scheduled for 09:00
    # local on the business date, not at the half past midnight the run happened.
    assert {"sms", "email", "push"} <= set(b1)
    assert b1["sms"]["template"] == "first_overdue_sms"
    assert b1["sms"]["status"] == "scheduled"
    assert b1["sms"]["scheduled_at"] == "2026-07-01T01:00:00+00:00"
    # B2 has no email and no app: nothing is planned on those channels.
    assert {c["channel"] for c in _contacts(app, "B2")} <= {"sms", "call"}
    assert "sms" in {c["channel"] for c in _contacts(app, "B2")}
    # B3 paid on time: no case, no contact.
    assert _contacts(app, "B3") == []
    made = {d["borrower_id"]: d for d in _export(app, "decisions")}
    assert set(made) == {"B1", "B2"}
    decision = made["B1"]
    assert decision["step"] == "first_notice" and decision["business_date"] == "2026-07-01"
    with app.engine.connect() as conn:
        stored = conn.execute(select(policies.c.version, policies.c.name)).all()
    assert [(v, n) for v, n in stored] == [(app.strategy.policy.version, "default-cn")]
    assert decision["policy_version"] == app.strategy.policy.version
    assert decision["rules_checked"]["profile"] == "cn"
    assert {"CN-01", "CN-02", "CN-11", "CN-12"} <= set(decision["rules_checked"]["rules"])
    assert all(a["blocked_by"] == [] and a["status"] != "blocked" for a in decision["actions"])


def test_the_second_day_calls_after_the_sms_and_rerunning_a_day_changes_nothing(
    app: App, clock: MovingClock
) -> None:
    run_days(app, through=DAY1)
    clock.set(datetime(2026, 7, 2, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, 2))
    second = _contacts(app, "B1", date(2026, 7, 2))
    calls = [c for c in second if c["channel"] == "call"]
    assert calls and calls[0]["status"] == "queued" and calls[0]["priority"] > 0
    before = (len(_export(app, "decisions")), len(_export(app, "contacts")))
    run_days(app, through=date(2026, 7, 2))
    assert (len(_export(app, "decisions")), len(_export(app, "contacts"))) == before


def test_a_complaint_stops_even_a_careless_policys_contacts(careless: App) -> None:
    restrict_contact(careless, borrower_id="B1", kind="complaint",
                     at=datetime(2026, 6, 30, 15, 0, tzinfo=CST), note="called the hotline")
    run_days(careless, through=DAY1)
    b1 = _contacts(careless, "B1")
    assert {c["channel"] for c in b1} == {"sms", "call"}
    assert all(c["status"] == "blocked" and c["blocked_by"] == "CN-12" for c in b1)
    assert "complaint" in b1[0]["blocked_reason"]
    # The other borrower is untouched by B1's complaint.
    assert {c["status"] for c in _contacts(careless, "B2")} == {"scheduled", "queued"}


def test_lifting_a_restriction_lets_contact_resume(careless: App, clock: MovingClock) -> None:
    restrict_contact(careless, borrower_id="B1", kind="opt_out", channel="sms",
                     at=datetime(2026, 6, 30, 15, 0, tzinfo=CST))
    run_days(careless, through=DAY1)
    # Even a careless policy never plans a channel the borrower opted out of.
    assert {c["channel"] for c in _contacts(careless, "B1", DAY1)} == {"call"}
    decision = next(d for d in _export(careless, "decisions") if d["borrower_id"] == "B1")
    assert decision["facts"]["opted_out"] == ["sms"]
    lift_restriction(careless, borrower_id="B1", kind="opt_out", channel="sms",
                     at=datetime(2026, 7, 1, 18, 0, tzinfo=CST))
    clock.set(datetime(2026, 7, 2, 0, 30, tzinfo=CST))
    run_days(careless, through=date(2026, 7, 2))
    sms = [c for c in _contacts(careless, "B1", date(2026, 7, 2)) if c["channel"] == "sms"]
    assert sms[0]["status"] == "scheduled"
    with pytest.raises(NotFound, match="no opt_out on sms in force"):
        lift_restriction(careless, borrower_id="B1", kind="opt_out", channel="sms",
                         at=datetime(2026, 7, 2, 18, 0, tzinfo=CST))


def test_three_conversations_today_block_todays_call(careless: App, clock: MovingClock) -> None:
    """CN-02: at most three connected conversations per borrower per local day."""
    for minute in (10, 20, 30):
        result = record_contact(careless, borrower_id="B1", channel="call", outcome="conversation",
                                at=datetime(2026, 7, 1, 8, minute, tzinfo=CST), actor="agent-7")
        assert result.lawful
    clock.set(datetime(2026, 7, 1, 8, 40, tzinfo=CST))
    run_days(careless, through=DAY1)
    call = next(c for c in _contacts(careless, "B1") if c["channel"] == "call")
    assert call["status"] == "blocked" and "CN-02" in call["blocked_by"]
    sms = next(c for c in _contacts(careless, "B1") if c["channel"] == "sms")
    assert sms["status"] == "scheduled"  # an SMS is not a conversation
    assert sms["scheduled_at"] == "2026-07-01T01:00:00+00:00"


def test_an_attempt_in_the_quiet_hours_is_recorded_as_a_violation(app: App) -> None:
    late = datetime(2026, 7, 1, 23, 5, tzinfo=CST)
    result = record_contact(app, borrower_id="B2", channel="call", outcome="no_answer", at=late)
    assert not result.lawful and result.rules == ("CN-01",)
    again = record_contact(app, borrower_id="B2", channel="call", outcome="no_answer", at=late)
    assert again.duplicate and again.attempt_id == result.attempt_id
    with app.engine.connect() as conn:
        rows = conn.execute(select(contact_attempts.c.violated)).all()
    assert [r[0] for r in rows] == ["CN-01"]


def test_outcomes_change_the_facts_at_once(app: App, clock: MovingClock) -> None:
    run_days(app, through=DAY1)
    for hour in (10, 14):
        record_contact(app, borrower_id="B1", channel="call", outcome="refused",
                       at=datetime(2026, 7, 1, hour, 0, tzinfo=CST))
    record_contact(app, borrower_id="B2", channel="sms", outcome="failed",
                   at=datetime(2026, 7, 1, 9, 1, tzinfo=CST))
    with app.engine.connect() as conn:
        from fairdue.adapters.db.strategy_repo import channel_state_of, standing_of

        assert standing_of(conn, "B1").refusals == 2
        assert standing_of(conn, "B1").last_rpc_at == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
        assert channel_state_of(conn, "B2", "sms").consecutive_failures == 1


def test_a_recorded_dispute_pauses_collection_until_lifted(app: App, clock: MovingClock) -> None:
    run_days(app, through=DAY1)
    record_contact(app, borrower_id="B2", channel="call", outcome="dispute",
                   at=datetime(2026, 7, 1, 10, 0, tzinfo=CST), note="says the loan was repaid")
    clock.set(datetime(2026, 7, 2, 0, 30, tzinfo=CST))
    run_days(app, through=date(2026, 7, 2))
    assert _contacts(app, "B2", date(2026, 7, 2)) == []
    decision = next(d for d in _export(app, "decisions")
                if d["borrower_id"] == "B2" and d["business_date"] == "2026-07-02")
    assert decision["actions"][0]["kind"] == "pause"
    assert decision["facts"]["open_dispute"] is True


def test_a_note_with_prohibited_content_is_refused_and_nothing_is_written(app: App) -> None:
    with pytest.raises(InvalidInput, match="prohibited content"):
        record_contact(app, borrower_id="B1", channel="call", outcome="conversation",
                       at=datetime(2026, 7, 1, 10, 0, tzinfo=CST), note="不还钱就让你坐牢，我们是公安局的")
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(contact_attempts)).scalar() == 0


def test_an_agreed_evening_time_is_honoured(app: App) -> None:
    """CN-01 allows the quiet window when the borrower agreed the time, and only inside it."""
    set_preferences(app, borrower_id="B2", channels=["sms"], agreed=("22:00", "23:00"))
    inside = record_contact(app, borrower_id="B2", channel="call", outcome="conversation",
                            at=datetime(2026, 7, 1, 22, 30, tzinfo=CST))
    outside = record_contact(app, borrower_id="B2", channel="call", outcome="conversation",
                             at=datetime(2026, 7, 1, 23, 30, tzinfo=CST))
    assert inside.lawful and not outside.lawful and outside.rules == ("CN-01",)
    with pytest.raises(InvalidInput, match=r"ends .* before it starts"):
        set_preferences(app, borrower_id="B2", channels=None, agreed=("23:00", "22:00"))


def test_experiment_variants_are_assigned_once_and_kept(
    db_url: str, tmp_path: Path, clock: MovingClock
) -> None:
    application = _app(db_url, tmp_path, clock, policy=_policy(tmp_path, EXPERIMENT))
    try:
        import_portfolio(application, _write_portfolio(tmp_path / "data"))
        run_days(application, through=DAY1)
        clock.set(datetime(2026, 7, 2, 0, 30, tzinfo=CST))
        run_days(application, through=date(2026, 7, 2))
        with application.engine.connect() as conn:
            assigned = conn.execute(
                select(experiment_assignments.c.case_id, experiment_assignments.c.variant)
            ).all()
            variants = conn.execute(select(decisions.c.case_id, decisions.c.variant)).all()
        assert len(assigned) == 2
        chosen = dict(assigned)
        assert all(chosen[case] == variant for case, variant in variants)
        assert set(chosen.values()) <= {"champion", "challenger"}
    finally:
        application.close()


def test_a_policy_for_another_profile_is_refused(db_url: str, tmp_path: Path, clock: MovingClock) -> None:
    application = _app(db_url, tmp_path, clock, policy=_policy(tmp_path, EVERY_DAY), profile="us-regf")
    try:
        with pytest.raises(ConfigurationError, match="written for the 'cn' compliance profile"):
            application.strategy  # noqa: B018
    finally:
        application.close()


def test_the_seeds_story_through_the_daily_run(app: App, clock: MovingClock) -> None:
    """S1-S7 through the real run: an SMS on the first day, a call after it, then reminders;
    a visit is proposed only when B2 has been unreachable on every channel for 30 days (S6)
    and when B1 has refused three times once 30 days past due (S7), each with its reason."""
    day = DAY1
    visits: dict[str, tuple[date, str]] = {}
    while day <= date(2026, 8, 3):
        clock.set(datetime.combine(day, datetime.min.time(), tzinfo=CST) + timedelta(minutes=30))
        run_days(app, through=day)
        for contact in _contacts(app, "B1", day) + _contacts(app, "B2", day):
            if contact["channel"] == "visit" and contact["borrower_id"] not in visits:
                visits[contact["borrower_id"]] = (day, contact["reason"])
        at = datetime.combine(day, datetime.min.time(), tzinfo=CST) + timedelta(hours=10)
        for channel, outcome in (("call", "no_answer"), ("sms", "failed")):
            record_contact(app, borrower_id="B2", channel=channel, outcome=outcome, at=at)
        if day >= date(2026, 7, 29):  # B1 refuses on three days once a month late
            record_contact(app, borrower_id="B1", channel="call", outcome="refused", at=at)
        day += timedelta(days=1)
    first_day = {c["channel"]: c["template"] for c in _contacts(app, "B1", DAY1)}
    assert first_day.get("sms") == "first_overdue_sms" and "call" not in first_day
    assert "call" in {c["channel"] for c in _contacts(app, "B1", date(2026, 7, 2))}
    # B2 failed on every channel from 1 July: 30 days unreachable on 31 July.
    assert visits["B2"][0] == date(2026, 7, 31) and visits["B2"][1].startswith("S6")
    # B1's third refusal is recorded on 31 July; the next run proposes the visit.
    assert visits["B1"][0] == date(2026, 8, 1) and visits["B1"][1].startswith("S7")
    proposed = [c for c in _contacts(app, "B2") if c["channel"] == "visit"]
    assert len(proposed) == 1 and proposed[0]["status"] == "proposed"


def test_an_attempt_is_judged_by_what_was_in_force_when_it_was_made(app: App) -> None:
    restrict_contact(app, borrower_id="B2", kind="complaint",
                     at=datetime(2026, 7, 1, 15, 0, tzinfo=CST))
    morning = record_contact(app, borrower_id="B2", channel="call", outcome="conversation",
                             at=datetime(2026, 7, 1, 10, 0, tzinfo=CST))
    evening = record_contact(app, borrower_id="B2", channel="call", outcome="conversation",
                             at=datetime(2026, 7, 1, 16, 0, tzinfo=CST))
    assert morning.lawful
    assert not evening.lawful and evening.rules == ("CN-12",)


def test_the_runs_bulk_reads_give_what_the_typed_reads_give(app: App, clock: MovingClock) -> None:
    """The daily run reads a partition's facts straight through the driver (text dates on
    SQLite); they must come back as the typed single-borrower reads give them: dates, aware
    UTC times, the same attempts in the same order."""
    from fairdue.adapters.db import strategy_repo as repo

    run_days(app, through=DAY1)
    record_contact(app, borrower_id="B1", channel="call", outcome="refused",
                   at=datetime(2026, 7, 1, 10, 0, tzinfo=CST))
    record_contact(app, borrower_id="B1", channel="sms", outcome="delivered",
                   at=datetime(2026, 7, 1, 10, 5, tzinfo=CST))
    record_contact(app, borrower_id="B2", channel="call", outcome="no_answer",
                   at=datetime(2026, 7, 1, 11, 0, tzinfo=CST))
    restrict_contact(app, borrower_id="B2", kind="opt_out", channel="sms",
                     at=datetime(2026, 7, 1, 12, 0, tzinfo=CST))
    set_preferences(app, borrower_id="B1", channels=["sms", "call"], agreed=("19:00", "20:00"))
    borrowers = ["B1", "B2", "B3"]
    since = datetime(2026, 6, 30, tzinfo=UTC)
    with app.engine.connect() as conn:
        states = repo.channel_states_of(conn, borrowers)
        planned_on = {s.last_planned_on for m in states.values() for s in m.values()}
        assert DAY1 in planned_on  # a date, not text
        for borrower in borrowers:
            for channel, state in states.get(borrower, {}).items():
                assert state == repo.channel_state_of(conn, borrower, channel)
            assert repo.standings_of(conn, borrowers).get(borrower, repo.ContactStanding()) \
                == repo.standing_of(conn, borrower)
            assert repo.recent_attempts(conn, borrowers, since).get(borrower, []) \
                == repo.attempts_of(conn, borrower, since)
        assert repo.standings_of(conn, ["B1"])["B1"].last_rpc_at == datetime(
            2026, 7, 1, 2, 0, tzinfo=UTC)
        assert [a.channel for a in repo.recent_attempts(conn, ["B1"], since)["B1"]] == [
            "call", "sms"]
        restriction, = repo.restrictions_of(conn, borrowers, DAY1)["B2"]
        assert (restriction.kind, restriction.channel, restriction.started_at) == (
            "opt_out", "sms", datetime(2026, 7, 1, 4, 0, tzinfo=UTC))
        prefs = repo.preferences_of(conn, borrowers)
        assert list(prefs) == ["B1"]
        assert prefs["B1"] == repo.Preferences(frozenset({"sms", "call"}), "19:00", "20:00")
