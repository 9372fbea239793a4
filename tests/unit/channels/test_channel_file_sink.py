"""The file sink: one JSON file per message, named by its key, written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fairdue.adapters.channels import FileSink, sender_for
from fairdue.adapters.channels.file_sink import file_name
from fairdue.domain.messages import OutboundMessage, SendOutcome


def message(key: str = "c1-sms-1", body: str = "您的借款已逾期3天") -> OutboundMessage:
    return OutboundMessage(
        contact_id="C1", idempotency_key=key, channel="sms", to="+8613800000001",
        language="zh-CN", body=body, borrower_id="B1",
    )


def test_one_file_per_message_named_by_its_key(tmp_path: Path) -> None:
    sender = sender_for(f"file://{tmp_path}/outbox")
    result = sender.send(message())

    assert (result.outcome, result.provider_id) == (SendOutcome.ACCEPTED, "c1-sms-1")
    written = tmp_path / "outbox" / "c1-sms-1.json"
    assert json.loads(written.read_text(encoding="utf-8")) == {
        "channel": "sms", "to": "+8613800000001", "language": "zh-CN", "subject": None,
        "body": "您的借款已逾期3天", "contact_id": "C1", "idempotency_key": "c1-sms-1", "borrower_id": "B1",
    }
    assert written.stat().st_mode & 0o077 == 0   # phone numbers: readable by the owner only


def test_a_resend_overwrites_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    sender = FileSink(tmp_path)
    sender.send(message(body="first"))
    sender.send(message(body="second"))
    sender.send(message("c2-sms-1"))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["c1-sms-1.json", "c2-sms-1.json"]
    assert json.loads((tmp_path / "c1-sms-1.json").read_text())["body"] == "second"


def test_a_failed_write_keeps_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sender = FileSink(tmp_path)
    sender.send(message(body="first"))

    def fail(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    result = sender.send(message(body="second"))

    assert result.outcome is SendOutcome.TRANSIENT
    assert "No space left" in result.detail
    assert [p.name for p in tmp_path.iterdir()] == ["c1-sms-1.json"]
    assert json.loads((tmp_path / "c1-sms-1.json").read_text())["body"] == "first"


@pytest.mark.parametrize("key", ["../escape", "a/b", "..", ".hidden", "x" * 300, ""])
def test_any_key_stays_inside_the_folder(tmp_path: Path, key: str) -> None:
    sender = FileSink(tmp_path / "out")
    assert sender.send(message(key)).outcome is SendOutcome.ACCEPTED

    [written] = (tmp_path / "out").iterdir()
    assert written.name == file_name(key) and not written.name.startswith(".")
    assert list(tmp_path.iterdir()) == [tmp_path / "out"]


def test_distinct_keys_get_distinct_files() -> None:
    keys = ["a/b", "a%2Fb", "a b", "a+b", "x" * 300, "x" * 301]
    assert len({file_name(k) for k in keys}) == len(keys)


def test_the_default_relative_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sender_for("file://./outbox").send(message())
    assert (tmp_path / "outbox" / "c1-sms-1.json").exists()
