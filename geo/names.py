"""English names of regions: official romanisations by hand, else Hanyu Pinyin (pypinyin).

By hand (``NAME_EN`` by code, ``NAME_EN_BY_NAME`` by Chinese name): China's provinces, Gansu's 14
prefecture-level units and all its 86 county-level units, Beijing's districts. Names are the
short forms the maps and tables print ("Zhangjiachuan", not "Zhangjiachuan Hui Autonomous
County"). Anything else (a deployment's own regions) gets machine pinyin of the name without
its administrative suffix; place names whose reading differs from the common one (宕昌 is
Tanchang, not Dangchang) must be in the tables, which is why every bundled region is.
"""

from __future__ import annotations

import re
from functools import lru_cache

NAME_EN: dict[str, str] = {
    # Provinces (GB/T 2260 codes).
    "110000": "Beijing", "120000": "Tianjin", "130000": "Hebei", "140000": "Shanxi",
    "150000": "Inner Mongolia", "210000": "Liaoning", "220000": "Jilin", "230000": "Heilongjiang",
    "310000": "Shanghai", "320000": "Jiangsu", "330000": "Zhejiang", "340000": "Anhui",
    "350000": "Fujian", "360000": "Jiangxi", "370000": "Shandong", "410000": "Henan",
    "420000": "Hubei", "430000": "Hunan", "440000": "Guangdong", "450000": "Guangxi",
    "460000": "Hainan", "500000": "Chongqing", "510000": "Sichuan", "520000": "Guizhou",
    "530000": "Yunnan", "540000": "Tibet", "610000": "Shaanxi", "620000": "Gansu",
    "630000": "Qinghai", "640000": "Ningxia", "650000": "Xinjiang", "710000": "Taiwan",
    "810000": "Hong Kong", "820000": "Macao",
    # Gansu prefecture-level cities and autonomous prefectures.
    "620100": "Lanzhou", "620200": "Jiayuguan", "620300": "Jinchang", "620400": "Baiyin",
    "620500": "Tianshui", "620600": "Wuwei", "620700": "Zhangye", "620800": "Pingliang",
    "620900": "Jiuquan", "621000": "Qingyang", "621100": "Dingxi", "621200": "Longnan",
    "622900": "Linxia", "623000": "Gannan",
    # Jiayuguan has no county-level division; its single district carries the city's name.
    "620201": "Jiayuguan",
    # Lanzhou districts and counties.
    "620102": "Chengguan", "620103": "Qilihe", "620104": "Xigu", "620105": "Anning",
    "620111": "Honggu", "620121": "Yongdeng", "620122": "Gaolan", "620123": "Yuzhong",
    # Beijing districts.
    "110101": "Dongcheng", "110102": "Xicheng", "110105": "Chaoyang", "110106": "Fengtai",
    "110107": "Shijingshan", "110108": "Haidian", "110109": "Mentougou", "110111": "Fangshan",
    "110112": "Tongzhou", "110113": "Shunyi", "110114": "Changping", "110115": "Daxing",
    "110116": "Huairou", "110117": "Pinggu", "110118": "Miyun", "110119": "Yanqing",
}

# NYC borough digit (DCP BoroCode) -> (letters, Chinese name, English name).
NYC_BOROUGHS: dict[int, tuple[str, str, str]] = {
    1: ("MN", "曼哈顿", "Manhattan"),
    2: ("BX", "布朗克斯", "Bronx"),
    3: ("BK", "布鲁克林", "Brooklyn"),
    4: ("QN", "皇后区", "Queens"),
    5: ("SI", "斯塔滕岛", "Staten Island"),
}

# Gansu's county-level units other than Lanzhou's (by their Chinese name; unique within Gansu).
NAME_EN_BY_NAME: dict[str, str] = {
    "金川区": "Jinchuan", "永昌县": "Yongchang", "白银区": "Baiyin", "平川区": "Pingchuan",
    "靖远县": "Jingyuan", "会宁县": "Huining", "景泰县": "Jingtai", "秦州区": "Qinzhou", "麦积区": "Maiji",
    "清水县": "Qingshui", "秦安县": "Qin'an", "甘谷县": "Gangu", "武山县": "Wushan",
    "张家川回族自治县": "Zhangjiachuan", "凉州区": "Liangzhou", "民勤县": "Minqin", "古浪县": "Gulang",
    "天祝藏族自治县": "Tianzhu", "甘州区": "Ganzhou", "肃南裕固族自治县": "Sunan", "民乐县": "Minle",
    "临泽县": "Linze", "高台县": "Gaotai", "山丹县": "Shandan", "崆峒区": "Kongtong", "泾川县": "Jingchuan",
    "灵台县": "Lingtai", "崇信县": "Chongxin", "庄浪县": "Zhuanglang", "静宁县": "Jingning",
    "华亭市": "Huating", "肃州区": "Suzhou", "金塔县": "Jinta", "瓜州县": "Guazhou",
    "肃北蒙古族自治县": "Subei", "阿克塞哈萨克族自治县": "Aksay", "玉门市": "Yumen", "敦煌市": "Dunhuang",
    "西峰区": "Xifeng", "庆城县": "Qingcheng", "环县": "Huanxian", "华池县": "Huachi", "合水县": "Heshui",
    "正宁县": "Zhengning", "宁县": "Ningxian", "镇原县": "Zhenyuan", "安定区": "Anding", "通渭县": "Tongwei",
    "陇西县": "Longxi", "渭源县": "Weiyuan", "临洮县": "Lintao", "漳县": "Zhangxian", "岷县": "Minxian",
    "武都区": "Wudu", "成县": "Chengxian", "文县": "Wenxian", "宕昌县": "Tanchang", "康县": "Kangxian",
    "西和县": "Xihe", "礼县": "Lixian", "徽县": "Huixian", "两当县": "Liangdang", "临夏市": "Linxia City",
    "临夏县": "Linxia County", "康乐县": "Kangle", "永靖县": "Yongjing", "广河县": "Guanghe",
    "和政县": "Hezheng", "东乡族自治县": "Dongxiang", "积石山保安族东乡族撒拉族自治县": "Jishishan",
    "合作市": "Hezuo", "临潭县": "Lintan", "卓尼县": "Zhuoni", "舟曲县": "Zhouqu", "迭部县": "Diebu",
    "玛曲县": "Maqu", "碌曲县": "Luqu", "夏河县": "Xiahe",
}

# Longest first: "自治县" before "县". A name that is only a suffix keeps it (环县 is in the table).
_SUFFIXES = ("回族自治县", "藏族自治县", "族自治县", "自治县", "自治州", "自治区", "新区", "地区", "区", "县", "市",
             "旗", "盟", "省", "镇", "乡", "街道")
_CJK = re.compile(r"[\u3400-\u9fff]")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a CJK ideograph (what an English page must not show)."""
    return bool(_CJK.search(text or ""))


@lru_cache(maxsize=4096)
def pinyin_name(name: str) -> str:
    """Hanyu Pinyin of a place name without tones or its administrative suffix: 城关区 -> Chengguan.

    Syllables join into one word with an apostrophe before a, o, e (Xi'an); non-CJK text is kept.
    """
    from pypinyin import Style, lazy_pinyin

    stem = name
    for suffix in _SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix) + 1:
            stem = stem[: -len(suffix)]
            break
    if not has_cjk(stem):
        return stem
    word = ""
    for syllable in lazy_pinyin(stem, style=Style.NORMAL, errors="default"):
        if word and syllable[:1] in "aoe" and has_cjk(stem):
            word += "'"
        word += syllable
    return word[:1].upper() + word[1:]


# An autonomous prefecture's people (one character, or one of these longer names) before 自治州.
_PREFECTURE_PEOPLES = re.compile(r"((?:哈萨克|柯尔克孜|蒙古|朝鲜|土家|布依|景颇|傈僳|[\u4e00-\u9fff])族)+自治州$")


def map_label_zh(name: str) -> str:
    """The short Chinese name a map prints for a city: 兰州市 -> 兰州, 临夏回族自治州 -> 临夏州.

    Prefecture-level suffixes only (市, 地区, the peoples of an autonomous prefecture); district
    and county names (城关区, 环县) are returned unchanged, as is anything already short.
    """
    short = _PREFECTURE_PEOPLES.sub("州", name)
    if short != name:
        return short
    for suffix in ("地区", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def english_name(code: str, name: str | None) -> str:
    """A region's English name: by code, by Chinese name, else pinyin of the name (else the code)."""
    if code in NAME_EN:
        return NAME_EN[code]
    if name and name in NAME_EN_BY_NAME:
        return NAME_EN_BY_NAME[name]
    if name:
        return pinyin_name(name)
    return code
