"""Recording what contacts achieved, and the restrictions borrowers put on contact.

An attempt made outside fairdue (a dialer, an agent's own phone) is recorded after the fact:
the guard still judges it, against the same history the daily run sees, and an attempt it
would have refused is kept with the rules it broke (evidence for the compliance officer) but
counts toward no limit. The outcome changes the borrower's facts in the same transaction,
so a refusal recorded this afternoon is a refusal tonight's run reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import Connection, bindparam, select, update

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.bulk import insert_dicts
from fairdue.adapters.db.tables import borrowers, contact_attempts, contact_preferences, contact_restrictions
from fairdue.bootstrap import App
from fairdue.domain.compliance.engine import zone
from fairdue.domain.compliance.lexicon import check_text
from fairdue.domain.compliance.model import Attempt, Party, require_aware
from fairdue.domain.compliance.profiles import get_profile
from fairdue.domain.contact_holds import Restriction, hold_refusal
from fairdue.domain.contact_outcomes import (
    RESTRICTING,
    Interpreted,
    apply_outcome,
    channel_of,
    interpret,
)
from fairdue.errors import InvalidInput, NotFound
from fairdue.services.guard_feed import guard_at, number_key


@dataclass(frozen=True)
class Recorded:
    attempt_id: str
    case_id: str | None
    lawful: bool
    rules: tuple[str, ...]
    reasons: tuple[str, ...]
    duplicate: bool = False


#: Made once: every contact outcome asks whether it is recorded already.
_RECORDED = select(contact_attempts.c.violated).where(
    contact_attempts.c.attempt_id == bindparam("attempt_id"))
#: Made once: every contact outcome reads its borrower's zone and language.
_ZONE_AND_LANGUAGE = select(borrowers.c.timezone, borrowers.c.language).where(
    borrowers.c.borrower_id == bindparam("borrower_id"))


def _borrower(conn: Connection, borrower_id: str) -> tuple[str, str]:
    row = conn.execute(_ZONE_AND_LANGUAGE, {"borrower_id": borrower_id}).first()
    if row is None:
        raise NotFound(f"no borrower {borrower_id!r}; check the id (e.g. B00000001)")
    return row[0], row[1]


def attempt_id_for(borrower_id: str, channel: str, at: datetime, outcome: str, party: str) -> str:
    """The same attempt recorded twice (a dialer retrying its callback) is one attempt."""
    digest = hashlib.sha256(
        f"{borrower_id}|{channel}|{at.isoformat()}|{outcome}|{party}".encode()
    ).hexdigest()
    return f"A-{digest[:40]}"


def record_contact(app: App, *, borrower_id: str, channel: str, outcome: str, at: datetime,
                   note: str | None = None, party: str = "debtor", actor: str = "system",
                   language: str | None = None) -> Recorded:
    """Record one attempt's outcome, judge it, and update the facts the policy reads."""
    require_aware(at, "contact")
    medium = channel_of(channel)
    seen = interpret(outcome)
    try:
        who = Party(party)
    except ValueError:
        raise InvalidInput(f"unknown party {party!r}; use debtor or contact") from None
    profile = get_profile(app.settings.profile)
    with app.uow(actor) as uow:
        conn = uow.connection
        timezone, borrower_language = _borrower(conn, borrower_id)
        if note:
            findings = check_text(note, language or borrower_language)
            if findings:
                found = ", ".join(sorted({f.category.value for f in findings}))
                raise InvalidInput(
                    f"the note contains prohibited content ({found}); rewrite it: notes are "
                    "part of the collection record"
                )
        attempt_id = attempt_id_for(borrower_id, medium.value, at, outcome, who.value)
        exists = conn.execute(_RECORDED, {"attempt_id": attempt_id}).first()
        case_id = repo.open_case_of(conn, borrower_id)
        if exists is not None:
            rules = tuple(exists[0].split(",")) if exists[0] else ()
            return Recorded(attempt_id, case_id, not rules, rules, (), duplicate=True)
        tz = zone(timezone)
        # What was in force when the attempt was made (see guard_at).
        guard, in_force = guard_at(conn, profile, borrower_id, tz, at)
        verdict = hold_refusal({r.kind for r in in_force}, profile) or guard.judge(Attempt(
            at=at, channel=medium, debtor=borrower_id, party=who,
            to=number_key(borrower_id, medium.value), outcome=seen.outcome,
        ))
        now = app.clock.now()
        insert_dicts(conn, contact_attempts, [{
            "attempt_id": attempt_id, "borrower_id": borrower_id, "case_id": case_id,
            "contact_id": None, "channel": medium.value, "party": who.value,
            "outcome": seen.outcome.value, "disposition": seen.disposition, "at": at,
            "recorded_by": actor, "note": note, "violated": ",".join(verdict.rules) or None,
            "recorded_at": now,
        }])
        fold_outcome(conn, borrower_id, medium.value, at, seen, to_borrower=who is Party.DEBTOR)
        if seen.disposition in RESTRICTING:
            _add_restriction(conn, borrower_id, RESTRICTING[seen.disposition], None, at, None,
                             f"recorded with the {seen.disposition} outcome", actor)
        uow.audit("ContactRecorded", borrower_id, {
            "attempt_id": attempt_id, "channel": medium.value, "outcome": outcome,
            "party": who.value, "at": at.isoformat(), "case_id": case_id,
            "violated": list(verdict.rules),
        })
        uow.commit()
    return Recorded(attempt_id, case_id, verdict.allowed, verdict.rules, verdict.reasons)


def fold_outcome(conn: Connection, borrower_id: str, channel: str, at: datetime,
                 seen: Interpreted, *, to_borrower: bool = True) -> None:
    """Update the running summaries the policy reads with one attempt's outcome."""
    state = repo.channel_state_of(conn, borrower_id, channel)
    standing = repo.standing_of(conn, borrower_id)
    apply_outcome(state, standing, at, seen, to_borrower=to_borrower)
    repo.save_channel_state(conn, borrower_id, channel, state)
    repo.save_standing(conn, borrower_id, standing)


def _add_restriction(conn: Connection, borrower_id: str, kind: str, channel: str | None,
                     at: datetime, until_on: date | None, note: str | None, actor: str) -> str:
    restriction = Restriction(kind, channel, at, until_on)
    restriction_id = "R-" + hashlib.sha256(
        f"{borrower_id}|{kind}|{channel}|{at.isoformat()}".encode()
    ).hexdigest()[:40]
    repo.upsert(conn, contact_restrictions, [{
        "restriction_id": restriction_id, "borrower_id": borrower_id, "kind": restriction.kind,
        "channel": restriction.channel, "started_at": at, "until_on": until_on,
        "lifted_at": None, "note": note, "recorded_by": actor,
    }], ["restriction_id"])
    return restriction_id


def restrict_contact(app: App, *, borrower_id: str, kind: str, at: datetime,
                     channel: str | None = None, until_on: date | None = None,
                     note: str | None = None, actor: str = "system") -> str:
    """Put a cease, dispute, complaint, opt-out, do-not-contact, hardship or grace in force."""
    require_aware(at, "restriction")
    Restriction(kind, channel, at, until_on)  # refuses an unknown kind or channel before any write
    with app.uow(actor) as uow:
        _borrower(uow.connection, borrower_id)
        restriction_id = _add_restriction(uow.connection, borrower_id, kind, channel, at,
                                          until_on, note, actor)
        uow.audit("ContactRestricted", borrower_id, {
            "restriction_id": restriction_id, "kind": kind, "channel": channel,
            "at": at.isoformat(), "until": until_on.isoformat() if until_on else None,
        })
        uow.commit()
    return restriction_id


def lift_restriction(app: App, *, borrower_id: str, kind: str, at: datetime,
                     channel: str | None = None, actor: str = "system") -> int:
    """Lift the borrower's restrictions of `kind` (on `channel`, when given); how many."""
    require_aware(at, "lift")
    with app.uow(actor) as uow:
        conn = uow.connection
        _borrower(conn, borrower_id)
        condition = [
            contact_restrictions.c.borrower_id == borrower_id,
            contact_restrictions.c.kind == kind,
            contact_restrictions.c.lifted_at.is_(None),
        ]
        if channel is not None:
            condition.append(contact_restrictions.c.channel == channel)
        lifted = conn.execute(update(contact_restrictions).where(*condition).values(
            lifted_at=repo.as_utc(at)))
        if lifted.rowcount == 0:
            where = f" on {channel}" if channel else ""
            raise NotFound(f"borrower {borrower_id} has no {kind}{where} in force to lift")
        uow.audit("ContactRestrictionLifted", borrower_id, {
            "kind": kind, "channel": channel, "at": at.isoformat(), "lifted": lifted.rowcount,
        })
        uow.commit()
    return int(lifted.rowcount)


def set_preferences(app: App, *, borrower_id: str, channels: list[str] | None,
                    agreed: tuple[str, str] | None, actor: str = "system") -> None:
    """The borrower's preferred channels and a time they agreed to be contacted at."""
    names = sorted({channel_of(c).value for c in channels or []})
    if agreed is not None:
        try:
            start, end = (time.fromisoformat(t) for t in agreed)
        except ValueError:
            raise InvalidInput(f"agreed time {agreed[0]}-{agreed[1]} is not HH:MM-HH:MM") from None
        if end <= start:
            raise InvalidInput(f"agreed time ends ({agreed[1]}) before it starts ({agreed[0]})")
    with app.uow(actor) as uow:
        _borrower(uow.connection, borrower_id)
        repo.upsert(uow.connection, contact_preferences, [{
            "borrower_id": borrower_id, "preferred_channels": ",".join(names),
            "agreed_from": agreed[0] if agreed else None, "agreed_to": agreed[1] if agreed else None,
            "updated_at": app.clock.now(),
        }], ["borrower_id"], ["preferred_channels", "agreed_from", "agreed_to", "updated_at"])
        uow.audit("ContactPreferencesSet", borrower_id, {
            "channels": names, "agreed": list(agreed) if agreed else None,
        })
        uow.commit()
