"""Reading a borrower's record: masked by default; an unmasked read is audited, always."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fairdue.adapters.db.tables import borrowers, loans
from fairdue.bootstrap import App
from fairdue.domain.masking import mask_address, mask_email, mask_id_number, mask_name, mask_phone
from fairdue.errors import InvalidInput, NotFound

UNMASK_ROLES = ("supervisor", "compliance", "admin")


def show_borrower(app: App, borrower_id: str, *, unmask: bool = False, actor: str = "cli",
                  role: str | None = None, reason: str | None = None) -> dict[str, Any]:
    if unmask:
        if role not in UNMASK_ROLES:
            raise InvalidInput(
                f"role {role!r} may not see personal data unmasked; one of "
                f"{', '.join(UNMASK_ROLES)} may"
            )
        if not reason or not reason.strip():
            raise InvalidInput("an unmasked read needs a reason, which goes into the audit log")
    with app.uow(actor) as uow:
        row = uow.connection.execute(
            select(borrowers).where(borrowers.c.borrower_id == borrower_id)
        ).first()
        if row is None:
            raise NotFound(f"no borrower {borrower_id!r}")
        pii = app.keys.cipher.open(row.pii, aad=borrower_id)
        loan_ids = list(uow.connection.execute(
            select(loans.c.loan_id).where(loans.c.borrower_id == borrower_id).order_by(loans.c.loan_id)
        ).scalars())
        if unmask:
            uow.audit("PiiUnmasked", borrower_id, {"role": role, "reason": reason,
                                                   "fields": sorted(pii)})
            uow.commit()
    address = pii["addresses"][0] if pii.get("addresses") else {}
    if not unmask:
        pii = {
            "name": mask_name(pii["name"]),
            "id_number": mask_id_number(pii["id_number"]),
            "phones": [mask_phone(p) for p in pii["phones"]],
            "emails": [mask_email(e) for e in pii["emails"]],
            "addresses": [{"line": mask_address(a["line"]), "city": a["city"],
                           "timezone": a["timezone"]} for a in pii.get("addresses", [])],
            "push_token": "****" if pii.get("push_token") else None,
        }
    return {
        "borrower_id": borrower_id, "masked": not unmask, **pii, "city": row.city,
        "timezone": address.get("timezone", row.timezone), "language": row.language,
        "has_email": row.has_email, "has_app": row.has_app, "loans": loan_ids,
    }
