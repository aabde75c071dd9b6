"""GB 11643-1999 citizen ID numbers: check character, legacy 15-digit form, normalization.

The arithmetic (``check_char``, ``is_valid18``, ``legacy15_to_18``,
``to_legacy15``) is dependency-free and shared by the generator and the
matching code.  :func:`normalize_id` turns an ID as delivered (full-width
digits, lowercase ``x``, spaces, an Excel apostrophe or ``="…"`` wrapper,
scientific notation …) into the 18-character form and a status; its SQL twin
is ``hd_id_norm`` / ``hd_id_status`` in ``sql/macros.sql`` (same answers on
the shared vectors of ``tests/test_normalize.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from matching.normalize import WS_CLASS, fold_width

if TYPE_CHECKING:
    import numpy as np

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(body17: str) -> str:
    """Check character for the first 17 digits of an 18-character ID."""
    if len(body17) != 17 or not body17.isdigit() or not body17.isascii():
        raise ValueError(f"need 17 ASCII digits, got {body17!r}")
    total = 0
    for c, w in zip(body17, WEIGHTS, strict=True):
        total += (ord(c) - 48) * w
    return CHECK_CHARS[total % 11]


def is_valid18(id18: str) -> bool:
    """True for an 18-character ID (uppercase X) whose check character is right."""
    if len(id18) != 18 or not id18[:17].isdigit() or not id18[:17].isascii():
        return False
    return check_char(id18[:17]) == id18[17]


def legacy15_to_18(id15: str, century: str = "19") -> str:
    """Convert the legacy 15-digit form: insert the century before the 2-digit year."""
    if len(id15) != 15 or not id15.isdigit() or not id15.isascii():
        raise ValueError(f"need 15 ASCII digits, got {id15!r}")
    body = id15[:6] + century + id15[6:]
    return body + check_char(body)


def to_legacy15(id18: str) -> str | None:
    """The legacy 15-digit form of an 18-character ID, or None if not born 19xx."""
    if len(id18) != 18 or id18[6:8] != "19":
        return None
    return id18[:6] + id18[8:17]


#: id_status values, in the words of docs/internals.md.
VALID = "valid"
CONVERTED_15 = "converted_15"
BAD_CHECK = "bad_check"
MALFORMED = "malformed"
SCIENTIFIC = "scientific"
MISSING = "missing"
STATUSES = (VALID, CONVERTED_15, BAD_CHECK, MALFORMED, SCIENTIFIC, MISSING)
#: Statuses whose normalized ID may be used for exact linkage.
LINKABLE = frozenset({VALID, CONVERTED_15})

_WS = re.compile(f"[{WS_CLASS}]+")
_EXCEL_TEXT = re.compile(r'="(.*)"')
#: dashes a clerk puts between an ID's digit groups (360702-19800101-0013), as spaces
_DASHES = re.compile("[-\u2010-\u2015\u2212]+")
#: a legacy 15-digit ID as a float column writes it (360702800101001.0): exact below 2**53, the digits are the ID
_FLOAT15 = re.compile(r"([0-9]{15})\.0+")
#: other marks a clerk puts between an ID's digit groups (110101/19900101/1234, 110101.1990.0101.1234, 、 _ | …):
#: removed only when what is left is an ID's shape (18 or 15 characters), so a value that is no ID stays as it was
_GROUP_SEPS = re.compile("[/\\\\.,_|:;\u3001\u3002\uff0c\u00b7]+")
_GROUPED = re.compile("[0-9][0-9X/\\\\.,_|:;\u3001\u3002\uff0c\u00b7]*[0-9X]")
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")
#: what may stand before a check character × read as X: a digit, or a `*` of a masked ID (360702********123×)
_CHECK_BEFORE = frozenset("0123456789*")
_LEADING_QUOTES = re.compile("^['\u2018\u2019`]+")
_SCIENTIFIC = re.compile(r"[0-9]+(?:\.[0-9]+)?E[+-]?[0-9]+")
#: an ID written with its label or in brackets (`身份证:360102…`, `ID 360102…`, `（360102…）`, `360102…(身份证)`): the
#: label names the ID card and nothing else stands in the cell, so the digits are the ID; any other text around an ID
#: (`代理人360102…`, two IDs in one cell) leaves it malformed
_ID_LABEL = ("公民身份号码|公民身份证号码|公民身份证号|居民身份证号码|居民身份证号|居民身份证|身份证号码|身份证号|身份证|身份号码"
             "|证件号码|证件号|号码|IDNO\\.?|ID|NO\\.?|SFZH?")
_WRAPPED = re.compile(f"(?:(?:{_ID_LABEL})[:#=]?)?([(\\[【<《{{]?)([0-9]{{17}}[0-9X]|[0-9]{{15}})([)\\]】>》}}]?)"
                      f"(?:[(\\[【]?(?:{_ID_LABEL})[)\\]】]?)?")
_BRACKET_PAIRS = frozenset({"", "()", "[]", "【】", "<>", "《》", "{}"})
#: an ID with a remark in brackets after it holding no digit (`36070219800101002X（户主）`, `…(本人)`, `…(已故)`): the ID,
#: unless the remark names another person (代理人, 父, 配偶 …) or another number (旧, 户号, 护照 …): whose ID or which
#: number it is is then not known, and the cell is an ID among other words (as hd_id_unremark)
_REMARKED = re.compile(r"([0-9]{17}[0-9X]|[0-9]{15})[(\[【]([^0-9()\[\]【】]*)[)\]】]")
_ID_STOP = re.compile("([0-9X\u00d7)\\]】])[.。]$")
OTHER_THAN_ID = re.compile("代|监护|委托|经办|担保|联系|他人|亲属|家属|配偶|夫|妻|父|母|爸|妈|子|女|儿|孙|祖|爷|奶|外|兄|弟|姐|妹|哥|嫂|叔|伯|姑|舅|姨|媳|婿|亲|借|共|联名|旧|曾用|原|错|误|废|无效|注销|假|疑|待|户口|户号|护照|军|警|港|澳|台")
_ID18 = re.compile(r"[0-9]{17}[0-9X]")
_ID15 = re.compile(r"[0-9]{15}")
_BIRTH_YEARS = range(1800, 2100)


def clean_id(raw: object) -> str:
    """The ID as delivered, without whitespace, width, case, dashes or other marks between digit groups (``/ . _ |
    、`` …, when what is left has an ID's shape; a check character ``×`` after a digit or ``*`` is ``X``) and Excel
    artefacts (an apostrophe, ``="…"``, the ``.0`` a float column writes after a 15-digit legacy ID), a label or
    brackets around it (``身份证:…``, ``ID …``, ``（…）``: :data:`_WRAPPED`); may be empty."""
    if raw is None:
        return ""
    s = _DASHES.sub("", _WS.sub("", fold_width(str(raw))))
    if m := _EXCEL_TEXT.fullmatch(s):
        s = m.group(1)
    s = _LEADING_QUOTES.sub("", s).upper()
    if m := _FLOAT15.fullmatch(s):
        return m.group(1)
    s = _ID_STOP.sub(r"\1", s)  # a full stop closing the cell (360102…13。, …（户主）.)
    if s[-2:-1] in _CHECK_BEFORE and s.endswith("\u00d7"):  # the check character X typed as the sign × (an IME's x)
        s = s[:-1] + "X"
    if (m := _REMARKED.fullmatch(s)) and not OTHER_THAN_ID.search(s):  # 36070219800101002X（户主）
        return m.group(1)
    if _GROUPED.fullmatch(s) and _ID_SHAPE.fullmatch(t := _GROUP_SEPS.sub("", s)):
        return t
    if (m := _WRAPPED.fullmatch(s)) and m.group(1) + m.group(3) in _BRACKET_PAIRS:
        return m.group(2)
    return s


def _real_birth_date(yyyymmdd: str) -> bool:
    y = int(yyyymmdd[:4])
    if y not in _BIRTH_YEARS:
        return False
    try:
        dt.date(y, int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


def normalize_id(raw: object) -> tuple[str | None, str]:
    """``(id18, status)`` for an ID number as delivered.

    Statuses: ``valid``; ``converted_15`` (legacy 15 digits, ``19`` inserted
    before the year, check character computed); ``bad_check`` (18 characters
    with a wrong check character — the cleaned value is returned for fuzzy
    linkage but is *not* a linkable ID); ``malformed`` (anything else,
    including an impossible birth date); ``scientific`` (Excel's
    ``3.60102E+17``: digits lost, unrecoverable); ``missing`` (empty).
    The value is ``None`` except for ``valid``, ``converted_15`` and ``bad_check``.
    Only :data:`LINKABLE` statuses may be used for exact linkage.
    """
    s = clean_id(raw)
    if not s:
        return None, MISSING
    if _ID18.fullmatch(s):
        if not _real_birth_date(s[6:14]):
            return None, MALFORMED
        if check_char(s[:17]) != s[17]:
            return s, BAD_CHECK
        return s, VALID
    if _ID15.fullmatch(s):
        if not _real_birth_date("19" + s[6:12]):
            return None, MALFORMED
        return legacy15_to_18(s), CONVERTED_15
    if _SCIENTIFIC.fullmatch(s):
        return None, SCIENTIFIC
    return None, MALFORMED


#: two positions whose characters may swap and leave the check character right: their weights are equal (a swap of
#: other digits changes the weighted sum by (a − b)(wᵢ − wⱼ), never 0 mod 11 when a ≠ b)
_SAME_WEIGHT = tuple((i, i + 10) for i in range(7))
#: the places whose digit may swap with the check character and still check: moving the check value c to place i and
#: the digit a there to the end checks exactly when (c − a)(1 − wᵢ) ≡ 0 mod 11, so only where wᵢ = 1 (place 8)
_CHECK_SWAPS = tuple(i for i, w in enumerate(WEIGHTS) if w % 11 == 1)


def transpositions(id18: str) -> list[str]:
    """The valid IDs (check character and a real birth date) that differ from the valid `id18` by two characters
    swapped: a typist's transposition that the check character does not catch (digits ten places apart, or a digit
    swapped with the check character that happens to check).  Empty for anything but a valid 18-character ID.
    One ID's :func:`transposition_pairs` (the rule is `transposed_codes`')."""
    if not _ID18.fullmatch(id18):
        return []
    return transposition_pairs([id18])[1]


def real_births(b):
    """Whether each row of `b` (an n × 8 array of ASCII digits, YYYYMMDD) is a real date of _BIRTH_YEARS."""
    import numpy as np

    d = b.astype(np.int64) - 48
    return _real_dates(d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3], d[:, 4] * 10 + d[:, 5],
                       d[:, 6] * 10 + d[:, 7])


def code_births_real(codes):
    """`real_births` of the IDs of `id_codes` values, from the numbers (their places 7-14 are YYYYMMDD)."""
    ymd = codes // 11 // 1000 % 10**8
    return _real_dates(ymd // 10000, ymd // 100 % 100, ymd % 100)


def _real_dates(y, mo, da):
    import numpy as np

    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = np.array((31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31))[np.clip(mo - 1, 0, 11)] + ((mo == 2) & leap)
    return (y >= _BIRTH_YEARS.start) & (y < _BIRTH_YEARS.stop) & (mo >= 1) & (mo <= 12) & (da >= 1) & (da <= days)


def id_rows(ids) -> np.ndarray:
    """The 18-character ASCII values of `ids` (strings; others dropped) as an n × 18 array of their bytes."""
    import numpy as np

    body = [s for s in ids if s and len(s) == 18 and s.isascii()]
    return np.array(body, dtype="S18").view(np.uint8).reshape(-1, 18)


def valid_rows(m) -> np.ndarray:
    """Which rows of `m` (n × 18 ASCII bytes) are 17 digits and the right check character."""
    import numpy as np

    ok = ((m[:, :17] >= 48) & (m[:, :17] <= 57)).all(1) & (((m[:, 17] >= 48) & (m[:, 17] <= 57)) | (m[:, 17] == 88))
    total = ((m[:, :17].astype(np.int64) - 48) * np.array(WEIGHTS, dtype=np.int64)).sum(1)
    return ok & (np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[total % 11] == m[:, 17])


def id_codes(m) -> np.ndarray:
    """One int64 per row of `m` (valid IDs, n × 18 ASCII bytes), equal exactly when the IDs are: the 17 digits as a
    number, times 11, plus the check character's value (X = 10)."""
    import numpy as np

    body = (m[:, :17].astype(np.int64) - 48) @ (10 ** np.arange(16, -1, -1, dtype=np.int64))
    return body * 11 + np.where(m[:, 17] == 88, 10, m[:, 17].astype(np.int64) - 48)


def code_rows(codes) -> np.ndarray:
    """The IDs of `id_codes` values as an n × 18 array of ASCII bytes (its inverse)."""
    import numpy as np

    body = codes // 11
    digits = (body[:, None] // (10 ** np.arange(16, -1, -1, dtype=np.int64))) % 10 + 48
    check = codes % 11
    return np.concatenate([digits, np.where(check == 10, 88, check + 48)[:, None]], axis=1).astype(np.uint8)


def transposed_codes(m) -> tuple[np.ndarray, np.ndarray]:
    """(row, code) for every valid ID of `m` (n × 18 ASCII bytes) and each ID two of its characters swapped that
    still checks — the rule of :func:`transpositions`, written once: two digits of equal weight (ten places apart;
    a swap of other digits changes the weighted sum by (a − b)(wᵢ − wⱼ), never 0 mod 11 when a ≠ b), or the check
    digit and a digit whose swap checks; its row and the `id_codes` of the swapped ID, computed from the digits
    without writing the IDs out.  The birth date is not checked: look the codes up among IDs known to be valid (a
    hit is one of `transpositions`), or check it (`transposed_rows`)."""
    import numpy as np

    index = np.flatnonzero(valid_rows(m))
    m = m[index]
    code = id_codes(m)
    digits = m[:, :17].astype(np.int64) - 48
    check = code % 11
    place = 10 ** np.arange(16, -1, -1, dtype=np.int64)
    total = digits @ np.array(WEIGHTS, dtype=np.int64)
    rows, codes = [], []
    for i, j in _SAME_WEIGHT:
        r = np.flatnonzero(digits[:, i] != digits[:, j])
        rows.append(r)
        codes.append(code[r] + (digits[r, j] - digits[r, i]) * (place[i] - place[j]) * 11)
    checks = np.array([10 if c == "X" else int(c) for c in CHECK_CHARS], dtype=np.int64)
    for i in _CHECK_SWAPS:  # the check digit moved to place i, digit i to the end (any other place never checks)
        moved = checks[(total + (check - digits[:, i]) * WEIGHTS[i]) % 11] == digits[:, i]
        r = np.flatnonzero((check != 10) & (digits[:, i] != check) & moved)
        rows.append(r)
        codes.append(code[r] + (check[r] - digits[r, i]) * place[i] * 11 + digits[r, i] - check[r])
    return index[np.concatenate(rows)], np.concatenate(codes)


def transposed_rows(m) -> tuple[np.ndarray, np.ndarray]:
    """(row, near) for every valid ID of `m` (n × 18 ASCII bytes) and each of its :func:`transpositions`: the
    index of its row and the transposed ID as a row of `near` (k × 18): `transposed_codes` written out, a swap
    that moved a digit of the birth date kept only when that date is real."""
    rows, codes = transposed_codes(m)
    near = code_rows(codes)
    keep = real_births(near[:, 6:14]) | (near[:, 6:14] == m[rows, 6:14]).all(1)
    return rows[keep], near[keep]


def mask_keys(m) -> tuple[np.ndarray, np.ndarray]:
    """(ok, key) for each row of `m` (n × 18 ASCII bytes: an ID, or its mask as staging writes it, the first 6 and
    last 4 characters with the 8 between hidden): whether those 10 characters are 9 digits and a digit or X, and one
    int64 per row, equal exactly when they are (for the rows that are ok) — as `code_mask_keys` computes it."""
    import numpy as np

    d = m[:, [0, 1, 2, 3, 4, 5, 14, 15, 16]].astype(np.int64) - 48
    ok = ((d >= 0) & (d <= 9)).all(1) & (((m[:, 17] >= 48) & (m[:, 17] <= 57)) | (m[:, 17] == 88))
    check = np.where(m[:, 17] == 88, 10, m[:, 17].astype(np.int64) - 48)
    return ok, (d @ (10 ** np.arange(8, -1, -1, dtype=np.int64))) * 11 + check


def code_mask_keys(codes) -> np.ndarray:
    """`mask_keys` of the IDs of `id_codes` values, from the numbers (no row of 18 characters written)."""
    body = codes // 11
    return ((body // 10**11) * 1000 + body % 1000) * 11 + codes % 11


def code_text(codes) -> list[str]:
    """The IDs of `id_codes` values."""
    return as_text(code_rows(codes))


def as_text(rows) -> list[str]:
    """The IDs of an n × 18 array of ASCII bytes as strings."""
    return rows.copy().view("S18").ravel().astype(str).tolist()


def transposition_pairs(ids) -> tuple[list[str], list[str]]:
    """(id, near) for every valid 18-character ID of `ids` and each of its :func:`transpositions` (the same set),
    computed over all of them at once in numpy: a Python loop per ID cost ≈ 20 µs, a second per 50,000 members."""
    m = id_rows(ids)
    if not len(m):
        return [], []
    rows, near = transposed_rows(m)
    return as_text(m[rows]), as_text(near)
