"""Screens that never mislead, without a browser: unknown regions get a 404 page with ways out,
English pages carry no Chinese, names and categories have English forms."""

from __future__ import annotations

import pytest

from app import create_app
from geo.regions import load_default_regions


@pytest.fixture
def client(sqlite_stores):
    with sqlite_stores.session() as session:
        load_default_regions(session)
    return create_app(sqlite_stores.settings, stores=sqlite_stores).server.test_client()


@pytest.mark.parametrize("path", ["/wall/999999", "/wall/62010", "/province/620100", "/province/999999",
                                  "/wall/620000"])
def test_scr001_unknown_or_out_of_scope_region_is_a_404_with_links(client, path):
    resp = client.get(path)
    assert resp.status_code == 404
    body = resp.get_data(as_text=True)
    code = path.rsplit("/", 1)[1]
    assert code in body and "页面不存在" in body
    assert 'href="/province/620000"' in body and 'href="/wall/620100"' in body and 'href="/supervise"' in body
    english = client.get(path + "?lang=en")
    assert english.status_code == 404 and "Lanzhou wall" in english.get_data(as_text=True)
    assert 'href="/wall/620100?lang=en"' in english.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/wall/620100", "/wall/620102", "/province/620000", "/", "/supervise"])
def test_scr002_known_screens_load(client, path):
    assert client.get(path).status_code == 200
