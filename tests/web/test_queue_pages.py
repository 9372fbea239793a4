"""The queue pages: the agent's own queue and the supervisor's team queue, whose every row
offers the agents to assign it to with the current one selected (AgentOptions)."""

from __future__ import annotations

import re

from web_helpers import staff_browser
from webapp import Web

from fairdue.api.pages.staff import AgentOptions


def _row(html: str, case_id: str) -> str:
    found = re.search(r"<tr>\s*<td><a href=\"/work/cases/" + re.escape(case_id) + r"\".*?</tr>",
                      html, re.S)
    assert found is not None, f"no row for {case_id}"
    return found.group(0)


def test_each_team_queue_row_selects_its_own_agent(web: Web) -> None:
    sue, _ = staff_browser(web, "sue")
    page = sue.get("/supervise?lang=en").text
    assigned, free = _row(page, web.case("B1")), _row(page, web.case("B2"))
    assert re.findall(r"<option value=\"(\w*)\"( selected)?>", assigned) == [
        ("", ""), ("ann", " selected"), ("bob", "")]
    assert re.findall(r"<option value=\"(\w*)\"( selected)?>", free) == [
        ("", ""), ("ann", ""), ("bob", "")]


def test_the_agents_queue_lists_their_cases_without_the_assign_form(web: Web) -> None:
    ann, _ = staff_browser(web, "ann")
    page = ann.get("/work?lang=en").text
    assert web.case("B1") in page and web.case("B2") not in page
    assert "/supervise/assign" not in page and "<option" not in page


def test_agent_options_escape_names_and_reuse_each_selection() -> None:
    options = AgentOptions(["ann", "o'<b>"])
    first = options("o'<b>")
    assert str(first) == ('<option value="ann">ann</option>'
                          '<option value="o&#39;&lt;b&gt;" selected>o&#39;&lt;b&gt;</option>')
    assert options("o'<b>") is first
    assert str(options(None)).count(" selected") == 0
