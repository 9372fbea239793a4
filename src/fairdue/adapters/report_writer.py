"""Writing a report: one HTML page (Jinja2), an SVG chart and a CSV file per figure.

The charts are SVG written here by hand, so drawing them needs no plotting library, no
fonts and no network; the page links them as files, and opens from disk in any browser.
Every cell is formatted by one function (`cell_text`) for the page and the CSV alike, so
the two always show the same figures.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from html import escape
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from fairdue.services.reports.model import Cell, Figure, Report

_WIDTH = 720
_BAR_HEIGHT = 18
_LABEL_WIDTH = 230


def cell_text(value: Cell) -> str:
    """A cell as shown: empty for none, ISO dates, numbers as computed (already rounded)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else str(value)
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def csv_text(figure: Figure) -> str:
    """The figure's CSV file as text: the file `write_csv` writes, and what the web
    application serves for download, so both are the same bytes."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(figure.columns)
    writer.writerows([cell_text(c) for c in row] for row in figure.rows)
    return buffer.getvalue()


def write_csv(figure: Figure, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(csv_text(figure))


def _number(value: Cell) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>\n")


def _label(figure: Figure, row: list[Cell]) -> str:
    chart = figure.chart
    assert chart is not None
    text = cell_text(row[figure.columns.index(chart.label)])
    if chart.series:
        text += " · " + cell_text(row[figure.columns.index(chart.series)])
    return text[:40]


def bar_svg(figure: Figure) -> str | None:
    chart = figure.chart
    assert chart is not None
    col = figure.columns.index(chart.value)
    points = [(_label(figure, r), _number(r[col])) for r in figure.rows]
    points = [(label, v) for label, v in points if v is not None]
    if not points:
        return None
    values = [v for _, v in points if v is not None]
    low, high = min(0.0, *values), max(0.0, *values)
    if chart.percent and low >= 0:
        high = max(high, 100.0)
    span = (high - low) or 1.0
    plot = _WIDTH - _LABEL_WIDTH - 60
    zero = _LABEL_WIDTH + (0 - low) / span * plot
    height = 20 + len(points) * (_BAR_HEIGHT + 4)
    body = [f'<line x1="{zero:.1f}" y1="10" x2="{zero:.1f}" y2="{height - 6}" stroke="#555"/>']
    for i, (label, v) in enumerate(points):
        assert v is not None
        y = 12 + i * (_BAR_HEIGHT + 4)
        x_end = _LABEL_WIDTH + (v - low) / span * plot
        x, w = (min(zero, x_end), abs(x_end - zero))
        colour = "#c0392b" if v < 0 else "#2e86c1"
        body.append(f'<text x="{_LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>')
        body.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{_BAR_HEIGHT}" '
                    f'fill="{colour}"/>')
        body.append(f'<text x="{max(zero, x_end) + 4:.1f}" y="{y + 13}">{escape(f"{v:g}")}</text>')
    return _svg(_WIDTH, height, body, figure.title)


def heatmap_svg(figure: Figure) -> str | None:
    chart = figure.chart
    assert chart is not None
    first = figure.columns.index(chart.label)
    value_cols = [i for i, c in enumerate(figure.columns) if c.startswith("to ")]
    if not figure.rows or not value_cols:
        return None
    cell = 56
    left = 70
    width = left + cell * len(value_cols) + 10
    height = 40 + cell * len(figure.rows)
    body = []
    for j, i in enumerate(value_cols):
        body.append(f'<text x="{left + j * cell + cell / 2}" y="24" text-anchor="middle">'
                    f'{escape(figure.columns[i].removeprefix("to ").removesuffix(" %"))}</text>')
    for r, row in enumerate(figure.rows):
        y = 32 + r * cell
        body.append(f'<text x="{left - 8}" y="{y + cell / 2 + 4}" text-anchor="end">'
                    f"{escape(cell_text(row[first]))}</text>")
        for j, i in enumerate(value_cols):
            v = _number(row[i]) or 0.0
            shade = int(255 - min(100.0, v) / 100 * 200)
            body.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                        f'fill="rgb({shade},{shade},255)"/>')
            body.append(f'<text x="{left + j * cell + cell / 2 - 1}" y="{y + cell / 2 + 4}" '
                        f'text-anchor="middle">{escape(f"{v:g}")}</text>')
    return _svg(width, height, body, figure.title)


def interval_svg(figure: Figure) -> str | None:
    chart = figure.chart
    assert chart is not None
    cols = [figure.columns.index(c) for c in (chart.value, chart.low, chart.high)]
    rows: list[tuple[str, float, float, float]] = []
    for r in figure.rows:
        v, lo, hi = (_number(r[c]) for c in cols)
        if v is not None and lo is not None and hi is not None:
            rows.append((_label(figure, r), v, lo, hi))
    if not rows:
        return None
    plot = _WIDTH - _LABEL_WIDTH - 40
    height = 30 + len(rows) * 28
    body = []
    for tick in range(0, 101, 20):
        x = _LABEL_WIDTH + tick / 100 * plot
        body.append(f'<line x1="{x:.1f}" y1="8" x2="{x:.1f}" y2="{height - 14}" stroke="#ddd"/>')
        body.append(f'<text x="{x:.1f}" y="{height - 2}" text-anchor="middle">{tick}%</text>')
    for i, (label, v, lo, hi) in enumerate(rows):
        y = 20 + i * 28
        body.append(f'<text x="{_LABEL_WIDTH - 6}" y="{y + 4}" text-anchor="end">{escape(label)}</text>')
        x_lo, x_hi, x_v = (_LABEL_WIDTH + t / 100 * plot for t in (lo, hi, v))
        body.append(f'<line x1="{x_lo:.1f}" y1="{y}" x2="{x_hi:.1f}" y2="{y}" stroke="#2e86c1" '
                    'stroke-width="2"/>')
        body.append(f'<circle cx="{x_v:.1f}" cy="{y}" r="4" fill="#1b4f72"/>')
    return _svg(_WIDTH, height, body, figure.title)


def chart_svg(figure: Figure) -> str | None:
    if figure.chart is None or figure.chart.kind == "none":
        return None
    drawer = {"bar": bar_svg, "heatmap": heatmap_svg, "interval": interval_svg}[figure.chart.kind]
    return drawer(figure)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("fairdue.adapters", "report_templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    env.filters["cell"] = cell_text
    return env


_ENV = _environment()


def figure_html(figure: Figure, *, csv_href: str, no_data: str = "No data in this window."
                ) -> Markup:
    """One figure's section as the report page shows it (title, explanation, chart, table,
    CSV link), from the same template the report uses, for the web application's pages.
    The chart is drawn inline: a page served over HTTP has no chart files beside it, and
    the pages' content security policy allows no other source."""
    chart = chart_svg(figure)
    return Markup(_ENV.get_template("figure.html.j2").render(
        figure=figure, chart_src=None, chart_svg=Markup(chart) if chart else None,
        csv_href=csv_href, no_data=no_data))


def write_report(report: Report, out_dir: Path) -> Path:
    """Write index.html, csv/NAME.csv and charts/NAME.svg into `out_dir`; the page's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "csv").mkdir(exist_ok=True)
    (out_dir / "charts").mkdir(exist_ok=True)
    charts: dict[str, str] = {}
    for figure in report.figures():
        write_csv(figure, out_dir / "csv" / f"{figure.name}.csv")
        svg = chart_svg(figure)
        if svg is not None:
            (out_dir / "charts" / f"{figure.name}.svg").write_text(svg, encoding="utf-8")
            charts[figure.name] = f"charts/{figure.name}.svg"
    page = _ENV.get_template("report.html.j2").render(
        report=report, charts=charts,
        flagged=[text for f in report.figures() for text in f.flagged],
    )
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
