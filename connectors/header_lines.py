"""Header lines beyond the header row: a workbook's header of two rows (a group's name merged over its columns' own
names, :func:`grouped_header`) and a line of units under the header (``万元`` under ``余额``, :func:`unit_line`).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import replace
from pathlib import Path

import polars as pl

from connectors.limits import shown_name
from connectors.manifest import FileManifest
from connectors.maps import TRADITIONAL, SourceMap


def grouped_header(merged_ranges, path: Path, sheet, smap: SourceMap, df: pl.DataFrame, header: list[str],
                   idx: int) -> tuple[list[str], int]:
    """A header of two rows: a group's name merged across its columns (``余额`` over ``活期`` | ``定期``, ``所属期``
    over ``起`` | ``止``) with their own names on the row below, every other column's name merged down over both rows
    (or the lower cell empty).  ``(header, index of its last row)``: each grouped column named by its own name where
    the map knows it (``账户信息`` over ``账号``), else by the two joined as the map knows them (``活期余额``,
    ``所属期起``), else its own name after the group's; anything else is ``(header, idx)`` unchanged.

    Read as one header row (the upper), the lower row was a data row: the marker's count was one short and the
    file incomplete, saying only the two counts, or a sub-column's values (定期) were read as the group's twin.
    ``merged_ranges``: :func:`connectors.sheets.merged_ranges` (the sheet's merged cells), asked only where a name
    repeats across columns."""
    if idx + 1 >= df.height or not any(a.strip() and a == b for a, b in zip(header, header[1:], strict=False)):
        return header, idx  # no name repeated by a merge across columns: no group
    position = {info.absolute_index: i for i, info in enumerate(sheet.available_columns())}
    groups = [(position[c0], position[c1]) for r0, c0, r1, c1 in merged_ranges(path)
              if r0 == r1 == idx and c1 > c0 and c0 in position and c1 in position]
    if not groups:
        return header, idx
    grouped = {j for a, b in groups for j in range(a, b + 1)}
    below = ["" if v is None else str(v).strip() for v in df.row(idx + 1)]
    named = []
    for j, h in enumerate(header):
        sub = below[j] if j < len(below) else ""
        if j not in grouped:
            if sub and sub != h.strip():  # a value under a column of one row: a data row
                return header, idx
            named.append(h)
            continue
        if not sub or sub == h.strip():  # a grouped column without its own name: no two-row header
            return header, idx
        joined = [sub, f"{sub}{h.strip()}", f"{h.strip()}{sub}"]
        known = [n for n in joined if smap.lookup(n)[0] is not None or smap.match_headers([n]).parts
                 or smap.match_headers([n]).periods]
        named.append(known[0] if known else f"{h.strip()}{sub}")
    two = smap.match_headers(named)
    if two.score + len(two.parts) + len(two.periods) < smap.match_headers(header).score:  # names no more columns
        return header, idx
    return named, idx + 1


#: a cell of a unit line: an amount's unit (in yuan or a foreign currency) or an area's, bracketed or after 单位：
_UNIT_CELL = re.compile(r"^(?:(?:金额|计量)?单位[:：]?)?[(\[【]?((?:人民币)?(?:亿|千万|百万|万|千)?(?:元|人民币)(?:人民币)?|万|"
                        r"(?:亿|千万|百万|万|千)?(?:美元|美金|港元|港币|澳门元|澳元|欧元|日元|英镑|usd|hkd|eur|jpy|gbp)|"
                        r"m2|平方米|平米)[)\]】]?$")
_AREA = ("m2", "平方米", "平米")
_LOOKED_AT = 5  # lines under the header looked at for the first non-empty one


def _unit_cells(smap: SourceMap, header: list[str], row: dict) -> dict[int, str] | None:
    """``{column index: unit}`` of a line whose every filled cell is a unit under an amount column (an amount's unit)
    or a number column (an area's), one at least; else None."""
    units: dict[int, str] = {}
    for i, h in enumerate(header):
        value = row.get(f"f{i}")
        text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value or ""))).casefold().translate(TRADITIONAL)
        if not text:
            continue
        m = _UNIT_CELL.fullmatch(text)
        spec = smap.lookup(h)[0] if h else None
        if m is None or spec is None or spec.type != ("number" if m.group(1) in _AREA else "amount"):
            return None
        units[i] = m.group(1)
    return units or None


def unit_line(table, smap: SourceMap, fm: FileManifest):
    """``table`` (:class:`connectors.sheets.Table`) with the line of units under its header (``万元`` under ``余额``,
    ``（万元）``, ``单位：万元``, ``m²`` under ``建筑面积``) read as part of the header: each amount header naming no unit
    gets the line's (as if it read ``余额（万元）``), and the line is no data row (not counted: ``fm.header_rows``).

    Read as a data row it failed the file on its count — or, where the marker counted it, delivered amounts in 万元 as
    yuan (50,000 read as 5) and quarantined a row of nothing.  A header that names another unit than the line's
    (``余额（元）`` over ``万元``) leaves the unit unknown: the file fails, naming both.  Only the first non-empty
    line under the header is looked at."""
    if table.header is None or table.header_row is None:
        return table
    batches = iter(table.batches)
    first = next(batches, None)
    if first is None:
        return table
    rest = itertools.chain([first], batches)
    for i in range(min(first.height, _LOOKED_AT)):
        row = first.row(i, named=True)
        if not any(str(row.get(f"f{j}") or "").strip() for j in range(len(table.header))):
            continue
        units = None if row.get("_err") is not None else _unit_cells(smap, table.header, row)
        if units is None:
            break
        name, header = fm.file_name.rsplit("/", 1)[-1], list(table.header)
        at = row.get("_row_no") or (table.header_row + 1 + i)
        for j, unit in units.items():
            spec = smap.lookup(header[j])[0]
            if unit in _AREA or spec is None:
                continue
            stated = smap.lookup(f"{spec.header}（{unit}）")[1]
            if smap.names_unit(header[j]) and smap.lookup(header[j])[1] != stated:
                fm.fail(f"{name}第{at}行是单位行，“{shown_name(header[j])}”列下写着“{unit}”，与表头所写的单位不同，"
                        "无法确定该列的单位，文件未采用；请部门只在表头（如“余额（万元）”）或单位行中的一处写明单位后重新交付")
            elif not smap.names_unit(header[j]):
                header[j] = f"{header[j]}（{unit}）"
        fm.header_rows += 1
        fm.problems.append(f"{name}第{at}行是表头下的单位行（{'、'.join(dict.fromkeys(units.values()))}），按表头的一部分读取，"
                           "不是数据行，不计入完成标记的行数")
        first = first.slice(0, i).vstack(first.slice(i + 1))
        rest = itertools.chain([first], batches)
        return replace(table, header=header, batches=rest)
    return replace(table, batches=rest)
