"""A file delivered without its header row: its first data row is taken for the header.

When not one of the row's cells names a column of the source's map, the row is most likely data: a
person's name, ID number, address.  The problem message must not show it as "header names" (the
extra-column message of :func:`connectors.raw.record_header_problems` would print a name whole).
It says that no agreed header was found, how many columns the row has, and each cell masked: a text
by its first character (``张三`` → ``张*``; one character stays), an ID or account number as everywhere
(:func:`connectors.limits.mask_long_numbers`); short numbers, dates and amounts stay.  The file is
unusable (its ID column is not found), as a file missing an essential column always is.
"""

from __future__ import annotations

import re

from connectors.limits import mask_long_numbers
from connectors.manifest import FileManifest
from connectors.maps import HeaderMatch, SourceMap

CELLS_SHOWN = 6
HEADERS_SHOWN = 4
_NUMBERLIKE = re.compile(r"[0-9０-９.,:/\- +年月日xX]+")


def masked_cell(value: object) -> str:
    """A cell of a row that is no header, as a message may show it."""
    text = "" if value is None else str(value).strip()
    if not text:
        return "（空）"
    if _NUMBERLIKE.fullmatch(text):
        return mask_long_numbers(text) or text
    return text[0] + "*" if len(text) > 1 else text  # 男 stays: no name is one character


def headerless(smap: SourceMap, header: list[str]) -> bool:
    """True when ``header`` names none of ``smap``'s columns."""
    return smap.match_headers(list(header)).score == 0


def record_headerless(fm: FileManifest, smap: SourceMap, header: list[str]) -> HeaderMatch:
    """Record a file whose first row names no column of ``smap`` (module docstring); its match."""
    match = smap.match_headers(list(header))
    cells = list(header)
    while cells and (cells[-1] is None or not str(cells[-1]).strip()):
        cells.pop()
    fm.missing_headers = [c.header for c in smap.columns]
    fm.extra_headers = []  # the row's cells are no headers: they are not kept
    shown = "、".join(masked_cell(v) for v in cells[:CELLS_SHOWN]) + ("…" if len(cells) > CELLS_SHOWN else "")
    expected = "、".join(c.header for c in smap.columns[:HEADERS_SHOWN]) + ("…" if len(smap.columns) > HEADERS_SHOWN else "")
    name = fm.file_name.rsplit("/", 1)[-1]
    sep = _other_separator(smap, cells)
    if sep:
        fm.fail(f"{name}的第一行是以“{sep}”分隔的表头（{expected}），按约定.csv以逗号或制表符分隔、.xlsx每列一格，"
                "文件无法使用；请部门另存为逗号分隔的.csv（或分列后的.xlsx）后重新交付")
        return match
    fm.fail(f"{name}中没有找到约定的表头（第一行共{len(cells)}列：{shown}，像是数据而不是表头），文件无法使用；"
            f"请部门在第一行加上约定的表头（{expected}）后重新交付")
    return match


def _other_separator(smap: SourceMap, cells: list) -> str:
    """The separator (``;``, ``|``, ``；``) joining the source's headers inside the row's cells (a semicolon CSV, or
    one opened in Excel without splitting and saved as .xlsx: all headers in the first cell), or ``""``."""
    for sep in (";", "|", "；"):
        parts = [p for v in cells if v is not None for p in str(v).split(sep)]
        if len(parts) > len(cells) and smap.match_headers(parts).score > 0:
            return sep
    return ""
