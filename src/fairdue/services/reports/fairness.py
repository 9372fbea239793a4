"""Fairness monitoring (S18): treatment and outcomes by protected group, at equal risk.

For each attribute stored in `fairness_attributes` (gender, age band from the birth date,
occupation, ethnicity) and each of its groups, the cases active in the window are compared
with every other case *in the same stratum of risk facts*: the DPD bucket the case was in
at the end of the window's first day (or when it opened, later in the window) and the band of the
borrower's total principal, a fact fixed before collection began. One grouped SQL query per
attribute gives, per group and stratum, the number of cases and the sums of each measure;
the statistics (domain/fairness.py) pool the strata.

Measures: contacts made per case (a count), field visit, waiver, repayment plan (each: did
the case get one; the last three only where this database has their tables) and cure (the
outcome). `fairness_findings` is what the compliance page calls too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, literal, select
from sqlalchemy.sql import ColumnElement

from fairdue.adapters.db.tables import cases, contacts, fairness_attributes, loans
from fairdue.domain.delinquency import BucketTable
from fairdue.domain.fairness import (
    AGE_BANDS,
    FairnessThreshold,
    MeanStratum,
    Table2x2,
    Verdict,
    cmh_test,
    judge,
    stratified_mean_difference,
)
from fairdue.domain.money import parse_to_minor
from fairdue.services.reports.common import (
    active_cases,
    bucket_rank,
    contacts_made,
    default_window,
    delinquent_on,
    pct,
)
from fairdue.services.reports.contacts import optional_table
from fairdue.services.reports.model import Chart, Figure, Window
from fairdue.settings import Settings, parse_amount_bands

ATTRIBUTES = ("gender", "age band", "occupation", "ethnicity")
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Finding:
    """One group's comparison on one measure, with its verdict."""

    attribute: str
    group: str
    measure: str
    cases: int
    value: float | None          # the group's rate (%) or mean
    expected: float | None       # what the rest's rates/means give for the group's risk mix
    relative_difference: float | None
    p_value: float
    verdict: Verdict


def _age_band_expr(on: date) -> ColumnElement[str]:
    """The age band of `birth_date` on `on`, in SQL: compare with dates, not arithmetic."""
    birth = fairness_attributes.c.birth_date
    whens = []
    for low, high in AGE_BANDS:
        latest = _years_before(on, low)  # born on or before this date: at least `low`
        if high is None:
            whens.append((birth <= latest, literal(f"{low}+")))
        else:
            earliest = _years_before(on, high + 1) + timedelta(days=1)
            whens.append(((birth <= latest) & (birth >= earliest), literal(f"{low}-{high}")))
    return case((birth.is_(None), literal(UNKNOWN)), *whens, else_=literal(f"under {AGE_BANDS[0][0]}"))


def _years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)


def _group_expr(attribute: str, on: date) -> ColumnElement[str]:
    if attribute == "age band":
        return _age_band_expr(on)
    column = fairness_attributes.c[attribute]
    return case((column.is_(None) | (column == ""), literal(UNKNOWN)), else_=column)


def _band_expr(total: ColumnElement[Any], bounds: tuple[Decimal, ...], currency: str
               ) -> ColumnElement[int]:
    """The amount band (0, 1, ...) of a total in minor units; bounds are in major units."""
    minor = [parse_to_minor(str(b), currency, what="FAIRDUE_AMOUNT_BANDS") for b in bounds]
    whens = [(total >= m, i) for i, m in reversed(list(enumerate(minor)))]
    return case(*whens, else_=0)


def _case_facts(conn: Connection, window: Window, settings: Settings) -> Any:
    """One row per case active in the window: borrower, stratum, measures."""
    buckets: BucketTable = settings.bucket_table
    bounds = parse_amount_bands(settings.amount_bands)
    snapshot = delinquent_on(window.start, buckets)
    backlog_rank = (
        select(loans.c.borrower_id, func.max(bucket_rank(snapshot.c.bucket, buckets)).label("rank"))
        .join(snapshot, snapshot.c.loan_id == loans.c.loan_id)
        .group_by(loans.c.borrower_id).subquery()
    )
    active = active_cases(window).subquery()
    principal = (  # of the borrowers with a case in the window only (the loans' index)
        select(loans.c.borrower_id, func.sum(loans.c.principal_minor).label("principal"))
        .where(loans.c.borrower_id.in_(
            select(cases.c.borrower_id).join(active, active.c.case_id == cases.c.case_id)))
        .group_by(loans.c.borrower_id).subquery()
    )
    made = contacts_made(window)
    entry_rank = buckets.names.index(buckets.bucket_for(settings.grace_days + 1))
    opened_in = cases.c.opened_on > window.start
    columns: list[Any] = [
        cases.c.case_id, cases.c.borrower_id,
        case((opened_in, entry_rank), else_=func.coalesce(backlog_rank.c.rank, entry_rank))
        .label("bucket_rank"),
        _band_expr(func.coalesce(principal.c.principal, 0), bounds, settings.currency).label("band"),
        func.coalesce(made.c.n, 0).label("contacts"),
        case(((cases.c.status == "cured") & (cases.c.closed_on <= window.end), 1), else_=0)
        .label("cured"),
    ]
    query = (
        select(*columns)
        .select_from(cases)
        .outerjoin(backlog_rank, backlog_rank.c.borrower_id == cases.c.borrower_id)
        .outerjoin(principal, principal.c.borrower_id == cases.c.borrower_id)
        .outerjoin(made, made.c.case_id == cases.c.case_id)
    )
    measures = ["contacts", "cured"]
    # Treatments of later areas, read where this database has them: did the case get one?
    for measure, table_name, date_column in (("field visit", "visits", "proposed_on"),
                                             ("waiver", "waivers", None),
                                             ("plan offered", "repayment_plans", None),
                                             ("plan offered", "plans", None)):
        table = optional_table(conn, table_name)
        if table is None or "case_id" not in table.c or measure in measures:
            continue
        sub_query = select(table.c.case_id, func.count().label("n"))
        if date_column and date_column in table.c:
            sub_query = sub_query.where(table.c[date_column] <= window.end)
        sub = sub_query.group_by(table.c.case_id).subquery()
        query = query.outerjoin(sub, sub.c.case_id == cases.c.case_id)
        query = query.add_columns(case((sub.c.n > 0, 1), else_=0).label(measure.replace(" ", "_")))
        measures.append(measure)
    if "field visit" not in measures:  # no visit tables yet: the policy's visit proposals
        proposed = (
            select(contacts.c.case_id, func.count().label("n"))
            .where(contacts.c.channel == "visit", contacts.c.status != "blocked",
                   contacts.c.created_at < window.end_utc)
            .group_by(contacts.c.case_id).subquery("proposed")
        )
        query = query.outerjoin(proposed, proposed.c.case_id == cases.c.case_id)
        query = query.add_columns(case((proposed.c.n > 0, 1), else_=0).label("field_visit"))
        measures.append("field visit")
    query = query.where(cases.c.opened_on <= window.end,
                        cases.c.closed_on.is_(None) | (cases.c.closed_on >= window.start))
    return query.subquery("case_facts"), measures


def fairness_findings(conn: Connection, settings: Settings, *, start: date | None = None,
                      end: date | None = None, window: Window | None = None) -> list[Finding]:
    """Every group of every protected attribute on every measure, judged (S18)."""
    window = window or default_window(conn, settings, start, end)
    facts, measures = _case_facts(conn, window, settings)
    threshold = FairnessThreshold(settings.fairness_threshold, settings.fairness_alpha,
                                  settings.fairness_min_cases)
    findings: list[Finding] = []
    for attribute in ATTRIBUTES:
        # The group is a column of a subquery, grouped by name (see recovery_by_vintage).
        grouped = (
            select(facts, _group_expr(attribute, window.end).label("grp"))
            .outerjoin(fairness_attributes,
                       fairness_attributes.c.borrower_id == facts.c.borrower_id)
            .subquery()
        )
        sums = [func.sum(grouped.c[m.replace(" ", "_")]) for m in measures]
        rows = conn.execute(
            select(grouped.c.grp, grouped.c.bucket_rank, grouped.c.band, func.count(),
                   func.sum(grouped.c.contacts * grouped.c.contacts), *sums)
            .group_by(grouped.c.grp, grouped.c.bucket_rank, grouped.c.band)
        ).all()
        findings.extend(_judge_attribute(attribute, rows, measures, threshold))
    return findings


def _judge_attribute(attribute: str, rows: Sequence[Any], measures: list[str],
                     threshold: FairnessThreshold) -> list[Finding]:
    # stratum -> group -> [n, sumsq_contacts, *sums]
    cells: dict[tuple[int, int], dict[str, list[float]]] = defaultdict(dict)
    for grp, bucket, band, n, sumsq, *sums in rows:
        cells[(int(bucket), int(band))][str(grp)] = [int(n), float(sumsq or 0),
                                                     *(float(s or 0) for s in sums)]
    groups = sorted({g for stratum in cells.values() for g in stratum})
    totals = {g: int(sum(s[g][0] for s in cells.values() if g in s)) for g in groups}
    # Every judged group of the attribute is one more chance of a false alarm: Bonferroni,
    # the configured alpha shared among them (twenty occupations tested at 1 % would
    # otherwise flag one by chance every few reports).
    judged = sum(1 for n in totals.values() if n >= threshold.min_cases)
    threshold = replace(threshold, alpha=threshold.alpha / max(1, judged))
    findings: list[Finding] = []
    width = 2 + len(measures)
    for g in groups:
        n_group = totals[g]
        for m_index, measure in enumerate(measures):
            k = 2 + m_index
            mean_strata: list[MeanStratum] = []
            tables: list[Table2x2] = []
            observed = expected = 0.0
            for stratum in cells.values():
                mine = stratum.get(g, [0.0] * width)
                rest = [sum(v[i] for h, v in stratum.items() if h != g) for i in range(width)]
                if mine[0] == 0:
                    continue
                observed += mine[k]
                if rest[0]:
                    expected += mine[0] * rest[k] / rest[0]
                if measure == "contacts":
                    mean_strata.append(MeanStratum(int(mine[0]), mine[k], mine[1],
                                                   int(rest[0]), rest[k], rest[1]))
                else:
                    tables.append(Table2x2(int(mine[k]), int(mine[0]), int(rest[k]), int(rest[0])))
            comparable = sum(int(s.get(g, [0])[0]) for s in cells.values()
                             if any(h != g for h in s))
            if measure == "contacts":
                result = stratified_mean_difference(mean_strata)
                relative = (result.difference / result.rest_mean) if result.rest_mean else None
                p_value = result.p_value
                value = round(observed / n_group, 2) if n_group else None
                exp = round(expected / n_group, 2) if n_group and comparable else None
                name = "contacts per case"
            else:
                cmh = cmh_test(tables)
                relative = None if cmh.risk_ratio is None else cmh.risk_ratio - 1
                p_value = cmh.p_value
                value = pct(observed / n_group) if n_group else None
                exp = pct(expected / n_group) if n_group and comparable else None
                name = "cure" if measure == "cured" else measure
            verdict = judge(attribute=attribute, group=g, measure=name,
                            relative_difference=relative, p_value=p_value, cases=n_group,
                            threshold=threshold)
            findings.append(Finding(attribute, g, name, n_group, value, exp, relative, p_value,
                                    verdict))
    return findings


def fairness_figures(conn: Connection, window: Window, settings: Settings) -> list[Figure]:
    """One figure per protected attribute: each group's measures against the rest's at the
    same risk, the test's p-value and the verdict; flagged disparities listed first."""
    findings = fairness_findings(conn, settings, window=window)
    figures = []
    for attribute in ATTRIBUTES:
        mine = [f for f in findings if f.attribute == attribute]
        figure = Figure(
            f"fairness_{attribute.replace(' ', '_')}", f"Fairness by {attribute} (S18)",
            f"Cases active in the window by the borrower's {attribute}: each group's contacts "
            "per case and share of cases with a field visit, waiver or plan (treatment) and "
            "cured (outcome), against what the other groups' figures in the same bucket and "
            "amount band predict for this group ('at equal risk'). Rates are tested with "
            "Cochran-Mantel-Haenszel, contacts with a stratified difference of means; a "
            f"difference of at least {settings.fairness_threshold:.0%} with p below "
            f"{settings.fairness_alpha} shared among the groups judged (Bonferroni) is flagged.",
            ["group", "measure", "cases", "group", "at equal risk", "relative difference %",
             "p-value", "flagged", "verdict"],
            chart=Chart("bar", "group", "relative difference %", series="measure"),
        )
        for f in mine:
            figure.rows.append([
                f.group, f.measure, f.cases, f.value, f.expected,
                pct(f.relative_difference), round(f.p_value, 4), "yes" if f.verdict.flagged else "no",
                f.verdict.text,
            ])
            if f.verdict.flagged:
                figure.flagged.append(f.verdict.text)
        figures.append(figure)
    return figures

