"""Simulated history in columns, straight into PostgreSQL (issue 15, "history in minutes").

``load_part`` is ``seeding._load_part``'s columnar twin: the city-days of a window come from
``cockpit.simulation.columnar`` as numpy arrays; each day of a group of cities becomes four
tab-separated COPY buffers (events with their JSON payload, calls, seat changes, ticket steps)
written with one f-string per row, no event object, no validation (the simulator's own output,
like ``BulkLoader(trusted=True)``); ``cockpit.store.columnar`` claims the event ids and moves the
rows set-based, tickets folded in SQL.

The final state equals the per-event path's for the same events (tests/test_bulk.py):

- events inside the live window (today) go through ``BulkLoader`` as raw events, so they reach
  Redis like any live event; older ones only SQL, current seat states to Redis at the end;
- a chunk whose ids were all stored before is skipped (duplicates); one whose ids were partly
  stored goes through ``BulkLoader`` as raw events (exact, slower);
- SQLite: the same buffers, split into temporary stages by executemany and moved in SQL, tickets
  folded in Python (``cockpit.store.columnar_sqlite``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from cockpit.simulation import catalog
from cockpit.simulation.columnar import (
    CALLBACK,
    CHANNELS,
    CLOSED,
    DISPATCHED,
    RESOLVED,
    RESPONDED,
    RETURNED,
    SEAT_REASONS,
    STATES,
    STEP_REASONS,
    STEP_RESOLUTIONS,
    STEP_TYPES,
    TRANSFERRED,
    URGENCIES,
    CityDay,
    CityDayGen,
)
from cockpit.simulation.engine import HORIZON_DAYS
from cockpit.simulation.incidents import LOCAL_TZ
from cockpit.simulation.tickets import SAT_LEVELS

NULL = "\\N"
_SECONDS = tuple(f"{ms // 1000:02d}Z" if ms % 1000 == 0 else f"{ms // 1000:02d}.{ms % 1000:03d}000Z"
                 for ms in range(60_000))  # pydantic's UTC form: microseconds only when there is a fraction
_UTC_MINUTES: dict[int, str] = {}
_CHECKED = False


def utc_strings(ms: np.ndarray) -> list[str]:
    """Epoch ms as pydantic writes an aware UTC datetime ("2026-11-02T00:00:01.500000Z")."""
    ms = np.asarray(ms, np.int64)
    minute, rem = np.divmod(ms, 60_000)
    uniq, inv = np.unique(minute, return_inverse=True)
    prefixes = []
    for m in uniq.tolist():
        p = _UTC_MINUTES.get(m)
        if p is None:
            day, mm = divmod(m, 1440)
            p = _UTC_MINUTES[m] = f"{date.fromordinal(719_163 + day).isoformat()}T{mm // 60:02d}:{mm % 60:02d}:"
        prefixes.append(p)
    sec = _SECONDS
    return [prefixes[i] + sec[r] for i, r in zip(inv.tolist(), rem.tolist())]


def _check_text() -> None:
    """The simulator's strings are written into JSON and COPY text unescaped: none may need escaping."""
    global _CHECKED
    if _CHECKED:
        return
    bad = set('"\\\t\n\r')
    strings = [s for c in catalog.CATEGORIES for s in (*c.templates, *c.path, c.dept)]
    strings += [s for city in catalog.cities().values() for d in city.districts for s in (d.name, *d.streets)]
    strings += [*STEP_REASONS, *STEP_RESOLUTIONS, *SEAT_REASONS, *(c.short for c in catalog.cities().values())]
    assert not any(bad & set(s) for s in strings), "a catalog string needs JSON/COPY escaping"
    _CHECKED = True


def buffers(cd: CityDay, out: dict[str, list[str]], received: str) -> tuple[int, int, int]:
    """Append ``cd``'s rows to the COPY buffers ``out`` (lists of lines: "ids", "events", "calls",
    "seat_changes", "steps"); ``received``: the receipt time as COPY text. Returns (events, lowest
    ms, highest ms), (0, 0, 0) when empty."""
    city = cd.city
    head = f'","city":"{city}","source":"sim",'
    tail = f"\t{received}\tsim\n"
    ids = out["ids"]
    ev, calls_out, seats_out, steps_out = out["events"], out["calls"], out["seat_changes"], out["steps"]
    lo, hi, n = [], [], 0

    c = cd.calls
    if len(c["call_no"]):
        cids = cd.call_ids(c["call_no"])
        seat_names = [cd.seat_ids[i] if i >= 0 else None for i in c["seat"].tolist()]
        off_ms, out_ms, end_ms = c["offered_ms"], c["outcome_ms"], c["ended_ms"]
        queued = np.where(out_ms >= 0, out_ms - c["wait_ds"] * 100, off_ms)
        stamps = utc_strings(np.concatenate([off_ms, out_ms, end_ms, queued]))
        k = len(cids)
        t_off, t_out, t_end, t_q = stamps[:k], stamps[k:2 * k], stamps[2 * k:3 * k], stamps[3 * k:]
        e_off = cd.event_ids("call", c["offered_seq"])
        e_out = cd.event_ids("call", c["outcome_seq"])
        e_end = cd.event_ids("call", np.maximum(c["ended_seq"], 0))
        for eids, times, arr in ((e_off, t_off, off_ms), (e_out, t_out, out_ms), (e_end, t_end, end_ms)):
            ids += [f"{e}\t{t}\n" for e, t, ok in zip(eids, times, (arr >= 0).tolist()) if ok]
        for (cid, seat, has_off, has_out, has_end, answered, w, tk, hd, aw, eo, eu, ee, to, tu, te, tq) in zip(
                cids, seat_names, (off_ms >= 0).tolist(), (out_ms >= 0).tolist(), (end_ms >= 0).tolist(),
                c["answered"].tolist(), c["wait_ds"].tolist(), c["talk_ds"].tolist(), c["hold_ds"].tolist(),
                c["acw_ds"].tolist(), e_off, e_out, e_end, t_off, t_out, t_end, t_q):
            wait, talk, hold, acw = w / 10, tk / 10, hd / 10, aw / 10
            if has_off:
                ev.append(f'{eo}\tcall.offered\t{city}\t{cid}\t{to}\t{{"event_id":"{eo}","occurred_at":"{to}{head}'
                          f'"call_id":"{cid}","type":"call.offered","channel":"phone"}}{tail}')
            if has_out:
                if answered:
                    ev.append(f'{eu}\tcall.answered\t{city}\t{cid}\t{tu}\t{{"event_id":"{eu}","occurred_at":"{tu}{head}'
                              f'"call_id":"{cid}","type":"call.answered","seat_id":"{seat}","wait_s":{wait}}}{tail}')
                else:
                    ev.append(f'{eu}\tcall.abandoned\t{city}\t{cid}\t{tu}\t{{"event_id":"{eu}","occurred_at":"{tu}'
                              f'{head}"call_id":"{cid}","type":"call.abandoned","wait_s":{wait}}}{tail}')
            if has_end:
                ev.append(f'{ee}\tcall.ended\t{city}\t{cid}\t{te}\t{{"event_id":"{ee}","occurred_at":"{te}{head}'
                          f'"call_id":"{cid}","type":"call.ended","talk_s":{talk},"hold_s":{hold},"acw_s":{acw},'
                          f'"seat_id":"{seat}"}}{tail}')
            seated = answered and (has_out or has_end)
            calls_out.append(
                f"{city}\t{cid}\t{'phone' if has_off else NULL}\t{to if has_off else NULL}\t"
                f"{tu if has_out and answered else NULL}\t{tu if has_out and not answered else NULL}\t"
                f"{te if has_end else NULL}\t{tq if (has_out or has_off) else NULL}\t{seat if seated else NULL}\t"
                f"{wait if has_out else NULL}\t{talk if has_end else NULL}\t{hold if has_end else NULL}\t"
                f"{acw if has_end else NULL}\n")
        for arr in (off_ms, out_ms, end_ms):
            valid = arr[arr >= 0]
            if len(valid):
                lo.append(valid.min())
                hi.append(valid.max())
                n += len(valid)

    s = cd.seat_changes
    if len(s["ms"]):
        stamps = utc_strings(s["ms"])
        eids = cd.event_ids("seat", s["seq"])
        ids += [f"{e}\t{t}\n" for e, t in zip(eids, stamps)]
        for eid, seat, state, reason, t in zip(eids, s["seat"].tolist(), s["state"].tolist(),
                                               s["reason"].tolist(), stamps):
            name, st = cd.seat_ids[seat], STATES[state]
            why = f',"reason":"{SEAT_REASONS[reason]}"' if reason else ""
            ev.append(f'{eid}\tseat.state\t{city}\t{name}\t{t}\t{{"event_id":"{eid}","occurred_at":"{t}{head}'
                      f'"type":"seat.state","seat_id":"{name}","state":"{st}"{why}}}{tail}')
            seats_out.append(f"{eid}\t{city}\t{name}\t{st}\t{SEAT_REASONS[reason] if reason else NULL}\t{t}\n")
        lo.append(s["ms"].min())
        hi.append(s["ms"].max())
        n += len(s["ms"])

    t = cd.tickets
    if len(t["created_ms"]):
        stamps = utc_strings(np.concatenate([t["created_ms"], t["due_ms"]]))
        k = len(t["created_ms"])
        tids = cd.ticket_ids(t["ticket_no"])
        call_ids = cd.call_ids(np.maximum(t["call_no"], 0))
        dists = cd.districts
        paths = ['["' + '","'.join(c.path) + '"]' for c in catalog.CATEGORIES]
        eids = cd.event_ids("ticket", t["seq"])
        ids += [f"{e}\t{x}\n" for e, x in zip(eids, stamps[:k])]
        for (eid, tid, ts, due, d, lat, lon, cat, ch, urg, text_, caller, addr, call_no, cid) in zip(
                eids, tids, stamps[:k], stamps[k:], t["district"].tolist(),
                t["lat"].tolist(), t["lon"].tolist(), t["category"].tolist(), t["channel"].tolist(),
                t["urgency"].tolist(), t["text"], t["caller"], t["address"], t["call_no"].tolist(), call_ids):
            frag = (f'"district":"{dists[d]}","lat":{lat},"lon":{lon},"category":{paths[cat]},'
                    f'"channel":"{CHANNELS[ch]}","urgency":"{URGENCIES[urg]}","text":"{text_}","caller":"{caller}",'
                    f'"address":"{addr}",' + (f'"call_id":"{cid}",' if call_no >= 0 else "") + f'"due_at":"{due}"')
            ev.append(f'{eid}\tticket.created\t{city}\t{tid}\t{ts}\t{{"event_id":"{eid}","occurred_at":"{ts}{head}'
                      f'"ticket_id":"{tid}","type":"ticket.created",{frag}}}{tail}')
            steps_out.append(f"{tid}\t{eid}\t{city}\tticket.created\t{ts}\t{NULL}\t{{{frag}}}\n")
        lo.append(t["created_ms"].min())
        hi.append(t["created_ms"].max())
        n += k

    st = cd.steps
    if len(st["ms"]):
        stamps = utc_strings(st["ms"])
        units = cd.units
        tids = cd.ticket_ids(cd.step_ticket_nos())
        eids = cd.event_ids("ticket", st["seq"])
        ids += [f"{e}\t{x}\n" for e, x in zip(eids, stamps)]
        for (eid, tid, ts, kind, u, fu, auto, conf, reason, res, nocb, rsv, sat) in zip(
                eids, tids, stamps, st["type"].tolist(), st["unit"].tolist(),
                st["from_unit"].tolist(), st["auto"].tolist(), st["confidence"].tolist(), st["reason"].tolist(),
                st["resolution"].tolist(), st["no_callback"].tolist(), st["resolved"].tolist(),
                st["satisfaction"].tolist()):
            unit = units[u]
            if kind == DISPATCHED:
                frag = f'"unit":"{unit}","auto":{"true" if auto else "false"}' + (
                    "" if conf != conf else f',"confidence":{conf}')
            elif kind == RETURNED:
                frag = f'"unit":"{unit}","reason":"{STEP_REASONS[reason]}"'
            elif kind == TRANSFERRED:
                frag = f'"from_unit":"{units[fu]}","to_unit":"{unit}"'
            elif kind == RESPONDED:
                frag = f'"unit":"{unit}"'
            elif kind == CLOSED:
                frag = (f'"unit":"{unit}","resolution":"{STEP_RESOLUTIONS[res]}",'
                        f'"no_callback":{"true" if nocb else "false"}')
            elif kind == CALLBACK:
                frag = f'"resolved":"{RESOLVED[rsv]}","satisfaction":"{SAT_LEVELS[sat]}"'
                unit = NULL
            else:
                frag = f'"reason":"{STEP_REASONS[reason]}"'
                unit = NULL
            typ = STEP_TYPES[kind]
            ev.append(f'{eid}\t{typ}\t{city}\t{tid}\t{ts}\t{{"event_id":"{eid}","occurred_at":"{ts}{head}'
                      f'"ticket_id":"{tid}","type":"{typ}",{frag}}}{tail}')
            steps_out.append(f"{tid}\t{eid}\t{city}\t{typ}\t{ts}\t{unit}\t{{{frag}}}\n")
        lo.append(st["ms"].min())
        hi.append(st["ms"].max())
        n += len(st["ms"])
    if not n:
        return 0, 0, 0
    return n, int(min(lo)), int(max(hi))


class _Partial(Exception):
    """Some of the chunk's event ids were stored before: undo the claims, load it the general way."""


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def write_chunk(stores: Any, days: list[CityDay], *, received_at: datetime) -> tuple[int, int, int, int] | None:
    """One transaction: the chunk's rows staged, claimed and moved. Returns (new events, duplicates,
    lowest ms, highest ms), or None when only some ids were new (the caller loads it otherwise)."""
    from cockpit.store import columnar as sql
    from cockpit.timeutil import naive_utc

    _check_text()
    out: dict[str, list[str]] = {"ids": [], "events": [], "calls": [], "seat_changes": [], "steps": []}
    n, lo, hi = 0, None, None
    received = naive_utc(received_at).isoformat(sep=" ")
    for cd in days:
        k, a, b = buffers(cd, out, received)
        if k:
            n += k
            lo = a if lo is None else min(lo, a)
            hi = b if hi is None else max(hi, b)
    if not n:
        return 0, 0, 0, 0
    if stores.dialect == "sqlite":
        return _write_chunk_sqlite(stores, out, n, lo, hi, received_at=naive_utc(received_at))
    data = {name: "".join(lines) for name, lines in out.items()}
    try:
        with stores.session() as session:
            sql.stage(session, data)
            new = sql.claim(session)
            if new == 0:
                return n, n, lo, hi  # all stored before: the commit only releases the stages
            if new != n:
                raise _Partial()
            sql.move(session, data["events"])
    except _Partial:
        return None
    return n, 0, lo, hi


class _AllStored(Exception):
    """Every id of the chunk was stored before: roll the stages back, count duplicates."""


def _write_chunk_sqlite(stores: Any, out: dict[str, list[str]], n: int, lo: int, hi: int, *,
                        received_at: datetime) -> tuple[int, int, int, int] | None:
    """``write_chunk`` on SQLite (``cockpit.store.columnar_sqlite``): the lines split into stages by
    the driver's executemany, the events claimed by ``INSERT OR IGNORE``, the rest moved in SQL."""
    from cockpit.store import columnar_sqlite as sql

    steps = sql.step_rows(out["steps"])
    with stores.session() as session:  # reads only: the folds are done before taking the write lock
        folded = sql.fold(session, steps) if steps else None
    try:
        with stores.session() as session:
            sql.stage(session, out)
            new = sql.claim(session, received_at=received_at)
            if new == 0:
                raise _AllStored()
            if new != n:
                raise _Partial()
            sql.move(session, steps, folded)
    except _AllStored:
        return n, n, lo, hi
    except _Partial:
        return None
    return n, 0, lo, hi


def load_part(stores: Any, *, seed: int, cities: list[str] | None, scale: float, start: datetime,
              stop: datetime, origin: datetime, batch: int, window: Any, now: datetime, trusted: bool,
              on_day=None, seat_detail: bool = False) -> dict:
    """``seeding._load_part`` with the columnar simulator: ``[start, stop)`` of ``cities`` loaded a day
    of the group per chunk (no rollups; ``seed_history`` computes them). Same result keys."""
    from cockpit.bulk import BulkLoader

    cities = list(cities) if cities else list(catalog.cities())
    gen = CityDayGen(seed, scale=scale, seat_detail=seat_detail)
    loader = BulkLoader(stores, source="sim", window=window, now=now, trusted=trusted)
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0, "events": 0}
    start_ms, stop_ms = _ms(start), _ms(stop)
    hist_hi = max(start_ms, min(stop_ms, _ms(loader.live_from)))  # older than this: SQL only
    start_day = start.astimezone(LOCAL_TZ).date()
    first = max(origin.astimezone(LOCAL_TZ).date(), start_day - timedelta(days=HORIZON_DAYS))
    last = (stop - timedelta(milliseconds=1)).astimezone(LOCAL_TZ).date()
    lo_ms: int | None = None
    hi_ms: int | None = None

    def through_loader(raws: list[dict]) -> None:
        for i in range(0, len(raws), batch):
            part = raws[i:i + batch]
            result = loader.add(part)
            totals["accepted"] += result.accepted
            totals["duplicates"] += result.duplicates
            totals["rejected"] += len(result.rejected)
            totals["events"] += len(part)

    day = first
    while day <= last:
        hist, live_raws = [], []
        for city in cities:
            cd = gen.city_day(city, day)
            if hist_hi > start_ms:
                hist.append(cd.clip(start_ms, hist_hi))
            if stop_ms > hist_hi:
                live_raws += cd.clip(hist_hi, stop_ms).raw_events()
        if hist:
            done = write_chunk(stores, hist, received_at=now)
            if done is None:
                through_loader([e for cd in hist for e in cd.raw_events()])
            else:
                n, dup, a, b = done
                totals["accepted"] += n - dup
                totals["duplicates"] += dup
                totals["events"] += n
                if n - dup:
                    lo_ms = a if lo_ms is None else min(lo_ms, a)
                    hi_ms = b if hi_ms is None else max(hi_ms, b)
                    loader.seat_cities.update(cd.city for cd in hist if len(cd.seat_changes["ms"]))
        if live_raws:
            through_loader(live_raws)
        if on_day is not None and day >= start_day:
            on_day((day - start_day).days + 1)
        day += timedelta(days=1)
    loader.finish(rollup=False)
    los = [x for x in (loader.lo, lo_ms and datetime.fromtimestamp(lo_ms / 1000, UTC)) if x]
    his = [x for x in (loader.hi, hi_ms and datetime.fromtimestamp(hi_ms / 1000, UTC)) if x]
    totals["lo"] = min(los).isoformat() if los else None
    totals["hi"] = max(his).isoformat() if his else None
    return totals
