"""Who is asking (a user, an API token or a kiosk screen), their role's permissions and their scope.

Roles: ``leader`` sees screens and figures; ``supervisor`` also tickets, exports, alert actions and
unmasking (each unmasking audited); ``admin`` also users, tokens, kiosk links and the audit log.
API tokens act for machines: figures, tickets, exports, alert actions and posting events, never
unmasking or administration. Kiosk links see aggregate screens only (wall, province, playlist).

A scope is one region code (province, city or district); ``*`` means everywhere (tokens only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

ROLES = ("leader", "supervisor", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "leader": frozenset({"figures"}),
    "supervisor": frozenset({"figures", "tickets", "export", "act", "unmask"}),
    "admin": frozenset({"figures", "tickets", "export", "act", "unmask", "admin"}),
    "token": frozenset({"figures", "tickets", "export", "act", "ingest"}),
    "kiosk": frozenset({"figures"}),
}


class AccessDenied(Exception):
    """The principal may not do this (HTTP 403), or the thing is outside their scope (404 when hidden)."""

    def __init__(self, message: str = "forbidden", status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Principal:
    kind: str  # user | token | kiosk | system
    name: str
    role: str  # leader | supervisor | admin | token | kiosk | system
    scopes: tuple[str, ...]
    id: int | None = None
    session_hash: str | None = field(default=None, repr=False)
    csrf: str | None = field(default=None, repr=False)

    def can(self, permission: str) -> bool:
        if self.role == "system":
            return True
        return permission in PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise AccessDenied(f"{self.role} may not {permission}")

    @property
    def scope(self) -> str:
        """The one scope of a user or kiosk (tokens may have several: the first)."""
        return self.scopes[0] if self.scopes else ""

    @property
    def label(self) -> str:
        """How alert and ticket history name this principal: the user name or the token's name."""
        return self.name


def system(scopes: Iterable[str] = ("*",)) -> Principal:
    """The command line and background jobs: everything, everywhere."""
    return Principal(kind="system", name="system", role="system", scopes=tuple(scopes))


SYSTEM = system()
