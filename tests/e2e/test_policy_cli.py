"""`fairdue policy check FILE` as an operator uses it: the summary of a valid policy, each
problem as FILE:LINE:COL: message with exit 1, exit 2 for a file that cannot be read."""

from __future__ import annotations

import hashlib
from pathlib import Path

from typer.testing import CliRunner

from fairdue.adapters.policy_file import default_policy_text
from fairdue.cli.main import app

runner = CliRunner()


def test_the_default_policy_checks_clean_with_its_version_steps_and_experiment(tmp_path: Path) -> None:
    text = default_policy_text() + (
        "experiment:\n  name: faster-sms\n  variants:\n    champion: {share: 80}\n"
        "    challenger: {share: 20, thresholds: {sms_every_days: 2}}\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(policy)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "valid policy default-cn"
    assert lines[1] == f"version: {hashlib.sha256(text.encode()).hexdigest()}"
    assert "experiment: faster-sms" in lines
    assert "  variant challenger: 20%  thresholds sms_every_days=2" in lines
    assert any(line.startswith("    1. hold_dispute_or_complaint: when open_dispute = true")
               for line in lines)
    assert any("first_notice: when case_age_days = 0 -> sms first_overdue_sms, email "
               "overdue_email, push overdue_push" in line for line in lines)


def test_without_an_experiment_it_says_so(tmp_path: Path) -> None:
    policy = tmp_path / "default.yaml"
    policy.write_text(default_policy_text(), encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(policy)])
    assert result.exit_code == 0, result.output
    assert "experiment: none" in result.output.splitlines()
    assert "steps (14):" in result.output.splitlines()


def test_problems_are_printed_as_file_line_column_message_and_exit_1(tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text("name: bad\nprofile: cn\nsteps:\n  - id: a\n    when:\n      occupation: farmer\n"
                      "      dpdd: 3\n    actions: [{kind: call}]\n", encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(policy)])
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert out[0].startswith(f"{policy}:6:7: condition reads 'occupation', a protected attribute")
    assert "(S18)" in out[0]
    assert out[1].startswith(f"{policy}:7:7: unknown fact 'dpdd'; known facts: active_plan,")
    assert len(out) == 2


def test_extra_protected_fields_can_be_named_on_the_command_line(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("name: p\nprofile: cn\nsteps:\n  - id: a\n    when: {loans: 2}\n"
                      "    actions: [{kind: call}]\n", encoding="utf-8")
    assert runner.invoke(app, ["policy", "check", str(policy)]).exit_code == 0
    result = runner.invoke(app, ["policy", "check", str(policy), "--protected", "loans"])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{policy}:5:12: condition reads 'loans', a protected")


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr
