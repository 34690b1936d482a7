"""Evaluate hot-topic finding (cockpit.topics) on the real TipDM 2020 citizen messages.

Usage: python scripts/topics_eval.py [DATA_DIR] [--json]
DATA_DIR defaults to ../shared/data/tipdm2020-citizen-messages (or tests/data/tipdm2020, the copy the
tests use). Prints the figures docs/topics.md reports:

1. Most-supported messages (messages_with_votes.csv, 4,326 messages, 2019): run month by month over
   2019-01..2019-12 (each month against the four before it); for the 20 messages with the most
   votes, is each one inside a topic, and at which rank is its topic in its month?
2. Labelled categories (messages_labeled_level1.csv, 495 messages, 7 labels): group them all at
   once (no time limit, they span 2011-2020) and measure the purity of the groups (share of a group
   carrying its most common label) against random groups of the same sizes.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit import topics  # noqa: E402

SHANGHAI = timedelta(hours=8)
# Hot issues of the data set, by a key phrase: the TipDM 2020 task 2 examples and the most-voted threads.
KNOWN_ISSUES = ("58车贷", "滨河苑", "丽发新城", "魅力之城", "月亮岛", "绿地海外滩", "五矿万境", "金毛湾")


def _open(path: Path):
    if path.exists():
        return open(path, encoding="utf-8", newline="")
    return gzip.open(str(path) + ".gz", "rt", encoding="utf-8", newline="")


def parse_time(text: str) -> datetime:
    text = text.strip().replace("/", "-")
    date, _, clock = text.partition(" ")
    y, m, d = (int(x) for x in date.split("-"))
    parts = [int(x) for x in (clock or "0:0:0").split(":")] + [0, 0]
    return datetime(y, m, d, parts[0], parts[1], parts[2]) - SHANGHAI  # local -> naive UTC


def load_votes(folder: Path) -> list[topics.Doc]:
    with _open(folder / "messages_with_votes.csv") as fh:
        return [topics.Doc(id=r["留言编号"], text=f"{r['留言主题']}。{r['留言详情'].strip()}",
                           at=parse_time(r["留言时间"]), weight=int(r["点赞数"])) for r in csv.DictReader(fh)]


def load_labelled(folder: Path) -> list[topics.Doc]:
    with _open(folder / "messages_labeled_level1.csv") as fh:
        return [topics.Doc(id=r["留言编号"], text=f"{r['留言主题']}。{r['留言详情'].strip()}",
                           at=parse_time(r["留言时间"]), category=r["一级分类"]) for r in csv.DictReader(fh)]


def month_starts(first: datetime, last: datetime):
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        yield datetime(y, m, 1) - SHANGHAI
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def most_supported(docs: list[topics.Doc], n_top: int = 20) -> dict:
    topics.prepare(docs)
    months = list(month_starts(datetime(2019, 1, 1), datetime(2019, 12, 1)))
    found: dict[str, list[dict]] = {}
    for k, start in enumerate(months):
        end = months[k + 1] if k + 1 < len(months) else datetime(2020, 1, 1) - SHANGHAI
        found[(start + SHANGHAI).strftime("%Y-%m")] = topics.find_topics(docs, start=start, end=end, baseline=docs)
    top = sorted((d for d in docs if d.at >= months[0]), key=lambda d: -d.weight)[:n_top]
    rows = []
    for d in top:
        month = (d.at + SHANGHAI).strftime("%Y-%m")
        hit = next((t for t in found.get(month, []) if d.id in t["ids"]), None)
        rows.append({"id": d.id, "votes": d.weight, "month": month, "title": d.text.split("。")[0][:30],
                     "topic": hit["label"] if hit else None, "topic_size": hit["count"] if hit else None,
                     "topic_rank": hit["rank"] if hit else None,
                     "topics_in_month": len(found.get(month, []))})
    by_weight = []
    for month, ts in found.items():
        for t in ts:
            by_weight.append({"month": month, "label": t["label"], "count": t["count"], "votes": t["weight"],
                              "growth": round(t["growth"], 2), "rank": t["rank"], "example": t["example"]})
    by_weight.sort(key=lambda t: -t["votes"])
    known = []
    for key in KNOWN_ISSUES:
        per_month = Counter((d.at + SHANGHAI).strftime("%Y-%m") for d in docs if key in d.text and d.at >= months[0])
        if not per_month:
            continue
        month, n = per_month.most_common(1)[0]
        ids = {d.id for d in docs if key in d.text and (d.at + SHANGHAI).strftime("%Y-%m") == month}
        best = max(found.get(month, []), key=lambda t: len(ids & set(t["ids"])), default=None)
        share = len(ids & set(best["ids"])) / len(ids) if best else 0.0
        known.append({"issue": key, "month": month, "messages": n, "covered": round(share, 2),
                      "topic": best["label"] if best and share else None,
                      "topic_size": best["count"] if best and share else None,
                      "rank": best["rank"] if best and share else None,
                      "topics_in_month": len(found.get(month, []))})
    return {"known_issues": known,"top_messages": rows, "in_a_topic": sum(1 for r in rows if r["topic"]),
            "topics_per_month": {m: len(ts) for m, ts in found.items()},
            "messages_in_topics": sum(t["count"] for ts in found.values() for t in ts),
            "hottest_topics": by_weight[:10]}


def purity(groups: list[list[str]]) -> float:
    """Members carrying their group's most common label / members, over groups of 2 or more."""
    big = [g for g in groups if len(g) >= 2]
    total = sum(len(g) for g in big)
    return sum(Counter(g).most_common(1)[0][1] for g in big) / total if total else float("nan")


def labelled(docs: list[topics.Doc], seed: int = 42) -> dict:
    cfg = topics.Config(link_days=1e6)
    groups = topics.group(docs, cfg)
    labelled_groups = [[docs[i].category for i in g] for g in groups]
    sizes = [len(g) for g in groups if len(g) >= 2]
    rng = random.Random(seed)
    labels = [d.category for d in docs]
    random_purities = []
    for _ in range(200):
        pool = labels[:]
        rng.shuffle(pool)
        out, k = [], 0
        for s in sizes:
            out.append(pool[k:k + s])
            k += s
        random_purities.append(purity(out))
    return {"messages": len(docs), "groups_of_2_or_more": len(sizes), "messages_grouped": sum(sizes),
            "purity": purity(labelled_groups), "random_purity_mean": sum(random_purities) / len(random_purities),
            "majority_share": Counter(labels).most_common(1)[0][1] / len(labels),
            "examples": [{"size": len(g), "labels": dict(Counter(docs[i].category for i in g)),
                          "titles": [docs[i].text.split("。")[0][:24] for i in g[:4]]}
                         for g in groups if len(g) >= 3][:6]}


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    candidates = [Path(args[0])] if args else [
        up / "shared" / "data" / "tipdm2020-citizen-messages" for up in (ROOT.parent, ROOT.parent.parent)]
    folder = next((c for c in candidates if c.exists()), ROOT / "tests" / "data" / "tipdm2020")
    t0 = time.perf_counter()
    votes = most_supported(load_votes(folder))
    t1 = time.perf_counter()
    labels = labelled(load_labelled(folder))
    t2 = time.perf_counter()
    out = {"data": str(folder), "most_supported": votes, "labelled": labels,
           "seconds": {"votes_12_months": round(t1 - t0, 1), "labelled": round(t2 - t1, 1)}}
    if "--json" in argv:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    print(f"data: {folder}")
    print(f"most-supported: {votes['in_a_topic']} of {len(votes['top_messages'])} top-voted messages are in a topic")
    for r in votes["top_messages"]:
        print(f"  {r['votes']:>5}  {r['month']}  {r['title']:<32} -> {r['topic']} "
              f"(size {r['topic_size']}, rank {r['topic_rank']} of {r['topics_in_month']})")
    print("known hot issues (month with most messages mentioning it):")
    for k in votes["known_issues"]:
        print(f"  {k['issue']:<6} {k['month']}  {k['messages']:>3} msgs  covered {k['covered']:.2f} by "
              f"{k['topic']} (size {k['topic_size']}, rank {k['rank']} of {k['topics_in_month']})")
    print("hottest topics by votes:")
    for t in votes["hottest_topics"]:
        print(f"  {t['month']}  {t['label']:<24} {t['count']:>3} msgs  {t['votes']:>5} votes  "
              f"growth {t['growth']}  rank {t['rank']}")
    print(f"labelled: purity {labels['purity']:.3f} vs random {labels['random_purity_mean']:.3f} "
          f"(majority label {labels['majority_share']:.3f}); {labels['groups_of_2_or_more']} groups, "
          f"{labels['messages_grouped']} of {labels['messages']} messages grouped")
    for ex in labels["examples"]:
        print(f"  {ex['size']} {ex['labels']} {ex['titles']}")
    print(f"seconds: {out['seconds']}")


if __name__ == "__main__":
    main(sys.argv[1:])
