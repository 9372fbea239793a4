"""What a message to a borrower may say, and what each channel's message must say.

`MessageContext` holds the facts of one message (who, how late, how much and of what, how to
pay, how to check that the sender is real); the template adapter formats them for a
language and fills a template with them. `requirements(channel, profile)` is the rule a
template is checked against when it is loaded: an SMS carries the days overdue, the amount
due and the repayment channels (S1) and the verification hotline (S12); an email the same
plus a subject; a push the amount due; under `us-regf` every SMS and email also carries the
opt-out line (US-08) and the debt-collector disclosure (US-09).

Pure: no formatting library, no clock; the adapter does the formatting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from fairdue.domain.compliance.profiles import get_profile
from fairdue.domain.masking import mask_name
from fairdue.domain.money import Money
from fairdue.errors import InvalidInput


class MessageChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


class MessageAbout(StrEnum):
    """What a message is about, which decides the facts it must show (a template's header
    names it: `{# channel: sms, about: plan #}`; collection when not named).

    A `notice` tells the borrower something that is not a demand for payment (a visit
    called off): it need not show the debt, and it may still go out after the case closed.
    """

    COLLECTION = "collection"
    PLAN = "plan"              # the next date and amount of a repayment plan in force
    VISIT_SLOTS = "visit_slots"  # the appointment times offered for a field visit (S8)
    VISIT = "visit"            # the booked appointment time (S8)
    NOTICE = "notice"


@dataclass(frozen=True, slots=True)
class PlanDue:
    """The next installment of the repayment plan in force."""

    due_on: date
    amount: Money


@dataclass(frozen=True, slots=True)
class Slot:
    """An appointment time, in the borrower's own zone (aware datetimes)."""

    starts: datetime
    ends: datetime

    def __post_init__(self) -> None:
        if self.starts.tzinfo is None or self.ends.tzinfo is None:
            raise InvalidInput("an appointment time needs its time zone")
        if self.ends <= self.starts:
            raise InvalidInput(f"an appointment ends after it starts: {self.starts} to {self.ends}")


@dataclass(frozen=True, slots=True)
class LenderContact:
    """How a borrower repays and checks that a message is really from the lender (S12).

    `opt_out_text` overrides the language's own opt-out line when not empty.
    """

    lender_name: str
    app_name: str
    bank_account_name: str
    bank_account_number: str
    hotline: str
    verify_hotline: str
    opt_out_text: str = ""

    def __post_init__(self) -> None:
        for name in ("lender_name", "app_name", "bank_account_name", "bank_account_number",
                     "hotline", "verify_hotline"):
            if not getattr(self, name).strip():
                raise InvalidInput(f"lender contact detail {name} must not be empty")


@dataclass(frozen=True, slots=True)
class MessageContext:
    """The facts one message to a borrower is rendered from.

    `borrower_name` is always held masked (`张三丰` becomes `张**`, `John Smith`
    `J*** S****`): a message addresses the borrower without spelling out their name, which
    anyone holding the phone could read (S17). The amount due is the sum of its parts, so the
    breakdown and the total can never disagree.
    """

    borrower_name: str
    days_overdue: int
    principal: Money
    interest: Money
    fees: Money
    penalty: Money
    oldest_due_date: date
    loans: int
    lender: LenderContact
    profile: str = "cn"
    plan_due: PlanDue | None = None
    visit: Slot | None = None  # the booked appointment
    visit_slots: tuple[Slot, ...] = ()  # the appointment times offered

    def __post_init__(self) -> None:
        object.__setattr__(self, "borrower_name", mask_name(self.borrower_name))
        if self.days_overdue < 0:
            raise InvalidInput(f"days overdue must not be negative, got {self.days_overdue}")
        if self.loans < 0:  # a notice after the case closed concerns no loan in arrears
            raise InvalidInput(f"the number of loans must not be negative, got {self.loans}")
        currencies = {m.currency for m in (self.principal, self.interest, self.fees, self.penalty)}
        if len(currencies) != 1:
            raise InvalidInput(f"the amount due mixes currencies: {', '.join(sorted(currencies))}")
        get_profile(self.profile)

    @property
    def amount_due(self) -> Money:
        return self.principal + self.interest + self.fees + self.penalty

    @property
    def currency(self) -> str:
        return self.principal.currency


# The names a template may use; every value reaches the template as text.
TEMPLATE_FIELDS: tuple[str, ...] = (
    "borrower_name", "lender_name", "profile", "days_overdue", "loans",
    "amount_due", "principal", "interest", "fees", "penalty", "oldest_due_date",
    "app_name", "bank_account_name", "bank_account_number", "hotline", "repayment_channels",
    "verify_hotline", "opt_out", "collector_disclosure",
    "plan_due_date", "plan_amount", "visit_time", "visit_slots",
)

# Profiles whose electronic messages must carry an opt-out line (US-08) and say they come
# from a debt collector (US-09).
_OPT_OUT_PROFILES = frozenset({"us-regf"})
_DISCLOSURE_PROFILES = frozenset({"us-regf"})


def requires_opt_out(profile: str) -> bool:
    return profile in _OPT_OUT_PROFILES


def requires_collector_disclosure(profile: str) -> bool:
    return profile in _DISCLOSURE_PROFILES


@dataclass(frozen=True, slots=True)
class Requirement:
    """Something a channel's message must show: satisfied when every field of at least one
    of `alternatives` appears in the rendered message."""

    what: str
    alternatives: tuple[frozenset[str], ...]

    def satisfied_by(self, shown: frozenset[str]) -> bool:
        return any(option <= shown for option in self.alternatives)


def _one(what: str, field: str) -> Requirement:
    return Requirement(what, (frozenset({field}),))


_DAYS = _one("the days overdue (S1)", "days_overdue")
_AMOUNT = _one("the amount due (S1)", "amount_due")
_CHANNELS = Requirement(
    "the repayment channels (S1): {{ repayment_channels }}, or {{ app_name }}, "
    "{{ bank_account_number }} and {{ hotline }}",
    (frozenset({"repayment_channels"}), frozenset({"app_name", "bank_account_number", "hotline"})),
)
_VERIFY = _one("the verification hotline (S12)", "verify_hotline")
_OPT_OUT = _one("the opt-out line (US-08)", "opt_out")
_DISCLOSURE = _one("the debt-collector disclosure (US-09)", "collector_disclosure")


_ABOUT_NEEDS: dict[MessageAbout, tuple[Requirement, ...]] = {
    MessageAbout.COLLECTION: (),
    MessageAbout.PLAN: (_one("the plan's next date (S13)", "plan_due_date"),
                        _one("the plan's next amount (S13)", "plan_amount")),
    MessageAbout.VISIT_SLOTS: (_one("the appointment times offered (S8)", "visit_slots"),),
    MessageAbout.VISIT: (_one("the appointment time (S8)", "visit_time"),),
    MessageAbout.NOTICE: (),
}


def requirements(channel: MessageChannel, profile: str,
                 about: MessageAbout = MessageAbout.COLLECTION) -> tuple[Requirement, ...]:
    """What a message on `channel` about `about` must show under `profile` (the subject of
    an email is checked apart: it is not a field)."""
    if channel is MessageChannel.PUSH:
        return () if about is MessageAbout.NOTICE else (_AMOUNT, *_ABOUT_NEEDS[about])
    if about is MessageAbout.NOTICE:
        needed = [_VERIFY]
    else:
        needed = [_DAYS, _AMOUNT, _CHANNELS, _VERIFY, *_ABOUT_NEEDS[about]]
    if requires_opt_out(profile):
        needed.append(_OPT_OUT)
    if requires_collector_disclosure(profile):
        needed.append(_DISCLOSURE)
    return tuple(needed)
