"""`fairdue template check` as an operator uses it: one line per template with its channel,
language, segments and verdict; a refused template's reasons with its file; exit 1 when any
is refused, 2 when the folder is missing."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairdue.cli.main import app

runner = CliRunner()

SMS = ("{# channel: sms #}\n{{ borrower_name }}您好，您的借款已逾期{{ days_overdue }}天，"
       "应还{{ amount_due }}。可通过{{ repayment_channels }}还款。核实热线{{ verify_hotline }}。"
       "{{ collector_disclosure }}{{ opt_out }}\n")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAIRDUE_CONFIG", "FAIRDUE_PROFILE", "FAIRDUE_TEMPLATE_DIR", "FAIRDUE_SMS_MAX_SEGMENTS"):
        monkeypatch.delenv(name, raising=False)


def test_the_built_in_templates_all_pass() -> None:
    result = runner.invoke(app, ["template", "check", "--profile", "cn", "--profile", "us-regf"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    built_in = resources.files("fairdue") / "templates" / "messages"
    files = [f.name for lang in ("en", "zh-CN") for f in (built_in / lang).iterdir()
             if f.name.endswith(".j2")]
    assert len(lines) == len(files) >= 20
    assert lines[0].split() == ["first_overdue_sms", "en", "sms", "segments", "cn=2", "us-regf=3", "ok"]
    assert lines[2].split() == ["overdue_email", "en", "email", "segments", "-", "ok"]
    assert all(line.endswith("ok") for line in lines)
    assert f"{len(files)} template(s) checked for cn, us-regf, 0 refused" in result.stderr


def test_a_bad_template_is_refused_with_its_file_and_reason_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "zh-CN" / "good_sms.j2").write_text(SMS, encoding="utf-8")
    bad = tmp_path / "zh-CN" / "bad_sms.j2"
    bad.write_text(SMS.replace("应还{{ amount_due }}。", "否则后果自负。"), encoding="utf-8")
    result = runner.invoke(app, ["template", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["bad_sms", "zh-CN", "sms", "segments", "cn=2", "REFUSED"]
    assert lines[1] == f"  {bad}: does not show the amount due (S1)"
    assert lines[2] == f"  {bad}: prohibited content (threat): 后果自负"
    assert lines[3].split() == ["good_sms", "zh-CN", "sms", "segments", "cn=2", "ok"]
    assert "2 template(s) checked for cn, 1 refused" in result.stderr


def test_the_segment_limit_can_be_set_and_one_file_checked_alone(tmp_path: Path) -> None:
    (tmp_path / "zh-CN").mkdir()
    sms = tmp_path / "zh-CN" / "good_sms.j2"
    sms.write_text(SMS, encoding="utf-8")
    result = runner.invoke(app, ["template", "check", "--max-segments", "1", str(sms)])
    assert result.exit_code == 1
    assert f"  {sms}: is 2 segments (UCS-2, 119 units) long, over the limit of 1" in result.stdout


def test_a_language_missing_a_template_is_noted(tmp_path: Path) -> None:
    for language in ("zh-CN", "en"):
        (tmp_path / language).mkdir()
    (tmp_path / "zh-CN" / "good_sms.j2").write_text(SMS, encoding="utf-8")
    (tmp_path / "en" / "push.j2").write_text("{# channel: push #}\n{{ amount_due }} due", encoding="utf-8")
    result = runner.invoke(app, ["template", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "note: good_sms has no en version; en borrowers get zh-CN" in result.stdout
    assert "note: push has no zh-CN version; zh-CN borrowers get zh-CN" in result.stdout


def test_a_missing_folder_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["template", "check", "--dir", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert f"error: template folder {tmp_path / 'nope'} does not exist" in result.stderr
