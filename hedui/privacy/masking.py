"""Masking of personal values in everything a person reads."""

from __future__ import annotations

import re

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_ID15_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{5})(\d{4})(?![0-9A-Za-z])")


def mask_id(value: str | None) -> str:
    """An ID number as first 6 + ******** + last 4 (`360102********1234`)."""
    if not value:
        return ""
    v = str(value).strip()
    if len(v) <= 10:
        return "*" * len(v)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def mask_account(value: str | None) -> str:
    """An account number as **** + last 4."""
    if not value:
        return ""
    v = re.sub(r"\s", "", str(value))
    return "****" + v[-4:] if len(v) > 4 else "****"


def mask_text(text: str) -> str:
    """Mask any 18- or 15-digit ID-shaped number inside free text (log lines, error messages)."""
    text = _ID_LIKE.sub(lambda m: m.group(1) + "********" + m.group(3)[-4:], text)
    return _ID15_LIKE.sub(lambda m: m.group(1) + "*****" + m.group(3), text)
