"""Real Chinese cities for synthetic borrower addresses.

Collection rules differ by place (local holidays, time zone, dialect), so test data must sit
in real cities with real coordinates, weighted by population so that the busy queues look
like a real lender's. Coordinates are held as integer micro-degrees so that no float
rounding can make two runs differ; administrative codes are the GB/T 2260 district codes
that also open the resident id numbers of people registered there.
"""

from __future__ import annotations

from dataclasses import dataclass

# (ethnicity, weight) mixes; weights are small integers so that draws need no float maths.
EthnicityMix = tuple[tuple[str, int], ...]

DEFAULT_ETHNICITIES: EthnicityMix = (
    ("汉族", 970), ("回族", 9), ("满族", 8), ("土家族", 5), ("苗族", 4), ("壮族", 4),
)


@dataclass(frozen=True, slots=True)
class District:
    """A city district and its six-digit administrative division code."""

    name: str
    code: str


@dataclass(frozen=True, slots=True)
class City:
    """A city with its centre, resident population and the districts addresses are drawn from.

    `province` is empty for the four municipalities, whose city name already is the
    province-level unit; `prefecture` is the prefecture a county-level city belongs to.
    `population` is in units of 10,000 residents (2020 census, rounded).
    """

    name: str
    province: str
    lat_micro: int
    lon_micro: int
    population: int
    districts: tuple[District, ...]
    timezone: str = "Asia/Shanghai"
    prefecture: str = ""
    ethnicities: EthnicityMix = DEFAULT_ETHNICITIES

    @property
    def latitude(self) -> str:
        """The centre's latitude as the files write it."""
        return micro_degrees(self.lat_micro)

    @property
    def longitude(self) -> str:
        """The centre's longitude as the files write it."""
        return micro_degrees(self.lon_micro)


def micro_degrees(value: int) -> str:
    """Integer micro-degrees as a fixed six-place decimal string, without going through float."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 1_000_000)
    return f"{sign}{whole}.{frac:06d}"


def _d(*pairs: str) -> tuple[District, ...]:
    """Districts from alternating name, code arguments, to keep the table below readable."""
    return tuple(District(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2))


_XINJIANG = "新疆维吾尔自治区"

CITIES: tuple[City, ...] = (
    City("上海市", "", 31_230_400, 121_473_700, 2487,
         _d("黄浦区", "310101", "徐汇区", "310104", "杨浦区", "310110", "闵行区", "310112",
            "浦东新区", "310115")),
    City("北京市", "", 39_904_200, 116_407_400, 2189,
         _d("东城区", "110101", "西城区", "110102", "朝阳区", "110105", "丰台区", "110106",
            "海淀区", "110108")),
    City("重庆市", "", 29_563_000, 106_551_600, 1600,
         _d("渝中区", "500103", "江北区", "500105", "南岸区", "500108", "渝北区", "500112")),
    City("成都市", "四川省", 30_572_800, 104_066_800, 2094,
         _d("锦江区", "510104", "青羊区", "510105", "武侯区", "510107", "成华区", "510108")),
    City("广州市", "广东省", 23_129_100, 113_264_400, 1868,
         _d("越秀区", "440104", "海珠区", "440105", "天河区", "440106", "白云区", "440111",
            "番禺区", "440113")),
    City("深圳市", "广东省", 22_543_100, 114_057_900, 1756,
         _d("罗湖区", "440303", "福田区", "440304", "南山区", "440305", "宝安区", "440306",
            "龙岗区", "440307")),
    City("天津市", "", 39_084_200, 117_200_900, 1387,
         _d("和平区", "120101", "河西区", "120103", "南开区", "120104", "滨海新区", "120116")),
    City("西安市", "陕西省", 34_341_600, 108_939_800, 1296,
         _d("新城区", "610102", "碑林区", "610103", "未央区", "610112", "雁塔区", "610113")),
    City("苏州市", "江苏省", 31_299_000, 120_585_300, 1275,
         _d("吴中区", "320506", "相城区", "320507", "姑苏区", "320508")),
    City("郑州市", "河南省", 34_746_600, 113_625_400, 1260,
         _d("中原区", "410102", "二七区", "410103", "金水区", "410105")),
    City("武汉市", "湖北省", 30_592_800, 114_305_500, 1232,
         _d("江岸区", "420102", "汉阳区", "420105", "武昌区", "420106", "洪山区", "420111")),
    City("杭州市", "浙江省", 30_274_100, 120_155_100, 1194,
         _d("上城区", "330102", "拱墅区", "330105", "西湖区", "330106", "滨江区", "330108")),
    City("石家庄市", "河北省", 38_042_800, 114_514_900, 1124,
         _d("长安区", "130102", "桥西区", "130104", "新华区", "130105")),
    City("东莞市", "广东省", 23_020_700, 113_751_800, 1047,
         _d("南城街道", "441900", "东城街道", "441900", "虎门镇", "441900", "长安镇", "441900")),
    City("青岛市", "山东省", 36_067_100, 120_382_600, 1007,
         _d("市南区", "370202", "市北区", "370203", "黄岛区", "370211")),
    City("长沙市", "湖南省", 28_228_200, 112_938_800, 1005,
         _d("芙蓉区", "430102", "天心区", "430103", "岳麓区", "430104", "雨花区", "430111")),
    City("哈尔滨市", "黑龙江省", 45_803_800, 126_535_000, 1001,
         _d("道里区", "230102", "南岗区", "230103", "香坊区", "230110"),
         ethnicities=(("汉族", 930), ("满族", 45), ("朝鲜族", 12), ("回族", 8), ("蒙古族", 5))),
    City("温州市", "浙江省", 27_993_900, 120_699_400, 957,
         _d("鹿城区", "330302", "瓯海区", "330304")),
    City("佛山市", "广东省", 23_021_500, 113_121_400, 950,
         _d("禅城区", "440604", "南海区", "440605", "顺德区", "440606")),
    City("宁波市", "浙江省", 29_868_300, 121_544_000, 940,
         _d("海曙区", "330203", "鄞州区", "330212")),
    City("潍坊市", "山东省", 36_706_900, 119_161_800, 939,
         _d("潍城区", "370702", "奎文区", "370705")),
    City("合肥市", "安徽省", 31_820_600, 117_227_200, 937,
         _d("瑶海区", "340102", "庐阳区", "340103", "蜀山区", "340104", "包河区", "340111")),
    City("济南市", "山东省", 36_651_200, 117_120_100, 920,
         _d("历下区", "370102", "市中区", "370103", "槐荫区", "370104")),
    City("徐州市", "江苏省", 34_204_400, 117_285_800, 908,
         _d("鼓楼区", "320302", "云龙区", "320303")),
    City("沈阳市", "辽宁省", 41_805_700, 123_431_500, 907,
         _d("和平区", "210102", "沈河区", "210103", "皇姑区", "210105"),
         ethnicities=(("汉族", 910), ("满族", 60), ("朝鲜族", 15), ("回族", 10), ("蒙古族", 5))),
    City("长春市", "吉林省", 43_817_100, 125_323_500, 907,
         _d("南关区", "220102", "朝阳区", "220104", "绿园区", "220106"),
         ethnicities=(("汉族", 930), ("满族", 40), ("朝鲜族", 18), ("回族", 8), ("蒙古族", 4))),
    City("泉州市", "福建省", 24_874_100, 118_675_700, 878,
         _d("鲤城区", "350502", "丰泽区", "350503")),
    City("南宁市", "广西壮族自治区", 22_817_000, 108_366_900, 874,
         _d("兴宁区", "450102", "青秀区", "450103", "西乡塘区", "450107"),
         ethnicities=(("汉族", 560), ("壮族", 410), ("瑶族", 20), ("苗族", 10))),
    City("昆明市", "云南省", 25_038_900, 102_718_300, 846,
         _d("五华区", "530102", "盘龙区", "530103", "官渡区", "530111"),
         ethnicities=(("汉族", 860), ("彝族", 60), ("回族", 40), ("白族", 25), ("哈尼族", 15))),
    City("福州市", "福建省", 26_074_500, 119_296_500, 829,
         _d("鼓楼区", "350102", "台江区", "350103", "仓山区", "350104")),
    City("无锡市", "江苏省", 31_491_200, 120_311_900, 746,
         _d("滨湖区", "320211", "梁溪区", "320213")),
    City("大连市", "辽宁省", 38_914_000, 121_614_700, 745,
         _d("中山区", "210202", "西岗区", "210203", "沙河口区", "210204"),
         ethnicities=(("汉族", 920), ("满族", 60), ("朝鲜族", 8), ("回族", 8), ("蒙古族", 4))),
    City("洛阳市", "河南省", 34_619_700, 112_454_000, 706,
         _d("老城区", "410302", "西工区", "410303", "洛龙区", "410311")),
    City("南昌市", "江西省", 28_682_000, 115_857_900, 626,
         _d("东湖区", "360102", "西湖区", "360103", "青山湖区", "360111")),
    City("贵阳市", "贵州省", 26_647_000, 106_630_200, 599,
         _d("南明区", "520102", "云岩区", "520103", "观山湖区", "520115"),
         ethnicities=(("汉族", 800), ("苗族", 90), ("布依族", 80), ("侗族", 20), ("土家族", 10))),
    City("太原市", "山西省", 37_870_600, 112_548_900, 530,
         _d("小店区", "140105", "迎泽区", "140106", "杏花岭区", "140107")),
    City("厦门市", "福建省", 24_479_800, 118_089_400, 516,
         _d("思明区", "350203", "湖里区", "350206")),
    City("桂林市", "广西壮族自治区", 25_273_600, 110_290_000, 493,
         _d("秀峰区", "450302", "象山区", "450304"),
         ethnicities=(("汉族", 800), ("壮族", 120), ("瑶族", 60), ("苗族", 20))),
    City("兰州市", "甘肃省", 36_061_100, 103_834_300, 436,
         _d("城关区", "620102", "七里河区", "620103"),
         ethnicities=(("汉族", 920), ("回族", 55), ("东乡族", 15), ("藏族", 10))),
    City("乌鲁木齐市", _XINJIANG, 43_825_600, 87_616_800, 405,
         _d("天山区", "650102", "沙依巴克区", "650103", "新市区", "650104"),
         timezone="Asia/Urumqi",
         ethnicities=(("汉族", 700), ("维吾尔族", 150), ("回族", 80), ("哈萨克族", 50),
                      ("蒙古族", 20))),
    City("呼和浩特市", "内蒙古自治区", 40_842_400, 111_749_000, 345,
         _d("新城区", "150102", "回民区", "150103", "赛罕区", "150105"),
         ethnicities=(("汉族", 870), ("蒙古族", 100), ("回族", 20), ("满族", 10))),
    City("海口市", "海南省", 20_044_000, 110_199_900, 287,
         _d("龙华区", "460106", "美兰区", "460108"),
         ethnicities=(("汉族", 940), ("黎族", 50), ("苗族", 10))),
    City("银川市", "宁夏回族自治区", 38_487_200, 106_230_900, 286,
         _d("兴庆区", "640104", "金凤区", "640106"),
         ethnicities=(("汉族", 700), ("回族", 280), ("满族", 20))),
    City("西宁市", "青海省", 36_617_100, 101_778_200, 247,
         _d("城东区", "630102", "城中区", "630103", "城西区", "630104"),
         ethnicities=(("汉族", 720), ("回族", 160), ("藏族", 80), ("土族", 40))),
    City("珠海市", "广东省", 22_271_000, 113_576_700, 244,
         _d("香洲区", "440402", "金湾区", "440404")),
    City("三亚市", "海南省", 18_252_800, 109_511_900, 103,
         _d("吉阳区", "460203", "天涯区", "460204"),
         ethnicities=(("汉族", 700), ("黎族", 250), ("回族", 30), ("苗族", 20))),
    City("拉萨市", "西藏自治区", 29_652_000, 91_172_100, 87,
         _d("城关区", "540102"),
         ethnicities=(("藏族", 650), ("汉族", 330), ("回族", 20))),
    City("喀什市", _XINJIANG, 39_470_400, 75_989_800, 71,
         _d("", "653101"), timezone="Asia/Urumqi", prefecture="喀什地区",
         ethnicities=(("维吾尔族", 850), ("汉族", 130), ("塔吉克族", 10), ("回族", 10))),
    City("伊宁市", _XINJIANG, 43_910_000, 81_277_000, 58,
         _d("", "654002"), timezone="Asia/Urumqi", prefecture="伊犁哈萨克自治州",
         ethnicities=(("维吾尔族", 450), ("汉族", 300), ("哈萨克族", 150), ("回族", 100))),
)

CITY_BY_NAME: dict[str, City] = {city.name: city for city in CITIES}

# A borrower's address is jittered around the city centre by at most this much, so points
# stay inside the urban area (about 7 km either way) and tests can match them to the table.
LAT_JITTER_MICRO = 60_000
LON_JITTER_MICRO = 70_000

# Mainland China's bounding box, for sanity checks on generated coordinates.
CHINA_BOUNDS = {"lat_min": 18.0, "lat_max": 53.6, "lon_min": 73.5, "lon_max": 135.1}
