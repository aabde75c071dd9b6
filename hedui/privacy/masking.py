"""Masking of personal values in everything a person reads."""

from __future__ import annotations

import re

from connectors.limits import mask_long_numbers
from matching.idnum import _real_birth_date, is_valid18

__all__ = ["NameMasker", "is_id_number", "mask_account", "mask_id", "mask_long_numbers", "mask_text"]

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_ID15_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{5})(\d{4})(?![0-9A-Za-z])")
#: a run of 18 (17 digits and a digit or X) or 15 digits between non-digits: glued to letters (`ID360102…`,
#: `身份证号360102…abc`) it is masked only when it is an ID number (`is_id_number`), so that digests and other
#: hexadecimal or alphanumeric codes in a text keep their digits
_ID_RUN = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9])")
#: the first two digits of a resident's ID number (GB/T 2260 provinces; 71 Taiwan, 81/82 Hong Kong, Macao)
_PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                        50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82})


def is_id_number(run: str) -> bool:
    """Whether a run of 18 characters (17 digits and a digit or X) or 15 digits is an ID number: a province
    code, a real birth date and, for 18, the right check character."""
    if int(run[:2]) not in _PROVINCES:
        return False
    if len(run) == 18:
        return _real_birth_date(run[6:14]) and is_valid18(run.upper())
    return _real_birth_date("19" + run[6:12])


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


# digits written in groups (`360102 19900101 1234`, `3601-0219-9001-0112-34`, `360102.19900101.123X`, or split by
# an invisible character pasted with them): one space, hyphen, point or zero-width character between groups of
# ≥ 3 digits (the last may be shorter), so dates (`2026-11-28`) stay whole
_SEP = "[ \u3000.\\-\u00ad\u200b-\u200f\u2060\ufeff]"
_GROUPED = re.compile(rf"(?<![0-9A-Za-z*])\d{{3,}}(?:{_SEP}\d{{3,}})*{_SEP}\d+[Xx]?(?![0-9A-Za-z])")


def _mask_grouped(m: re.Match, account_digits: int | None) -> str:
    text = m.group(0)
    digits = re.sub(_SEP, "", text)
    if _ID_LIKE.fullmatch(digits) or _ID15_LIKE.fullmatch(digits):
        return mask_id(digits)
    groups = len(re.split(_SEP, text))  # a card is written 4-4-4-4(-3); a property unit starts 6-6
    # points group an ID number, never a card (`192.168.100.200` is an address, `1.234.567` a number)
    if account_digits and "." not in text and digits.isdigit() and len(digits) >= account_digits and groups >= 3:
        return "****" + digits[-4:]
    return text


def mask_text(text: str, account_digits: int | None = None) -> str:
    """Mask any 18- or 15-digit ID-shaped number inside free text (log lines, error messages).

    Also written in groups (`360102 19900101 1234`), and an ID number glued to letters (`ID360102…1234`,
    `…1234abc`; see `_ID_RUN`).  With `account_digits`, a number of at least that many digits written in
    groups (`6222 0202 0011 2233 445`) is masked as an account.
    """
    text = _GROUPED.sub(lambda m: _mask_grouped(m, account_digits), text)
    text = _ID_LIKE.sub(lambda m: m.group(1) + "********" + m.group(3)[-4:], text)
    text = _ID15_LIKE.sub(lambda m: m.group(1) + "*****" + m.group(3), text)
    return _ID_RUN.sub(lambda m: mask_id(m.group(0)) if is_id_number(m.group(0)) else m.group(0), text)


class NameMasker:
    """Masks known full names inside free text as their first character + ``*`` (张三 → 张*).

    Built once from a set of names (e.g. every requested member's); a text is
    scanned position by position against the names' lengths, longest first, so
    the cost does not grow with the number of names.  One-character names are left alone.
    """

    def __init__(self, names):
        self.names = {n.strip() for n in names if n and len(n.strip()) >= 2}
        self.lengths = sorted({len(n) for n in self.names}, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if not text or not self.names:
            return text
        out, i, n = [], 0, len(text)
        while i < n:
            for length in self.lengths:
                if text[i:i + length] in self.names:
                    out.append(text[i] + "*")
                    i += length
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)
