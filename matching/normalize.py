"""Normalizers for the values departments deliver: names, dates, months, amounts.

Each function has a twin macro in ``sql/macros.sql`` (``hd_name_norm``,
``hd_date``, ``hd_month``, ``hd_amount``) that staging runs set-based over
millions of rows; ``tests/test_normalize.py`` feeds both the same vector list
and requires the same answers.  The one deliberate difference: the SQL name
macro does not convert traditional to simplified characters and folds width
with an explicit table instead of NFKC.  :func:`name_sql_exceptions` gives
the characters where the two can differ, so that staging can re-normalize
just those (few, distinct) names in Python.

Conventions shared with the SQL twins:

* *whitespace* is the explicit class :data:`WS_CLASS` (ASCII whitespace,
  NBSP, the Unicode space separators, zero-width space, BOM, and invisible
  format characters: soft hyphen, direction marks, joiners);
* *width folding* maps the full-width ASCII block U+FF01–U+FF5E to ASCII,
  U+3000 to a space and ``￥`` to ``¥`` (:func:`fold_width`);
* empty input (``None``, ``""`` or whitespace only) gives ``None``, never 0.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata

from matching.written_dates import EN_CLOCK, cn_date, tidy_date, written_month

__all__ = [
    "AMOUNT_UNITS",
    "UnparseableAmount",
    "fold_width",
    "is_blank",
    "name_sql_exceptions",
    "normalize_name",
    "parse_amount",
    "parse_date",
    "parse_month",
    "period_ends",
    "strip_ws",
]

FULLWIDTH_FROM = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000\uffe5"
FULLWIDTH_TO = "".join(chr(c) for c in range(0x21, 0x7F)) + " \u00a5"
_FOLD = str.maketrans(FULLWIDTH_FROM, FULLWIDTH_TO)

#: Characters treated as whitespace, as the body of a regex class (Python syntax).
WS_CLASS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
    # invisible format characters a copy from a web page or a dialog leaves in a cell (soft hyphen, LRM/RLM and the
    # other direction marks, zero-width (non-)joiner, word joiner): a name or ID holding one is the same name or ID
    "\xad\u061c\u180e\u200c-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
)
_WS = re.compile(f"[{WS_CLASS}]+")
_WS_EDGES = re.compile(f"^[{WS_CLASS}]+|[{WS_CLASS}]+$")

#: Middle-dot look-alikes used in minority names; all become U+00B7.  Also the ideographic full stop a Chinese
#: input method types for the `.` key (`买买提。艾力`, `张三丰。`) and a hyphen (`艾山-吾拉木`, `让-皮埃尔`): a writer's
#: separator of a name's parts, never a character of it.
DOTS = ".\u00b7\u0387\u2022\u2024\u2027\u2219\u22c5\u30fb\uff0e\uff65\u3002\uff61-\u2010\u2011\u2012\u2013\u2212\uff0d"
_DOTS = re.compile(f"[{re.escape(DOTS)}]")
#: CJK radicals that stand for a whole character (Unicode's EquivalentUnifiedIdeograph.txt), as text copied out of a
#: PDF writes them (`⻩伟` for 黄伟, `⻢丽` for 马丽): NFKC maps only ⺟ and ⻳, so the others are mapped here
RADICALS = str.maketrans(
    "\u2e8a\u2e8c\u2e92\u2e93\u2e9d\u2ea0\u2ea7\u2ea9\u2eb6\u2ec4\u2ec5\u2ec6\u2ec9\u2ecb\u2ed1\u2ed3\u2ed4"
    "\u2ed8\u2ed9\u2eda\u2edb\u2edc\u2edd\u2ee2\u2ee3\u2ee4\u2ee5\u2ee6\u2ee7\u2ee8\u2ee9\u2eea\u2eec\u2eee"
    "\u2ef0\u2ef1",
    "卜小巳幺月民牛王羊西见角贝车長长门青韦页风飞食马骨鬼鱼鸟卤麦黄黾齐齿龙龜")
#: a remark a clerk puts after a name (`李四（曾用名李三）`, `赵五(已故)`, `王六【已销户】`): not part of the name
_REMARK = re.compile(r"[(\[【][^()\[\]【】]*[)\]】]$")

# Patterns spell digits as [0-9]: Python's \d also matches non-ASCII digits, RE2's does not.
#: a time after a date as a desktop export writes it (`10:00:00 AM`, `下午 3:00:00`): no zone, the date is its day
_CLOCK = (r"[ T](?:(?:上午|下午|AM|PM|am|pm) ?)?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
          r"(?: ?(?:上午|下午|AM|PM|am|pm))?")
_DATE_SEP = re.compile(
    r"([1-9][0-9]{3})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})[日号]?"
    r"(?:[ T]([0-9]{1,2}):([0-9]{2})(?::[0-9]{2}(?:\.[0-9]+)?)? ?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"  # a zone: see parse_date
    rf"|{_CLOCK})?"
)
#: the departments' clock: a time written with another zone is dated where it falls in Beijing time
BEIJING_MINUTES = 8 * 60
# 20261120.0: a spreadsheet's float; 20261120083000: a database's timestamp (yyyyMMddHHmmss), or with its time apart
# (20261120 08:30:00, as `yyyyMMdd HH:mm:ss` writes it)
_DATE_COMPACT = re.compile(r"([1-9][0-9]{3})([0-9]{2})([0-9]{2})(?:\.0+|(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"
                           rf"|{_CLOCK})?")
_EXCEL_SERIAL = re.compile(r"([1-9][0-9]{4})(?:\.[0-9]+)?")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_LETTERS = re.compile(r"[A-Za-z]{3}")
#: a weekday after a date (星期六, 周六, 礼拜六, in brackets or not) or an English one before it (Saturday, / Sat.)
_WEEKDAY_CN = re.compile(f"(.+?)[{WS_CLASS}]*\\(?(?:星期|周|礼拜)([一二三四五六日天])\\)?")
_WEEKDAY_EN = re.compile(f"([A-Za-z]{{3,9}})\\.?,?[{WS_CLASS}]*(.+)")
WEEKDAYS = {"MON": 0, "MONDAY": 0, "TUE": 1, "TUES": 1, "TUESDAY": 1, "WED": 2, "WEDNESDAY": 2, "THU": 3, "THUR": 3,
            "THURS": 3, "THURSDAY": 3, "FRI": 4, "FRIDAY": 4, "SAT": 5, "SATURDAY": 5, "SUN": 6, "SUNDAY": 6}
_MONTH_COMPACT = re.compile(r"([1-9][0-9]{3})([0-9]{2})(?:\.0+|月份?)?")  # 202611.0 and 202611月 as well
_MONTH_SEP = re.compile(r"([1-9][0-9]{3})[-/.年]([0-9]{1,2})(?:月份?)?")  # 2026年1月份 too
#: a year and an unpadded month (20261: YEAR()&MONTH() in a sheet), or 2026-1x cut short, which an Excel serial would
#: read as a day in 1955: no month for certain
_MONTH_UNPADDED = re.compile(r"(?:19|20)[0-9]{2}[1-9](?:\.[0-9]+)?")
#: a period in one cell (所属期 2026-03-01至2026-03-31): its month where both ends are days of it
_PERIOD = re.compile(r"([^至到~]+)[至到~]([^至到~]+)")
#: an end of a period written with a hyphen between its ends (202603-202603, 20260301-20260331, 2026-03-01-2026-03-31,
#: 2026.03-2026.03): a compact or separated month or date (as hd_period_end)
_PERIOD_END = (r"[1-9][0-9]{5}(?:[0-9]{2})?|[1-9][0-9]{3}[-/.][0-9]{1,2}(?:[-/.][0-9]{1,2})?"
               r"|[1-9][0-9]{3}年[0-9]{1,2}月(?:[0-9]{1,2}[日号])?")  # 2026年1月-2026年3月 too
_DASH_PERIOD = re.compile(f"({_PERIOD_END})-({_PERIOD_END})")
#: whitespace around a date's or a month's separators (2026 - 11 - 28, 2026年 11月 28日): no part of the value (the
#: space between a date and its time stays)
_DATE_SEP_WS = re.compile(f"[{WS_CLASS}]*([-/.年月至到~])[{WS_CLASS}]*|[{WS_CLASS}]+([日号])")
#: a period of several months written as a quarter (2026年第一季度, 2026Q1, 2026年1季度), a half-year (2026年上半年,
#: 2026H1), a year (2026年, 2026年度, 2026全年, a bare 2026) or months of one year (2026年1-3月, 2026.01-03, 2026年1月至3月):
#: its first and last months (as hd_period_ends)
_QUARTER = re.compile(r"([1-9][0-9]{3})(?:[-/.年])?(?:第?([1-4一二三四])季度?|[Qq]([1-4]))")
_HALF = re.compile(r"([1-9][0-9]{3})(?:[-/.年])?(?:([上下])半年(?:度)?|[Hh]([12]))")
_QUARTER_FIRST = re.compile(r"[Qq]([1-4])[-/.]?([1-9][0-9]{3})年?")  # Q1 2026, Q1-2026 (whitespace gone)
_HALF_FIRST = re.compile(r"[Hh]([12])[-/.]?([1-9][0-9]{3})年?")  # H1 2026
_YEAR = re.compile(r"((?:19|20)[0-9]{2})(?:年|年度|年全年|全年)?")
_MONTHS_OF_YEAR = re.compile(r"([1-9][0-9]{3})[-/.年]([0-9]{1,2})月?[-~至到]([0-9]{1,2})(?:月份?)?")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")  # 2026-01-03 is a day, not January to March
_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4, "上": 1, "下": 2}
#: English month names as an English desktop export writes them (Nov 28, 2026; 28-Nov-2026; 2026-Nov-28; Mar 2026)
MONTH_NAMES = {**{m: i + 1 for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                                                 "NOV", "DEC"))},
               "JANUARY": 1, "FEBRUARY": 2, "MARCH": 3, "APRIL": 4, "JUNE": 6, "JULY": 7, "AUGUST": 8, "SEPT": 9,
               "SEPTEMBER": 9, "OCTOBER": 10, "NOVEMBER": 11, "DECEMBER": 12}
_EN_MDY = re.compile(r"([A-Z]{3,9})\.?([0-9]{1,2})(?:ST|ND|RD|TH)?,?([1-9][0-9]{3})")  # NOV28,2026 (whitespace gone)
_EN_DMY = re.compile(r"([0-9]{1,2})[-/.]?([A-Z]{3,9})\.?[-/.,]?([1-9][0-9]{3})")  # 28-NOV-2026, 28NOV2026
_EN_YMD = re.compile(r"([1-9][0-9]{3})[-/.]?([A-Z]{3,9})\.?[-/.]?([0-9]{1,2})")  # 2026-NOV-28
_EN_MY = re.compile(r"([A-Z]{3,9})\.?[-/.,]?([1-9][0-9]{3})|([1-9][0-9]{3})[-/.]?([A-Z]{3,9})\.?")  # MAR2026, 2026-MAR
#: a day and a month before a 4-digit year (11/28/2026 as the US writes it, 28/11/2026 as Europe does): read only
#: where one reading is no date (a number over 12 is the day); 03/04/2026 is March 4 or April 3, no date for certain
_DMY_NUM = re.compile(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([1-9][0-9]{3})")
_MY_NUM = re.compile(r"([0-9]{1,2})[-/.]([1-9][0-9]{3})")  # 03/2026, 3.2026: a month and its year
_AMOUNT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?")
_AMOUNT_MAX_LEN = 40
#: commas only as thousands separators (``1,234.50``): ``12,34`` and ``1.000,50`` (a decimal comma) are no amount
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")


class UnparseableAmount(ValueError):
    """A non-empty amount that is not a number (e.g. ``'约3万'``); staging quarantines the row."""


def fold_width(s: str) -> str:
    """Full-width ASCII (``３６０１Ｘ``), the ideographic space and ``￥`` to their ASCII forms."""
    return s.translate(_FOLD)


def strip_ws(s: str) -> str:
    """``s`` without leading and trailing whitespace (NBSP and full-width spaces included)."""
    return _WS_EDGES.sub("", s)


def is_blank(raw: object) -> bool:
    """True for ``None`` and strings holding only whitespace."""
    return raw is None or strip_ws(str(raw)) == ""


def _clean(raw: object) -> str | None:
    if raw is None:
        return None
    s = strip_ws(fold_width(str(raw)))
    return s or None


def _clean_date(raw: object) -> str | None:
    """A date or month cell as :func:`_clean` gives it, without the whitespace around its separators."""
    s = _clean(raw)
    s = _DATE_SEP_WS.sub(lambda m: m.group(1) or m.group(2), s) if s and _WS.search(s) else s
    s = cn_date(s) if s and "年" in s else s  # 二〇二六年十一月二十八日 (matching.written_dates)
    return tidy_date(s) if s else s  # 2026。11。28, 2026.11.28., 2026-11(补缴)


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc  # opencc-python-reimplemented; loads its dictionaries once

    return opencc.OpenCC("t2s")


def normalize_name(raw: object) -> str | None:
    """A name for comparison: NFKC, no whitespace, one middle dot ``·``, simplified characters, without a
    trailing remark in brackets.

    ``' 歐陽　修 '`` → ``'欧阳修'``; ``'买买提.艾力'`` → ``'买买提·艾力'``; ``'李四（曾用名李三）'`` → ``'李四'``.
    Placeholders for rare characters (``*``, pinyin) are kept as they are.  Returns ``None``
    for empty input.
    """
    if raw is None:
        return None
    s = unicodedata.normalize("NFKC", str(raw)).translate(RADICALS)
    s = _REMARK.sub("", _WS.sub("", s))
    s = _DOTS.sub("\u00b7", s)
    if not s:
        return None
    if not s.isascii():
        s = _t2s().convert(s)
    return s


def _make_date(y: str, m: str, d: str) -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def _zone_minutes(zone: str) -> int:
    """A zone's offset from UTC in minutes: ``Z`` 0, ``+08`` / ``+0800`` / ``+08:00`` 480, ``-0500`` -300."""
    if zone == "Z":
        return 0
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
    return -minutes if zone[0] == "-" else minutes


def parse_date(raw: object) -> dt.date | None:
    """A date from ``YYYYMMDD``, ``YYYY-MM-DD``, ``YYYY/M/D``, ``YYYY.M.D``, ``YYYY年M月D日`` (or ``D号``),
    ``YYYY-MM-DD HH:MM[:SS]`` (with a zone after it, with or without a space — ``+08`` as PostgreSQL writes a
    timestamptz, ``Z`` as Java and JavaScript write an instant — the day the time falls on in Beijing time:
    ``2026-10-31T16:00:00Z`` is 2026-11-01), ``YYYYMMDDHHMMSS`` (a database's timestamp) or an Excel serial
    number (5 digits, 1899-12-30 epoch).

    Also an English month name (``Nov 28, 2026``, ``28-Nov-2026``, ``2026-Nov-28``), a day and a month before a
    4-digit year where only one order is a date (``28/11/2026``, ``11/28/2026``; never ``03/04/2026``), and a long
    date with its weekday where the weekday is the date's (``2026年11月28日星期六``, ``Saturday, November 28, 2026``).

    Returns ``None`` for empty input *and* for anything else (``'2023-13-45'``);
    callers that must tell the two apart check :func:`is_blank` first.  Whitespace around the separators
    (``2026 - 11 - 28``, ``2026年 11月 28日``) is no part of the date.
    """
    s = _clean_date(raw)
    if s is None:
        return None
    if m := _DATE_SEP.fullmatch(s):
        day = _make_date(*m.groups()[:3])
        hour, minute, zone = m.groups()[3:]
        if day is None or not zone:
            return day
        minutes = int(hour) * 60 + int(minute) - _zone_minutes(zone) + BEIJING_MINUTES
        return day + dt.timedelta(days=minutes // (24 * 60))
    if m := _DATE_COMPACT.fullmatch(s):
        return _make_date(*m.groups())
    if m := _EXCEL_SERIAL.fullmatch(s):
        return _EXCEL_EPOCH + dt.timedelta(days=int(m.group(1)))
    if m := _DMY_NUM.fullmatch(s):
        return _day_and_month(*m.groups())
    if (w := _weekday(s)) is not None:  # the date's weekday must be the one written beside it
        day = parse_date(w[0])
        return day if day is not None and day.weekday() == w[1] else None
    if _LETTERS.search(s):  # a time after it is no part of it (Nov 28, 2026 10:00)
        return _english_date(_WS.sub("", EN_CLOCK.sub("", s)).upper())
    return None


def _weekday(s: str) -> tuple[str, int] | None:
    """A date written with its weekday, as a long date format writes it (``2026年11月28日星期六``, ``2026-11-28（周六）``,
    ``Saturday, November 28, 2026``): the date's text and the weekday (Monday 0), else ``None``."""
    if m := _WEEKDAY_CN.fullmatch(s):
        return m.group(1), "一二三四五六日天".index(m.group(2)) if m.group(2) != "天" else 6
    if (m := _WEEKDAY_EN.fullmatch(s)) and m.group(1).upper() in WEEKDAYS:
        return m.group(2), WEEKDAYS[m.group(1).upper()]
    return None


def _day_and_month(a: str, b: str, year: str) -> dt.date | None:
    """``a/b/year``: the date where only one of day/month/year and month/day/year is a date (``28/11/2026``,
    ``11/28/2026``) or both are the same day (``03/03/2026``); ``None`` where both are dates of different days
    (``03/04/2026``: staging's reason says it is ambiguous) or neither is."""
    dmy, mdy = _make_date(year, b, a), _make_date(year, a, b)
    return dmy if mdy is None or dmy == mdy else mdy if dmy is None else None


def _english_date(e: str) -> dt.date | None:
    """A date with an English month name, upper-case and without whitespace: ``NOV28,2026``, ``28-NOV-2026``,
    ``2026-NOV-28`` (a 2-digit year, ``28-NOV-26``, is no year for certain: ``None``)."""
    if m := _EN_MDY.fullmatch(e):
        name, day, year = m.groups()
    elif m := _EN_DMY.fullmatch(e):
        day, name, year = m.groups()
    elif m := _EN_YMD.fullmatch(e):
        year, name, day = m.groups()
    else:
        return None
    month = MONTH_NAMES.get(name)
    return _make_date(year, str(month), day) if month else None


def parse_month(raw: object) -> dt.date | None:
    """The first day of a month from ``YYYYMM`` (or ``YYYYMM月``), ``YYYY-MM``, ``YYYY/M``, ``YYYY年M月`` (or ``M月份``),
    ``MM/YYYY``, ``Mar 2026``, ``2026-Mar``, a period within one month (:func:`period_ends`; a quarter, a half-year or a
    year is none),
    or from any full date :func:`parse_date` reads (whitespace around the separators ignored: ``2026 - 11``).
    ``None`` for empty or invalid input.
    """
    s = _clean_date(raw)
    if s is None:
        return None
    m = _MONTH_COMPACT.fullmatch(s) or _MONTH_SEP.fullmatch(s)
    if m:
        return _make_date(m.group(1), m.group(2), "1")
    if _MONTH_UNPADDED.fullmatch(s):
        return None
    if (written := written_month(s))[0]:  # 2026年11期, 26年11月
        return written[1]
    if ends := period_ends(s):
        start, end = ends
        return start if start is not None and start == end else None
    if m := _MY_NUM.fullmatch(s):
        return _make_date(m.group(2), m.group(1), "1")
    if _LETTERS.search(s) and (m := _EN_MY.fullmatch(_WS.sub("", s).upper())):
        month = MONTH_NAMES.get(m.group(1) or m.group(4))
        return _make_date(m.group(2) or m.group(3), str(month), "1") if month else None
    d = parse_date(s)
    return d.replace(day=1) if d else None


def period_ends(raw: object) -> tuple[dt.date | None, dt.date | None] | None:
    """The months (first days) of a period's two ends written in one cell (``2026-03-01至2026-03-31``,
    ``202601-202603``, ``20260301-20260331``, ``2026-01至2026-03``; an end unreadable: ``None`` there), or ``None``
    when the cell is no period.  A period is one month only where both ends fall in it (:func:`parse_month`);
    one over several months is no month (a year's business income is no one month's): staging quarantines it
    saying so."""
    s = _clean_date(raw)
    if s is None:
        return None
    if whole := _whole_period(_WS.sub("", s)):
        return whole
    m = _PERIOD.fullmatch(s) or _DASH_PERIOD.fullmatch(s)
    if not m:
        return None
    return _end_month(m.group(1)), _end_month(m.group(2))


def _whole_period(c: str) -> tuple[dt.date | None, dt.date | None] | None:
    """The first and last months of a quarter, a half-year, a year or months of one year written as one value
    (``2026年第一季度``, ``2026Q1``, ``2026年上半年``, ``2026年度``, ``2026年1-3月``), else ``None`` (as hd_period_whole)."""
    if m := _QUARTER.fullmatch(c):
        q = int(m.group(3) or _CN_DIGIT.get(m.group(2)) or m.group(2))
        return dt.date(int(m.group(1)), 3 * q - 2, 1), dt.date(int(m.group(1)), 3 * q, 1)
    if m := _HALF.fullmatch(c):
        h = int(m.group(3) or _CN_DIGIT[m.group(2)])
        return dt.date(int(m.group(1)), 6 * h - 5, 1), dt.date(int(m.group(1)), 6 * h, 1)
    if m := _QUARTER_FIRST.fullmatch(c) or _HALF_FIRST.fullmatch(c):
        n, year = (int(g) for g in m.groups())
        k = 3 if c[0] in "Qq" else 6
        return dt.date(year, k * n - k + 1, 1), dt.date(year, k * n, 1)
    if m := _YEAR.fullmatch(c):
        return dt.date(int(m.group(1)), 1, 1), dt.date(int(m.group(1)), 12, 1)
    if (m := _MONTHS_OF_YEAR.fullmatch(c)) and not _ISO_DAY.fullmatch(c):
        return _make_date(m.group(1), m.group(2), "1"), _make_date(m.group(1), m.group(3), "1")
    return None


def _end_month(s: str) -> dt.date | None:
    """One end of a period as its month: a date, or a month (compact or separated)."""
    if d := parse_date(s):
        return d.replace(day=1)
    m = _MONTH_COMPACT.fullmatch(s) or _MONTH_SEP.fullmatch(s)
    return _make_date(m.group(1), m.group(2), "1") if m else None


def _pow10(scale: float) -> int:
    k = round(math.log10(scale)) if scale > 0 else 0
    if scale <= 0 or 10.0**k != scale:
        raise ValueError(f"scale must be a power of ten (1, 10000 …), got {scale!r}")
    return k


#: units a cell may carry after its number (sources.md); 万… is ×10000, the others are yuan
AMOUNT_UNITS = ("万元", "万人民币", "万", "元", "人民币", "万元人民币", "元人民币", "RMB", "CNY")
_UNITS = "万元人民币|万人民币|万元|万|元人民币|元|人民币|RMB|CNY"
_AMOUNT_CELL = re.compile(f"(.*?)({_UNITS})?")
#: a currency mark before the number (¥, 人民币, RMB, CNY; a sign or an accountant's bracket may stand before it)
_CURRENCY_MARK = re.compile(r"^([+-]?\(?)(?:\u00a5|人民币|RMB|CNY)")
#: an accountant's negative: the number in brackets, (1,234.00) / （1234）, or with a trailing minus, 1234-
_BRACKETED = re.compile(f"^\\(([0-9.,]+({_UNITS})?)\\)({_UNITS})?$")
_TRAILING_MINUS = re.compile(f"^([0-9][0-9.,]*)-({_UNITS})?$")
#: after the number as a cheque or a receipt writes it (as hd_amount_tail): a closing 整 after the unit (25000元整), the
#: currency or the unit in brackets (1,234.00元（人民币）, 25000(人民币) — the unit 元, as a trailing 人民币 —, 12(万元))
AMOUNT_TAILS = (("^(.*[0-9.)元万币整BY])。$", r"\1"), ("^([^。]*[0-9])。([0-9][^。]*)$", r"\1.\2"),  # BC06: 。
                (f"^(.*[0-9.](?:{_UNITS}))整$", r"\1"), (r"^(.*[0-9.](?:万元|万|元))\((?:人民币|RMB|CNY)\)$", r"\1"),
                (r"^(.*[0-9.])\((?:人民币|RMB|CNY|人民币元|元人民币)\)$", r"\1元"),
                (r"^(.*[0-9.])\((万元人民币|万人民币|万元|万|元)\)$", r"\1\2"))
_AMOUNT_TAILS = tuple((re.compile(a), b) for a, b in AMOUNT_TAILS)


def amount_text(raw: object) -> str:
    """An amount cell as the number and its unit (as hd_amount_text): whitespace removed, width folded, upper-case,
    the traditional 萬 and 幣 read, a currency mark before it dropped, an accountant's negative as a minus sign."""
    s = _WS.sub("", fold_width(str(raw))).replace("萬", "万").replace("幣", "币").upper()
    if s.endswith(("整", ")")) or "。" in s:  # 25000元整, 1,234.00元（人民币）, 1234。50, 25000元。
        for tail, to in _AMOUNT_TAILS:
            s = tail.sub(to, s, count=1)
    s = _CURRENCY_MARK.sub(r"\1", s, count=1)
    s = _BRACKETED.sub(r"-\1\3", s, count=1)
    return _TRAILING_MINUS.sub(r"-\1\2", s, count=1)


def parse_amount(raw: object, scale: float = 1) -> float | None:
    """An amount in yuan (or m² for areas): the double nearest to the delivered decimal × its unit.

    ``RMB`` / ``CNY`` (any case) are the currency ``¥`` and ``人民币`` are: a mark before the number, the unit 元 after it;
    an accountant's negative (``(1,234.00)``, ``（1234）``, ``1234-``) is negative (staging quarantines it: no amount
    of sources.md is negative).  A closing ``整`` after the unit (``25000元整``) and the currency or the unit in brackets
    after the number (``1,234.00元（人民币）``, ``25000(人民币)``, ``12(万元)``) are the number and its unit.
    Accepts thousands separators (groups of three digits only: ``12,34`` or
    a decimal comma ``1.000,50`` is no amount, never 1234 or 1.0005), a leading ``¥``/``￥``/``人民币`` (a currency
    mark, not a unit), full-width digits, spaces anywhere, an exponent
    (``1.5E3``) and a trailing unit (:data:`AMOUNT_UNITS`; the registry's own
    ``100万元人民币`` too).  The cell's own
    unit wins over the column's: ``'500万元'``, ``'12万'`` and
    ``'500.000000万人民币'`` (or the traditional ``'2.5萬'``) are ×10000, ``'1,234.50元'`` and ``'人民币500元'``
    are yuan, whatever the header says; a cell without a unit takes ``scale``,
    the column's unit from its header or the source's header map (10000 for
    ``万元``).  Scales are powers of ten, applied by shifting the decimal
    exponent, so ``'1.1'`` × 10000 is exactly ``11000.0`` (no rounding).

    Returns ``None`` for empty input — unknown, never 0.
    Raises :class:`UnparseableAmount` (a ``ValueError``) for a non-empty value
    that is not a number; the SQL twin ``hd_amount`` returns NULL there, and
    staging quarantines the row.
    """
    if is_blank(raw):
        return None
    s = amount_text(raw)  # traditional forms: 2.5萬, 3萬元, 500人民幣
    m = _AMOUNT_CELL.fullmatch(s)
    t, unit = (m.group(1), m.group(2)) if m else ("", None)
    if "," in t and _THOUSANDS.fullmatch(t):
        t = t.replace(",", "")
    if unit:
        scale = 10000 if unit.startswith("万") else 1
    if len(t) > _AMOUNT_MAX_LEN or not _AMOUNT.fullmatch(t):
        raise UnparseableAmount(f"金额值{str(raw)!r}无法识别为数字")
    mantissa, _, exponent = t.replace("E", "e").partition("e")
    return float(f"{mantissa}e{int(exponent or 0) + _pow10(scale)}") + 0.0  # + 0.0: "-0" is 0, never "-0.00"


@functools.lru_cache(maxsize=1)
def name_sql_exceptions() -> str:
    """Characters for which ``hd_name_norm`` (SQL) may differ from :func:`normalize_name`.

    Returned as the body of a regular-expression character class in RE2
    syntax (``\\x{HHHH}`` escapes), for ``regexp_matches(name, '[' || … || ']')``.
    The set: characters OpenCC's t2s changes; characters of t2s phrase entries
    that change only inside a phrase; characters whose NFKC form differs from
    the SQL width fold of their NFC form, or contains a character t2s changes
    (CJK compatibility ideographs); the CJK radicals of :data:`RADICALS`.  Computed once per process (~0.5 s).
    """
    from pathlib import Path

    import opencc

    cc = _t2s()
    chars: set[str] = {chr(c) for c in RADICALS}
    dict_dir = Path(opencc.__file__).parent / "dictionary"
    for line in (dict_dir / "TSCharacters.txt").read_text(encoding="utf-8").splitlines():
        key = line.split("\t", 1)[0]
        if key and cc.convert(key) != key:
            chars.add(key)
    changing = frozenset(chars)
    for line in (dict_dir / "TSPhrases.txt").read_text(encoding="utf-8").splitlines():
        key = line.split("\t", 1)[0]
        conv = cc.convert(key)
        if conv != key:
            if len(conv) == len(key):
                chars.update(k for k, v in zip(key, conv, strict=True) if k != v)
            else:
                chars.update(key)
    for cp in range(0xA0, 0x30000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        nfkc = unicodedata.normalize("NFKC", c)
        sql = fold_width(unicodedata.normalize("NFC", c))
        if _DOTS.sub("\u00b7", _WS.sub("", nfkc)) != _DOTS.sub("\u00b7", _WS.sub("", sql)):
            chars.add(c)
        elif any(ch in changing for ch in nfkc):
            chars.add(c)
    return _ranges_re2(sorted(chars))


def _ranges_re2(chars: list[str]) -> str:
    out: list[str] = []
    cps = [ord(c) for c in chars]
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        out.append(f"\\x{{{cps[i]:X}}}" if i == j else f"\\x{{{cps[i]:X}}}-\\x{{{cps[j]:X}}}")
        i = j + 1
    return "".join(out)
