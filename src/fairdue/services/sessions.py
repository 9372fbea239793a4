"""Server-side sessions for staff and borrowers: a browser's cookie or an API bearer token.

The client holds a 256-bit random token; the database holds only its SHA-256, the
principal, an expiry and a per-session CSRF token, so a stolen copy of the table signs no
one in and a session can be ended at once (sign-out, or an operator revoking it).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update

from fairdue.adapters.db.strategy_repo import as_utc, utc
from fairdue.adapters.db.tables_web import web_sessions
from fairdue.bootstrap import App
from fairdue.errors import InvalidInput

TRANSPORTS = ("cookie", "bearer")
PURGE_AFTER = timedelta(days=1)
KINDS = ("staff", "borrower")


@dataclass(frozen=True)
class Session:
    """Who a token belongs to: a staff user (role from ROLES) or a borrower (role "borrower")."""

    kind: str
    principal_id: str
    role: str
    transport: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Opened:
    token: str
    session: Session


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(app: App, *, kind: str, principal_id: str, role: str, transport: str) -> Opened:
    """A new session; the token is returned once and never stored in clear."""
    if kind not in KINDS or transport not in TRANSPORTS:
        raise InvalidInput(f"unknown session kind {kind!r} or transport {transport!r}")
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = app.clock.now()
    expires = now + timedelta(hours=app.settings.session_hours)
    with app.uow(principal_id) as uow:
        # The principal's sessions that ended (expired or signed out) a day ago or more are
        # of no further use: purge them here, so the table does not grow without bound.
        uow.connection.execute(delete(web_sessions).where(
            web_sessions.c.principal_id == principal_id,
            web_sessions.c.expires_at < as_utc(now - PURGE_AFTER)))
        uow.connection.execute(insert(web_sessions).values(
            token_hash=token_hash(token), principal_kind=kind, principal_id=principal_id,
            role=role, transport=transport, csrf_token=csrf, created_at=now, expires_at=expires,
            revoked_at=None))
        uow.audit("SessionOpened", principal_id, {"kind": kind, "role": role,
                                                  "transport": transport})
        uow.commit()
    return Opened(token, Session(kind, principal_id, role, transport, csrf, expires))


def find_session(app: App, token: str, transport: str) -> Session | None:
    """The live session this token opens over `transport`, or None (unknown, expired,
    revoked, or a cookie token presented as a bearer token and vice versa)."""
    if not token or len(token) > 256:
        return None
    with app.engine.connect() as conn:
        row = conn.execute(select(web_sessions).where(
            web_sessions.c.token_hash == token_hash(token))).first()
    if row is None or row.transport != transport or row.revoked_at is not None:
        return None
    expires = utc(row.expires_at)
    if expires is None or expires <= app.clock.now():
        return None
    return Session(row.principal_kind, row.principal_id, row.role, row.transport,
                   row.csrf_token, expires)


def end_session(app: App, token: str) -> bool:
    """Revoke the session of this token (sign-out); whether there was a live one."""
    now = app.clock.now()
    with app.uow("web") as uow:
        ended = uow.connection.execute(
            update(web_sessions)
            .where(web_sessions.c.token_hash == token_hash(token),
                   web_sessions.c.revoked_at.is_(None))
            .values(revoked_at=as_utc(now)))
        if ended.rowcount:
            uow.audit("SessionEnded", token_hash(token)[:16], {})
        uow.commit()
    return bool(ended.rowcount)
