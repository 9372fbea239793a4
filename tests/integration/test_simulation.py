"""`fairdue simulate` on a small book: the real services at work, and the same seed giving
the same result, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from fairdue.adapters.db.strategy_repo import utc
from fairdue.adapters.db.tables import (
    cases,
    contact_attempts,
    contact_restrictions,
    contacts,
    payments,
    promises,
)
from fairdue.adapters.db.tables_visits import field_agents, visit_records, visits
from fairdue.bootstrap import build_app
from fairdue.services.simulation import SimulationConfig, SimulationSummary, simulate
from fairdue.settings import Settings

#: Small, but long enough (35 days) for the policy to propose visits; with this seed some
#: are approved, booked by the borrower and made (chosen so: asserted below).
CONFIG = SimulationConfig(days=35, seed=3, loans=250, agents=2, calls_per_agent=15)


def _run(db_url: str, folder: Path, config: SimulationConfig = CONFIG
         ) -> tuple[SimulationSummary, str, dict[str, int]]:
    """Simulate into a fresh database; a digest of everything that happened, and counts."""
    # One partition a day on either database: 35 days of eight PostgreSQL partitions cost
    # twenty seconds here, and partitions are test_daily_run's subject.
    app = build_app(Settings(database_url=db_url, key_file=str(folder / "fairdue.key"),
                             run_partitions=1), check_schema=False)
    try:
        summary = simulate(app, folder, config)
        digest = hashlib.sha256()
        counts: dict[str, int] = {}
        queries: dict[str, Any] = {
            "payments": select(payments.c.payment_id, payments.c.loan_id, payments.c.paid_on,
                               payments.c.amount_minor).order_by(payments.c.payment_id),
            "contacts": select(contacts.c.contact_id, contacts.c.status, contacts.c.blocked_by)
            .order_by(contacts.c.contact_id),
            "attempts": select(contact_attempts.c.attempt_id, contact_attempts.c.outcome,
                               contact_attempts.c.violated).order_by(contact_attempts.c.attempt_id),
            "promises": select(promises.c.promise_id, promises.c.status, promises.c.paid_minor)
            .order_by(promises.c.promise_id),
            "cases": select(cases.c.case_id, cases.c.status, cases.c.closed_on, cases.c.dpd)
            .order_by(cases.c.case_id),
            "restrictions": select(contact_restrictions.c.restriction_id,
                                   contact_restrictions.c.kind,
                                   contact_restrictions.c.lifted_at.is_(None))
            .order_by(contact_restrictions.c.restriction_id),
            "visits": select(visits.c.visit_id, visits.c.status, visits.c.decision_note,
                             visits.c.collectors, visits.c.slot_start, visits.c.cancelled_reason)
            .order_by(visits.c.visit_id),
            "visit records": select(visit_records.c.visit_id, visit_records.c.reaction,
                                    visit_records.c.solution, visit_records.c.follow_up_on,
                                    visit_records.c.record_hash, visit_records.c.checked_in_at)
            .order_by(visit_records.c.visit_id),
        }
        with app.engine.connect() as conn:
            for name, query in queries.items():
                rows = conn.execute(query).all()
                counts[name] = len(rows)
                digest.update(name.encode())
                for row in rows:
                    digest.update(repr(tuple(_in_utc(value) for value in row)).encode())
            counts["call attempts by agents"] = conn.execute(
                select(func.count()).where(contact_attempts.c.channel == "call")).scalar_one()
            counts["field agents"] = conn.execute(
                select(func.count()).select_from(field_agents)).scalar_one()
            counts["check-ins flagged"] = conn.execute(
                select(func.count()).where(visit_records.c.check_in_flagged)).scalar_one()
        return summary, digest.hexdigest(), counts
    finally:
        app.close()


def _in_utc(value: Any) -> Any:
    """A timestamp as the same aware UTC time whichever database returned it."""
    return utc(value) if isinstance(value, datetime) else value


def test_same_seed_same_result_on_either_database(sqlite_and_other_url: tuple[str, str],
                                                  tmp_path: Path) -> None:
    """One run on SQLite, the other on PostgreSQL: the same seed must tell the same story,
    row for row, whichever database keeps the books."""
    sqlite_url, other_url = sqlite_and_other_url
    first, first_digest, counts = _run(sqlite_url, tmp_path / "one")
    second, second_digest, second_counts = _run(other_url, tmp_path / "two")
    assert first == second
    assert counts == second_counts
    assert first_digest == second_digest
    # The run did what a collections day does: the real outbox sent messages, receipts came
    # back, agents called (every call judged by the guard), borrowers paid and promised.
    assert first.messages_sent > 0 and first.receipts == first.messages_sent
    assert first.calls == counts["call attempts by agents"] > 0
    assert first.payments_by_borrowers > 0 and first.payments_from_history > 0
    assert first.cases_cured > 0
    assert counts["promises"] == first.promises
    assert (tmp_path / "one" / "outbox").is_dir()
    # Visits happen as scheduled: proposed by the policy, approved by the supervisor, offered,
    # booked by the borrower, made by a crew of two of the simulation's own agents, recorded.
    assert counts["field agents"] == 34          # two for each of the 17 large cities
    assert first.visits_proposed == counts["visits"] > 0
    assert first.visits_approved > 0 and first.visit_offers >= first.visits_approved
    assert first.visits_booked > 0 and first.visits_made > 0
    assert sum(first.visit_outcomes.values()) == first.visits_made == counts["visit records"]
    assert counts["check-ins flagged"] == 0      # the crew checked in at the place


def test_another_seed_another_story(tmp_path: Path) -> None:
    _, digest_a, _ = _run(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a",
                          SimulationConfig(days=5, seed=1, loans=150, agents=1, calls_per_agent=5))
    _, digest_b, _ = _run(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b",
                          SimulationConfig(days=5, seed=2, loans=150, agents=1, calls_per_agent=5))
    assert digest_a != digest_b
