"""Signing in through the pages as each kind of visitor, for the web tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from webapp import PASSWORD, PHONE_B1, Web, outbox_codes

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_in(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def staff_browser(web: Web, username: str) -> tuple[TestClient, str]:
    """A client signed in to the pages as `username`, and its session's CSRF token."""
    client = TestClient(web.client.app, base_url="https://testserver")
    form = client.get("/login")
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": csrf_in(form.text)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client, csrf_in(client.get("/home", follow_redirects=True).text)


def borrower_browser(web: Web, phone: str = PHONE_B1) -> tuple[TestClient, str]:
    """A client signed in to the portal with the code read from the file outbox."""
    client = TestClient(web.client.app, base_url="https://testserver")
    form = client.get("/portal/login")
    token = csrf_in(form.text)
    sent = client.post("/portal/login", data={"phone": phone, "csrf_token": token})
    assert sent.status_code == 200, sent.text
    code = code_from(outbox_codes(web.folder)[-1]["body"])
    answer = client.post("/portal/verify-code",
                         data={"phone": phone, "code": code, "csrf_token": token},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client, csrf_in(client.get("/portal").text)


def code_from(body: str) -> str:
    found = re.search(r"(\d{6})", body)
    assert found is not None, body
    return found.group(1)
