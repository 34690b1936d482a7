"""Masking of personal data in text that leaves the cockpit (Open311, reports).

Pure functions, no state. A phone number keeps its first three and last four digits
(138****1234), an 18-digit ID number its first six and last four, a bank-card number its first
four and last four; e-mail addresses keep only their domain. In an address the building, unit and
room numbers are masked (they identify a household); the street and its number stay (they locate
the problem). A request's own text usually repeats its address, so it is masked the same way.
"""

from __future__ import annotations

import re

_ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_BANK_CARD = re.compile(r"(?<!\d)(\d{4})\d{8,11}(\d{4})(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)\d{3,4}(\d{4})(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.[A-Za-z0-9.-]+)")
_HOUSEHOLD = re.compile(r"\d+(?=\s*(?:号楼|栋|幢|单元|楼|层|室|户))")


def mask_text(text: str | None) -> str | None:
    """``text`` with phone, ID and bank-card numbers and e-mail addresses masked (None stays None)."""
    if not text:
        return text
    out = _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(2), text)
    out = _BANK_CARD.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 8) + m.group(2), out)
    out = _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), out)
    out = _LANDLINE.sub(lambda m: m.group(1) + "****" + m.group(2), out)
    return _EMAIL.sub(lambda m: "***@" + m.group(1), out)


def mask_address(address: str | None) -> str | None:
    """An address with building/unit/floor/room numbers replaced by ``*`` (and text masking)."""
    if not address:
        return address
    return mask_text(_HOUSEHOLD.sub("*", address))


def mask_request_text(text: str | None) -> str | None:
    """A request's free text (what the caller said, the resolution note): ``mask_text`` and, as in an
    address, building/unit/floor/room numbers, which the text repeats from the address."""
    if not text:
        return text
    return mask_text(_HOUSEHOLD.sub("*", text))
