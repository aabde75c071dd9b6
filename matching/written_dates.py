"""Dates written in words other than digits, read into the digits :mod:`matching.normalize` reads (the SQL twins are
hd_cn_date and the clock of hd_date_clean's English branch in sql/macros.sql).

- A year, month and day in Chinese numerals, as a letter or a form writes a date (``二〇二六年十一月二十八日``,
  ``二零二六年十一月``, ``2026年十一月二十八日``; 〇, 零 and ○ are zero): ``2026年11月28日``, the rest of the text
  (a weekday) kept; 廿 is 20 and 卅 30 (廿八日).  A time after the date's 日 (``2026年11月28日10时30分``) is no part of it.
- A time after a date with an English month name (``Nov 28, 2026 10:00``, ``28-Nov-2026 10:00:00 AM``): no zone,
  the date is its day, as after a date in digits.
- A date or a month closed or annotated as a clerk does (:func:`tidy_date`, twin hd_date_tidy): the input method's
  ``。`` for the point (``2026。11。28``), a full stop after it (``2026.11.28.``, ``2026年11月28日。``), a remark in
  brackets saying nothing of another time or of the row's worth (``2026年11月（补缴）``: :data:`REMARK_OK`).
- A month written as a numbered period or with a 2-digit year (:func:`written_month`, in hd_month_clean).
"""

from __future__ import annotations

import datetime as dt
import re

_CN_DIGITS = "〇零○一二三四五六七八九"
_CN_VALUES = "000123456789"
#: a year of four digits or numerals, then a month and a day in numerals or digits (十一, 二十八, 三十一), at the start
CN_NUMBER = "[0-9]{1,2}|[一二三四五六七八九]|[二三]?十[一二三四五六七八九]?|廿[一二三四五六七八九]?|卅一?"
CN_DATE = re.compile(f"([0-9{_CN_DIGITS}]{{4}})年(?:({CN_NUMBER})月(?:({CN_NUMBER})([日号]))?)?(.*)", re.S)
#: any numeral of a date (廿 20, 卅 30) or a clock's 时/点 (the cheap test before :data:`CN_DATE`)
CN_NUMERAL = re.compile(f"[{_CN_DIGITS}十廿卅时点]")
#: a time after a date's 日 as Chinese systems write it (2026年11月28日10时30分, 2026年11月28日 上午10点): no zone, the date
#: is its day
CN_CLOCK = re.compile(r"(.*[日号])[ T]?(?:上午|下午|凌晨|早上|晚上|中午)?[0-9]{1,2}[时点](?:[0-9]{1,2}分(?:[0-9]{1,2}秒)?)?", re.S)
_TO_DIGITS = str.maketrans(_CN_DIGITS, _CN_VALUES)
#: a time after a date with an English month name, removed before the date is read
EN_CLOCK = re.compile(r"[ T,]+(?:(?:AM|PM|am|pm) ?)?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?: ?(?:AM|PM|am|pm))?$")


def _number(t: str) -> str:
    """``十一`` → ``11``, ``二十八`` → ``28``, ``三十`` → ``30``, ``九`` → ``9``; digits as they are."""
    t = t.replace("廿", "二十").replace("卅", "三十")
    if "十" not in t:
        return t.translate(_TO_DIGITS)
    tens, _, ones = t.partition("十")
    return str(int(tens.translate(_TO_DIGITS) or 1) * 10 + int(ones.translate(_TO_DIGITS) or 0))


def cn_date(s: str) -> str:
    """``s`` with a date in Chinese numerals at its start written in digits (``二〇二六年十一月二十八日星期六`` →
    ``2026年11月28日星期六``); any other text as it is."""
    if "年" not in s or not CN_NUMERAL.search(s):
        return s
    if clock := CN_CLOCK.fullmatch(s):
        s = clock.group(1)
    if not (m := CN_DATE.fullmatch(s)):
        return s
    year, month, day, mark, rest = m.groups()
    out = year.translate(_TO_DIGITS) + "年"
    if month:
        out += _number(month) + "月"
        if day:
            out += _number(day) + mark
    return out + rest


#: remarks in brackets after a date or a month that say nothing of another time nor of what the row is worth: a back
#: payment (补缴, 补), a record entered late (补录), paid as due (正常, 已缴); any other (补10月, 作废, 未缴, 冲正) is no
#: date for certain: the row is quarantined saying so (hd_remark_doubt)
REMARK_OK = re.compile("(?:已|实|按时|足额|正常)?(?:补|代扣代|代)?(?:缴|缴费|缴纳|交|发|发放|录|录入|报|申报|扣|扣缴|记|登记|到账|入账)?"
                       "|当月|本月|首次|首月")
_IME_POINT = re.compile(r"[0-9]{4}(?:。[0-9]{1,2}){1,2}。?")
_FULL_STOP = re.compile(r"([0-9日号月份])[.。]$")
_REMARKED = re.compile(r"(.*[0-9日号月份]) *[(\[【]([^()\[\]【】]*)[)\]】]", re.S)
_WS_ANY = re.compile(r"\s+")
#: 2026年11期 / 2026年第11期: a numbered period; 26年11月: a 2-digit year
_ISSUE = re.compile(r"([1-9][0-9]{3})年第?([0-9]{1,2})期")
_SHORT_YEAR = re.compile(r"([0-4][0-9])年([0-9]{1,2})月(?:份)?")


def tidy_date(s: str) -> str:
    """A date's or a month's text (folded, stripped) without the 。 an input method types for its points, a full stop
    after it or a remark of :data:`REMARK_OK` in brackets after it (``2026。11。28``, ``2026.11.28.``,
    ``2026-11(补缴)`` → ``2026.11.28``, ``2026.11.28``, ``2026-11``); any other text as it is (as hd_date_tidy)."""
    if _IME_POINT.fullmatch(s):
        s = s.replace("。", ".")
    s = _FULL_STOP.sub(r"\1", s)
    if (m := _REMARKED.fullmatch(s)) and REMARK_OK.fullmatch(_WS_ANY.sub("", m.group(2))):
        s = _FULL_STOP.sub(r"\1", m.group(1))
    return s


def written_month(s: str) -> tuple[bool, dt.date | None]:
    """``(True, month)`` for a month written as a numbered period (``2026年11期``: a period over 4 is a month, as no
    quarterly or half-yearly cycle has a 5th; ``2026年3期`` may be the 3rd quarter: ``(True, None)``) or with a 2-digit
    year 00–49 (``26年11月``: 2026; a pay month of 1926 is none); ``(False, None)`` for any other text."""
    if m := _ISSUE.fullmatch(s):
        n = int(m.group(2))
        return True, dt.date(int(m.group(1)), n, 1) if 5 <= n <= 12 else None
    if m := _SHORT_YEAR.fullmatch(s):
        month = int(m.group(2))
        return True, dt.date(2000 + int(m.group(1)), month, 1) if 1 <= month <= 12 else None
    return False, None
