"""The `cn` guard: PRC consumer-loan collection rules as the contact guard enforces them.

- CN-01: no contact of any kind in the quiet window (22:00-08:00) in any time zone the debtor
  may be in, unless the debtor agreed a time (a consent with `agreed_window`) and the contact
  falls inside it.
- CN-02: at most 3 proactive conversations with the debtor per local day, whoever makes them
  (lender, any agency, AI voice): the ledger is shared by all of them. A conversation the
  debtor started (inbound) is not counted.
- CN-03: at most 6 unanswered dials (no answer, busy, not connected) per number per local day.
- CN-04: a third party (contact) only while the debtor is unreachable: marked so by an
  operator, or after `unreachable_failed_attempts` proactive attempts in a row that did not
  reach the debtor (no answer, busy, not connected, failed, voicemail), spread over at least
  `unreachable_min_days` local days, with no conversation or inbound contact since. A
  contact who refuses is stopped with a cease on their number (`to`).
- CN-06: a visit needs at least 2 collectors (an attempt without a count is one collector).
- CN-11: a cease or opt-out stops the channel it names (a cease without a channel stops all).
- CN-05: while `dispute_halts`, a disputed debt is not collected until the dispute is answered
  (collecting an amount under dispute risks the exaggerated claims CN-05 forbids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fairdue.domain.compliance.engine import (
    ComplianceLedger,
    DebtorState,
    Found,
    Stop,
    refusal,
)
from fairdue.domain.compliance.model import (
    UNANSWERED,
    Cease,
    Channel,
    Consent,
    Dispute,
    Inbound,
    OptOut,
    Outcome,
    Party,
)
from fairdue.domain.compliance.profiles import CN, CnParameters, Profile
from fairdue.errors import InvalidInput

#: Outcomes of a proactive attempt that did not reach the debtor (for "unreachable").
_NOT_REACHED = frozenset(
    {Outcome.NO_ANSWER, Outcome.BUSY, Outcome.NOT_CONNECTED, Outcome.FAILED, Outcome.VOICEMAIL}
)

# Members read on the hot path, bound once (a global is cheaper than an enum attribute).
_CONTACT = Party.CONTACT
_DEBTOR = Party.DEBTOR
_VISIT = Channel.VISIT
_CONVERSATION = Outcome.CONVERSATION


@dataclass(slots=True)
class CnCounters:
    """Per-debtor state of the `cn` profile."""

    conversation_day: int = 0
    conversations: int = 0
    failed_in_row: int = 0
    failed_days: int = 0
    last_failed_day: int = 0
    agreed: list[Consent] = field(default_factory=list)


class CnLedger(ComplianceLedger[CnCounters]):
    """The guard of the `cn` profile; see the module docstring for what it enforces."""

    def __init__(self, profile: Profile = CN) -> None:
        if not isinstance(profile.parameters, CnParameters):
            raise InvalidInput(f"profile {profile.name} does not carry cn parameters")
        self.params: CnParameters = profile.parameters
        super().__init__(profile, self.params.default_timezone)
        # Unanswered dials per number, per local day; shared by every debtor and agency,
        # because the limit protects whoever answers that number.
        self._dials: dict[str, dict[int, int]] = {}
        p = self.params
        self._f_quiet = refusal(
            "CN-01",
            f"We may not contact you between {p.quiet_start:%H:%M} and {p.quiet_end:%H:%M} "
            "your local time unless you agreed to that time."
        )
        self._f_conversations = refusal(
            "CN-02",
            f"You have already had {p.max_conversations_per_day} collection conversations "
            "today; nobody may start another before tomorrow."
        )
        self._f_dials = refusal(
            "CN-03",
            f"This number has already had {p.max_unanswered_per_number_per_day} unanswered "
            "collection calls today; it may not be called again before tomorrow."
        )
        self._f_third = refusal(
            "CN-04",
            "We may contact the people you named only when we cannot reach you, and never to "
            "tell them about your debt."
        )
        self._f_visit = refusal(
            "CN-06", f"A visit needs at least {p.min_visit_collectors} collectors present."
        )
        self._quiet_start = p.quiet_start
        self._quiet_end = p.quiet_end
        self._min_collectors = p.min_visit_collectors
        self._max_conversations = p.max_conversations_per_day
        self._max_unanswered = p.max_unanswered_per_number_per_day

    def _new_counters(self) -> CnCounters:
        return CnCounters()

    def unreachable(self, debtor: str) -> bool:
        """Whether third parties of `debtor` may now be contacted (see CN-04 above)."""
        state = self._debtors.get(debtor)
        return state is not None and self._unreachable(state)

    def _unreachable(self, state: DebtorState) -> bool:
        if state.unreachable:
            return True
        c = self.counters(state)
        p = self.params
        return c.failed_in_row >= p.unreachable_failed_attempts and (
            c.failed_days >= p.unreachable_min_days
        )

    # ---- judging --------------------------------------------------------------------------

    def _judge(
        self, state: DebtorState, at: datetime, channel: Channel, debtor: str,
        debts: tuple[str, ...], party: Party, to: str, outcome: Outcome,
        collectors: int | None, local_times: tuple[datetime, ...], day: int, found: Found,
        count: bool,
    ) -> Found:
        c: CnCounters = state.counters
        if self._in_quiet_window(local_times) and not (c.agreed and self._agreed(at, channel, c)):
            found += self._f_quiet
        if party is _CONTACT and not self._unreachable(state):
            found += self._f_third
        if channel is _VISIT and (collectors or 1) < self._min_collectors:
            found += self._f_visit
        conversation = outcome is _CONVERSATION
        if (
            conversation and party is _DEBTOR and c.conversation_day == day
            and c.conversations >= self._max_conversations
        ):
            found += self._f_conversations
        number = None
        if outcome in UNANSWERED:
            number = to or f"(no number of {debtor})"  # kept apart per debtor, not pooled
            per_day = self._dials.get(number)
            if per_day is not None and per_day.get(day, 0) >= self._max_unanswered:
                found += self._f_dials
        if found or not count:
            return found
        # Allowed: count it.
        if party is _DEBTOR:
            if conversation:
                if c.conversation_day != day:
                    c.conversation_day = day
                    c.conversations = 0
                c.conversations += 1
                c.failed_in_row = c.failed_days = 0
            elif outcome in _NOT_REACHED:
                c.failed_in_row += 1
                if c.failed_days == 0 or c.last_failed_day != day:
                    c.failed_days += 1
                    c.last_failed_day = day
        if number is not None:
            per_day = self._dials.get(number)
            if per_day is None:
                per_day = self._dials[number] = {}
            elif day not in per_day and len(per_day) > 2:
                for old in [d for d in per_day if d < day - 1]:
                    del per_day[old]
            per_day[day] = per_day.get(day, 0) + 1
        if c.agreed:
            c.agreed = [k for k in c.agreed if k.agreed_window and k.agreed_window[1] >= at]
        return found

    def _in_quiet_window(self, local_times: tuple[datetime, ...]) -> bool:
        start = self._quiet_start
        end = self._quiet_end
        wraps = start > end
        for local in local_times:
            clock = local.time()
            if wraps:
                if clock >= start or clock < end:
                    return True
            elif start <= clock < end:
                return True
        return False

    @staticmethod
    def _agreed(at: datetime, channel: Channel, c: CnCounters) -> bool:
        for consent in c.agreed:
            window = consent.agreed_window
            if window is not None and window[0] <= at <= window[1] and consent.covers(channel):
                return True
        return False

    # ---- other events -------------------------------------------------------------------

    def _on_inbound(self, event: Inbound, state: DebtorState, day: int) -> None:
        c = self.counters(state)
        c.failed_in_row = c.failed_days = 0

    def _on_consent(self, event: Consent, state: DebtorState, day: int) -> None:
        if event.agreed_window is not None:
            self.counters(state).agreed.append(event)

    # ---- stops ----------------------------------------------------------------------------

    def _cease_stop(self, event: Cease) -> Stop:
        if event.to is not None:
            return Stop("cease", "CN-11", "The person at this number or address asked not to be "
                        "contacted again.", to=event.to)
        how = f" by {event.channel.value}" if event.channel is not None else ""
        return Stop("cease", "CN-11", f"You asked us to stop contacting you{how}.",
                    channel=event.channel, debts=frozenset(event.debts))

    def _opt_out_stop(self, event: OptOut) -> Stop:
        return Stop("opt_out", "CN-11", f"You opted out of contact by {event.channel.value}.",
                    channel=event.channel, to=event.to, debtor_only=event.to is None)

    def _dispute_stop(self, event: Dispute) -> Stop | None:
        if not self.params.dispute_halts:
            return None
        return Stop("dispute", "CN-05", "You disputed this debt; we pause collecting it until we "
                    "have checked it and answered you.", debts=frozenset(event.debts))
