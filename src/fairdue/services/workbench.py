"""The agent's workbench: the queue in priority order, the case as an agent sees it, and
whether a call may be made right now (and, when not, why and from when).

Everything here reads; changes go through the services that own them (contacts, promises,
complaints). Personal data is masked here: unmasking is `services.borrowers.show_borrower`
with a role and a reason, audited.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, literal, select, update

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.tables import (
    audit_log,
    borrowers,
    cases,
    contact_attempts,
    contacts,
    installments,
    loans,
    policies,
    promises,
)
from fairdue.adapters.db.tables_web import case_assignments, staff_users
from fairdue.bootstrap import App
from fairdue.domain.compliance.engine import zone
from fairdue.domain.compliance.model import Attempt, Channel, Party
from fairdue.domain.contact_holds import hold_refusal
from fairdue.domain.contact_schedule import next_allowed, window_for, window_rule
from fairdue.domain.money import format_minor
from fairdue.errors import InvalidInput, NotFound
from fairdue.services.guard_feed import guard_at, number_key


def queue(conn: Connection, *, username: str | None = None, limit: int = 200,
          after: int = 0) -> list[dict[str, Any]]:
    """Open cases in the order to work them: a call the policy queued first (its priority),
    then the longest overdue, then the largest amount, then the case id (so the order is
    total and a page boundary never moves). `username`: only that agent's cases. `after`
    rows are skipped, `limit` returned.

    Read in two parts, because one query ordering by "has a queued call" first cannot use an
    index and sorted every open case on every request (200-300 ms on PostgreSQL with 100,000
    open cases, the supervisors' team queue under load: docs/benchmarks.md). First the
    cases with a queued call (few: the calls of one day), by priority; then, only when the
    page reaches past them, the other open cases in the order of the partial index
    `ix_cases_open_queue` (migration 0008), whose first rows are the page. The promise due
    and the assignee are read for the page's rows only. An agent's queue still sorts that
    agent's open cases (about 2,500 each in the load test; a hash join with the open
    cases, 10-20 ms): no index orders one agent's cases, which live in another table."""
    if limit <= 0:
        return []
    queued = (contacts.c.channel == "call") & (contacts.c.status == "queued")
    calls = (select(contacts.c.case_id, func.max(contacts.c.priority).label("call_priority"))
             .where(queued, contacts.c.case_id.is_not(None))
             .group_by(contacts.c.case_id).subquery())
    columns = (cases.c.case_id, cases.c.borrower_id, cases.c.dpd, cases.c.bucket,
               cases.c.amount_due_minor, cases.c.currency, cases.c.overdue_loans)
    first = (select(*columns, calls.c.call_priority)
             .join(calls, calls.c.case_id == cases.c.case_id)
             .where(cases.c.status == "open")
             .order_by(calls.c.call_priority.desc(), cases.c.dpd.desc(),
                       cases.c.amount_due_minor.desc(), cases.c.case_id)
             .limit(after + limit))
    if username is not None:
        first = first.join(case_assignments, case_assignments.c.case_id == cases.c.case_id) \
            .where(case_assignments.c.username == username)
    # At most after + limit rows: a page left short means these were all of them, and it
    # goes on into the cases without a queued call.
    with_call = conn.execute(first).all()
    page: list[Any] = list(with_call[after:after + limit])
    if len(page) < limit:
        rest = (select(*columns, literal(None).label("call_priority"))
                .where(cases.c.status == "open",
                       ~select(contacts.c.contact_id)
                       .where(contacts.c.case_id == cases.c.case_id, queued).exists())
                .order_by(cases.c.dpd.desc(), cases.c.amount_due_minor.desc(), cases.c.case_id)
                .offset(max(0, after - len(with_call))).limit(limit - len(page)))
        if username is not None:
            rest = rest.join(case_assignments, case_assignments.c.case_id == cases.c.case_id) \
                .where(case_assignments.c.username == username)
        page.extend(conn.execute(rest))
    ids = [r.case_id for r in page]
    owners: dict[str, str] = {}
    promised: dict[str, date] = {}
    if ids:
        if username is not None:
            owners = dict.fromkeys(ids, username)
        else:
            owners = {c: u for c, u in conn.execute(
                select(case_assignments.c.case_id, case_assignments.c.username)
                .where(case_assignments.c.case_id.in_(ids)))}
        promised = {c: d for c, d in conn.execute(
            select(promises.c.case_id, func.min(promises.c.due_on))
            .where(promises.c.status == "pending", promises.c.case_id.in_(ids))
            .group_by(promises.c.case_id))}
    return [{
        "case_id": r.case_id, "borrower_id": r.borrower_id, "dpd": r.dpd, "bucket": r.bucket,
        "amount_due": format_minor(r.amount_due_minor, r.currency), "currency": r.currency,
        "overdue_loans": r.overdue_loans, "assigned_to": owners.get(r.case_id),
        "call_queued": r.call_priority is not None, "call_priority": r.call_priority,
        "promise_due": promised.get(r.case_id),
    } for r in page]


def assigned_to(conn: Connection, case_id: str) -> str | None:
    return conn.execute(select(case_assignments.c.username)
                        .where(case_assignments.c.case_id == case_id)).scalar()


def assign_case(app: App, *, case_id: str, username: str, actor: str) -> None:
    """Give an open case to an agent (replacing whoever had it)."""
    now = app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        status = conn.execute(select(cases.c.status).where(cases.c.case_id == case_id)).scalar()
        if status is None:
            raise NotFound(f"no case {case_id!r}; case ids look like C-B00000001-20260701")
        if status != "open":
            raise InvalidInput(f"case {case_id} is {status}; only open cases are worked")
        role = conn.execute(select(staff_users.c.role).where(
            staff_users.c.username == username, staff_users.c.active.is_(True))).scalar()
        if role not in ("agent", "supervisor"):
            raise InvalidInput(f"{username!r} is not an active agent or supervisor; cases go "
                               "to agents")
        if conn.execute(update(case_assignments).where(case_assignments.c.case_id == case_id)
                        .values(username=username, assigned_at=now,
                                assigned_by=actor)).rowcount == 0:
            conn.execute(insert(case_assignments).values(case_id=case_id, username=username,
                                                         assigned_at=now, assigned_by=actor))
        uow.audit("CaseAssigned", case_id, {"to": username})
        uow.commit()


def case_summary(conn: Connection, case_id: str) -> dict[str, Any]:
    """The case with its agent, in one statement (the case page's first read)."""
    row = conn.execute(
        select(cases, case_assignments.c.username.label("assigned_to"))
        .select_from(cases.outerjoin(case_assignments,
                                     case_assignments.c.case_id == cases.c.case_id))
        .where(cases.c.case_id == case_id)).first()
    if row is None:
        raise NotFound(f"no case {case_id!r}; case ids look like C-B00000001-20260701")
    return {
        "case_id": row.case_id, "borrower_id": row.borrower_id, "status": row.status,
        "opened_on": row.opened_on, "closed_on": row.closed_on, "dpd": row.dpd,
        "bucket": row.bucket, "amount_due": format_minor(row.amount_due_minor, row.currency),
        "currency": row.currency, "overdue_loans": row.overdue_loans,
        "assigned_to": row.assigned_to,
    }


def debt_breakdown(conn: Connection, borrower_id: str, today: date) -> list[dict[str, Any]]:
    """Each loan of the borrower with each installment: what was due, what was paid, what
    is still owed by component, and whether it is overdue on `today` (S12: what and why).

    Two statements whatever the number of loans (the installments of all of them at once),
    not one per loan: the case page reads this on every view."""
    result: list[dict[str, Any]] = []
    schedule: dict[str, list[Any]] = {}
    for i in conn.execute(
            select(installments)
            .join(loans, loans.c.loan_id == installments.c.loan_id)
            .where(loans.c.borrower_id == borrower_id)
            .order_by(installments.c.loan_id, installments.c.seq)):
        schedule.setdefault(i.loan_id, []).append(i)
    for loan in conn.execute(select(loans).where(loans.c.borrower_id == borrower_id)
                             .order_by(loans.c.loan_id)):
        money = loan.currency
        rows = []
        for i in schedule.get(loan.loan_id, ()):
            owed = {
                "principal": i.principal_minor - i.principal_paid_minor,
                "interest": i.interest_minor - i.interest_paid_minor,
                "fee": i.fee_minor - i.fee_paid_minor,
                "penalty": i.penalty_minor - i.penalty_paid_minor,
            }
            total = sum(owed.values())
            rows.append({
                "seq": i.seq, "due_on": i.due_on,
                "due": {k: format_minor(v, money) for k, v in (
                    ("principal", i.principal_minor), ("interest", i.interest_minor),
                    ("fee", i.fee_minor), ("penalty", i.penalty_minor))},
                "owed": {k: format_minor(v, money) for k, v in owed.items()},
                "owed_total": format_minor(total, money),
                "state": "paid" if total <= 0 else ("overdue" if i.due_on < today else "not_due"),
            })
        result.append({
            "loan_id": loan.loan_id, "product": loan.product, "currency": money,
            "principal": format_minor(loan.principal_minor, money),
            "annual_rate": loan.annual_rate, "penalty_daily_rate": loan.penalty_daily_rate,
            "disbursed_on": loan.disbursed_on, "dpd": loan.dpd, "bucket": loan.bucket,
            "amount_due": format_minor(loan.amount_due_minor, money),
            "outstanding": format_minor(loan.outstanding_minor, money),
            "installments": rows,
        })
    return result


@dataclass(frozen=True)
class CallCheck:
    """May the borrower be called now: the guard's verdict, and the next lawful minute when
    only the time of day stands in the way."""

    allowed: bool
    rules: tuple[str, ...]
    reasons: tuple[str, ...]
    next_allowed_at: datetime | None
    local_time: datetime


def call_check(app: App, borrower_id: str, at: datetime, *,
               conn: Connection | None = None) -> CallCheck:
    """Judge a call to the borrower at `at` as `fairdue contact record` would judge it,
    without recording anything. `conn`: read on this connection (the case page's own)
    instead of taking one from the pool."""
    if conn is None:
        with app.engine.connect() as own:
            return call_check(app, borrower_id, at, conn=own)
    profile = app.strategy.profile
    tz_name = conn.execute(select(borrowers.c.timezone).where(
        borrowers.c.borrower_id == borrower_id)).scalar()
    if tz_name is None:
        raise NotFound(f"no borrower {borrower_id!r}")
    tz = zone(tz_name)
    guard, in_force = guard_at(conn, profile, borrower_id, tz, at)
    verdict = hold_refusal({r.kind for r in in_force}, profile) or guard.judge_planned(Attempt(
        at=at, channel=Channel.CALL, debtor=borrower_id, party=Party.DEBTOR,
        to=number_key(borrower_id, Channel.CALL.value)))
    later = None
    if not verdict.allowed and set(verdict.rules) == {window_rule(profile.parameters)}:
        later = next_allowed(at, (tz,), window_for(profile.parameters))
    return CallCheck(verdict.allowed, tuple(verdict.rules), tuple(verdict.reasons), later,
                     at.astimezone(tz))


# --- what the compliance officer reads: refusals by rule, the audit log, policy versions ---

def refusals_by_rule(conn: Connection) -> list[dict[str, Any]]:
    """Contacts the guard refused (planned ones blocked, attempts made outside fairdue that
    broke a rule), counted per rule id, most frequent first."""
    counts: dict[str, dict[str, int]] = {}
    for blocked_by, n in conn.execute(
            select(contacts.c.blocked_by, func.count()).where(contacts.c.status == "blocked")
            .group_by(contacts.c.blocked_by)):
        for rule in (blocked_by or "unknown").split(","):
            counts.setdefault(rule, {"planned_blocked": 0, "attempts_unlawful": 0})
            counts[rule]["planned_blocked"] += int(n)
    for violated, n in conn.execute(
            select(contact_attempts.c.violated, func.count())
            .where(contact_attempts.c.violated.is_not(None))
            .group_by(contact_attempts.c.violated)):
        for rule in violated.split(","):
            counts.setdefault(rule, {"planned_blocked": 0, "attempts_unlawful": 0})
            counts[rule]["attempts_unlawful"] += int(n)
    return sorted(({"rule": rule, **c, "total": c["planned_blocked"] + c["attempts_unlawful"]}
                   for rule, c in counts.items()), key=lambda r: (-r["total"], r["rule"]))


def recent_refusals(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The latest refused planned contacts, with the sentence a borrower would read."""
    rows = conn.execute(
        select(contacts.c.contact_id, contacts.c.case_id, contacts.c.borrower_id,
               contacts.c.channel, contacts.c.blocked_by, contacts.c.blocked_reason,
               contacts.c.updated_at)
        .where(contacts.c.status == "blocked")
        .order_by(contacts.c.updated_at.desc(), contacts.c.contact_id).limit(limit))
    return [{"contact_id": r.contact_id, "case_id": r.case_id, "borrower_id": r.borrower_id,
             "channel": r.channel, "rules": r.blocked_by, "reason": r.blocked_reason,
             "at": repo.utc(r.updated_at)} for r in rows]


def audit_entries(conn: Connection, *, limit: int = 100, before: int | None = None
                  ) -> list[dict[str, Any]]:
    """The newest audit entries (before `before`, a seq), newest first."""
    query = select(audit_log.c.seq, audit_log.c.at, audit_log.c.actor, audit_log.c.action,
                   audit_log.c.subject, audit_log.c.details)
    if before is not None:
        query = query.where(audit_log.c.seq < before)
    return [{"seq": r.seq, "at": repo.utc(r.at), "actor": r.actor, "action": r.action,
             "subject": r.subject, "details": json.loads(r.details)}
            for r in conn.execute(query.order_by(audit_log.c.seq.desc()).limit(limit))]


def policy_versions(conn: Connection) -> list[dict[str, Any]]:
    """Every policy that made a decision, oldest first, each with its differences from the
    one before it (a unified diff of the policy files)."""
    rows = conn.execute(select(policies).order_by(policies.c.first_used_at, policies.c.version)).all()
    result: list[dict[str, Any]] = []
    previous: Any = None
    for r in rows:
        diff = None
        if previous is not None:
            diff = "\n".join(difflib.unified_diff(
                previous.body.splitlines(), r.body.splitlines(),
                fromfile=previous.version[:12], tofile=r.version[:12], lineterm=""))
        result.append({"version": r.version, "name": r.name, "profile": r.profile,
                       "source": r.source, "first_used_at": repo.utc(r.first_used_at),
                       "body": r.body, "diff_from_previous": diff})
        previous = r
    return result


# --- the borrower's own evidence (S14) ---

def contact_history(conn: Connection, borrower_id: str) -> list[dict[str, Any]]:
    """Every contact with the borrower, oldest first: messages sent (or refused, with the
    rule) and attempts recorded by agents, dialers and the dispatcher. No other person's
    data, no internal ids beyond the reference of each contact."""
    rows: list[dict[str, Any]] = []
    for r in conn.execute(select(contacts).where(contacts.c.borrower_id == borrower_id,
                                                 contacts.c.status.in_(
                                                     ("sent", "delivered", "failed", "blocked")))):
        rows.append({"at": repo.utc(r.sent_at) or repo.utc(r.updated_at), "kind": "message",
                     "channel": r.channel, "result": r.status,
                     "rule": r.blocked_by or "", "by": "fairdue", "reference": r.contact_id})
    for r in conn.execute(select(contact_attempts).where(
            contact_attempts.c.borrower_id == borrower_id, contact_attempts.c.contact_id.is_(None))):
        rows.append({"at": repo.utc(r.at), "kind": "attempt", "channel": r.channel,
                     "result": r.disposition or r.outcome, "rule": r.violated or "",
                     "by": r.recorded_by, "reference": r.attempt_id})
    never = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda row: (row["at"] or never, row["reference"]))
    return rows
