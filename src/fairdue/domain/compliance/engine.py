"""The compliance guard: judge a contact before it is made, record what happened after.

`ComplianceLedger` keeps, per debtor, only what the rules need to decide the next contact:
their time zones, the stops in force (cease, opt-out, dispute), and the small per-day and
per-week counters of the profile. Counters are keyed by the debtor's local calendar day and
pruned as days pass, so judging costs the same on the millionth attempt as on the first.

Two promises hold for every profile:
- `judge(attempt)` is pure: it reads the state and never changes it.
- `record(attempt)` judges the attempt and counts it only when allowed; an attempt the guard
  refused is treated as never made (it counts toward no limit).

Events of one debtor must arrive in time order (the live guard sees them that way and a
replay file is sorted); an event earlier than the last one recorded for that debtor is an
error rather than a silent mis-count.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fairdue.domain.compliance.model import (
    ALLOWED,
    POSSIBLE_OUTCOMES,
    Attempt,
    Cease,
    Channel,
    Consent,
    DebtorInfo,
    Decision,
    Dispute,
    DisputeAnswered,
    Event,
    Inbound,
    OptOut,
    Outcome,
    Party,
)
from fairdue.domain.compliance.profiles import Profile
from fairdue.errors import InvalidInput

#: The debt an unspecific contact is counted toward when the debtor has no known debt yet.
NO_PARTICULAR_DEBT = "*"

_ZONES: dict[str, ZoneInfo] = {}


def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name` (cached); an unknown name is an input error, not a crash."""
    found = _ZONES.get(name)
    if found is None:
        try:
            found = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai"
            ) from None
        _ZONES[name] = found
    return found


@dataclass(frozen=True, slots=True)
class Stop:
    """A cease, opt-out or dispute in force, already narrowed to what it stops.

    `channel`/`to` None: any channel / any address. `debts` empty: every debt.
    `debtor_only`: stops contacts with the debtor but not with third parties.
    """

    kind: str
    rule: str
    reason: str
    channel: str | None = None
    to: str | None = None
    debts: frozenset[str] = frozenset()
    debtor_only: bool = False

    def stops(self, attempt: Attempt) -> bool:
        """Whether this stop forbids `attempt` (an attempt about no particular debt is stopped
        by a stop on any of the debtor's debts, since it may be about that one)."""
        return self.stops_contact(attempt.channel, attempt.to, attempt.party, attempt.debts)

    def stops_contact(self, channel: Channel, to: str, party: Party,
                      debts: tuple[str, ...]) -> bool:
        """`stops` for an attempt given by the fields a stop reads."""
        if self.channel is not None and self.channel != channel:
            return False
        if self.to is not None and self.to != to:
            return False
        if self.debtor_only and party is not Party.DEBTOR:
            return False
        return not (self.debts and debts and self.debts.isdisjoint(debts))


#: What a profile found wrong with an attempt: (rule id, reason) pairs in the order found.
Found = tuple[tuple[str, str], ...]


def refusal(rule: str, reason: str) -> Found:
    """One rule found broken, with the reason a borrower would understand."""
    return ((rule, reason),)


class DebtorState:
    """What every profile keeps per debtor; profiles add their counters in `counters`."""

    __slots__ = ("counters", "known_debts", "last_at", "stops", "unreachable", "zones")

    def __init__(self, zones: tuple[ZoneInfo, ...], counters: object) -> None:
        self.zones = zones
        self.unreachable = False
        self.known_debts: dict[str, None] = {}
        self.last_at: datetime | None = None
        self.stops: list[Stop] = []
        # Typed by each profile where it reads them (`c: CnCounters = state.counters`).
        self.counters: Any = counters


C = TypeVar("C")


class ComplianceLedger(ABC, Generic[C]):
    """The guard of one profile over any number of debtors. See the module docstring."""

    def __init__(self, profile: Profile, default_timezone: str) -> None:
        self.profile = profile
        self._default_zones = (zone(default_timezone),)
        self._debtors: dict[str, DebtorState] = {}
        # One Decision per distinct refusal: refusals repeat, and a Decision is immutable.
        self._refusals: dict[Found, Decision] = {}

    # ---- public API -------------------------------------------------------------------

    def judge(self, attempt: Attempt) -> Decision:
        """Whether `attempt` may be made now, without recording anything."""
        return self.record_attempt(
            attempt.at, attempt.channel, attempt.debtor, attempt.debts, attempt.party,
            attempt.to, attempt.agency, attempt.outcome, attempt.collectors, dry_run=True,
        )

    def judge_planned(self, attempt: Attempt) -> Decision:
        """Judge a contact before its outcome is known: allowed only if every outcome its
        channel can end with would be allowed (a dialler cannot choose whether the debtor
        answers). The refusals of all outcomes are merged."""
        rules: dict[str, str] = {}
        for outcome in POSSIBLE_OUTCOMES[attempt.channel]:
            probe = Attempt(
                at=attempt.at, channel=attempt.channel, debtor=attempt.debtor,
                debts=attempt.debts, party=attempt.party, to=attempt.to, agency=attempt.agency,
                outcome=outcome, collectors=attempt.collectors,
            )
            decision = self.judge(probe)
            for rule, reason in zip(decision.rules, decision.reasons, strict=True):
                rules.setdefault(rule, reason)
        if not rules:
            return ALLOWED
        return Decision(False, tuple(rules), tuple(rules.values()))

    def record(self, event: Event) -> Decision | None:
        """Record one event of the history. For an attempt, judge it first and count it only
        if allowed; the decision is returned. Other events return None."""
        if isinstance(event, Attempt):
            return self.record_attempt(
                event.at, event.channel, event.debtor, event.debts, event.party, event.to,
                event.agency, event.outcome, event.collectors,
            )
        if isinstance(event, DebtorInfo):
            self._record_debtor(event)
            return None
        state = self._state(event.debtor)
        self._check_order(state, event.at, event.debtor)
        state.last_at = event.at
        if isinstance(event, Inbound):
            self._learn_debts(state, event.debts)
            self._on_inbound(event, state, self._day(event.at, state))
        elif isinstance(event, Consent):
            self._learn_debts(state, event.debts)
            self._on_consent(event, state, self._day(event.at, state))
        elif isinstance(event, Cease):
            self._learn_debts(state, event.debts)
            state.stops.append(self._cease_stop(event))
        elif isinstance(event, OptOut):
            state.stops.append(self._opt_out_stop(event))
        elif isinstance(event, Dispute):
            self._learn_debts(state, event.debts)
            stop = self._dispute_stop(event)
            if stop is not None:
                state.stops.append(stop)
        elif isinstance(event, DisputeAnswered):
            answered = frozenset(event.debts)
            state.stops = [
                s for s in state.stops
                if not (s.kind == "dispute" and (not answered or (s.debts and s.debts <= answered)))
            ]
        return None

    def record_attempt(
        self, at: datetime, channel: Channel, debtor: str, debts: tuple[str, ...] = (),
        party: Party = Party.DEBTOR, to: str = "", agency: str = "",
        outcome: Outcome = Outcome.NO_ANSWER, collectors: int | None = None, *,
        dry_run: bool = False,
    ) -> Decision:
        """`record(Attempt(...))` for an attempt given field by field, without building the
        `Attempt` (the hot path of a replay); fields an `Attempt` would refuse are refused
        with the same error. `dry_run`: judge only, record nothing (what `judge` does)."""
        if (
            type(at.tzinfo) is not timezone or not debtor or "" in debts
            or (collectors is not None and collectors < 1)
        ):
            Attempt(at, channel, debtor, debts, party, to, agency, outcome, collectors)
        state = self._debtors.get(debtor)
        if state is None:
            state = self._new_state()
            if not dry_run:
                self._debtors[debtor] = state
        last = state.last_at
        if last is not None and at < last:
            self._check_order(state, at, debtor)
        zones = state.zones
        if len(zones) == 1:
            local_times: tuple[datetime, ...] = (at.astimezone(zones[0]),)
        else:
            local_times = tuple(at.astimezone(z) for z in zones)
        day = local_times[0].toordinal()
        found: Found = ()
        if state.stops:
            hits: list[Stop] = []
            for stop in state.stops:
                if stop.stops_contact(channel, to, party, debts) and all(
                    h.rule != stop.rule for h in hits
                ):
                    hits.append(stop)
            found = tuple((s.rule, s.reason) for s in hits)
        found = self._judge(state, at, channel, debtor, debts, party, to, outcome, collectors,
                            local_times, day, found, not dry_run)
        if dry_run:
            return self._decision(found)
        state.last_at = at
        if found:
            return self._decision(found)
        known = state.known_debts
        for debt in debts:
            if debt not in known:
                known[debt] = None
        return ALLOWED

    def timezones(self, debtor: str) -> tuple[str, ...]:
        """The zones the guard judges `debtor`'s local time in (the profile default if unknown)."""
        state = self._debtors.get(debtor)
        zones = state.zones if state is not None else self._default_zones
        return tuple(z.key for z in zones)

    # ---- what each profile supplies -----------------------------------------------------

    @abstractmethod
    def _new_counters(self) -> C:
        """Fresh per-debtor counters of the profile."""

    @abstractmethod
    def _judge(
        self, state: DebtorState, at: datetime, channel: Channel, debtor: str,
        debts: tuple[str, ...], party: Party, to: str, outcome: Outcome,
        collectors: int | None, local_times: tuple[datetime, ...], day: int, found: Found,
        count: bool,
    ) -> Found:
        """`found` (what the stops in force refuse) and, after it, what the profile's own
        rules find wrong with an attempt, in the order of its rules. `local_times`: the
        attempt in each of the debtor's zones; `day`: the local day (an ordinal on the first
        zone's calendar). When nothing is found and `count`, count the attempt; otherwise
        change nothing."""

    @abstractmethod
    def _on_inbound(self, event: Inbound, state: DebtorState, day: int) -> None:
        """Take note of a contact the debtor started."""

    @abstractmethod
    def _on_consent(self, event: Consent, state: DebtorState, day: int) -> None:
        """Take note of the debtor's consent."""

    @abstractmethod
    def _cease_stop(self, event: Cease) -> Stop:
        """What a cease request stops in this profile."""

    @abstractmethod
    def _opt_out_stop(self, event: OptOut) -> Stop:
        """What an opt-out stops in this profile."""

    @abstractmethod
    def _dispute_stop(self, event: Dispute) -> Stop | None:
        """What a dispute stops in this profile (None: nothing)."""

    # ---- shared machinery ---------------------------------------------------------------

    def _new_state(self) -> DebtorState:
        return DebtorState(self._default_zones, self._new_counters())

    def _state(self, debtor: str) -> DebtorState:
        state = self._debtors.get(debtor)
        if state is None:
            state = self._debtors[debtor] = self._new_state()
        return state

    def counters(self, state: DebtorState) -> C:
        """The profile's counters of a debtor, typed."""
        counters: C = state.counters
        return counters

    @staticmethod
    def _check_order(state: DebtorState, at: datetime, debtor: str) -> None:
        if state.last_at is not None and at < state.last_at:
            raise InvalidInput(
                f"event for debtor {debtor!r} at {at.isoformat()} is earlier than the last one "
                f"recorded ({state.last_at.isoformat()}); give each debtor's events in time order"
            )

    @staticmethod
    def _learn_debts(state: DebtorState, debts: tuple[str, ...]) -> None:
        known = state.known_debts
        for debt in debts:
            if debt not in known:
                known[debt] = None

    @staticmethod
    def _day(at: datetime, state: DebtorState) -> int:
        return at.astimezone(state.zones[0]).toordinal()

    def _decision(self, found: Found) -> Decision:
        if not found:
            return ALLOWED
        decision = self._refusals.get(found)
        if decision is None:
            decision = self._refusals[found] = refuse(list(found))
        return decision

    def _record_debtor(self, info: DebtorInfo) -> None:
        state = self._state(info.debtor)
        state.zones = tuple(zone(name) for name in info.timezones)
        state.unreachable = info.unreachable


def refuse(refusals: list[tuple[str, str]]) -> Decision:
    """A refusal naming each rule once, with its reason, in the order found."""
    rules: dict[str, str] = {}
    for rule, reason in refusals:
        rules.setdefault(rule, reason)
    return Decision(False, tuple(rules), tuple(rules.values()))
