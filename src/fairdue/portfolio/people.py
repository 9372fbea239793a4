"""Synthetic borrowers: names, id numbers, phones, emails, addresses and fairness attributes.

Everything is drawn from one seeded `random.Random`, and Faker is called only to fill small
name pools up front: Faker costs tens of microseconds a call, which would dominate a
million-loan run, while sampling a pool costs well under one. Identifiers that must not
repeat (phone numbers, email addresses) come from a keyed permutation of the borrower
number rather than from a "seen" set, so memory stays flat however many borrowers there are.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import accumulate
from operator import mul
from typing import TypeVar

from faker import Faker

from fairdue.portfolio.cities import (
    CITIES,
    LAT_JITTER_MICRO,
    LON_JITTER_MICRO,
    City,
    micro_degrees,
)

_T = TypeVar("_T")

ENGLISH_SHARE = 0.05
EMAIL_SHARE = 0.60
APP_SHARE = 0.70

# GB 11643-1999: weights of the first 17 digits and the check character for sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Mainland mobile prefixes in use by China Mobile, Unicom, Telecom and Broadnet.
PHONE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "173", "175", "176", "177", "178",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
    "191", "193", "195", "198", "199",
)

OCCUPATIONS = (
    "公司职员", "个体经营", "工厂工人", "外卖骑手", "快递员", "网约车司机", "销售",
    "服务员", "厨师", "教师", "护士", "建筑工人", "自由职业", "农民", "学生",
)

# Nationality codes (ISO 3166 numeric) used in the 2023 foreigner permanent-residence id.
_FOREIGN_NATIONALITIES = ("840", "826", "124", "036", "554", "372")

_ROAD_NAMES = (
    "中山", "人民", "解放", "建设", "和平", "新华", "胜利", "文化", "朝阳", "长江", "黄河",
    "东风", "南京", "北京", "青年", "光明", "幸福", "学府", "科技", "工业", "滨江", "迎宾",
    "友谊", "红旗", "团结", "五一", "振兴", "健康", "花园", "金融", "世纪", "民主",
)
_ROAD_PREFIXES = ("", "", "", "东", "西", "南", "北")
_ROAD_SUFFIXES = ("路", "路", "路", "大道", "街")
_ESTATE_WORDS = (
    "阳光", "金色", "碧水", "翠苑", "锦绣", "绿地", "万科", "保利", "和谐", "东方", "金地",
    "华府", "滨江", "书香", "凤凰", "紫荆", "桃源", "明珠",
)
_ESTATE_SUFFIXES = ("花园", "小区", "家园", "新村", "公寓", "名苑", "嘉园", "城")
_ZH_MAIL_DOMAINS = ("163.com", "126.com", "sina.com", "foxmail.com", "139.com", "aliyun.com")
_EN_MAIL_DOMAINS = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com")

# Age at the as-of date in integer buckets (lo, hi inclusive, weight): micro-loan
# borrowers are mostly in their twenties and thirties.
_AGE_BUCKETS = ((20, 24, 16), (25, 29, 24), (30, 34, 22), (35, 39, 16), (40, 49, 15),
                (50, 60, 7))


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character ('0'-'9' or 'X') for the first 17 digits of an id."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"an id number starts with 17 digits, not {first17!r}")
    return _ID_CHECK[sum(map(mul, map(int, first17), _ID_WEIGHTS)) % 11]


def is_valid_id_number(value: str) -> bool:
    """Whether an 18-character id number has 17 digits and the right check character."""
    return (
        len(value) == 18
        and value[:17].isdigit()
        and value[17] in "0123456789X"
        and id_check_digit(value[:17]) == value[17]
    )


class Permutation:
    """A keyed bijection on 0..10**8-1 (a four-round Feistel network on two 4-digit halves).

    Borrower number i maps to a distinct 8-digit value, which gives unique phone subscriber
    numbers and email suffixes without remembering the ones handed out, and without the
    visible stride a linear formula would leave in consecutive borrowers' numbers.
    """

    _HALF = 10_000

    def __init__(self, rng: random.Random) -> None:
        self._keys = tuple(rng.getrandbits(32) for _ in range(4))

    def __call__(self, value: int) -> int:
        left, right = divmod(value, self._HALF)
        for key in self._keys:
            mixed = ((right + 1) * 0x9E3779B1 ^ key) & 0xFFFFFFFF
            mixed = ((mixed ^ (mixed >> 15)) * 0x85EBCA77) & 0xFFFFFFFF
            left, right = right, (left + (mixed >> 7)) % self._HALF
        return left * self._HALF + right


@dataclass(frozen=True, slots=True)
class NamePools:
    """Faker-made names, drawn once per run and then sampled, split by language and sex."""

    zh_male: tuple[str, ...]
    zh_female: tuple[str, ...]
    en_male: tuple[tuple[str, str], ...]
    en_female: tuple[tuple[str, str], ...]
    pinyin: tuple[str, ...]

    @classmethod
    def build(cls, seed: int, size: int = 2000) -> NamePools:
        """Fill the pools from Faker seeded with `seed`, so the same seed gives the same names.

        Pools are immutable, so a few are kept: repeated runs (tests, benchmarks) then skip
        the Faker calls, which cost more than generating a few thousand loans.
        """
        return _cached_pools(seed, size)

    @classmethod
    def _fill(cls, seed: int, size: int) -> NamePools:
        zh = Faker("zh_CN")
        zh.seed_instance(seed)
        en = Faker("en_US")
        en.seed_instance(seed)
        small = max(50, size // 8)
        return cls(
            zh_male=tuple(zh.name_male() for _ in range(size)),
            zh_female=tuple(zh.name_female() for _ in range(size)),
            en_male=tuple((en.first_name_male(), en.last_name()) for _ in range(small)),
            en_female=tuple((en.first_name_female(), en.last_name()) for _ in range(small)),
            pinyin=tuple(
                (zh.last_romanized_name() + zh.first_romanized_name()).lower()
                for _ in range(small)
            ),
        )


@lru_cache(maxsize=4)
def _cached_pools(seed: int, size: int) -> NamePools:
    return NamePools._fill(seed, size)


class BorrowerFactory:
    """Makes one borrower row at a time; all randomness comes from the shared `rng`."""

    def __init__(self, rng: random.Random, pools: NamePools, as_of: date) -> None:
        self._rng = rng
        self._rand = rng.random
        self._pools = pools
        self._as_of_ordinal = as_of.toordinal()
        self._city_cum = list(accumulate(c.population for c in CITIES))
        self._age_cum = list(accumulate(w for _, _, w in _AGE_BUCKETS))
        self._phone_perm = Permutation(rng)
        self._mail_perm = Permutation(rng)
        self._ids_seen: set[int] = set()
        self._eth_cum = {c.name: list(accumulate(w for _, w in c.ethnicities)) for c in CITIES}

    def _pick(self, options: Sequence[_T]) -> _T:
        """A uniform choice; `random()` scaled is several times cheaper than `rng.choice`."""
        return options[int(self._rand() * len(options))]

    def _between(self, lo: int, hi: int) -> int:
        """A whole number from lo to hi inclusive."""
        return lo + int(self._rand() * (hi - lo + 1))

    def _city(self) -> City:
        return CITIES[bisect(self._city_cum, self._rand() * self._city_cum[-1])]

    def _birth_date(self) -> date:
        lo, hi, _ = _AGE_BUCKETS[bisect(self._age_cum, self._rand() * self._age_cum[-1])]
        age = self._between(lo, hi)
        # An age in whole years plus up to a year, counted back from the as-of date.
        days = age * 365 + age // 4 + int(self._rand() * 365)
        return date.fromordinal(self._as_of_ordinal - days)

    def _id_number(self, city: City, district_code: str, birth: date, male: bool,
                   foreign: bool) -> str:
        """An 18-digit id with a valid check digit, unique within the run.

        Residents: area code (mostly where they live, some registered elsewhere),
        birth date, a 3-digit sequence whose parity is the sex, check digit. Foreigners
        with an English name get the 2023 permanent-residence format: '9', province,
        nationality, birth date, sequence, check digit.
        """
        if foreign:
            area = "9" + city.districts[0].code[:2] + self._pick(_FOREIGN_NATIONALITIES)
        elif self._rand() < 0.25:
            other = self._city()
            area = self._pick(other.districts).code
        else:
            area = district_code
        head = area + f"{birth.year:04d}{birth.month:02d}{birth.day:02d}"
        parity = 1 if male else 0
        while True:
            first17 = head + f"{int(self._rand() * 500) * 2 + parity:03d}"
            key = int(first17)
            if key not in self._ids_seen:
                self._ids_seen.add(key)
                return first17 + id_check_digit(first17)

    def _address(self, city: City, district: str) -> str:
        pick = self._pick
        name = pick(_ROAD_NAMES)
        # No "东东风路": a direction is only put before names that do not start with one.
        prefix = "" if name[0] in "东西南北" else pick(_ROAD_PREFIXES)
        road = prefix + name + pick(_ROAD_SUFFIXES)
        street = f"{road}{self._between(1, 999)}号"
        if self._rand() < 0.8:
            estate = self._pick(_ESTATE_WORDS) + self._pick(_ESTATE_SUFFIXES)
            floor = self._between(1, 32)
            street += (f"{estate}{self._between(1, 30)}栋{self._between(1, 4)}单元"
                       f"{floor}{self._between(1, 6):02d}室")
        return f"{city.province}{city.prefecture}{city.name}{district}{street}"

    def _email(self, number: int, english: bool, name: str) -> str:
        suffix = self._mail_perm(number)
        if english:
            return f"{name}{suffix}@{self._pick(_EN_MAIL_DOMAINS)}"
        if self._rand() < 0.55:
            # QQ numbers: 9 digits, unique because the permuted part is.
            return f"{self._between(1, 9)}{suffix:08d}@qq.com"
        return f"{self._pick(self._pools.pinyin)}{suffix}@{self._pick(_ZH_MAIL_DOMAINS)}"

    def _push_token(self) -> str:
        rng = self._rng
        if self._rand() < 0.35:
            return f"{rng.getrandbits(256):064x}"  # APNs device token
        return f"{rng.getrandbits(76):019x}"  # vendor push registration id (Android)

    def _ethnicity(self, city: City) -> str:
        cum = self._eth_cum[city.name]
        return city.ethnicities[bisect(cum, self._rand() * cum[-1])][0]

    def row(self, number: int) -> list[str]:
        """The borrowers.csv row for borrower `number` (1-based), in column order."""
        pools = self._pools
        english = self._rand() < ENGLISH_SHARE
        male = self._rand() < 0.55
        if english:
            first, last = self._pick(pools.en_male if male else pools.en_female)
            name = f"{first} {last}"
            mail_name = f"{first}.{last}".lower()
        else:
            name = self._pick(pools.zh_male if male else pools.zh_female)
            mail_name = ""
        city = self._city()
        district = self._pick(city.districts)
        birth = self._birth_date()
        id_number = self._id_number(city, district.code, birth, male, english)
        phone = self._pick(PHONE_PREFIXES) + f"{self._phone_perm(number):08d}"
        email = self._email(number, english, mail_name) if self._rand() < EMAIL_SHARE else ""
        # Triangular jitter: most addresses near the centre, none outside the jitter box.
        lat = city.lat_micro + int((self._rand() + self._rand() - 1.0) * LAT_JITTER_MICRO)
        lon = city.lon_micro + int((self._rand() + self._rand() - 1.0) * LON_JITTER_MICRO)
        # Many Xinjiang residents keep Beijing time, so the local zone is a choice there.
        timezone = city.timezone if self._rand() < 0.6 else "Asia/Shanghai"
        push = self._push_token() if self._rand() < APP_SHARE else ""
        gender = ("M" if male else "F") if self._rand() < 0.92 else ""
        birth_text = birth.isoformat() if self._rand() < 0.90 else ""
        occupation = self._pick(OCCUPATIONS) if self._rand() < 0.80 else ""
        ethnicity = self._ethnicity(city) if not english and self._rand() < 0.85 else ""
        return [
            f"B{number:08d}", name, id_number, phone, email,
            self._address(city, district.name), city.name,
            micro_degrees(lat), micro_degrees(lon), timezone,
            "en" if english else "zh-CN", push, gender, birth_text, occupation, ethnicity,
        ]
