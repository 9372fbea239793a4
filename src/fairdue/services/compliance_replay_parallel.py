"""`compliance replay` in two or more processes: the same answers as one, sooner.

Debtors are judged independently of each other, with one exception: `cn` counts unanswered
dials per number across debtors, so debtors who dialled a common number belong together.
Each worker process gets the lines of its own debtors (in input order, with their line
numbers) and judges them with its own guard; the parent puts the results back in input
order. A malformed line ends the replay at the first such line in input order, after every
result before it, exactly as one process would.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import queue
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing import Queue
from pathlib import Path
from typing import Any

from fairdue.domain.compliance import CnParameters, Profile, get_profile, new_ledger
from fairdue.services.compliance_replay import InvalidLine, _Suffixes, judged

_NO_NUMBER = ("(no number of ", ")")  # how `cn` keys unanswered dials without a number


#: A string field, found without decoding the line (see `_field`).
_FIELDS = {key: re.compile(rf'"{key}"\s*:\s*"([^"\\]*)"') for key in ("debtor", "to")}


def _field(line: str, key: str) -> str | None:
    """The string field `key` of the JSON object on `line`, else None (a line that lacks it,
    or has it not as a string, is malformed or does not need it).

    Read without decoding where it must be the top-level field: in a line without escapes
    (`\\`), where every `"` opens or closes a string, `"key": "..."` appears once; any other
    line is decoded."""
    if "\\" not in line:
        found = _FIELDS[key].findall(line)
        if len(found) == 1:
            value: str = found[0]
            return value
        if not found and f'"{key}"' not in line:
            return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    field = obj.get(key) if isinstance(obj, dict) else None
    return field if isinstance(field, str) else None


def _groups(lines: Iterable[str], workers: int) -> dict[str, int]:
    """`cn`: the worker of every debtor who shares a dialled number with another (union-find
    over the numbers on any line); other debtors go by the hash of their id. Linking two
    debtors who need not be is harmless; missing a link is not, so any doubt decodes."""
    parent: dict[str, str] = {}

    def root(debtor: str) -> str:
        while (up := parent.get(debtor, debtor)) != debtor:
            parent[debtor] = parent.get(up, up)
            debtor = up
        return debtor

    def link(debtor: str, other: str) -> None:
        if (a := root(debtor)) != (b := root(other)):
            parent[a] = b

    first: dict[str, str] = {}
    for line in _readable(lines):
        if '"to"' not in line and "\\" not in line:
            continue
        to = _field(line, "to")
        debtor = _field(line, "debtor")
        if not to or not debtor:
            continue
        owner = first.setdefault(to, debtor)
        if owner != debtor:
            link(debtor, owner)
        if to.startswith(_NO_NUMBER[0]) and to.endswith(_NO_NUMBER[1]):
            link(debtor, to[len(_NO_NUMBER[0]):-len(_NO_NUMBER[1])])
    return {debtor: hash(root(debtor)) % workers for debtor in parent}


def _readable(lines: Iterable[str]) -> Iterator[str]:
    """The lines up to the first that cannot be decoded (the replay stops there anyway)."""
    try:
        yield from lines
    except UnicodeDecodeError:
        return


def _work(profile: Profile, inbox: Queue[Any], outbox: Queue[Any]) -> None:
    """A worker process: judge each block of (indices, lines) sent, with one guard for all of
    them; answer (indices, result lines, error), error being (index, message) or None. After
    an error it stops: nothing after a malformed line is judged."""
    ledger = new_ledger(profile)
    suffixes = _Suffixes()
    while (job := inbox.get()) is not None:
        block_indices, block_lines = job
        indices: list[int] = []
        texts: list[str] = []
        error: tuple[int, str] | None = None
        try:
            for index, decision in judged(zip(block_indices, block_lines, strict=True), ledger):
                indices.append(index)
                suffix = suffixes.get(id(decision)) or suffixes.add(decision)
                texts.append(f'{{"index": {index}{suffix[0]}')
        except InvalidLine as exc:
            error = (exc.index, str(exc))
        except Exception as exc:  # reported to the parent, which fails with it
            error = (-1, f"replay worker failed: {exc!r}")
        outbox.put((indices, texts, error))
        if error is not None:
            inbox.cancel_join_thread()
            return


def replay_text_parallel(
    source: Path | Sequence[str], profile: str | Profile = "cn", workers: int = 2,
    block: int = 16384,
) -> Iterator[str]:
    """`replay_text` of a file (or of lines in memory) over `workers` processes: the same
    output, a block of about `block` lines at a time, and the same error at the same place.
    `cn` reads the history once ahead, to group the debtors who share a number."""
    chosen = get_profile(profile) if isinstance(profile, str) else profile
    groups: dict[str, int] = {}
    if isinstance(chosen.parameters, CnParameters):
        with _lines_of(source) as lines:
            groups = _groups(lines, workers)
    context: Any = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    inboxes: list[Queue[Any]] = [context.Queue() for _ in range(workers)]
    outboxes: list[Queue[Any]] = [context.Queue() for _ in range(workers)]
    processes = [
        context.Process(target=_work, args=(chosen, inbox, outbox), daemon=True)
        for inbox, outbox in zip(inboxes, outboxes, strict=True)
    ]
    gc.freeze()  # forked workers then leave the parent's objects out of their collections
    try:
        for process in processes:
            process.start()
    finally:
        gc.unfreeze()
    pending: deque[tuple[int, int]] = deque()  # (first index, end) of each block in flight
    finished = False
    try:
        shares: list[tuple[list[int], list[str]]] = [([], []) for _ in range(workers)]
        start = end = 0
        unreadable: UnicodeDecodeError | None = None
        with _lines_of(source) as lines:
            try:
                for index, line in enumerate(lines):
                    end = index + 1
                    if not line or line.isspace():
                        continue
                    debtor = _field(line, "debtor")
                    worker = 0 if debtor is None else groups.get(debtor, hash(debtor) % workers)
                    share_indices, share_lines = shares[worker]
                    share_indices.append(index)
                    share_lines.append(line)
                    if end - start >= block:
                        _hand_out(inboxes, shares, pending, start, end)
                        start = end
                        shares = [([], []) for _ in range(workers)]
                        if len(pending) > 2:
                            yield from _results(outboxes, processes, pending)
            except UnicodeDecodeError as exc:  # after the results of the lines before it
                unreadable = exc
        if end > start:
            _hand_out(inboxes, shares, pending, start, end)
        while pending:
            yield from _results(outboxes, processes, pending)
        if unreadable is not None:
            raise unreadable
        finished = True
    finally:
        for inbox in inboxes:
            inbox.put(None)
            if not finished:
                inbox.cancel_join_thread()
        for process in processes:
            if not finished:
                process.terminate()
            process.join()


def _hand_out(inboxes: list[Queue[Any]], shares: list[tuple[list[int], list[str]]],
              pending: deque[tuple[int, int]], start: int, end: int) -> None:
    for inbox, share in zip(inboxes, shares, strict=True):
        inbox.put(share)
    pending.append((start, end))


def _results(outboxes: list[Queue[Any]], processes: list[Any],
             pending: deque[tuple[int, int]]) -> Iterator[str]:
    """The results of the oldest block in flight, in input order; when a worker met a
    malformed line, the results before the first such line, then its error."""
    start, end = pending.popleft()
    answers = [_answer(outbox, process) for outbox, process in zip(outboxes, processes, strict=True)]
    errors = sorted(error for _, _, error in answers if error is not None)
    if errors and errors[0][0] < 0:
        raise RuntimeError(errors[0][1])
    stop = errors[0][0] if errors else end
    slots = [""] * (stop - start)
    for indices, texts, _ in answers:
        for index, text in zip(indices, texts, strict=True):
            if index >= stop:
                break
            slots[index - start] = text
    yield "".join(slots)
    if errors:
        raise InvalidLine(stop, errors[0][1])


def _answer(outbox: Queue[Any], process: Any) -> Any:
    """A worker's next answer; a worker that died without one (killed, out of memory) fails
    the replay instead of leaving it waiting."""
    while True:
        try:
            return outbox.get(timeout=1.0)
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"a replay worker stopped without answering (exit code {process.exitcode})"
                ) from None


@contextmanager
def _lines_of(source: Path | Sequence[str]) -> Iterator[Iterable[str]]:
    if isinstance(source, Path):
        with source.open(encoding="utf-8") as handle:
            yield handle
    else:
        yield source
