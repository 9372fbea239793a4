"""How fast does `compliance replay` judge a realistic contact history?

Generates, from a seeded `random.Random`, a JSON-lines history of about `attempts` attempts
by a few agencies over 30 days for 20,000 debtors (calls, SMS, email, ringless voicemail,
visits, a few third-party calls; mostly one debt, some two; the usual mix of outcomes; a
sprinkle of inbound calls, consents, opt-outs, cease requests and disputes; some debtors with
two possible time zones), then times only the replay of it through the profile, as the
command runs it (the result lines included): in one process, and split over two.

Run: `.venv/bin/python bench/bench_compliance_replay.py [--profile cn|us-regf] [--attempts N]`
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from fairdue.services.compliance_replay import replay_text
from fairdue.services.compliance_replay_parallel import replay_text_parallel

_ZONES = {
    "cn": ["Asia/Shanghai", "Asia/Shanghai", "Asia/Urumqi"],
    "us-regf": ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"],
}
_OFFSET = {"cn": timedelta(hours=8), "us-regf": timedelta(hours=-5)}


def generate(attempts: int, seed: int = 7, profile: str = "cn", debtors: int = 20_000) -> list[str]:
    """A time-ordered JSON-lines history with `attempts` attempt lines (and other events)."""
    rng = random.Random(seed)
    zones = _ZONES[profile]
    lines: list[str] = []
    for i in range(debtors):
        tz = [rng.choice(zones)]
        if rng.random() < 0.05:
            tz.append(rng.choice(zones))
        lines.append(json.dumps({"kind": "debtor", "debtor": f"C{i}", "timezones": tz}))
    debts = {i: [f"D{i}a"] + ([f"D{i}b"] if rng.random() < 0.2 else []) for i in range(debtors)}
    midnight = datetime(2026, 8, 1) - _OFFSET[profile]  # local midnight of day 1, in UTC
    suffix = "+08:00" if profile == "cn" else "-05:00"
    channels = ["call"] * 60 + ["sms"] * 18 + ["email"] * 10 + ["voicemail_ringless"] * 8 + [
        "visit"] * 2 + ["push"] * 2
    call_outcomes = ["no_answer"] * 45 + ["conversation"] * 20 + ["voicemail"] * 15 + [
        "busy"] * 10 + ["not_connected"] * 10
    events: list[tuple[float, str]] = []
    made = 0
    while made < attempts:
        # Most contacts happen in working hours; about 4% stray into the night.
        day = rng.randrange(30)
        second = rng.uniform(8 * 3600, 21 * 3600) if rng.random() > 0.04 else rng.uniform(0, 86_400)
        key = day * 86_400 + second
        stamp = (midnight + timedelta(seconds=key) + _OFFSET[profile]).isoformat() + suffix
        debtor = rng.randrange(debtors)
        roll = rng.random()
        if roll < 0.01:
            events.append((key, json.dumps({
                "kind": "inbound", "at": stamp, "channel": "call", "debtor": f"C{debtor}",
                "debts": debts[debtor], "outcome": "conversation"})))
            continue
        if roll < 0.015:
            kind = rng.choice(["consent", "opt_out", "cease", "dispute"])
            event: dict[str, object] = {"kind": kind, "at": stamp, "debtor": f"C{debtor}"}
            if kind == "consent":
                event.update(scope="call", debts=debts[debtor])
            else:
                event["channel"] = rng.choice(["sms", "email", "call"])
            events.append((key, json.dumps(event)))
            continue
        channel = rng.choice(channels)
        party = "contact" if rng.random() < 0.03 else "debtor"
        if channel in ("call", "visit"):
            outcome = rng.choice(call_outcomes)
        elif channel == "voicemail_ringless":
            outcome = "delivered"
        else:
            outcome = "delivered" if rng.random() < 0.95 else "failed"
        number = f"+86138{debtor:07d}" if party == "debtor" else f"+86139{rng.randrange(10**7):07d}"
        record: dict[str, object] = {
            "kind": "attempt", "at": stamp, "channel": channel, "debtor": f"C{debtor}",
            "debts": debts[debtor] if rng.random() < 0.9 else debts[debtor][:1],
            "party": party, "to": number, "agency": rng.choice(["A1", "A2", "A3"]),
            "outcome": outcome,
        }
        if channel == "visit":
            record["collectors"] = rng.choice([1, 2, 2, 3])
        events.append((key, json.dumps(record)))
        made += 1
    events.sort(key=lambda pair: pair[0])
    return lines + [line for _, line in events]


def _timed(replay_lines: Callable[[], Iterator[str]]) -> dict[str, object]:
    """Wall and CPU seconds (this process and its finished children) of one replay."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    judged = sum(chunk.count("\n") for chunk in replay_lines())
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime
              for a, b in zip(after, before, strict=True))
    return {"attempts": judged, "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
            "attempts_per_second": round(judged / seconds),
            "attempts_per_cpu_second": round(judged / cpu), "load_average_before": load}


def run(attempts: int = 200_000, seed: int = 7, profile: str = "cn",
        workers: int = 2) -> dict[str, object]:
    """Replay a generated history of about `attempts` attempts as the command does (the
    result lines included): in one process, then split over `workers` processes."""
    lines = generate(attempts, seed, profile)
    one = _timed(lambda: replay_text(lines, profile))
    several = _timed(lambda: replay_text_parallel(lines, profile, workers))
    return {
        "name": "compliance_replay",
        "profile": profile,
        "attempts": one["attempts"],
        "seconds": one["seconds"],
        "attempts_per_second": one["attempts_per_second"],
        "one_process": one,
        f"{workers}_processes": several,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cn", choices=sorted(_ZONES))
    parser.add_argument("--attempts", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(run(args.attempts, args.seed, args.profile, args.workers)))


if __name__ == "__main__":
    main()
