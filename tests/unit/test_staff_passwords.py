"""The product hashes staff passwords at argon2-cffi's default cost (RFC 9106's second
recommended setting); the suite lowers the cost for speed, never the product."""

from __future__ import annotations

import argon2
from argon2 import PasswordHasher


def test_staff_passwords_are_argon2id_at_the_libraries_default_cost(
    production_hasher: PasswordHasher,
) -> None:
    assert production_hasher.type is argon2.Type.ID
    assert production_hasher.time_cost == argon2.DEFAULT_TIME_COST >= 3
    assert production_hasher.memory_cost == argon2.DEFAULT_MEMORY_COST >= 64 * 1024
    assert production_hasher.parallelism == argon2.DEFAULT_PARALLELISM
    hashed = production_hasher.hash("a long enough password")
    assert hashed.startswith("$argon2id$") and "m=65536,t=3" in hashed
    assert production_hasher.verify(hashed, "a long enough password")
