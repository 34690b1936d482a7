"""Alert tables stay bounded (issue 13, retention): a group's history records severity changes,
not every ticket joining; its ticket list is rewritten by difference; ``prune`` deletes resolved
alerts past the retention and compacts the routine events of alerts open longer than that.
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from cockpit.store.models import Alert, AlertEvent, AlertItem
from cockpit.watch import alerts
from cockpit.watch.alerts import Finding

T0 = datetime(2026, 8, 1, 4, 0)


def _group(n: int, *, severity: str, first: int = 0, key: str = "620100:620102") -> Finding:
    ids = [f"G{i:03d}" for i in range(first, first + n)]
    return Finding(rule="overdue", key=key, city="620100", district="620102", severity=severity,
                   title=f"城关区 · 超期未办结 · {n} 件", detail={"group_by": "district", "size": n},
                   items=ids, since=T0 - timedelta(hours=1), size=n, repeat_s=0.0)


def _events(session, alert_id: int) -> list[str]:
    return [e["action"] for e in alerts.events_of(session, alert_id)]


def _items(session, alert_id: int) -> list[str]:
    return sorted(session.scalars(select(AlertItem.ticket_id).where(AlertItem.alert_id == alert_id)))


def test_ret001_a_growing_group_logs_its_severity_changes_not_every_ticket(stores):
    with stores.session() as session:
        for minute, n in enumerate(range(1, 13)):  # a ticket joins every minute; major from 10
            alerts.reconcile(session, "overdue", [_group(n, severity="major" if n >= 10 else "minor")],
                             now=T0 + timedelta(minutes=minute))
        (alert,) = session.scalars(select(Alert))
        assert (alert.size, alert.severity, alert.title) == (12, "major", "城关区 · 超期未办结 · 12 件")
        # minor -> major only (and, as it grew worse while firing, notified again)
        assert _events(session, alert.id) == ["opened", "fired", "renotified", "updated"]
        assert _items(session, alert.id) == [f"G{i:03d}" for i in range(12)]
        # Tickets leave and others join: the list is exactly the new one.
        alerts.reconcile(session, "overdue", [_group(5, severity="minor", first=9)], now=T0 + timedelta(minutes=20))
        assert _items(session, alert.id) == [f"G{i:03d}" for i in range(9, 14)]
        assert _events(session, alert.id) == ["opened", "fired", "renotified", "updated", "updated"]  # -> minor
        # An anomaly (no size) still logs each change of its figures.
        spike = Finding(rule="volume_anomaly", key="620100:620102:城乡建设:供热", city="620100", district="620102",
                        severity="major", title="供热激增", detail={"count": 12})
        alerts.reconcile(session, "volume_anomaly", [spike], now=T0)
        spike.detail = {"count": 15}
        alerts.reconcile(session, "volume_anomaly", [spike], now=T0 + timedelta(minutes=1))
        surge = session.scalar(select(Alert).where(Alert.rule == "volume_anomaly"))
        assert _events(session, surge.id) == ["opened", "fired", "updated"]


def test_ret002_prune_deletes_resolved_alerts_past_retention_and_compacts_long_open_ones(stores):
    old = Finding(rule="connection_drop", key="620200", city="620200", district=None, severity="critical",
                  title="接通率下降", items=["X1"], repeat_s=3600)
    long_open = Finding(rule="connection_drop", key="620100", city="620100", district=None, severity="critical",
                        title="接通率下降", repeat_s=3600)
    with stores.session() as session:
        alerts.reconcile(session, "connection_drop", [old, long_open], now=T0)
        alerts.reconcile(session, "connection_drop", [long_open], now=T0 + timedelta(hours=1, minutes=1))
        keep_id = session.scalar(select(Alert.id).where(Alert.key == "620100"))
        gone_id = session.scalar(select(Alert.id).where(Alert.key == "620200"))
        alerts.assign(session, keep_id, by="值班长", to="话务中心", kind="unit", now=T0 + timedelta(hours=2))
        # Still open (and firing: an assignment is not an acknowledgement) 99 days later.
        alerts.reconcile(session, "connection_drop", [long_open], now=T0 + timedelta(days=99))
        assert _events(session, keep_id) == ["opened", "fired", "renotified", "assigned", "renotified"]
        counts = alerts.prune(session, keep_days=90, now=T0 + timedelta(days=100))
    assert counts["alerts"] == 1 and counts["items"] == 1 and counts["compacted"] == 1
    with stores.session() as session:
        assert session.get(Alert, gone_id) is None
        assert session.scalar(select(func.count()).select_from(AlertEvent).where(AlertEvent.alert_id == gone_id)) == 0
        # The open alert keeps its lifecycle and the people's actions; the routine step before the
        # cutoff is gone, the one after it stays.
        assert _events(session, keep_id) == ["opened", "fired", "assigned", "renotified"]
        assert session.get(Alert, keep_id).open_key is not None
