"""A borrower signs in with their phone number and a one-time code sent to it by SMS.

Codes are six random digits, stored only as a keyed hash (the blind-index key: a plain hash
of a six-digit code is reversed at once), valid a few minutes, used once. A phone gets a
limited number of codes per window; too many wrong codes lock it for a while. Requests for
a number that is not a borrower's are recorded and answered exactly like the others, so
the sign-in page does not tell anyone whose number is in the books.

The code is a transactional message the borrower asked for, not a collection contact: it
carries no debt information, so the compliance guard's quiet hours and holds (a complaint
pauses collection, never the borrower's own access) do not apply. It leaves through the SMS
channel configured for the outbox (FAIRDUE_SMS_URL) at once, because the borrower is
waiting; the row is written first, so a failed send is visible as `send_status`.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Connection, delete, func, insert, select, update

from fairdue.adapters.channels import sender_for
from fairdue.adapters.db.strategy_repo import as_utc
from fairdue.adapters.db.tables import borrowers
from fairdue.adapters.db.tables_web import borrower_login_codes
from fairdue.bootstrap import App
from fairdue.domain.messages import OutboundMessage, SendOutcome
from fairdue.errors import FairdueError, InvalidInput

CODE_DIGITS = 6
LANGUAGES = ("zh-CN", "en")


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


def _render(app: App, language: str, code: str) -> str:
    lang = language if language in LANGUAGES else "zh-CN"
    folder = resources.files("fairdue") / "templates" / "transactional" / lang
    source = (folder / "otp_sms.j2").read_text(encoding="utf-8")
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True,
                               lstrip_blocks=True)
    text = env.from_string(source).render(lender_name=app.settings.lender_name, code=code,
                                          minutes=app.settings.otp_minutes)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


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
            created_at=now, expires_at=now + timedelta(minutes=settings.otp_minutes),
            failures=0, used_at=None, locked_at=None,
            send_status="pending" if found is not None else "no_borrower"))
        uow.audit("SignInCodeRequested", found.borrower_id if found is not None else "-",
                  {"code_id": code_id, "known": found is not None})
        uow.commit()
    if found is None:
        return CodeRequested(settings.otp_minutes)
    pii = app.keys.cipher.open(found.pii, aad=found.borrower_id)
    to = pii["phones"][0]
    lang = language if language in LANGUAGES else found.language
    message = OutboundMessage(contact_id=code_id, idempotency_key=code_id, channel="sms", to=to,
                              language=lang, body=_render(app, lang, code),
                              borrower_id=found.borrower_id)
    sender = sender_for(settings.sms_url)
    try:
        result = sender.send(message)
    finally:
        sender.close()
    status = "sent" if result.outcome is SendOutcome.ACCEPTED else "failed"
    with app.uow("borrower-login") as uow:
        uow.connection.execute(update(borrower_login_codes)
                               .where(borrower_login_codes.c.code_id == code_id)
                               .values(send_status=status))
        uow.commit()
    if status == "failed":
        raise InvalidInput("the code could not be sent just now; try again in a minute")
    return CodeRequested(settings.otp_minutes)


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
                         .values(failures=failures, locked_at=as_utc(now) if locked else None))
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
                     .values(used_at=as_utc(now)))
        # Any other live code for the number dies with this sign-in.
        conn.execute(update(borrower_login_codes)
                     .where(borrower_login_codes.c.phone_index == live.phone_index,
                            borrower_login_codes.c.used_at.is_(None))
                     .values(used_at=as_utc(now)))
        uow.audit("BorrowerSignedIn", live.borrower_id, {"code_id": live.code_id})
        uow.commit()
    return str(live.borrower_id)
