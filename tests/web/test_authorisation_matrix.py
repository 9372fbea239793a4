"""Every API route and page, for every kind of visitor: the expected answer of each cell is
written out below, and the test fails when any cell changes (or a route is added without a
row). Columns: anonymous, the five staff roles, a signed-in borrower, the integration token.

An allowed write is sent with a body the route refuses (422) so that no cell changes the
data the others read; a refused one must be refused before its body is even looked at.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from starlette.routing import Mount
from web_helpers import borrower_browser, staff_browser
from webapp import API_TOKEN, USERS, Web

PATH_VALUES = {"borrower_id": "B1", "complaint_id": "CP-none", "channel": "sms", "what": "cases",
               "kind": "plan", "item_id": "PL-none", "visit_id": "V-none",
               "figure": "cure_rate", "plan_id": "PLN-none", "request_id": "GRQ-none"}

COLUMNS = ("anonymous", "agent", "field_agent", "supervisor", "compliance", "admin", "borrower",
           "integration")

# method, path, body ("json" {} / "form" with fields), expected answers in COLUMNS order.
# {case_id} is B1's open case, assigned to the agent.
MATRIX: list[tuple[str, str, Any, str]] = [
    ("GET", "/openapi.json", None, "200 200 200 200 200 200 200 200"),
    ("POST", "/api/v1/auth/login", {}, "422 422 422 422 422 422 422 422"),
    ("GET", "/api/v1/auth/me", None, "401 200 200 200 200 200 401 403"),
    ("GET", "/api/v1/cases", None, "401 200 403 200 403 403 401 403"),
    ("GET", "/api/v1/cases/team", None, "401 403 403 200 403 403 401 403"),
    ("GET", "/api/v1/cases/{case_id}", None, "401 200 403 200 200 403 401 403"),
    ("GET", "/api/v1/cases/{case_id}/timeline", None, "401 200 403 200 200 403 401 403"),
    ("GET", "/api/v1/cases/{case_id}/call-check", None, "401 200 403 200 403 403 401 403"),
    ("POST", "/api/v1/cases/{case_id}/outcome", {}, "401 422 403 422 403 403 401 403"),
    ("POST", "/api/v1/cases/{case_id}/assign", {}, "401 403 403 422 403 403 401 403"),
    ("GET", "/api/v1/borrowers/{borrower_id}", None, "401 200 403 200 200 403 401 403"),
    ("POST", "/api/v1/borrowers/{borrower_id}/unmask", {}, "401 403 403 422 422 403 401 403"),
    ("GET", "/api/v1/promises?borrower_id=B1", None, "401 200 403 200 200 403 401 403"),
    ("POST", "/api/v1/promises", {}, "401 422 403 422 403 403 401 403"),
    ("GET", "/api/v1/complaints", None, "401 403 403 200 200 403 401 403"),
    ("POST", "/api/v1/complaints/{complaint_id}/answer", {}, "401 403 403 403 422 403 401 403"),
    ("GET", "/api/v1/compliance/refusals", None, "401 403 403 403 200 403 401 403"),
    ("GET", "/api/v1/audit", None, "401 403 403 403 200 200 401 403"),
    ("GET", "/api/v1/audit/verify", None, "401 403 403 403 200 200 401 403"),
    ("GET", "/api/v1/policies", None, "401 403 403 200 200 200 401 403"),
    ("GET", "/api/v1/exports/{what}", None, "401 403 403 200 200 403 401 403"),
    ("GET", "/api/v1/approvals", None, "401 403 403 200 403 200 401 403"),
    ("POST", "/api/v1/approvals/{kind}/{item_id}", {}, "401 403 403 422 403 422 401 403"),
    ("GET", "/api/v1/contacts", None, "401 403 403 200 200 403 401 200"),
    ("POST", "/api/v1/contacts/outcome", {}, "401 422 403 422 403 403 401 422"),
    ("POST", "/api/v1/receipts/{channel}", {}, "400 400 400 400 400 400 400 400"),
    ("POST", "/api/v1/verify", {}, "422 422 422 422 422 422 422 422"),
    # field visits: the field agent's own (no such visit: 404 once allowed, a body refused: 422)
    ("GET", "/api/v1/visits/mine", None, "401 403 200 403 403 403 401 403"),
    ("GET", "/api/v1/visits/{visit_id}", None, "401 403 404 404 404 403 401 403"),
    ("POST", "/api/v1/visits/{visit_id}/check-in", {}, "401 403 422 403 403 403 401 403"),
    ("POST", "/api/v1/visits/{visit_id}/check-out", {}, "401 403 422 403 403 403 401 403"),
    ("POST", "/api/v1/visits/{visit_id}/record", {}, "401 403 422 403 403 403 401 403"),
    ("POST", "/api/v1/visits/{visit_id}/amend", {}, "401 403 422 403 403 403 401 403"),
    ("POST", "/api/v1/visits/{visit_id}/evidence", {}, "401 403 422 403 403 403 401 403"),
    ("POST", "/api/v1/visits/{visit_id}/slots", {}, "401 403 403 404 403 403 401 403"),
    ("POST", "/api/v1/visits/{visit_id}/crew", {}, "401 403 403 422 403 403 401 403"),
    # management's reports: aggregates, read by supervisors, compliance and admin
    ("GET", "/api/v1/reports", None, "401 403 403 200 200 200 401 403"),
    # pages: 303 to the sign-in page for a visitor who is not signed in (the integration
    # token opens no page), 403 for a role without the page's permission
    ("GET", "/", None, "200 200 200 200 200 200 200 200"),
    ("GET", "/login", None, "200 200 200 200 200 200 200 200"),
    ("GET", "/home", None, "303 200 200 200 200 200 303 303"),
    ("GET", "/work", None, "303 200 403 200 403 403 403 303"),
    ("GET", "/work/cases/{case_id}", None, "303 200 403 200 200 403 403 303"),
    ("POST", "/work/cases/{case_id}/outcome", {"outcome": "shouted"},
     "303 422 403 422 403 403 403 303"),
    ("POST", "/work/cases/{case_id}/unmask", {"reason": ""}, "303 403 403 422 422 403 403 303"),
    ("GET", "/supervise", None, "303 403 403 200 403 403 403 303"),
    ("POST", "/supervise/assign", {"case_id": "{case_id}", "username": "nobody"},
     "303 403 403 422 403 403 403 303"),
    ("GET", "/supervise/approvals", None, "303 403 403 200 403 200 403 303"),
    ("POST", "/supervise/approvals/{kind}/{item_id}", {"decision": "maybe"},
     "303 403 403 422 403 422 403 303"),
    ("GET", "/field", None, "303 403 200 403 403 403 403 303"),
    ("GET", "/field/visits/{visit_id}", None, "303 403 404 404 404 403 403 303"),
    ("POST", "/field/visits/{visit_id}/check-in", {"latitude": "x"},
     "303 403 404 403 403 403 403 303"),
    ("POST", "/field/visits/{visit_id}/check-out", {"latitude": "x"},
     "303 403 404 403 403 403 403 303"),
    ("POST", "/field/visits/{visit_id}/record", {"reaction": "shouting"},
     "303 403 404 403 403 403 403 303"),
    ("POST", "/field/visits/{visit_id}/evidence", {"kind": "rumour"},
     "303 403 404 403 403 403 403 303"),
    ("POST", "/field/visits/{visit_id}/amend", {"reason": ""}, "303 403 404 403 403 403 403 303"),
    ("POST", "/supervise/visits/{visit_id}/slots", {"starts": "soon"},
     "303 403 403 422 403 403 403 303"),
    ("POST", "/supervise/visits/{visit_id}/crew", {"reason": ""},
     "303 403 403 404 403 403 403 303"),
    ("GET", "/compliance", None, "303 403 403 403 200 403 403 303"),
    ("GET", "/compliance/complaints", None, "303 403 403 200 200 403 403 303"),
    ("POST", "/compliance/complaints/{complaint_id}/answer", {"answer": "ok"},
     "303 403 403 403 422 403 403 303"),
    ("GET", "/compliance/audit", None, "303 403 403 403 200 200 403 303"),
    ("GET", "/compliance/policies", None, "303 403 403 200 200 200 403 303"),
    ("GET", "/reports", None, "303 403 403 200 200 200 403 303"),
    ("GET", "/reports/{figure}.csv", None, "303 403 403 200 200 200 403 303"),
    ("GET", "/portal/login", None, "200 200 200 200 200 200 200 200"),
    ("GET", "/portal", None, "303 403 403 403 403 403 200 303"),
    ("GET", "/portal/preferences", None, "303 403 403 403 403 403 200 303"),
    ("POST", "/portal/preferences", {"agreed_from": "18:00"}, "303 403 403 403 403 403 422 303"),
    ("GET", "/portal/plan", None, "303 403 403 403 403 403 200 303"),
    ("GET", "/portal/visit", None, "303 403 403 403 403 403 200 303"),
    ("POST", "/portal/visit", {"slot": "x"}, "303 403 403 403 403 403 422 303"),
    ("POST", "/portal/plan", {"installments": "many"}, "303 403 403 403 403 403 422 303"),
    ("GET", "/portal/complaints", None, "303 403 403 403 403 403 200 303"),
    ("POST", "/portal/complaints", {"kind": "rant", "text": "x"},
     "303 403 403 403 403 403 422 303"),
    ("GET", "/portal/history.csv", None, "303 403 403 403 403 403 200 303"),
    ("GET", "/portal/help", None, "200 200 200 200 200 200 200 200"),
    ("GET", "/portal/verify", None, "200 200 200 200 200 200 200 200"),
    # relief and staff visit requests (api/relief.py, api/pages/staff_relief.py): an agent on
    # their own case (B1's); no such plan is 404 once allowed; a bad body or form 422
    ("GET", "/api/v1/plans?borrower_id=B1", None, "401 200 403 200 200 403 401 403"),
    ("GET", "/api/v1/plans/{plan_id}", None, "401 404 403 404 404 403 401 403"),
    ("POST", "/api/v1/plans", {}, "401 422 403 422 403 403 401 403"),
    ("GET", "/api/v1/waivers?borrower_id=B1", None, "401 200 403 200 200 403 401 403"),
    ("POST", "/api/v1/waivers", {}, "401 422 403 422 403 403 401 403"),
    ("GET", "/api/v1/visits", None, "401 403 403 200 200 403 401 403"),
    ("POST", "/api/v1/cases/{case_id}/visit-request", {}, "401 422 403 422 403 403 401 403"),
    ("POST", "/work/cases/{case_id}/plan", {"installments": "many"},
     "303 422 403 422 403 403 403 303"),
    ("POST", "/work/cases/{case_id}/waiver", {"component": "gold"},
     "303 422 403 422 403 403 403 303"),
    ("POST", "/work/cases/{case_id}/visit-request", {"grounds": "S9"},
     "303 422 403 422 403 403 403 303"),
    ("POST", "/api/v1/complaints", {}, "401 422 403 422 422 403 401 403"),
    # grace (api/grace.py, api/pages/portal_grace.py): an agent records a borrower's request
    # on their own case; only a supervisor grants outright; the borrower asks on the portal
    ("GET", "/api/v1/grace?borrower_id=B1", None, "401 200 403 200 200 403 401 403"),
    ("POST", "/api/v1/grace/requests", {}, "401 422 403 422 403 403 401 403"),
    ("POST", "/api/v1/grace", {}, "401 403 403 422 403 403 401 403"),
    ("GET", "/portal/grace", None, "303 403 403 403 403 403 200 303"),
    ("POST", "/portal/grace", {"days": "many"}, "303 403 403 403 403 403 422 303"),
    ("POST", "/portal/grace/{request_id}/withdraw", {}, "303 403 403 403 403 403 422 303"),
    # last: these end the sessions the rows above use
    ("POST", "/api/v1/auth/logout", None, "401 204 204 204 204 204 401 403"),
    ("POST", "/logout", {}, "303 303 303 303 303 303 303 303"),
]

#: Public forms take no session (they have their own CSRF cookie): checked in test_pages,
#: test_portal and test_verify. Static files are public.
NOT_IN_MATRIX = {("POST", "/login"), ("POST", "/portal/login"), ("POST", "/portal/verify-code"),
                 ("POST", "/portal/verify"), ("GET", "/static")}


def _visitors(web: Web) -> dict[str, tuple[TestClient, dict[str, str], str]]:
    """Each column's client (cookies), bearer headers and session CSRF token."""
    visitors: dict[str, tuple[TestClient, dict[str, str], str]] = {
        "anonymous": (TestClient(web.client.app, base_url="https://testserver"), {}, ""),
        "integration": (TestClient(web.client.app, base_url="https://testserver"),
                        {"Authorization": f"Bearer {API_TOKEN}"}, ""),
    }
    for role, user in USERS.items():
        client, csrf = staff_browser(web, user)
        visitors[role] = (client, web.bearer(user), csrf)
    client, csrf = borrower_browser(web)
    visitors["borrower"] = (client, {}, csrf)
    return visitors


def test_every_route_for_every_visitor(web: Web) -> None:
    case_id = web.case("B1")
    visitors = _visitors(web)
    changed: list[str] = []
    for method, template, body, expected in MATRIX:
        path = template.format(case_id=case_id, **PATH_VALUES)
        got = []
        for column in COLUMNS:
            client, headers, csrf = visitors[column]
            if isinstance(body, dict) and not path.startswith("/api/") and path != "/openapi.json":
                form = {k: v.format(case_id=case_id) for k, v in body.items()}
                answer = client.post(path, data={**form, "csrf_token": csrf}, headers=headers,
                                     follow_redirects=False)
            elif method == "POST":
                answer = client.post(path, json=body if body is not None else None,
                                     headers=headers, follow_redirects=False)
            else:
                answer = client.get(path, headers=headers, follow_redirects=False)
            got.append(str(answer.status_code))
        if " ".join(got) != expected:
            changed.append(f"{method} {template}: expected {expected}, got {' '.join(got)}")
    assert not changed, "authorisation changed:\n" + "\n".join(changed)


def _routes(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every GET and POST route, through included routers (FastAPI keeps
    an included router as one entry holding the original router and its prefix)."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        included = getattr(route, "include_context", None)
        if included is not None:
            found |= _routes(list(route.original_router.routes), prefix + included.prefix)
        elif isinstance(route, Mount):
            found.add(("GET", prefix + route.path))
        elif getattr(route, "methods", None):
            path = prefix + route.path
            if not path.startswith(("/docs", "/redoc")):
                found |= {(m, path) for m in route.methods if m in ("GET", "POST")}
    return found


def test_the_matrix_covers_every_route(web: Web) -> None:
    """A new route without a row here fails: decide who may use it, then add the row."""
    routes = _routes(list(web.client.app.routes))  # type: ignore[attr-defined]
    assert ("GET", "/api/v1/cases/{case_id}") in routes and ("GET", "/portal") in routes
    in_matrix = {(method, path.split("?")[0]) for method, path, _, _ in MATRIX}
    missing = sorted(routes - in_matrix - NOT_IN_MATRIX)
    assert not missing, f"routes with no row in the authorisation matrix: {missing}"
    stale = sorted(in_matrix - routes)
    assert not stale, f"rows of the authorisation matrix for no route: {stale}"
