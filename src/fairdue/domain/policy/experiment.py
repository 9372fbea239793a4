"""Champion/challenger: which variant of an experiment a case belongs to.

The assignment is a pure function of the case id and the experiment's name: the same case
lands in the same variant on every day, on every worker, in every replay, and a new
experiment (another name) reshuffles the cases independently of the last one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from fairdue.errors import InvalidInput


def assign_variant(case_id: str, experiment: str, shares: Sequence[tuple[str, int]]) -> str:
    """The variant of `experiment` that `case_id` belongs to.

    sha256 of `case_id + experiment` (UTF-8), its first 8 bytes as a big-endian number,
    modulo 100, falls into one of the consecutive ranges the shares (percent, in the order
    declared, summing to 100) mark out.
    """
    digest = hashlib.sha256((case_id + experiment).encode("utf-8")).digest()
    point = int.from_bytes(digest[:8], "big") % 100
    for name, share in shares:
        if point < share:
            return name
        point -= share
    total = sum(share for _, share in shares)
    raise InvalidInput(f"the shares of experiment {experiment!r} sum to {total}, not 100")
