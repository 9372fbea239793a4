"""How the SQLite writer shares a partition with its helper processes: shares cut from the
shard range, the helpers working from the front, the writer from the back whenever nothing
is ready to write, every share written once, a helper's error not swallowed."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future

import pytest

from fairdue.services.daily_run import pipeline, split_shares
from fairdue.services.sharding import SHARDS

Share = tuple[int, int]


@pytest.mark.parametrize(("first", "last", "wanted"), [
    (0, SHARDS - 1, 16), (0, SHARDS - 1, 7), (512, 1023, 16), (5, 9, 16), (3, 3, 4),
])
def test_shares_cover_the_range_once_in_order(first: int, last: int, wanted: int) -> None:
    shares = split_shares(first, last, wanted)
    assert len(shares) == min(wanted, last - first + 1)
    assert shares[0][0] == first and shares[-1][1] == last
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(shares))
    sizes = [b - a + 1 for a, b in shares]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


class LockstepHelper:
    """A helper that finishes its oldest share each time the writer works one out itself,
    and (so that a writer waiting for it is not left waiting) the rest soon after."""

    def __init__(self) -> None:
        self.pending: list[tuple[Future[tuple[str, Share]], Share]] = []
        self.worked: list[Share] = []

    def there(self, a: int, b: int) -> Future[tuple[str, Share]]:
        future: Future[tuple[str, Share]] = Future()
        self.pending.append((future, (a, b)))
        threading.Timer(0.3, self.finish_all).start()
        return future

    def finish_oldest(self) -> None:
        if self.pending:
            future, share = self.pending.pop(0)
            self.worked.append(share)
            future.set_result(("helper", share))

    def finish_all(self) -> None:
        while self.pending:
            self.finish_oldest()


def test_the_writer_works_from_the_back_while_the_helper_works_from_the_front() -> None:
    shares = split_shares(0, SHARDS - 1, 8)
    helper = LockstepHelper()
    by_writer: list[Share] = []

    def here(a: int, b: int) -> tuple[str, Share]:
        by_writer.append((a, b))
        helper.finish_oldest()  # meanwhile, on the other core
        return ("writer", (a, b))

    written: list[tuple[int, tuple[str, Share]]] = []
    pipeline(shares, 1, helper.there, here, lambda n, result: written.append((n, result)))

    # Every share written once, with what was worked out for it.
    assert sorted(n for n, _ in written) == list(range(len(shares)))
    assert all(result[1] == shares[n] for n, result in written)
    # The helper took shares from the front and the writer from the back, none twice.
    assert by_writer == [shares[7], shares[6], shares[5]]
    assert helper.worked == shares[:5]
    # Written as they became ready, not in shard order: the writer's first share first.
    assert written[0] == (7, ("writer", shares[7]))
    assert [n for n, _ in written] != sorted(n for n, _ in written)


def test_with_no_helper_result_ready_the_writer_does_everything_not_handed_out() -> None:
    shares = split_shares(0, SHARDS - 1, 6)
    slow: list[Share] = []

    def there(a: int, b: int) -> Future[Share]:
        future: Future[Share] = Future()
        slow.append((a, b))
        threading.Timer(0.2, future.set_result, args=((a, b),)).start()
        return future

    written: dict[int, Share] = {}

    def write(n: int, share: Share) -> None:
        assert n not in written, f"share {n} written twice"
        written[n] = share

    pipeline(shares, 1, there, lambda a, b: (a, b), write)
    assert written == dict(enumerate(shares))
    assert slow == shares[:2]  # two handed out (one at work, one queued), the rest here


def test_a_helpers_error_stops_the_partition() -> None:
    def there(a: int, b: int) -> Future[Share]:
        future: Future[Share] = Future()
        future.set_exception(RuntimeError(f"helper failed on shards {a}-{b}"))
        return future

    with pytest.raises(RuntimeError, match="helper failed on shards 0-"):
        pipeline(split_shares(0, SHARDS - 1, 4), 1, there, lambda a, b: (a, b),
                 lambda n, share: None)
