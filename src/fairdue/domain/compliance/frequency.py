"""Regulation F call frequency for one person: 7 calls in 7 days and the wait after a talk.

Counted per debt (1006.14(b)(2)): a placed call counts toward the debt(s) it is about, and no
call about a debt may be placed on the day of a telephone conversation about it (after the
conversation) or in the six days that follow.

Several debts on one call (comments 14(b)(4)-1 and -2): a conversation counts toward every
debt discussed; a call that reaches no one (or leaves a limited-content voicemail) about
several debts counts toward only one of them, and so does a contact about no particular
debt. Such a mark is *flexible*: the book gives it to the debt with the most room, and when
a later call needs room on that debt it moves recent flexible marks to another of their debts
if every debt stays within both limits. The book always holds one explicit assignment that
keeps every debt within the limits, so whatever it allowed can be justified mark by mark.

Days are ordinals of the debtor's local calendar. Marks older than two windows are pruned:
they can no longer share a seven-day window with a new call.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass
from itertools import product

#: Above this many combinations the book stops searching re-assignments and refuses: it
#: never allows what it cannot justify, and real histories stay far below this.
MAX_COMBINATIONS = 4096


@dataclass(slots=True, eq=False)
class Mark:
    """One call or conversation as the frequency limits see it."""

    seq: int
    day: int
    candidates: tuple[str, ...]
    counted: bool
    conversation: bool
    flexible: bool
    assigned: tuple[str, ...] = ()


@dataclass(slots=True)
class Plan:
    """Where a new mark goes, and which flexible marks move to make room."""

    assign: tuple[str, ...]
    moves: dict[int, tuple[Mark, str]] | None = None


class FrequencyBook:
    """The frequency marks of one person, per debt. See the module docstring."""

    __slots__ = ("_by_debt", "_flexible", "_low", "_max", "_seq", "_span2", "_wait", "_window")

    def __init__(self, max_calls: int, window_days: int, wait_days: int) -> None:
        self._max = max_calls
        self._window = window_days
        self._wait = wait_days
        self._by_debt: dict[str, list[Mark]] = {}
        self._flexible: list[Mark] = []
        self._seq = 0
        # No mark in `_by_debt` is older than this day (a bound, not always the minimum):
        # while the prune horizon has not passed it, pruning has nothing to do.
        self._low: int | None = None
        self._span2 = 2 * max(window_days, wait_days)  # marks older than this are pruned

    # ---- judging --------------------------------------------------------------------------

    def room(self, debt: str, day: int) -> int:
        """How many more calls about `debt` may be placed on `day` (0 when waiting after a
        conversation), given the marks as currently assigned."""
        marks = self._by_debt.get(debt)
        if not marks:
            return self._max
        first_counted = day - self._window + 1
        first_waiting = day - self._wait + 1
        oldest = min(first_counted, first_waiting)
        count = 0
        for mark in reversed(marks):
            if mark.day < oldest:
                break
            if mark.conversation and mark.day >= first_waiting:
                return 0
            if mark.counted and mark.day >= first_counted:
                count += 1
        return max(self._max - count, 0)

    def waiting(self, debt: str, day: int) -> bool:
        """Whether `debt` is inside the wait after a conversation on `day` (for the reason)."""
        first_waiting = day - self._wait + 1
        return any(
            m.conversation and m.day >= first_waiting for m in self._by_debt.get(debt, ())
        )

    def plan(self, day: int, candidates: tuple[str, ...], flexible: bool) -> Plan | None:
        """Where a new placed call could go on `day`, or None when no assignment keeps every
        debt within the limits. `flexible`: counts toward one of `candidates`; otherwise
        toward each of them."""
        room = self.room
        if flexible:
            best, most = candidates[0], room(candidates[0], day)
            for debt in candidates[1:]:
                left = room(debt, day)
                if left > most:
                    best, most = debt, left
            if most > 0:
                return Plan((best,))
        elif len(candidates) == 1:
            if room(candidates[0], day) > 0:
                return Plan(candidates)
        elif all(room(d, day) > 0 for d in candidates):
            return Plan(candidates)
        return self._search(day, candidates, flexible)

    # ---- recording ------------------------------------------------------------------------

    def add_call(self, plan: Plan, day: int, candidates: tuple[str, ...], flexible: bool,
                 conversation: bool) -> None:
        """Count a placed call as `plan` (from `plan()` on the same state) says."""
        if plan.moves:
            for mark, debt in plan.moves.values():
                self._move(mark, debt)
        self._add(day, candidates, True, conversation, flexible, plan.assign)

    def add_conversation(self, day: int, candidates: tuple[str, ...], flexible: bool) -> None:
        """A conversation that is not itself a counted call (the debtor called in, or the call
        was made with consent): it still starts the wait for the debts discussed."""
        assign = (max(candidates, key=lambda d: self.room(d, day)),) if flexible else candidates
        self._add(day, candidates, False, True, flexible, assign)

    def assignments(self) -> list[tuple[int, tuple[str, ...], tuple[str, ...]]]:
        """(day, candidates, assigned debts) of the marks kept; for explanations and tests."""
        seen: dict[int, Mark] = {}
        for marks in self._by_debt.values():
            for mark in marks:
                seen[mark.seq] = mark
        return [(m.day, m.candidates, m.assigned) for _, m in sorted(seen.items())]

    # ---- internals ------------------------------------------------------------------------

    def _add(self, day: int, candidates: tuple[str, ...], counted: bool, conversation: bool,
             flexible: bool, assign: tuple[str, ...]) -> None:
        """Keep a new mark, then prune what it leaves too old to matter."""
        self._seq += 1
        mark = Mark(self._seq, day, candidates, counted, conversation, flexible, assign)
        by_debt = self._by_debt
        for debt in assign:
            marks = by_debt.get(debt)
            if marks is None:
                by_debt[debt] = [mark]
            else:
                marks.append(mark)
        if flexible:
            self._flexible.append(mark)
        low = self._low
        if low is None or day < low:
            self._low = low = day
        if low < day - self._span2:
            self._prune(day)

    def _move(self, mark: Mark, debt: str) -> None:
        (old,) = mark.assigned
        if old == debt:
            return
        self._by_debt[old].remove(mark)
        insort(self._by_debt.setdefault(debt, []), mark, key=lambda m: m.seq)
        mark.assigned = (debt,)

    def _prune(self, day: int) -> None:
        horizon = day - self._span2
        for debt, marks in list(self._by_debt.items()):
            if marks and marks[0].day < horizon:
                kept = [m for m in marks if m.day >= horizon]
                if kept:
                    self._by_debt[debt] = kept
                else:
                    del self._by_debt[debt]
        if self._flexible and self._flexible[0].day < horizon:
            self._flexible = [m for m in self._flexible if m.day >= horizon]
        self._low = min((m.day for marks in self._by_debt.values() for m in marks), default=None)

    def _search(self, day: int, candidates: tuple[str, ...], flexible: bool) -> Plan | None:
        """Try re-assigning the flexible marks that share a window with `day`.

        Marks older than that keep their debt (that is sound, if not always the most
        permissive); every debt touched is re-checked over all windows that a moved mark or
        the new call can reach.
        """
        span = max(self._window, self._wait)
        movable = [m for m in self._flexible if m.day >= day - span + 1]
        if not movable:
            return None
        options: list[tuple[str, ...]] = [m.candidates for m in movable]
        new_options: list[tuple[str, ...]] = (
            [(d,) for d in candidates] if flexible else [candidates]
        )
        total = len(new_options)
        for choice in options:
            total *= len(choice)
        if total > MAX_COMBINATIONS:
            return None
        horizon = day - 2 * span + 2
        touched = {d for m in movable for d in m.candidates} | set(candidates)
        moving = {m.seq for m in movable}
        base: dict[str, list[Mark]] = {
            d: [m for m in self._by_debt.get(d, ()) if m.day >= horizon and m.seq not in moving]
            for d in touched
        }
        for combo in product(*options):
            for assign in new_options:
                lists = {d: [(m.seq, m) for m in marks] for d, marks in base.items()}
                for mark, debt in zip(movable, combo, strict=True):
                    lists[debt].append((mark.seq, mark))
                if all(
                    self._valid(sorted(lists[d], key=lambda p: p[0]), day, d in assign)
                    for d in touched
                ):
                    moves = {
                        m.seq: (m, debt)
                        for m, debt in zip(movable, combo, strict=True)
                        if m.assigned != (debt,)
                    }
                    return Plan(assign, moves)
        return None

    def _valid(self, marks: list[tuple[int, Mark]], day: int, with_new: bool) -> bool:
        """Whether one debt's marks (sorted by seq), plus the new call if `with_new`, keep both
        limits in every window."""
        days: list[int] = []
        last_conversation: int | None = None
        entries = [(m.day, m.counted, m.conversation) for _, m in marks]
        if with_new:
            entries.append((day, True, False))
        for mark_day, counted, conversation in entries:
            if counted:
                if last_conversation is not None and mark_day < last_conversation + self._wait:
                    return False
                days.append(mark_day)
                first = mark_day - self._window + 1
                if sum(1 for d in days if d >= first) > self._max:
                    return False
            if conversation:
                last_conversation = mark_day
        return True
