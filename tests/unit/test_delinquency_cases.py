"""Buckets (DPD ranges) and the collection case's life: open, follow, cure."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fairdue.domain.cases import (
    Arrears,
    Case,
    CaseStatus,
    case_id_for,
    reconcile_case,
)
from fairdue.domain.delinquency import DEFAULT_BUCKETS, Bucket, BucketTable
from fairdue.domain.events import CaseBucketChanged, CaseCured, CaseOpened
from fairdue.domain.money import Money
from fairdue.errors import InvalidInput, InvalidTransition

DAY = date(2026, 3, 11)


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [(0, "M0"), (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"), (61, "M3"), (90, "M3"),
     (91, "M4"), (120, "M4"), (121, "M5"), (150, "M5"), (151, "M6"), (180, "M6"),
     (181, "M6+"), (5000, "M6+")],
)
def test_the_default_bucket_table_boundaries(dpd: int, bucket: str) -> None:
    assert DEFAULT_BUCKETS.bucket_for(dpd) == bucket


def test_the_default_table_is_m0_to_m6_plus_in_order() -> None:
    assert DEFAULT_BUCKETS.names == ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M6+")
    assert DEFAULT_BUCKETS.order("M2") < DEFAULT_BUCKETS.order("M6+")
    assert BucketTable.parse(DEFAULT_BUCKETS.describe()) == DEFAULT_BUCKETS


def test_a_negative_dpd_has_no_bucket() -> None:
    with pytest.raises(InvalidInput, match="negative"):
        DEFAULT_BUCKETS.bucket_for(-1)


def test_a_custom_table_parses_single_days_and_an_open_end() -> None:
    table = BucketTable.parse(" C:0 , S1:1-7, S2:8-30 ,X:31- ")
    assert table.buckets == (Bucket("C", 0, 0), Bucket("S1", 1, 7), Bucket("S2", 8, 30),
                             Bucket("X", 31, None))
    assert [table.bucket_for(d) for d in (0, 1, 7, 8, 30, 31)] == ["C", "S1", "S1", "S2", "S2", "X"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("M0:0,M1:2-30,M2:31-", "starts at DPD 2, expected 1"),  # gap
        ("M0:0,M1:0-30,M2:31-", "starts at DPD 0, expected 1"),  # overlap
        ("M0:0,M1:1-30,M2:25-", "starts at DPD 25, expected 31"),  # overlap
        ("M1:1-30,M2:31-", "starts at DPD 1, expected 0"),  # DPD 0 not covered
        ("M0:0,M1:1-30", "must be open-ended"),
        ("M0:0,M1:1-,M2:31-", "only the last bucket may be open-ended"),
        ("M0:0,M0:1-", "appears twice"),
        ("M0:0,M1:1-0,M2:1-", "ends before it starts"),
        ("M0:0,M1:a-30,M2:31-", "whole numbers"),
        ("M0:0,M1 1-30", "NAME:FROM-TO"),
        (":0,M1:1-", "NAME:FROM-TO"),
        ("", "at least one bucket"),
    ],
)
def test_a_bucket_table_with_a_gap_an_overlap_or_a_typo_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        BucketTable.parse(text)


def _arrears(dpd: int, amount: str = "100.00", loans: int = 1) -> Arrears:
    return Arrears(dpd, Money.of(amount), loans if dpd else 0)


def _open(dpd: int = 1, amount: str = "525.25") -> Case:
    return Case.open(borrower_id="B1", on=DAY, arrears=_arrears(dpd, amount), buckets=DEFAULT_BUCKETS)


def test_a_case_opens_with_the_dpd_bucket_and_amount_due_and_says_so() -> None:
    case = _open(dpd=1)
    assert case.case_id == case_id_for("B1", DAY) == "C-B1-20260311"
    assert (case.status, case.opened_on, case.closed_on) == (CaseStatus.OPEN, DAY, None)
    assert (case.dpd, case.bucket, case.amount_due, case.overdue_loans) == (
        1, "M1", Money.of("525.25"), 1)
    assert case.events == [CaseOpened("C-B1-20260311", "B1", DAY, 1, "M1", "525.25")]
    assert case.amount_due_text() == "525.25"


def test_a_case_cannot_open_when_nothing_is_overdue() -> None:
    with pytest.raises(InvalidTransition, match="nothing is overdue"):
        Case.open(borrower_id="B1", on=DAY, arrears=_arrears(0, "0"), buckets=DEFAULT_BUCKETS)


def test_an_update_in_the_same_bucket_records_no_event() -> None:
    case = _open(dpd=1)
    case.events.clear()
    case.update_arrears(on=DAY + timedelta(1), arrears=_arrears(2, "530.00", 2),
                        buckets=DEFAULT_BUCKETS)
    assert (case.dpd, case.bucket, case.amount_due, case.overdue_loans) == (
        2, "M1", Money.of("530.00"), 2)
    assert case.events == []


def test_a_move_to_another_bucket_is_recorded() -> None:
    case = _open(dpd=30)
    case.events.clear()
    later = DAY + timedelta(1)
    case.update_arrears(on=later, arrears=_arrears(31), buckets=DEFAULT_BUCKETS)
    assert case.bucket == "M2"
    assert case.events == [CaseBucketChanged(case.case_id, later, "M1", "M2", 31)]


def test_a_cure_closes_the_case_back_in_m0() -> None:
    case = _open(dpd=31)
    case.events.clear()
    later = DAY + timedelta(3)
    case.cure(on=later, reason="paid: P1", buckets=DEFAULT_BUCKETS)
    assert (case.status, case.closed_on, case.dpd, case.bucket) == (
        CaseStatus.CURED, later, 0, "M0")
    assert case.amount_due == Money.zero() and case.overdue_loans == 0
    assert case.events == [
        CaseBucketChanged(case.case_id, later, "M2", "M0", 0),
        CaseCured(case.case_id, "B1", later, "paid: P1"),
    ]


def test_a_cured_case_cannot_be_cured_again_or_updated() -> None:
    case = _open()
    case.cure(on=DAY, reason="paid", buckets=DEFAULT_BUCKETS)
    with pytest.raises(InvalidTransition, match="already cured"):
        case.cure(on=DAY, reason="paid", buckets=DEFAULT_BUCKETS)
    with pytest.raises(InvalidTransition, match="cannot change"):
        case.update_arrears(on=DAY, arrears=_arrears(3), buckets=DEFAULT_BUCKETS)


def test_an_open_case_cannot_be_updated_to_nothing_overdue() -> None:
    with pytest.raises(InvalidTransition, match="cure the case instead"):
        _open().update_arrears(on=DAY, arrears=_arrears(0, "0"), buckets=DEFAULT_BUCKETS)


def _reconcile(case: Case | None, dpd: int, *, on: date = DAY, grace: int = 0,
               amount: str = "100.00") -> Case | None:
    return reconcile_case(case, borrower_id="B1", on=on, arrears=_arrears(dpd, amount),
                          grace_days=grace, buckets=DEFAULT_BUCKETS, cure_reason="no loan overdue")


def test_reconcile_opens_follows_and_cures() -> None:
    assert _reconcile(None, 0) is None
    case = _reconcile(None, 1)
    assert case is not None and case.is_open
    assert [type(e) for e in case.events] == [CaseOpened]
    case.events.clear()

    again = _reconcile(case, 1)
    assert again is case and case.events == []  # same arrears twice: nothing happens

    _reconcile(case, 40, on=DAY + timedelta(39))
    assert [type(e) for e in case.events] == [CaseBucketChanged]
    case.events.clear()

    cured = _reconcile(case, 0, on=DAY + timedelta(40))
    assert cured is case and case.status is CaseStatus.CURED
    assert [type(e) for e in case.events] == [CaseBucketChanged, CaseCured]


def test_a_cured_case_stays_closed_and_new_arrears_open_a_new_case() -> None:
    first = _reconcile(None, 1)
    assert first is not None
    _reconcile(first, 0, on=DAY + timedelta(1))
    later = DAY + timedelta(31)
    second = _reconcile(first, 1, on=later)
    assert second is not None and second is not first
    assert second.case_id == "C-B1-20260411" and second.opened_on == later
    assert first.status is CaseStatus.CURED


def test_grace_days_delay_the_opening_of_a_case() -> None:
    assert _reconcile(None, 3, grace=3) is None
    case = _reconcile(None, 4, grace=3)
    assert case is not None and case.dpd == 4


def test_grace_days_do_not_cure_an_open_case_that_is_still_overdue() -> None:
    case = _reconcile(None, 5, grace=3)
    assert case is not None
    _reconcile(case, 2, grace=3)
    assert case.is_open and case.dpd == 2
