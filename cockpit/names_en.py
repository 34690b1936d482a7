"""English names of the stored Chinese vocabulary, for every screen and report that prints it:
ticket categories (TipDM 2020 citizen-message taxonomy, every level the bundled simulator and
importers use) and handling units ("<region><department>").

Categories and units are stored as the source wrote them (Chinese for 12345 data, English for 311
imports); only display translates. A name outside the tables shows in pinyin on English pages
rather than in characters an English reader cannot use. Pure functions (the bundled boundaries
name the regions of a unit); no I/O of their own.
"""

from __future__ import annotations

from functools import lru_cache

from geo.names import english_name, has_cjk, pinyin_name

CATEGORY_EN: dict[str, str] = {
    # Level 1.
    "城乡建设": "Urban & rural construction", "劳动和社会保障": "Labour & social security",
    "环境保护": "Environment", "交通运输": "Transport", "政法": "Public security & law",
    "卫生计生": "Health & family planning", "商贸旅游": "Commerce & tourism", "教育文体": "Education & culture",
    "民政": "Civil affairs", "农村农业": "Agriculture & rural affairs", "市场监管": "Market regulation",
    "其他": "Other",
    # Level 2.
    "城市建设和市政管理": "Municipal administration", "住房保障与房地产": "Housing & real estate",
    "城乡规划": "Urban planning", "建设管理": "Construction management", "建筑市场": "Construction market",
    "环境污染": "Pollution", "交通管理": "Traffic management", "运价监管": "Fare regulation",
    "行业监管": "Industry regulation", "户籍管理": "Household registration", "出入境管理": "Exit & entry",
    "流动人口管理": "Migrant population", "身份证管理": "Identity cards", "医政监管": "Medical regulation",
    "医疗救助": "Medical assistance", "食品药品监管": "Food & drug regulation", "工资福利": "Wages & benefits",
    "城镇职工社会保险": "Employee social insurance", "城镇居民社会保险": "Resident social insurance",
    "就业培训": "Employment & training", "教育收费": "School fees", "考试招生": "Exams & admissions",
    "城镇低保": "Urban minimum income", "农村低保": "Rural minimum income", "特困人员供养": "Support for the destitute",
    "其他补贴": "Other subsidies", "农机农资补贴": "Farm machinery subsidies", "粮食直补": "Grain subsidies",
    "良种补贴": "Seed subsidies", "经营权转让": "Land-use transfers",
    # Level 3.
    "冬季采暖": "Winter heating", "物业服务": "Property management", "自来水供应": "Water supply",
    "燃气供应": "Gas supply", "电力供应": "Power supply", "违章建筑": "Illegal construction",
    "城管执法": "City management enforcement", "环境卫生": "Sanitation", "小区管理": "Residential compounds",
    "城市公共设施": "Public facilities", "公共汽车": "Buses", "房产证登记、办理": "Property certificates",
    "拖欠工程款": "Unpaid construction bills", "住房公积金": "Housing provident fund", "排水防涝": "Drainage & flooding",
    "道路除雪": "Snow clearing", "噪音污染": "Noise", "大气污染": "Air pollution", "水污染": "Water pollution",
    "出租车管理": "Taxis", "网约车问题": "Ride-hailing", "设施维护": "Facility maintenance",
    "交通安全管理": "Traffic safety", "户籍证件": "Residence papers", "工资发放": "Unpaid wages",
    "城镇居民医疗保险": "Resident medical insurance", "职工养老保险": "Employee pensions",
    "就业和再就业": "Employment", "商品质量": "Product quality", "物价监督": "Prices", "食品安全": "Food safety",
    "医疗技术和服务": "Medical services", "乱收费": "Illegal charges", "招生录取": "School admissions",
    "社会救助": "Social assistance", "惠农补贴": "Farm subsidies",
    # Seen in the tests' fixtures and the importers' examples.
    "供热": "Heating", "公交": "Buses", "价格": "Prices",
}


# Handling units are "<region><department>" (兰州市住房和城乡建设局, 城关区人民政府): the region part
# translates like any place, the department part from this table (else pinyin).
DEPARTMENT_EN = {
    "人民政府": "People's Government", "12345热线": "12345 Hotline", "交通运输局": "Transport Bureau",
    "人力资源和社会保障局": "Human Resources & Social Security Bureau", "住房公积金管理中心": "Housing Provident Fund Centre",
    "住房和城乡建设局": "Housing & Urban-Rural Development Bureau", "供电公司": "Power Supply Company",
    "公安局交通警察支队": "Traffic Police", "公安局": "Public Security Bureau", "农业农村局": "Agriculture & Rural Affairs Bureau",
    "医疗保障局": "Healthcare Security Bureau", "卫生健康委员会": "Health Commission", "城市管理局": "City Management Bureau",
    "市场监督管理局": "Market Regulation Bureau", "教育局": "Education Bureau", "民政局": "Civil Affairs Bureau",
    "水务局": "Water Affairs Bureau", "生态环境局": "Ecology & Environment Bureau", "自然资源局": "Natural Resources Bureau",
}


def category_en(name: str) -> str:
    """A category (any level) in English: the table's name, else pinyin; a non-Chinese name as it is."""
    if not has_cjk(name):
        return name
    return CATEGORY_EN.get(name) or pinyin_name(name)


def department_en(name: str) -> str:
    """The department part of a unit's name in English: the table's name, else pinyin."""
    if not has_cjk(name):
        return name
    return DEPARTMENT_EN.get(name) or pinyin_name(name)


def region_en(code: str) -> str:
    """A region's English name: the bundled boundaries', else by code or name (``geo.names``)."""
    from geo import boundaries

    try:
        zh, en = boundaries.region_names(code)
    except Exception:  # noqa: BLE001 - a name is decoration; the code stands in
        zh, en = None, None
    return en or english_name(code, zh)


@lru_cache(maxsize=2)
def _region_names_by_length(version: int) -> tuple[tuple[str, str], ...]:
    from geo import boundaries

    frame = boundaries.all_features(True)  # the same names as the full files, read faster
    pairs = {(str(n), str(c)) for n, c in zip(frame["name"], frame["code"]) if isinstance(n, str) and n}
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


@lru_cache(maxsize=4096)
def _unit_en(name: str, version: int) -> str:
    region, rest = "", name
    for zh, code in _region_names_by_length(version):
        if name.startswith(zh):
            region, rest = region_en(code), name[len(zh):]
            break
    return f"{region} {department_en(rest)}".strip()


def unit_en(name: str) -> str:
    """A handling unit's name in English: its region's English name and its department's
    ('兰州市住房和城乡建设局' -> 'Lanzhou Housing & Urban-Rural Development Bureau'); a
    non-Chinese name as it is."""
    if not has_cjk(name):
        return name
    from geo import boundaries

    return _unit_en(name, boundaries.custom_version())
