"""What every page builder receives."""

from __future__ import annotations

from dataclasses import dataclass, field

from cockpit.settings import Settings


@dataclass(frozen=True)
class PageContext:
    lang: str
    settings: Settings
    query: dict[str, str] = field(default_factory=dict)
    path: str = "/"

    @property
    def kiosk(self) -> bool:
        """Wall-screen mode: no navigation, no cursor, no scroll bars (``?kiosk=1``)."""
        return self.query.get("kiosk") in ("1", "true", "yes")
