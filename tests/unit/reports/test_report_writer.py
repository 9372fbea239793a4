"""The report's rendering: one formatting for page and CSV, charts drawn offline."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fairdue.adapters.report_writer import cell_text, chart_svg, write_report
from fairdue.services.reports.model import Chart, Figure, Report, Window


def _figure() -> Figure:
    return Figure("demo_figure", "A <figure>", "What it means & why.",
                  ["group", "measure", "relative difference %"],
                  [["F", "cure", 12.5], ["M", "cure", -20.0], ["unknown", "cure", None]],
                  Chart("bar", "group", "relative difference %", series="measure"),
                  flagged=["gender = M: 20% less cure"])


def test_cells_are_formatted_once_for_page_and_csv() -> None:
    assert cell_text(None) == ""
    assert cell_text(66.7) == "66.7"
    assert cell_text(100.0) == "100"
    assert cell_text(date(2026, 6, 1)) == "2026-06-01"
    assert cell_text("汉族") == "汉族"


def test_bar_chart_draws_negative_bars_left_of_zero_and_skips_empty_values() -> None:
    svg = chart_svg(_figure())
    assert svg is not None and svg.startswith("<svg")
    assert svg.count("<rect") == 2  # the row without a value has no bar
    assert "F · cure" in svg and "#c0392b" in svg  # the negative bar is red
    assert "&lt;figure&gt;" in svg


def test_interval_and_heatmap_charts() -> None:
    variants = Figure("variants", "Variants", "", ["variant", "cure rate %", "low", "high"],
                      [["a/champion", 50.0, 23.7, 76.3]],
                      Chart("interval", "variant", "cure rate %", "low", "high"))
    svg = chart_svg(variants)
    assert svg is not None and "<circle" in svg
    matrix = Figure("rolls", "Rolls", "", ["from bucket", "loans", "to M0 %", "to M1 %"],
                    [["M0", 10, 90.0, 10.0]], Chart("heatmap", "from bucket"))
    svg = chart_svg(matrix)
    assert svg is not None and svg.count("<rect") == 2


def test_write_report(tmp_path: Path) -> None:
    window = Window(date(2026, 6, 1), date(2026, 6, 30), ZoneInfo("Asia/Shanghai"))
    report = Report(window, "CNY", datetime(2026, 7, 1, tzinfo=UTC), [("Fairness", [_figure()])])
    page = write_report(report, tmp_path)
    html = page.read_text(encoding="utf-8")
    assert "gender = M: 20% less cure" in html and 'class="flag"' in html
    assert "A &lt;figure&gt;" in html and "charts/demo_figure.svg" in html
    with (tmp_path / "csv" / "demo_figure.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["group", "measure", "relative difference %"], ["F", "cure", "12.5"],
                    ["M", "cure", "-20"], ["unknown", "cure", ""]]
