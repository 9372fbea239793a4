"""The reports in the web application: the page shows the figures `build_report` computes
for the same dates (tables, inline charts, CSV downloads byte for byte), the JSON API gives
the same rows, bad dates are refused in words, and the compliance page flags a fairness
disparity found in the data."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import insert
from web_helpers import staff_browser
from webapp import CST, Web

from fairdue.adapters.db.tables import borrowers, cases, contacts, fairness_attributes, loans
from fairdue.adapters.report_writer import cell_text, chart_svg, csv_text
from fairdue.services.daily_run import run_days
from fairdue.services.payments import PaymentRequest, post_payment
from fairdue.services.reports import Report, build_report

FIRST, LAST = date(2026, 7, 1), date(2026, 7, 5)


class _Figures(HTMLParser):
    """Each figure section's table body as rows of cell text, its CSV link and whether it
    holds an inline chart, keyed by the section's data-figure."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, str] = {}
        self.charts: set[str] = set()
        self.images = 0
        self._figure: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "section" and named.get("data-figure"):
            self._figure = named["data-figure"] or ""
            self.tables[self._figure] = []
        elif tag == "img":
            self.images += 1
        elif tag == "svg" and self._figure:
            self.charts.add(self._figure)
        elif tag == "a" and self._figure and ".csv" in (named.get("href") or ""):
            self.links[self._figure] = named["href"] or ""
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._figure:
            self.tables[self._figure].append([])
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "section":
            self._figure = None
        elif tag == "td" and self._cell is not None and self._figure:
            self.tables[self._figure][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _parse(html: str) -> _Figures:
    parser = _Figures()
    parser.feed(html)
    return parser


@pytest.fixture
def book(web: Web) -> Web:
    """Five completed daily runs (1 to 5 July) and B2 paying everything on 3 July, so the
    figures have cases, contacts and a cure in them."""
    web.clock.set(datetime(2026, 7, 3, 0, 30, tzinfo=CST))
    run_days(web.app, through=date(2026, 7, 3))
    web.clock.set(datetime(2026, 7, 3, 10, 0, tzinfo=CST))
    paid = post_payment(web.app, PaymentRequest("P-B2", "L2", "700.00",
                                                datetime(2026, 7, 3, 10, 0, tzinfo=CST), "bank"))
    assert paid.case_cured
    web.clock.set(datetime(2026, 7, 5, 0, 30, tzinfo=CST))
    run_days(web.app, through=LAST)
    return web


def _figure(report: Report, name: str) -> Any:
    return next(f for f in report.figures() if f.name == name)


def test_the_page_shows_every_figure_of_the_report_for_the_same_dates(book: Web) -> None:
    sue, _ = staff_browser(book, "sue")
    page = sue.get("/reports?lang=en")  # default window: the first through the last run
    assert page.status_code == 200, page.text
    assert 'value="2026-07-01"' in page.text and 'value="2026-07-05"' in page.text
    expected = build_report(book.app, start=FIRST, end=LAST)
    shown = _parse(page.text)
    assert list(shown.tables) == [f.name for f in expected.figures()] and len(shown.tables) == 15
    for figure in expected.figures():
        assert shown.tables[figure.name] == [[cell_text(c) for c in row] for row in figure.rows], \
            figure.name
        assert shown.links[figure.name] == f"/reports/{figure.name}.csv?from=2026-07-01&to=2026-07-05"
    # The cure: both cases were open at the end of 1 July, B2's cured on 3 July.
    cure = _figure(expected, "cure_rate")
    assert cure.rows[-1] == ["open at window start", 2, 1, 50.0]
    assert shown.tables["cure_rate"][-1] == ["open at window start", "2", "1", "50"]
    # Charts are inline SVG (the pages' CSP allows no other source); none as a file.
    assert "cure_rate" in shown.charts and shown.images == 0
    drawn = chart_svg(cure)
    assert drawn is not None and drawn in page.text  # the report's own drawing, unchanged
    assert "Fairness (S18)" in page.text and 'id="flags"' in page.text


def test_the_chinese_page_names_every_section_and_figure_in_chinese(book: Web) -> None:
    sue, _ = staff_browser(book, "sue")
    page = sue.get("/reports?lang=zh-CN").text
    expected = build_report(book.app, start=FIRST, end=LAST)
    for title, figures in expected.sections:
        assert f"<h2>{title}</h2>" not in page, title
        for figure in figures:
            assert f"<h3>{figure.title}</h3>" not in page, figure.name
    assert "<h2>资产组合</h2>" in page and "<h3>治愈率</h3>" in page
    assert "<h3>按性别的公平性（S18）</h3>" in page


def test_an_earlier_window_shows_other_figures(book: Web) -> None:
    """The dates chosen are the dates computed: 1-2 July has no cure yet."""
    sue, _ = staff_browser(book, "sue")
    page = sue.get("/reports?from=2026-07-01&to=2026-07-02")
    assert page.status_code == 200
    early = build_report(book.app, start=FIRST, end=date(2026, 7, 2))
    later = build_report(book.app, start=FIRST, end=LAST)
    shown = _parse(page.text).tables["cure_rate"]
    assert shown == [[cell_text(c) for c in row] for row in _figure(early, "cure_rate").rows]
    assert shown != [[cell_text(c) for c in row] for row in _figure(later, "cure_rate").rows]


def test_each_csv_download_is_the_figure_the_report_writes(book: Web) -> None:
    cora, _ = staff_browser(book, "cora")
    expected = build_report(book.app, start=FIRST, end=LAST)
    for name in ("cure_rate", "roll_rates", "contacts_and_cost", "fairness_gender"):
        answer = cora.get(f"/reports/{name}.csv?from=2026-07-01&to=2026-07-05")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/csv")
        assert f'filename="{name}_2026-07-01_2026-07-05.csv"' in answer.headers[
            "content-disposition"]
        figure = _figure(expected, name)
        assert answer.text == csv_text(figure)
        rows = list(csv.reader(io.StringIO(answer.text)))
        assert rows[0] == figure.columns and len(rows) == len(figure.rows) + 1
    assert cora.get("/reports/no_such_figure.csv").status_code == 404


def test_bad_dates_show_the_form_again_with_the_reason(book: Web) -> None:
    adam, _ = staff_browser(book, "adam")
    page = adam.get("/reports?from=2026-13-01&lang=en")
    assert page.status_code == 422
    assert "YYYY-MM-DD" in page.text and "2026-13-01" in page.text
    assert 'name="from"' in page.text and "data-figure" not in page.text
    backwards = adam.get("/reports?from=2026-07-05&to=2026-07-01")
    assert backwards.status_code == 422 and "before the start date" in backwards.text
    assert adam.get("/reports/cure_rate.csv?to=yesterday").status_code == 422


def test_the_json_api_gives_the_same_rows(book: Web) -> None:
    answer = book.client.get("/api/v1/reports?from=2026-07-01&to=2026-07-05",
                             headers=book.bearer("sue"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"], body["currency"]) == ("2026-07-01", "2026-07-05", "CNY")
    expected = build_report(book.app, start=FIRST, end=LAST)
    assert [f["name"] for f in body["figures"]] == [f.name for f in expected.figures()]
    for got, figure in zip(body["figures"], expected.figures(), strict=True):
        assert got["columns"] == figure.columns
        # The same values as the CSV shows, numbers as JSON numbers.
        assert [[cell_text(c) if c is not None else "" for c in row] for row in figure.rows] == \
            [["" if c is None else (f"{c:g}" if isinstance(c, float) else str(c)) for c in row]
             for row in got["rows"]], figure.name
    default = book.client.get("/api/v1/reports", headers=book.bearer("cora")).json()
    assert (default["from"], default["to"]) == ("2026-07-01", "2026-07-05")
    bad = book.client.get("/api/v1/reports?from=2026-02-30", headers=book.bearer("sue"))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    backwards = book.client.get("/api/v1/reports?from=2026-07-05&to=2026-07-01",
                                headers=book.bearer("sue"))
    assert backwards.status_code == 422 and "before the start date" in backwards.json()["detail"]
    assert book.client.get("/api/v1/reports", headers=book.bearer("ann")).status_code == 403
    operation = book.client.get("/openapi.json").json()["paths"]["/api/v1/reports"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to"}
    assert "application/problem+json" in operation["responses"]["422"]["content"]


def test_the_nav_links_the_reports_for_the_roles_that_may_read_them(book: Web) -> None:
    for user, shown in (("sue", True), ("cora", True), ("adam", True), ("ann", False),
                        ("fay", False)):
        client, _ = staff_browser(book, user)
        home = client.get("/home", follow_redirects=True)
        assert ('href="/reports"' in home.text) is shown, user


def _unequal_treatment(web: Web) -> None:
    """120 borrowers (60 women, 60 men) in the same bucket and amount band, cases opened on
    2 July: the women's cases got ten SMS each, the men's two."""
    ids = [f"G{i:04d}" for i in range(120)]
    at = datetime(2026, 7, 2, 3, tzinfo=UTC)
    with web.app.engine.begin() as conn:
        conn.execute(insert(borrowers), [{
            "borrower_id": b, "pii": b"sealed", "phone_index": None, "city": "北京",
            "timezone": "Asia/Shanghai", "language": "zh-CN", "has_email": False,
            "has_app": False, "shard": 0, "row_hash": "h"} for b in ids])
        conn.execute(insert(loans), [{
            "loan_id": "GL" + b[1:], "borrower_id": b, "shard": 0, "product": "cash30",
            "currency": "CNY", "principal_minor": 100_000, "annual_rate": "0.24",
            "disbursed_on": date(2026, 5, 30), "penalty_daily_rate": "0.0005",
            "allocation_order": "penalty,fee,interest,principal", "row_hash": "h"} for b in ids])
        conn.execute(insert(fairness_attributes), [
            {"borrower_id": b, "gender": "F" if i % 2 else "M"} for i, b in enumerate(ids)])
        conn.execute(insert(cases), [{
            "case_id": f"GC{i}", "borrower_id": b, "currency": "CNY", "status": "open",
            "opened_on": date(2026, 7, 2), "closed_on": None, "dpd": 2, "bucket": "M1",
            "amount_due_minor": 50_000, "overdue_loans": 1} for i, b in enumerate(ids)])
        conn.execute(insert(contacts), [{
            "contact_id": f"GK{i}-{k}", "case_id": f"GC{i}", "borrower_id": b, "channel": "sms",
            "language": "zh-CN", "status": "sent", "idempotency_key": f"GK{i}-{k}",
            "created_at": at, "updated_at": at, "sent_at": at}
            for i, b in enumerate(ids) for k in range(10 if i % 2 else 2)])


def test_the_compliance_page_flags_a_disparity_in_plain_words(book: Web) -> None:
    cora, _ = staff_browser(book, "cora")
    calm = cora.get("/compliance?lang=en")
    assert calm.status_code == 200
    assert "No fairness disparity above the configured threshold." in calm.text
    assert "gender = unknown" in calm.text  # every finding is listed, judged or not

    _unequal_treatment(book)
    page = cora.get("/compliance?lang=en")
    assert page.status_code == 200
    flags = page.text.split('id="fairness-flags"', 1)[1].split("</ul>", 1)[0]
    assert "gender = F:" in flags and "more contacts per case" in flags
    assert 'class="error flag"' in flags
    assert 'href="/reports?from=2026-07-01&amp;to=2026-07-05#fairness_gender"' in page.text
    # The reports page lists the same disparity first, as the report file does.
    expected = [t for f in build_report(book.app, start=FIRST, end=LAST).figures()
                for t in f.flagged]
    assert any(t.startswith("gender = F:") for t in expected)
    reports = cora.get("/reports?lang=en").text
    listed = reports.split('id="flags"', 1)[1].split("</ul>", 1)[0]
    for text in expected:
        assert text.replace("'", "&#39;") in listed
