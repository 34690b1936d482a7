"""Log in for tests: a real user, the real /login form, the real session cookie (no bypass).

``client_for(app, role=, scope=)`` gives a Flask test client with a live session; ``browser_login``
starts dash_duo's server and logs the headless browser in through the login page.
"""

from __future__ import annotations

import itertools
import re

from cockpit.auth import users

PASSWORD = "correct horse battery staple"
_names = itertools.count(1)


def make_user(stores, *, role: str = "admin", scope: str = "620000", name: str | None = None,
              password: str = PASSWORD) -> str:
    name = name or f"{role}{next(_names)}_{scope}"
    with stores.session() as session:
        users.create(session, name, role=role, scope=scope, password=password)
    return name


def login(client, username: str, password: str = PASSWORD, *, next_: str = "/"):
    """POST the login form as a browser would (CSRF field from the form page); returns the response."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": next_})


def csrf_of(client) -> str:
    cookie = client.get_cookie("_csrf_token")
    return cookie.value if cookie is not None else ""


def client_for(app, *, role: str = "admin", scope: str = "620000", stores=None):
    """A test client logged in as a new user of ``role`` over ``scope`` (``app`` is a Dash app or Flask)."""
    server = getattr(app, "server", app)
    stores = stores or server.config["COCKPIT_STORES"]
    client = server.test_client()
    response = login(client, make_user(stores, role=role, scope=scope))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def browser_login(dash_duo, app, *, role: str = "admin", scope: str = "620000", name: str | None = None,
                  start: bool = True) -> str:
    """Start the app under dash_duo (unless already started) and log the browser in through /login;
    returns the user name. ``dash_duo.server_url`` is set once logged in (it waits for the app page)."""
    if start:
        dash_duo.start_server(app, navigate=False)  # "/" redirects to /login until we are logged in
    stores = app.server.config["COCKPIT_STORES"]
    name = make_user(stores, role=role, scope=scope, name=name)
    dash_duo.driver.get(dash_duo.server.url + "/login")
    dash_duo.wait_for_element("#username").send_keys(name)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    # the app's first page after the login: its scripts load once, slowly on a loaded machine (the
    # setter below reloads it and waits only Dash's default 10 s; clean-clone CI missed that once)
    dash_duo.wait_for_element("#react-entry-point", timeout=30)
    dash_duo.server_url = dash_duo.server.url  # waits for the app's page, now served
    return name
