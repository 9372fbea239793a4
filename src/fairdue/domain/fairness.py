"""Fairness statistics (S18): is a group treated differently from borrowers at equal risk?

Raw rates mislead: if older borrowers happen to owe more, they get more calls for that
reason alone. So every comparison here is *stratified*: borrowers are first put in strata
of equal risk facts (DPD bucket x amount band), one group is compared with everyone else
inside each stratum, and the strata are pooled with Mantel-Haenszel weights.

- A yes/no measure (cured, visited, waived, plan offered) is a 2 x 2 table per stratum;
  the Cochran-Mantel-Haenszel test (1 degree of freedom, with the usual continuity
  correction) says whether the group's odds differ from the rest's at equal risk, and the
  Mantel-Haenszel risk ratio says by how much.
- A count (contacts per case) is compared by a stratified difference of means, the strata
  weighted by n1*n0/(n1+n0) (the same weighting), with a z test.

Pure: sums in, numbers and a verdict out; the SQL that makes the sums lives in
services/reports/fairness.py. p-values use only `math` (the chi-square with one degree of
freedom is the square of a standard normal, so p = erfc(sqrt(x/2))).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

#: The age bands a birth date is read as; the last one is open-ended.
AGE_BANDS: tuple[tuple[int, int | None], ...] = ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64),
                                                  (65, None))


def age_band(birth: date | None, on: date) -> str:
    """The age band of someone born on `birth`, on the date `on` ("unknown" without a date)."""
    if birth is None:
        return "unknown"
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    for low, high in AGE_BANDS:
        if high is None and years >= low:
            return f"{low}+"
        if high is not None and low <= years <= high:
            return f"{low}-{high}"
    return f"under {AGE_BANDS[0][0]}"


@dataclass(frozen=True, slots=True)
class Table2x2:
    """One stratum: `a` of `n1` in the group had the event, `c` of `n0` in the rest did."""

    a: int
    n1: int
    c: int
    n0: int

    @property
    def b(self) -> int:
        return self.n1 - self.a

    @property
    def d(self) -> int:
        return self.n0 - self.c

    @property
    def total(self) -> int:
        return self.n1 + self.n0


@dataclass(frozen=True, slots=True)
class CMHResult:
    statistic: float          # the CMH chi-square, 1 df, continuity-corrected
    p_value: float
    odds_ratio: float | None  # Mantel-Haenszel common odds ratio (None: undefined)
    risk_ratio: float | None  # Mantel-Haenszel risk ratio, group over rest
    informative_strata: int   # strata with both groups and both outcomes present


def chi2_1df_p(statistic: float) -> float:
    """Upper tail of the chi-square with one degree of freedom."""
    if statistic <= 0:
        return 1.0
    return math.erfc(math.sqrt(statistic / 2.0))


def normal_two_sided_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


def cmh_test(strata: Iterable[Table2x2], *, correct: bool = True) -> CMHResult:
    """Cochran-Mantel-Haenszel test of no association in any stratum, with the common odds
    ratio and risk ratio. Strata with one group or one outcome carry no information and are
    skipped (their variance is zero), as the textbook statistic does."""
    sum_a = sum_e = sum_v = 0.0
    or_num = or_den = rr_num = rr_den = 0.0
    informative = 0
    for t in strata:
        n = t.total
        if n < 2 or t.n1 == 0 or t.n0 == 0:
            continue
        m1 = t.a + t.c
        m0 = n - m1
        sum_a += t.a
        sum_e += t.n1 * m1 / n
        variance = t.n1 * t.n0 * m1 * m0 / (n * n * (n - 1))
        sum_v += variance
        if variance > 0:
            informative += 1
        or_num += t.a * t.d / n
        or_den += t.b * t.c / n
        rr_num += t.a * t.n0 / n
        rr_den += t.c * t.n1 / n
    if sum_v == 0:
        statistic = 0.0
    else:
        deviation = abs(sum_a - sum_e)
        if correct:
            deviation = max(0.0, deviation - 0.5)
        statistic = deviation * deviation / sum_v
    return CMHResult(
        statistic=statistic,
        p_value=chi2_1df_p(statistic),
        odds_ratio=or_num / or_den if or_den > 0 else None,
        risk_ratio=rr_num / rr_den if rr_den > 0 else None,
        informative_strata=informative,
    )


@dataclass(frozen=True, slots=True)
class MeanStratum:
    """One stratum of a count: the group's n, sum and sum of squares, and the rest's."""

    n1: int
    sum1: float
    sumsq1: float
    n0: int
    sum0: float
    sumsq0: float


@dataclass(frozen=True, slots=True)
class MeanDiffResult:
    difference: float     # stratified group mean minus rest mean
    rest_mean: float      # the rest's mean, weighted the same way
    z: float
    p_value: float


def _squares(n: int, total: float, squares: float) -> float:
    """Sum of squared deviations from the mean."""
    return max(0.0, squares - total * total / n) if n else 0.0


def stratified_mean_difference(strata: Iterable[MeanStratum]) -> MeanDiffResult:
    """Weighted difference of the group's and the rest's means within strata, weights
    w = n1*n0/(n1+n0). Each stratum's variance is pooled over both sides,
    s^2 = (SS1 + SS0) / (n1 + n0 - 2), so a stratum with a single case of the group still
    carries its share of the noise (its own variance alone would read as zero); the
    difference's variance is sum(w^2 s^2 (1/n1 + 1/n0)) / (sum w)^2. Strata with fewer than
    three cases, or one side empty, say nothing about a difference and are skipped."""
    weight_sum = diff_sum = rest_sum = var_sum = 0.0
    for s in strata:
        if s.n1 == 0 or s.n0 == 0 or s.n1 + s.n0 < 3:
            continue
        w = s.n1 * s.n0 / (s.n1 + s.n0)
        mean1, mean0 = s.sum1 / s.n1, s.sum0 / s.n0
        pooled = (_squares(s.n1, s.sum1, s.sumsq1) + _squares(s.n0, s.sum0, s.sumsq0)) / (
            s.n1 + s.n0 - 2)
        weight_sum += w
        diff_sum += w * (mean1 - mean0)
        rest_sum += w * mean0
        var_sum += w * w * pooled * (1 / s.n1 + 1 / s.n0)
    if weight_sum == 0:
        return MeanDiffResult(0.0, 0.0, 0.0, 1.0)
    difference = diff_sum / weight_sum
    se = math.sqrt(var_sum) / weight_sum
    flat = 0.0 if difference == 0 else math.copysign(math.inf, difference)  # no spread at all
    z = flat if se == 0 else difference / se
    return MeanDiffResult(difference, rest_sum / weight_sum, z, normal_two_sided_p(z))


@dataclass(frozen=True, slots=True)
class FairnessThreshold:
    """A disparity is flagged when it is both material and unlikely to be chance: the
    relative difference at equal risk is at least `relative` (0.2: 20 %) and the test's
    p-value is below `alpha`. Groups with fewer than `min_cases` cases are not judged."""

    relative: float = 0.2
    alpha: float = 0.01
    min_cases: int = 30


@dataclass(frozen=True, slots=True)
class Verdict:
    flagged: bool
    relative_difference: float | None
    p_value: float
    text: str


def judge(*, attribute: str, group: str, measure: str, relative_difference: float | None,
          p_value: float, cases: int, threshold: FairnessThreshold) -> Verdict:
    """The plain-language verdict a compliance officer reads, and whether it is flagged."""
    who = f"{attribute} = {group}"
    if cases < threshold.min_cases:
        return Verdict(False, relative_difference, p_value,
                       f"{who}: too few cases ({cases}) to judge {measure}.")
    if relative_difference is None:
        return Verdict(False, None, p_value,
                       f"{who}: {measure} cannot be compared at equal risk (no comparable cases).")
    pct = f"{abs(relative_difference) * 100:.0f}%"
    direction = "more" if relative_difference > 0 else "less"
    material = abs(relative_difference) >= threshold.relative
    significant = p_value < threshold.alpha
    if material and significant:
        return Verdict(True, relative_difference, p_value,
                       f"{who}: {pct} {direction} {measure} than others at the same bucket and "
                       f"amount (p = {p_value:.3g}): a disparity above the threshold; review it.")
    if significant:
        return Verdict(False, relative_difference, p_value,
                       f"{who}: {measure} differs by {pct} at equal risk (p = {p_value:.3g}), "
                       "below the threshold for concern.")
    return Verdict(False, relative_difference, p_value,
                   f"{who}: no evidence of a difference in {measure} at equal risk "
                   f"({pct} {direction}, p = {p_value:.3g}).")


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95 % by default); (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate(numerator: int | float, denominator: int | float) -> float | None:
    """A share, None when there is nothing to divide by (shown as a dash, never as 0)."""
    return None if not denominator else numerator / denominator

