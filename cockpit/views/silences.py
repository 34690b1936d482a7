"""Silences as a person sets them: scope-checked, owned by the caller, audited.

One path for the API (``/api/v1/silences``) and the /supervise "静默 / Silence" action. The owner
is always the caller (``Principal.label``: the logged-in user or the token's name), never a typed
name. A silence is pinned to a place inside the caller's scope: a city or district named in the
request must be inside it (else ``AccessDenied``, 403), and a request that names none is pinned
to the caller's own city or district (a province scope, or ``*``, may silence province-wide).
Listing is filtered in SQL to the silences pinned inside the caller's scope. Bad input raises
``ParamError`` naming the field.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cockpit.auth import audit
from cockpit.auth.principal import AccessDenied, Principal
from cockpit.auth.scope import covers_code, covers_place
from cockpit.errors import ParamError, UnknownAlert
from cockpit.store import alerts as alert_store
from cockpit.store.regions import resolve_scope, scope_level
from cockpit.timeutil import utcnow
from cockpit.watch import actions
from cockpit.watch.config import RULES
from cockpit.watch.inbox import silence_dict

MAX_DURATION = timedelta(days=30)
MAX_COMMENT = 500
CODE_MAX = 32
CATEGORY_MAX = 64


def _everywhere(principal: Principal) -> bool:
    return principal.role == "system" or "*" in principal.scopes


def _places(session, principal: Principal) -> tuple[set[str], set[str], bool]:
    """(cities, districts, province-wide allowed) of the principal's scopes."""
    cities: set[str] = set()
    districts: set[str] = set()
    wide = False
    for code in principal.scopes:
        level = scope_level(session, code)
        resolved = resolve_scope(session, code)
        if level == "province" or resolved.level == "province":
            wide = True
        if resolved.district_codes:
            districts |= set(resolved.district_codes)
        else:
            cities |= set(resolved.city_codes)
    return cities, districts, wide


def _code(value, field: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > CODE_MAX or not value.strip() or not value.isprintable():
        raise ParamError(field, f"must be a region code of at most {CODE_MAX} characters")
    return value.strip()


def _place(session, principal: Principal, city: str | None, district: str | None) -> tuple[str | None, str | None]:
    """The (city, district) a silence is pinned to, checked against the caller's scope."""
    if district is not None:
        if scope_level(session, district) != "district":
            raise ParamError("district", f"unknown district {district!r}")
        parent = resolve_scope(session, district).city_codes[0]
        if city is not None and city != parent:
            raise ParamError("district", f"district {district} is not in city {city}")
        city = parent
    if city is not None and scope_level(session, city) != "city":
        raise ParamError("city", f"unknown city {city!r}")
    if city is None and not _everywhere(principal):
        cities, districts, wide = _places(session, principal)
        if not wide:
            if len(principal.scopes) != 1:
                raise ParamError("city", "name the city or district to silence")
            resolved = resolve_scope(session, principal.scope)
            city = resolved.city_codes[0] if resolved.city_codes else None
            district = resolved.district_codes[0] if resolved.district_codes else None
    for code, field in ((district, "district"), (city if district is None else None, "city")):
        if code is not None and not covers_code(session, principal.scopes, code):
            raise AccessDenied(f"{field} {code} is outside your scope", status=403)
    return city, district


def create(stores, principal: Principal, *, comment, ends_at: datetime | None, rule=None, city=None,
           district=None, category=None, ip: str | None = None, now: datetime | None = None) -> dict:
    """Set a silence owned by ``principal`` until ``ends_at`` (naive UTC); returns it as a dict.

    Raises ParamError (bad field), AccessDenied (no ``act`` permission, or a place outside the
    caller's scope: audited as denied)."""
    principal.require("act")
    now = now or utcnow()
    if rule not in (None, "") and (not isinstance(rule, str) or rule not in RULES):
        raise ParamError("rule", f"expected one of {', '.join(RULES)}")
    if not isinstance(comment, str) or not comment.strip():
        raise ParamError("comment", "a silence needs a comment (why)")
    if len(comment) > MAX_COMMENT:
        raise ParamError("comment", f"at most {MAX_COMMENT} characters")
    if "\x00" in comment:
        raise ParamError("comment", "must not contain NUL characters")
    if ends_at is None:
        raise ParamError("ends_at", "required: when the silence ends (ISO 8601)")
    if ends_at <= now:
        raise ParamError("ends_at", "must be in the future")
    if ends_at > now + MAX_DURATION:
        raise ParamError("ends_at", f"at most {MAX_DURATION.days} days ahead")
    if category in ("", None):
        category = None
    elif not isinstance(category, str) or len(category) > CATEGORY_MAX or not category.strip() \
            or not category.isprintable():
        raise ParamError("category", f"must be a ticket category of at most {CATEGORY_MAX} characters")
    city, district = _code(city, "city"), _code(district, "district")
    denied: AccessDenied | None = None
    with stores.session() as session:
        try:
            city, district = _place(session, principal, city, district)
        except AccessDenied as exc:
            audit.record_for(session, principal, "silence_create", target=district or city, ip=ip, outcome="denied")
            denied = exc
        else:
            out = actions.silence(session, by=principal.label, comment=comment, ends_at=ends_at, rule=rule or None,
                                  city=city, district=district, category=category and category.strip(), now=now)
            audit.record_for(session, principal, "silence_create", target=str(out["id"]), ip=ip,
                             detail={k: out[k] for k in ("rule", "city", "district", "category", "ends_at")})
    if denied is not None:
        raise denied
    return out


def listing(stores, principal: Principal, *, active_only: bool = True, limit: int = 200,
            now: datetime | None = None) -> list[dict]:
    """The silences inside the caller's scope (filtered in SQL), latest end first."""
    now = now or utcnow()
    with stores.session() as session:
        if _everywhere(principal):
            rows = alert_store.list_silences(session, now=now, active_only=active_only, limit=limit)
        else:
            cities, districts, wide = _places(session, principal)
            rows = alert_store.list_silences(session, now=now, active_only=active_only, limit=limit,
                                             cities=sorted(cities), districts=sorted(districts), everywhere=wide)
        return [silence_dict(x) for x in rows]


def expire(stores, principal: Principal, silence_id: int, *, ip: str | None = None,
           now: datetime | None = None) -> dict:
    """End a silence now (audited). A silence outside the caller's scope is not found (404)."""
    principal.require("act")
    out = None
    with stores.session() as session:
        sil = alert_store.get_silence(session, silence_id)
        if sil is not None and (_everywhere(principal) or _inside(session, principal, sil.city, sil.district)):
            out = actions.expire_silence(session, silence_id, by=principal.label, now=now)
        audit.record_for(session, principal, "silence_expire", target=str(silence_id), ip=ip,
                         outcome="ok" if out is not None else "denied")
    if out is None:
        raise UnknownAlert(f"no silence {silence_id}")
    return out


def _inside(session, principal: Principal, city: str | None, district: str | None) -> bool:
    cities, districts, wide = _places(session, principal)
    if city is None and district is None:
        return wide
    return (city in cities) or (district is not None and district in districts)


def silence_alert(stores, principal: Principal, alert_id: int, *, hours: float, comment: str,
                  now: datetime | None = None) -> dict:
    """The /supervise action: silence what this alert is (its rule in its city and district, and
    its ticket category when it has one) for ``hours``. The alert must be inside the caller's
    scope (else not found)."""
    now = now or utcnow()
    try:
        hours = float(hours)
    except (TypeError, ValueError):
        raise ParamError("hours", "not a number") from None
    if not 0 < hours <= MAX_DURATION.total_seconds() / 3600:
        raise ParamError("hours", f"between 0 and {MAX_DURATION.days * 24}")
    with stores.session() as session:
        alert = alert_store.get(session, alert_id)
        if alert is None or not covers_place(session, principal.scopes, alert.city, alert.district):
            raise UnknownAlert(f"no alert {alert_id}")
        rule, city, district = alert.rule, alert.city, alert.district
        category = actions.alert_category(alert.detail)
    return create(stores, principal, comment=comment, ends_at=now + timedelta(hours=hours), rule=rule,
                  city=city, district=district, category=category, now=now)
