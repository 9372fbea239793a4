"""The daily run's second half: for every open case, what happens next, and is it lawful.

For one partition of borrowers, inside the partition's own transaction: gather each open
case's facts with a handful of set-based queries, let the policy decide, put every action
it asks for before the compliance guard at the moment it would happen, and write the
decision, the messages (the outbox), the call tasks (the agents' queue) and the visit
proposals together. A refused action is kept, blocked, with the rules that refused it and
the sentence a borrower would understand: the refusal is evidence too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.bulk import insert_dicts
from fairdue.adapters.db.tables import contacts, decisions
from fairdue.domain.compliance.engine import zone
from fairdue.domain.compliance.guard import new_ledger
from fairdue.domain.compliance.model import Attempt, Channel, DebtorInfo, Decision, Party
from fairdue.domain.compliance.profiles import CnParameters
from fairdue.domain.contact_holds import Restriction, hold_refusal
from fairdue.domain.contact_outcomes import (
    ChannelState,
    ContactStanding,
    available_channels,
    days_between,
    days_since_last,
    days_unreachable,
)
from fairdue.domain.contact_schedule import planned_send_time, window_rule
from fairdue.domain.policy import CaseFacts, PolicyDecision
from fairdue.services.guard_feed import feed_guard, history_since, number_key
from fairdue.services.plans import plan_standings
from fairdue.services.strategy import Strategy
from fairdue.services.unit_of_work import UnitOfWork

MESSAGE_CHANNELS = ("sms", "email", "push")
POLICY_CHANNELS = ("sms", "email", "push", "call", "visit")

_NO_FAILURES: Mapping[str, int] = MappingProxyType({})
_NEVER: Mapping[str, int | None] = MappingProxyType(dict.fromkeys(POLICY_CHANNELS))

#: The status a planned contact starts in, by channel, when the guard allows it.
_START_STATUS = {"sms": "scheduled", "email": "scheduled", "push": "scheduled",
                 "call": "queued", "visit": "proposed"}


@dataclass
class DecideTally:
    decisions: int = 0
    scheduled: int = 0
    queued: int = 0
    proposed: int = 0
    blocked: int = 0

    def add(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)


def contact_id_for(case_id: str, day: date, index: int) -> str:
    return f"{case_id}-{day:%Y%m%d}-{index}"


def idempotency_key(contact_id: str) -> str:
    """The key a provider sees: one per planned contact, so a resend is recognised."""
    return hashlib.sha256(contact_id.encode()).hexdigest()


@dataclass
class CaseInputs:
    """Everything the partition's queries found, keyed by borrower."""

    open_cases: list[repo.OpenCase]
    principal: dict[str, int] = field(default_factory=dict)
    states: dict[str, dict[str, ChannelState]] = field(default_factory=dict)
    standings: dict[str, ContactStanding] = field(default_factory=dict)
    restrictions: dict[str, list[Restriction]] = field(default_factory=dict)
    preferences: dict[str, repo.Preferences] = field(default_factory=dict)
    history: dict[str, list[repo.PastAttempt]] = field(default_factory=dict)
    #: Borrowers with an active plan on track: days to its next installment (None: none left).
    plans: dict[str, int | None] = field(default_factory=dict)


@dataclass
class Planned:
    """The rows one partition's decisions produce, written together."""

    decisions: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    tally: DecideTally = field(default_factory=DecideTally)


def decide_partition(uow: UnitOfWork, strategy: Strategy, day: date, shard_from: int,
                     shard_to: int, *, now: datetime) -> DecideTally:
    """Decide, judge and plan every open case of a shard range, in the caller's transaction."""
    conn = uow.connection
    found = repo.open_cases(conn, shard_from, shard_to)
    if not found:
        return DecideTally()
    policy = strategy.policy
    repo.register_policy(conn, version=policy.version, name=policy.name, profile=policy.profile,
                         source=strategy.source, body=strategy.text, now=now)
    ids = [c.borrower_id for c in found]
    inputs = CaseInputs(
        found,
        principal=repo.principal_outstanding(conn, shard_from, shard_to, day),
        states=repo.channel_states_of(conn, ids),
        standings=repo.standings_of(conn, ids),
        restrictions=repo.restrictions_of(conn, ids, day),
        preferences=repo.preferences_of(conn, ids),
        history=repo.recent_attempts(conn, ids, history_since(strategy.profile, day)),
        plans=plan_standings(conn, ids, day),
    )
    planned = decide_cases(strategy, day, now, inputs)
    insert_dicts(conn, decisions, planned.decisions)
    insert_dicts(conn, contacts, planned.contacts)
    repo.assign_variants(conn, planned.assignments)
    repo.mark_planned(conn, _last_per_key(planned.planned))
    return planned.tally


def decide_cases(strategy: Strategy, day: date, now: datetime, inputs: CaseInputs) -> Planned:
    """The pure part of the partition: facts, the policy's decision and the guard's verdict
    on every action, for every open case; no database is touched."""
    policy = strategy.policy
    experiment = policy.experiment.name if policy.experiment is not None else None
    guard = new_ledger(strategy.profile)
    out = Planned()
    tally = out.tally
    no_states: dict[str, ChannelState] = {}
    blank = ContactStanding()
    stamp = f"{day:%Y%m%d}"
    per_local_day = isinstance(strategy.profile.parameters, CnParameters)
    # The rules every action of the day was put before: the profile's guard rules.
    checked = json.dumps({"profile": strategy.profile.name, "rules": [
        r.id for r in strategy.profile.rules if r.enforced_by == "guard"]})
    blank_verdicts: dict[tuple[str, datetime | None, str], Decision] = {}
    for case in inputs.open_cases:
        borrower = case.borrower_id
        tz = zone(case.timezone)
        channel_map = inputs.states.get(borrower, no_states)
        standing = inputs.standings.get(borrower, blank)
        # Restrictions recorded as starting later are not in force yet.
        in_force = [r for r in inputs.restrictions.get(borrower, ()) if r.started_at <= now]
        prefs = inputs.preferences.get(borrower)
        kinds = frozenset(r.kind for r in in_force)
        available = available_channels(has_phone=case.has_phone, has_email=case.has_email,
                                       has_app=case.has_app)
        facts = CaseFacts(
            case_id=case.case_id, borrower_id=borrower, dpd=case.dpd, bucket=case.bucket,
            amount_due_minor=case.amount_due_minor, currency=case.currency,
            principal_outstanding_minor=inputs.principal.get(borrower, 0),
            loans=case.overdue_loans, case_age_days=(day - case.opened_on).days,
            days_since_rpc=days_between(standing.last_rpc_at, day, tz),
            consecutive_failures={c: channel_map[c].consecutive_failures
                                  for c in POLICY_CHANNELS if c in channel_map}
            if channel_map else _NO_FAILURES,
            failed_attempts_total=standing.failed_in_a_row,
            days_unreachable=days_unreachable(day, tz, standing, channel_map, available),
            days_since_last={c: days_since_last(day, tz, channel_map.get(c)) for c in POLICY_CHANNELS}
            if channel_map else _NEVER,
            promises_kept=standing.promises_kept, promises_broken=standing.promises_broken,
            refusals=standing.refusals,
            active_plan=borrower in inputs.plans, days_to_plan_due=inputs.plans.get(borrower),
            grace="grace" in kinds,
            open_dispute="dispute" in kinds, open_complaint="complaint" in kinds,
            has_phone=case.has_phone, has_email=case.has_email, has_app=case.has_app,
            opted_out=frozenset(r.channel for r in in_force if r.kind == "opt_out" and r.channel),
            preferred_channels=prefs.preferred_channels if prefs else frozenset(),
        )
        decided = policy.decide(facts)
        past = inputs.history.get(borrower)
        if past and per_local_day:
            # `cn` counts per local day: what happened before today where the borrower is
            # cannot change today's verdicts.
            midnight = datetime.combine(day, time(0), tzinfo=tz)
            past = [a for a in past if a.at >= midnight]
        fresh = not (past or in_force or prefs)
        # A borrower with no history, restriction or agreement is judged on the time and the
        # zone alone: against a blank ledger, once per (channel, time, zone).
        last_event = None if fresh else feed_guard(guard, borrower, tz, in_force, past or (),
                                                   prefs, day)
        hold = hold_refusal(kinds, strategy.profile) if kinds else None
        planned = _plan(strategy, day, now, tz, last_event) if decided.actions else None
        decision_id = f"{case.case_id}@{stamp}"
        actions_out: list[dict[str, Any]] = []
        for index, action in enumerate(decided.actions):
            if action.kind == "pause":
                actions_out.append({"kind": "pause", "reason": action.reason})
                continue
            if hold is not None:
                verdict = hold
            elif fresh:
                key = (action.kind, planned, tz.key)
                verdict = blank_verdicts.get(key) or blank_verdicts.setdefault(
                    key, _judge(new_ledger(strategy.profile), strategy, f"?{tz.key}",
                                action.kind, planned, tz))
            else:
                verdict = _judge(guard, strategy, borrower, action.kind, planned, None)
            status = _START_STATUS[action.kind] if verdict.allowed else "blocked"
            contact_id = f"{case.case_id}-{stamp}-{index}"
            tally.add(status)
            actions_out.append({"kind": action.kind, "template": action.template,
                                "priority": action.priority, "reason": action.reason,
                                "contact_id": contact_id, "status": status,
                                "blocked_by": list(verdict.rules)})
            out.contacts.append({
                "contact_id": contact_id, "case_id": case.case_id, "borrower_id": borrower,
                "decision_id": decision_id, "channel": action.kind, "template": action.template,
                "language": case.language, "priority": action.priority, "scheduled_at": planned,
                "status": status, "blocked_by": ",".join(verdict.rules) or None,
                "blocked_reason": " ".join(verdict.reasons) or None, "reason": action.reason,
                "attempts": 0, "idempotency_key": idempotency_key(contact_id),
                "created_at": now, "updated_at": now,
            })
            if verdict.allowed:
                out.planned.append({"borrower_id": borrower, "channel": action.kind,
                                    "last_planned_on": day})
        out.decisions.append(_decision_row(decision_id, case.case_id, borrower, day, decided,
                                           actions_out, checked, now))
        if decided.variant is not None and experiment is not None:
            out.assignments.append({"case_id": case.case_id, "experiment": experiment,
                                    "variant": decided.variant, "policy_version": policy.version,
                                    "assigned_on": day})
        tally.decisions += 1
    return out


def _decision_row(decision_id: str, case_id: str, borrower: str, day: date,
                  decided: PolicyDecision, actions: list[dict[str, Any]],
                  checked: str, now: datetime) -> dict[str, Any]:
    return {
        "decision_id": decision_id, "case_id": case_id, "borrower_id": borrower,
        "business_date": day, "policy_version": decided.policy_version,
        "variant": decided.variant, "step": decided.step,
        "facts": json.dumps(decided.facts_used, ensure_ascii=False),
        "actions": json.dumps(actions, ensure_ascii=False),
        "rules_checked": checked,
        "decided_at": now,
    }


def _last_per_key(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (borrower, channel): an upsert may not touch a row twice in a statement."""
    return list({(r["borrower_id"], r["channel"]): r for r in rows}.values())


def _plan(strategy: Strategy, day: date, now: datetime, tz: ZoneInfo,
          last_event: datetime | None) -> datetime | None:
    earliest = now if last_event is None or last_event < now else last_event
    return planned_send_time(day, earliest, (tz,), strategy.window, strategy.send_at)


def _judge(guard: Any, strategy: Strategy, borrower: str, channel: str,
           planned: datetime | None, fresh_zone: ZoneInfo | None) -> Decision:
    """The guard's verdict on the contact at its planned time; no lawful time at all within
    the next days is itself a refusal under the window rule."""
    if planned is None:
        return Decision(False, (window_rule(strategy.profile.parameters),),
                        ("There is no time in the next days when we may lawfully contact you.",))
    if fresh_zone is not None:
        guard.record(DebtorInfo(borrower, (fresh_zone.key,)))
    collectors = None
    if channel == "visit" and isinstance(strategy.profile.parameters, CnParameters):
        collectors = strategy.profile.parameters.min_visit_collectors
    attempt = Attempt(at=planned, channel=Channel(channel), debtor=borrower, party=Party.DEBTOR,
                      to=number_key(borrower, channel), collectors=collectors)
    result: Decision = guard.judge_planned(attempt)
    return result
