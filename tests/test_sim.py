"""The traffic simulator: determinism, windows, schema, and that the queue behaves like one."""

from __future__ import annotations

import importlib.util
import json
import math
import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.events import validate
from cockpit.simulation import Province, catalog, callcentre, engine, generate, incidents, profiles
from cockpit.simulation.incidents import LOCAL_TZ

SMALL = ["620200", "620300"]  # Jiayuguan and Jinchang: the two smallest cities
WINTER = datetime(2026, 12, 7, tzinfo=LOCAL_TZ).astimezone(UTC)  # a Monday, local midnight


def _ids(events: list[dict]) -> list[str]:
    return [e["event_id"] for e in events]


def test_sim001_same_seed_same_stream_other_seed_other_stream():
    start = WINTER + timedelta(hours=9)
    a = list(generate(start, timedelta(hours=3), seed=11, cities=SMALL, origin=WINTER))
    b = list(generate(start, timedelta(hours=3), seed=11, cities=SMALL, origin=WINTER))
    c = list(generate(start, timedelta(hours=3), seed=12, cities=SMALL, origin=WINTER))
    assert len(a) > 100
    assert a == b
    assert _ids(a) != _ids(c) and [e["occurred_at"] for e in a] != [e["occurred_at"] for e in c]


def test_sim002_windows_concatenate_to_their_union():
    start = WINTER + timedelta(hours=20, minutes=17)  # the split crosses a local midnight
    origin = WINTER - timedelta(days=3)  # earlier days' tickets still have steps in the window
    whole = list(generate(start, timedelta(hours=9), seed=5, cities=SMALL, origin=origin))
    first = list(generate(start, timedelta(hours=4, minutes=3), seed=5, cities=SMALL, origin=origin))
    rest = list(
        generate(
            start + timedelta(hours=4, minutes=3),
            timedelta(hours=4, minutes=57),
            seed=5,
            cities=SMALL,
            origin=origin,
        )
    )
    assert len(first) > 50 and len(rest) > 50
    assert first + rest == whole
    assert any(e["event_id"].split("-")[2] < "20261207" for e in whole)
    prov = Province(seed=5, cities=SMALL, origin=origin)
    chunks: list[dict] = []
    for k in range(9):
        chunks += prov.events(start + timedelta(hours=k), start + timedelta(hours=k + 1))
    assert chunks == whole


def test_sim003_every_event_validates_is_unique_and_in_window():
    start, end = WINTER, WINTER + timedelta(days=1)
    prov = Province(seed=3, cities=SMALL, origin=WINTER, seat_detail=True)
    events = list(prov.events(start, end))
    types = Counter(e["type"] for e in events)
    for needed in (
        "call.offered",
        "call.answered",
        "call.abandoned",
        "call.ended",
        "seat.state",
        "ticket.created",
        "ticket.dispatched",
        "ticket.responded",
        "ticket.closed",
    ):
        assert types[needed] > 0, needed
    assert len(set(_ids(events))) == len(events)
    previous = start
    for raw in events:
        event, errors = validate(raw)
        assert errors == [], (raw, errors)
        assert raw["source"] == "sim" and raw["event_id"].startswith("sim3-")
        assert start <= event.occurred_at < end
        assert event.occurred_at >= previous
        previous = event.occurred_at
    states = Counter((e["state"], e.get("reason")) for e in events if e["type"] == "seat.state")
    assert states[("ready", "login")] > 0 and states[("offline", "logout")] > 0
    assert states[("not_ready", "lunch")] > 0 and states[("on_call", None)] > 0


def _call_outcomes(events: list[dict]) -> tuple[int, int, int]:
    c = Counter(e["type"] for e in events)
    return c["call.offered"], c["call.answered"], c["call.abandoned"]


def test_sim004_connection_rate_emerges_from_the_queue():
    prov = Province(seed=7, cities=["620100"], incidents=False)
    out = [e for _ms, _id, e in prov.simulate_city_day("620100", date(2026, 12, 8))]
    offered, answered, abandoned = _call_outcomes(out)
    assert offered > 1500
    assert 0.88 <= answered / offered <= 0.995
    assert answered + abandoned == offered
    waits = [e["wait_s"] for e in out if e["type"] == "call.answered"]
    assert 0 < sum(waits) / len(waits) < 120
    assert sum(w == 0 for w in waits) > len(waits) / 2  # most callers find a free seat at once

    # The same calls on fewer seats: abandonment rises, answered waits grow.
    rng = random.Random(1)
    calls = []
    t = 8 * 3600.0
    while t < 12 * 3600.0:
        t += rng.expovariate(1 / 20.0)
        calls.append((t, rng.expovariate(1 / profiles.PATIENCE_MEAN_S), rng.lognormvariate(4.56, 1.26)))

    def abandon_rate(n_seats: int) -> float:
        seats = [callcentre.Seat(f"s{i}", "C", 7 * 3600.0, 14 * 3600.0) for i in range(n_seats)]
        served = [callcentre.Served(a, p, min(s, 3600.0), 30.0, -1) for a, p, s in calls]
        callcentre.run_queue(served, seats)
        for call in served:
            if call.seat is not None:
                assert call.start - call.arrival <= call.patience
        return sum(c.seat is None for c in served) / len(served)

    full, cut, none = abandon_rate(16), abandon_rate(9), abandon_rate(0)
    assert full < 0.05 < cut and none == 1.0


def test_sim005_seat_shortage_incident_raises_abandonment():
    found = [i for i in incidents(WINTER, timedelta(days=28), seed=1) if i.kind == "seat_shortage"]
    assert found, "seed 1 schedules at least one seat shortage in four weeks"
    inc = max(found, key=lambda i: catalog.cities()[i.city].population)
    day = inc.start.astimezone(LOCAL_TZ).date()
    rates = []
    for flag in (False, True):
        prov = Province(seed=1, cities=[inc.city], incidents=flag)
        out = [
            e
            for ms, _id, e in prov.simulate_city_day(inc.city, day)
            if inc.start.timestamp() * 1000 <= ms < inc.end.timestamp() * 1000
        ]
        offered, _answered, abandoned = _call_outcomes(out)
        rates.append(abandoned / offered)
    assert rates[1] > rates[0] + 0.02


def test_sim006_heating_failure_multiplies_its_district_and_category():
    start, span = WINTER, timedelta(days=28)
    found = [i for i in incidents(start, span, seed=2) if i.kind == "heating_failure"]
    assert len(found) >= 5
    counts = []
    for flag in (False, True):
        total = 0
        for inc in found:
            prov = Province(seed=2, cities=[inc.city], incidents=flag)
            day = inc.start.astimezone(LOCAL_TZ).date()
            for ms, _id, e in prov.simulate_city_day(inc.city, day):
                if (
                    e["type"] == "ticket.created"
                    and e["district"] == inc.district
                    and tuple(e["category"]) == inc.category
                    and inc.start.timestamp() * 1000 <= ms < inc.end.timestamp() * 1000
                ):
                    total += 1
        counts.append(total)
    assert counts[0] > 25
    assert 3.5 <= counts[1] / counts[0] <= 7.5


def test_sim007_hourly_arrivals_follow_the_fitted_profile():
    prov = Province(seed=4, cities=["620500"], incidents=False)
    observed, expected = [], []
    daily_calls = prov._daily["620500"] * engine.PHONE_SHARE
    for n in range(7):
        day = date(2026, 12, 7) + timedelta(days=n)
        per_hour = Counter()
        for _ms, _id, e in prov.simulate_city_day("620500", day):
            if e["type"] == "call.offered":
                per_hour[int(e["occurred_at"][11:13])] += 1
        rates = profiles.hourly_call_rates(daily_calls, day)
        observed += [per_hour[h] for h in range(24)]
        expected += rates
    mo, me = sum(observed) / len(observed), sum(expected) / len(expected)
    cov = sum((o - mo) * (e - me) for o, e in zip(observed, expected))
    r = cov / math.sqrt(sum((o - mo) ** 2 for o in observed) * sum((e - me) ** 2 for e in expected))
    assert r > 0.9
    assert abs(sum(observed) / sum(expected) - 1) < 0.05


def test_sim008_incident_schedule_is_deterministic_and_machine_readable():
    a = incidents(WINTER, timedelta(days=14), seed=9)
    b = incidents(WINTER, timedelta(days=14), seed=9)
    assert a == b and len(a) >= 3
    only = incidents(WINTER, timedelta(days=14), seed=9, cities=[a[0].city])
    assert only and all(i.city == a[0].city for i in only) and set(only) <= set(a)
    for inc in a:
        d = inc.as_dict()
        assert set(d) >= {"city", "district", "category", "start", "end", "kind"}
        assert inc.start < inc.end and inc.city in catalog.cities()
        if inc.kind in ("heating_failure", "water_outage"):
            assert inc.district.startswith(inc.city[:4]) and inc.factor == 5.0
    assert Province(seed=9, incidents=False).incidents(WINTER, WINTER + timedelta(days=14)) == []


def test_sim009_ticket_lifecycle_and_unit_truths():
    prov = Province(seed=6, cities=["620100"], origin=WINTER)
    events = list(prov.events(WINTER, WINTER + timedelta(days=8)))
    types = Counter(e["type"] for e in events)
    for needed in ("ticket.returned", "ticket.transferred", "ticket.callback", "ticket.reopened"):
        assert types[needed] > 0, needed
    created = {e["ticket_id"]: e for e in events if e["type"] == "ticket.created"}
    channels = Counter(e["channel"] for e in created.values())
    assert channels["phone"] > channels["wechat"] > 0 and channels["web"] > 0
    assert all(e.get("call_id") for e in created.values() if e["channel"] == "phone")
    last_unit: dict[str, str] = {}
    sat: dict[str, list[int]] = defaultdict(list)
    closed: dict[str, list[bool]] = defaultdict(list)
    for e in events:
        if e["type"] == "ticket.dispatched":
            last_unit[e["ticket_id"]] = e["unit"]
        elif e["type"] == "ticket.closed":
            closed[e["unit"]].append(e["no_callback"])
        elif (
            e["type"] == "ticket.callback"
            and e["ticket_id"] in last_unit
            and e["satisfaction"] != "unreachable"
        ):
            sat[last_unit[e["ticket_id"]]].append(e["satisfaction"] == "dissatisfied")
    poor = [x for u in catalog.POOR_SATISFACTION if u in sat for x in sat[u]]
    rest = [x for u, xs in sat.items() if u not in catalog.POOR_SATISFACTION for x in xs]
    assert len(poor) > 50 and sum(poor) / len(poor) > 2 * sum(rest) / len(rest)
    overuse = closed["西固区人民政府"]
    others = [x for u, xs in closed.items() if u not in catalog.NO_CALLBACK_OVERUSE for x in xs]
    assert sum(overuse) / len(overuse) > 4 * sum(others) / len(others)


def test_sim010_repeat_complaints_from_one_address():
    prov = Province(seed=8, cities=["620100"], incidents=False, origin=WINTER)
    created = [e for e in prov.events(WINTER, WINTER + timedelta(days=14)) if e["type"] == "ticket.created"]
    by_address = Counter((e["address"], e["category"][0]) for e in created)  # as the repeat rule counts
    repeated = [k for k, n in by_address.items() if n >= 3]
    assert len(repeated) >= 10
    # They are the week's recurring problems, not chance: a district has 109,200 addresses, so
    # three tickets of one category at one address rarely happen by accident (with street and
    # number alone, 3,640 addresses, a month of Lanzhou had 6,667 such groups, 303 of them real).
    problems = {p[1] for week in prov._weeks.values() for p in week}
    assert sum(1 for address, _ in repeated if address in problems) >= 0.8 * len(repeated)
    same_point = defaultdict(set)
    for e in created:
        same_point[e["address"]].add((e["lat"], e["lon"]))
    assert all(len(points) == 1 for points in same_point.values())


def test_sim011_cli_writes_ndjson_and_logs_incidents(tmp_path):
    from cockpit.cli import main

    out = tmp_path / "sim.ndjson"
    found = incidents(WINTER, timedelta(days=7), seed=1)
    inc = found[0]
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "--seed",
            "1",
            "--start",
            inc.start.isoformat(),
            "--duration",
            "20m",
            "--cities",
            inc.city,
            "--origin",
            inc.start.isoformat(),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines and all(validate(json.loads(line))[1] == [] for line in lines)
    assert f'"id": "{inc.id}"' in result.output  # click's runner mixes stderr into output


@pytest.mark.parametrize(
    "text, seconds", [("90s", 90), ("15m", 900), ("1.5h", 5400), ("7d", 604800), ("30", 30)]
)
def test_sim012_durations(text, seconds):
    from cockpit.cli.sim import parse_duration

    assert parse_duration(text).total_seconds() == seconds


def test_sim013_profile_constants_are_consistent():
    assert abs(sum(profiles.HOUR_SHAPE) - 1) < 1e-9 and abs(sum(profiles.MESSAGE_HOUR_SHAPE) - 1) < 1e-9
    assert min(profiles.HOUR_SHAPE) >= profiles.NIGHT_FLOOR * 0.9
    assert profiles.day_level(date(2026, 10, 1)) == profiles.HOLIDAY_LEVEL  # National Day
    assert profiles.day_level(date(2026, 12, 6)) == profiles.WEEKEND_LEVEL  # a Sunday
    cities = catalog.cities()
    assert len(cities) == 14 and sum(len(c.districts) for c in cities.values()) == 87
    assert sum(c.population for c in cities.values()) == 25_019_831


def test_sim014_seat_states_follow_a_possible_sequence():
    allowed = {
        ("offline", "ready"),
        ("ready", "on_call"),
        ("on_call", "acw"),
        ("acw", "ready"),
        ("acw", "on_call"),
        ("ready", "not_ready"),
        ("not_ready", "ready"),
        ("acw", "not_ready"),
        ("acw", "offline"),
        ("ready", "offline"),
    }
    prov = Province(seed=2, cities=["620300"], seat_detail=True)
    per_seat: dict[str, list[str]] = defaultdict(list)
    answered_in: Counter = Counter()
    for _ms, _id, e in prov.simulate_city_day("620300", date(2026, 12, 8)):
        if e["type"] == "seat.state":
            per_seat[e["seat_id"]].append(e["state"])
        elif e["type"] == "call.answered":
            answered_in[per_seat[e["seat_id"]][-1]] += 1
    assert len(per_seat) >= 6
    for seat, states in per_seat.items():
        steps = list(zip(["offline"] + states, states))
        assert all(step in allowed for step in steps), (seat, [s for s in steps if s not in allowed])
        assert states[-1] == "offline"
    assert set(answered_in) == {"on_call"}


def test_sim015_cli_posts_batches_with_the_bearer_token():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cockpit.cli import main

    received: list[tuple[str, str, list]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.path, self.headers.get("Authorization", ""), body))
            answer = json.dumps({"accepted": len(body), "duplicates": 0, "rejected": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        args = [
            "simulate",
            "--seed",
            "3",
            "--start",
            (WINTER + timedelta(hours=10)).isoformat(),
            "--duration",
            "15m",
            "--cities",
            "620300",
            "--origin",
            WINTER.isoformat(),
            "--batch",
            "50",
        ]
        posted = CliRunner().invoke(
            main,
            args
            + [
                "--speed",
                "0",
                "--url",
                f"http://127.0.0.1:{server.server_port}/",
                "--token",
                "tok-1",
                "--no-seat-detail",
            ],
        )
        written = CliRunner().invoke(main, args + ["--out", "-"])
    finally:
        server.shutdown()
        server.server_close()
    assert posted.exit_code == 0, posted.output
    assert received and all(path == "/api/v1/events" and auth == "Bearer tok-1" for path, auth, _ in received)
    assert all(len(body) <= 50 for _p, _a, body in received)
    sent = [e for _p, _a, body in received for e in body]
    expected = [json.loads(line) for line in written.output.splitlines() if line.startswith("{")]
    assert sent == expected and len(sent) > 20


def test_sim016_seat_detail_adds_events_without_renaming_others():
    window = (WINTER + timedelta(hours=8), WINTER + timedelta(hours=12))
    plain = list(Province(seed=3, cities=["620300"], origin=WINTER).events(*window))
    detailed = list(Province(seed=3, cities=["620300"], origin=WINTER, seat_detail=True).events(*window))
    extra = [e for e in detailed if e["event_id"].split("-")[-1].startswith("b")]
    assert extra and all(e["type"] == "seat.state" for e in extra)
    assert [e for e in detailed if e not in extra] == plain


TECHNION = Path(__file__).resolve().parent / "data/technion_anonymous_bank_1999_02.tsv.gz"  # the whole month


def test_sim017_profile_constants_are_what_the_fit_script_gives():
    spec = importlib.util.spec_from_file_location(
        "fit_profiles", Path(__file__).parents[1] / "scripts/fit_profiles.py"
    )
    fit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fit)
    calls = fit.load(TECHNION)
    arrivals, patience, service = fit.fit_arrivals(calls), fit.fit_patience(calls), fit.fit_service(calls)
    assert [round(x, 5) for x in arrivals["shape"]] == list(profiles.HOUR_SHAPE_FITTED)
    assert [round(x, 4) for x in arrivals["level"]] == list(profiles.WEEKDAY_LEVEL_FITTED)
    assert round(patience["exp_mean_s"], 1) == profiles.PATIENCE_MEAN_S
    assert round(service["mu"], 4) == profiles.SERVICE_LOG_MU
    assert round(service["sigma"], 4) == profiles.SERVICE_LOG_SIGMA
    assert arrivals["r_cells"] > 0.95


def test_sim018_ticket_points_lie_in_the_district_they_name():
    from geo.locate import locate

    prov = Province(seed=1, cities=SMALL)
    created = [
        e
        for city in SMALL
        for _ms, _id, e in prov.simulate_city_day(city, date(2026, 12, 8))
        if e["type"] == "ticket.created"
    ]
    assert len({e["district"] for e in created}) == 3
    assert all(locate(e["lat"], e["lon"]) == (e["district"], e["city"]) for e in created)


def test_sim019_the_point_sampler_is_injectable():
    calls: list[str] = []

    def sampler(code: str, rng: random.Random) -> tuple[float, float]:
        calls.append(code)
        return 38.5 + rng.random() / 100, 102.0 + rng.random() / 100

    prov = Province(seed=1, cities=["620300"], sampler=sampler)
    created = [
        e
        for _ms, _id, e in prov.simulate_city_day("620300", date(2026, 12, 8))
        if e["type"] == "ticket.created"
    ]
    assert created and set(calls) == {"620302", "620321"}
    assert all(38.5 <= e["lat"] <= 38.51 and 102.0 <= e["lon"] <= 102.01 for e in created)
