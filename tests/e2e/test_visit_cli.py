"""`fairdue agent|visit|verify` as operators, collectors and a borrower use them, on SQLite
and PostgreSQL: a large, long arrear makes the policy propose a visit (S5); a supervisor
approves it, times are offered and one booked; the collector's letter is printed; the
borrower verifies the badge and code (exit 0) and a stranger's code fails (exit 1); the crew
is routed, checks in, records the visit with evidence, amends it; tampering is caught."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner, Result

from fairdue.cli.main import app

CST = ZoneInfo("Asia/Shanghai")
FILES = {
    "borrowers.csv": "borrower_id,name,id_number,phone,email,address,city,latitude,longitude,"
                     "timezone,language,push_token\n"
                     "B1,张三,110101199001011234,13812341234,,北京市朝阳区建国路1号,北京,39.9,116.4,"
                     "Asia/Shanghai,zh-CN,\n",
    "loans.csv": "loan_id,borrower_id,product,currency,principal,annual_rate,disbursed_on,"
                 "penalty_daily_rate\nL1,B1,cash30,CNY,20000.00,0.24,2026-05-30,0.0005\n",
    "installments.csv": "loan_id,seq,due_on,principal_due,interest_due,fee_due\n"
                        "L1,1,2026-06-30,20000.00,400.00,0.00\n",
    "payments.csv": "payment_id,loan_id,paid_at,amount,channel\n",
}


def flat(text: str) -> str:
    """The output with rich's line wrapping undone (it wraps at the terminal's width)."""
    return " ".join(text.split())


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> tuple[CliRunner, str]:
    monkeypatch.setenv("FAIRDUE_KEY_FILE", str(tmp_path / "fairdue.key"))
    monkeypatch.setenv("FAIRDUE_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setenv("COLUMNS", "400")
    data = tmp_path / "data"
    data.mkdir()
    for name, text in FILES.items():
        (data / name).write_text(text, encoding="utf-8")
    runner = CliRunner()
    for args in (["init"], ["import", str(data)], ["run-day", "--date", "2026-09-28"]):
        result = runner.invoke(app, [*args, "--db", db_url])
        assert result.exit_code == 0, result.output
    return runner, db_url


def run(cli: tuple[CliRunner, str], *args: str) -> Result:
    runner, db_url = cli
    return runner.invoke(app, [*args, "--db", db_url])


def ok(cli: tuple[CliRunner, str], *args: str) -> str:
    result = run(cli, *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_visit_story_through_the_command_line(cli: tuple[CliRunner, str], tmp_path: Path) -> None:
    listed = [json.loads(line) for line in ok(cli, "visit", "list", "--json").splitlines()]
    assert len(listed) == 1 and listed[0]["grounds"] == "S5" and listed[0]["status"] == "proposed"
    visit = listed[0]["visit_id"]

    ok(cli, "agent", "add", "--badge", "FA-0001", "--name", "王强", "--team", "north", "--city", "北京",
       "--home-lat", "39.95", "--home-lon", "116.45")
    ok(cli, "agent", "add", "--badge", "fa-0002", "--name", "李明", "--team", "north", "--city", "北京")
    assert "FA-0002" in ok(cli, "agent", "list", "--team", "north")
    dup = run(cli, "agent", "add", "--badge", "FA-0001", "--name", "x", "--team", "t", "--city", "北京")
    assert dup.exit_code == 2 and "already registered" in flat(dup.output)

    ok(cli, "visit", "approve", visit, "--reason", "¥20,400 due 90 days, no answer", "--actor", "sup1")
    day = (datetime.now(CST) + timedelta(days=2)).date()
    start = datetime(day.year, day.month, day.day, 10, 0, tzinfo=CST)
    bad = run(cli, "visit", "propose-slots", visit, "--slot",
              f"{start.replace(hour=22).isoformat()}/{start.replace(hour=23).isoformat()}")
    assert bad.exit_code == 2 and "outside the lawful hours" in flat(bad.output)
    offered = ok(cli, "visit", "propose-slots", visit, "--slot",
                 f"{start.isoformat()}/{(start + timedelta(hours=1)).isoformat()}")
    assert offered.startswith("1: ")
    booked = ok(cli, "visit", "book", visit, "--slot", "1", "--via", "phone")
    assert "FA-0001, FA-0002" in booked
    credentials = dict(re.findall(r"credential (\S+)\s+badge FA-0001\s+code (\S+)", booked))
    ((credential, code),) = credentials.items()
    alone = run(cli, "visit", "crew", visit, "--badge", "FA-0001", "--reason", "FA-0002 is ill")
    assert alone.exit_code == 2 and "at least 2 collectors" in flat(alone.output)  # CN-06

    letter = tmp_path / "letter.html"
    ok(cli, "visit", "letter", credential, "--out", str(letter))
    page = letter.read_text(encoding="utf-8")
    assert code in page and "FA-0001" in page and "<svg" in page and "张三" not in page

    at_door = (start + timedelta(minutes=5)).isoformat()
    verified = run(cli, "verify", "--badge", "FA-0001", "--code", code, "--now", at_door)
    assert verified.exit_code == 0
    assert "verified: this person is authorised to visit you" in flat(verified.output)
    fake = run(cli, "verify", "--badge", "FA-0001", "--code", "ABCD-EFGH", "--now", at_door)
    assert fake.exit_code == 1 and "not verified: do not pay anyone" in flat(fake.output)
    for _ in range(3):
        run(cli, "verify", "--badge", "FA-7777", "--code", "ABCD-EFGH", "--now", at_door)
    assert "badge FA-7777" in ok(cli, "visit", "alerts")

    route = ok(cli, "visit", "route", "--team", "north", "--date", day.isoformat())
    assert visit in route and "total distance" in route

    ok(cli, "visit", "check-in", visit, "--collector", "FA-0001", "--collector", "FA-0002",
       "--at", at_door, "--lat", "39.95", "--lon", "116.4")
    shown = json.loads(ok(cli, "visit", "show", visit))
    assert shown["check_in_flagged"] is True and shown["check_in_distance_m"] > 5000  # 5.6 km off
    ok(cli, "visit", "check-out", visit, "--at", (start + timedelta(minutes=50)).isoformat(),
       "--lat", "39.9", "--lon", "116.4")
    photo = tmp_path / "receipt.jpg"
    photo.write_bytes(b"a photo of the signed plan")
    recorded = ok(cli, "visit", "record", visit, "--reaction", "cooperative", "--solution", "plan",
                  "--arrears-reason", "business failed",
                  "--follow-up-on", (day + timedelta(days=7)).isoformat(),
                  "--follow-up-plan", "send the plan for signature", "--evidence", f"photo:{photo}",
                  "--at", (start + timedelta(minutes=55)).isoformat())
    assert "submitted, sha256" in recorded
    again = run(cli, "visit", "record", visit, "--reaction", "cooperative", "--solution", "plan",
                "--arrears-reason", "x", "--follow-up-on", day.isoformat(), "--follow-up-plan", "x")
    assert again.exit_code == 2
    ok(cli, "visit", "amend", visit, "--set", "notes=borrower asked for a copy", "--reason", "omitted")
    shown = json.loads(ok(cli, "visit", "show", visit))
    assert shown["current"]["notes"] == "borrower asked for a copy" and shown["notes"] == ""
    assert ok(cli, "audit", "verify")

    assert "evidence ok: 1 file(s)" in ok(cli, "visit", "verify-evidence")
    files = [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]
    assert len(files) == 1
    files[0].chmod(0o600)
    files[0].write_bytes(b"another photo")
    tampered = run(cli, "visit", "verify-evidence")
    assert tampered.exit_code == 1 and "was altered" in flat(tampered.output)
