"""Synthetic micro-loan portfolios for demos, benchmarks and import tests.

The generator writes the same four files `fairdue import` reads (see docs/import-format.md),
so a generated book exercises exactly the path a lender's real export takes.
"""

from fairdue.portfolio.generate import (
    DEFAULT_AS_OF,
    FILES,
    GenerationSummary,
    ProgressCallback,
    generate_portfolio,
)

__all__ = [
    "DEFAULT_AS_OF",
    "FILES",
    "GenerationSummary",
    "ProgressCallback",
    "generate_portfolio",
]
