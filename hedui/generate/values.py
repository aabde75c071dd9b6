"""How departments spell values: ID numbers, names, dates, months, amounts.

Each function turns a clean value into one of the forms seen in the wild
(sources.md, "Values as they come").  Recoverable forms may be used on any
record; the unrecoverable ones (empty, scientific notation, wrong check
character) only on noise records that no household's truth depends on.
"""

from __future__ import annotations

import datetime as dt
import zlib

from matching.idnum import CHECK_CHARS, to_legacy15

from .refdata import RARE_PINYIN, TRADITIONAL

FULLWIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")

# --- ID numbers --------------------------------------------------------------

RECOVERABLE = ("x", "sp", "spin", "fw", "apos", "l15")
UNUSABLE = ("empty", "sci", "bad")


def id_form(id18: str, kind: str) -> str:
    """``id18`` written in the form ``kind`` (see RECOVERABLE / UNUSABLE)."""
    if kind == "x":
        return id18.lower()
    if kind == "sp":
        return f" {id18} "
    if kind == "spin":
        return f"{id18[:6]} {id18[6:14]} {id18[14:]}"
    if kind == "fw":
        return id18.translate(FULLWIDTH)
    if kind == "apos":
        return "'" + id18
    if kind == "l15":
        return to_legacy15(id18) or id18
    if kind == "empty":
        return ""
    if kind == "sci":
        return f"{int(id18[:17]) * 10:.5E}"          # 3.60102E+17, what Excel shows
    if kind == "bad":
        right = id18[17]
        wrong = CHECK_CHARS[(CHECK_CHARS.index(right) + 3) % 11]
        return id18[:17] + wrong
    return id18


# --- names ------------------------------------------------------------------

DOTS = ("·", "•", ".", "．")


def name_form(name: str, kind: str) -> str:
    """``name`` with one kind of mess: spaces, full-width space, dot variant, traditional, rare char."""
    if kind == "sp_in" and len(name) >= 2 and "·" not in name:
        return name[0] + " " + name[1:]
    if kind == "sp_out":
        return f" {name} "
    if kind == "fw_sp" and len(name) >= 2 and "·" not in name:
        return name[0] + "\u3000" + name[1:]
    if kind.startswith("dot"):
        return name.replace("·", DOTS[int(kind[3:])])
    if kind == "trad":
        return name.translate(TRADITIONAL)
    if kind == "star":
        return "".join("*" if c in RARE_PINYIN else c for c in name)
    if kind == "pinyin":
        return "".join(RARE_PINYIN.get(c, c) for c in name)
    return name


# --- dates, months, amounts --------------------------------------------------

_EXCEL_EPOCH = dt.date(1899, 12, 30)


def d_ymd(d: dt.date) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def d_dash(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def d_slash(d: dt.date) -> str:
    return f"{d.year}/{d.month}/{d.day}"


def d_cn(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def d_serial(d: dt.date) -> int:
    """Excel serial day number (1900 date system)."""
    return (d - _EXCEL_EPOCH).days


def a_plain(x: float) -> str:
    return f"{x:.2f}"


def a_sep(x: float) -> str:
    return f"{x:,.2f}"


def a_yuan(x: float) -> str:
    return f"{x:.2f}元"


def a_wan(x_yuan: float) -> str:
    """An amount in 万元, as the business registry writes it (``50``, ``3.5``)."""
    return f"{x_yuan / 10000:g}"


def a_wan_cell(x_yuan: float, key: str) -> str:
    """An amount as the business registry's cells carry it under a header without unit (万元 by
    the department's convention): mostly a bare number of 万元, sometimes with the unit in the
    cell (``500万元``, ``500.000000万人民币``, ``12万``) or in yuan (``50000元``).  The form
    follows ``key`` (a CRC, not the world's random stream, so other records are unchanged)."""
    form = zlib.crc32(key.encode("utf-8")) % 10
    wan = x_yuan / 10000
    if form == 5 or form == 6:
        return f"{wan:g}万元"
    if form == 7:
        return f"{wan:.6f}万人民币"
    if form == 8:
        return f"{wan:g}万"
    if form == 9:
        return f"{x_yuan:.0f}元"
    return a_wan(x_yuan)
