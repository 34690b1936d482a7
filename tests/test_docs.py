"""The documentation's examples are real: every JSON event in docs/events.md validates."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cockpit.events import EVENT_TYPES, validate

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_doc001_every_event_example_validates_and_every_type_has_one():
    text = (DOCS / "events.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)\n```", text, flags=re.S)
    seen = set()
    for block in blocks:
        raw = json.loads(block)
        event, errors = validate(raw)
        assert errors == [], (raw["type"], errors)
        seen.add(event.type)
    assert seen == set(EVENT_TYPES)
