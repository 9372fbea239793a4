"""What an import tells its caller: rows read, added, unchanged and rejected, and why.

Kept apart from the work so that the CLI, the demo and tests depend on this small module
and not on how the rows are read or written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class FileCounts:
    read: int = 0
    added: int = 0
    unchanged: int = 0
    updated: int = 0
    rejected: int = 0


@dataclass
class ImportReport:
    counts: dict[str, FileCounts] = field(default_factory=dict)
    errors: list[BadRow] = field(default_factory=list)

    def reject(self, file: str, line: int, reason: str) -> None:
        self.errors.append(BadRow(file, line, reason))
        self.count(file).rejected += 1

    def count(self, file: str) -> FileCounts:
        return self.counts.setdefault(file, FileCounts())

    def malformed(self, file: str, rows: list[tuple[int, str]]) -> None:
        """CSV lines that could not be split into the header's fields."""
        counts = self.count(file)
        for line, reason in rows:
            counts.read += 1
            self.reject(file, line, reason)

    @property
    def ok(self) -> bool:
        return not self.errors


def row_hash(*parts: object) -> str:
    """Fingerprint of a row's text, to tell an unchanged re-import from a changed row."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
