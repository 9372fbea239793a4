"""What collection did: promises kept, conversations reached, contacts and their cost,
complaints, what the guard refused, and the field visits.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, case, func, inspect, select

from fairdue.adapters.db.tables import (
    cases,
    contact_attempts,
    contact_restrictions,
    contacts,
    loans,
    metadata,
    payments,
    promises,
)
from fairdue.domain.fairness import rate
from fairdue.domain.money import format_minor
from fairdue.services.reports.common import active_cases, pct
from fairdue.services.reports.model import Chart, Figure, Window

MESSAGE_CHANNELS = ("sms", "email", "push")
#: Dispositions recorded as a conversation that was not with the borrower.
NOT_BORROWER = ("wrong_party", "third_party")


def optional_table(conn: Connection, name: str) -> Table | None:
    """A table of a later area (visits, plans, waivers), when both the code and this
    database have it; reports read it and never write it."""
    table = metadata.tables.get(name)
    if table is None or not inspect(conn).has_table(name):
        return None
    return table


def ptp_kept_rate(conn: Connection, window: Window) -> Figure:
    """Promises falling due in the window: kept, broken, still pending."""
    rows = conn.execute(
        select(promises.c.status, func.count(), func.sum(promises.c.amount_minor))
        .where(promises.c.due_on >= window.start, promises.c.due_on <= window.end)
        .group_by(promises.c.status)
    ).all()
    by = {status: int(n) for status, n, _ in rows}
    kept, broken = by.get("kept", 0), by.get("broken", 0)
    figure = Figure(
        "ptp_kept_rate", "Promise-to-pay kept rate",
        "Promises to pay falling due in the window, decided kept or broken by the payments that "
        "followed. Kept rate: kept / (kept + broken); pending and cancelled ones are not counted "
        "(50-70 % is typical for promises made to people).",
        ["status", "promises", "share %"],
        chart=Chart("bar", "status", "promises"),
    )
    total = sum(by.values())
    for status in ("kept", "broken", "pending", "cancelled"):
        if status in by:
            figure.rows.append([status, by[status], pct(rate(by[status], total))])
    figure.rows.append(["kept rate", kept + broken, pct(rate(kept, kept + broken))])
    return figure


def right_party_contact_rate(conn: Connection, window: Window) -> Figure:
    """Call attempts in the window and how many reached the borrower themself."""
    in_window = (contact_attempts.c.at >= window.start_utc) & (contact_attempts.c.at < window.end_utc)
    rpc = case(((contact_attempts.c.outcome == "conversation")
                & (contact_attempts.c.party == "debtor")
                & (func.coalesce(contact_attempts.c.disposition, "") .not_in(NOT_BORROWER)), 1),
               else_=0)
    connected = case((contact_attempts.c.outcome == "conversation", 1), else_=0)
    rows = conn.execute(
        select(contact_attempts.c.channel, func.count(), func.sum(connected), func.sum(rpc))
        .where(in_window, contact_attempts.c.channel == "call")
        .group_by(contact_attempts.c.channel)
    ).all()
    figure = Figure(
        "right_party_contact_rate", "Right-party contact rate",
        "Call attempts made in the window (by agents and dialers), those that connected to "
        "someone, and those that were a conversation with the borrower themself (not a wrong "
        "or third party). RPC rate: right-party contacts / attempts.",
        ["channel", "attempts", "connected", "right-party contacts", "RPC rate %"],
        chart=Chart("bar", "channel", "RPC rate %", percent=True),
    )
    for channel, n, conn_n, rpc_n in rows:
        figure.rows.append([channel, int(n), int(conn_n or 0), int(rpc_n or 0),
                            pct(rate(int(rpc_n or 0), int(n)))])
    return figure


def collected_on_cases(conn: Connection, window: Window) -> int:
    """Payments in the window by borrowers while their case was open (minor units)."""
    return int(conn.execute(
        select(func.coalesce(func.sum(payments.c.amount_minor), 0))
        .select_from(payments)
        .join(loans, loans.c.loan_id == payments.c.loan_id)
        .join(cases, cases.c.borrower_id == loans.c.borrower_id)
        .where(payments.c.paid_on >= window.start, payments.c.paid_on <= window.end,
               payments.c.paid_on >= cases.c.opened_on,
               cases.c.closed_on.is_(None) | (payments.c.paid_on <= cases.c.closed_on))
    ).scalar_one())


def contacts_and_cost(conn: Connection, window: Window, costs: dict[str, Decimal],
                      currency: str) -> Figure:
    """Messages sent, calls made and visits done per channel; their cost; cost per unit
    recovered."""
    sent = conn.execute(
        select(contacts.c.channel, func.count())
        .where(contacts.c.channel.in_(MESSAGE_CHANNELS), contacts.c.sent_at.is_not(None),
               contacts.c.sent_at >= window.start_utc, contacts.c.sent_at < window.end_utc)
        .group_by(contacts.c.channel)
    ).all()
    units: dict[str, int] = {channel: int(n) for channel, n in sent}
    units["call"] = int(conn.execute(
        select(func.count()).where(contact_attempts.c.channel == "call",
                                   contact_attempts.c.at >= window.start_utc,
                                   contact_attempts.c.at < window.end_utc)
    ).scalar_one())
    records = optional_table(conn, "visit_records")
    if records is not None:
        units["visit"] = int(conn.execute(
            select(func.count()).where(records.c.checked_in_at >= window.start_utc,
                                       records.c.checked_in_at < window.end_utc)
        ).scalar_one())
    recovered = collected_on_cases(conn, window)
    figure = Figure(
        "contacts_and_cost", "Contacts per channel and cost per unit recovered",
        "Messages sent (SMS, email, push), call attempts and field visits made in the window, "
        "each priced at the configured cost per unit (FAIRDUE_CHANNEL_COSTS). The last row "
        f"divides the total cost by what borrowers paid while their case was open "
        f"({format_minor(recovered, currency)} {currency}): the cost of collecting one unit.",
        ["channel", "contacts", "unit cost", "cost"],
        chart=Chart("bar", "channel", "contacts"),
    )
    total = Decimal(0)
    for channel in (*MESSAGE_CHANNELS, "call", "visit"):
        if channel not in units:
            continue
        unit = costs.get(channel, Decimal(0))
        cost = unit * units[channel]
        total += cost
        figure.rows.append([channel, units[channel], f"{unit:.2f}", f"{cost:.2f}"])
    per_unit = (total / Decimal(format_minor(recovered, currency))) if recovered else None
    figure.rows.append(["cost per unit recovered", sum(units.values()), None,
                        None if per_unit is None else f"{per_unit:.4f}"])
    return figure


def complaints_per_10k(conn: Connection, window: Window) -> Figure:
    """Complaints and disputes filed in the window per 10,000 accounts in collection."""
    accounts = int(conn.execute(
        select(func.count(func.distinct(cases.c.borrower_id)))
        .where(cases.c.case_id.in_(active_cases(window)))
    ).scalar_one())
    rows = conn.execute(
        select(contact_restrictions.c.kind, func.count())
        .where(contact_restrictions.c.kind.in_(("complaint", "dispute")),
               contact_restrictions.c.started_at >= window.start_utc,
               contact_restrictions.c.started_at < window.end_utc)
        .group_by(contact_restrictions.c.kind)
    ).all()
    by = {kind: int(n) for kind, n in rows}
    figure = Figure(
        "complaints_per_10k", "Complaints per 10,000 accounts",
        f"Complaints and disputes filed in the window per 10,000 accounts in collection (the "
        f"{accounts} borrowers with a case open at some time in the window).",
        ["kind", "filed", "accounts", "per 10,000 accounts"],
        chart=Chart("bar", "kind", "per 10,000 accounts"),
    )
    for kind in ("complaint", "dispute"):
        n = by.get(kind, 0)
        per = rate(n * 10_000, accounts)
        figure.rows.append([kind, n, accounts, None if per is None else round(per, 1)])
    return figure


def refused_by_rule(conn: Connection, window: Window) -> Figure:
    """Planned contacts the guard blocked, and attempts recorded that broke a rule, by rule."""
    blocked = conn.execute(
        select(contacts.c.blocked_by, func.count())
        .where(contacts.c.status == "blocked", contacts.c.created_at >= window.start_utc,
               contacts.c.created_at < window.end_utc)
        .group_by(contacts.c.blocked_by)
    ).all()
    violated = conn.execute(
        select(contact_attempts.c.violated, func.count())
        .where(contact_attempts.c.violated.is_not(None), contact_attempts.c.at >= window.start_utc,
               contact_attempts.c.at < window.end_utc)
        .group_by(contact_attempts.c.violated)
    ).all()
    counts: dict[str, list[int]] = {}
    for i, grouped in enumerate((blocked, violated)):
        for rules, n in grouped:  # grouped already: one row per distinct list of rules
            for rule in (rules or "unspecified").split(","):
                counts.setdefault(rule.strip(), [0, 0])[i] += int(n)
    figure = Figure(
        "refused_by_rule", "Contacts refused by rule",
        "Contacts the policy planned in the window that the compliance guard blocked, and "
        "attempts recorded from outside fairdue that it found unlawful, by the rule that "
        "refused them (a contact refused by two rules counts under both).",
        ["rule", "blocked before contact", "recorded in breach", "total"],
        chart=Chart("bar", "rule", "total"),
    )
    for rule, (b, v) in sorted(counts.items(), key=lambda kv: (-sum(kv[1]), kv[0])):
        figure.rows.append([rule, b, v, b + v])
    return figure


def field_visits(conn: Connection, window: Window) -> Figure:
    """Visits the policy proposed, what became of them, and what the visits recorded."""
    proposed = int(conn.execute(
        select(func.count()).where(contacts.c.channel == "visit",
                                   contacts.c.created_at >= window.start_utc,
                                   contacts.c.created_at < window.end_utc)
    ).scalar_one())
    figure = Figure(
        "field_visits", "Field visits and outcomes",
        "Visits the policy proposed in the window (S5-S7), the visits by status, and the "
        "borrower's reaction and the agreed solution written in submitted visit records.",
        ["what", "value", "visits"],
        chart=Chart("bar", "value", "visits"),
    )
    figure.rows.append(["proposed by the policy", "proposals", proposed])
    visits = optional_table(conn, "visits")
    if visits is not None:
        for status, n in conn.execute(
            select(visits.c.status, func.count())
            .where(visits.c.proposed_on >= window.start, visits.c.proposed_on <= window.end)
            .group_by(visits.c.status).order_by(visits.c.status)
        ):
            figure.rows.append(["visit status", status, int(n)])
    records = optional_table(conn, "visit_records")
    if records is not None:
        for column in ("reaction", "solution"):
            col: Any = records.c[column]
            for value, n in conn.execute(
                select(col, func.count())
                .where(records.c.submitted_at.is_not(None),
                       records.c.checked_in_at >= window.start_utc,
                       records.c.checked_in_at < window.end_utc)
                .group_by(col).order_by(col)
            ):
                figure.rows.append([f"visit {column}", value or "not recorded", int(n)])
    if visits is None:
        figure.explanation += " (This database has no visit tables yet: proposals only.)"
    return figure
