"""The reports page: the figures of `fairdue report` in the web application, for a window of
business dates, each drawn by the report writer itself (chart inline, table, CSV link) so
the page, the HTML report and the CSV files cannot disagree."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from fairdue.adapters.report_writer import csv_text, figure_html
from fairdue.api.pages import PageForbidden, app_of, language, page_guard, render
from fairdue.api.pages.i18n import has, t
from fairdue.api.permissions import Principal
from fairdue.api.reports import parse_day, report_window
from fairdue.errors import InvalidInput
from fairdue.services.reports import Report, build_report

router = APIRouter(include_in_schema=False)


def _report(request: Request, start_text: str | None, end_text: str | None) -> Report:
    """The report for the dates typed (InvalidInput, in words, for a date that is not one)."""
    start = parse_day(start_text, "the start date (from)")
    end = parse_day(end_text, "the end date (to)")
    application = app_of(request)
    first, last = report_window(application, start, end)
    return build_report(application, start=first, end=last)


def _slug(title: str) -> str:
    return "_".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def _words(key: str, english: str, lang: str) -> str:
    """The page's words for a report heading; the report's own (English) for one the
    dictionary does not know yet, rather than no heading (tests check every one is known)."""
    return t(key, lang) if has(key) else english


def _query(start: date, end: date) -> str:
    return urlencode({"from": start.isoformat(), "to": end.isoformat()})


@router.get("/reports")
def reports_page(request: Request,
                 principal: Annotated[Principal, Depends(page_guard("report.read"))]
                 ) -> Response:
    start_text = request.query_params.get("from")
    end_text = request.query_params.get("to")
    try:
        report = _report(request, start_text, end_text)
    except InvalidInput as exc:
        # A date that is not one is the visitor's to correct: the form again, saying why.
        return render(request, "reports.html", principal, status=422, error=str(exc),
                      report=None, sections=[], flagged=[], start=start_text or "",
                      end=end_text or "")
    query = _query(report.window.start, report.window.end)
    lang = language(request)
    no_data = t("no_data", lang)
    sections = [(_words("report_section_" + _slug(title), title, lang),
                 [figure_html(replace(f, title=_words("report_" + f.name, f.title, lang)),
                              csv_href=f"/reports/{f.name}.csv?{query}", no_data=no_data)
                  for f in figures])
                for title, figures in report.sections]
    return render(request, "reports.html", principal, error=None, report=report,
                  sections=sections, flagged=[text for f in report.figures() for text in f.flagged],
                  start=report.window.start.isoformat(), end=report.window.end.isoformat())


@router.get("/reports/{figure}.csv")
def report_csv(request: Request, figure: str,
               principal: Annotated[Principal, Depends(page_guard("report.read"))]) -> Response:
    try:
        report = _report(request, request.query_params.get("from"),
                         request.query_params.get("to"))
    except InvalidInput as exc:
        return render(request, "error.html", principal, status=422, message=str(exc))
    found = next((f for f in report.figures() if f.name == figure), None)
    if found is None:
        raise PageForbidden(principal, "not_found", status=404)
    filename = f"{found.name}_{report.window.start}_{report.window.end}.csv"
    return Response(csv_text(found), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })
