"""Who may do what: one explicit table from permission to the roles that hold it.

Every API route and page names exactly one permission; `tests/web/test_authorisation_matrix`
holds the expected answer of every route and page for every role and fails when a cell
changes. Roles: the staff roles of `services.staff.ROLES`, `borrower` (signed in with a
one-time code, sees only their own records) and `integration` (FAIRDUE_API_TOKEN: a dialer
or another system, no person behind it).

Least privilege: an admin manages accounts and reads the audit log and policies but works
no cases and sees no borrower's data; a field agent sees only their crews' visits; compliance
reads everything to investigate but records no collection outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

STAFF_ROLES: tuple[str, ...] = ("agent", "field_agent", "supervisor", "compliance", "admin")
ALL_ROLES: tuple[str, ...] = (*STAFF_ROLES, "borrower", "integration")

PERMISSIONS: dict[str, frozenset[str]] = {
    # Being signed in at all (who am I, sign out).
    "session": frozenset(ALL_ROLES) - {"integration"},
    # The agent's queue (their own cases) and working a case.
    "queue.mine": frozenset({"agent", "supervisor"}),
    "case.read": frozenset({"agent", "supervisor", "compliance"}),
    "case.work": frozenset({"agent", "supervisor"}),
    # The supervisor's team queue and assignment.
    "queue.team": frozenset({"supervisor"}),
    "case.assign": frozenset({"supervisor"}),
    # Relief and visits waiting for a decision; how much each role may approve is the
    # services' rule (domain/approvals.py: admin ranks above supervisor).
    "approvals": frozenset({"supervisor", "admin"}),
    # Grace periods: an agent records a borrower's request (asked on the phone) for a
    # supervisor to decide in the approvals; a supervisor may also grant one outright.
    "grace.request": frozenset({"agent", "supervisor"}),
    "grace.grant": frozenset({"supervisor"}),
    # Personal data in clear, every read audited (architecture: PII masked unless...).
    "pii.unmask": frozenset({"supervisor", "compliance"}),
    "promise.read": frozenset({"agent", "supervisor", "compliance"}),
    "promise.make": frozenset({"agent", "supervisor"}),
    # Complaints and disputes: read by those who handle them, answered by compliance.
    "complaint.read": frozenset({"supervisor", "compliance"}),
    "complaint.answer": frozenset({"compliance"}),
    # A complaint made by phone or letter is recorded by whoever hears it (an agent on their
    # own cases): collection pauses at once, as when the borrower files it on the portal.
    "complaint.record": frozenset({"agent", "supervisor", "compliance"}),
    # The compliance officer's views: refusals by rule, the audit log, policies.
    "compliance.read": frozenset({"compliance"}),
    "audit.read": frozenset({"compliance", "admin"}),
    "policy.read": frozenset({"supervisor", "compliance", "admin"}),
    "export.read": frozenset({"supervisor", "compliance"}),
    # Management's figures (`fairdue report` in the web application): aggregates only, no
    # borrower's data, so admin reads them too; agents are judged by them, not given them.
    "report.read": frozenset({"supervisor", "compliance", "admin"}),
    # The outbox and call queue, and outcomes recorded by dialers or agents.
    "contacts.read": frozenset({"supervisor", "compliance", "integration"}),
    "outcome.record": frozenset({"agent", "supervisor", "integration"}),
    # Field visits. A field agent works the visits of the crews their badge belongs to:
    # their route of the day, check-in and check-out, the record and its evidence. The
    # place of a visit (the borrower's address) is shown in clear only to that crew, and
    # every read of it is audited. Supervisors and compliance read a visit and its record;
    # a supervisor offers the borrower appointment times for an approved visit.
    "visit.field": frozenset({"field_agent"}),
    "visit.place": frozenset({"field_agent"}),
    "visit.read": frozenset({"field_agent", "supervisor", "compliance"}),
    "visit.schedule": frozenset({"supervisor"}),
    # Relief agreed on a call (S13) and a visit asked for by staff (api/relief.py). Those who
    # work cases read and propose plans and waivers and ask for a visit (an agent only on
    # their own cases); compliance reads them to investigate but proposes nothing; deciding
    # is `approvals`. The list of every visit is for those who oversee visits, not for a
    # field agent (their crew's visits only) nor an agent (their case's timeline shows its
    # visits). No integration: a dialer records outcomes, it negotiates nothing.
    "relief.read": frozenset({"agent", "supervisor", "compliance"}),
    "relief.propose": frozenset({"agent", "supervisor"}),
    "visit.request": frozenset({"agent", "supervisor"}),
    "visit.list": frozenset({"supervisor", "compliance"}),
    # The borrower's own portal (what is owed, preferences, complaints, a plan proposal).
    "portal": frozenset({"borrower"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a staff user, a borrower, the integration token."""

    kind: str            # staff, borrower or integration
    id: str              # username, borrower id, or "api"
    role: str
    csrf_token: str = ""
    token: str = ""      # the session token (cookie or bearer), for sign-out

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


def roles_for(permission: str) -> frozenset[str]:
    return PERMISSIONS[permission]
