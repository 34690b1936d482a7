"""The kiosk session cache (issue 15, Screens): a wall's refresh does not read its session from SQL
each time, and nothing of access control gets weaker for it.

Two app instances share one database and one Redis (as two web processes do): revoking a link,
logging a screen out and a CLI revocation refuse the very next request in both; a session ended
while another request was reading it cannot be cached again; expiry and the once-a-minute last-seen
write still hold; forged and unknown cookies are refused. User sessions are cached too, with their
role; logout, disabling the user and resetting the password refuse the next request in both, and
the idle timeout still ends them.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis as redis_lib
from click.testing import CliRunner
from sqlalchemy import event, select

from app import create_app
from cockpit.auth import kiosk, sessions, users
from cockpit.auth.audit import utcnow
from cockpit.store.db import Stores
from cockpit.store.models import KioskLink, User, WebSession
from tests.login import client_for, csrf_of
from tests.services import REDIS_URL


@pytest.fixture
def apps(stores):
    """Two app instances (own engines, own Redis clients) on the same database and Redis."""
    from geo.regions import load_default_regions

    with stores.session() as session:
        load_default_regions(session)
    other = Stores.open(stores.settings, redis_client=redis_lib.Redis.from_url(REDIS_URL, decode_responses=True))
    yield create_app(stores.settings, stores=stores), create_app(other.settings, stores=other)
    other.engine.dispose()


def _route(client, path="/wall/620100"):
    body = {"output": "..app-page.children...app-lang.data..",
            "outputs": [{"id": "app-page", "property": "children"}, {"id": "app-lang", "property": "data"}],
            "inputs": [{"id": "app-url", "property": "pathname", "value": path},
                       {"id": "app-url", "property": "search", "value": "?kiosk=1"}],
            "changedPropIds": ["app-url.pathname"], "state": []}
    return client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": csrf_of(client)})


def _screens(apps, stores, scope="620100"):
    """A kiosk link and the same screen session (cookie) on both instances."""
    with stores.session() as session:
        link, path = kiosk.create(session, scope=scope, created_by="test")
        link_id = link.id
    first = apps[0].server.test_client()
    assert first.get(path).status_code == 302
    second = apps[1].server.test_client()
    for name in ("ck_session", "_csrf_token"):
        second.set_cookie(name, first.get_cookie(name).value)
    return link_id, path, first, second


def _sql_reads_of_sessions(stores):
    seen = []

    def count(conn, cursor, statement, *args):
        if "web_sessions" in statement:
            seen.append(statement)

    event.listen(stores.engine, "before_cursor_execute", count)
    return seen


def test_sc001_a_kiosk_refresh_reads_its_session_from_sql_once_per_cache_life(apps, stores, redis_client):
    link_id, _, screen, _ = _screens(apps, stores)
    reads = _sql_reads_of_sessions(stores)
    for _ in range(5):
        assert _route(screen).status_code == 200
    assert len(reads) == 0  # the kiosk start cached it; every refresh found it in Redis
    raw = screen.get_cookie("ck_session").value
    assert redis_client.ttl(sessions.CACHE_PREFIX + sessions._hash(raw)) <= stores.settings.session_cache_seconds
    assert raw not in "".join(redis_client.get(k) or "" for k in redis_client.keys(sessions.CACHE_PREFIX + "*"))
    # off: every request reads SQL again
    stores.settings = stores.settings.with_(session_cache_seconds=0)
    before = len(reads)
    for _ in range(3):
        assert _route(screen).status_code == 200
    assert len(reads) - before == 3


def test_sc002_revoking_a_link_refuses_the_next_request_in_both_instances(apps, stores):
    link_id, path, first, second = _screens(apps, stores)
    for client in (first, second, first, second):
        assert _route(client).status_code == 200  # both instances have seen (and cached) the session
    with stores.session() as session:
        kiosk.revoke(session, link_id)
    assert _route(first).status_code == 401
    assert _route(second).status_code == 401
    assert second.get("/wall/620100?kiosk=1").status_code == 302
    assert first.get(path).status_code == 404


def test_sc003_revoking_by_the_cli_and_logging_a_screen_out_take_effect_at_once(apps, stores):
    from cockpit.cli import main

    link_id, _, first, second = _screens(apps, stores)
    assert _route(first).status_code == 200 and _route(second).status_code == 200
    settings = stores.settings
    env = {"COCKPIT_DATABASE_URL": settings.sqlalchemy_url, "COCKPIT_REDIS_URL": settings.redis_url,
           "COCKPIT_VAR_DIR": str(settings.var_dir)}
    result = CliRunner().invoke(main, ["kiosk", "revoke", str(link_id)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert _route(first).status_code == 401 and _route(second).status_code == 401

    _, _, first, second = _screens(apps, stores, scope="620200")
    assert _route(first, "/wall/620200").status_code == 200 and _route(second, "/wall/620200").status_code == 200
    assert first.post("/logout", data={"csrf_token": csrf_of(first)}).status_code == 302
    assert _route(second, "/wall/620200").status_code == 401  # the same cookie, the other instance


def test_sc004_a_session_ended_while_being_read_is_not_cached_again(apps, stores, redis_client):
    link_id, _, screen, _ = _screens(apps, stores)
    raw = screen.get_cookie("ck_session").value
    key = sessions.CACHE_PREFIX + sessions._hash(raw)
    with stores.session() as session:  # a request read the row before the revocation committed ...
        row = session.get(WebSession, sessions._hash(raw))
        principal = sessions.load(session, raw, idle=timedelta(minutes=30))
        session.expunge(row)
    with stores.session() as session:
        kiosk.revoke(session, link_id)
    sessions._remember(redis_client, row, principal, 5)  # ... and tries to cache it after
    assert redis_client.get(key) == sessions.TOMBSTONE
    assert sessions.cached(redis_client, raw) is None
    assert _route(screen).status_code == 401


def test_sc005_expiry_and_the_once_a_minute_last_seen_write_hold_on_cached_sessions(apps, stores, monkeypatch):
    link_id, _, screen, _ = _screens(apps, stores)
    raw = screen.get_cookie("ck_session").value
    assert _route(screen).status_code == 200
    with stores.session() as session:
        seen = session.get(WebSession, sessions._hash(raw)).last_seen_at
    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    assert sessions.cached(stores.redis, raw) is None  # due for its last-seen write: read SQL
    assert _route(screen).status_code == 200
    with stores.session() as session:
        row = session.get(WebSession, sessions._hash(raw))
        assert row.last_seen_at == later > seen
        assert session.get(KioskLink, link_id).last_used_at == later
    assert sessions.cached(stores.redis, raw) is not None  # cached again with the new time
    gone = row.expires_at + timedelta(seconds=1)
    monkeypatch.setattr(sessions, "utcnow", lambda: gone)
    assert _route(screen).status_code == 401  # the entry's expiry is checked too, then SQL drops it
    with stores.session() as session:
        assert session.get(WebSession, sessions._hash(raw)) is None


def test_sc006_forged_unknown_and_ended_cookies_are_refused(apps, stores, redis_client):
    _, _, screen, _ = _screens(apps, stores)
    assert _route(screen).status_code == 200
    for app in apps:
        forged = app.server.test_client()
        forged.set_cookie("ck_session", screen.get_cookie("ck_session").value[:-2] + "xx")
        forged.set_cookie("_csrf_token", csrf_of(screen))
        assert _route(forged).status_code == 401
        assert forged.get("/wall/620100?kiosk=1").status_code == 302
        unknown = app.server.test_client()
        unknown.set_cookie("ck_session", "x" * 43)
        assert unknown.get("/wall/620100").headers["Location"].startswith("/login")
    # an entry in Redis is never trusted without its session id: a key without a session row ...
    redis_client.set(sessions.CACHE_PREFIX + sessions._hash("y" * 43), "not json", ex=5)
    assert sessions.cached(redis_client, "y" * 43) is None
    # ... and Redis unavailable means asking SQL, not letting in
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    assert sessions.cached(dead, screen.get_cookie("ck_session").value) is None


def _user_pair(apps, stores, role="supervisor", scope="620100"):
    """One logged-in user's session cookie on both instances."""
    first = client_for(apps[0], role=role, scope=scope)
    second = apps[1].server.test_client()
    for name in ("ck_session", "_csrf_token"):
        second.set_cookie(name, first.get_cookie(name).value)
    with stores.session() as session:
        user = session.get(WebSession, sessions._hash(first.get_cookie("ck_session").value)).user_id
        name = session.get(User, user).username
    return name, first, second


def test_sc007_user_sessions_are_cached_with_their_role_and_read_sql_once_per_cache_life(apps, stores,
                                                                                      redis_client):
    name, client, other = _user_pair(apps, stores)
    raw = client.get_cookie("ck_session").value
    reads = _sql_reads_of_sessions(stores)
    for _ in range(4):
        assert client.get("/supervise?city=620100").status_code == 200
    assert len(reads) <= 1  # the login cached it (or the first request did); the rest found it in Redis
    principal = sessions.cached(redis_client, raw)
    assert (principal.kind, principal.role, principal.name, principal.scopes) == \
        ("user", "supervisor", name, ("620100",))
    assert raw not in (redis_client.get(sessions.CACHE_PREFIX + sessions._hash(raw)) or "")
    # the role rules hold on a cached session: a supervisor is no admin, nor outside their city
    assert client.get("/admin").status_code == 403 and other.get("/admin").status_code == 403
    assert client.get("/wall/620200").status_code == 403
    # an entry claiming a role nobody has is not trusted
    entry = json.loads(redis_client.get(sessions.CACHE_PREFIX + sessions._hash(raw)))
    redis_client.set(sessions.CACHE_PREFIX + sessions._hash(raw), json.dumps({**entry, "role": "root"}), ex=5)
    assert sessions.cached(redis_client, raw) is None


def test_sc008_logout_disabling_and_password_resets_refuse_the_next_request_in_both_instances(apps, stores):
    from cockpit.cli import main

    def both_in(first, second):
        return [c.get("/supervise?city=620100").status_code for c in (first, second, first, second)]

    _, first, second = _user_pair(apps, stores)
    assert both_in(first, second) == [200] * 4
    assert first.post("/logout", data={"csrf_token": csrf_of(first)}).status_code == 302
    assert second.get("/supervise?city=620100").status_code == 302  # to /login: the same cookie, other process

    name, first, second = _user_pair(apps, stores)
    assert both_in(first, second) == [200] * 4
    with stores.session() as session:
        users.disable(session, name)
    assert [c.get("/supervise?city=620100").status_code for c in (first, second)] == [302, 302]

    settings = stores.settings
    env = {"COCKPIT_DATABASE_URL": settings.sqlalchemy_url, "COCKPIT_REDIS_URL": settings.redis_url,
           "COCKPIT_VAR_DIR": str(settings.var_dir)}
    name, first, second = _user_pair(apps, stores)
    assert both_in(first, second) == [200] * 4
    result = CliRunner().invoke(main, ["users", "reset-password", name, "--password-stdin"], input="n3w-Passw0rd-long\n",
                                env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [c.get("/supervise?city=620100").status_code for c in (first, second)] == [302, 302]
    name, first, second = _user_pair(apps, stores)
    assert both_in(first, second) == [200] * 4
    result = CliRunner().invoke(main, ["users", "disable", name], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [c.get("/supervise?city=620100").status_code for c in (first, second)] == [302, 302]


def test_sc009_a_user_disabled_while_being_read_is_not_cached_again_and_idle_still_ends(apps, stores,
                                                                                         redis_client, monkeypatch):
    name, client, _ = _user_pair(apps, stores)
    raw = client.get_cookie("ck_session").value
    with stores.session() as session:  # a request read the row before the disabling committed ...
        row = session.get(WebSession, sessions._hash(raw))
        principal = sessions.load(session, raw, idle=timedelta(minutes=30))
        session.expunge(row)
    with stores.session() as session:
        users.disable(session, name)
    sessions._remember(redis_client, row, principal, 5)  # ... and tries to cache it after
    assert sessions.cached(redis_client, raw) is None
    assert client.get("/supervise?city=620100").status_code == 302

    _, client, _ = _user_pair(apps, stores)
    raw = client.get_cookie("ck_session").value
    assert client.get("/supervise?city=620100").status_code == 200
    assert sessions.cached(redis_client, raw) is not None
    idle = utcnow() + timedelta(minutes=stores.settings.session_idle_minutes, seconds=1)
    monkeypatch.setattr(sessions, "utcnow", lambda: idle)
    assert sessions.cached(redis_client, raw) is None  # due for its last-seen write: SQL decides
    assert client.get("/supervise?city=620100").status_code == 302  # idle too long: ended


def test_sc010_redis_down_costs_one_failed_try_then_sql_at_once(apps, stores):
    """A dead Redis would add its client's retries (seconds) to every request twice (read, write):
    the first failure opens the screens' breaker and the next requests go to SQL without asking it."""
    from cockpit.store.cache import live_key

    _, client, _ = _user_pair(apps, stores)
    good = stores.redis
    asked = []

    class Dead(redis_lib.Redis):
        def execute_command(self, *args, **options):
            asked.append(args[0])
            raise redis_lib.ConnectionError("down")

    stores.redis = Dead(host="127.0.0.1", port=1)
    try:
        assert client.get("/supervise?city=620100").status_code == 200  # SQL decides
        first = len(asked)
        assert first >= 1 and stores.caches.breaker.is_open(live_key(stores.redis))
        assert client.get("/supervise?city=620100").status_code == 200
        assert client.get("/supervise?city=620100").status_code == 200
        assert [a for a in asked[first:] if a in ("GET", "EVAL", "EVALSHA")] == []
    finally:
        stores.redis = good
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 302
    assert client.get("/supervise?city=620100").status_code == 302


def test_sc011_a_started_session_is_cached_once_committed_with_who_it_is(apps, stores, redis_client):
    """A kiosk link's start and a login put the new session in the cache after their commit, so the
    screen's page, layout and routing right after the redirect read no session from SQL; a start
    whose transaction rolls back leaves nothing cached, and the cache off caches nothing."""
    from cockpit.auth.principal import Principal
    from cockpit.store.models import KioskLink

    with stores.session() as session:
        link, path = kiosk.create(session, scope="620100", created_by="test")
        link_id = link.id
    reads = _sql_reads_of_sessions(stores)
    screen = apps[0].server.test_client()
    assert screen.get(path).status_code == 302
    started_reads = len(reads)  # the insert (and maybe the sweep of expired sessions)
    assert screen.get("/wall/620100?kiosk=1").status_code == 200
    assert _route(screen).status_code == 200
    assert len(reads) == started_reads  # no session read after the start
    raw = screen.get_cookie("ck_session").value
    principal = sessions.cached(redis_client, raw)
    assert (principal.kind, principal.role, principal.scopes, principal.id, principal.csrf) == \
        ("kiosk", "kiosk", ("620100",), link_id, screen.get_cookie("_csrf_token").value)
    with stores.session() as session:
        assert session.get(KioskLink, link_id).last_used_at is not None  # the start is a use of the link

    # rolled back: nothing cached
    who = Principal(kind="kiosk", name="x", role="kiosk", scopes=("620100",), id=link_id)
    with pytest.raises(RuntimeError):
        with stores.session() as session:
            new = sessions.start(session, kiosk_id=link_id, lifetime=timedelta(days=1), cache_as=who, cache_seconds=5)
            raise RuntimeError("abort")
    assert redis_client.get(sessions.CACHE_PREFIX + sessions._hash(new.raw_id)) is None
    # cache off: the session is in SQL only
    with stores.session() as session:
        new = sessions.start(session, kiosk_id=link_id, lifetime=timedelta(days=1), cache_as=who, cache_seconds=0)
    assert redis_client.get(sessions.CACHE_PREFIX + sessions._hash(new.raw_id)) is None
    with stores.session() as session:
        new = sessions.start(session, kiosk_id=link_id, lifetime=timedelta(days=1), cache_as=who, cache_seconds=5)
    assert sessions.cached(redis_client, new.raw_id).name == "x"
