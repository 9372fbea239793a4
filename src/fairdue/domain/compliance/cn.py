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

from fairdue.domain.compliance.engine import ComplianceLedger, Context, DebtorState, Stop, refuse
from fairdue.domain.compliance.model import (
    ALLOWED,
    UNANSWERED,
    Attempt,
    Cease,
    Channel,
    Consent,
    Decision,
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
        self._r_quiet = (
            f"We may not contact you between {p.quiet_start:%H:%M} and {p.quiet_end:%H:%M} "
            "your local time unless you agreed to that time."
        )
        self._r_conversations = (
            f"You have already had {p.max_conversations_per_day} collection conversations "
            "today; nobody may start another before tomorrow."
        )
        self._r_dials = (
            f"This number has already had {p.max_unanswered_per_number_per_day} unanswered "
            "collection calls today; it may not be called again before tomorrow."
        )
        self._r_third = (
            "We may contact the people you named only when we cannot reach you, and never to "
            "tell them about your debt."
        )
        self._r_visit = f"A visit needs at least {p.min_visit_collectors} collectors present."

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

    def _evaluate(
        self, attempt: Attempt, state: DebtorState, ctx: Context
    ) -> tuple[Decision, object]:
        refusals: list[tuple[str, str]] = []
        if state.stops:
            refusals.extend((s.rule, s.reason) for s in self._stopped_by(attempt, state))
        if self._in_quiet_window(ctx) and not self._agreed(attempt, state):
            refusals.append(("CN-01", self._r_quiet))
        if attempt.party is Party.CONTACT and not self._unreachable(state):
            refusals.append(("CN-04", self._r_third))
        if attempt.channel is Channel.VISIT and (
            (attempt.collectors or 1) < self.params.min_visit_collectors
        ):
            refusals.append(("CN-06", self._r_visit))
        if attempt.outcome is Outcome.CONVERSATION and attempt.party is Party.DEBTOR:
            c = self.counters(state)
            if c.conversation_day == ctx.day and (
                c.conversations >= self.params.max_conversations_per_day
            ):
                refusals.append(("CN-02", self._r_conversations))
        if attempt.outcome in UNANSWERED:
            per_day = self._dials.get(self._number(attempt))
            if per_day is not None and (
                per_day.get(ctx.day, 0) >= self.params.max_unanswered_per_number_per_day
            ):
                refusals.append(("CN-03", self._r_dials))
        if refusals:
            return refuse(refusals), None
        return ALLOWED, None

    def _in_quiet_window(self, ctx: Context) -> bool:
        start = self.params.quiet_start
        end = self.params.quiet_end
        for local in ctx.local_times:
            clock = local.time()
            if start > end:
                if clock >= start or clock < end:
                    return True
            elif start <= clock < end:
                return True
        return False

    def _agreed(self, attempt: Attempt, state: DebtorState) -> bool:
        for consent in self.counters(state).agreed:
            window = consent.agreed_window
            if window is not None and window[0] <= attempt.at <= window[1] and (
                consent.covers(attempt.channel)
            ):
                return True
        return False

    @staticmethod
    def _number(attempt: Attempt) -> str:
        # An attempt without a number is kept apart per debtor rather than pooled.
        return attempt.to or f"(no number of {attempt.debtor})"

    # ---- recording ------------------------------------------------------------------------

    def _count(self, attempt: Attempt, state: DebtorState, ctx: Context, memo: object) -> None:
        c = self.counters(state)
        day = ctx.day
        outcome = attempt.outcome
        if attempt.party is Party.DEBTOR:
            if outcome is Outcome.CONVERSATION:
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
        if outcome in UNANSWERED:
            number = self._number(attempt)
            per_day = self._dials.get(number)
            if per_day is None:
                per_day = self._dials[number] = {}
            elif day not in per_day and len(per_day) > 2:
                for old in [d for d in per_day if d < day - 1]:
                    del per_day[old]
            per_day[day] = per_day.get(day, 0) + 1
        if c.agreed:
            c.agreed = [k for k in c.agreed if k.agreed_window and k.agreed_window[1] >= attempt.at]

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
