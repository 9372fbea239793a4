"""The embedded default channel: each message as one JSON file in a local folder.

The file is named by the idempotency key and written atomically (a temporary file in
the same folder, then a rename), so a reader never sees half a message and a resend
replaces the file instead of adding a second one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from fairdue.domain.messages import OutboundMessage, SendResult

from .base import accepted, transient

_MAX_NAME = 200


def file_name(idempotency_key: str) -> str:
    """The file a message with this key is written to: the key, made safe for a file name."""
    name = quote(idempotency_key, safe="-_.~")
    if not name or name.startswith(".") or len(name) > _MAX_NAME:
        name = "key-" + hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"{name}.json"


class FileSink:
    """Writes each message to DIR/<idempotency key>.json."""

    idempotent = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: OutboundMessage) -> SendResult:
        record = {
            "channel": message.channel,
            "to": message.to,
            "language": message.language,
            "subject": message.subject,
            "body": message.body,
            "contact_id": message.contact_id,
            "idempotency_key": message.idempotency_key,
            "borrower_id": message.borrower_id,
        }
        data = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.directory / file_name(message.idempotency_key), data)
        except OSError as exc:
            return transient(f"file sink: cannot write to {self.directory} ({exc.strerror or exc})")
        return accepted(message.idempotency_key)

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"FileSink({str(self.directory)!r})"


def _write_atomically(target: Path, data: bytes) -> None:
    # mkstemp makes the file 0600: messages hold phone numbers and addresses.
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
