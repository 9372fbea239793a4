"""Delinquency buckets: named DPD ranges, configurable per lender.

The default table is the one Chinese lenders and Apache Fineract users know (M0..M6+).
A table must cover every DPD from 0 up without gaps or overlaps, so that each loan is in
exactly one bucket on every day and roll rates add up.
"""

from __future__ import annotations

from dataclasses import dataclass

from fairdue.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    min_dpd: int
    max_dpd: int | None  # None: no upper bound

    def holds(self, dpd: int) -> bool:
        return dpd >= self.min_dpd and (self.max_dpd is None or dpd <= self.max_dpd)


@dataclass(frozen=True, slots=True)
class BucketTable:
    buckets: tuple[Bucket, ...]

    def __post_init__(self) -> None:
        if not self.buckets:
            raise InvalidInput("a bucket table needs at least one bucket")
        expected = 0
        names = set()
        for i, bucket in enumerate(self.buckets):
            if bucket.name in names:
                raise InvalidInput(f"bucket {bucket.name!r} appears twice")
            names.add(bucket.name)
            if bucket.min_dpd != expected:
                raise InvalidInput(
                    f"bucket {bucket.name!r} starts at DPD {bucket.min_dpd}, expected "
                    f"{expected}: buckets must cover every DPD without gap or overlap"
                )
            last = i == len(self.buckets) - 1
            if bucket.max_dpd is None:
                if not last:
                    raise InvalidInput(f"only the last bucket may be open-ended, not {bucket.name!r}")
            else:
                if bucket.max_dpd < bucket.min_dpd:
                    raise InvalidInput(f"bucket {bucket.name!r} ends before it starts")
                expected = bucket.max_dpd + 1
        if self.buckets[-1].max_dpd is not None:
            raise InvalidInput(f"the last bucket {self.buckets[-1].name!r} must be open-ended")

    def bucket_for(self, dpd: int) -> str:
        if dpd < 0:
            raise InvalidInput(f"DPD cannot be negative ({dpd})")
        for bucket in self.buckets:
            if bucket.holds(dpd):
                return bucket.name
        raise AssertionError("a validated bucket table covers every DPD")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.buckets)

    def order(self, name: str) -> int:
        """Position of a bucket, for comparing how bad two buckets are."""
        return self.names.index(name)

    @classmethod
    def parse(cls, text: str) -> BucketTable:
        """Read "M0:0,M1:1-30,...,M6+:181-" (a trailing dash means no upper bound)."""
        buckets = []
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, span = part.partition(":")
            if not sep or not name.strip():
                raise InvalidInput(f"bucket {part!r} must look like NAME:FROM-TO, e.g. M1:1-30")
            low, dash, high = span.partition("-")
            try:
                min_dpd = int(low)
                max_dpd: int | None = (int(high) if high else None) if dash else min_dpd
            except ValueError:
                raise InvalidInput(f"bucket {part!r}: DPD bounds must be whole numbers") from None
            buckets.append(Bucket(name.strip(), min_dpd, max_dpd))
        return cls(tuple(buckets))

    def describe(self) -> str:
        return ",".join(
            f"{b.name}:{b.min_dpd}-{'' if b.max_dpd is None else b.max_dpd}" for b in self.buckets
        )


DEFAULT_BUCKETS = BucketTable.parse(
    "M0:0-0,M1:1-30,M2:31-60,M3:61-90,M4:91-120,M5:121-150,M6:151-180,M6+:181-"
)
