"""`fairdue report` and `fairdue simulate`: the figures management reads, and a strategy
lived through simulated days before it goes live."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fairdue.cli.main import DbOption, app, console, opened, parse_date

if TYPE_CHECKING:
    from rich.progress import TaskID

    from fairdue.services.simulation import SimulationSummary


@app.command("report")
def report(
    out: Annotated[str, typer.Option("--out", help="Folder for index.html, csv/ and charts/")] = "report",
    start: Annotated[str | None, typer.Option("--from", help="First business date (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last business date (YYYY-MM-DD)")] = None,
    db: DbOption = None,
) -> None:
    """Write the HTML report with its charts and the same figures as CSV files."""
    from fairdue.adapters.report_writer import write_report
    from fairdue.services.reports import build_report

    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    with opened(db) as application:
        built = build_report(application, start=first, end=last)
    page = write_report(built, Path(out))
    flagged = [t for f in built.figures() for t in f.flagged]
    console.print(f"report for {built.window.start} to {built.window.end} written to {page}")
    for text in flagged:
        console.print(f"[bold red]fairness:[/] {text}", highlight=False)


@app.command("simulate")
def simulate(
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Business days to live")] = 30,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same result")] = 2026,
    loans: Annotated[int, typer.Option("--loans", min=10, help="Loans in the generated book")] = 2000,
    out: Annotated[str, typer.Option("--out", help="Folder for the book, the outbox and the report")
                   ] = "simulation",
    agents: Annotated[int, typer.Option("--agents", min=0, help="Phone agents working the queue")] = 10,
    calls: Annotated[int, typer.Option("--calls-per-agent", min=0, help="Calls an agent makes a day")
                     ] = 40,
    policy: Annotated[str | None, typer.Option("--policy", help="Policy file to simulate (variants "
                                                                  "are compared in the report)")] = None,
    db: DbOption = None,
) -> None:
    """Live a generated book through N days with the real daily run, guard and outbox, and
    simulated borrowers and agents; then write the report into OUT/report."""
    import os

    from fairdue.adapters.report_writer import write_report
    from fairdue.bootstrap import build_app
    from fairdue.cli.main import err, progress_bar
    from fairdue.errors import FairdueError
    from fairdue.services.reports import build_report
    from fairdue.services.simulation import SimulationConfig
    from fairdue.services.simulation import simulate as run_simulation
    from fairdue.settings import load_settings

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    url = db or f"sqlite:///{folder / 'fairdue.db'}"
    try:
        settings = load_settings(dict(os.environ), database_url=url, policy=policy)
        application = build_app(settings, check_schema=False)
    except FairdueError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    try:
        config = SimulationConfig(days=days, seed=seed, loans=loans, agents=agents,
                                  calls_per_agent=calls)
        with progress_bar() as bar:
            summary = run_simulation(application, folder, config, progress=stage_ticker(bar))
        built = build_report(application, start=summary.start, end=summary.end)
    except FairdueError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        application.close()
    page = write_report(built, folder / "report")
    print_simulation(summary)
    console.print(f"report: {page}")


def stage_ticker(bar: object) -> Callable[[str, int, int], None]:
    """A progress callback drawing one bar per stage."""
    from rich.progress import Progress

    assert isinstance(bar, Progress)
    tasks: dict[str, TaskID] = {}

    def tick(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return tick


def print_simulation(summary: SimulationSummary) -> None:
    from rich.table import Table

    table = Table("bucket", "open cases", "amount due", title=f"open cases on {summary.end}")
    for bucket, count, amount in summary.open_by_bucket:
        table.add_row(bucket, str(count), amount)
    console.print(table)
    console.print(
        f"{summary.loans} loans lived from {summary.start} to {summary.end}: "
        f"{summary.cases_opened} cases opened, {summary.cases_cured} cured; "
        f"{summary.messages_sent} messages sent, {summary.receipts} receipts, "
        f"{summary.calls} calls ({summary.conversations} conversations, "
        f"{summary.calls_unlawful} found unlawful by the guard), {summary.promises} promises, "
        f"{summary.plans} plans proposed, {summary.complaints} complaints, "
        f"{summary.disputes} disputes; {summary.payments_by_borrowers} payments by borrowers "
        f"in collection, {summary.payments_from_history} from the book's own history"
    )
    segments = ", ".join(f"{k} {v}" for k, v in summary.segments.items())
    console.print(f"borrowers in collection by segment: {segments}")
