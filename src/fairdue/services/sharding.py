"""Borrower shards: the daily run's unit of partitioning, the same on every machine.

A borrower's shard comes from a stable hash of their id, stored with the borrower and their
loans when they are imported, so a partition (a range of shards) reads its loans and cases
by index and any number of processes can split a day between them.
"""

from __future__ import annotations

import functools

SHARDS = 1024


def shard_of(borrower_id: str) -> int:
    """A stable shard number for a borrower (FNV-1a), the same on every machine and run."""
    value = 0x811C9DC5
    for byte in borrower_id.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value % SHARDS


#: The daily run looks up the shard of every borrower with an open case once per partition.
cached_shard_of = functools.lru_cache(maxsize=1 << 18)(shard_of)


def partition_ranges(partitions: int) -> list[tuple[int, int]]:
    """The shard ranges of a day's partitions, as equal as SHARDS allows."""
    size = -(-SHARDS // partitions)
    return [(start, min(start + size, SHARDS) - 1) for start in range(0, SHARDS, size)]
