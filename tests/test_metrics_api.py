"""GET /api/v1/kpi, /rankings, /staffing and `cockpit kpi --json` give the same JSON; bad input is a 400."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app import create_app
from cockpit.metrics import definitions
from cockpit.cli import main
from tests.metric_events import ingest, scenario_calls, scenario_tickets
from tests.login import client_for

# 10:00-11:00 in Asia/Shanghai (no zone given: read in Settings.tz) = 02:00-03:00 UTC
LOCAL_FROM, LOCAL_TO = "2026-11-02T10:00:00", "2026-11-02T11:00:00"


@pytest.fixture
def client(stores):
    ingest(stores, scenario_calls() + scenario_tickets())
    return client_for(create_app(stores.settings, stores=stores))


def test_met100_kpi_api_keys_and_local_dates(client):
    resp = client.get(f"/api/v1/kpi?scope=620100&from={LOCAL_FROM}&to={LOCAL_TO}")
    assert resp.status_code == 200
    doc = resp.get_json()
    required = {"offered", "answered", "abandoned", "short_abandoned", "connection_rate", "service_level",
                "abandon_rate", "asa_s", "aht_s", "tickets_created", "tickets_closed", "response_rate",
                "resolution_rate", "satisfaction_rate", "on_time_closure_rate", "definitions_version"}
    assert required <= set(doc)
    assert doc["from"] == "2026-11-02T02:00:00+00:00" and doc["to"] == "2026-11-02T03:00:00+00:00"
    assert (doc["offered"], doc["answered"], doc["tickets_created"]) == (7, 4, 5)
    assert doc["definitions_version"] == definitions.DEFINITIONS_VERSION
    # the same window with explicit zones, and the '+' of the offset unescaped (arrives as a space)
    same = client.get("/api/v1/kpi?scope=620100&from=2026-11-02T02:00:00Z&to=2026-11-02T11:00:00+08:00").get_json()
    assert (same["offered"], same["from"], same["to"]) == (7, doc["from"], doc["to"])
    strict = client.get(f"/api/v1/kpi?scope=620100&from={LOCAL_FROM}&to={LOCAL_TO}&sl_threshold=10").get_json()
    assert strict["service_level"] == pytest.approx(2 / 6)


@pytest.mark.parametrize("query, field", [
    ("from=2026-11-02&to=2026-11-03", "scope"),
    ("scope=620100&from=yesterday&to=2026-11-03", "from"),
    ("scope=620100&from=2026-11-03&to=2026-11-02", "to"),
    ("scope=620100&from=2024-01-01&to=2026-11-02", "to"),
    ("scope=620100&from=2026-11-02&to=2026-11-03&sl_threshold=abc", "sl_threshold"),
    ("scope=620100&from=2026-11-02&to=2026-11-03&sl_threshold=-1", "sl_threshold"),
    ("scope=620100&from=2026-11-02&to=2026-11-03&sl_threshold=nan", "sl_threshold"),
])
def test_met101_bad_parameters_are_400(client, query, field):
    resp = client.get(f"/api/v1/kpi?{query}")
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["field"] == field and body["error"]


def test_met102_cli_gives_the_api_json(client, stores):
    api = client.get(f"/api/v1/kpi?scope=620100&from={LOCAL_FROM}&to={LOCAL_TO}").get_json()
    env = {"COCKPIT_DATABASE_URL": stores.settings.sqlalchemy_url, "COCKPIT_REDIS_URL": stores.settings.redis_url}
    result = CliRunner().invoke(main, ["kpi", "--scope", "620100", "--from", LOCAL_FROM, "--to", LOCAL_TO, "--json"],
                                env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == api
    bad = CliRunner().invoke(main, ["kpi", "--scope", "620100", "--from", "nope", "--json"], env=env)
    assert bad.exit_code == 2 and json.loads(bad.stderr)["field"] == "from"


def test_met103_rankings_and_staffing_routes(client):
    resp = client.get(f"/api/v1/rankings?scope=620100&level=district&from={LOCAL_FROM}&to={LOCAL_TO}")
    assert resp.status_code == 200
    rows = resp.get_json()["rows"]
    assert [r["key"] for r in rows] == ["620102", "620103", ""]
    bad = client.get("/api/v1/rankings?scope=620100&level=street")
    assert bad.status_code == 400 and bad.get_json()["field"] == "level"
    plan = client.get("/api/v1/staffing?scope=620100&at=2026-11-02T10:20:00").get_json()
    assert len(plan["intervals"]) == 9 and plan["intervals"][0]["start"] == "2026-11-02T02:15:00+00:00"
    erlang = client.get("/api/v1/staffing/erlang?arrivals_per_hour=200&aht=180&target=0.8&threshold=20").get_json()
    assert erlang["required_seats"] == 14
    missing = client.get("/api/v1/staffing/erlang?aht=180&target=0.8&threshold=20")
    assert missing.status_code == 400 and missing.get_json()["field"] == "arrivals_per_hour"


def test_met104_cli_rankings_and_plan_match_the_api(client, stores):
    env = {"COCKPIT_DATABASE_URL": stores.settings.sqlalchemy_url, "COCKPIT_REDIS_URL": stores.settings.redis_url}
    api = client.get(f"/api/v1/rankings?scope=620100&level=unit&from={LOCAL_FROM}&to={LOCAL_TO}").get_json()
    cli = CliRunner().invoke(main, ["rankings", "--scope", "620100", "--level", "unit", "--from", LOCAL_FROM,
                                    "--to", LOCAL_TO, "--json"], env=env)
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output) == api
    assert {r["key"] for r in api["rows"]} == {"U1", "U2", "U4", "centre"}
    plan_api = client.get("/api/v1/staffing?scope=620100&at=2026-11-02T10:20:00").get_json()
    plan_cli = CliRunner().invoke(main, ["staffing", "--scope", "620100", "--at", "2026-11-02T10:20:00", "--json"],
                                  env=env)
    assert plan_cli.exit_code == 0, plan_cli.output
    assert json.loads(plan_cli.output) == plan_api


def test_met105_unknown_scope_is_an_error_naming_the_field(client, stores):
    for path in ("/api/v1/kpi?scope=999999", "/api/v1/rankings?scope=62010&level=district",
                 "/api/v1/staffing?scope=999999"):
        resp = client.get(path)
        assert resp.status_code == 400, path
        assert resp.get_json()["field"] == "scope" and "999999" in resp.get_json()["error"] or "62010" in \
            resp.get_json()["error"]
    env = {"COCKPIT_DATABASE_URL": stores.settings.sqlalchemy_url, "COCKPIT_REDIS_URL": stores.settings.redis_url}
    for args in (["kpi", "--scope", "999999"], ["rankings", "--scope", "62010"]):
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 2, (args, result.output)
        assert json.loads(result.stderr)["field"] == "scope"
        assert "999900" not in result.output  # no invented city


def test_met106_cli_rankings_print_names_and_the_screen_score_scale(client, stores):
    from geo.regions import load_default_regions

    with stores.session() as session:
        load_default_regions(session)
        session.commit()
    env = {"COCKPIT_DATABASE_URL": stores.settings.sqlalchemy_url, "COCKPIT_REDIS_URL": stores.settings.redis_url}
    api = client.get(f"/api/v1/rankings?scope=620100&level=district&from={LOCAL_FROM}&to={LOCAL_TO}").get_json()
    assert api["rows"][0]["name"] == "城关区" and api["rows"][0]["name_en"] == "Chengguan"
    cli = CliRunner().invoke(main, ["rankings", "--scope", "620100", "--from", LOCAL_FROM, "--to", LOCAL_TO], env=env)
    assert cli.exit_code == 0, cli.output
    first = next(line for line in cli.output.splitlines() if "620102" in line)
    assert "城关区" in first
    score = api["rows"][0]["score"]
    assert f"score {score * 100:.1f}" in " ".join(first.split())
