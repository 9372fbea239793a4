"""The fairness statistics on worked examples with known answers."""

from __future__ import annotations

import math
from datetime import date

import pytest

from fairdue.domain.fairness import (
    FairnessThreshold,
    MeanStratum,
    Table2x2,
    age_band,
    chi2_1df_p,
    cmh_test,
    judge,
    stratified_mean_difference,
    wilson_interval,
)

# R's `mantelhaen.test(Rabbits)` (penicillin and rabbits, five penicillin levels): cured
# with immediate injection (a of n1) against cured with a 1.5 h delay (c of n0).
RABBITS = [Table2x2(0, 6, 0, 5), Table2x2(3, 6, 0, 6), Table2x2(6, 6, 2, 6), Table2x2(5, 6, 6, 6),
           Table2x2(2, 2, 5, 5)]


def test_cmh_matches_the_published_rabbits_example() -> None:
    result = cmh_test(RABBITS)
    # Published: Mantel-Haenszel X-squared = 3.9286, df = 1, p-value = 0.04747.
    assert result.statistic == pytest.approx(3.9286, abs=1e-4)
    assert result.p_value == pytest.approx(0.04747, abs=1e-5)
    # Odds ratio by hand: sum(a*d/n) = 18/12 + 24/12 = 3.5; sum(b*c/n) = 6/12 = 0.5.
    assert result.odds_ratio == pytest.approx(7.0)
    # The first and last levels have one outcome only: no information, zero variance.
    assert result.informative_strata == 3


def test_cmh_without_continuity_correction_by_hand() -> None:
    # One stratum: 30 of 50 vs 20 of 50. E[a] = 50*50/100 = 25,
    # Var = 50*50*50*50 / (100^2 * 99) = 6.3131; (30-25)^2 / 6.3131 = 3.96.
    result = cmh_test([Table2x2(30, 50, 20, 50)], correct=False)
    assert result.statistic == pytest.approx(25 / (50**4 / (100**2 * 99)))
    assert result.risk_ratio == pytest.approx(1.5)
    assert result.p_value == pytest.approx(chi2_1df_p(result.statistic))


def test_identical_groups_give_no_evidence() -> None:
    result = cmh_test([Table2x2(10, 40, 10, 40), Table2x2(5, 20, 15, 60)])
    assert result.statistic == 0
    assert result.p_value == 1.0
    assert result.risk_ratio == pytest.approx(1.0)


def test_chi2_one_df_tail_is_the_normal_tail_squared() -> None:
    assert chi2_1df_p(1.959963984540054 ** 2) == pytest.approx(0.05)
    assert chi2_1df_p(0) == 1.0


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    low, high = wilson_interval(0, 10)
    assert low == 0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_stratified_mean_difference_by_hand() -> None:
    # Stratum 1: group 2 cases with 4 and 6 contacts (mean 5), rest 2 cases with 2 and 4 (mean 3).
    # Stratum 2: group 1 case with 10, rest 3 cases with 8, 10, 12 (mean 10).
    s1 = MeanStratum(2, 10, 16 + 36, 2, 6, 4 + 16)
    s2 = MeanStratum(1, 10, 100, 3, 30, 64 + 100 + 144)
    result = stratified_mean_difference([s1, s2])
    w1, w2 = 2 * 2 / 4, 1 * 3 / 4
    assert result.difference == pytest.approx((w1 * 2 + w2 * 0) / (w1 + w2))
    assert result.rest_mean == pytest.approx((w1 * 3 + w2 * 10) / (w1 + w2))
    # Pooled variances: s1 (2 + 2) / (4 - 2) = 2; s2 (0 + 8) / (4 - 2) = 4: the single case
    # of the group in s2 shares the rest's spread instead of counting as none.
    se = math.sqrt(w1**2 * 2 * (1 / 2 + 1 / 2) + w2**2 * 4 * (1 / 1 + 1 / 3)) / (w1 + w2)
    assert result.z == pytest.approx(result.difference / se)
    assert result.p_value == pytest.approx(math.erfc(abs(result.z) / math.sqrt(2)))


def test_strata_too_small_to_compare_are_skipped() -> None:
    one_each = MeanStratum(1, 50, 2500, 1, 0, 0)
    assert stratified_mean_difference([one_each]).p_value == 1.0
    nobody_else = MeanStratum(5, 10, 30, 0, 0, 0)
    assert stratified_mean_difference([nobody_else]).difference == 0


def test_age_band_on_birthdays() -> None:
    on = date(2026, 6, 30)
    assert age_band(date(2001, 6, 30), on) == "25-34"
    assert age_band(date(2001, 7, 1), on) == "18-24"
    assert age_band(date(1950, 1, 1), on) == "65+"
    assert age_band(None, on) == "unknown"


def test_verdicts() -> None:
    threshold = FairnessThreshold(relative=0.2, alpha=0.01, min_cases=30)
    flagged = judge(attribute="gender", group="F", measure="contacts per case",
                    relative_difference=0.35, p_value=0.001, cases=200, threshold=threshold)
    assert flagged.flagged and "35% more contacts per case" in flagged.text
    small = judge(attribute="gender", group="F", measure="cure", relative_difference=-0.5,
                  p_value=0.0001, cases=10, threshold=threshold)
    assert not small.flagged and "too few cases" in small.text
    chance = judge(attribute="gender", group="F", measure="cure", relative_difference=0.5,
                   p_value=0.2, cases=100, threshold=threshold)
    assert not chance.flagged and "no evidence" in chance.text
    immaterial = judge(attribute="gender", group="F", measure="cure", relative_difference=0.05,
                       p_value=0.001, cases=5000, threshold=threshold)
    assert not immaterial.flagged and "below the threshold" in immaterial.text
