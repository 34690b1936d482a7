"""What every page builder receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cockpit.settings import Settings


@dataclass(frozen=True)
class PageContext:
    lang: str
    settings: Settings
    query: dict[str, str] = field(default_factory=dict)
    path: str = "/"
    # may_open(path, query): whether the viewer may open that page (cockpit.auth.policy.check_page);
    # None: everything (tests, builders called outside a request)
    may_open: Callable[[str, dict[str, str]], bool] | None = field(default=None, compare=False)
    # the one city the viewer works in (cockpit.auth.scope.home_city); None: province-wide, or no viewer
    home_city: str | None = None

    def may(self, path: str, query: dict[str, str] | None = None) -> bool:
        """Whether a link to ``path`` leads the viewer somewhere they may go (not to 'forbidden')."""
        return self.may_open is None or self.may_open(path, query or {})

    @property
    def kiosk(self) -> bool:
        """Wall-screen mode: no navigation, no cursor, no scroll bars (``?kiosk=1``)."""
        return self.query.get("kiosk") in ("1", "true", "yes")
