"""Letters of authorisation (S9) and the borrower's check of a collector (S12).

Booking a visit issues one signed credential per collector (`issue_credentials`); the
letter printed from it carries the badge, the window, a QR code and a short code derived
from the Ed25519 signature. `verify_collector` is what the borrower's check calls (the CLI
`fairdue verify`, the public POST /api/v1/verify): it answers from the badge and the code
alone, says nothing about the borrower or the debt, logs every attempt, and raises an alert
when one badge keeps failing (someone may be posing as that collector).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from sqlalchemy import Connection, func, insert, select

from fairdue.adapters.db.strategy_repo import as_utc, utc
from fairdue.adapters.db.tables import borrowers
from fairdue.adapters.db.tables_visits import (
    field_agents,
    verification_alerts,
    verification_attempts,
    visit_credentials,
    visits,
)
from fairdue.bootstrap import App
from fairdue.domain.credentials import (
    AlertRule,
    Authorisation,
    Outcome,
    canonical,
    case_reference,
    judge,
    normalise_code,
    refused_message,
    validity_window,
    verification_code,
    verified_message,
)
from fairdue.domain.field_agents import FieldAgent, normalise_badge
from fairdue.errors import NotFound

_BADGE_LOG_LIMIT = 64


@dataclass(frozen=True)
class IssuedCredential:
    credential_id: str
    badge: str
    code: str
    valid_from: datetime
    valid_to: datetime


@dataclass(frozen=True)
class VerificationResult:
    """What the borrower is told: no borrower data, no debt, only yes/no and the window."""

    verified: bool
    message: str
    valid_from: datetime | None
    valid_to: datetime | None


def _code_digest(app: App, badge: str, code: str) -> str:
    return app.keys.blind_index(f"{badge}|{code}")


def issue_credentials(conn: Connection, app: App, *, visit_id: str, case_id: str,
                      agents: tuple[FieldAgent, ...] | list[FieldAgent], starts: datetime,
                      ends: datetime, now: datetime) -> list[IssuedCredential]:
    """Sign one letter of authorisation per collector, in the caller's transaction."""
    margin = timedelta(minutes=app.settings.credential_margin_minutes)
    valid_from, valid_to = validity_window(starts, ends, margin)
    ref = case_reference(app.keys.blind_index(f"case|{case_id}"))
    issued = []
    for agent in agents:
        earlier = conn.execute(select(func.count()).where(
            visit_credentials.c.visit_id == visit_id, visit_credentials.c.badge == agent.badge)).scalar_one()
        # A visit moved to another time gets new letters; the old ones stay, revoked.
        credential_id = (f"AUTH-{visit_id}-{agent.badge}" + (f"-{earlier + 1}" if earlier else ""))[:64]
        grant = Authorisation(credential_id, visit_id, agent.badge, agent.name,
                              app.settings.lender_name, ref, valid_from, valid_to, now)
        signature = app.keys.signing_key.sign(grant.signed_bytes())
        code = verification_code(signature)
        conn.execute(insert(visit_credentials).values(
            credential_id=credential_id, visit_id=visit_id, badge=agent.badge,
            code_digest=_code_digest(app, agent.badge, code),
            payload=json.dumps(grant.payload(), ensure_ascii=False, sort_keys=True),
            signature=signature.hex(), valid_from=as_utc(valid_from), valid_to=as_utc(valid_to),
            issued_at=as_utc(now)))
        issued.append(IssuedCredential(credential_id, agent.badge, code, valid_from, valid_to))
    return issued


def credential(conn: Connection, credential_id: str) -> dict[str, Any]:
    row = conn.execute(select(visit_credentials)
                       .where(visit_credentials.c.credential_id == credential_id)).mappings().first()
    if row is None:
        raise NotFound(f"no credential {credential_id!r}; `fairdue visit list` shows booked visits")
    payload = json.loads(row["payload"])
    return {**dict(row), "payload": payload,
            "code": verification_code(bytes.fromhex(row["signature"])),
            "valid_from": utc(row["valid_from"]), "valid_to": utc(row["valid_to"])}


def credentials_of_visit(conn: Connection, visit_id: str) -> list[dict[str, Any]]:
    ids = conn.execute(select(visit_credentials.c.credential_id)
                       .where(visit_credentials.c.visit_id == visit_id)
                       .order_by(visit_credentials.c.badge)).scalars().all()
    return [credential(conn, i) for i in ids]


def verify_collector(app: App, badge: str, code: str, now: datetime | None = None, *,
                     source: str = "api") -> VerificationResult:
    """The borrower's check: is the person with this badge, showing this code, authorised
    to visit now? Logged whatever the answer; repeated failures raise an alert."""
    moment = now or app.clock.now()
    wanted = normalise_badge(badge)[:_BADGE_LOG_LIMIT]
    typed = normalise_code(code)
    refusal = VerificationResult(False, refused_message(app.settings.verify_hotline), None, None)
    with app.uow("verification") as uow:
        conn = uow.connection
        outcome, row = _judge(app, conn, wanted, typed, moment)
        conn.execute(insert(verification_attempts).values(
            badge=wanted or "-", at=as_utc(moment), verified=outcome is Outcome.VERIFIED,
            outcome=outcome.value, credential_id=row["credential_id"] if row else None,
            source=source[:16]))
        if outcome is not Outcome.VERIFIED:
            _maybe_alert(app, uow, wanted or "-", moment)
        uow.commit()
    if outcome is not Outcome.VERIFIED or row is None:
        return refusal
    valid_from, valid_to = utc(row["valid_from"]), utc(row["valid_to"])
    assert valid_from is not None and valid_to is not None
    payload = json.loads(row["payload"])
    return VerificationResult(True, verified_message(valid_from, valid_to, row["zone"],
                                                     payload["agent_name"], payload["badge"]),
                              valid_from, valid_to)


def _judge(app: App, conn: Connection, badge: str, code: str | None, now: datetime
           ) -> tuple[Outcome, Any]:
    if not badge or code is None:
        return Outcome.MALFORMED, None
    row = conn.execute(
        select(visit_credentials, borrowers.c.timezone)
        .select_from(visit_credentials)
        .join(visits, visits.c.visit_id == visit_credentials.c.visit_id)
        .join(borrowers, borrowers.c.borrower_id == visits.c.borrower_id)
        .where(visit_credentials.c.code_digest == _code_digest(app, badge, code),
               visit_credentials.c.badge == badge)).mappings().first()
    if row is None:
        known = conn.execute(select(field_agents.c.badge).where(field_agents.c.badge == badge)).first()
        return (Outcome.WRONG_CODE if known else Outcome.UNKNOWN_BADGE), None
    payload = json.loads(row["payload"])
    try:
        app.keys.signing_key.public_key().verify(bytes.fromhex(row["signature"]), canonical(payload))
    except (InvalidSignature, ValueError):
        return Outcome.BAD_SIGNATURE, None
    valid_from, valid_to = utc(row["valid_from"]), utc(row["valid_to"])
    assert valid_from is not None and valid_to is not None
    if payload.get("badge") != badge or verification_code(bytes.fromhex(row["signature"])) != code:
        return Outcome.BAD_SIGNATURE, None
    outcome = judge(now, valid_from, valid_to, row["revoked_at"] is not None)
    return outcome, {**dict(row), "zone": ZoneInfo(row["timezone"])}


def _maybe_alert(app: App, uow: Any, badge: str, now: datetime) -> None:
    rule = AlertRule(app.settings.verify_alert_failures,
                     timedelta(minutes=app.settings.verify_alert_window_minutes))
    conn = uow.connection
    since = now - rule.window
    failures = conn.execute(select(func.count()).where(
        verification_attempts.c.badge == badge, verification_attempts.c.verified.is_(False),
        verification_attempts.c.at > as_utc(since), verification_attempts.c.at <= as_utc(now))
    ).scalar_one()
    last = utc(conn.execute(select(func.max(verification_alerts.c.raised_at))
                            .where(verification_alerts.c.badge == badge)).scalar())
    if not rule.raises(int(failures), last, now):
        return
    alert_id = f"VA-{badge}-{now.astimezone(ZoneInfo('UTC')):%Y%m%d%H%M%S%f}"[:96]
    conn.execute(insert(verification_alerts).values(
        alert_id=alert_id, badge=badge, raised_at=as_utc(now), failures=int(failures),
        window_from=as_utc(since), status="open"))
    uow.audit("VerificationAlertRaised", badge[:64], {
        "alert_id": alert_id, "failures": int(failures),
        "window_minutes": app.settings.verify_alert_window_minutes})


def find_alerts(conn: Connection, *, status: str | None = None) -> list[dict[str, Any]]:
    query = select(verification_alerts)
    if status is not None:
        query = query.where(verification_alerts.c.status == status)
    return [{**dict(r), "raised_at": utc(r["raised_at"]), "window_from": utc(r["window_from"])}
            for r in conn.execute(query.order_by(verification_alerts.c.raised_at)).mappings()]


def find_attempts(conn: Connection, *, badge: str | None = None) -> list[dict[str, Any]]:
    query = select(verification_attempts)
    if badge is not None:
        query = query.where(verification_attempts.c.badge == normalise_badge(badge))
    return [{**dict(r), "at": utc(r["at"])}
            for r in conn.execute(query.order_by(verification_attempts.c.attempt_no)).mappings()]


def write_credential_letter(app: App, credential_id: str, path: str) -> str:
    """Print a credential's letter of authorisation to `path` (HTML); returns the path."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from fairdue.adapters.credential_letter import Letter, write_letter

    with app.engine.connect() as conn:
        found = credential(conn, credential_id)
        member = conn.execute(select(field_agents.c.team, field_agents.c.photo_sha256)
                              .where(field_agents.c.badge == found["badge"])).one()
        zone_name = conn.execute(
            select(borrowers.c.timezone).select_from(visits)
            .join(borrowers, borrowers.c.borrower_id == visits.c.borrower_id)
            .where(visits.c.visit_id == found["visit_id"])).scalar_one()
    payload = found["payload"]
    public = app.keys.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    letter = Letter(
        lender=payload["lender"], agent_name=payload["agent_name"], badge=found["badge"],
        team=member.team, photo_sha256=member.photo_sha256, case_ref=payload["case_ref"],
        valid_from=found["valid_from"], valid_to=found["valid_to"], zone=ZoneInfo(zone_name),
        code=found["code"], credential_id=credential_id,
        payload=canonical(payload).decode(), signature_hex=found["signature"],
        public_key_hex=public.hex(), verify_hotline=app.settings.verify_hotline,
        verify_url=app.settings.verify_url)
    return str(write_letter(letter, path))
