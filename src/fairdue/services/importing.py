"""Importing a lender's portfolio; the work is in the `services.importer` package.

Kept so that `from fairdue.services.importing import import_portfolio` goes on working.
"""

from __future__ import annotations

from fairdue.services.importer import BadRow, FileCounts, ImportReport, Progress, import_portfolio

__all__ = ["BadRow", "FileCounts", "ImportReport", "Progress", "import_portfolio"]
