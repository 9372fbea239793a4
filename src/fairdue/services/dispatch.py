"""The outbox dispatcher behind `fairdue worker`: what is due leaves, lawfully, once.

Batch by batch: claim due messages (a short transaction of its own), then for each one
look again at the moment of sending (the case may have been paid, a dispute or complaint
filed, the window closed since the night's decision), render it from its template, send it
through the channel's sender with its idempotency key, and write every outcome of the
batch in one transaction. A worker killed at any point loses nothing: its claims expire
and are taken over; a provider that honours idempotency keys drops the repeat, and for one
that does not the message is marked `unknown` instead of being sent again (at most once).
"""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fairdue.adapters.db import outbox_repo as outbox
from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.bulk import insert_dicts
from fairdue.adapters.db.strategy_repo import upsert
from fairdue.adapters.db.tables import contact_attempts, contact_points
from fairdue.adapters.templates import TemplateSet, UnknownTemplate, lender_contact
from fairdue.bootstrap import App
from fairdue.domain.compliance.engine import zone
from fairdue.domain.compliance.guard import new_ledger
from fairdue.domain.compliance.model import Attempt, Channel, Decision, Party
from fairdue.domain.contact_holds import hold_refusal
from fairdue.domain.contact_outcomes import interpret
from fairdue.domain.contact_schedule import next_allowed, window_for, window_rule
from fairdue.domain.dispatch_rules import after_send
from fairdue.domain.message_context import MessageAbout, MessageContext, PlanDue, Slot
from fairdue.domain.messages import OutboundMessage, SendOutcome, SendResult
from fairdue.domain.money import Money
from fairdue.errors import FairdueError
from fairdue.services.contacts import fold_outcome
from fairdue.services.guard_feed import feed_guard, number_key
from fairdue.services.sign_in_message import is_sign_in, live_codes, render_sign_in

#: A claim older than this belongs to a worker that stopped; another may take it over.
CLAIM_LEASE = timedelta(minutes=5)

Senders = Mapping[str, Any]  # channel name -> fairdue.adapters.channels.Sender


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    dead: int = 0
    unknown: int = 0
    blocked: int = 0
    rescheduled: int = 0
    cancelled: int = 0
    batches: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> None:
        name = {"scheduled": "retrying"}.get(status, status)
        setattr(self, name, getattr(self, name) + 1)

    def add(self, other: DispatchReport) -> None:
        for name in ("claimed", "sent", "retrying", "failed", "dead", "unknown", "blocked",
                     "rescheduled", "cancelled", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for channel, n in other.by_channel.items():
            self.by_channel[channel] = self.by_channel.get(channel, 0) + n


@dataclass
class Dispatcher:
    """One worker's dispatching: the app, its senders per channel and its templates."""

    app: App
    senders: Senders
    templates: TemplateSet
    worker: str = field(default_factory=worker_name)
    batch_size: int = 200
    max_attempts: int = 5
    lease: timedelta = CLAIM_LEASE
    jitter: Callable[[], float] = random.random
    concurrency: int = 8

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency,
                                        thread_name_prefix="fairdue-send")
        self._lender = lender_contact(self.app.settings)  # the same for every message

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def run_once(self, *, now: datetime | None = None) -> DispatchReport:
        """Send everything due at `now` (default the clock), batch after batch."""
        total = DispatchReport()
        while True:
            report = self.run_batch(now=now)
            if report.claimed == 0:
                return total
            total.add(report)

    def run_batch(self, *, now: datetime | None = None,
                  only: Sequence[str] | None = None) -> DispatchReport:
        """Claim a batch of due messages (`only`: just these, if due) and send them."""
        # UTC: SQLite compares stored UTC text with the bound time's own wall clock.
        moment = (now or self.app.clock.now()).astimezone(UTC)
        report = DispatchReport()
        with self.app.uow(self.worker) as uow:
            claimed = outbox.claim_due(uow.connection, now=moment, worker=self.worker,
                                       limit=self.batch_size, stale_before=moment - self.lease,
                                       only=only)
            uow.commit()
        if not claimed:
            return report
        report.claimed, report.batches = len(claimed), 1
        stale = {c.contact_id for c in claimed if c.stale}
        with self.app.engine.connect() as conn:
            pending = outbox.load_pending(conn, [c.contact_id for c in claimed])
            borrowers = {p.borrower_id for p in pending}
            today = moment.astimezone(self.app.zone).date()
            owed = outbox.overdue_breakdown(conn, borrowers, today)
            restrictions = {
                b: [r for r in found if r.started_at <= moment]  # in force at sending time
                for b, found in repo.restrictions_of(conn, sorted(borrowers), today).items()
            }
            preferences = repo.preferences_of(conn, sorted(borrowers))
            bad = outbox.bad_points(conn, borrowers)
            news = outbox.case_news(conn, {
                p.case_id for p in pending if p.case_id and self._about(p) in _NEWS})
            codes = live_codes(self.app, conn, [p.contact_id for p in pending
                                                if is_sign_in(p.template)], moment)
        results: list[dict[str, Any]] = []
        failures: list[tuple[str, str, tuple[dict[str, Any], str | None]]] = []
        invalid: list[tuple[str, str, str]] = []
        profile = self.app.strategy.profile
        guard = new_ledger(profile)
        fed: set[str] = set()
        outgoing: list[tuple[outbox.Pending, dict[str, Any], OutboundMessage]] = []
        for item in pending:
            row = self._row(item, moment)
            prepared: str | OutboundMessage
            if item.contact_id in stale and not self.senders[item.channel].idempotent:
                prepared = _set(row, "unknown", error="the worker sending it stopped; this "
                                "provider does not drop repeats, so it is not sent again")
            elif is_sign_in(item.template):
                prepared = self._sign_in(item, row, codes, bad)
            else:
                tz = zone(item.timezone)
                if item.borrower_id not in fed:
                    feed_guard(guard, item.borrower_id, tz,
                               restrictions.get(item.borrower_id, []), (),
                               preferences.get(item.borrower_id), moment.astimezone(tz).date())
                    fed.add(item.borrower_id)
                prepared = self._one(item, row, moment, tz, guard, restrictions, owed, bad, news)
            report.by_channel[item.channel] = report.by_channel.get(item.channel, 0) + 1
            results.append(row)
            if isinstance(prepared, str):
                report.count(prepared)
            else:
                outgoing.append((item, row, prepared))
        answers = self._send_all([m for _, _, m in outgoing])
        for (item, row, _), answer in zip(outgoing, answers, strict=True):
            report.count(self._after(item, row, answer, moment, failures, invalid))
        with self.app.uow(self.worker) as uow:
            conn = uow.connection
            outbox.save_results(conn, results, worker=self.worker)
            # A send the provider refused is a failed attempt on that channel (S6).
            for borrower_id, channel, _ in failures:
                fold_outcome(conn, borrower_id, channel, moment, interpret("failed"))
            insert_dicts(conn, contact_attempts, [{
                "attempt_id": f"A-{r['contact_id']}-{r['attempts']}", "borrower_id": b,
                "case_id": case, "contact_id": r["contact_id"], "channel": c, "party": "debtor",
                "outcome": "failed", "disposition": None, "at": moment,
                "recorded_by": self.worker, "note": r["last_error"], "violated": None,
                "recorded_at": moment,
            } for b, c, (r, case) in failures])
            upsert(conn, contact_points, [
                {"borrower_id": b, "channel": c, "status": "invalid", "detail": d,
                 "updated_at": moment} for b, c, d in invalid
            ], ["borrower_id", "channel"], ["status", "detail", "updated_at"])
            uow.audit("MessagesDispatched", self.worker, {
                "claimed": report.claimed, "sent": report.sent, "retrying": report.retrying,
                "failed": report.failed, "dead": report.dead, "unknown": report.unknown,
                "blocked": report.blocked, "rescheduled": report.rescheduled,
                "cancelled": report.cancelled,
                # Contact points were decrypted to address the messages (a system read).
                "contact_points_read": report.claimed - report.cancelled - report.blocked,
            })
            uow.commit()
        return report

    def _row(self, item: outbox.Pending, now: datetime) -> dict[str, Any]:
        return {"contact_id": item.contact_id, "status": "sending", "attempts": item.attempts,
                "next_attempt_at": None, "scheduled_at": now, "provider_id": None,
                "last_error": None, "sent_at": None, "blocked_by": None, "blocked_reason": None,
                "claimed_by": None, "claimed_at": None, "updated_at": now}

    def _one(self, item: outbox.Pending, row: dict[str, Any], now: datetime, tz: Any,
             guard: Any, restrictions: Mapping[str, list[Any]],
             owed: Mapping[str, outbox.Breakdown], bad: set[tuple[str, str]],
             news: Mapping[str, outbox.CaseNews]) -> str | OutboundMessage:
        """Everything before the send: a final status (filled into `row`) or the message."""
        about = self._about(item)
        closed = not item.case_open or item.borrower_id not in owed
        if closed and about is not MessageAbout.NOTICE:  # a notice still goes: see MessageAbout
            return _set(row, "cancelled", error="nothing is overdue any more: the case was "
                        "closed before the message went out")
        facts = news.get(item.case_id or "", _NO_NEWS)
        stale_news = _stale_news(about, facts)
        if stale_news:
            return _set(row, "cancelled", error=stale_news)
        if (item.borrower_id, item.channel) in bad:
            return _set(row, "failed", error="the contact point is known to be invalid")
        kinds = {r.kind for r in restrictions.get(item.borrower_id, [])}
        verdict = hold_refusal(kinds, self.app.strategy.profile) or guard.judge_planned(Attempt(
            at=now, channel=Channel(item.channel), debtor=item.borrower_id, party=Party.DEBTOR,
            to=number_key(item.borrower_id, item.channel)))
        if not verdict.allowed:
            later = self._reschedule(verdict, now, tz)
            if later is not None:
                row["scheduled_at"] = later
                return _set(row, "scheduled", count_as="rescheduled")
            row["blocked_by"] = ",".join(verdict.rules)
            row["blocked_reason"] = " ".join(verdict.reasons)
            return _set(row, "blocked")
        try:
            message = self._message(item, owed.get(item.borrower_id), facts, tz)
        except FairdueError as exc:
            return _set(row, "dead", error=f"cannot render the message: {exc}")
        if message is None:
            return _set(row, "failed", error=f"the borrower has no {item.channel} contact point")
        return message

    def _sign_in(self, item: outbox.Pending, row: dict[str, Any], codes: Mapping[str, str],
                 bad: set[tuple[str, str]]) -> str | OutboundMessage:
        """A sign-in code the borrower is waiting for: no collection rule applies (see
        services/sign_in_message.py), but a code that can no longer be used is not sent."""
        code = codes.get(item.contact_id)
        if code is None:
            return _set(row, "cancelled", error="the sign-in code was used, locked or expired "
                        "before the message went out")
        if (item.borrower_id, item.channel) in bad:
            return _set(row, "failed", error="the contact point is known to be invalid")
        to = self._address(item)[1]
        if not to:
            return _set(row, "failed", error="the borrower has no sms contact point")
        body, language = render_sign_in(self.app.settings, item.language, code)
        return OutboundMessage(contact_id=item.contact_id, idempotency_key=item.idempotency_key,
                               channel=item.channel, to=to, language=language, body=body,
                               borrower_id=item.borrower_id)

    def _send_all(self, messages: list[OutboundMessage]) -> list[SendResult]:
        """Send a batch's messages, several requests at once (the senders are thread-safe):
        one message a request, or up to its batch size for a sender with a batch endpoint."""
        chunks: list[list[int]] = []
        for channel in {m.channel for m in messages}:
            indexes = [i for i, m in enumerate(messages) if m.channel == channel]
            size = self._batch_size(self.senders[channel])
            chunks.extend(indexes[start:start + size] for start in range(0, len(indexes), size))
        answers: dict[int, SendResult] = {}
        sent = self._pool.map(lambda chunk: self._send_chunk([messages[i] for i in chunk]), chunks)
        for chunk, results in zip(chunks, sent, strict=True):
            answers.update(zip(chunk, results, strict=True))
        return [answers[i] for i in range(len(messages))]

    @staticmethod
    def _batch_size(sender: Any) -> int:
        return int(getattr(sender, "batch_size", 1)) if hasattr(sender, "send_many") else 1

    def _send_chunk(self, messages: list[OutboundMessage]) -> list[SendResult]:
        sender = self.senders[messages[0].channel]
        try:
            if len(messages) > 1:
                results: list[SendResult] = sender.send_many(messages)
                return results
            return [sender.send(messages[0])]
        except Exception as exc:  # a sender must not raise; if one does, retry later
            failed = SendResult(SendOutcome.TRANSIENT, detail=f"sender error: {type(exc).__name__}")
            return [failed] * len(messages)

    def _after(self, item: outbox.Pending, row: dict[str, Any], result: SendResult,
               now: datetime, failures: list[tuple[str, str, tuple[dict[str, Any], str | None]]],
               invalid: list[tuple[str, str, str]]) -> str:
        """Fill `row` with what the provider's answer means; returns the status."""
        row["attempts"] = item.attempts + 1
        step = after_send(result, attempts=row["attempts"], max_attempts=self.max_attempts,
                          now=now, jitter=self.jitter())
        row["provider_id"] = result.provider_id
        if step.status == "sent":
            row["sent_at"] = now
        if step.retry_at is not None:
            row["next_attempt_at"] = step.retry_at
        if step.status == "failed":
            if not is_sign_in(item.template):  # not an attempt to reach them about the debt
                failures.append((item.borrower_id, item.channel, (row, item.case_id)))
            if step.contact_point_bad:
                invalid.append((item.borrower_id, item.channel, result.detail))
        return _set(row, step.status, error=step.error)

    def _reschedule(self, verdict: Decision, now: datetime, tz: Any) -> datetime | None:
        """A refusal by the window rule alone means "not now": move to the next opening."""
        if set(verdict.rules) != {window_rule(self.app.strategy.profile.parameters)}:
            return None
        return next_allowed(now, (tz,), window_for(self.app.strategy.profile.parameters))

    def _about(self, item: outbox.Pending) -> MessageAbout:
        return self.templates.about(item.template) if item.template else MessageAbout.COLLECTION

    def _address(self, item: outbox.Pending) -> tuple[dict[str, Any], str | None]:
        """The borrower's personal data (opened: a system read) and the point `item` goes to."""
        pii = self.app.keys.cipher.open(item.pii, aad=item.borrower_id)
        to = {"sms": (pii.get("phones") or [None])[0], "email": (pii.get("emails") or [None])[0],
              "push": pii.get("push_token")}.get(item.channel)
        return pii, to

    def _message(self, item: outbox.Pending, owed: outbox.Breakdown | None, facts: outbox.CaseNews,
                 tz: Any) -> OutboundMessage | None:
        pii, to = self._address(item)
        if not to:
            return None
        if not item.template:
            raise UnknownTemplate(f"contact {item.contact_id} names no template")
        if owed is None:  # a notice after the case closed: nothing is owed
            owed = outbox.Breakdown(self.app.settings.currency, 0, 0, 0, 0,
                                    self.app.clock.now().astimezone(tz).date(), 0)
        currency = owed.currency
        context = MessageContext(
            borrower_name=pii["name"], days_overdue=max(item.dpd, 1) if owed.loans else 0,
            principal=Money.from_minor(owed.principal, currency),
            interest=Money.from_minor(owed.interest, currency),
            fees=Money.from_minor(owed.fees, currency),
            penalty=Money.from_minor(owed.penalty, currency),
            oldest_due_date=owed.oldest_due, loans=owed.loans,
            lender=self._lender, profile=self.app.strategy.profile.name,
            plan_due=(PlanDue(facts.plan_due_on, Money.from_minor(facts.plan_due_minor, facts.plan_currency))
                      if facts.plan_due_on else None),
            visit=Slot(facts.visit[0].astimezone(tz), facts.visit[1].astimezone(tz)) if facts.visit else None,
            visit_slots=tuple(Slot(a.astimezone(tz), b.astimezone(tz)) for a, b in facts.offered),
        )
        rendered = self.templates.render(item.template, item.language, context)
        return OutboundMessage(
            contact_id=item.contact_id, idempotency_key=item.idempotency_key,
            channel=item.channel, to=to, language=rendered.language, body=rendered.body,
            subject=rendered.subject, borrower_id=item.borrower_id,
        )


#: Messages whose facts are read from the case's plan or visit when they are sent.
_NEWS = frozenset({MessageAbout.PLAN, MessageAbout.VISIT, MessageAbout.VISIT_SLOTS})
_NO_NEWS = outbox.CaseNews()


def _stale_news(about: MessageAbout, facts: outbox.CaseNews) -> str | None:
    """Why a message about a plan or a visit has nothing left to say, or None."""
    if about is MessageAbout.PLAN and facts.plan_due_on is None:
        return "the repayment plan is no longer in force, or nothing is left to pay on it"
    if about is MessageAbout.VISIT and facts.visit is None:
        return "the visit is no longer booked"
    if about is MessageAbout.VISIT_SLOTS and not facts.offered:
        return "the appointment times are no longer on offer"
    return None


def _set(row: dict[str, Any], status: str, *, error: str | None = None,
         count_as: str | None = None) -> str:
    row["status"] = status
    if error is not None:
        row["last_error"] = error
    return count_as or status
