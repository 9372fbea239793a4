"""Replay a contact history through a compliance profile: which attempts were lawful?

Input is JSON lines, one event per line, in time order per debtor:

    {"kind":"debtor","debtor":"C1","timezones":["America/New_York"],"unreachable":false}
    {"kind":"attempt","at":"2026-08-13T10:00:00-04:00","channel":"call","debtor":"C1",
     "debts":["D1"],"party":"debtor","to":"+1...","agency":"A1","outcome":"no_answer",
     "collectors":2}
    {"kind":"inbound","at":...,"channel":"call","debtor":"C1","debts":["D1"],
     "outcome":"conversation"}
    {"kind":"consent","at":...,"debtor":"C1","debts":["D1"],"scope":"call",
     "agreed_window":["2026-08-13T22:30:00+08:00","2026-08-13T23:00:00+08:00"]}
    {"kind":"cease"|"dispute"|"opt_out","at":...,"debtor":"C1","channel":"email",
     "to":"...","debts":[...]}
    {"kind":"dispute_answered","at":...,"debtor":"C1","debts":[...]}

For an attempt, `debts`, `party` (debtor), `to`, `agency` and `collectors` may be left out;
for the other kinds `debts` and `to` may. A debtor with no "debtor" line is judged in the
profile's default zone (`cn`: Asia/Shanghai, `us-regf`: America/New_York).

Each attempt yields `{"index": i, "allowed": bool, "rules": [...]}` where `i` is its line
number counted from 0 over every line (blank lines count but yield nothing). An attempt
judged not allowed is treated as never made. A malformed line raises `InvalidInput` naming
the line and what is wrong with it.

`replay` yields the results as dicts; `replay_text` as the JSON lines the command prints;
`replay_text_parallel` prints the same lines with the debtors split over worker processes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from operator import itemgetter
from typing import Any

from fairdue.domain.compliance import (
    Attempt,
    Cease,
    Channel,
    CnLedger,
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
    Profile,
    RegfLedger,
    new_ledger,
)
from fairdue.errors import FairdueError, InvalidInput

_CHANNELS = {c.value: c for c in Channel}
_OUTCOMES = {o.value: o for o in Outcome}
_PARTIES = {p.value: p for p in Party}
#: The fields of an attempt line read on the fast path (`collectors` is read apart, being
#: mostly left out).
_ATTEMPT_FIELDS = ("at", "channel", "debtor", "debts", "party", "to", "agency", "outcome")
_KINDS = (
    "attempt", "debtor", "inbound", "consent", "cease", "dispute", "dispute_answered", "opt_out",
)


class InvalidLine(InvalidInput):
    """A malformed line: the message names it; `index` is its 0-based line number."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


class _LineError(Exception):
    """What is wrong with one line, before the line number is known to the message."""


def _text(obj: dict[str, Any], key: str, *, required: bool = True, default: str = "") -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise _LineError(f'"{key}" is missing')
        return default
    if not isinstance(value, str) or (required and not value):
        raise _LineError(f'"{key}" must be a non-empty string, not {value!r}')
    return value


def _time(value: object, key: str) -> datetime:
    if not isinstance(value, str):
        raise _LineError(f'"{key}" must be an ISO 8601 time with an offset, not {value!r}')
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise _LineError(f'"{key}" {value!r} is not an ISO 8601 time') from None
    if at.tzinfo is None:
        raise _LineError(f'"{key}" {value!r} has no UTC offset (e.g. +08:00 or Z)')
    return at


def _at(obj: dict[str, Any]) -> datetime:
    if "at" not in obj:
        raise _LineError('"at" is missing')
    return _time(obj["at"], "at")


def _debts(obj: dict[str, Any]) -> tuple[str, ...]:
    debts = obj.get("debts")
    if debts is None:
        return ()
    if not isinstance(debts, list) or not all(isinstance(d, str) and d for d in debts):
        raise _LineError(f'"debts" must be a list of debt ids, not {debts!r}')
    return tuple(debts)


def _choice(obj: dict[str, Any], key: str, table: dict[str, Any], default: Any = None) -> Any:
    value = obj.get(key)
    if value is None:
        if default is None:
            raise _LineError(f'"{key}" is missing; use one of: {", ".join(table)}')
        return default
    found = table.get(value) if isinstance(value, str) else None
    if found is None:
        raise _LineError(f'"{key}" {value!r} is unknown; use one of: {", ".join(table)}')
    return found


def _optional_channel(obj: dict[str, Any]) -> Channel | None:
    if obj.get("channel") is None:
        return None
    channel: Channel = _choice(obj, "channel", _CHANNELS)
    return channel


def _optional_to(obj: dict[str, Any]) -> str | None:
    value = obj.get("to")
    if value is None:
        return None
    return _text(obj, "to")


def _attempt(obj: dict[str, Any]) -> Attempt:
    collectors = obj.get("collectors")
    if collectors is not None and (isinstance(collectors, bool) or not isinstance(collectors, int)):
        raise _LineError(f'"collectors" must be a whole number, not {collectors!r}')
    return Attempt(
        at=_at(obj),
        channel=_choice(obj, "channel", _CHANNELS),
        debtor=_text(obj, "debtor"),
        debts=_debts(obj),
        party=_choice(obj, "party", _PARTIES, Party.DEBTOR),
        to=_text(obj, "to", required=False),
        agency=_text(obj, "agency", required=False),
        outcome=_choice(obj, "outcome", _OUTCOMES),
        collectors=collectors,
    )


def _consent(obj: dict[str, Any]) -> Consent:
    window = obj.get("agreed_window")
    agreed: tuple[datetime, datetime] | None = None
    if window is not None:
        if not isinstance(window, list) or len(window) != 2:
            raise _LineError(f'"agreed_window" must be [start, end], not {window!r}')
        agreed = (_time(window[0], "agreed_window start"), _time(window[1], "agreed_window end"))
    return Consent(
        at=_at(obj), debtor=_text(obj, "debtor"), scope=_text(obj, "scope", required=False,
                                                              default="call"),
        debts=_debts(obj), agreed_window=agreed,
    )


def _debtor(obj: dict[str, Any]) -> DebtorInfo:
    zones = obj.get("timezones")
    if not isinstance(zones, list) or not zones or not all(isinstance(z, str) for z in zones):
        raise _LineError(f'"timezones" must be a non-empty list of IANA zone names, not {zones!r}')
    unreachable = obj.get("unreachable", False)
    if not isinstance(unreachable, bool):
        raise _LineError(f'"unreachable" must be true or false, not {unreachable!r}')
    return DebtorInfo(debtor=_text(obj, "debtor"), timezones=tuple(zones), unreachable=unreachable)


def parse_event(obj: object) -> Event:
    """One decoded JSON line as a domain event; `InvalidInput` says what is wrong."""
    try:
        return _parse(obj)
    except _LineError as exc:
        raise InvalidInput(str(exc)) from None


def _parse(obj: object) -> Event:
    if not isinstance(obj, dict):
        raise _LineError(f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("kind")
    if kind == "attempt":
        return _attempt(obj)
    if kind == "debtor":
        return _debtor(obj)
    if kind == "inbound":
        return Inbound(
            at=_at(obj), debtor=_text(obj, "debtor"),
            channel=_choice(obj, "channel", _CHANNELS, Channel.CALL), debts=_debts(obj),
            outcome=_choice(obj, "outcome", _OUTCOMES, Outcome.CONVERSATION),
        )
    if kind == "consent":
        return _consent(obj)
    if kind == "cease":
        return Cease(at=_at(obj), debtor=_text(obj, "debtor"), channel=_optional_channel(obj),
                     to=_optional_to(obj), debts=_debts(obj))
    if kind == "dispute":
        return Dispute(at=_at(obj), debtor=_text(obj, "debtor"), channel=_optional_channel(obj),
                       debts=_debts(obj))
    if kind == "dispute_answered":
        return DisputeAnswered(at=_at(obj), debtor=_text(obj, "debtor"), debts=_debts(obj))
    if kind == "opt_out":
        return OptOut(at=_at(obj), debtor=_text(obj, "debtor"),
                      channel=_choice(obj, "channel", _CHANNELS), to=_optional_to(obj))
    raise _LineError(f'"kind" {kind!r} is unknown; use one of: {", ".join(_KINDS)}')


def replay(lines: Iterable[str], profile: str | Profile = "cn") -> Iterator[dict[str, object]]:
    """Judge every attempt of a JSON-lines history in order (see the module docstring).

    Lazy: results come out as lines go in, so a file of any size replays in constant memory
    (apart from the guard's per-debtor counters).
    """
    for index, decision in judged(enumerate(lines), new_ledger(profile)):
        yield {"index": index, "allowed": decision.allowed, "rules": list(decision.rules)}


def replay_text(lines: Iterable[str], profile: str | Profile = "cn",
                chunk: int = 8192) -> Iterator[str]:
    """`replay` as the text the command prints: each result as one JSON line, exactly as
    `json.dumps(result, ensure_ascii=False)` writes it, up to `chunk` lines to a string."""
    suffixes = _Suffixes()
    out: list[str] = []
    append = out.append
    try:
        for index, decision in judged(enumerate(lines), new_ledger(profile)):
            suffix = suffixes.get(id(decision)) or suffixes.add(decision)
            append(f'{{"index": {index}{suffix[0]}')
            if len(out) >= chunk:
                yield "".join(out)
                out.clear()
    except Exception:
        if out:  # the results before a malformed (or undecodable) line, then its error
            yield "".join(out)
        raise
    if out:
        yield "".join(out)


class _Suffixes(dict[int, tuple[str, Decision]]):
    """What follows the index in a decision's result line, by `id(decision)` (the guard hands
    out few distinct decisions); each entry holds its decision so that the id stays its own.
    Read it as `suffixes.get(id(decision)) or suffixes.add(decision)`."""

    def add(self, decision: Decision) -> tuple[str, Decision]:
        rules = json.dumps(list(decision.rules), ensure_ascii=False)
        allowed = "true" if decision.allowed else "false"
        entry = self[id(decision)] = (f', "allowed": {allowed}, "rules": {rules}}}\n', decision)
        return entry


def judged(numbered: Iterable[tuple[int, str]],
           ledger: CnLedger | RegfLedger) -> Iterator[tuple[int, Decision]]:
    """(line index, decision) of every attempt of numbered JSON lines, in order, recorded in
    `ledger`; a malformed line raises `InvalidInput` naming it."""
    record = ledger.record
    record_attempt = ledger.record_attempt
    loads = json.loads
    scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
    fromisoformat = datetime.fromisoformat
    attempt_fields = itemgetter(*_ATTEMPT_FIELDS)
    channels = _CHANNELS
    outcomes = _OUTCOMES
    parties = _PARTIES
    for index, line in numbered:
        try:
            # The C scanner reads a line that starts with "{" without json.loads' wrappers;
            # anything else (or trailing text) goes through json.loads for its exact error.
            try:
                obj, end = scan(line, 0)
                if end != len(line) and not line[end:].isspace():
                    obj = loads(line)
            except StopIteration:
                if not line.strip():
                    continue
                obj = loads(line)
            # The common, well-formed attempt, read with as few checks as make it safe;
            # anything unusual goes to `_parse`, which explains what is wrong. A field given as
            # null reads as left out, as `_parse` reads it.
            if type(obj) is dict and obj.get("kind") == "attempt":
                try:
                    at, channel, debtor, debts, party, to, agency, outcome = attempt_fields(obj)
                except KeyError:  # some left out
                    get: Callable[[str], Any] = obj.get
                    at, channel, debtor, debts, party, to, agency, outcome = map(
                        get, _ATTEMPT_FIELDS
                    )
                collectors = obj.get("collectors")
                try:
                    at = fromisoformat(at)
                    channel = channels[channel]
                    outcome = outcomes[outcome]
                    party = parties[party] if party is not None else Party.DEBTOR
                    plain = (
                        at.tzinfo is not None and type(debtor) is str and debtor != ""
                        and (to is None or type(to) is str)
                        and (agency is None or type(agency) is str)
                        and (collectors is None or type(collectors) is int)
                        and (debts is None or type(debts) is list)
                    )
                except (KeyError, TypeError, ValueError):
                    plain = False
                if plain and debts:
                    for debt in debts:
                        if type(debt) is not str or not debt:
                            plain = False
                            break
                if plain:
                    decision: Decision | None = record_attempt(
                        at, channel, debtor, tuple(debts) if debts else (), party, to or "",
                        agency or "", outcome, collectors,
                    )
                else:
                    decision = record(_attempt(obj))
            else:
                decision = record(_parse(obj))
        except json.JSONDecodeError as exc:
            raise InvalidLine(
                index, _where(index, f"is not valid JSON ({exc.msg} at column {exc.colno})")
            ) from None
        except (_LineError, FairdueError) as exc:
            raise InvalidLine(index, _where(index, str(exc))) from None
        if decision is not None:
            yield index, decision


def _where(index: int, problem: str) -> str:
    return f"line {index + 1} (index {index}): {problem}"
