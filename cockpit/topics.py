"""Hot topics from the text of requests: what citizens are suddenly talking about, beyond the categories.

1. **Segment** each text with jieba (offline; its dictionary ships in the package) and keep content
   words: two characters or more, not a stop word (``STOPWORDS``: hotline boilerplate such as 反映,
   问题, 希望), not a code such as ``A3`` or a number.
2. **Key terms** of a request: its terms weighted by TF-IDF over the window's requests, the top
   ``TOP_TERMS`` kept and L2-normalised.
3. **Group** requests about the same problem at the same place and time, in one pass in time order:
   a request joins the group whose centroid is most similar to its key terms (cosine, plus
   ``PLACE_BONUS`` when both name the same place, e.g. 丽发新城) if that reaches ``threshold``, the
   group's last request is within ``link_days`` and the district (when known) is the same; otherwise
   it starts a group. Groups of at least ``min_size`` requests are topics.
4. **Describe** a topic by its most frequent adjacent term pair (e.g. 车贷 + 案), its heaviest terms,
   its most common place, its requests and a central example (personal data masked).
5. **Rank** by growth against the baseline: the requests of the ``baseline_periods`` windows of the
   same length just before that are about the same topic (its leading term, one more of its three
   leading terms, and its place if it has one), per window;
   ``growth = (count + 1) / (baseline per window + 1)``. A topic is *emerging* when growth >= 2.
   Without any request before the window (a new deployment) growth is None: nothing to grow from.
   Topics are sorted emerging first, then by growth, then by size.

``find_topics`` is pure (documents in, topics out); ``topics_for`` reads tickets of a scope.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cockpit.privacy import mask_request_text
from cockpit.settings import Settings
from cockpit.store.regions import resolve_scope
from cockpit.store.texts import ticket_texts

TOP_TERMS = 10
THRESHOLD = 0.3
PLACE_BONUS = 0.15
PLACE_TERM_FACTOR = 0.3
LINK_DAYS = 14.0
MIN_SIZE = 3
BASELINE_PERIODS = 4
EMERGING_GROWTH = 2.0
SEED_TERMS = 4  # a request looks for partners through its heaviest terms ...
NEIGHBOURS = 40  # ... among the next requests in time that carry them
MAX_IDS = 50
EXAMPLE_CHARS = 80
MAX_DOCS = 50_000  # a window with more requests is sampled to the newest MAX_DOCS

STOPWORDS = frozenset("""
问题 反映 请问 希望 建议 投诉 咨询 关于 请求 要求 领导 政府 部门 相关 有关 市民 居民 群众 我们 你们 他们 她们 它们
这个 那个 这里 那里 什么 怎么 为什么 如何 是否 没有 已经 现在 目前 一直 还是 就是 但是 而且 可以 能够 进行 情况
严重 非常 一些 这些 那些 本人 自己 谢谢 您好 尊敬 时间 今年 去年 每天 一下 处理 解决 工作 单位 地方 很多 多次
一个 两个 三个 几个 因为 所以 如果 虽然 然后 只是 不是 还有 也是 以及 或者 并且 对于 由于 为了 通过 按照 根据
需要 应该 必须 不能 不会 不要 不到 不了 得到 出现 存在 发现 导致 造成 希望能 能否 何时 多少 这样 那样 这么 那么
我们小区 业主们 大家 各位 有人 别人 其他 其它 等等 以上 以下 之前 之后 以后 以前 期间 最近 近期 今天 昨天 明天
年月 左右 附近 周边 里面 外面 上面 下面 中间 旁边 对面 一样 同时 一起 全部 所有 部分 开始 结束 完成 发生 属于
市委 书记 市长 局长 主任 您好 你好 此致 敬礼 感谢 恳请 强烈 尽快 及时 立即 马上 特别 真的 实在 完全 确实 的确
西地省 留言 网友 回复 答复 收悉 来信 请求 诉求 办理 落实 解答 了解 知道 认为 觉得 表示 说明 称 据 已 未 被 让
""".split())
_CODE = re.compile(r"^[A-Za-z]*\d*[A-Za-z]*\d*$")  # A3, K9, 2019, abc: codes and numbers, not words
_CJK = re.compile(r"[\u4e00-\u9fff]")
_ASCII_CODE = re.compile(r"^[A-Za-z0-9]{1,6}$")
PLACE_SUFFIXES = frozenset("小区 花园 公寓 大厦 广场 市场 学校 中学 小学 幼儿园 医院 公园 新城 家园 苑 村 社区 大道 路 街 巷 "
                           "站 桥 镇 乡 湾".split())
ADMIN_SUFFIXES = frozenset("省 市 区 县 镇 乡 街道".split())
_ADMIN = re.compile(r"^[A-Za-z0-9]+[省市区县]$")
ROAD_ENDINGS = frozenset("路街巷")
_REGION_NAME = re.compile(r"^[\u4e00-\u9fff]{1,4}(?:省|市|区|县|镇|乡|街道)$")
LEAD_CHARS = 40
LEAD_WEIGHT = 3

log = logging.getLogger(__name__)
_tokenizer = None


def _jieba():
    """One jieba tokenizer per process (its dictionary is read-only data, ~0.5 s to load once)."""
    global _tokenizer
    if _tokenizer is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        _tokenizer = jieba.Tokenizer()
        _tokenizer.initialize()
    return _tokenizer


def segment(text: str) -> tuple[list[str], set[str], str | None, set[str]]:
    """Content words of ``text`` in order (those of its first LEAD_CHARS characters LEAD_WEIGHT times,
    as a request states its gist first), the pairs of content words adjacent in the text, the first
    place name (a name followed by 小区, 路, 村 ...) and the words that make up that name.

    A number or code glued to a word makes one term too (58 + 车贷 -> 58车贷, 3 + 号线 -> 3号线).
    """
    out: list[str] = []
    pairs: set[str] = set()
    place = None
    place_terms: set[str] = set()
    previous = None
    words: list[tuple[int, str]] = []
    position = 0
    for word in _jieba().lcut(text or "", HMM=False):
        start, position = position, position + len(word)
        if word.strip():
            words.append((start, word.strip()))
    for k, (start, word) in enumerate(words):
        repeat = LEAD_WEIGHT if start < LEAD_CHARS else 1
        if word in PLACE_SUFFIXES and k:
            name = words[k - 1][1]
            if len(name) < 2 and k >= 2:
                name = words[k - 2][1] + name
            if _CJK.search(name) and len(name) >= 2 and name not in STOPWORDS and not _ADMIN.search(name):
                place_terms.update(w for _s, w in words[max(0, k - 2):k + 1] if (name + word).find(w) >= 0)
                place = place or name + word
        elif len(word) >= 3 and word[-1] in ROAD_ENDINGS:
            place_terms.add(word)  # 南滨河路, 民主路: an address, not the problem
        if _ASCII_CODE.match(word) and k + 1 < len(words) and _CJK.search(words[k + 1][1]) \
                and words[k + 1][1] not in ADMIN_SUFFIXES \
                and (len(words[k + 1][1]) >= 2 or (k + 2 < len(words) and len(words[k + 2][1]) == 1)):
            glued = word + words[k + 1][1]
            if len(words[k + 1][1]) == 1 and k + 2 < len(words) and len(words[k + 2][1]) == 1 \
                    and _CJK.search(words[k + 2][1]):
                glued += words[k + 2][1]  # 58 + 车 + 贷
            out.extend([glued] * repeat)
        if len(word) < 2 or word in STOPWORDS or _CODE.match(word) or not _CJK.search(word):
            previous = None
            continue
        if _REGION_NAME.match(word):
            place_terms.add(word)  # 城关区, 永登县: where, not what
        if previous is not None and previous != word:
            pairs.add(previous + word)
        out.extend([word] * repeat)
        previous = word
    return out, pairs, place, place_terms


def tokens(text: str) -> list[str]:
    """Content words of ``text`` in order (see module docstring, step 1)."""
    return segment(text)[0]


@dataclass
class Doc:
    """One request: an id, its text, when it was made (naive UTC), an optional category and weight."""

    id: str
    text: str
    at: datetime
    category: str | None = None
    weight: float = 0.0  # e.g. votes: carried through to the topic, not used to build it
    area: str | None = None  # e.g. the ticket's district: requests of different areas never group
    terms: list[str] = field(default_factory=list)
    pairs: set[str] = field(default_factory=set)
    place: str | None = None
    place_terms: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Config:
    threshold: float = THRESHOLD
    link_days: float = LINK_DAYS
    min_size: int = MIN_SIZE
    baseline_periods: int = BASELINE_PERIODS
    top_terms: int = TOP_TERMS


def prepare(docs: list[Doc]) -> list[Doc]:
    """Segment every document once (terms and place filled in place); returns the same list."""
    for doc in docs:
        if not doc.terms:
            doc.terms, doc.pairs, doc.place, doc.place_terms = segment(doc.text)
    return docs


def _vectors(docs: list[Doc], top: int) -> tuple[list[dict[str, float]], Counter]:
    df = Counter(t for d in docs for t in set(d.terms))
    n = len(docs)
    vectors = []
    for d in docs:
        tf = Counter(d.terms)
        # the words of the place name weigh less: similarity is about the problem, the place adds PLACE_BONUS
        weights = {t: c * (math.log((n + 1) / (df[t] + 1)) + 1.0) * (PLACE_TERM_FACTOR if t in d.place_terms else 1.0)
                   for t, c in tf.items()}
        kept = dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:top])
        norm = math.sqrt(sum(w * w for w in kept.values())) or 1.0
        vectors.append({t: w / norm for t, w in kept.items()})
    return vectors, df


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class _Cluster:
    """A growing group: the sum of its members' vectors (its centroid, unnormalised) and its last time."""

    __slots__ = ("members", "total", "sumsq", "last_at", "area", "place")

    def __init__(self, i: int, doc: Doc, vec: dict[str, float]) -> None:
        self.members = [i]
        self.total = dict(vec)
        self.sumsq = sum(w * w for w in vec.values())
        self.last_at, self.area, self.place = doc.at, doc.area, doc.place

    def similarity(self, vec: dict[str, float]) -> float:
        """Cosine between a request's vector and the group's centroid."""
        return sum(w * self.total.get(t, 0.0) for t, w in vec.items()) / (math.sqrt(self.sumsq) or 1.0)

    def add(self, i: int, doc: Doc, vec: dict[str, float]) -> None:
        self.members.append(i)
        for t, w in vec.items():
            old = self.total.get(t, 0.0)
            self.total[t] = old + w
            self.sumsq += (old + w) ** 2 - old * old
        self.last_at = max(self.last_at, doc.at)


def group(docs: list[Doc], cfg: Config = Config()) -> list[list[int]]:
    """Indices of ``docs`` grouped by step 3 of the module docstring (every group, singletons too).

    Single-pass clustering in time order (as in topic detection and tracking): each request joins
    the group whose centroid it is most similar to, if that similarity (plus PLACE_BONUS for the same
    place) reaches ``threshold``, the group's last request is within ``link_days`` and the areas
    agree; otherwise it starts a group. Comparing with the centroid, not with one member, keeps a
    group from drifting from one problem to another through a chain of near neighbours.
    Candidate groups come from an index of the groups' heaviest terms (the NEIGHBOURS latest per term).
    """
    prepare(docs)
    order = sorted(range(len(docs)), key=lambda i: (docs[i].at, docs[i].id))
    vectors, df = _vectors(docs, cfg.top_terms)
    clusters: list[_Cluster] = []
    index: dict[str, list[int]] = defaultdict(list)
    span = timedelta(days=cfg.link_days)
    for i in order:
        doc, vec = docs[i], vectors[i]
        seeds = [t for t in list(vec)[:SEED_TERMS] if df[t] >= 2]
        candidates = {c for t in seeds for c in index.get(t, ())[-NEIGHBOURS:]}
        best, best_sim = None, cfg.threshold
        for c in sorted(candidates):
            cluster = clusters[c]
            if doc.at - cluster.last_at > span:
                continue
            if doc.area and cluster.area and doc.area != cluster.area:
                continue  # same place: requests of different districts never group
            sim = cluster.similarity(vec) + (PLACE_BONUS if doc.place and doc.place == cluster.place else 0.0)
            if sim >= best_sim:
                best, best_sim = c, sim
        if best is None:
            best = len(clusters)
            clusters.append(_Cluster(i, doc, vec))
        else:
            clusters[best].add(i, doc, vec)
        for t in seeds:
            posting = index[t]
            if not posting or posting[-1] != best:
                posting.append(best)
    return sorted((sorted(c.members) for c in clusters), key=lambda g: (-len(g), g[0]))


def _describe(docs: list[Doc], members: list[int], vectors: list[dict[str, float]]) -> dict[str, Any]:
    weight: Counter = Counter()
    for i in members:
        weight.update(vectors[i])
    ranked = [t for t, _ in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))]
    terms = ranked[:5]
    heavy = set(ranked[:8])
    pairs: Counter = Counter()
    for i in members:
        pairs.update(p for p in docs[i].pairs if any(p.startswith(a) and p[len(a):] in heavy for a in heavy))
    phrase = None
    if pairs:
        best, n = max(pairs.items(), key=lambda kv: (kv[1], len(kv[0]), kv[0]))
        if n >= max(2, len(members) / 2):
            phrase = best
    places = Counter(docs[i].place for i in members if docs[i].place)
    place = None
    if places:
        name, n = places.most_common(1)[0]
        place = name if n >= max(2, len(members) * 0.4) else None
    lead = [phrase] if phrase else []
    label_terms = lead + [t for t in terms if not (phrase and t in phrase)]
    if place and not any(place in t or t in place for t in label_terms[:3]):
        label_terms = [place] + label_terms
    centroid = {t: w / len(members) for t, w in weight.items()}
    central = max(members, key=lambda i: (sum(w * centroid.get(t, 0.0) for t, w in vectors[i].items()),
                                          -docs[i].at.timestamp()))
    example = mask_request_text(re.sub(r"\s+", " ", docs[central].text).strip()) or ""
    return {
        "label": " ".join(label_terms[:3]),
        "terms": terms, "phrase": phrase, "place": place,
        "signature": terms[:3],
        "example": example[:EXAMPLE_CHARS] + ("…" if len(example) > EXAMPLE_CHARS else ""),
        "example_id": docs[central].id,
        "area": docs[members[0]].area,
    }


def _same_topic(desc: dict[str, Any], doc: Doc, terms: set[str]) -> bool:
    """Whether a baseline request is about the topic: its leading term and one more of the three
    leading terms, and the topic's place if it has one."""
    signature = desc["signature"]
    if not signature or signature[0] not in terms:
        return False
    if len(signature) > 1 and not set(signature[1:]) & terms:
        return False
    if desc.get("area") and doc.area and doc.area != desc["area"]:
        return False
    place = desc["place"]
    return place is None or doc.place == place or place in doc.text


def find_topics(docs: list[Doc], *, start: datetime, end: datetime, baseline: list[Doc] | None = None,
                cfg: Config = Config(),
                baseline_windows: Sequence[tuple[datetime, datetime]] | None = None) -> list[dict[str, Any]]:
    """Topics among the ``docs`` made in ``[start, end)``, ranked by growth against ``baseline``.

    ``baseline`` holds the documents of the baseline windows (any others are ignored): by default
    the ``cfg.baseline_periods`` windows of the same length just before ``start``; the wall passes
    the same hours of the days before (``baseline_windows``, each ``[from, to)`` naive UTC), and
    the baseline per window is then the matches over ``len(baseline_windows)``.
    Pure apart from segmentation; deterministic for the same input.
    """
    window = [d for d in docs if start <= d.at < end]
    if not window:
        return []
    groups = [g for g in group(window, cfg) if len(g) >= cfg.min_size]
    vectors, _df = _vectors(window, cfg.top_terms)
    span = end - start
    windows = list(baseline_windows) if baseline_windows else [(start - span * cfg.baseline_periods, start)]
    periods = len(windows) if baseline_windows else cfg.baseline_periods
    before = prepare([d for d in (baseline or []) if any(lo <= d.at < hi for lo, hi in windows)])
    before_terms = [set(d.terms) for d in before]
    history = bool(before)  # no request at all before the window: nothing to grow from
    topics = []
    for members in groups:
        desc = _describe(window, members, vectors)
        matched = sum(1 for doc, terms in zip(before, before_terms) if _same_topic(desc, doc, terms))
        per_period = matched / periods if history else None
        count = len(members)
        growth = (count + 1) / (per_period + 1) if history else None
        ordered = sorted(members, key=lambda i: (window[i].at, window[i].id))
        topics.append({
            **desc,
            "count": count,
            "baseline_count": matched, "baseline_per_period": per_period,
            "growth": growth, "emerging": growth is not None and growth >= EMERGING_GROWTH,
            "first": window[ordered[0]].at.replace(tzinfo=UTC).isoformat(),
            "last": window[ordered[-1]].at.replace(tzinfo=UTC).isoformat(),
            "ids": [window[i].id for i in ordered][:MAX_IDS],
            "categories": dict(Counter(window[i].category or "" for i in members).most_common(5)),
            "weight": sum(window[i].weight for i in members),
        })
    topics.sort(key=lambda t: (not t["emerging"], -(t["growth"] or 0.0), -t["count"], t["label"]))
    for rank, topic in enumerate(topics, 1):
        topic["rank"] = rank
    return topics


# ---------------------------------------------------------------- from the database

def _ticket_docs(session: Session, *, scope: str, start: datetime, end: datetime) -> list[Doc]:
    _level, cities, districts = resolve_scope(session, scope)
    rows = ticket_texts(session, cities=cities, districts=districts, start=start, end=end, limit=MAX_DOCS)
    return [Doc(id=tid, text=text, at=at, category=cat, area=district) for tid, text, at, cat, district in rows]


def topics_for(session: Session, *, scope: str, start: datetime, end: datetime,
               cfg: Config = Config()) -> list[dict[str, Any]]:
    """Topics among a scope's tickets created in ``[start, end)`` (naive UTC), with their baseline."""
    docs = _ticket_docs(session, scope=scope, start=start, end=end)
    lo = start - (end - start) * cfg.baseline_periods
    baseline = _ticket_docs(session, scope=scope, start=lo, end=start)
    return find_topics(docs, start=start, end=end, baseline=baseline, cfg=cfg)


def report_section(session: Session, *, scope: str, start: datetime, end: datetime,
                   settings: Settings | None = None, limit: int = 5) -> list[dict[str, Any]]:
    """The report's hot-topics rows: the ``limit`` best-ranked topics (label, count, growth, example)."""
    return [{k: t[k] for k in ("rank", "label", "count", "growth", "emerging", "baseline_per_period",
                               "example", "terms", "place", "area")}
            for t in topics_for(session, scope=scope, start=start, end=end)[:limit]]
