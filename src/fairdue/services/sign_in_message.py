"""A borrower's sign-in code as an outbox message.

The code leaves through the contacts outbox like every other message (one row written in
the same transaction as the code, claimed, sent once with its idempotency key, retried by
the worker, its receipt applied), so there is one way out of the system and one record of
what was sent. It is not a collection contact: it says nothing of any debt and the borrower
asked for it, so the dispatcher sends it without the guard's quiet hours, holds or caps, and
its attempts and receipts do not count as contact attempts on the debt.

The dispatcher writes the code into the SMS from a sealed copy (AES-GCM with the PII key,
bound to the code id); a code that was used, locked or has expired before the message left
is not sent at all: it could sign nobody in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from importlib import resources

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Connection, select

from fairdue.adapters.db.strategy_repo import as_utc
from fairdue.adapters.db.tables_web import borrower_login_codes
from fairdue.bootstrap import App
from fairdue.settings import Settings

#: The contacts outbox's template name for a sign-in code (rendered from the transactional
#: templates, not the collection message set).
SIGN_IN_TEMPLATE = "sign_in_code"
LANGUAGES = ("zh-CN", "en")


def is_sign_in(template: str | None) -> bool:
    return template == SIGN_IN_TEMPLATE


def seal_code(app: App, code_id: str, code: str) -> bytes:
    return app.keys.cipher.seal({"code": code}, aad=_aad(code_id))


def live_codes(app: App, conn: Connection, code_ids: Iterable[str], now: datetime
               ) -> dict[str, str]:
    """The codes, in clear, of those of `code_ids` that can still sign someone in."""
    wanted = list(code_ids)
    if not wanted:
        return {}
    rows = conn.execute(
        select(borrower_login_codes.c.code_id, borrower_login_codes.c.code_sealed)
        .where(borrower_login_codes.c.code_id.in_(wanted),
               borrower_login_codes.c.used_at.is_(None),
               borrower_login_codes.c.locked_at.is_(None),
               borrower_login_codes.c.expires_at > as_utc(now),
               borrower_login_codes.c.code_sealed.is_not(None))).all()
    return {r.code_id: str(app.keys.cipher.open(r.code_sealed, aad=_aad(r.code_id))["code"])
            for r in rows}


def render_sign_in(settings: Settings, language: str, code: str) -> tuple[str, str]:
    """The SMS text and its language (zh-CN unless the borrower reads English)."""
    lang = language if language in LANGUAGES else "zh-CN"
    folder = resources.files("fairdue") / "templates" / "transactional" / lang
    source = (folder / "otp_sms.j2").read_text(encoding="utf-8")
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True,
                               lstrip_blocks=True)
    text = env.from_string(source).render(lender_name=settings.lender_name, code=code,
                                          minutes=settings.otp_minutes)
    return "\n".join(line.rstrip() for line in text.strip().splitlines()), lang


def _aad(code_id: str) -> str:
    return f"otp|{code_id}"
