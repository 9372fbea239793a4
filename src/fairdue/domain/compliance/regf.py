"""The `us-regf` guard: Regulation F (12 CFR 1006) as the contact guard enforces it.

- US-04: every contact (calls, texts and emails judged at send time, visits) falls between
  08:00 and 21:00 in every time zone the debtor may be in (1006.6(b)(1)(i)).
- US-01/02/03: telephone calls (ringless voicemail included; SMS and email are not calls)
  to the debtor are limited per debt by `FrequencyBook`. Calls that never connect (busy, not
  in service, failed) are neither counted nor limited. Calls made with the debtor's direct
  prior consent are neither counted nor limited for 7 days from the consent (its day is day
  1), or until the next conversation with the debtor, whichever comes first; consent is not
  consent to call at an inconvenient time. A conversation still starts the 7-day wait, even
  on a consented call or when the debtor called in.
- US-05: a cease request stops all contact about the debts it names (all when none): the
  channel it came by does not narrow it. A `to` on it stops only that address.
- US-06: a third party (`party=contact`, one per `to`) may be communicated with once, for
  location information; those calls do not count toward the debtor's limits. A call that
  reached nobody, or a voicemail, is not a communication and does not use that once.
- US-08: an opt-out stops its channel (to the debtor; with `to`, to that address).
- US-10: a dispute halts collection of the disputed debts until it is answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fairdue.domain.compliance.engine import (
    NO_PARTICULAR_DEBT,
    ComplianceLedger,
    DebtorState,
    Found,
    Stop,
    refusal,
)
from fairdue.domain.compliance.frequency import FrequencyBook, Plan
from fairdue.domain.compliance.model import (
    NEVER_CONNECTED,
    TELEPHONE_CHANNELS,
    Cease,
    Channel,
    Consent,
    Dispute,
    Inbound,
    OptOut,
    Outcome,
    Party,
)
from fairdue.domain.compliance.profiles import US_REGF, Profile, RegfParameters
from fairdue.errors import InvalidInput

#: Outcomes that mean a third party was actually communicated with.
_COMMUNICATED = frozenset({Outcome.CONVERSATION, Outcome.DELIVERED})

# Members read on the hot path, bound once (a global is cheaper than an enum attribute).
_CONTACT = Party.CONTACT
_CONVERSATION = Outcome.CONVERSATION


def _flexible(outcome: Outcome, debts: tuple[str, ...], candidates: tuple[str, ...]) -> bool:
    """Counts toward one debt only: a call reaching no one about several debts, or any
    contact about no particular debt while the debtor has several."""
    if len(candidates) < 2:
        return False
    return outcome is not _CONVERSATION or not debts


@dataclass(slots=True)
class RegfCounters:
    """Per-debtor state of Regulation F."""

    book: FrequencyBook
    consents: list[tuple[Consent, int]] = field(default_factory=list)
    third_parties: dict[str, int] = field(default_factory=dict)


class RegfLedger(ComplianceLedger[RegfCounters]):
    """The guard of the `us-regf` profile; see the module docstring for what it enforces."""

    def __init__(self, profile: Profile = US_REGF) -> None:
        if not isinstance(profile.parameters, RegfParameters):
            raise InvalidInput(f"profile {profile.name} does not carry Regulation F parameters")
        self.params: RegfParameters = profile.parameters
        super().__init__(profile, self.params.default_timezone)
        p = self.params
        self._f_time = refusal(
            "US-04",
            f"We may not contact you before {p.earliest:%H:%M} or after {p.latest:%H:%M} "
            "where you are (in every time zone you may be in)."
        )
        self._f_calls = refusal(
            "US-01",
            f"We have already called you {p.max_calls} times about this debt in "
            f"{p.window_days} days, so we may not call again yet."
        )
        self._f_wait = refusal(
            "US-01",
            f"We spoke with you about this debt less than {p.conversation_wait_days} days ago, "
            "so we may not call you about it yet."
        )
        self._f_third = refusal(
            "US-06",
            "We may contact someone other than you only to find out how to reach you, "
            "and only once."
        )
        self._earliest = p.earliest
        self._latest = p.latest
        self._third_party_contacts = p.third_party_contacts

    def frequency_assignments(
        self, debtor: str
    ) -> list[tuple[int, tuple[str, ...], tuple[str, ...]]]:
        """For explanations and audits: each call or conversation the frequency limits still
        see for `debtor`, as (local day ordinal, debts it was about, debts it counts toward)."""
        state = self._debtors.get(debtor)
        if state is None:
            return []
        return self.counters(state).book.assignments()

    def _new_counters(self) -> RegfCounters:
        p = self.params
        return RegfCounters(FrequencyBook(p.max_calls, p.window_days, p.conversation_wait_days))

    # ---- judging --------------------------------------------------------------------------

    def _judge(
        self, state: DebtorState, at: datetime, channel: Channel, debtor: str,
        debts: tuple[str, ...], party: Party, to: str, outcome: Outcome,
        collectors: int | None, local_times: tuple[datetime, ...], day: int, found: Found,
        count: bool,
    ) -> Found:
        earliest = self._earliest
        latest = self._latest
        for local in local_times:
            clock = local.time()
            if clock < earliest or clock > latest:
                found += self._f_time
                break
        counters: RegfCounters = state.counters
        conversation = outcome is _CONVERSATION
        if party is _CONTACT:
            if counters.third_parties.get(to, 0) >= self._third_party_contacts:
                found += self._f_third
            elif count and not found and outcome in _COMMUNICATED:
                counters.third_parties[to] = counters.third_parties.get(to, 0) + 1
            return found
        book = counters.book
        plan: Plan | None = None
        candidates = debts
        flexible = False
        if channel in TELEPHONE_CHANNELS and outcome not in NEVER_CONNECTED:
            # A telephone call to the debtor that connected to the number: it counts, unless
            # made with consent (a conversation still starts the wait).
            candidates = debts or tuple(state.known_debts) or (NO_PARTICULAR_DEBT,)
            flexible = _flexible(outcome, debts, candidates)
            if not (counters.consents and self._consented(channel, counters, candidates, day)):
                plan = book.plan(day, candidates, flexible)
                if plan is None:
                    waiting = any(book.waiting(d, day) for d in candidates)
                    found += self._f_wait if waiting else self._f_calls
        if found or not count:
            return found
        # Allowed: count it.
        if plan is not None:
            book.add_call(plan, day, candidates, flexible, conversation)
        elif conversation and channel in TELEPHONE_CHANNELS:
            book.add_conversation(day, candidates, flexible)
        if conversation:
            counters.consents.clear()
        elif counters.consents:
            self._expire(counters, day)
        return found

    def _consented(self, channel: Channel, counters: RegfCounters, candidates: tuple[str, ...],
                   day: int) -> bool:
        for consent, given in counters.consents:
            if given + self.params.consent_days - 1 < day or not consent.covers(channel):
                continue
            if not consent.debts or set(candidates) <= set(consent.debts):
                return True
        return False

    # ---- other events -------------------------------------------------------------------

    def _expire(self, counters: RegfCounters, day: int) -> None:
        keep = self.params.consent_days
        counters.consents = [(c, d) for c, d in counters.consents if d + keep - 1 >= day]

    def _on_inbound(self, event: Inbound, state: DebtorState, day: int) -> None:
        if event.outcome is not _CONVERSATION:
            return
        counters = self.counters(state)
        counters.consents.clear()
        if event.channel in TELEPHONE_CHANNELS:
            candidates = event.debts or tuple(state.known_debts) or (NO_PARTICULAR_DEBT,)
            flexible = not event.debts and len(candidates) > 1
            counters.book.add_conversation(day, candidates, flexible)

    def _on_consent(self, event: Consent, state: DebtorState, day: int) -> None:
        counters = self.counters(state)
        self._expire(counters, day)
        counters.consents.append((event, day))

    # ---- stops ----------------------------------------------------------------------------

    def _cease_stop(self, event: Cease) -> Stop:
        if event.to is not None:
            return Stop("cease", "US-05", "You asked us to stop contacting you at this number "
                        "or address.", to=event.to)
        return Stop("cease", "US-05", "You asked us to stop contacting you about this debt.",
                    debts=frozenset(event.debts))

    def _opt_out_stop(self, event: OptOut) -> Stop:
        return Stop("opt_out", "US-08", f"You opted out of contact by {event.channel.value}.",
                    channel=event.channel, to=event.to, debtor_only=event.to is None)

    def _dispute_stop(self, event: Dispute) -> Stop | None:
        return Stop("dispute", "US-10", "You disputed this debt; we stop collecting it until we "
                    "have answered your dispute.", debts=frozenset(event.debts))
