"""`fairdue simulate` and `fairdue report` from the command line: the files are there, every
CSV holds exactly the figures its HTML table shows, and bad dates are refused."""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairdue.cli.main import app


class _Tables(HTMLParser):
    """Each figure's table body as rows of cell text, keyed by the section's data-figure."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self._figure: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "section" and named.get("data-figure"):
            self._figure = named["data-figure"]
            self.tables[self._figure or ""] = []
        elif tag == "img" and named.get("src"):
            self.images.append(named["src"] or "")
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._figure:
            self.tables[self._figure].append([])
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None and self._figure:
            self.tables[self._figure][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    policy = out / "variants.yaml"  # the default policy with a champion/challenger experiment
    policy.write_text(
        (files("fairdue.policies") / "default.yaml").read_text(encoding="utf-8")
        + "\nexperiment:\n  name: sms-every-2-days\n  variants:\n    champion: {share: 50}\n"
        "    challenger:\n      share: 50\n      thresholds: {sms_every_days: 2}\n",
        encoding="utf-8")
    result = CliRunner().invoke(app, [
        "simulate", "--days", "6", "--loans", "200", "--seed", "4", "--agents", "2",
        "--calls-per-agent", "10", "--policy", str(policy), "--out", str(out)],
        env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "report:" in result.output and "cases opened" in result.output
    return out


def test_report_files_and_csv_match_html(simulated: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{simulated / 'fairdue.db'}"
    result = CliRunner().invoke(app, ["report", "--db", db, "--out", str(tmp_path / "r"),
                                      "--from", "2026-06-24", "--to", "2026-06-30"],
                                env={"FAIRDUE_KEY_FILE": str(simulated / "fairdue.key"),
                                     "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "2026-06-24 to 2026-06-30" in result.output
    page = tmp_path / "r" / "index.html"
    parser = _Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    expected = {"roll_rates", "cure_rate", "recovery_by_bucket", "recovery_by_vintage",
                "ptp_kept_rate", "right_party_contact_rate", "contacts_and_cost", "field_visits",
                "complaints_per_10k", "refused_by_rule", "variants", "fairness_gender",
                "fairness_age_band", "fairness_occupation", "fairness_ethnicity"}
    assert set(parser.tables) == expected
    for name, html_rows in parser.tables.items():
        with (tmp_path / "r" / "csv" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            header, *csv_rows = list(csv.reader(handle))
        assert csv_rows == html_rows, name
        assert header
    assert parser.tables["contacts_and_cost"], "messages were sent in those days"
    for image in parser.images:  # every chart the page shows is a file, drawn offline
        svg = (tmp_path / "r" / image).read_text(encoding="utf-8")
        assert svg.startswith("<svg") and "http" not in svg.replace("http://www.w3.org", "")
    assert (simulated / "report" / "index.html").is_file()
    variants = [row[0] for row in parser.tables["variants"]]
    assert variants == ["sms-every-2-days/challenger", "sms-every-2-days/champion"]


def test_report_refuses_an_end_before_its_start(simulated: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{simulated / 'fairdue.db'}"
    result = CliRunner().invoke(app, ["report", "--db", db, "--out", str(tmp_path / "r"),
                                      "--from", "2026-06-30", "--to", "2026-06-01"],
                                env={"FAIRDUE_KEY_FILE": str(simulated / "fairdue.key")})
    assert result.exit_code == 2
    assert "before its start" in " ".join(result.output.split())


def test_simulate_refuses_a_database_that_holds_a_book(simulated: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--days", "2", "--loans", "50",
                                      "--db", f"sqlite:///{simulated / 'fairdue.db'}",
                                      "--out", str(tmp_path / "again")],
                                env={"FAIRDUE_KEY_FILE": str(simulated / "fairdue.key")})
    assert result.exit_code == 2
    assert "already holds a book" in " ".join(result.output.split())


def test_report_covers_every_daily_run_by_default(simulated: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{simulated / 'fairdue.db'}"
    result = CliRunner().invoke(app, ["report", "--db", db, "--out", str(tmp_path / "all")],
                                env={"FAIRDUE_KEY_FILE": str(simulated / "fairdue.key"),
                                     "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # The book is caught up on 2026-06-24 (the day before the six simulated days).
    assert "report for 2026-06-24 to 2026-06-30" in result.output
    with (tmp_path / "all" / "csv" / "cure_rate.csv").open(encoding="utf-8") as handle:
        assert handle.readline().startswith("cohort,cases,cured")
