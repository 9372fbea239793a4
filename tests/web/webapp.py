"""A small portfolio, a day's run, one staff user per role and the web application in front
of it: shared by the web tests (tests/web) and the browser tests (tests/e2e/test_browser_*)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from fairdue.adapters.crypto import create_key_file
from fairdue.adapters.db.migrate import upgrade
from fairdue.adapters.db.tables import cases, contacts
from fairdue.bootstrap import App, build_app
from fairdue.clock import FixedClock
from fairdue.domain.field_agents import FieldAgent
from fairdue.domain.geo import Point
from fairdue.services.daily_run import run_days
from fairdue.services.field_agents import add_agent
from fairdue.services.importer import import_portfolio
from fairdue.services.staff import add_user
from fairdue.services.visits import find_visits
from fairdue.services.workbench import assign_case
from fairdue.settings import load_settings

CST = timezone(timedelta(hours=8))
DAY1 = date(2026, 7, 1)
#: 10:00 in Beijing on the first overdue day: inside the lawful window.
MORNING = datetime(2026, 7, 1, 10, 0, tzinfo=CST)
API_TOKEN = "integration-token-0123456789"
PASSWORD = "correct horse battery"
ROLES = ("agent", "field_agent", "supervisor", "compliance", "admin")
#: One user per role; `ann` (agent) has B1's case, `bob` (agent) none.
USERS = {"agent": "ann", "field_agent": "fay", "supervisor": "sue", "compliance": "cora",
         "admin": "adam"}
PHONE_B1 = "13812341234"

PORTFOLIO = {
    "borrowers": [
        ["borrower_id", "name", "id_number", "phone", "email", "address", "city", "latitude",
         "longitude", "timezone", "language", "push_token"],
        ["B1", "张三", "110101199001011234", PHONE_B1, "zs@example.com", "北京市朝阳区建国路1号",
         "北京", "39.9", "116.4", "Asia/Shanghai", "zh-CN", ""],
        ["B2", "李四", "310101198505052345", "13900001111", "", "上海市黄浦区南京东路2号", "上海",
         "", "", "Asia/Shanghai", "en", ""],
    ],
    "loans": [
        ["loan_id", "borrower_id", "product", "currency", "principal", "annual_rate",
         "disbursed_on", "penalty_daily_rate"],
        ["L1", "B1", "cash30", "CNY", "1000.00", "0.24", "2026-05-30", "0.0005"],
        ["L2", "B2", "cash30", "CNY", "600.00", "0.24", "2026-05-30", "0.0005"],
    ],
    "installments": [
        ["loan_id", "seq", "due_on", "principal_due", "interest_due", "fee_due"],
        ["L1", "1", "2026-06-30", "500.00", "20.00", "0.00"],
        ["L1", "2", "2026-07-30", "500.00", "10.00", "0.00"],
        ["L2", "1", "2026-06-30", "600.00", "12.00", "0.00"],
    ],
    "payments": [["payment_id", "loan_id", "paid_at", "amount", "channel"]],
}


class MovingClock(FixedClock):
    def set(self, moment: datetime) -> None:
        self.moment = moment


def write_portfolio(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, rows in PORTFOLIO.items():
        with (folder / f"{stem}.csv").open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return folder


def build_web_app(db_url: str, folder: Path, clock: MovingClock, **overrides: Any) -> App:
    """The portfolio imported and run through DAY1, staff created, B1's case given to ann."""
    key_file = folder / "web.key"
    create_key_file(key_file)
    settings = load_settings({}, database_url=db_url, key_file=str(key_file),
                             sms_url=f"file://{folder / 'outbox'}",
                             email_url=f"file://{folder / 'outbox'}",
                             push_url=f"file://{folder / 'outbox'}", api_token=API_TOKEN,
                             # One partition a day on either database: a few borrowers.
                             **{"evidence_dir": str(folder / "evidence"), "run_partitions": 1,
                                **overrides})
    application = build_app(settings, clock=clock, check_schema=False)
    upgrade(application.engine)
    import_portfolio(application, write_portfolio(folder / "data"))
    run_days(application, through=DAY1)
    # The north team's crew of two (cn: CN-06); fay's account is linked to FA-0001.
    for badge, name in (("FA-0001", "王强"), ("FA-0002", "李明")):
        add_agent(application, FieldAgent(badge, name, "north", ("北京",), Point(39.95, 116.45)),
                  actor="admin")
    for role, name in USERS.items():
        add_user(application, name, role, PASSWORD,
                 badge="FA-0001" if role == "field_agent" else None)
    add_user(application, "bob", "agent", PASSWORD)
    assign_case(application, case_id=case_of(application, "B1"), username="ann", actor="sue")
    return application


def case_of(application: App, borrower_id: str) -> str:
    with application.engine.connect() as conn:
        found = conn.execute(select(cases.c.case_id).where(cases.c.borrower_id == borrower_id,
                                                           cases.c.status == "open")).scalar()
    assert found is not None, f"{borrower_id} has no open case"
    return str(found)


def propose_visit(application: App, clock: MovingClock, borrower_id: str = "B1") -> str:
    """The policy's proposal of a visit for the borrower's open case on DAY1 (a row as the
    daily run writes it), made a visit candidate by the run of the next day; the clock is
    left at 00:30 on 2 July."""
    case_id = case_of(application, borrower_id)
    now = datetime(2026, 7, 1, 12, 0, tzinfo=CST)
    with application.engine.begin() as conn:
        conn.execute(contacts.insert().values(
            contact_id=f"{case_id}-20260701-9", case_id=case_id, borrower_id=borrower_id,
            channel="visit", template="visit_notice", language="zh-CN", priority=40,
            status="proposed", reason="S7 repeated broken promises", attempts=0,
            idempotency_key="v" * 64, created_at=now, updated_at=now))
    clock.set(datetime(2026, 7, 2, 0, 30, tzinfo=CST))
    run_days(application, through=date(2026, 7, 2))
    with application.engine.connect() as conn:
        found = find_visits(conn, case_id=case_id)
    assert [v["status"] for v in found] == ["proposed"], found
    return str(found[0]["visit_id"])


def outbox_codes(folder: Path) -> list[dict[str, Any]]:
    """The sign-in code messages written to the file outbox, oldest first."""
    found = []
    for path in sorted((folder / "outbox").glob("*.json"), key=lambda p: p.stat().st_mtime_ns):
        message = json.loads(path.read_text(encoding="utf-8"))
        if str(message.get("contact_id", "")).startswith("OTP-"):
            found.append(message)
    return found


@dataclass
class Web:
    app: App
    client: TestClient
    clock: MovingClock
    folder: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def case(self, borrower_id: str) -> str:
        return case_of(self.app, borrower_id)

    def bearer(self, user: str) -> dict[str, str]:
        """Authorization headers of `user` (signed in once through the API)."""
        if user not in self.tokens:
            answer = self.client.post("/api/v1/auth/login",
                                      json={"username": user, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            self.tokens[user] = answer.json()["token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}
