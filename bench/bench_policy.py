"""How many open cases a second does the contact policy decide, on one core?

Builds `cases` case facts from a seeded `random.Random` (the usual spread of days past due,
amounts, contact history, plans, disputes, missing channels and opt-outs), then times only
`Policy.decide` over them: for the default policy, and for the default policy with a
champion/challenger experiment (each decision then also hashes the case id).

Run: `.venv/bin/python bench/bench_policy.py [--cases N]`
"""

from __future__ import annotations

import argparse
import json
import random
import time

from fairdue.adapters.policy_file import default_policy_text, load_policy
from fairdue.domain.policy import CHANNELS, CaseFacts, Policy

_EXPERIMENT = """
experiment:
  name: bench-sms-cadence
  variants:
    champion: {share: 80}
    challenger: {share: 20, thresholds: {sms_every_days: 2}}
"""


def _days(rng: random.Random, dpd: int) -> int | None:
    return None if rng.random() < 0.15 else rng.randrange(0, min(dpd, 30) + 1)


def generate(cases: int, seed: int = 7) -> list[CaseFacts]:
    """`cases` open cases with a realistic mix of facts."""
    rng = random.Random(seed)
    out: list[CaseFacts] = []
    for n in range(cases):
        dpd = min(int(rng.expovariate(1 / 25)) + 1, 400)
        unreachable = rng.random() < 0.08
        failures = {ch: rng.randrange(0, 8) for ch in CHANNELS if rng.random() < 0.5}
        out.append(CaseFacts(
            case_id=f"K{n:08d}", borrower_id=f"B{n:08d}", dpd=dpd,
            bucket="M1" if dpd <= 30 else "M2" if dpd <= 60 else "M3" if dpd <= 90 else "M4+",
            amount_due_minor=int(rng.lognormvariate(12, 0.8)), currency="CNY",
            principal_outstanding_minor=int(rng.lognormvariate(12, 0.8)),
            loans=1 + (rng.random() < 0.2), case_age_days=dpd - 1,
            days_since_rpc=None if rng.random() < 0.4 else rng.randrange(0, dpd + 1),
            consecutive_failures=failures, failed_attempts_total=sum(failures.values()),
            days_unreachable=rng.randrange(0, dpd + 1) if unreachable else None,
            days_since_last={ch: _days(rng, dpd) for ch in CHANNELS},
            promises_kept=rng.randrange(0, 3), promises_broken=rng.randrange(0, 4),
            refusals=rng.randrange(0, 4), active_plan=rng.random() < 0.05,
            grace=rng.random() < 0.02, open_dispute=rng.random() < 0.01,
            open_complaint=rng.random() < 0.01, has_phone=rng.random() < 0.98,
            has_email=rng.random() < 0.6, has_app=rng.random() < 0.7,
            opted_out=frozenset(ch for ch in ("sms", "email", "push") if rng.random() < 0.03),
            preferred_channels=frozenset({"sms"}) if rng.random() < 0.1 else frozenset(),
        ))
    return out


def _time(policy: Policy, cases: list[CaseFacts]) -> tuple[float, int]:
    decide = policy.decide
    started = time.perf_counter()
    actions = sum(len(decide(case).actions) for case in cases)
    return time.perf_counter() - started, actions


def run(cases: int = 100_000, seed: int = 7) -> dict[str, object]:
    """Decide `cases` generated cases with the default policy, without and with an experiment."""
    facts = generate(cases, seed)
    plain = load_policy(default_policy_text(), source="default.yaml")
    experiment = load_policy(default_policy_text() + _EXPERIMENT, source="default+experiment")
    seconds, actions = _time(plain, facts)
    seconds_exp, _ = _time(experiment, facts)
    return {
        "name": "policy_decide",
        "cases": cases,
        "actions": actions,
        "seconds": round(seconds, 3),
        "decisions_per_second": round(cases / seconds),
        "with_experiment_seconds": round(seconds_exp, 3),
        "with_experiment_decisions_per_second": round(cases / seconds_exp),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(run(args.cases, args.seed)))


if __name__ == "__main__":
    main()
