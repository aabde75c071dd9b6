"""XLSX and Parquet files → positional batches (see ``connectors.raw``).

XLSX (first sheet, the first not hidden, via fastexcel/calamine): every cell is read as text; date
cells become ``YYYY-MM-DD``, and so do plain serial numbers of date and month
columns in a workbook on the 1904 date system (:mod:`connectors.xlsx_cells`);
numbers keep their text without ``.0``; a numeric cell of 16 or more digits
(an ID number Excel stored as a number, its last digits already lost) is
shown as Excel shows it, ``3.60102E+17``, so that it is recognised as
unrecoverable.  Row numbers are sheet rows.

Parquet: any column type is turned into the same text forms; row numbers
are 1-based indices.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from connectors.above_header import records_above
from connectors.header_lines import grouped_header
from connectors.maps import SourceMap
from connectors.raw import HEADER_SEARCH_ROWS, find_header, positional_names

PARQUET_BATCH_ROWS = 200_000
#: the departments' local time: a Parquet timestamp with a time zone is an instant, its date is taken here
DEPARTMENTS_TIME_ZONE = "Asia/Shanghai"
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
_LONG_NUMBER = r"^-?[0-9]{16,}$"
_MIDNIGHT = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) 00:00:00(?:\.0+)?$"


@dataclass
class Table:
    """A file's header (None when the file holds nothing), where it stands, and its data batches."""

    header: list[str] | None
    header_row: int | None
    batches: Iterator[pl.DataFrame]
    above: list[int] = field(default_factory=list)  # rows above the header that are records (connectors.above_header)
    pasted: tuple[int, int, str] | None = None  # where a second export (a BOM) starts (connectors.marker_hint)


def excel_general(value: float) -> str:
    """A number as Excel's General format shows a long one: ``3.60102E+17``."""
    mantissa, exponent = f"{value:.5E}".split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E{exponent[0]}{exponent[1:].lstrip('0').rjust(2, '0')}"


def read_xlsx(path: Path, smap: SourceMap) -> Table:
    """The first sheet of an ``.xlsx`` (the first not hidden: :func:`data_sheet`); title rows above the header
    are skipped."""
    import fastexcel

    with zipfile.ZipFile(path) as zf:
        name, _, _ = data_sheet(zf)
    reader = fastexcel.read_excel(str(path))
    sheet = reader.load_sheet(name if name in reader.sheet_names else 0, header_row=None, dtypes="string",
                              skip_rows=0)
    df = pl.from_arrow(sheet.to_arrow())
    assert isinstance(df, pl.DataFrame)
    df = df.rename(dict(zip(df.columns, positional_names(df.width), strict=True)))
    if df.height == 0 or df.width == 0:
        return Table(None, None, iter(()))
    if any(df[c].str.contains(_LONG_NUMBER).any() for c in df.columns):
        df = _fix_long_numbers(path, sheet, df)
    if df.null_count().sum_horizontal().item():  # empty cells: merged ones? (before the header is looked for:
        df = _fill_merged(path, sheet, df)  # a header of two rows, a group title merged over its sub-headers)
    # the header is on the first non-empty row (or a few below it, under title rows), however far down the
    # sheet that is: rows above it that are empty are no part of the search
    filled = df.select(pl.any_horizontal(pl.col(c).str.strip_chars().str.len_bytes() > 0 for c in df.columns)
                       .fill_null(False)).to_series()
    if not filled.any():
        return Table(None, None, iter(()))
    first = int(filled.arg_true()[0])
    idx, _ = find_header(df.slice(first, HEADER_SEARCH_ROWS).rows(), smap)
    if idx is None:
        return Table(None, None, iter(()))
    titles, idx = df.slice(first, idx).rows(), idx + first
    header = ["" if v is None else str(v) for v in df.row(idx)]
    above = records_above(titles, first + 1, smap, header)
    header, idx = grouped_header(merged_ranges, path, sheet, smap, df, header, idx)  # 余额 over 活期 | 定期
    header = smap.with_title_unit(df.slice(first, idx - first).rows(), header)  # 单位：万元 in a title row
    while header and header[-1].strip() == "":
        header.pop()
    ncols = max(len(header), 1)
    df = df.select(positional_names(df.width)[:ncols]) if df.width > ncols else df
    dated = [c for c in df.columns if df[c].str.contains(" 00:00:00", literal=True).any()]  # cheap test first
    df = df.with_columns(pl.col(c).str.replace(_MIDNIGHT, "${1}") for c in dated)
    df, err = _read_as_shown(path, sheet, df, header, idx)
    df = _dates_1904(path, smap, df, header, idx)
    df = _months_as_shown(path, sheet, smap, df, header, idx)
    data = df.with_row_index("_i").slice(idx + 1).select(
        *df.columns,
        _row_no=(pl.col("_i") + 1).cast(pl.Int32),
        _err=pl.lit(None, dtype=pl.String) if err is None else pl.lit(err.slice(idx + 1)),
    )
    return Table(header, idx + 1, iter([data]), above)


#: an Excel serial day number as staging reads one (hd_date / parse_date): 5 digits, a time of day after the point
_SERIAL = r"^([1-9][0-9]{4})(?:\.[0-9]+)?$"
_EPOCH_1904 = dt.date(1904, 1, 1)


def _dates_1904(path: Path, smap: SourceMap, df: pl.DataFrame, header: list[str], idx: int) -> pl.DataFrame:
    """In a workbook on the 1904 date system, serial numbers of date and month columns below the header
    → ``YYYY-MM-DD`` counted from 1904-01-01 (connectors.xlsx_cells: staging counts from 1899-12-30).
    A cell of text holding a serial is taken in the workbook's date system too."""
    from connectors.xlsx_cells import date1904

    with zipfile.ZipFile(path) as zf:
        if not date1904(zf):
            return df
    match = smap.match_headers(list(header))
    dated = [f"f{i}" for i, c in enumerate(match.columns)
             if c is not None and smap.spec(c).type in ("date", "month") and f"f{i}" in df.columns]
    below = pl.int_range(pl.len()) > idx
    exprs = []
    for c in dated:
        # a year-like number (20261: 2026-1… cut short) is no serial for certain: staging quarantines it
        serial = pl.col(c).str.extract(_SERIAL, 1).cast(pl.Int64)
        serial = pl.when(serial.is_between(19000, 20999)).then(None).otherwise(serial)
        day = (pl.lit(_EPOCH_1904) + pl.duration(days=serial)).dt.strftime("%Y-%m-%d")
        exprs.append(pl.when(below & serial.is_not_null()).then(day).otherwise(pl.col(c)).alias(c))
    return df.with_columns(exprs) if exprs else df


def _months_as_shown(path: Path, sheet, smap: SourceMap, df: pl.DataFrame, header: list[str],
                     idx: int) -> pl.DataFrame:
    """Month cells holding a number of one decimal (``2026.1``) shown through a format of two (``0.00``): the
    number as the sheet shows it, ``2026.10`` (October; read bare it looks like Excel's shortened month)."""
    from connectors.xlsx_cells import shown_decimals

    match = smap.match_headers(list(header))
    months = [f"f{i}" for i, c in enumerate(match.columns) if c is not None and smap.spec(c).type == "month"
              and f"f{i}" in df.columns and df[f"f{i}"].str.contains(r"^[0-9]{4}\.[1-9]$").any()]
    if not months:
        return df
    absolute = {info.absolute_index: f"f{i}" for i, info in enumerate(sheet.available_columns())}
    with zipfile.ZipFile(path) as zf:
        member = _first_sheet_xml(zf)
    columns: dict[str, list] = {}
    for (row, col), n in shown_decimals(path, member, {k for k, v in absolute.items() if v in months}).items():
        name = absolute[col]
        values = columns.setdefault(name, df[name].to_list())
        if idx < row < df.height and values[row] is not None and re.fullmatch(r"[0-9]{4}\.[0-9]+", values[row]):
            values[row] = f"{float(values[row]):.{n}f}"
    return df.with_columns(pl.Series(n, v, dtype=pl.String) for n, v in columns.items()) if columns else df


def _read_as_shown(path: Path, sheet, df: pl.DataFrame, header: list[str],
                   idx: int) -> tuple[pl.DataFrame, pl.Series | None]:
    """Excel error cells → a read error of their row; numbers in a 万 format → with that unit
    (:mod:`connectors.xlsx_cells`).  ``(df, the rows' read errors or None)``."""
    from connectors.xlsx_cells import AMBIGUOUS, SCALE, special_cells

    with zipfile.ZipFile(path) as zf:
        member = _first_sheet_xml(zf)
    errors, wan, uncomputed = special_cells(path, member)
    if not errors and not wan and not uncomputed:
        return df, None
    position = {info.absolute_index: i for i, info in enumerate(sheet.available_columns())}
    reasons: dict[int, list[str]] = {}
    columns: dict[str, list] = {}

    def label(i: int) -> str:
        return f"第{i + 1}列" + (f"（{header[i]}）" if i < len(header) and header[i].strip() else "")

    for (row, col), text in sorted(errors.items()):
        i = position.get(col)
        if i is not None and f"f{i}" in df.columns and idx < row < df.height:
            reasons.setdefault(row, []).append(f"{label(i)}是Excel错误值“{text[:20]}”（公式无法计算），不是空值")
    for (row, col), formula in sorted(uncomputed.items()):
        i = position.get(col)
        if i is not None and f"f{i}" in df.columns and idx < row < df.height:
            reasons.setdefault(row, []).append(
                f"{label(i)}是公式“={formula[:30]}”，文件中没有它的计算结果（生成文件的程序未计算公式）")
    for (row, col), (kind, code) in sorted(wan.items()):
        i = position.get(col)
        name = f"f{i}" if i is not None else None
        if name is None or name not in df.columns or not idx < row < df.height:
            continue
        values = columns.setdefault(name, df[name].to_list())
        if values[row] is None:
            continue
        if kind == SCALE:
            values[row] = f"{values[row]}万元"  # the sheet shows 1.50万元: the cell's own unit (sources.md)
        elif kind == AMBIGUOUS:
            reasons.setdefault(row, []).append(f"{label(i)}以数字格式“{code[:30]}”显示，单位无法确定")
    if columns:
        df = df.with_columns(pl.Series(n, v, dtype=pl.String) for n, v in columns.items())
    if not reasons:
        return df, None
    err = [None] * df.height
    for row, parts in reasons.items():
        err[row] = (f"第{row + 1}行" + "；".join(parts) + "，该行隔离待查；请部门修正该单元格或以数值（元）重新导出")
    return df, pl.Series("_err", err, dtype=pl.String)


def sheet_holding_header(path: Path, smap: SourceMap) -> str | None:
    """The name of a sheet after the first whose first rows hold this source's header, or None
    (only asked when the first sheet has none: the data was put on another sheet)."""
    import fastexcel

    with zipfile.ZipFile(path) as zf:
        read, _, _ = data_sheet(zf)
    reader = fastexcel.read_excel(str(path))
    names = reader.sheet_names
    index = names.index(read) if read in names else 0
    for name in names[index + 1:index + 20]:
        try:
            sheet = reader.load_sheet(name, header_row=None, dtypes="string", n_rows=HEADER_SEARCH_ROWS)
        except fastexcel.FastExcelError:  # a chart sheet, an odd sheet: it holds no header
            continue
        df = pl.from_arrow(sheet.to_arrow())
        assert isinstance(df, pl.DataFrame)
        if df.height and df.width and find_header(df.rows(), smap)[1] > 0:
            return name
    return None


def merged_ranges(path: Path) -> set[tuple[int, int, int, int]]:
    """``(first row, first column, last row, last column)`` (0-based, absolute) of the first sheet's
    merged cells (``<mergeCell>`` follows the sheet's data in its XML: :func:`connectors.sheet_scan.scan`)."""
    from connectors.sheet_scan import scan

    with zipfile.ZipFile(path) as zf:
        member = _first_sheet_xml(zf)
    return set(scan(path, member).merged)


def _fill_merged(path: Path, sheet, df: pl.DataFrame) -> pl.DataFrame:
    """Every cell of a merged range holds the range's value, as a person reading the sheet sees it
    (co-owners' rows under one merged 不动产单元号 / 坐落 / 建筑面积 each get it)."""
    ranges = merged_ranges(path)
    if not ranges:
        return df
    position = {info.absolute_index: i for i, info in enumerate(sheet.available_columns())}
    columns: dict[str, list] = {}
    for r0, c0, r1, c1 in sorted(ranges):
        if c0 not in position or f"f{position[c0]}" not in df.columns or r0 >= df.height:
            continue
        value = df[f"f{position[c0]}"][r0]
        if value is None:
            continue
        for c in range(c0, c1 + 1):
            name = f"f{position[c]}" if c in position else None
            if name is None or name not in df.columns:
                continue
            values = columns.setdefault(name, df[name].to_list())
            for r in range(r0, min(r1, df.height - 1) + 1):
                if values[r] is None:
                    values[r] = value
    return df.with_columns(pl.Series(name, values, dtype=pl.String) for name, values in columns.items())


def data_sheet(zf: zipfile.ZipFile) -> tuple[str | None, str | None, list[str]]:
    """``(name, zip member, hidden sheets before it)`` of the sheet read: the first sheet as a person opening
    the workbook sees it, the first worksheet in the order of ``<sheets>`` that is not hidden (a hidden first
    sheet is no sheet a person reads: a lookup list, an old copy; a chart sheet holds no rows)."""
    from connectors.xlsx_cells import part

    try:
        workbook = ElementTree.fromstring(part(zf, "xl/workbook.xml"))  # a Strict Open XML one in the usual names
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):  # not a workbook fastexcel reads either: it says so
        return None, None, []
    sheets = workbook.findall("m:sheets/m:sheet", _NS)
    targets = {}
    for rel in rels.findall("p:Relationship", _NS):
        target = rel.get("Target", "")
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[rel.get("Id")] = (member, rel.get("Type", "").endswith("/worksheet"))
    found = [(sh.get("name"), *targets.get(sh.get(f"{{{_NS['r']}}}id"), (None, False)),
              (sh.get("state") or "visible") == "visible") for sh in sheets]
    index = next((i for i, (_, _, sheet, visible) in enumerate(found) if sheet and visible), 0)
    if not found:
        return None, None, []
    hidden = [name or "" for name, _, sheet, visible in found[:index] if sheet and not visible]
    return found[index][0], found[index][1], hidden


def hidden_sheet_holding_data(path: Path, smap: SourceMap) -> str | None:
    """The name of a hidden sheet before the one read whose first rows hold this source's header (with its ID
    column) and a row below it, or None: which of the two is the delivery cannot be told."""
    import fastexcel

    with zipfile.ZipFile(path) as zf:
        _, _, hidden = data_sheet(zf)
    if not hidden:
        return None
    reader = fastexcel.read_excel(str(path))
    for name in hidden[:20]:
        try:
            sheet = reader.load_sheet(name, header_row=None, dtypes="string", n_rows=HEADER_SEARCH_ROWS + 1)
        except fastexcel.FastExcelError:
            continue
        df = pl.from_arrow(sheet.to_arrow())
        assert isinstance(df, pl.DataFrame)
        rows = df.rows() if df.height and df.width else []
        idx, score = find_header(rows, smap)
        if score == 0 or any(c.essential for c in smap.match_headers(list(rows[idx])).missing):
            continue  # no header a delivery could be read by (a lookup list of 账户类型 …)
        if any(v is not None and str(v).strip() for row in rows[idx + 1:] for v in row):
            return name
    return None


def _first_sheet_xml(zf: zipfile.ZipFile) -> str:
    """The zip member of the sheet read (:func:`data_sheet`)."""
    _, member, _ = data_sheet(zf)
    return member or "xl/worksheets/sheet1.xml"


def numeric_long_cells(path: Path) -> set[tuple[int, int]]:
    """``(row, column)`` (0-based, absolute) of numeric cells whose value is ≥ 1e15 in magnitude.

    Scans the first sheet's XML as bytes (no full parse, :func:`connectors.sheet_scan.scan`): a fraction of
    a second per 100k rows, and usually finds nothing.
    """
    from connectors.sheet_scan import scan
    from connectors.xlsx_cells import long_number_cells

    with zipfile.ZipFile(path) as zf:
        member = _first_sheet_xml(zf)
    found = scan(path, member).long_numbers
    if found is None:  # a cell not naming its place (r is optional), or <x:c> (a prefix): the sheet is parsed
        return long_number_cells(path, member)
    return set(found)


def _fix_long_numbers(path: Path, sheet, df: pl.DataFrame) -> pl.DataFrame:
    """Long digit strings that came from *numeric* cells → Excel's scientific form."""
    cells = numeric_long_cells(path)
    if not cells:
        return df
    position = {info.absolute_index: i for i, info in enumerate(sheet.available_columns())}
    by_column: dict[int, list[int]] = {}
    for row, col in cells:
        if col in position and row < df.height:
            by_column.setdefault(position[col], []).append(row)
    out = {}
    for i, rows in by_column.items():
        name = f"f{i}"
        if name not in df.columns:
            continue
        values = df[name].to_list()
        for r in rows:
            v = values[r]
            try:
                values[r] = excel_general(float(v)) if v is not None else v
            except ValueError:
                continue
        out[name] = pl.Series(name, values, dtype=pl.String)
    return df.with_columns(**out) if out else df


def _decode_binary(s: pl.Series) -> tuple[pl.Series, list[str | None] | None]:
    """A column of bytes (a string column some writers store without its UTF-8 annotation) as text.

    The column is UTF-8 when every value decodes as UTF-8, else GB18030 (the
    departments' other encoding); a value that decodes as neither keeps its
    place with U+FFFD replacements and gets a reason (its row is quarantined).
    """
    values = s.to_list()
    codec = "utf-8"
    for v in values:
        if v is not None:
            try:
                v.decode("utf-8")
            except UnicodeDecodeError:
                codec = "gb18030"
                break
    out: list[str | None] = []
    errors: list[str | None] = [None] * len(values)
    bad = False
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        try:
            out.append(v.decode(codec))
        except UnicodeDecodeError as exc:
            out.append(v.decode(codec, "replace"))
            errors[i] = f"含无法按{codec.upper()}解码的字节（0x{v[exc.start:exc.end].hex().upper()}）"
            bad = True
    return pl.Series(s.name, out, dtype=pl.String), (errors if bad else None)


def _as_text(s: pl.Series) -> pl.Series:
    dtype = s.dtype
    if dtype == pl.String:
        return s
    if dtype.is_float():
        integral = (s.round(0) == s) & (s.abs() < 1e15)
        return (
            pl.select(pl.when(integral).then(s.cast(pl.Int64, strict=False).cast(pl.String))
                      .otherwise(s.cast(pl.String)))
            .to_series()
            .alias(s.name)
        )
    if dtype == pl.Date:
        return s.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:  # an instant (Spark, Java write UTC): the departments' day is Beijing time's
            s = s.dt.convert_time_zone(DEPARTMENTS_TIME_ZONE)
        return s.dt.strftime("%Y-%m-%d %H:%M:%S")
    try:
        return s.cast(pl.String)
    except pl.exceptions.PolarsError:
        return pl.Series(s.name, [None if v is None else str(v) for v in s.to_list()], dtype=pl.String)


def _as_polars_takes(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with its decimal256 columns (a precision over 38: a database's NUMBER without one, as some
    exports write it) as text, exactly: polars panics on them, and the panic stopped the whole run."""
    if not any(pa.types.is_decimal256(t) for t in batch.schema.types):
        return batch
    return pa.RecordBatch.from_arrays(
        [c.cast(pa.string()) if pa.types.is_decimal256(c.type) else c for c in batch.columns], batch.schema.names)


def read_parquet(path: Path, smap: SourceMap) -> Table:
    """A Parquet file; the column names are the header."""
    pf = pq.ParquetFile(str(path))
    header = list(pf.schema_arrow.names)

    def batches() -> Iterator[pl.DataFrame]:
        offset = 0
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            # positional names: a file may repeat a column name (polars refuses duplicates)
            df = pl.from_arrow(_as_polars_takes(batch).rename_columns(positional_names(batch.num_columns)))
            assert isinstance(df, pl.DataFrame)
            cols, errors = [], []
            for i in range(df.width):
                s = df.to_series(i)
                if s.dtype == pl.Binary:
                    s, bad = _decode_binary(s)
                    if bad is not None:
                        label = f"第{i + 1}列（{header[i]}）"
                        errors.append(pl.Series([None if e is None else label + e for e in bad], dtype=pl.String))
                cols.append(_as_text(s).alias(f"f{i}"))
            row_no = pl.int_range(offset + 1, offset + 1 + df.height, dtype=pl.Int32, eager=True)
            err = pl.lit(None, dtype=pl.String)
            if errors:
                reasons = [("；".join(e for e in row if e) or None) for row in zip(*errors, strict=True)]
                err = pl.lit(pl.Series([None if r is None else f"第{offset + 1 + k}行{r}，该行隔离待查；"
                                        "请部门以UTF-8编码的字符串列重新导出" for k, r in enumerate(reasons)],
                                       dtype=pl.String))
            frame = pl.DataFrame(cols).with_columns(_row_no=row_no, _err=err)
            offset += df.height
            yield frame

    return Table(header, None, batches())
