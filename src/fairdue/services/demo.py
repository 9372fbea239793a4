"""The demo: a generated book lived through 90 days by the simulation, then its report.

A newcomer's first `make demo` should show the whole system at work on a realistic book:
the daily runs, the policy's decisions, the guard, the outbox (files in the demo folder's
`outbox/`), agents calling, borrowers paying, promising, disputing and complaining (all of
it `services.simulation`), and at the end the report management reads (`report/index.html`).
The demo folder is the demo's own: it is replaced on each run.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select

from fairdue.adapters.db.tables import cases
from fairdue.adapters.report_writer import write_report
from fairdue.bootstrap import App
from fairdue.domain.field_agents import FieldAgent
from fairdue.domain.geo import Point
from fairdue.portfolio.cities import CITIES
from fairdue.services.reports import build_report
from fairdue.services.simulation import SimulationConfig, SimulationSummary, simulate

Progress = Callable[[str, int, int], None]

#: The demo's agents: a small team, enough to show calls, promises and disputes at work
#: without the demo outlasting a newcomer's patience (five minutes).
DEMO_AGENTS = 6
DEMO_CALLS_PER_AGENT = 25


#: The demo's staff, one per role, all with `DEMO_PASSWORD` (a demo, not a deployment: the
#: README says so, and `fairdue user add` makes real accounts).
DEMO_PASSWORD = "fairdue-demo"
DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    ("agent", "agent"), ("supervisor", "supervisor"), ("compliance", "compliance"),
    ("admin", "admin"), ("field", "field_agent"),
)
#: Open cases put in the demo agent's queue (an agent sees only the cases assigned to them).
DEMO_ASSIGNED = 40
#: Two field agents (a `cn` visit needs two collectors) covering the two largest cities.
DEMO_FIELD_AGENTS: tuple[tuple[str, str], ...] = (("FA-0001", "王强"), ("FA-0002", "李明"))


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str


@dataclass(frozen=True)
class DemoResult:
    summary: SimulationSummary
    report: Path          # the report's index.html
    database_url: str     # what `fairdue serve --db` (the web application) opens
    logins: tuple[DemoLogin, ...] = ()


def prepare(folder: Path) -> None:
    """Start from nothing: the demo folder is the demo's own."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def run_demo(app: App, folder: Path, *, loans: int, days: int, seed: int, end: date,
             progress: Progress) -> DemoResult:
    """Simulate `days` days of the book (delivery failures reported, confirmations not: one
    transaction fewer per message), then write the report for those days."""
    config = SimulationConfig(days=days, seed=seed, loans=loans, end=end, agents=DEMO_AGENTS,
                              calls_per_agent=DEMO_CALLS_PER_AGENT, delivery_receipts=False)
    summary = simulate(app, folder, config, progress)
    progress("report", 0, 1)
    page = write_report(build_report(app, start=summary.start, end=summary.end), folder / "report")
    progress("report", 1, 1)
    return DemoResult(summary, page, app.settings.database_url, create_demo_staff(app))


def create_demo_staff(app: App) -> tuple[DemoLogin, ...]:
    """One login per role, two field agents for the largest cities (the field login is the
    first of them), and the longest-overdue open cases assigned to the demo agent, so every
    page of the web application has something to show."""
    from fairdue.services.field_agents import add_agent
    from fairdue.services.staff import add_user
    from fairdue.services.workbench import assign_case

    cities = tuple(c.name for c in CITIES[:2])
    home = Point(CITIES[0].lat_micro / 1e6, CITIES[0].lon_micro / 1e6)
    for badge, name in DEMO_FIELD_AGENTS:
        add_agent(app, FieldAgent(badge, name, "demo-field", cities, home), actor="demo")
    logins = []
    for username, role in DEMO_LOGINS:
        add_user(app, username, role, DEMO_PASSWORD, actor="demo",
                 badge=DEMO_FIELD_AGENTS[0][0] if role == "field_agent" else None)
        logins.append(DemoLogin(username, role, DEMO_PASSWORD))
    with app.engine.connect() as conn:
        worst = conn.execute(select(cases.c.case_id).where(cases.c.status == "open")
                             .order_by(cases.c.dpd.desc(), cases.c.case_id)
                             .limit(DEMO_ASSIGNED)).scalars().all()
    for case_id in worst:
        assign_case(app, case_id=case_id, username="agent", actor="supervisor")
    return tuple(logins)
