"""The portfolio generator: reproducible, realistic, and shaped exactly as `fairdue import` reads.

One 2,000-loan portfolio is generated per test module and read by most tests; the checks
recompute what matters (check digits, schedules, interest) independently of the generator.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from fairdue.errors import InvalidInput
from fairdue.portfolio import DEFAULT_AS_OF, FILES, GenerationSummary, generate_portfolio
from fairdue.portfolio.cities import (
    CHINA_BOUNDS,
    CITIES,
    CITY_BY_NAME,
    LAT_JITTER_MICRO,
    LON_JITTER_MICRO,
)
from fairdue.portfolio.loans import add_months, fen, penalty, schedule
from fairdue.portfolio.people import Permutation, id_check_digit, is_valid_id_number

SAMPLE_LOANS = 2_000
AMOUNT = re.compile(r"^\d+\.\d{2}$")
RATE = re.compile(r"^0\.\d{4}$")
COORD = re.compile(r"^\d{1,3}\.\d{6}$")
PHONE = re.compile(r"^1(3\d|5[0-35-9]|7[35-8]|8\d|9[13589])\d{8}$")

Rows = dict[str, list[dict[str, str]]]


def read(folder: Path) -> Rows:
    result = {}
    for name in FILES:
        with open(folder / name, encoding="utf-8", newline="") as handle:
            result[name] = list(csv.DictReader(handle))
    return result


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerationSummary, Rows]:
    folder = tmp_path_factory.mktemp("portfolio")
    summary = generate_portfolio(folder, loans=SAMPLE_LOANS, seed=20260630)
    return summary, read(folder)


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path: Path) -> None:
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        generate_portfolio(tmp_path / name, loans=300, seed=seed)
    for file in FILES:
        first = (tmp_path / "a" / file).read_bytes()
        assert first == (tmp_path / "b" / file).read_bytes(), file
        assert first != (tmp_path / "c" / file).read_bytes(), file
    assert not list((tmp_path / "a").glob(".*")), "temporary files left behind"


def test_headers_are_exactly_the_documented_columns(tmp_path: Path) -> None:
    generate_portfolio(tmp_path, loans=5, seed=1)
    expected = {
        "borrowers.csv": "borrower_id,name,id_number,phone,email,address,city,latitude,"
        "longitude,timezone,language,push_token,gender,birth_date,occupation,ethnicity",
        "loans.csv": "loan_id,borrower_id,product,currency,principal,annual_rate,disbursed_on,"
        "penalty_daily_rate",
        "installments.csv": "loan_id,seq,due_on,principal_due,interest_due,fee_due",
        "payments.csv": "payment_id,loan_id,paid_at,amount,channel",
    }
    for name, header in expected.items():
        data = (tmp_path / name).read_bytes()
        assert data.startswith(header.encode() + b"\n"), name
        assert b"\r" not in data, name


def test_summary_counts_match_the_files(sample: tuple[GenerationSummary, Rows]) -> None:
    summary, rows = sample
    assert summary.loans == SAMPLE_LOANS == len(rows["loans.csv"])
    assert summary.borrowers == len(rows["borrowers.csv"])
    assert summary.installments == len(rows["installments.csv"])
    assert summary.payments == len(rows["payments.csv"])
    assert sum(summary.behaviour_mix.values()) == summary.borrowers
    assert summary.as_of == DEFAULT_AS_OF


def test_ids_are_padded_unique_and_referenced(sample: tuple[GenerationSummary, Rows]) -> None:
    _, rows = sample
    borrower_ids = [r["borrower_id"] for r in rows["borrowers.csv"]]
    loan_ids = [r["loan_id"] for r in rows["loans.csv"]]
    payment_ids = [r["payment_id"] for r in rows["payments.csv"]]
    assert borrower_ids[0] == "B00000001" and loan_ids[0] == "L00000001"
    assert payment_ids[0] == "P0000000001"
    for ids in (borrower_ids, loan_ids, payment_ids):
        assert len(set(ids)) == len(ids)
    assert {r["borrower_id"] for r in rows["loans.csv"]} == set(borrower_ids)
    assert {r["loan_id"] for r in rows["installments.csv"]} == set(loan_ids)
    assert {r["loan_id"] for r in rows["payments.csv"]} <= set(loan_ids)
    per_borrower = Counter(r["borrower_id"] for r in rows["loans.csv"])
    assert set(per_borrower.values()) <= {1, 2, 3}
    assert sum(1 for n in per_borrower.values() if n > 1) > len(per_borrower) * 0.05


def test_id_numbers_have_valid_check_digits_and_match_birth_and_sex(
    sample: tuple[GenerationSummary, Rows],
) -> None:
    _, rows = sample
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    numbers = []
    for r in rows["borrowers.csv"]:
        number = r["id_number"]
        total = sum(int(c) * w for c, w in zip(number[:17], weights, strict=True))
        assert number[17] == "10X98765432"[total % 11], number
        assert is_valid_id_number(number)
        if r["birth_date"]:
            assert number[6:14] == r["birth_date"].replace("-", "")
        if r["gender"]:
            assert int(number[16]) % 2 == (1 if r["gender"] == "M" else 0)
        assert number[0] == ("9" if r["language"] == "en" else number[0])
        numbers.append(number)
    assert len(set(numbers)) == len(numbers)
    # GB 11643's published example.
    assert id_check_digit("11010519491231002") == "X"
    assert not is_valid_id_number("110105194912310021")


def test_phones_are_plain_eleven_digit_mainland_mobiles(
    sample: tuple[GenerationSummary, Rows],
) -> None:
    _, rows = sample
    phones = [r["phone"] for r in rows["borrowers.csv"]]
    assert all(PHONE.match(p) for p in phones), [p for p in phones if not PHONE.match(p)][:5]
    assert len(set(phones)) == len(phones)


def test_contact_and_attribute_shares_are_realistic(
    sample: tuple[GenerationSummary, Rows],
) -> None:
    _, rows = sample
    people = rows["borrowers.csv"]
    n = len(people)

    def share(test: object) -> float:
        return sum(1 for r in people if test(r)) / n  # type: ignore[operator]

    assert 0.55 < share(lambda r: r["email"]) < 0.65
    assert 0.65 < share(lambda r: r["push_token"]) < 0.75
    assert 0.02 < share(lambda r: r["language"] == "en") < 0.08
    assert share(lambda r: r["language"] not in {"zh-CN", "en"}) == 0
    assert share(lambda r: r["timezone"] not in {"Asia/Shanghai", "Asia/Urumqi"}) == 0
    stated = [r["ethnicity"] for r in people if r["ethnicity"]]
    assert 0.85 < stated.count("汉族") / len(stated) < 0.97
    for column in ("gender", "birth_date", "occupation", "ethnicity"):
        assert 0 < share(lambda r, c=column: r[c] == "") < 0.3, column
    for r in people:
        if r["language"] == "en":
            assert r["name"].isascii() and " " in r["name"]
        else:
            assert not r["name"].isascii()
        assert r["email"] == "" or re.match(r"^[a-z0-9.]+@[a-z0-9.]+\.com$", r["email"])
        assert r["gender"] in {"", "F", "M"}
        if r["birth_date"]:
            age_days = (DEFAULT_AS_OF - date.fromisoformat(r["birth_date"])).days
            assert 19 * 365 < age_days < 62 * 366
    emails = [r["email"] for r in people if r["email"]]
    assert len(set(emails)) == len(emails)


def test_coordinates_are_in_china_and_near_their_city(
    sample: tuple[GenerationSummary, Rows],
) -> None:
    _, rows = sample
    assert len(CITIES) >= 40
    cities_seen = set()
    for r in rows["borrowers.csv"]:
        assert COORD.match(r["latitude"]) and COORD.match(r["longitude"])
        lat, lon = Decimal(r["latitude"]), Decimal(r["longitude"])
        assert CHINA_BOUNDS["lat_min"] < lat < CHINA_BOUNDS["lat_max"]
        assert CHINA_BOUNDS["lon_min"] < lon < CHINA_BOUNDS["lon_max"]
        city = CITY_BY_NAME[r["city"]]
        assert abs(lat * 1_000_000 - city.lat_micro) <= LAT_JITTER_MICRO
        assert abs(lon * 1_000_000 - city.lon_micro) <= LON_JITTER_MICRO
        assert city.name in r["address"]
        assert r["timezone"] == "Asia/Shanghai" or city.timezone == "Asia/Urumqi"
        cities_seen.add(city.name)
    assert len(cities_seen) >= 30
    by_city = Counter(r["city"] for r in rows["borrowers.csv"])
    assert by_city["上海市"] > by_city["拉萨市"]


def test_loans_have_documented_terms_rates_and_amounts(
    sample: tuple[GenerationSummary, Rows],
) -> None:
    _, rows = sample
    for loan in rows["loans.csv"]:
        principal = Decimal(loan["principal"])
        assert AMOUNT.match(loan["principal"]) and Decimal(500) <= principal <= Decimal(50_000)
        assert principal == principal.to_integral_value()
        assert RATE.match(loan["annual_rate"])
        assert Decimal("0.072") <= Decimal(loan["annual_rate"]) <= Decimal("0.24")
        assert loan["currency"] == "CNY" and loan["penalty_daily_rate"] == "0.0005"
        assert re.match(r"^(cash_loan|consumer_loan)_(3|6|9|12)m$", loan["product"])
        disbursed = date.fromisoformat(loan["disbursed_on"])
        assert DEFAULT_AS_OF - timedelta(days=366) < disbursed < DEFAULT_AS_OF
    amounts = sorted(Decimal(r["principal"]) for r in rows["loans.csv"])
    assert amounts[len(amounts) // 2] < Decimal(10_000), "skewed to small loans"


def test_installments_split_principal_exactly_and_charge_monthly_interest(
    sample: tuple[GenerationSummary, Rows],
) -> None:
    _, rows = sample
    plans = defaultdict(list)
    for inst in rows["installments.csv"]:
        for column in ("principal_due", "interest_due", "fee_due"):
            assert AMOUNT.match(inst[column]), inst
        plans[inst["loan_id"]].append(inst)
    for loan in rows["loans.csv"]:
        plan = plans[loan["loan_id"]]
        term = int(loan["product"].rsplit("_", 1)[1][:-1])
        assert len(plan) == term and term in {3, 6, 9, 12}
        assert [int(i["seq"]) for i in plan] == list(range(1, term + 1))
        assert sum(Decimal(i["principal_due"]) for i in plan) == Decimal(loan["principal"])
        outstanding = Decimal(loan["principal"])
        rate = Decimal(loan["annual_rate"])
        disbursed = date.fromisoformat(loan["disbursed_on"])
        for k, inst in enumerate(plan, start=1):
            expected = (outstanding * rate / 12).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert Decimal(inst["interest_due"]) == expected, (loan, inst)
            assert date.fromisoformat(inst["due_on"]) == add_months(disbursed, k)
            outstanding -= Decimal(inst["principal_due"])
        parts = {Decimal(i["principal_due"]) for i in plan}
        assert max(parts) - min(parts) <= Decimal("0.01")


def test_payments_stop_at_as_of_and_are_well_formed(
    sample: tuple[GenerationSummary, Rows],
) -> None:
    _, rows = sample
    due_on = {(i["loan_id"], i["seq"]): i["due_on"] for i in rows["installments.csv"]}
    first_due = {loan: d for (loan, seq), d in due_on.items() if seq == "1"}
    channels = Counter()
    for pay in rows["payments.csv"]:
        assert AMOUNT.match(pay["amount"]) and Decimal(pay["amount"]) > 0
        assert pay["paid_at"].endswith("+08:00")
        paid = datetime.fromisoformat(pay["paid_at"])
        assert paid.date() <= DEFAULT_AS_OF
        # Nothing is paid more than a few days before the first installment is due.
        assert paid.date() >= date.fromisoformat(first_due[pay["loan_id"]]) - timedelta(days=5)
        channels[pay["channel"]] += 1
    assert set(channels) == {"app", "bank_transfer", "alipay", "wechat_pay", "auto_debit"}


def _arrears(rows: Rows) -> dict[str, Decimal]:
    """Per borrower: what fell due by as_of minus what was paid, floored at zero per loan."""
    due: dict[str, Decimal] = defaultdict(Decimal)
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for inst in rows["installments.csv"]:
        if date.fromisoformat(inst["due_on"]) <= DEFAULT_AS_OF:
            due[inst["loan_id"]] += sum(
                Decimal(inst[c]) for c in ("principal_due", "interest_due", "fee_due")
            )
    for pay in rows["payments.csv"]:
        paid[pay["loan_id"]] += Decimal(pay["amount"])
    result: dict[str, Decimal] = defaultdict(Decimal)
    for loan in rows["loans.csv"]:
        short = due[loan["loan_id"]] - paid[loan["loan_id"]]
        result[loan["borrower_id"]] += max(short, Decimal(0))
    return result


def test_behaviour_mix_most_pay_some_fall_behind(
    sample: tuple[GenerationSummary, Rows],
) -> None:
    summary, rows = sample
    mix = summary.behaviour_mix
    good = (mix["on_time"] + mix["overpay"]) / summary.borrowers
    assert 0.91 < good < 0.97
    for behaviour in ("late_days", "late_long", "partial", "stopped"):
        assert mix[behaviour] > 0, behaviour
    arrears = _arrears(rows)
    behind = sum(1 for v in arrears.values() if v > 0) / summary.borrowers
    assert 0.01 < behind < 0.08
    # Someone overpaid: a payment above the installment it was made for.
    totals = {
        (i["loan_id"], i["due_on"]): sum(
            Decimal(i[c]) for c in ("principal_due", "interest_due", "fee_due")
        )
        for i in rows["installments.csv"]
    }
    assert any(
        Decimal(p["amount"]) > totals.get((p["loan_id"], p["paid_at"][:10]), Decimal(10**9))
        for p in rows["payments.csv"]
    )


def test_no_float_artefacts_anywhere(sample: tuple[GenerationSummary, Rows]) -> None:
    _, rows = sample
    for name, table in rows.items():
        for r in table:
            for column, value in r.items():
                if column in {"name", "address", "email", "push_token", "id_number"}:
                    continue
                assert not re.search(r"\d[eE][-+]?\d", value), (name, column, value)
                assert "nan" not in value.lower() and "inf" not in value.lower()


def test_schedule_helpers() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 1, 31), 2) == date(2025, 3, 31)
    assert add_months(date(2025, 8, 31), 4) == date(2025, 12, 31)
    assert add_months(date(2025, 12, 15), 1) == date(2026, 1, 15)
    rows = schedule(1_000_000, 3, 1800, 200)
    assert [p for p, _, _ in rows] == [333_334, 333_333, 333_333]
    assert [i for _, i, _ in rows] == [15_000, 10_000, 5_000]
    assert penalty(10_000, 3) == 15  # 100.00 yuan * 0.0005 * 3 days = 0.15
    assert penalty(1_001, 1) == 1  # 0.5005 fen rounds half-up to 1 fen
    assert fen(5) == "0.05" and fen(123_456) == "1234.56" and fen(10**9) == "10000000.00"


def test_permutation_is_a_bijection_on_a_window() -> None:
    import random

    perm = Permutation(random.Random(3))
    values = [perm(i) for i in range(20_000)]
    assert len(set(values)) == len(values)
    assert all(0 <= v < 10**8 for v in values)


def test_progress_is_reported_now_and_then(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    generate_portfolio(tmp_path, loans=500, seed=2, progress=lambda *a: calls.append(a))
    assert calls[-1] == ("loans", 500, 500)
    assert ("names", 1, 1) in calls and ("loans", 0, 500) in calls
    assert len(calls) < 200


@pytest.mark.parametrize("loans", [0, -1, 100_000_000, True, 1.5])
def test_bad_loan_counts_are_refused(tmp_path: Path, loans: object) -> None:
    with pytest.raises(InvalidInput):
        generate_portfolio(tmp_path, loans=loans, seed=1)  # type: ignore[arg-type]


def test_as_of_moves_the_whole_book(tmp_path: Path) -> None:
    as_of = date(2025, 3, 31)
    summary = generate_portfolio(tmp_path, loans=200, seed=5, as_of=as_of)
    rows = read(tmp_path)
    assert summary.as_of == as_of
    assert all(date.fromisoformat(r["disbursed_on"]) < as_of for r in rows["loans.csv"])
    assert all(r["paid_at"][:10] <= as_of.isoformat() for r in rows["payments.csv"])
