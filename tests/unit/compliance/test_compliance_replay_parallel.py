"""The fast replay paths give exactly the answers of the plain one.

- `replay_text` (the command's output) is `json.dumps` of each `replay` result;
- the fast reading of attempt lines judges as `parse_event` + `ledger.record` do;
- `replay_text_parallel` (debtors split over processes) prints the same text as one process,
  including when debtors share a number (`cn` counts dials per number across debtors) and
  when a line is malformed (same results before it, same error).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairdue.cli.compliance import app
from fairdue.domain.compliance import new_ledger
from fairdue.errors import InvalidInput
from fairdue.services.compliance_replay import parse_event, replay, replay_text
from fairdue.services.compliance_replay_parallel import replay_text_parallel

PROFILES = ["cn", "us-regf"]
ZONES = {"cn": ["Asia/Shanghai", "Asia/Urumqi"],
         "us-regf": ["America/New_York", "America/Chicago", "America/Los_Angeles"]}


def history(profile: str, lines: int, seed: int = 11, debtors: int = 300) -> list[str]:
    """A time-ordered history of every kind of event, dense enough that caps, windows, stops
    and shared numbers all bite; some fields left out, some null, some compact JSON."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(debtors):
        if rng.random() < 0.9:
            zones = rng.sample(ZONES[profile], rng.choice([1, 1, 1, 2]))
            out.append(json.dumps({"kind": "debtor", "debtor": f"C{i}", "timezones": zones,
                                   "unreachable": rng.random() < 0.05}))
    shared = [f"+86139{n:07d}" for n in range(8)]  # numbers several debtors dial
    at = datetime(2026, 8, 3, 0, 0, tzinfo=UTC)
    channels = ["call"] * 8 + ["sms", "email", "push", "visit", "voicemail_ringless"]
    outcomes = {"call": ["conversation", "voicemail", "no_answer", "busy", "not_connected"],
                "voicemail_ringless": ["voicemail", "delivered", "not_connected"],
                "visit": ["conversation", "no_answer"]}
    while len(out) < lines:
        at += timedelta(seconds=rng.choice([0, 7, 60, 300, 900]))
        debtor = rng.randrange(debtors)
        debts = rng.choice([[f"D{debtor}a"], [f"D{debtor}a"], [f"D{debtor}a", f"D{debtor}b"], []])
        stamp = at.astimezone(timezone(timedelta(hours=rng.choice([8, -4, 0])))).isoformat()
        roll = rng.random()
        event: dict[str, object]
        if roll < 0.02:
            event = {"kind": "inbound", "at": stamp, "channel": "call", "debtor": f"C{debtor}",
                     "debts": debts, "outcome": "conversation"}
        elif roll < 0.035:
            event = {"kind": rng.choice(["cease", "dispute", "opt_out", "dispute_answered"]),
                     "at": stamp, "debtor": f"C{debtor}", "channel": rng.choice(["sms", "call"])}
            if event["kind"] == "dispute_answered":
                del event["channel"]
        elif roll < 0.045:
            event = {"kind": "consent", "at": stamp, "debtor": f"C{debtor}", "debts": debts,
                     "scope": rng.choice(["call", "all"])}
            if rng.random() < 0.5:
                end = at + timedelta(hours=2)
                event["agreed_window"] = [stamp, end.isoformat()]
        else:
            channel = rng.choice(channels)
            party = "contact" if rng.random() < 0.1 else "debtor"
            to = rng.choice(shared) if rng.random() < 0.2 else f"+86138{debtor:07d}"
            event = {"kind": "attempt", "at": stamp, "channel": channel, "debtor": f"C{debtor}",
                     "debts": debts, "party": party, "to": to, "agency": rng.choice(["A1", "A2"]),
                     "outcome": rng.choice(outcomes.get(channel, ["delivered", "failed"]))}
            if channel == "visit":
                event["collectors"] = rng.choice([1, 2, 3])
            for key in ("debts", "party", "to", "agency"):
                roll = rng.random()
                if roll < 0.03:
                    del event[key]
                elif roll < 0.05:
                    event[key] = None
        compact = rng.random() < 0.1
        out.append(json.dumps(event, separators=(",", ":") if compact else None))
        if rng.random() < 0.01:
            out.append(rng.choice(["", "   "]))
    return out


@pytest.mark.parametrize("profile", PROFILES)
def test_text_is_json_dumps_of_each_result(profile: str) -> None:
    lines = history(profile, 3000)
    expected = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in replay(lines, profile))
    assert "".join(replay_text(lines, profile, chunk=500)) == expected


@pytest.mark.parametrize("profile", PROFILES)
def test_fast_reading_judges_as_parse_event_and_record(profile: str) -> None:
    lines = history(profile, 5000, seed=5)
    ledger = new_ledger(profile)
    expected = []
    for index, line in enumerate(lines):
        if line.strip():
            decision = ledger.record(parse_event(json.loads(line)))
            if decision is not None:
                expected.append({"index": index, "allowed": decision.allowed,
                                 "rules": list(decision.rules)})
    results = list(replay(lines, profile))
    assert results == expected
    assert {tuple(r["rules"]) for r in results} - {()}  # the history does get refusals


@pytest.mark.parametrize("profile", PROFILES)
def test_parallel_replay_of_a_large_random_history_is_identical(
    profile: str, tmp_path: Path,
) -> None:
    lines = history(profile, 40_000, seed=3, debtors=2000)
    single = "".join(replay_text(lines, profile))
    assert "".join(replay_text_parallel(lines, profile, workers=2, block=3000)) == single
    source = tmp_path / "history.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "".join(replay_text_parallel(source, profile, workers=3, block=7001)) == single


def test_parallel_cn_keeps_debtors_who_share_a_number_together() -> None:
    """Six unanswered dials to one number, by debtors the hash would put apart: the seventh,
    by yet another debtor, is refused (CN-03) only if they are all judged together."""
    lines = [json.dumps({"kind": "attempt", "at": f"2026-08-13T1{n}:00:00+08:00",
                         "channel": "call", "debtor": f"C{n}", "to": "+8613900000000",
                         "outcome": "no_answer"}) for n in range(7)]
    single = "".join(replay_text(lines, "cn"))
    assert json.loads(single.splitlines()[-1])["rules"] == ["CN-03"]
    for workers in (2, 3, 4):
        assert "".join(replay_text_parallel(lines, "cn", workers=workers, block=2)) == single


@pytest.mark.parametrize(("bad", "message"), [
    ("{not json", "is not valid JSON"),
    (json.dumps({"kind": "attempt", "at": "2026-08-01T10:00:00+08:00", "channel": "call",
                 "debtor": "C7", "outcome": "no_answer"}), "earlier than the last one"),
])
@pytest.mark.parametrize("profile", PROFILES)
def test_parallel_replay_stops_at_the_same_line_with_the_same_error(
    profile: str, bad: str, message: str,
) -> None:
    lines = history(profile, 6000, seed=9, debtors=50)
    lines[4321] = bad
    single: list[str] = []
    with pytest.raises(InvalidInput) as one:
        single.extend(replay_text(lines, profile, chunk=100))
    parallel: list[str] = []
    with pytest.raises(InvalidInput) as two:
        parallel.extend(replay_text_parallel(lines, profile, workers=2, block=1000))
    assert message in str(one.value) and "line 4322 (index 4321)" in str(one.value)
    assert str(two.value) == str(one.value)
    assert "".join(parallel) == "".join(single)


def test_cli_replay_with_two_workers(tmp_path: Path) -> None:
    lines = history("us-regf", 2000, seed=2)
    source = tmp_path / "history.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    runner = CliRunner()
    one = runner.invoke(app, ["replay", "--profile", "us-regf", "--workers", "1", str(source)])
    two = runner.invoke(app, ["replay", "--profile", "us-regf", "--workers", "2", str(source)])
    assert one.exit_code == two.exit_code == 0
    assert two.stdout == one.stdout and one.stdout
    source.write_text("\n".join([*lines[:1500], "[1]", *lines[1500:]]) + "\n", encoding="utf-8")
    bad = runner.invoke(app, ["replay", "-p", "us-regf", "-w", "2", str(source)])
    assert bad.exit_code == 2
    assert "line 1501 (index 1500): expected a JSON object" in bad.stderr
    before = [x for x in one.stdout.splitlines(keepends=True) if json.loads(x)["index"] < 1500]
    assert bad.stdout == "".join(before)
