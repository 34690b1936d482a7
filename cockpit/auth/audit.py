"""The audit log: one row per login, ticket view, unmasking, export, alert action, user/token change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cockpit.auth.principal import Principal
from cockpit.store import audit as rows
from cockpit.store.models import AuditEntry

ACTIONS = (
    "login", "login_failed", "logout", "ticket_view", "unmask", "export", "alert_ack", "alert_escalate",
    "alert_resolve", "user_create", "user_disable", "user_enable", "user_password", "token_create",
    "token_revoke", "kiosk_create", "kiosk_revoke", "kiosk_start", "denied",
)


def utcnow() -> datetime:
    return datetime.utcnow().replace(microsecond=0)  # noqa: DTZ003 - naive UTC like every column


def record(session: Session, *, actor: str, actor_kind: str, action: str, target: str | None = None,
           scope: str | None = None, ip: str | None = None, outcome: str = "ok", detail: dict | None = None) -> None:
    rows.add_entry(session, AuditEntry(at=utcnow(), actor=actor[:64], actor_kind=actor_kind, action=action[:32],
                                       target=(target or None) and str(target)[:256], scope=scope, ip=ip,
                                       outcome=outcome, detail=detail))


def record_for(session: Session, principal: Principal, action: str, *, target: str | None = None,
               ip: str | None = None, outcome: str = "ok", detail: dict | None = None) -> None:
    record(session, actor=principal.name, actor_kind=principal.kind, action=action, target=target,
           scope=",".join(principal.scopes)[:32], ip=ip, outcome=outcome, detail=detail)


def listing(session: Session, *, limit: int = 100, actor: str | None = None, action: str | None = None,
            since: datetime | None = None) -> list[AuditEntry]:
    return rows.entries(session, limit=limit, actor=actor, action=action, since=since)


def as_dict(row: AuditEntry) -> dict:
    return {"id": row.id, "at": row.at.isoformat() + "Z", "actor": row.actor, "actor_kind": row.actor_kind,
            "action": row.action, "target": row.target, "scope": row.scope, "ip": row.ip, "outcome": row.outcome,
            "detail": row.detail}
