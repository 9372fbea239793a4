"""Benchmark `fairdue generate`: how long a portfolio of N loans takes to write.

The generator feeds demos, import tests and the other benchmarks, so its speed decides how
big a book anyone bothers to try; this keeps an eye on loans per second at a realistic size.
Run as a script to print the result as JSON: `python bench/bench_generate.py --loans 200000`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from fairdue.portfolio import generate_portfolio


def run(loans: int = 1_000_000, seed: int = 42, out: Path | None = None) -> dict[str, object]:
    """Generate `loans` loans into `out` (a temporary folder, removed after, if None)."""
    target = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="fairdue-gen-"))
    try:
        start = time.perf_counter()
        summary = generate_portfolio(target, loans=loans, seed=seed)
        seconds = time.perf_counter() - start
    finally:
        if out is None:
            shutil.rmtree(target, ignore_errors=True)
    return {
        "name": "generate",
        "loans": summary.loans,
        "seconds": round(seconds, 3),
        "loans_per_second": round(summary.loans / seconds) if seconds > 0 else None,
        "installments": summary.installments,
        "payments": summary.payments,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None,
                        help="keep the files in this folder (default: a temporary one)")
    args = parser.parse_args()
    print(json.dumps(run(loans=args.loans, seed=args.seed, out=args.out)))


if __name__ == "__main__":
    main()
