"""A borrower signs in with their phone number and a one-time code sent to it by SMS.

Codes are six random digits, stored only as a keyed hash (the blind-index key: a plain hash
of a six-digit code is reversed at once), valid a few minutes, used once. A phone gets a
limited number of codes per window; too many wrong codes lock it for a while. Requests for
a number that is not a borrower's are recorded and answered exactly like the others, so
the sign-in page does not tell anyone whose number is in the books.

The code is a transactional message the borrower asked for, not a collection contact: it
carries no debt information, so the compliance guard's quiet hours and holds (a complaint
pauses collection, never the borrower's own access) do not apply. It leaves through the
contacts outbox (services/sign_in_message.py): the code and its message are written in one
transaction, then, because the borrower is waiting, this process claims and sends that one
message at once by the worker's own path; if the provider is down the message stays in the
outbox and `fairdue worker` retries it while the code is still valid.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update

from fairdue.adapters.channels import sender_for
from fairdue.adapters.db.strategy_repo import as_utc
from fairdue.adapters.db.tables import borrowers, contacts
from fairdue.adapters.db.tables_web import borrower_login_codes
from fairdue.bootstrap import App
from fairdue.errors import FairdueError, InvalidInput
from fairdue.services.dispatch import Dispatcher
from fairdue.services.sign_in_message import LANGUAGES, SIGN_IN_TEMPLATE, seal_code

CODE_DIGITS = 6
#: Ahead of the day's collection messages in the outbox: somebody is waiting for it.
SIGN_IN_PRIORITY = 100


class CodeRefused(FairdueError):
    """The code is wrong, expired, used, or the phone is locked after too many failures."""


class TooManyCodes(FairdueError):
    """Too many codes asked for this phone in the window, or the phone is locked."""


@dataclass(frozen=True)
class CodeRequested:
    """What the page may say: the same whether or not the number is a borrower's."""

    expires_in_minutes: int


def phone_forms(phone: str) -> list[str]:
    """The ways a number may have been stored (as imported: `13812341234`, `+8613812341234`)."""
    raw = phone.strip().replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    digits = raw[1:] if raw.startswith("+") else raw
    if not digits.isdigit() or not 6 <= len(digits) <= 15:
        raise InvalidInput(f"{phone.strip()!r} is not a phone number; type the mobile number "
                           "the lender has, e.g. 13812341234")
    forms = [raw]
    if raw.startswith("+86"):
        forms.append(raw[3:])
    elif len(digits) == 11 and digits.startswith("1"):
        forms.append("+86" + digits)
    return forms


def _code_hash(app: App, code_id: str, code: str) -> str:
    return app.keys.blind_index(f"otp|{code_id}|{code}")


def _locked(app: App, conn: Connection, index: str, now: datetime) -> bool:
    """Whether a code for this phone was locked (too many wrong tries) within the lock time."""
    since = now - timedelta(minutes=app.settings.otp_lock_minutes)
    found = conn.execute(
        select(func.count()).select_from(borrower_login_codes).where(
            borrower_login_codes.c.phone_index == index,
            borrower_login_codes.c.locked_at >= as_utc(since)))
    return bool(found.scalar())


def request_code(app: App, phone: str, *, language: str = "zh-CN") -> CodeRequested:
    """Send a sign-in code to `phone` if it is a borrower's; refuse (TooManyCodes) past the
    rate limit or while the phone is locked."""
    forms = phone_forms(phone)
    indexes = [app.keys.blind_index(f) for f in forms]
    now = app.clock.now()
    settings = app.settings
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    code_id = "OTP-" + secrets.token_hex(16)
    with app.uow("borrower-login") as uow:
        uow.write_lock()
        conn = uow.connection
        found = conn.execute(
            select(borrowers.c.borrower_id, borrowers.c.pii, borrowers.c.language,
                   borrowers.c.phone_index)
            .where(borrowers.c.phone_index.in_(indexes))
            .order_by(borrowers.c.borrower_id)).first()
        index = found.phone_index if found is not None else indexes[0]
        # Codes older than two days count toward no limit or lock (the longest lock allowed
        # is a day): purge them for this number.
        conn.execute(delete(borrower_login_codes).where(
            borrower_login_codes.c.phone_index == index,
            borrower_login_codes.c.created_at < as_utc(now - timedelta(days=2))))
        if _locked(app, conn, index, now):
            raise TooManyCodes(f"too many wrong codes for this number; wait "
                               f"{settings.otp_lock_minutes} minutes, or call the hotline "
                               f"{settings.hotline}")
        window_start = now - timedelta(minutes=settings.otp_window_minutes)
        recent = conn.execute(select(func.count()).select_from(borrower_login_codes).where(
            borrower_login_codes.c.phone_index == index,
            borrower_login_codes.c.created_at >= as_utc(window_start))).scalar() or 0
        if recent >= settings.otp_max_per_window:
            raise TooManyCodes(f"{recent} codes were sent to this number in the last "
                               f"{settings.otp_window_minutes} minutes; wait, then ask again")
        conn.execute(insert(borrower_login_codes).values(
            code_id=code_id, phone_index=index,
            borrower_id=found.borrower_id if found is not None else None,
            code_hash=_code_hash(app, code_id, code) if found is not None else None,
            code_sealed=seal_code(app, code_id, code) if found is not None else None,
            created_at=now, expires_at=now + timedelta(minutes=settings.otp_minutes),
            failures=0, used_at=None, locked_at=None,
            send_status="queued" if found is not None else "no_borrower"))
        if found is not None:
            moment = as_utc(now)
            conn.execute(insert(contacts).values(
                contact_id=code_id, case_id=None, borrower_id=found.borrower_id,
                decision_id=None, channel="sms", template=SIGN_IN_TEMPLATE,
                language=language if language in LANGUAGES else found.language,
                priority=SIGN_IN_PRIORITY, scheduled_at=moment, status="scheduled",
                reason="sign-in code asked for on the portal", attempts=0,
                # The code id is unique already, and keeps the message findable by a person:
                # with the file channel it is the file OTP-<...>.json.
                idempotency_key=code_id, created_at=moment, updated_at=moment))
        uow.audit("SignInCodeRequested", found.borrower_id if found is not None else "-",
                  {"code_id": code_id, "known": found is not None})
        uow.commit()
    if found is None:
        return CodeRequested(settings.otp_minutes)
    status = _send_now(app, code_id)
    with app.uow("borrower-login") as uow:
        uow.connection.execute(update(borrower_login_codes)
                               .where(borrower_login_codes.c.code_id == code_id)
                               .values(send_status=status))
        uow.commit()
    if status in ("failed", "dead", "unknown"):
        raise InvalidInput("the code could not be sent just now; try again in a minute")
    return CodeRequested(settings.otp_minutes)


def _send_now(app: App, code_id: str) -> str:
    """Claim and send the code's message by the worker's path; its status afterwards
    (`scheduled`: the provider failed for now and the worker will try again)."""
    sender = sender_for(app.settings.sms_url)
    dispatcher = Dispatcher(app, {"sms": sender}, app.templates, concurrency=1,
                            max_attempts=app.settings.max_send_attempts)
    try:
        dispatcher.run_batch(only=[code_id])
    finally:
        dispatcher.close()
        sender.close()
    with app.engine.connect() as conn:
        return str(conn.execute(select(contacts.c.status)
                                .where(contacts.c.contact_id == code_id)).scalar_one())


def verify_code(app: App, phone: str, code: str) -> str:
    """The borrower id the code signs in; `CodeRefused` for a wrong, expired or used code
    (each wrong try counts; the limit locks the phone)."""
    forms = phone_forms(phone)
    indexes = [app.keys.blind_index(f) for f in forms]
    now = app.clock.now()
    settings = app.settings
    typed = code.strip()
    with app.uow("borrower-login") as uow:
        uow.write_lock()
        conn = uow.connection
        live = conn.execute(
            select(borrower_login_codes)
            .where(borrower_login_codes.c.phone_index.in_(indexes),
                   borrower_login_codes.c.used_at.is_(None),
                   borrower_login_codes.c.locked_at.is_(None),
                   borrower_login_codes.c.expires_at > as_utc(now))
            .order_by(borrower_login_codes.c.created_at.desc())
            .with_for_update()).first()
        if live is not None and _locked(app, conn, live.phone_index, now):
            live = None
        if live is None or live.code_hash is None:
            raise CodeRefused("that code is not valid: it is wrong, expired or used, or there "
                              "were too many wrong tries; ask for a new code")
        good = typed.isdigit() and hmac.compare_digest(
            _code_hash(app, live.code_id, typed), live.code_hash)
        if not good:
            failures = live.failures + 1
            locked = failures >= settings.otp_max_failures
            conn.execute(update(borrower_login_codes)
                         .where(borrower_login_codes.c.code_id == live.code_id)
                         .values(failures=failures, locked_at=as_utc(now) if locked else None,
                                 code_sealed=None if locked else live.code_sealed))
            uow.audit("SignInCodeRefused", live.borrower_id or "-",
                      {"code_id": live.code_id, "failures": failures, "locked": locked})
            uow.commit()
            left = settings.otp_max_failures - failures
            if locked:
                raise CodeRefused(f"too many wrong codes; this number is locked for "
                                  f"{settings.otp_lock_minutes} minutes")
            raise CodeRefused(f"that code is wrong; {left} more tries before the number is locked")
        conn.execute(update(borrower_login_codes)
                     .where(borrower_login_codes.c.code_id == live.code_id)
                     .values(used_at=as_utc(now), code_sealed=None))
        # Any other live code for the number dies with this sign-in.
        conn.execute(update(borrower_login_codes)
                     .where(borrower_login_codes.c.phone_index == live.phone_index,
                            borrower_login_codes.c.used_at.is_(None))
                     .values(used_at=as_utc(now), code_sealed=None))
        uow.audit("BorrowerSignedIn", live.borrower_id, {"code_id": live.code_id})
        uow.commit()
    return str(live.borrower_id)
