"""The reports management reads, as JSON: the figures of `fairdue report` for a window of
business dates, each as its columns and rows (the same rows the page, the charts and the
CSV files are drawn from).

The window shared with the reports page (api/pages/reports.py) is decided here: by default
the last 30 business dates up to the last completed daily run, because a day still running
would show half a day's work as if it were the whole of it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from fairdue.adapters.db.tables import daily_runs
from fairdue.api.auth import require_api
from fairdue.api.deps import AppDep
from fairdue.api.permissions import Principal
from fairdue.api.problems import problem_responses
from fairdue.bootstrap import App
from fairdue.errors import InvalidInput
from fairdue.services.reports import Report, build_report
from fairdue.services.reports.model import Cell

#: Business dates a report covers when no start is asked for.
DEFAULT_DAYS = 30

router = APIRouter(tags=["reports"])


def report_window(application: App, start: date | None, end: date | None
                  ) -> tuple[date, date]:
    """The dates asked for, the missing end being the last completed daily run and the
    missing start the 30th business date back from the end (not before the first run:
    earlier dates hold no work, only empty weeks)."""
    if start is not None and end is not None:
        if end < start:
            raise InvalidInput(f"the end date {end} is before the start date {start}")
        return start, end
    with application.engine.connect() as conn:
        first, last = conn.execute(
            select(func.min(daily_runs.c.business_date), func.max(daily_runs.c.business_date))
            .where(daily_runs.c.status == "completed")).one()
    if end is None:
        if last is None:
            raise InvalidInput("there is nothing to report yet: no daily run has completed "
                               "(run `fairdue run-day` first)")
        end = last
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
        if first is not None and first <= end:
            start = max(start, first)
    if end < start:
        raise InvalidInput(f"the end date {end} is before the start date {start}")
    return start, end


def parse_day(text: str | None, what: str) -> date | None:
    """A date typed into the page's form (empty: the default), refused in words."""
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} must be a date written YYYY-MM-DD, such as 2026-07-01; "
                           f"got {text.strip()[:40]!r}") from None


def json_cell(value: Cell) -> Any:
    """Numbers stay numbers; amounts (Decimal, exact) and dates are strings, as elsewhere
    in the API, so no amount goes through a binary float."""
    if isinstance(value, Decimal | date):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value


def report_json(report: Report) -> dict[str, Any]:
    return {
        "from": report.window.start.isoformat(),
        "to": report.window.end.isoformat(),
        "currency": report.currency,
        "generated_at": report.generated_at.isoformat(),
        "flagged": [text for f in report.figures() for text in f.flagged],
        "figures": [
            {"name": f.name, "section": section, "title": f.title,
             "explanation": f.explanation, "columns": f.columns,
             "rows": [[json_cell(c) for c in row] for row in f.rows], "flagged": f.flagged}
            for section, figures in report.sections for f in figures
        ],
    }


@router.get("/reports", responses=problem_responses(401, 403, 422),
            summary="Every figure of the management report for a window of business dates")
def get_reports(
    application: AppDep,
    principal: Annotated[Principal, Depends(require_api("report.read"))],
    start: Annotated[date | None, Query(alias="from", description=(
        "first business date (YYYY-MM-DD); default: 30 business dates back from `to`"))] = None,
    end: Annotated[date | None, Query(alias="to", description=(
        "last business date (YYYY-MM-DD); default: the last completed daily run"))] = None,
) -> dict[str, Any]:
    first, last = report_window(application, start, end)
    return report_json(build_report(application, start=first, end=last))
