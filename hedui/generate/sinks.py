"""Streaming writers for the delivery files, each with its ``.ok`` marker.

A sink receives finished rows one at a time and never holds more than one
batch.  When a file reaches ``max_rows`` the sink closes it (writing its
marker) and opens the next part (``name_2.ext``, ``name_3.ext`` …).  The
marker text is the data-row count: header, title row and 合计 row excluded,
duplicated rows included (both copies were delivered).  Duplicates are
sparse and evenly spread (every ``dup_every``-th row) so that a department's
duplicate share stays far below any validation threshold.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

XLSX_MAX_ROWS = 1_000_000
CSV_MAX_ROWS = 5_000_000
PARQUET_BATCH = 50_000


class Sink:
    """Common part: file naming, rotation, duplicates, 合计 row, markers."""

    ext = ""

    def __init__(self, folder: Path, stem: str, header: list[str], *, max_rows: int,
                 dup_every: int = 0, summary_col: int | None = None,
                 summary_fmt=None) -> None:
        self.folder = folder
        self.stem = stem
        self.header = header
        self.max_rows = max_rows
        self.dup_every = dup_every              # every n-th row is delivered twice (0: never)
        self.summary_col = summary_col          # column whose amounts the 合计 row sums (or None: no 合计 row)
        self.summary_fmt = summary_fmt or (lambda x: f"{x:.2f}")
        self.part = 0
        self.count = 0                          # data rows in the current part
        self.total = 0                          # data rows over all parts
        self.files: list[Path] = []
        self._sum = 0.0
        self._open_next()

    # -- subclass hooks ---------------------------------------------------
    def _open(self, path: Path) -> None:
        raise NotImplementedError

    def _put(self, row: list) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # -- common -------------------------------------------------------------
    def _open_next(self) -> None:
        self.part += 1
        name = f"{self.stem}{self.ext}" if self.part == 1 else f"{self.stem}_{self.part}{self.ext}"
        path = self.folder / name
        self.files.append(path)
        self.count = 0
        self._sum = 0.0
        self._open(path)

    def _finish_part(self) -> None:
        if self.summary_col is not None:
            row: list = ["合计"] + [None] * (len(self.header) - 1)
            row[self.summary_col] = self.summary_fmt(self._sum)
            self._put(row)
        self._close()
        path = self.files[-1]
        path.with_name(path.name + ".ok").write_text(str(self.count), encoding="ascii")

    def write(self, row: list, amount: float = 0.0) -> None:
        """Write one data row; ``amount`` feeds the 合计 row's sum."""
        if self.count >= self.max_rows:
            self._finish_part()
            self._open_next()
        self._put(row)
        self.count += 1
        self.total += 1
        self._sum += amount
        if self.dup_every and self.total % self.dup_every == self.dup_every // 2 and self.count < self.max_rows:
            self._put(row)
            self.count += 1
            self.total += 1
            self._sum += amount

    def close(self) -> None:
        self._finish_part()


class CsvSink(Sink):
    ext = ".csv"

    def __init__(self, folder: Path, stem: str, header: list[str], *, encoding: str, delimiter: str = ",",
                 quote_all: bool = False, lineterminator: str = "\r\n", **kw) -> None:
        self.encoding = encoding
        self.delimiter = delimiter
        self.quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
        self.lineterminator = lineterminator
        kw.setdefault("max_rows", CSV_MAX_ROWS)
        super().__init__(folder, stem, header, **kw)

    def _open(self, path: Path) -> None:
        self._fh = open(path, "w", encoding=self.encoding, errors="strict", newline="",  # noqa: SIM115
                        buffering=1 << 20)
        self._w = csv.writer(self._fh, delimiter=self.delimiter, quoting=self.quoting,
                             lineterminator=self.lineterminator)
        self._w.writerow(self.header)
        self._put = self._w.writerow

    def _close(self) -> None:
        self._fh.close()


class XlsxSink(Sink):
    """First sheet, optional title row above the header, constant memory.

    Values: ``str`` -> text cell, ``int``/``float`` -> number, ``datetime.date`` ->
    real date cell (yyyy-mm-dd), ``None`` -> blank.
    """

    ext = ".xlsx"

    def __init__(self, folder: Path, stem: str, header: list[str], *, title: str | None = None,
                 sheet: str = "Sheet1", **kw) -> None:
        self.title = title
        self.sheet = sheet
        kw.setdefault("max_rows", XLSX_MAX_ROWS)
        super().__init__(folder, stem, header, **kw)

    def _open(self, path: Path) -> None:
        import xlsxwriter

        self._wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                                   "strings_to_formulas": False, "strings_to_urls": False})
        # Fixed creation time: the file must be byte-identical for a seed.
        self._wb.set_properties({"created": dt.datetime(2026, 1, 1), "author": "hedui 演示数据"})
        self._ws = self._wb.add_worksheet(self.sheet)
        self._datefmt = self._wb.add_format({"num_format": "yyyy-mm-dd"})
        self._row = 0
        if self.title:
            self._ws.write_string(0, 0, self.title, self._wb.add_format({"bold": True}))
            self._row = 1
        for c, h in enumerate(self.header):
            self._ws.write_string(self._row, c, h)
        self._row += 1

    def _put(self, row: list) -> None:
        ws = self._ws
        r = self._row
        for c, v in enumerate(row):
            if v is None:
                continue
            t = type(v)
            if t is str:
                ws.write_string(r, c, v)
            elif t is int or t is float:
                ws.write_number(r, c, v)
            elif t is dt.date:
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), self._datefmt)
            else:
                ws.write(r, c, v)
        self._row = r + 1

    def _close(self) -> None:
        self._wb.close()


class ParquetSink(Sink):
    """All columns as strings (nullable); written in batches."""

    ext = ".parquet"

    def __init__(self, folder: Path, stem: str, header: list[str], **kw) -> None:
        kw.setdefault("max_rows", 10_000_000)
        super().__init__(folder, stem, header, **kw)

    def _open(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self._schema = pa.schema([(h, pa.string()) for h in self.header])
        self._writer = pq.ParquetWriter(str(path), self._schema, compression="zstd")
        self._cols: list[list] = [[] for _ in self.header]
        self._n = 0

    def _flush(self) -> None:
        if not self._n:
            return
        pa = self._pa
        self._writer.write_table(pa.table([pa.array(c, type=pa.string()) for c in self._cols], schema=self._schema))
        self._cols = [[] for _ in self.header]
        self._n = 0

    def _put(self, row: list) -> None:
        for col, v in zip(self._cols, row, strict=True):
            col.append(v)
        self._n += 1
        if self._n >= PARQUET_BATCH:
            self._flush()

    def _close(self) -> None:
        self._flush()
        self._writer.close()
