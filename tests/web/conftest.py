"""The web application on SQLite and on PostgreSQL (the `db_url` fixture of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from webapp import MORNING, MovingClock, Web, build_web_app

from fairdue.api import create_app


@pytest.fixture
def web(db_url: str, tmp_path: Path) -> Iterator[Web]:
    clock = MovingClock(MORNING)
    application = build_web_app(db_url, tmp_path, clock)
    try:
        with TestClient(create_app(application), base_url="https://testserver") as client:
            yield Web(application, client, clock, tmp_path)
    finally:
        application.close()
