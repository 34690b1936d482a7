"""What citizens call about, where they live and who handles it: the simulator's fixed tables.

Category paths are ``[level 1, level 3]`` of the TipDM 2020 citizen-message taxonomy (level 2
where that already names the problem, e.g. 户籍证件; see data/SOURCE.md), except 排水防涝 and
道路除雪, which that taxonomy lacks and the incident schedule needs. Weights are relative
shares of ordinary contacts (assumption, shaped after published 12345 annual reports where
housing, property management, heating, wages and noise lead). Unit quality lists are fixed and
seed-independent on purpose: docs/simulation.md names them so rankings have a truth to find.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Category:
    path: tuple[str, str]
    weight: float
    dept: str  # city department suffix, e.g. "住房和城乡建设局"
    district_share: float  # probability the district government handles it instead of the dept
    urgent: float = 0.05
    emergency: float = 0.0
    season: str = ""  # "heating": Nov..Mar only; "summer": May..Sep; "" all year
    templates: tuple[str, ...] = ()


# fmt: off
# path, weight, city department, share handled by the district, urgent, emergency, season, texts
CATEGORIES: tuple[Category, ...] = (
    Category(("城乡建设", "冬季采暖"), 10.0, "住房和城乡建设局", 0.3, 0.15, 0.0, "heating",
             ("{addr}家中暖气不热，室温只有十几度，老人孩子受不了，请尽快处理。",
              "{addr}整栋楼暖气从昨天开始不热，联系供热公司无人处理。")),
    Category(("城乡建设", "物业服务"), 8.0, "住房和城乡建设局", 0.6, 0.03, 0.0, "",
             ("{addr}小区物业不作为，楼道垃圾长期无人清理，电梯经常故障。",
              "反映{addr}物业乱收停车费，业主多次协商无果。")),
    Category(("城乡建设", "自来水供应"), 4.0, "水务局", 0.2, 0.12, 0.01, "",
             ("{addr}从早上开始停水，没有提前通知，请问何时恢复供水？",
              "{addr}自来水发黄有异味，无法饮用。")),
    Category(("城乡建设", "燃气供应"), 2.5, "住房和城乡建设局", 0.1, 0.2, 0.05, "",
             ("{addr}楼道里有明显燃气味，担心泄漏，请尽快派人检查。",
              "{addr}燃气缴费后仍无法使用，燃气公司电话打不通。")),
    Category(("城乡建设", "电力供应"), 2.0, "供电公司", 0.0, 0.1, 0.01, "",
             ("{addr}频繁停电，一天停了三次，影响正常生活。",
              "{addr}路段电线老化垂落，存在安全隐患。")),
    Category(("城乡建设", "违章建筑"), 3.0, "城市管理局", 0.7, 0.02, 0.0, "",
             ("{addr}有住户在楼顶私搭乱建，影响楼体安全。",
              "举报{addr}一楼商户违规扩建占用公共绿地。")),
    Category(("城乡建设", "城管执法"), 4.0, "城市管理局", 0.5, 0.02, 0.0, "",
             ("{addr}附近夜市占道经营，油烟和噪音严重扰民。",
              "{addr}门口流动摊贩堵塞人行道，行人只能走机动车道。")),
    Category(("城乡建设", "环境卫生"), 3.5, "城市管理局", 0.7, 0.02, 0.0, "",
             ("{addr}垃圾箱满溢多日无人清运，气味难闻。",
              "{addr}路边建筑垃圾长期堆放，无人清理。")),
    Category(("城乡建设", "小区管理"), 3.0, "住房和城乡建设局", 0.8, 0.02, 0.0, "",
             ("{addr}小区内车辆乱停乱放，消防通道被堵。",
              "{addr}老旧小区改造施工进度缓慢，道路坑洼不平。")),
    Category(("城乡建设", "城市公共设施"), 3.0, "城市管理局", 0.4, 0.1, 0.01, "",
             ("{addr}路段路灯不亮已有一周，夜间出行不安全。",
              "{addr}人行道井盖缺失，存在安全隐患，请尽快修复。")),
    Category(("城乡建设", "公共汽车"), 2.5, "交通运输局", 0.0, 0.02, 0.0, "",
             ("{addr}公交站的公交车经常不按时发车，等车超过四十分钟。",
              "反映途经{addr}的公交车司机态度恶劣、不停靠站点。")),
    Category(("城乡建设", "房产证登记、办理"), 2.0, "自然资源局", 0.2, 0.01, 0.0, "",
             ("{addr}小区交房五年仍办不了房产证，开发商一直推脱。",
              "咨询{addr}二手房过户办理需要哪些材料。")),
    Category(("城乡建设", "拖欠工程款"), 2.5, "住房和城乡建设局", 0.3, 0.05, 0.0, "",
             ("{addr}工地拖欠工程款，施工队多次讨要未果。",
              "反映{addr}项目总包单位拖欠分包工程款。")),
    Category(("城乡建设", "住房公积金"), 1.5, "住房公积金管理中心", 0.0, 0.01, 0.0, "",
             ("咨询住房公积金异地贷款的办理条件，本人住{addr}。",
              "单位未按规定缴纳住房公积金，单位地址{addr}。")),
    Category(("城乡建设", "排水防涝"), 0.4, "住房和城乡建设局", 0.5, 0.3, 0.05, "summer",
             ("{addr}路段积水严重，车辆无法通行，地下车库进水。",
              "{addr}雨水井堵塞，小区内积水没过脚踝。")),
    Category(("城乡建设", "道路除雪"), 0.4, "城市管理局", 0.5, 0.2, 0.0, "heating",
             ("{addr}路面积雪结冰无人清扫，已有行人滑倒。",
              "{addr}坡道积雪未清，车辆打滑无法上坡。")),
    Category(("环境保护", "噪音污染"), 5.0, "生态环境局", 0.4, 0.03, 0.0, "",
             ("{addr}附近工地夜间施工，噪音严重影响休息。",
              "{addr}楼下商铺音响声音过大，从早到晚扰民。")),
    Category(("环境保护", "大气污染"), 1.5, "生态环境局", 0.2, 0.03, 0.0, "",
             ("{addr}附近工厂排放刺鼻气体，晚上尤其严重。",
              "{addr}烧烤店油烟直排，居民无法开窗。")),
    Category(("环境保护", "水污染"), 0.8, "生态环境局", 0.2, 0.05, 0.0, "",
             ("{addr}附近河道有企业偷排污水，河水发黑发臭。",)),
    Category(("交通运输", "出租车管理"), 2.5, "交通运输局", 0.0, 0.01, 0.0, "",
             ("在{addr}乘坐出租车，司机拒载且不打表。",
              "出租车司机绕路多收费，上车地点{addr}。")),
    Category(("交通运输", "网约车问题"), 1.0, "交通运输局", 0.0, 0.01, 0.0, "",
             ("在{addr}叫网约车，司机中途加价并态度恶劣。",)),
    Category(("交通运输", "设施维护"), 2.0, "交通运输局", 0.5, 0.05, 0.0, "",
             ("{addr}路面塌陷出现大坑，车辆经过很危险。",
              "{addr}路口交通标志被撞倒，无人修复。")),
    Category(("政法", "交通安全管理"), 3.0, "公安局交通警察支队", 0.0, 0.03, 0.0, "",
             ("{addr}路口车辆长期违停，造成严重拥堵。",
              "{addr}学校门口上下学时段交通混乱，建议增设信号灯。")),
    Category(("政法", "户籍证件"), 2.0, "公安局", 0.0, 0.01, 0.0, "",
             ("咨询新生儿落户需要哪些材料，户籍地{addr}。",
              "办理身份证等待时间过长，户籍地{addr}。")),
    Category(("劳动和社会保障", "工资发放"), 4.5, "人力资源和社会保障局", 0.2, 0.08, 0.0, "",
             ("本人在{addr}某公司工作，公司已拖欠三个月工资。",
              "{addr}工地拖欠农民工工资，年底前急需解决。")),
    Category(("劳动和社会保障", "城镇居民医疗保险"), 3.0, "医疗保障局", 0.0, 0.02, 0.0, "",
             ("咨询城乡居民医保缴费时间和报销比例，住{addr}。",
              "异地就医备案办理不成功，本人住{addr}。")),
    Category(("劳动和社会保障", "职工养老保险"), 2.5, "人力资源和社会保障局", 0.0, 0.01, 0.0, "",
             ("单位未给职工缴纳养老保险，单位地址{addr}。",
              "咨询养老保险转移接续的办理流程。")),
    Category(("劳动和社会保障", "就业和再就业"), 1.5, "人力资源和社会保障局", 0.2, 0.01, 0.0, "",
             ("咨询高校毕业生就业补贴申请条件，住{addr}。",)),
    Category(("商贸旅游", "商品质量"), 3.0, "市场监督管理局", 0.0, 0.02, 0.0, "",
             ("在{addr}商场购买的商品有质量问题，商家拒绝退换。",
              "{addr}超市销售过期商品。")),
    Category(("商贸旅游", "物价监督"), 1.5, "市场监督管理局", 0.0, 0.01, 0.0, "",
             ("{addr}停车场乱收费，收费标准未公示。",)),
    Category(("卫生计生", "食品安全"), 2.5, "市场监督管理局", 0.0, 0.08, 0.0, "",
             ("在{addr}餐馆吃饭后多人腹泻，怀疑食品不卫生。",
              "{addr}小吃店后厨卫生条件差，无健康证经营。")),
    Category(("卫生计生", "医疗技术和服务"), 2.0, "卫生健康委员会", 0.0, 0.05, 0.0, "",
             ("{addr}附近医院挂号难，排队时间过长。",
              "反映{addr}社区卫生服务中心医生服务态度差。")),
    Category(("教育文体", "乱收费"), 1.5, "教育局", 0.0, 0.02, 0.0, "",
             ("{addr}学校以资料费名义向学生乱收费。",)),
    Category(("教育文体", "招生录取"), 1.5, "教育局", 0.0, 0.01, 0.0, "",
             ("咨询{addr}片区小学划片招生政策。",)),
    Category(("民政", "社会救助"), 1.5, "民政局", 0.7, 0.03, 0.0, "",
             ("{addr}困难家庭申请低保迟迟没有结果。",)),
    Category(("农村农业", "惠农补贴"), 1.5, "农业农村局", 0.7, 0.01, 0.0, "",
             ("{addr}村耕地地力保护补贴至今未发放。",)),
)
# fmt: on

CATEGORY_INDEX: dict[tuple[str, str], int] = {c.path: i for i, c in enumerate(CATEGORIES)}
HEATING = ("城乡建设", "冬季采暖")
WATER = ("城乡建设", "自来水供应")
FLOOD = ("城乡建设", "排水防涝")
SNOW = ("城乡建设", "道路除雪")

# --- unit behaviour: seed-independent, named in docs/simulation.md
POOR_SATISFACTION: frozenset[str] = frozenset(
    {
        "七里河区人民政府",
        "兰州市住房和城乡建设局",
        "秦州区人民政府",
        "白银市人力资源和社会保障局",
    }
)
NO_CALLBACK_OVERUSE: frozenset[str] = frozenset({"西固区人民政府", "天水市市场监督管理局"})
SLOW_UNITS: frozenset[str] = frozenset({"安宁区人民政府", "兰州市城市管理局", "武威市交通运输局"})
RETURN_PRONE: frozenset[str] = frozenset({"兰州市城市管理局", "榆中县人民政府"})

_STREETS = (
    "人民路",
    "解放路",
    "建设路",
    "和平路",
    "民主路",
    "中山路",
    "东岗路",
    "北滨河路",
    "南滨河路",
    "金昌路",
    "天水路",
    "雁滩路",
    "西站路",
    "五泉路",
    "新华路",
    "文化路",
    "团结路",
    "胜利路",
    "育才路",
    "长安路",
    "光明路",
    "兴隆路",
    "安宁路",
    "幸福路",
    "友谊路",
    "丝路大道",
    "迎宾路",
    "振兴路",
    "滨河路",
    "红星路",
    "朝阳路",
    "环城路",
    "工业路",
    "学院路",
    "南关街",
    "北关街",
    "东街",
    "西街",
    "新村路",
    "广场路",
)
STREETS_PER_DISTRICT = 14
HOUSE_NUMBERS = 260
# Buildings per house number (小区 with several 栋): 14 x 260 x 30 = 109,200 addresses per district.
# With 3,640 (no building) a big district's month of tickets met the repeat rule's "3 times at one
# address" by chance for thousands of addresses, drowning the recurring problems it is meant to find.
BUILDINGS = 30


@dataclass(frozen=True)
class District:
    code: str
    name: str
    population: int
    lat: float
    lon: float
    streets: tuple[str, ...]


@dataclass(frozen=True)
class City:
    code: str
    name: str
    short: str  # prefix of department names, e.g. "兰州市", "临夏州"
    districts: tuple[District, ...]

    @property
    def population(self) -> int:
        return sum(d.population for d in self.districts)

    def dept_unit(self, dept: str) -> str:
        return f"{self.short}{dept}"

    @property
    def hotline_unit(self) -> str:
        return f"{self.short}12345热线"


def district_unit(district: District) -> str:
    """The district government that handles a ticket in ``district``."""
    return f"{district.name}人民政府"


def _streets_for(code: str) -> tuple[str, ...]:
    return tuple(random.Random(f"streets:{code}").sample(_STREETS, STREETS_PER_DISTRICT))


def _short(name: str) -> str:
    if name.endswith("回族自治州"):
        return name[: -len("回族自治州")] + "州"
    if name.endswith("藏族自治州"):
        return name[: -len("藏族自治州")] + "州"
    return name


@lru_cache(maxsize=1)
def cities() -> dict[str, City]:
    """The 14 cities of Gansu with their county-level districts (2020 census population)."""
    raw = json.loads((DATA / "gansu_districts.json").read_text(encoding="utf-8"))
    out: dict[str, City] = {}
    for c in raw["cities"]:
        districts = tuple(
            District(
                d["code"],
                d["name"],
                int(d["population"]),
                float(d["lat"]),
                float(d["lon"]),
                _streets_for(d["code"]),
            )
            for d in c["districts"]
        )
        out[c["code"]] = City(c["code"], c["name"], _short(c["name"]), districts)
    return out


def month_weight(category: Category, month: int) -> float:
    """Seasonal multiplier of a category's weight in a calendar month."""
    if category.season == "heating":
        return 1.0 if month in (11, 12, 1, 2, 3) else (0.25 if month in (4, 10) else 0.02)
    if category.season == "summer":
        return 1.0 if month in (5, 6, 7, 8, 9) else 0.1
    return 1.0
