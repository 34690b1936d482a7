"""Is a region, a ticket or an alert inside a principal's scope? One rule, used by every path.

A principal's scope code covers itself and every region below it (regions table; Chinese adcodes
nest by prefix as a fallback). ``*`` covers everything. A district-scoped principal sees only
rows whose district is theirs: a ticket without a district is outside a district scope, and a
row whose district does not belong to its city is visible only to a scope covering both.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from cockpit.auth.principal import AccessDenied, Principal
from cockpit.store.regions import parent_table


def _parents(session: Session) -> dict[str, str | None]:
    cached = session.info.get("cockpit_region_parents")
    if cached is None:
        cached = parent_table(session)
        session.info["cockpit_region_parents"] = cached
    return cached


def ancestors(session: Session, code: str) -> list[str]:
    """``code`` and every region above it, nearest first (region table; adcode prefix rule as fallback)."""
    parents = _parents(session)
    chain, seen, current = [code], {code}, code
    while parents.get(current) and parents[current] not in seen:
        current = parents[current]
        chain.append(current)
        seen.add(current)
    if len(chain) == 1 and code.isdigit() and len(code) == 6:
        for parent in (code[:4] + "00", code[:2] + "0000"):  # 620102 -> 620100 -> 620000
            if parent not in seen:
                chain.append(parent)
                seen.add(parent)
    return chain


def covers_code(session: Session, scopes: Iterable[str], code: str | None) -> bool:
    """Whether one of ``scopes`` is ``code`` or above it."""
    allowed = set(scopes)
    if "*" in allowed or (code and str(code) in allowed):  # a scope covers itself: no table read
        return True
    if not code:
        return False
    return bool(allowed.intersection(ancestors(session, str(code))))


def home_city(session: Session, principal: Principal) -> str | None:
    """The one city a principal works in: its scope when that is a city, the city of its district
    scope; None for a province-wide (or ``*``, system, several-scope) principal, whose menus list
    every city. Read-only (regions table; the adcode rule as fallback)."""
    from cockpit.store.regions import scope_level

    if principal.role == "system" or "*" in principal.scopes or len(principal.scopes) != 1:
        return None
    code = principal.scope
    level = scope_level(session, code)
    if level == "city":
        return code
    if level == "district":
        return next((c for c in ancestors(session, code)[1:] if scope_level(session, c) == "city"), None)
    return None


def covers_place(session: Session, scopes: Iterable[str], city: str | None, district: str | None) -> bool:
    """Whether a row (ticket, alert, event) with this city and district is inside ``scopes``."""
    allowed = set(scopes)
    if "*" in allowed:
        return True
    if district:
        chain = ancestors(session, str(district))
        if city is None or str(city) in chain:
            return bool(allowed.intersection(chain))
        return bool(allowed.intersection(chain) & allowed.intersection(ancestors(session, str(city))))
    return bool(city) and bool(allowed.intersection(ancestors(session, str(city))))


def require_code(session: Session, principal: Principal, code: str | None) -> None:
    """Raise AccessDenied (403) unless ``principal`` covers region ``code``."""
    if not covers_code(session, principal.scopes, code):
        raise AccessDenied(f"region {code} is outside your scope", status=403)


def require_place(session: Session, principal: Principal, city: str | None, district: str | None,
                  *, hidden: bool = True) -> None:
    """Raise AccessDenied unless the row is in scope: 404 by default, so others' ids are not confirmed."""
    if not covers_place(session, principal.scopes, city, district):
        raise AccessDenied("not found", status=404 if hidden else 403)


# ------------------------------------------------------------------ a principal's scope as SQL-ready parts

Restriction = tuple[tuple[str, tuple[str, ...]], ...]  # (("city", codes) | ("district", codes), ...)


def restriction(session: Session, principal: Principal) -> Restriction | None:
    """The principal's scopes as SQL-ready parts (None: everywhere), for ``store.tickets.scope_condition``. Read-only."""
    from cockpit.store.regions import resolve_scope

    if principal.role == "system" or "*" in principal.scopes:
        return None
    parts = []
    for code in principal.scopes:
        resolved = resolve_scope(session, code)
        if resolved.district_codes:
            parts.append(("district", tuple(resolved.district_codes)))
        else:
            parts.append(("city", tuple(resolved.city_codes)))
    return tuple(parts)


def require_query_places(session: Session, principal: Principal, query) -> None:
    """A query naming a city or district outside the scope is refused (403), whichever path sent it."""
    for key in ("city", "district", "scope"):
        code = (query or {}).get(key)
        if code:
            from cockpit.store.regions import scope_level

            if scope_level(session, str(code)) is not None:
                require_code(session, principal, str(code))
