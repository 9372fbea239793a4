"""Who may approve relief (plans, waivers): staff roles and their order of authority.

A waiver or a plan beyond what the borrower can afford is money the lender gives up or risks,
so each needs someone senior enough: an agent for small things, a supervisor for more, a
manager (or an administrator) above that. Compliance officers watch; they approve nothing.
"""

from __future__ import annotations

from enum import StrEnum

from fairdue.errors import InvalidInput


class Role(StrEnum):
    AGENT = "agent"
    FIELD_AGENT = "field_agent"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"
    COMPLIANCE = "compliance"


#: Authority to approve relief, higher approves more; 0 approves nothing.
_RANK: dict[Role, int] = {
    Role.COMPLIANCE: 0,
    Role.AGENT: 1,
    Role.FIELD_AGENT: 1,
    Role.SUPERVISOR: 2,
    Role.MANAGER: 3,
    Role.ADMIN: 3,
}


def role_of(value: str) -> Role:
    """A role from its name; an unknown name is refused with the names known."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"unknown role {value!r}; use one of: {', '.join(r.value for r in Role)}"
        ) from None


def rank(role: Role) -> int:
    return _RANK[role]


def at_least(role: Role, needed: Role) -> bool:
    """Whether `role` has the authority `needed` has (an admin counts as a manager)."""
    return _RANK[role] >= _RANK[needed]


def require_reason(reason: str | None, what: str) -> str:
    """A decision's reason, stripped; an empty one is refused (every approval is explained)."""
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(f"{what} needs a reason (--reason); it is kept in the audit log")
    return text
