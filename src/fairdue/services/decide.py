"""The daily run's second half: for every open case, what happens next, and is it lawful.

For one partition of borrowers, inside the partition's own transaction: gather each open
case's facts with a handful of set-based queries, let the policy decide, put every action
it asks for before the compliance guard at the moment it would happen, and write the
decision, the messages (the outbox), the call tasks (the agents' queue) and the visit
proposals together. A refused action is kept, blocked, with the rules that refused it and
the sentence a borrower would understand: the refusal is evidence too.

Reading and deciding (`plan_decisions`) write nothing, so on SQLite helper processes can
decide shares of the partition from the committed books; the one writer writes each share
as it comes (`write_decisions`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from fairdue.adapters.db import strategy_repo as repo
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
from fairdue.domain.policy import CaseFacts
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


#: The columns of the rows a decision writes, in the order `Planned` holds their values.
DECISION_COLUMNS = ("decision_id", "case_id", "borrower_id", "business_date", "policy_version",
                    "variant", "step", "facts", "actions", "rules_checked", "decided_at")
CONTACT_COLUMNS = ("contact_id", "case_id", "borrower_id", "decision_id", "channel", "template",
                   "language", "priority", "scheduled_at", "status", "blocked_by",
                   "blocked_reason", "reason", "attempts", "idempotency_key", "created_at",
                   "updated_at")


def _json_encoder() -> Callable[[Any], str]:
    """`json.dumps(value, ensure_ascii=False)`, with the C encoder made once instead of per
    call (half the cost of encoding a decision's facts and actions, two per case), and no
    check for circular references, which plain facts cannot have. Falls back to the plain
    encoder where the C one is missing."""
    plain = json.JSONEncoder(ensure_ascii=False)
    if c_make_encoder is None:  # pragma: no cover - CPython has it
        return plain.encode
    encode = c_make_encoder(None, plain.default, encode_basestring, None, ": ", ", ",
                            False, False, True)
    join = "".join

    def dumps(value: Any) -> str:
        return join(encode(value, 0))

    return dumps


to_json = _json_encoder()


def _same(value: Any) -> Any:
    return value


@dataclass
class Planned:
    """The rows one partition's decisions produce, written together: decisions and contacts
    as tuples in `DECISION_COLUMNS` / `CONTACT_COLUMNS` order (a hundred thousand dicts would
    cost more than writing them), channels planned as (borrower, channel)."""

    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    planned: list[tuple[str, str]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    tally: DecideTally = field(default_factory=DecideTally)


def plan_decisions(conn: Connection, strategy: Strategy, day: date, shard_from: int,
                   shard_to: int, *, now: datetime) -> Planned:
    """The open cases of a shard range read, decided and judged on `conn`, nothing written:
    a helper process of the daily run works this out from the committed books."""
    found = repo.open_cases(conn, shard_from, shard_to)
    if not found:
        return Planned()
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
    return decide_cases(strategy, day, now, inputs, db_value=repo.db_values(conn))


def write_decisions(uow: UnitOfWork, strategy: Strategy, planned: Planned, day: date, *,
                    now: datetime) -> None:
    """Write one or more shard ranges' decisions, contacts and channel marks."""
    if not planned.decisions:
        return
    conn = uow.connection
    policy = strategy.policy
    repo.register_policy(conn, version=policy.version, name=policy.name, profile=policy.profile,
                         source=strategy.source, body=strategy.text, now=now)
    repo.insert_rows(conn, decisions, DECISION_COLUMNS, planned.decisions)
    repo.insert_rows(conn, contacts, CONTACT_COLUMNS, planned.contacts)
    repo.assign_variants(conn, planned.assignments)
    repo.mark_planned(conn, list(dict.fromkeys(planned.planned)), day)


def decide_cases(strategy: Strategy, day: date, now: datetime, inputs: CaseInputs, *,
                 db_value: Callable[[Any], Any] = _same) -> Planned:
    """The pure part of the partition: facts, the policy's decision and the guard's verdict
    on every action, for every open case; no database is touched.

    `db_value` turns the rows' dates and times into what the database driver stores (the
    run's few distinct times are each converted once, not per row)."""
    policy = strategy.policy
    profile = strategy.profile
    experiment = policy.experiment.name if policy.experiment is not None else None
    guard = new_ledger(profile)
    out = Planned()
    tally = out.tally
    decisions_out = out.decisions
    contacts_out = out.contacts
    planned_out = out.planned
    no_states: dict[str, ChannelState] = {}
    blank = ContactStanding()
    stamp = f"{day:%Y%m%d}"
    per_local_day = isinstance(profile.parameters, CnParameters)
    # The rules every action of the day was put before: the profile's guard rules.
    checked = json.dumps({"profile": profile.name, "rules": [
        r.id for r in profile.rules if r.enforced_by == "guard"]})
    blank_verdicts: dict[tuple[str, datetime | None, str], Decision] = {}
    # Work that depends on the zone or the channels alone, not the case: done once each.
    fresh_plans: dict[str, datetime | None] = {}
    channels_of: dict[tuple[bool, bool, bool], tuple[str, ...]] = {}
    holds: dict[frozenset[str], Decision | None] = {}
    stored: dict[Any, Any] = {}

    def db(value: Any) -> Any:
        try:
            return stored[value]
        except KeyError:
            stored[value] = converted = db_value(value)
            return converted

    business_date = db(day)
    decided_at = db(now)
    principal = inputs.principal
    states = inputs.states
    standings = inputs.standings
    restrictions = inputs.restrictions
    preferences = inputs.preferences
    history = inputs.history
    plans = inputs.plans
    decide = policy.decide
    for case in inputs.open_cases:
        borrower = case.borrower_id
        case_id = case.case_id
        tz = zone(case.timezone)
        channel_map = states.get(borrower, no_states)
        standing = standings.get(borrower, blank)
        # Restrictions recorded as starting later are not in force yet.
        recorded = restrictions.get(borrower)
        in_force = [r for r in recorded if r.started_at <= now] if recorded else []
        prefs = preferences.get(borrower)
        kinds = frozenset(r.kind for r in in_force) if in_force else frozenset()
        reach = (case.has_phone, case.has_email, case.has_app)
        available = channels_of.get(reach)
        if available is None:
            available = channels_of[reach] = available_channels(
                has_phone=case.has_phone, has_email=case.has_email, has_app=case.has_app)
        facts = CaseFacts(
            case_id=case_id, borrower_id=borrower, dpd=case.dpd, bucket=case.bucket,
            amount_due_minor=case.amount_due_minor, currency=case.currency,
            principal_outstanding_minor=principal.get(borrower, 0),
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
            active_plan=borrower in plans, days_to_plan_due=plans.get(borrower),
            grace="grace" in kinds,
            open_dispute="dispute" in kinds, open_complaint="complaint" in kinds,
            has_phone=case.has_phone, has_email=case.has_email, has_app=case.has_app,
            opted_out=frozenset(r.channel for r in in_force if r.kind == "opt_out" and r.channel)
            if in_force else frozenset(),
            preferred_channels=prefs.preferred_channels if prefs else frozenset(),
        )
        decided = decide(facts)
        past = history.get(borrower)
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
        if kinds:
            hold = holds.get(kinds, _UNSET)
            if hold is _UNSET:
                hold = holds[kinds] = hold_refusal(kinds, profile)
        else:
            hold = None
        planned: datetime | None = None
        if decided.actions:
            if last_event is None:
                planned = fresh_plans.get(tz.key, _UNSET)
                if planned is _UNSET:
                    planned = fresh_plans[tz.key] = _plan(strategy, day, now, tz, None)
            else:
                planned = _plan(strategy, day, now, tz, last_event)
        decision_id = f"{case_id}@{stamp}"
        actions_out: list[dict[str, Any]] = []
        for index, action in enumerate(decided.actions):
            kind = action.kind
            if kind == "pause":
                actions_out.append({"kind": "pause", "reason": action.reason})
                continue
            if hold is not None:
                verdict = hold
            elif fresh:
                key = (kind, planned, tz.key)
                verdict = blank_verdicts.get(key) or blank_verdicts.setdefault(
                    key, _judge(new_ledger(profile), strategy, f"?{tz.key}", kind, planned, tz))
            else:
                verdict = _judge(guard, strategy, borrower, kind, planned, None)
            allowed = verdict.allowed
            status = _START_STATUS[kind] if allowed else "blocked"
            contact_id = f"{case_id}-{stamp}-{index}"
            tally.add(status)
            actions_out.append({"kind": kind, "template": action.template,
                                "priority": action.priority, "reason": action.reason,
                                "contact_id": contact_id, "status": status,
                                "blocked_by": list(verdict.rules)})
            contacts_out.append((
                contact_id, case_id, borrower, decision_id, kind, action.template,
                case.language, action.priority, db(planned), status,
                ",".join(verdict.rules) or None, " ".join(verdict.reasons) or None,
                action.reason, 0, idempotency_key(contact_id), decided_at, decided_at,
            ))
            if allowed:
                planned_out.append((borrower, kind))
        decisions_out.append((
            decision_id, case_id, borrower, business_date, decided.policy_version,
            decided.variant, decided.step, to_json(decided.facts_used),
            to_json(actions_out), checked, decided_at,
        ))
        if decided.variant is not None and experiment is not None:
            out.assignments.append({"case_id": case_id, "experiment": experiment,
                                    "variant": decided.variant, "policy_version": policy.version,
                                    "assigned_on": day})
        tally.decisions += 1
    return out


_UNSET: Any = object()


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
