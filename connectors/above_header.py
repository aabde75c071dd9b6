"""Records above a file's header: rows the header search skipped as titles that are data.

:func:`connectors.raw.find_header` takes the row naming the most columns for the header; the rows above it are
title rows (sources.md: some departments put a title row above the header) and are not read.  Two exports pasted
into one file break that: the first one's header, in another encoding, reads as mojibake (a GB18030 export with a
UTF-8 one pasted after it, the UTF-8 lines the more numerous), or names fewer columns than the second's, and the
second header is taken; the first export's records above it were dropped as titles — and the file was delivered
when its marker counted the second export only.

A row above the header is a record when it holds an ID number (15 or 18 characters) in a cell under one of the
header's ID columns and values in half the header's columns or more (three at least): a title is one text (a cell, or one merged across the row); a bank
naming the person it was asked about above its table (户名 张三 证件号码 3601…) writes the number in another column.  The file is then incomplete, naming the
rows: which export the marker counts cannot be told.  Only the rows above the header are looked at (at most a few
dozen, :data:`connectors.raw.HEADER_SEARCH_ROWS` non-empty ones).

A UTF-8 byte-order mark inside a text file (:func:`pasted_bom`) says where such a second export starts: it is named
with its line and byte, whether the file is failed for records above the header or for its marker's count
(:mod:`connectors.marker_hint`); the file is read through only once it is failed.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.limits import open_regular

if TYPE_CHECKING:
    import polars as pl

    from connectors.maps import SourceMap

_ID_CELL = re.compile(r"[\s'‘’\u3000]*(?:[0-9０-９]{17}[0-9０-９xXｘＸ]|[0-9０-９]{15})[\s\u3000]*")
MIN_VALUES = 3
_BLOCK = 8 << 20


def pasted_bom(path: Path) -> tuple[int, int, str] | None:
    """``(line, byte offset, encoding of what comes before)`` of the first UTF-8 byte-order mark after the file's
    first bytes (another export pasted after the first one), or None.  The whole file is read (only asked for a file
    already incomplete)."""
    bom = codecs.BOM_UTF8
    with open_regular(path) as fh:
        seen = b""  # what comes before, up to the mark (checked for its encoding): at most the part looked through
        tail, pos, lines = b"", 0, 0
        while block := fh.read(_BLOCK):
            buf = tail + block
            at = buf.find(bom, 1 if pos == 0 else 0)
            if at >= 0:
                before = seen + buf[:at]
                if pos > len(seen) + len(tail):  # a window cut inside a character: from the next one on
                    before = before.lstrip(bytes(range(0x80, 0xC0)))
                line = lines + buf.count(b"\n", 0, at) + 1
                try:
                    before.decode("utf-8-sig")
                    encoding = "UTF-8"
                except UnicodeDecodeError:
                    encoding = "GB18030"
                return line, pos - len(tail) + at, encoding
            keep = len(bom) - 1
            lines += buf.count(b"\n", 0, len(buf) - keep)
            seen = (seen + buf[:len(buf) - keep])[-(1 << 20):]
            tail = buf[len(buf) - keep:]
            pos += len(block)
    return None


PASTED_FIX = "请部门分别导出为两个文件（各带完成标记），或统一编码后重新交付"


def pasted_text(found: tuple[int, int, str]) -> str:
    """Where the pasted export starts and what it is (:func:`pasted_bom`'s finding)."""
    line, offset, before = found
    what = (f"是另一份UTF-8编码的导出文件，粘贴在前面{before}编码的内容之后" if before != "UTF-8"
            else "是另一份导出文件（UTF-8带BOM），粘贴在前面的内容之后")
    return f"第{line}行（第{offset + 1}字节起）以UTF-8字节顺序标记（BOM）开头，{what}"



def records_above(title_rows: list[list[object]], first_line: int, smap: SourceMap, header: list[str]) -> list[int]:
    """Line (CSV) or sheet row (XLSX) numbers of the ``title_rows`` (the rows above ``header``, the first at
    ``first_line``) that are records: an ID number in a cell under an ID column of the header, values in half the
    header's columns or more (a bank's answer may name the person queried above its table: 户名 张三 证件号码 3601…,
    查询对象 张三 3601…)."""
    if not title_rows:
        return []
    ids = {i for i, c in enumerate(smap.match_headers(list(header)).columns) if c is not None and smap.spec(c).type == "id"}
    least = max(MIN_VALUES, (sum(1 for h in header if h.strip()) + 1) // 2)
    found = []
    for i, row in enumerate(title_rows):
        values = [str(v) for v in row if v is not None and str(v).strip()]
        if len(values) >= least and any(k < len(row) and row[k] is not None and _ID_CELL.fullmatch(str(row[k]))
                                             for k in ids):
            found.append(first_line + i)
    return found


def records_above_problem(name: str, lines: list[int], header_line: int, pasted: tuple[int, int, str] | None) -> str:
    """The reason the file is not used, naming the rows (and, ``pasted``, where a second export with a BOM starts:
    :func:`pasted_bom`)."""
    shown = "、".join(str(n) for n in lines[:5]) + ("等" if len(lines) > 5 else "")
    said = f"{name}第{shown}行（共{len(lines)}行）在表头（第{header_line}行）之上，是含身份证号码的数据行"
    if pasted is not None:
        return f"{said}，未被读取，文件未采用：{pasted_text(pasted)}；{PASTED_FIX}"
    return (f"{said}，不是标题：表头之上只应有标题行，这些行未被读取，文件未采用；可能是两份导出文件拼在了一起（前一份的表头编码不同"
            "或列不全），请部门只保留一个表头、统一编码后重新交付该文件及其完成标记")


def reordered_headers(batch: pl.DataFrame, at: pl.Series, rows: list[tuple], header: list[bool],
                      matched: list[tuple[str, str]], smap: SourceMap, scales: dict) -> list[tuple[int, int, str]]:
    """``(row, column index, cell)`` of the candidate ``rows`` (at ``at``) that are no copy of the header but a header
    all the same — every non-empty cell names a column of the map, at least two, one of them another column than
    the header's there (two exports pasted, the second with 证件号码 before 户名) or the same in another unit
    (余额（万元） under 余额, ``scales``: the header's): the first such cell named."""
    found = []
    for i, (row, same) in enumerate(zip(rows, header, strict=True)):
        if same:
            continue
        named = [(k, v, looked) for k, v in enumerate(row)
                 if v is not None and v.strip() and (looked := smap.lookup(v))[0] is not None]
        filled = sum(1 for v in row if v is not None and v.strip())
        other = [(k, v) for k, v, (spec, scale) in named
                 if spec.column != matched[k][1] or scale != scales.get(spec.column)]
        if len(named) >= 2 and len(named) == filled and other:
            k, v = other[0]
            found.append((int(batch["_row_no"][at[i]]), int(matched[k][0][1:]), v))
    return found


def reordered_header_problem(name: str, found: list[tuple[int, int, str]], header: list[str], header_line: int) -> str:
    """The reason a file holding a header line in another column order is not used."""
    row, col, cell = found[0]
    was = header[col] if col < len(header) else ""
    return (f"{name}第{row}行是又一行表头，列的顺序或单位与第{header_line}行的表头不同（第{col + 1}列是“{cell[:20]}”，"
            f"第{header_line}行的表头中是“{was[:20]}”），其下各行不能按第{header_line}行的表头读取，文件未采用；可能是两份"
            "导出文件拼在了一起，请部门按同一表头（同样的列和顺序）重新导出，或分别交付两个文件（各带完成标记）")
