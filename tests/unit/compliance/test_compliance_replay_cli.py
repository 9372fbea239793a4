"""`fairdue compliance replay` and `check-text` through the Typer sub-app, and the replay
service's wire format (line numbers, defaults, errors that name the line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairdue.cli.compliance import app
from fairdue.errors import InvalidInput
from fairdue.services.compliance_replay import replay

runner = CliRunner()


def line(**fields: object) -> str:
    return json.dumps(fields)


def us_call(at: str, outcome: str = "no_answer", debts: list[str] | None = None) -> str:
    return line(kind="attempt", at=at, channel="call", debtor="C1",
                debts=["D1"] if debts is None else debts, party="debtor", to="+12125550100",
                agency="A1", outcome=outcome)


def test_replay_indexes_are_line_numbers_counting_every_line() -> None:
    """Index = 0-based line number over every line, blank lines and non-attempts included."""
    history = [
        line(kind="debtor", debtor="C1", timezones=["America/New_York"]),
        "",
        us_call("2026-08-13T10:00:00-04:00", "conversation"),
        line(kind="inbound", at="2026-08-13T11:00:00-04:00", channel="call", debtor="C1",
             debts=["D1"], outcome="conversation"),
        us_call("2026-08-14T10:00:00-04:00"),
        us_call("2026-08-20T10:00:00-04:00"),
        "   ",
        us_call("2026-08-21T07:00:00-04:00"),
    ]
    results = list(replay(history, "us-regf"))
    assert results == [
        {"index": 2, "allowed": True, "rules": []},
        {"index": 4, "allowed": False, "rules": ["US-01"]},
        {"index": 5, "allowed": True, "rules": []},
        {"index": 7, "allowed": False, "rules": ["US-04"]},
    ]


def test_replay_default_zone_cn_is_shanghai() -> None:
    history = [
        line(kind="attempt", at="2026-08-13T14:30:00Z", channel="sms", debtor="C9",
             outcome="delivered"),
        line(kind="attempt", at="2026-08-13T02:30:00Z", channel="sms", debtor="C9",
             outcome="delivered", debts=[]),
    ]
    with pytest.raises(InvalidInput, match=r"line 2 \(index 1\).*earlier"):
        list(replay(history, "cn"))
    assert list(replay(history[:1], "cn")) == [{"index": 0, "allowed": False, "rules": ["CN-01"]}]


def test_replay_cn_agreed_window_and_counts() -> None:
    history = [
        line(kind="consent", at="2026-08-13T09:00:00+08:00", debtor="C1", debts=["L1"],
             scope="call", agreed_window=["2026-08-13T22:30:00+08:00",
                                           "2026-08-13T23:00:00+08:00"]),
        *(line(kind="attempt", at=f"2026-08-13T1{n}:00:00+08:00", channel="call", debtor="C1",
               debts=["L1"], party="debtor", to="+86138", agency=f"A{n}",
               outcome="conversation") for n in range(4)),
        line(kind="attempt", at="2026-08-13T22:40:00+08:00", channel="call", debtor="C1",
             debts=["L1"], party="debtor", to="+86138", agency="A1", outcome="no_answer"),
    ]
    rules = [r["rules"] for r in replay(history, "cn")]
    assert rules == [[], [], [], ["CN-02"], []]


@pytest.mark.parametrize(("bad", "message"), [
    ("{not json", "line 2 .index 1.: is not valid JSON"),
    ('["a"]', "line 2 .index 1.: expected a JSON object"),
    (line(kind="phone"), "\"kind\" 'phone' is unknown"),
    (line(kind="attempt", at="2026-08-13T10:00:00", channel="call", debtor="C1",
          outcome="no_answer"), "no UTC offset"),
    (line(kind="attempt", at="2026-08-13T10:00:00Z", channel="fax", debtor="C1",
          outcome="no_answer"), "\"channel\" 'fax' is unknown"),
    (line(kind="attempt", at="2026-08-13T10:00:00Z", channel="call", debtor="C1"),
     "\"outcome\" is missing"),
    (line(kind="attempt", at="2026-08-13T10:00:00Z", channel="call", debtor="C1",
          outcome="busy", debts="D1"), "\"debts\" must be a list"),
    (line(kind="debtor", debtor="C1", timezones=["Mars/Olympus"]), "unknown time zone"),
    (line(kind="consent", at="2026-08-13T10:00:00Z", debtor="C1", scope="fax"),
     "consent scope 'fax' is unknown"),
])
def test_malformed_line_names_the_line_and_the_problem(bad: str, message: str) -> None:
    good = line(kind="debtor", debtor="C0", timezones=["Asia/Shanghai"])
    with pytest.raises(InvalidInput, match=message):
        list(replay([good, bad], "cn"))


def test_cli_replay_file_prints_json_lines(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    history.write_text("\n".join([
        us_call("2026-08-13T10:00:00-04:00", "conversation"),
        us_call("2026-08-14T10:00:00-04:00"),
    ]) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["replay", "--profile", "us-regf", str(history)])
    assert result.exit_code == 0, result.output
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert out == [{"index": 0, "allowed": True, "rules": []},
                   {"index": 1, "allowed": False, "rules": ["US-01"]}]


def test_cli_replay_reads_stdin() -> None:
    text = us_call("2026-08-13T22:00:00-04:00") + "\n"
    result = runner.invoke(app, ["replay", "--profile", "us-regf", "-"], input=text)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"index": 0, "allowed": False, "rules": ["US-04"]}


def test_cli_replay_bad_input_exits_2_with_the_line() -> None:
    result = runner.invoke(app, ["replay", "-"], input='{"kind":"attempt"}\n')
    assert result.exit_code == 2
    assert "line 1 (index 0)" in result.stderr and '"at" is missing' in result.stderr


def test_cli_replay_unknown_profile_and_missing_file(tmp_path: Path) -> None:
    assert runner.invoke(app, ["replay", "--profile", "xx", "-"], input="").exit_code == 2
    missing = runner.invoke(app, ["replay", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_cli_check_text_clean_and_dirty() -> None:
    clean = runner.invoke(app, ["check-text", "--lang", "en",
                                "This is a courtesy reminder that your payment is due."])
    assert clean.exit_code == 0 and "clean" in clean.stdout
    dirty = runner.invoke(app, ["check-text", "再不还钱就曝光你，让你坐牢"])
    assert dirty.exit_code == 1
    assert "public_shaming: 曝光" in dirty.stdout
    assert "false_legal_consequences: 坐牢" in dirty.stdout
    assert runner.invoke(app, ["check-text", "--lang", "fr", "bonjour"]).exit_code == 2
