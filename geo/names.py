"""English names (pinyin without tones) for the bundled regions, by hand.

Only names we can give reliably: Chinese provinces, Gansu's 14 prefecture-level units, Lanzhou's
and Beijing's districts. Other Gansu counties keep ``name_en = None`` (machine pinyin gets
place-name readings wrong, e.g. 宕昌 is Tanchang, not Dangchang).
"""

from __future__ import annotations

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
