"""Settings.from_env: defaults <- COCKPIT_CONFIG (TOML) <- COCKPIT_* variables; what a deployment sets reaches the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from cockpit.settings import Settings, SettingsError
from cockpit.store.models import Base
from geo.regions import load_default_regions
from tests.login import client_for

CONFIG = """
database_url = "sqlite:///from-file.sqlite3"
secret_key = "from-file"
response_deadline_s = 7200
max_body_bytes = 2048
max_batch_events = 50
count_basic_as_satisfied = true

[targets.satisfaction_rate]
target = 0.97
green = 0.97

[targets.connection_rate]
target = 0.9

[watchpoints.rules.repeat_complaint]
k = 4

[watchpoints.scopes.620100.volume_anomaly]
z = 5.0
"""


def _file(tmp_path: Path, text: str = CONFIG) -> str:
    path = tmp_path / "cockpit.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_set001_defaults_without_file_or_variables():
    assert Settings.from_env({}) == Settings()


def test_set002_file_then_variables_override_it(tmp_path):
    env = {"COCKPIT_CONFIG": _file(tmp_path), "COCKPIT_SECRET_KEY": "from-env", "COCKPIT_MAX_BATCH_EVENTS": "70",
           "COCKPIT_TARGETS": '{"satisfaction_rate": {"amber": 0.9}, "rework_rate": {"target": 0.02}}',
           "COCKPIT_WATCHPOINTS": '{"rules": {"overdue": {"enabled": false}}}',
           "COCKPIT_VAR_DIR": str(tmp_path / "var"), "COCKPIT_SL_THRESHOLD_S": "20"}
    s = Settings.from_env(env)
    assert (s.database_url, s.secret_key, s.response_deadline_s, s.max_body_bytes, s.max_batch_events) == (
        "sqlite:///from-file.sqlite3", "from-env", 7200, 2048, 70)
    assert s.count_basic_as_satisfied is True and s.sl_threshold_s == 20 and s.var_dir == tmp_path / "var"
    # tables merge key by key: the variable adds to the file instead of replacing it
    assert s.targets == {"satisfaction_rate": {"target": 0.97, "green": 0.97, "amber": 0.9},
                         "connection_rate": {"target": 0.9}, "rework_rate": {"target": 0.02}}
    assert s.watchpoints == {"rules": {"repeat_complaint": {"k": 4}, "overdue": {"enabled": False}},
                             "scopes": {"620100": {"volume_anomaly": {"z": 5.0}}}}


@pytest.mark.parametrize("env, words", [
    ({"COCKPIT_MAX_BODY_BYTES": "ten"}, ["COCKPIT_MAX_BODY_BYTES", "ten"]),
    ({"COCKPIT_COUNT_BASIC_AS_SATISFIED": "maybe"}, ["COCKPIT_COUNT_BASIC_AS_SATISFIED"]),
    ({"COCKPIT_TARGETS": "[1, 2]"}, ["COCKPIT_TARGETS", "JSON object"]),
    ({"COCKPIT_TARGETS": "{not json"}, ["COCKPIT_TARGETS"]),
    ({"COCKPIT_TARGETS": '{"connection_rate": 0.9}'}, ["targets.connection_rate"]),
    ({"COCKPIT_WATCHPOINTS": '{"rule": {}}'}, ["watchpoints", "rule"]),
    ({"COCKPIT_TIMEZONE": "Mars/Olympus"}, ["timezone", "Mars/Olympus"]),
    ({"COCKPIT_REFRESH_MS": "0"}, ["refresh_ms", "positive"]),
    ({"COCKPIT_CONFIG": "/nonexistent/cockpit.toml"}, ["COCKPIT_CONFIG", "/nonexistent/cockpit.toml"]),
])
def test_set003_bad_values_name_the_setting_and_reason(env, words):
    with pytest.raises(SettingsError) as exc:
        Settings.from_env(env)
    assert all(w in str(exc.value) for w in words), str(exc.value)


@pytest.mark.parametrize("text, words", [
    ("secret = 'x'\n", ["unknown settings", "secret"]),
    ("max_body_bytes = '10'\n", ["max_body_bytes", "int"]),
    ("targets = [\n", ["not valid TOML"]),
])
def test_set004_bad_files_name_the_key(tmp_path, text, words):
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({"COCKPIT_CONFIG": _file(tmp_path, text)})
    assert all(w in str(exc.value) for w in words), str(exc.value)


def test_set005_target_set_in_the_environment_reaches_the_api(tmp_path, monkeypatch, redis_client, settings):
    """The deployment path: variables -> create_app() -> /api/v1/kpi targets and colours."""
    from app import create_app

    db = tmp_path / "cockpit.sqlite3"
    engine = create_engine(f"sqlite:///{db}")
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        load_default_regions(session)
    engine.dispose()
    monkeypatch.setenv("COCKPIT_CONFIG", _file(tmp_path, "[targets.abandon_rate]\ntarget = 0.08\n"))
    monkeypatch.setenv("COCKPIT_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("COCKPIT_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("COCKPIT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COCKPIT_SECRET_KEY", "s" * 40)  # production mode refuses to start without one
    monkeypatch.setenv("COCKPIT_TARGETS", '{"connection_rate": {"target": 0.9, "green": 0.9, "amber": 0.85}}')
    app = create_app()
    client = client_for(app)
    doc = client.get("/api/v1/kpi?scope=620100&from=2026-11-02&to=2026-11-03").get_json()
    assert doc["targets"]["connection_rate"] == 0.9  # from the variable
    assert doc["targets"]["abandon_rate"] == 0.08  # from the file
    assert doc["targets"]["service_level"] == 0.80  # untouched default
    app.server.config["COCKPIT_STORES"].engine.dispose()


def test_set006_every_setting_is_documented_and_the_example_file_loads():
    from dataclasses import fields

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration"):]
    missing = [f.name for f in fields(Settings) if f"`COCKPIT_{f.name.upper()}`" not in table]
    assert missing == []
    example = Settings.from_env({"COCKPIT_CONFIG": str(root / "docs" / "cockpit.example.toml")})
    assert example.targets["satisfaction_rate"]["target"] == 0.95
    text = (root / "docs" / "cockpit.example.toml").read_text(encoding="utf-8")
    keys = set(re.findall(r"^\[?(\w+)", text, flags=re.MULTILINE))
    assert {f.name for f in fields(Settings)} <= keys


def test_set007_the_command_line_names_a_bad_setting_without_a_traceback():
    from click.testing import CliRunner

    from cockpit.cli import main

    result = CliRunner().invoke(main, ["db", "upgrade"], env={"COCKPIT_MAX_BODY_BYTES": "ten"})
    assert result.exit_code == 1
    assert "COCKPIT_MAX_BODY_BYTES" in result.output and "Traceback" not in result.output
