"""Synthetic loans, their repayment schedules and the payments borrowers made against them.

All money is integer fen and is turned into a two-place decimal string only when written;
no float ever touches an amount. Dates are day ordinals, and the date and due-date
strings are cached, because a million-loan run only ever sees a few hundred distinct days.
"""

from __future__ import annotations

import calendar
import random
from bisect import bisect
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from typing import TextIO, TypeVar

PENALTY_DAILY_RATE = "0.0005"
# The product default penalty, 0.05% of the installment principal per day late, as
# a fraction 5/10000 so that it can be applied to integer fen exactly.
_PENALTY_NUM = 5
_PENALTY_DEN = 10_000

_T = TypeVar("_T")

CHANNELS = ("app", "bank_transfer", "alipay", "wechat_pay", "auto_debit")
_MANUAL_CHANNELS = ("app", "bank_transfer", "alipay", "wechat_pay")
_CHANNEL_CUM = list(accumulate((15, 10, 25, 20, 30)))

TERMS = (3, 6, 9, 12)
_TERM_CUM = list(accumulate((15, 25, 15, 45)))

# Principal in yuan: (lo, hi, weight) buckets, skewed to small loans.
_PRINCIPAL_BUCKETS = ((500, 1000, 14), (1000, 2000, 20), (2000, 3000, 16), (3000, 5000, 18),
                      (5000, 8000, 12), (8000, 12000, 8), (12000, 20000, 7),
                      (20000, 30000, 3), (30000, 50000, 2))
_PRINCIPAL_CUM = list(accumulate(w for _, _, w in _PRINCIPAL_BUCKETS))

# Annual rates in units of 0.0001 (720 = 7.20%), with weights; the legal ceiling is 24%.
_RATES = (720, 960, 1080, 1200, 1440, 1500, 1680, 1800, 2000, 2160, 2400)
_RATE_CUM = list(accumulate((3, 5, 6, 10, 12, 8, 10, 18, 10, 8, 10)))

_FEES_FEN = (0, 0, 0, 0, 0, 100, 200, 300, 500)

# Hours of the day people pay by hand (weights favour lunch and the evening).
_MANUAL_HOURS = tuple(h for h, w in zip(range(24), (
    1, 1, 0, 0, 0, 0, 1, 2, 4, 5, 5, 5, 7, 6, 4, 4, 4, 4, 5, 7, 8, 8, 6, 3), strict=True)
    for _ in range(w))
_EARLY_DAYS = (0,) * 60 + (1,) * 18 + (2,) * 10 + (3,) * 7 + (5,) * 5

# Borrower behaviours and their weights (per 1000 borrowers).
ON_TIME = "on_time"
OVERPAY = "overpay"
LATE_DAYS = "late_days"
LATE_LONG = "late_long"
PARTIAL = "partial"
STOPPED = "stopped"
BEHAVIOURS = (ON_TIME, OVERPAY, LATE_DAYS, LATE_LONG, PARTIAL, STOPPED)
BEHAVIOUR_WEIGHTS = (930, 10, 25, 10, 10, 15)
_BEHAVIOUR_CUM = list(accumulate(BEHAVIOUR_WEIGHTS))


_FEN_TEXT: dict[int, str] = {}
_FEN_MEMO_LIMIT = 100_000  # amounts below 1,000 yuan repeat endlessly; remember their text


def fen(amount: int) -> str:
    """Non-negative integer fen as a yuan string with exactly two places ("1234.50")."""
    text = _FEN_TEXT.get(amount)
    if text is None:
        yuan, cents = divmod(amount, 100)
        text = f"{yuan}.{cents:02d}"
        if amount < _FEN_MEMO_LIMIT:
            _FEN_TEXT[amount] = text
    return text


def add_months(start: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def penalty(principal: int, days: int) -> int:
    """Late penalty in fen on an installment's principal, rounded half-up to the fen."""
    return (2 * principal * _PENALTY_NUM * days + _PENALTY_DEN) // (2 * _PENALTY_DEN)


def schedule(principal: int, term: int, rate_bp: int, fee: int) -> list[tuple[int, int, int]]:
    """(principal, interest, fee) per installment, in fen.

    Equal principal, split by largest remainder so that the parts add up to the loan
    exactly (the first installments take the spare fen); interest is the outstanding
    principal times annual_rate/12, rounded half-up to the fen.
    """
    base, spare = divmod(principal, term)
    outstanding = principal
    rows = []
    for k in range(term):
        part = base + (1 if k < spare else 0)
        interest = (2 * outstanding * rate_bp + 120_000) // 240_000
        rows.append((part, interest, fee))
        outstanding -= part
    return rows


@dataclass(frozen=True, slots=True)
class _Schedule:
    """A loan's installments in fen before fees, with their text formatted once."""

    parts: tuple[int, ...]  # principal per installment
    texts: tuple[str, ...]  # "principal,interest," per installment
    totals: tuple[int, ...]  # principal + interest per installment


class LoanFactory:
    """Makes loans with schedules and payments and writes their rows as it goes.

    Rows go out as preformatted lines rather than through csv.writer: every field here
    is an id, a date, a number or a fixed code that this module builds itself, none can
    hold a comma, quote or newline, and skipping the quoting logic roughly halves the
    cost of the nine installment and six payment rows an average loan has.
    Random integers come from `random()` scaled down, which is several times cheaper
    than `randint` and just as reproducible.
    """

    def __init__(self, rng: random.Random, as_of: date, loans_out: TextIO,
                 installments_out: TextIO, payments_out: TextIO) -> None:
        self._rand = rng.random
        self._as_of = as_of.toordinal()
        self._iso: dict[int, str] = {}
        self._dues: dict[int, tuple[tuple[int, ...], tuple[str, ...]]] = {}
        self._schedules: dict[tuple[int, int, int], _Schedule] = {}
        self._clock: dict[int, str] = {}
        self._loans_out = loans_out
        self._installments_out = installments_out
        self._payments_out = payments_out
        self.installments = 0
        self.payments = 0

    def iso(self, ordinal: int) -> str:
        """`YYYY-MM-DD` for a day ordinal, cached: a run only sees a few hundred days."""
        text = self._iso.get(ordinal)
        if text is None:
            text = self._iso[ordinal] = date.fromordinal(ordinal).isoformat()
        return text

    def _due_dates(self, disbursed: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """Due days (ordinals and ISO text) for 12 months; at most 365 distinct starts."""
        dues = self._dues.get(disbursed)
        if dues is None:
            start = date.fromordinal(disbursed)
            days = tuple(add_months(start, k).toordinal() for k in range(1, 13))
            dues = self._dues[disbursed] = (days, tuple(self.iso(d) for d in days))
        return dues

    def _schedule(self, yuan: int, term: int, rate: int) -> _Schedule:
        """The schedule before fees with its amounts preformatted, cached for round amounts.

        Cash loans come in a few hundred round principals, so with terms and rates there
        are some 7,000 distinct schedules and the cache stays a few MB; shop-priced
        consumer loans rarely repeat and are not kept.
        """
        key = (yuan, term, rate)
        found = self._schedules.get(key)
        if found is not None:
            return found
        rows = schedule(yuan * 100, term, rate, 0)
        made = _Schedule(
            parts=tuple(p for p, _, _ in rows),
            texts=tuple(f"{fen(p)},{fen(i)}," for p, i, _ in rows),
            totals=tuple(p + i for p, i, _ in rows),
        )
        if yuan % 100 == 0:
            self._schedules[key] = made
        return made

    def behaviour(self) -> str:
        """A borrower's repayment behaviour, drawn with the documented weights."""
        return BEHAVIOURS[bisect(_BEHAVIOUR_CUM, self._rand() * _BEHAVIOUR_CUM[-1])]

    def channel(self) -> str:
        """A payment channel; a borrower's usual one, or an occasional other."""
        return CHANNELS[bisect(_CHANNEL_CUM, self._rand() * _CHANNEL_CUM[-1])]

    def _between(self, lo: int, hi: int) -> int:
        """A whole number from lo to hi inclusive."""
        return lo + int(self._rand() * (hi - lo + 1))

    def _pick(self, options: tuple[_T, ...]) -> _T:
        """A uniform choice, cheaper than `rng.choice` in the per-payment hot path."""
        return options[int(self._rand() * len(options))]

    def _time_of_day(self, channel: str) -> str:
        """"THH:MM:SS+08:00" at an hour that fits the channel (auto-debit runs early)."""
        rand = self._rand
        if channel == "auto_debit":
            hour = 6 + int(rand() * 4)
        elif channel == "bank_transfer":
            hour = 9 + int(rand() * 9)
        else:
            hour = _MANUAL_HOURS[int(rand() * len(_MANUAL_HOURS))]
        second = hour * 3600 + int(rand() * 3600)
        text = self._clock.get(second)
        if text is None:
            h, rest = divmod(second, 3600)
            text = self._clock[second] = f"T{h:02d}:{rest // 60:02d}:{rest % 60:02d}+08:00"
        return text

    def loan(self, loan_id: str, borrower_id: str, behaviour: str, channel: str) -> None:
        """Write one loan, its installments and its payments up to the as-of date."""
        rand = self._rand
        term = TERMS[bisect(_TERM_CUM, rand() * _TERM_CUM[-1])]
        cash = rand() < 0.75
        lo, hi, _ = _PRINCIPAL_BUCKETS[bisect(_PRINCIPAL_CUM, rand() * _PRINCIPAL_CUM[-1])]
        if cash:
            step = 1000 if lo >= 10_000 else 100
            yuan = self._between(lo // step, hi // step) * step
        else:
            yuan = self._between(lo, hi)
            if rand() < 0.5:  # shop prices like 2999
                yuan = max(lo, yuan // 100 * 100 - 1)
        yuan = min(max(yuan, 500), 50_000)
        rate = _RATES[bisect(_RATE_CUM, rand() * _RATE_CUM[-1])]
        fee = _FEES_FEN[int(rand() * len(_FEES_FEN))] if cash else 0
        disbursed = self._as_of - 1 - int(rand() * 365)
        product = "cash_loan" if cash else "consumer_loan"
        days, day_texts = self._due_dates(disbursed)
        self._loans_out.write(
            f"{loan_id},{borrower_id},{product}_{term}m,CNY,{yuan}.00,0.{rate:04d},"
            f"{self.iso(disbursed)},{PENALTY_DAILY_RATE}\n"
        )
        plan = self._schedule(yuan, term, rate)
        texts = plan.texts
        fee_text = fen(fee)
        self._installments_out.write("".join([
            f"{loan_id},{k + 1},{day_texts[k]},{texts[k]}{fee_text}\n" for k in range(term)
        ]))
        self.installments += term
        as_of = self._as_of
        due_now = [k for k in range(term) if days[k] <= as_of]
        if not due_now:
            return
        lines = []
        number = self.payments
        iso = self.iso
        clock = self._time_of_day
        totals = tuple(t + fee for t in plan.totals) if fee else plan.totals
        for day, amount, chan in self._payments(behaviour, channel, plan.parts, totals, days,
                                                due_now):
            number += 1
            lines.append(f"P{number:010d},{loan_id},{iso(day)}{clock(chan)},{fen(amount)},"
                         f"{chan}\n")
        self.payments = number
        self._payments_out.write("".join(lines))

    def _on_time(self, due: int, channel: str) -> tuple[int, str]:
        """A day on or shortly before the due date, and the channel used."""
        rand = self._rand
        if rand() < 0.15:
            channel = self.channel()
        if channel == "auto_debit":
            return due, channel
        return due - _EARLY_DAYS[int(rand() * len(_EARLY_DAYS))], channel

    def _late_channel(self, channel: str) -> str:
        """A late payment is made by hand: an auto-debit that would have worked was on time."""
        return self._pick(_MANUAL_CHANNELS) if channel == "auto_debit" else channel

    def _payments(self, behaviour: str, channel: str, parts: tuple[int, ...],
                  totals: tuple[int, ...], dues: tuple[int, ...],
                  due_now: list[int]) -> list[tuple[int, int, str]]:
        """(day, amount in fen, channel) per payment, in date order.

        `parts` and `totals` are each installment's principal and full amount owed.
        Only installments due on or before the as-of day are paid, and no payment is dated
        after it.
        """
        rand = self._rand
        between = self._between
        on_time = self._on_time
        as_of = self._as_of
        out: list[tuple[int, int, str]] = []
        if behaviour == ON_TIME:
            for k in due_now:
                day, chan = on_time(dues[k], channel)
                out.append((day, totals[k], chan))
            return out
        if behaviour == STOPPED:
            # First-payment default is common, so a third stop before paying anything.
            stop = 0 if rand() < 0.3 else between(0, len(due_now))
            due_now = due_now[:stop]
            behaviour = ON_TIME
        if behaviour == LATE_LONG:
            first_missed = due_now[int(rand() * len(due_now))]
            catch_up = dues[first_missed] + between(30, 120)
            with_penalty = rand() < 0.5
            lump = 0
            for k in due_now:
                if k < first_missed:
                    day, chan = on_time(dues[k], channel)
                    out.append((day, totals[k], chan))
                elif dues[k] <= catch_up:
                    lump += totals[k]
                    if with_penalty:
                        lump += penalty(parts[k], catch_up - dues[k])
                else:  # due after the catch-up day, which is then on or before as_of
                    if lump:
                        out.append((catch_up, lump, self._late_channel(channel)))
                        lump = 0
                    day, chan = on_time(dues[k], channel)
                    out.append((max(day, catch_up), totals[k], chan))
            if lump and catch_up <= as_of:
                out.append((catch_up, lump, self._late_channel(channel)))
            return out
        for k in due_now:
            due = dues[k]
            if behaviour == LATE_DAYS and rand() < 0.6:
                days = between(1, 10)
                if due + days <= as_of:
                    amount = totals[k]
                    if rand() < 0.6:
                        amount += penalty(parts[k], days)
                    out.append((due + days, amount, self._late_channel(channel)))
                continue
            if behaviour == PARTIAL:
                day = min(due + between(0, 3), as_of)
                share = max(100, totals[k] * between(30, 80) // 100 // 100 * 100)
                out.append((day, share, self._late_channel(channel)))
                continue
            day, chan = on_time(due, channel)
            amount = totals[k]
            if behaviour == OVERPAY and rand() < 0.5:
                if rand() < 0.5:
                    amount = (amount // 1000 + 1) * 1000  # rounded up to the next 10 yuan
                else:
                    amount += between(1, 2000)
            out.append((day, amount, chan))
        return out
