"""Staff accounts: who may sign in, with which role, checked against an argon2 hash.

Passwords are never stored or logged; only argon2id hashes (argon2-cffi's defaults, which
follow RFC 9106's recommendations). A wrong user name and a wrong password give the same
answer, and both take an argon2 verification, so an attacker learns nothing from either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from fairdue.adapters.db.strategy_repo import as_utc, utc
from fairdue.adapters.db.tables_visits import field_agents
from fairdue.adapters.db.tables_web import staff_users
from fairdue.bootstrap import App
from fairdue.domain.field_agents import check_badge
from fairdue.errors import FairdueError, InvalidInput

#: The staff roles (docs/interfaces.md); what each may do is in fairdue.api.permissions.
ROLES: tuple[str, ...] = ("agent", "field_agent", "supervisor", "compliance", "admin")

MIN_PASSWORD = 10
#: Wrong passwords in a row before the account is locked, and for how long.
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_HASHER = PasswordHasher()
# Verified when the user does not exist, so that the answer takes as long as a real check.
_DUMMY_HASH = _HASHER.hash("fairdue-no-such-user-padding")


class SignInRefused(FairdueError):
    """The user name or the password is wrong, or the account is disabled."""


@dataclass(frozen=True)
class StaffUser:
    username: str
    role: str
    badge: str | None = None


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    return role


def add_user(app: App, name: str, role: str, password: str, *, actor: str = "cli",
             badge: str | None = None) -> StaffUser:
    """Create a staff account (or refuse a taken name); the password is kept as an argon2
    hash only. The demo and `fairdue user add` both come through here.

    A field agent's account names their badge (registered first with `fairdue agent add`):
    the field pages show them the visits of the crews that badge belongs to, and nothing
    else. Only field agents carry a badge, and one badge has one account."""
    if not _NAME.match(name):
        raise InvalidInput(f"user name {name!r} must be 2-64 lower-case letters, digits, '.', "
                           "'_' or '-', starting with a letter or digit")
    check_role(role)
    if badge is not None:
        badge = check_badge(badge)
        if role != "field_agent":
            raise InvalidInput(f"only a field_agent account carries a badge (not {role})")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must be at least {MIN_PASSWORD} characters long")
    hashed = _HASHER.hash(password)
    now = app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        if conn.execute(select(staff_users.c.username)
                        .where(staff_users.c.username == name)).first() is not None:
            raise InvalidInput(f"user {name!r} exists already; choose another name")
        if badge is not None:
            _check_badge_free(conn, badge)
        conn.execute(insert(staff_users).values(
            username=name, role=role, password_hash=hashed, active=True, failed_logins=0,
            locked_until=None, created_at=now, updated_at=now, badge=badge))
        uow.audit("StaffUserAdded", name, {"role": role, "badge": badge})
        uow.commit()
    return StaffUser(name, role, badge)


def _check_badge_free(conn: Connection, badge: str) -> None:
    """The badge is registered (`fairdue agent add`) and no other account holds it."""
    if conn.execute(select(field_agents.c.badge)
                    .where(field_agents.c.badge == badge)).first() is None:
        raise InvalidInput(f"badge {badge} is not registered; add the field agent first "
                           "(fairdue agent add --badge ...)")
    holder = conn.execute(select(staff_users.c.username)
                          .where(staff_users.c.badge == badge)).scalar()
    if holder is not None:
        raise InvalidInput(f"badge {badge} already belongs to user {holder!r}")


def badge_of(conn: Connection, username: str) -> str | None:
    """The badge linked to a field agent's account (None: not linked yet)."""
    found = conn.execute(select(staff_users.c.badge)
                         .where(staff_users.c.username == username)).scalar()
    return None if found is None else str(found)


def authenticate(app: App, username: str, password: str) -> StaffUser:
    """The active user with this name and password; `SignInRefused` otherwise (audited).

    `MAX_FAILED_LOGINS` wrong passwords in a row lock the account for `LOCK_MINUTES`; while
    locked even the right password is refused, with the same words as a wrong one, so a
    guesser cannot tell a lock from a miss."""
    now = app.clock.now()
    with app.engine.connect() as conn:
        row = conn.execute(select(staff_users).where(staff_users.c.username == username)).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
        matches = row is not None
    except (VerificationError, InvalidHashError):
        matches = False
    locked_until = utc(row.locked_until) if row is not None else None
    locked = locked_until is not None and locked_until > now
    if row is None or not matches or not row.active or locked:
        with app.uow("web") as uow:
            details: dict[str, object] = {"locked": locked}
            if row is not None and not matches and not locked:
                failures = int(row.failed_logins) + 1
                lock = failures >= MAX_FAILED_LOGINS
                uow.connection.execute(
                    update(staff_users).where(staff_users.c.username == username).values(
                        failed_logins=0 if lock else failures,
                        locked_until=as_utc(now + timedelta(minutes=LOCK_MINUTES)) if lock
                        else row.locked_until))
                details = {"failures": failures, "locked": lock}
            uow.audit("StaffSignInRefused", username[:64] or "-", details)
            uow.commit()
        raise SignInRefused("the user name or the password is wrong (or the account is "
                            "disabled or locked for a while); check both and try again")
    changes: dict[str, object] = {}
    if row.failed_logins or row.locked_until is not None:
        changes.update(failed_logins=0, locked_until=None)
    if _HASHER.check_needs_rehash(row.password_hash):
        changes["password_hash"] = _HASHER.hash(password)
    if changes:
        with app.uow(username) as uow:
            uow.connection.execute(update(staff_users).where(staff_users.c.username == username)
                                   .values(**changes))
            uow.commit()
    return StaffUser(row.username, row.role)


def staff_usernames(conn: Connection, role: str | None = None) -> list[str]:
    """Active staff, by name, optionally of one role (for assignment lists)."""
    query = select(staff_users.c.username).where(staff_users.c.active.is_(True))
    if role is not None:
        query = query.where(staff_users.c.role == role)
    return list(conn.execute(query.order_by(staff_users.c.username)).scalars())
