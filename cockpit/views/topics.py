"""The wall's hot-topics panel: what citizens of a city are suddenly talking about today.

``compute_city_topics`` runs the topics engine (``cockpit.topics``, jieba) over the city's tickets
of the local day so far and ranks them by growth against the same hours of the BASELINE_DAYS days
before. It is slow (segmentation), so only the worker runs it (``views.panels``, panel "topics",
every TOPICS_INTERVAL_S); a wall refresh only reads the stored value (``wall_topics``) and never
computes it inline. The value says its own state, so the screen never shows an empty panel as if
all were well: ``ok``, ``baseline_loading`` (fewer than BASELINE_DAYS days before today hold any
request text: counts only, no growth), ``no_text`` (no ticket today carries text) and, on the
wall, ``pending`` (the worker has not stored today's topics yet). Times naive UTC in SQL, the day
is the local day of ``settings.timezone``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from cockpit import topics
from cockpit.store.db import Stores
from cockpit.store.texts import text_coverage, ticket_texts
from cockpit.timeutil import local_midnight, naive_utc
from cockpit.views.regions import region_names

BASELINE_DAYS = 4  # today's topics are compared with the same hours of this many days before
TOPICS_INTERVAL_S = 300.0  # the worker recomputes the panel this often; older than twice this it is stale
MAX_TOPICS = 8  # kept in the panel value (the wall shows what fits)
ROW_KEYS = ("rank", "label", "terms", "phrase", "place", "count", "growth", "emerging", "baseline_per_period",
            "example_id")


def compute_city_topics(stores: Stores, city: str, now: datetime) -> dict[str, Any]:
    """Today's topics of ``city`` (local midnight to ``now``, aware) against the same hours of the
    BASELINE_DAYS days before: ``{"state", "tickets", "texts", "baseline": {"days", "needed"},
    "from", "to", "topics": [...]}``; each topic has the engine's rank, label, terms, count,
    growth, emerging, baseline_per_period, its district (``district`` code, names in
    ``district_name``, only when its requests share one) and top ``category``. JSON-ready."""
    tz = stores.settings.tz
    midnight = local_midnight(now.astimezone(tz).date(), tz)
    start, end = naive_utc(midnight), naive_utc(now)
    windows = [(start - timedelta(days=k), end - timedelta(days=k)) for k in range(1, BASELINE_DAYS + 1)]
    days = [(start - timedelta(days=k), start - timedelta(days=k - 1)) for k in range(1, BASELINE_DAYS + 1)]
    with stores.session() as session:
        (tickets, texts), *before = text_coverage(session, cities=[city], windows=[(start, end), *days])
        rows = ticket_texts(session, cities=[city], districts=None, start=start, end=end, limit=topics.MAX_DOCS)
        base_rows = ticket_texts(session, cities=[city], districts=None, start=windows[-1][0], end=windows[0][1],
                                 limit=topics.MAX_DOCS) if texts else []
    baseline = {"days": sum(1 for _n, with_text in before if with_text), "needed": BASELINE_DAYS}
    value: dict[str, Any] = {"tickets": tickets, "texts": texts, "baseline": baseline,
                             "from": midnight.isoformat(), "to": now.isoformat(), "topics": []}
    if not texts:
        return {**value, "state": "no_text"}
    docs = [topics.Doc(id=tid, text=text, at=at, category=cat, area=district) for tid, text, at, cat, district in rows]
    base = [topics.Doc(id=tid, text=text, at=at, category=cat, area=district)
            for tid, text, at, cat, district in base_rows]
    found = topics.find_topics(docs, start=start, end=end, baseline=base, baseline_windows=windows)
    loading = baseline["days"] < BASELINE_DAYS
    if loading:  # growth against a partial baseline would be wrong: largest first, no growth
        found.sort(key=lambda t: (-t["count"], t["label"]))
    by_id = {d.id: d for d in docs}
    names = region_names(stores, sorted({t["area"] for t in found[:MAX_TOPICS] if t.get("area")}))
    out = []
    for rank, t in enumerate(found[:MAX_TOPICS], 1):
        row = {k: t.get(k) for k in ROW_KEYS}
        if loading:
            row.update(rank=rank, growth=None, emerging=False, baseline_per_period=None)
        categories = Counter(by_id[i].category for i in t["ids"] if i in by_id and by_id[i].category)
        row["category"] = categories.most_common(1)[0][0] if categories else None
        row["district"] = t.get("area")
        row["district_name"] = names.get(t["area"]) if t.get("area") else None
        out.append(row)
    return {**value, "state": "baseline_loading" if loading else "ok", "topics": out}


def for_scope(value: dict[str, Any], level: str, scope: str) -> dict[str, Any]:
    """The city's stored topics as a scope may see them: a district wall keeps only the topics of
    its district (topics never group requests of two districts, so these are its own topics)."""
    if level != "district":
        return value
    kept = [t for t in value.get("topics") or [] if t.get("district") == scope]
    return {**value, "tickets": None, "texts": None, "district_only": True,
            "topics": [{**t, "rank": i} for i, t in enumerate(kept, 1)]}
