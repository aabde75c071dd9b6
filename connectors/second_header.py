"""A second header line below the first that names other columns: some of the first header's missing, or others added.

Two exports pasted into one file (connectors.above_header): the second one's header repeats the first's names but
one export lacks a column (账户类型 not exported) or carries one more (备注, 开户网点).  The rows below it do not line
up with the first header: a column missing in the middle shifts every value after it (a balance read as the account
type, a date as the balance), one missing at the end leaves it empty in every row below (a query date lost), one
added at the end is cut off unseen (a workbook's cells past the header are not read).  A line repeating the first
header exactly is a header and is dropped (connectors.raw); a line naming the same columns in another order or unit
fails the file (:func:`connectors.above_header.reordered_headers`); a line naming other columns fails it too, naming
the line, the columns it lacks and the ones it adds, whatever the marker counts.

A row is such a header when it holds no ID number where the first header has its ID column, two cells or more equal
to a cell of the first header (the cheap look, done on every batch), and its named cells (a header of the map, or a
cell of the first header) are half its non-empty cells or more, two of them headers of the map, and name half the
first header's columns or more.
Cells past the header's width are not in the batch (a CSV line with more fields, a workbook's columns past the
header): they are read again from the file (``fields_of``), only for the rows found.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.limits import open_regular

if TYPE_CHECKING:
    import polars as pl

    from connectors.maps import HeaderMatch, SourceMap

_DIGITS = list("0123456789０１２３４５６７８９")
_COUNT_ERR = r"^第[0-9]+行有([0-9]+)个字段，表头有[0-9]+个字段$"
#: a database field name (ACCT_NO, balance, QueryDate): what a system's export writes under its Chinese header
_FIELD_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
MAX_FOUND = 5
MAX_LOOKED = 50  # candidate lines looked at per batch (each may be read again from the file)


@dataclass(frozen=True)
class OtherColumns:
    """A header line naming other columns: its row, the first header's cells it lacks, the cells it adds."""

    row: int
    missing: tuple[str, ...]
    extra: tuple[str, ...]


def _key(cell: str, smap: SourceMap) -> str:
    """What a header cell names: its column of the map, else its own text."""
    from connectors.maps import header_key

    spec, _ = smap.lookup(cell)
    return f"={spec.column}" if spec is not None else header_key(cell)[0]


def _candidates(batch: pl.DataFrame, header: list[str], match: HeaderMatch, smap: SourceMap) -> list[tuple]:
    """``(row_no, cells, wider)`` of the batch's rows that may be a header line (the cheap look)."""
    import polars as pl

    fcols = [f"f{i}" for i in range(len(header)) if f"f{i}" in batch.columns]
    texts = [h.strip() for h in header if h and h.strip()]
    ids = [f"f{i}" for i, c in enumerate(match.columns) if c is not None and smap.spec(c).type == "id"]
    if len(texts) < 2 or not fcols or batch.height == 0:
        return []
    no_id = [pl.col(f).is_null() | ~pl.col(f).str.contains_any(_DIGITS) for f in ids if f in fcols] or [pl.lit(True)]
    readable = pl.col("_err").is_null() | pl.col("_err").str.contains(_COUNT_ERR)
    rows = batch.filter(pl.all_horizontal(readable, *no_id))
    if rows.height == 0:
        return []
    named = pl.sum_horizontal(pl.col(f).str.strip_chars().is_in(texts).fill_null(False).cast(pl.Int32) for f in fcols)
    rows = rows.filter(named >= 2)
    wider = pl.col("_err").str.extract(_COUNT_ERR, 1).cast(pl.Int32).fill_null(0) > len(header)
    return rows.select("_row_no", pl.concat_list(fcols).alias("_cells"), wider.alias("_wider")).rows()


def _finding(row: int, cells: list[str | None], header: list[str], smap: SourceMap) -> OtherColumns | None:
    """The line's missing and added columns when it is a header line naming other columns than ``header``."""
    firsts = {_key(h, smap): h.strip() for h in header if h and h.strip()}
    filled = [c.strip() for c in cells if c is not None and c.strip()]
    keys = [_key(c, smap) for c in filled]
    named = [k for k in keys if k.startswith("=") or k in firsts]
    if len(named) < max(2, (len(firsts) + 1) // 2) or 2 * len(named) < len(filled) \
            or sum(k.startswith("=") for k in named) < 2:  # two cells naming columns of the map at least
        return None
    missing = tuple(h for k, h in firsts.items() if k not in keys)
    extra = tuple(c for c, k in zip(filled, keys, strict=True) if k not in firsts)
    return OtherColumns(row, missing, extra) if missing or extra else None


def other_column_headers(batch: pl.DataFrame, header: list[str], match: HeaderMatch, smap: SourceMap,
                         fields_of: Callable[[int, bool], list[str] | None] | None) -> list[OtherColumns]:
    """The header lines of ``batch`` naming other columns than ``header`` (at most :data:`MAX_FOUND`); a line is read
    whole again by ``fields_of(row_no, wider)`` (None: the batch's cells are the line's), ``wider`` when the reader
    counted more fields in it than in the header."""
    found = []
    for row, cells, wider in _candidates(batch, header, match, smap)[:MAX_LOOKED]:
        try:
            whole = fields_of(row, wider) if fields_of is not None else None
        except Exception:  # the line read again names the columns better, nothing more: the batch's cells do
            whole = None
        got = _finding(row, whole if whole is not None else cells, header, smap)
        if got is not None:
            found.append(got)
            if len(found) >= MAX_FOUND:
                break
    return found


def other_columns_problem(name: str, found: list[OtherColumns], header_line: int) -> str:
    """The reason a file holding a header line that names other columns is not used."""
    first = found[0]
    parts = []
    if first.missing:
        parts.append("缺少" + "、".join(f"“{h[:20]}”" for h in first.missing[:8]))
    if first.extra:
        parts.append("多出" + "、".join(f"“{h[:20]}”" for h in first.extra[:8]))
    more = f"（另有第{'、'.join(str(f.row) for f in found[1:])}行也是这样的表头）" if len(found) > 1 else ""
    return (f"{name}第{first.row}行是又一行表头，列与第{header_line}行的表头不同：{'，'.join(parts)}{more}；其下各行的值"
            f"与第{header_line}行表头的列对不上，不能按它读取，文件未采用；可能是两份导出文件拼在了一起，请部门按同一表头"
            "（同样的列和顺序）重新导出，或分别交付两个文件（各带完成标记）")


def without_code_line(batch: pl.DataFrame, header: list[str]) -> tuple[pl.DataFrame, int]:
    """``batch`` (a file's first) without the line of field codes right below the header, and 1; else ``batch``, 0.

    A system's export may write its database field names (ORG_NAME, ID_NO, BALANCE) on a second header line under
    the Chinese one.  It is no data row and the marker does not count it: read as one, it failed the whole file on
    its count (or quarantined a row of nothing).  Such a line fills half the header's columns or more (two at least),
    every cell a field name (a letter first, letters, digits, ``_`` or ``.``: no ID number, amount, date or Chinese
    name is one), one of them upper case or with ``_``; only the first non-empty line below the header is looked at.
    """
    fcols = [f"f{i}" for i, h in enumerate(header) if f"f{i}" in batch.columns]
    least = max(2, (sum(1 for h in header if h and h.strip()) + 1) // 2)
    for i in range(min(batch.height, 5)):
        row = batch.row(i, named=True)
        filled = [str(row[f]).strip() for f in fcols if row[f] is not None and str(row[f]).strip()]
        if not filled:
            continue
        code = row["_err"] is None and len(filled) >= least and all(_FIELD_CODE.fullmatch(c) for c in filled) \
            and any("_" in c or c.isupper() for c in filled)
        return (batch.slice(0, i).vstack(batch.slice(i + 1)), 1) if code else (batch, 0)
    return batch, 0


def csv_fields(path: Path, encoding: str | None, sep: str) -> Callable[[int, bool], list[str] | None]:
    """``fields_of`` of a CSV: the fields of the record ending on physical line ``row`` (1-based), read again; only
    for a line with more fields than the header (the batch holds the others whole)."""

    def fields_of(row: int, wider: bool) -> list[str] | None:
        if not wider:
            return None
        with open_regular(path) as fh:
            text = io.TextIOWrapper(fh, encoding=encoding or "utf-8", errors="replace", newline="")
            reader = csv.reader(text, delimiter=sep)
            try:
                for fields in reader:
                    if reader.line_num >= row:
                        return fields
            except csv.Error:  # a NUL byte, a field over csv's size limit: the batch's cells are named
                return None
        return None

    return fields_of


def xlsx_fields(path: Path) -> Callable[[int, bool], list[str] | None]:
    """``fields_of`` of a workbook: the cells of sheet row ``row`` of the sheet read, its columns past the header
    included (the sheet is loaded again once, only when a header line was found)."""
    loaded: list = []

    def fields_of(row: int, wider: bool) -> list[str] | None:
        import fastexcel
        import polars as pl

        from connectors.sheets import data_sheet

        if not loaded:
            with zipfile.ZipFile(path) as zf:
                name, _, _ = data_sheet(zf)
            reader = fastexcel.read_excel(str(path))
            sheet = reader.load_sheet(name if name in reader.sheet_names else 0, header_row=None, dtypes="string",
                                      skip_rows=0)  # as connectors.sheets.read_xlsx: rows are sheet rows
            loaded.append(pl.from_arrow(sheet.to_arrow()))
        df = loaded[0]
        return [None if v is None else str(v) for v in df.row(row - 1)] if 0 < row <= df.height else None

    return fields_of
