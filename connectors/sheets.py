"""XLSX and Parquet files → positional batches (see ``connectors.raw``).

XLSX (first sheet, via fastexcel/calamine): every cell is read as text; date
cells become ``YYYY-MM-DD``; numbers keep their text without ``.0``; a
numeric cell of 16 or more digits (an ID number Excel stored as a number,
its last digits already lost) is shown as Excel shows it, ``3.60102E+17``,
so that it is recognised as unrecoverable.  Row numbers are sheet rows.

Parquet: any column type is turned into the same text forms; row numbers
are 1-based indices.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from connectors.maps import SourceMap
from connectors.raw import HEADER_SEARCH_ROWS, find_header, positional_names

PARQUET_BATCH_ROWS = 200_000
_LONG_NUMBER = r"^-?[0-9]{16,}$"
_MIDNIGHT = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) 00:00:00(?:\.0+)?$"


@dataclass
class Table:
    """A file's header (None when the file holds nothing), where it stands, and its data batches."""

    header: list[str] | None
    header_row: int | None
    batches: Iterator[pl.DataFrame]


def excel_general(value: float) -> str:
    """A number as Excel's General format shows a long one: ``3.60102E+17``."""
    mantissa, exponent = f"{value:.5E}".split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E{exponent[0]}{exponent[1:].lstrip('0').rjust(2, '0')}"


def read_xlsx(path: Path, smap: SourceMap) -> Table:
    """The first sheet of an ``.xlsx``; title rows above the header are skipped."""
    import fastexcel

    reader = fastexcel.read_excel(str(path))
    sheet = reader.load_sheet(0, header_row=None, dtypes="string", skip_rows=0)
    df = pl.from_arrow(sheet.to_arrow())
    assert isinstance(df, pl.DataFrame)
    df = df.rename(dict(zip(df.columns, positional_names(df.width), strict=True)))
    if df.height == 0 or df.width == 0:
        return Table(None, None, iter(()))
    idx, _ = find_header(df.head(HEADER_SEARCH_ROWS).rows(), smap)
    if idx is None:
        return Table(None, None, iter(()))
    header = ["" if v is None else str(v) for v in df.row(idx)]
    while header and header[-1].strip() == "":
        header.pop()
    ncols = max(len(header), 1)
    df = df.select(positional_names(df.width)[:ncols]) if df.width > ncols else df
    long_cols = [c for c in df.columns if df[c].str.contains(_LONG_NUMBER).any()]
    if long_cols:
        df = _fix_long_numbers(reader, df, long_cols)
    df = df.with_columns(pl.col(c).str.replace(_MIDNIGHT, "${1}") for c in df.columns)
    data = df.with_row_index("_i").slice(idx + 1).select(
        *df.columns,
        _row_no=(pl.col("_i") + 1).cast(pl.Int32),
        _err=pl.lit(None, dtype=pl.String),
    )
    return Table(header, idx + 1, iter([data]))


def _fix_long_numbers(reader, df: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """Long digit strings that came from *numeric* cells → Excel's scientific form."""
    indices = [int(c[1:]) for c in cols]
    numeric = reader.load_sheet(0, header_row=None, dtypes="boolean", skip_rows=0, use_columns=indices)
    flags = pl.from_arrow(numeric.to_arrow())
    assert isinstance(flags, pl.DataFrame)
    if flags.height != df.height or flags.width != len(cols):
        return df
    out = {}
    for c, flag_col in zip(cols, flags.columns, strict=True):
        values = df[c].to_list()
        for i in (flags[flag_col].is_not_null() & df[c].str.contains(_LONG_NUMBER).fill_null(False)).arg_true():
            values[i] = excel_general(float(values[i]))
        out[c] = pl.Series(c, values, dtype=pl.String)
    return df.with_columns(**out)


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
        return s.dt.strftime("%Y-%m-%d %H:%M:%S")
    try:
        return s.cast(pl.String)
    except pl.exceptions.PolarsError:
        return pl.Series(s.name, [None if v is None else str(v) for v in s.to_list()], dtype=pl.String)


def read_parquet(path: Path, smap: SourceMap) -> Table:
    """A Parquet file; the column names are the header."""
    pf = pq.ParquetFile(str(path))
    header = list(pf.schema_arrow.names)

    def batches() -> Iterator[pl.DataFrame]:
        offset = 0
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            df = pl.from_arrow(batch)
            assert isinstance(df, pl.DataFrame)
            cols = [_as_text(df.to_series(i)).alias(f"f{i}") for i in range(df.width)]
            frame = pl.DataFrame(cols).with_columns(
                _row_no=pl.int_range(offset + 1, offset + 1 + df.height, dtype=pl.Int32),
                _err=pl.lit(None, dtype=pl.String),
            )
            offset += df.height
            yield frame

    return Table(header, None, batches())
