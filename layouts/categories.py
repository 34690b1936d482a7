"""Ticket categories for display: the stored name on Chinese pages, English on English pages
(the table lives in ``cockpit.names_en``, which reports share)."""

from __future__ import annotations

from cockpit.names_en import CATEGORY_EN, category_en

__all__ = ["CATEGORY_EN", "category_label", "category_path_label"]


def category_label(name: str | None, lang: str) -> str:
    """A category (any level) as shown in ``lang``: the stored name in Chinese, English from the
    table, else pinyin; '—' for none."""
    if not name:
        return "—"
    if lang != "en":
        return name
    return category_en(name)


def category_path_label(path: list[str] | tuple[str, ...] | None, lang: str) -> str:
    """'城乡建设 / 物业服务' or 'Urban & rural construction / Property management'."""
    return " / ".join(category_label(p, lang) for p in (path or []) if p)
