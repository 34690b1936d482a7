"""English names of the ticket category taxonomy (TipDM 2020 citizen-message taxonomy, every level
the bundled simulator and importers use), for every screen that prints a category.

Categories are stored as the source wrote them (Chinese for 12345 data, English for 311 imports);
only display translates. A category outside the table shows in pinyin on English pages rather
than in characters an English reader cannot use.
"""

from __future__ import annotations

from geo.names import has_cjk, pinyin_name

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


def category_label(name: str | None, lang: str) -> str:
    """A category (any level) as shown in ``lang``: the stored name in Chinese, English from the
    table, else pinyin; '—' for none."""
    if not name:
        return "—"
    if lang != "en" or not has_cjk(name):
        return name
    return CATEGORY_EN.get(name) or pinyin_name(name)


def category_path_label(path: list[str] | tuple[str, ...] | None, lang: str) -> str:
    """'城乡建设 / 物业服务' or 'Urban & rural construction / Property management'."""
    return " / ".join(category_label(p, lang) for p in (path or []) if p)
