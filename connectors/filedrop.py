"""File-drop deliveries: ``<inbox>/<source>/<YYYYMMDD>/`` → raw Parquet + manifest.

Every data file of the folder (``.csv`` comma or tab, ``.xlsx`` first sheet,
``.parquet``) is read into one raw Parquet file (docs/internals.md).  Files
are read in name order.  A file is complete only when ``<file>.ok`` stands
beside it and its count equals the data rows read; the source is
``missing`` when there is no folder or no data file, ``incomplete`` when any
file is incomplete or of a format that cannot be read, else ``delivered``.
Rows are never dropped: undecodable bytes and wrong field counts become rows
with a ``read_error``; only blank lines, title rows, the header and 合计
rows are not data.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from connectors.manifest import MISSING, DeliveryManifest, FileManifest
from connectors.maps import SourceMap
from connectors.raw import RawWriter, find_header, record_header_problems
from connectors.sheets import Table, read_parquet, read_xlsx
from connectors.textfile import iter_chunks, parse_chunk, prefetch, sniff

log = logging.getLogger(__name__)

MARKER_SUFFIX = ".ok"
FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
_REDELIVER = "请部门按约定格式（.csv、.xlsx 或 .parquet）重新导出后交付"


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            h.update(block)
    return h.hexdigest()


def classify(path: Path) -> tuple[str | None, str]:
    """``(format, "")`` for a readable data file, else ``(None, problem in Chinese)``."""
    name = path.name
    suffix = path.suffix.lower()
    with open(path, "rb") as fh:
        head = fh.read(512)
    if suffix == ".xls" or (suffix == ".xlsx" and not head.startswith(b"PK")):
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if stripped.startswith((b"<", b"<!doctype", b"<html", b"<table")):
            return None, (f"{name}实为网页（HTML）文件，只是扩展名为{path.suffix}，不是Excel工作簿，无法读取；"
                          "请部门在Excel中另存为.xlsx或导出.csv后重新交付")
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            return None, f"{name}是旧版Excel 97-2003（.xls）文件，不受支持；请部门另存为.xlsx或导出.csv后重新交付"
        if suffix == ".xlsx":
            return None, f"{name}不是有效的.xlsx文件（文件已损坏或格式不对）；{_REDELIVER}"
        return None, f"{name}的格式{path.suffix}不受支持；{_REDELIVER}"
    fmt = FORMATS.get(suffix)
    if fmt is None:
        return None, f"{name}的格式{path.suffix or '（无扩展名）'}不受支持；{_REDELIVER}"
    if fmt == "csv" and head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, (f"{name}是UTF-16编码（Excel“Unicode文本”导出），不受支持；"
                      "请部门另存为“CSV UTF-8”或GB18030编码的.csv后重新交付")
    if fmt == "parquet" and not head.startswith(b"PAR1"):
        return None, f"{name}不是有效的Parquet文件；{_REDELIVER}"
    return fmt, ""


def _check_marker(path: Path, fm: FileManifest) -> None:
    marker = path.with_name(path.name + MARKER_SUFFIX)
    name = path.name
    if not marker.is_file():
        fm.fail(f"{name}缺少完成标记{marker.name}，文件可能尚未传完")
        return
    text = marker.read_text(encoding="utf-8", errors="replace").strip().lstrip("\ufeff").strip()
    try:
        fm.marker_count = int(text)
    except ValueError:
        fm.fail(f"{name}的完成标记{marker.name}内容“{text[:20]}”不是行数")
        return
    if fm.marker_count != fm.rows_read:
        fm.fail(f"{name}的完成标记写明{fm.marker_count}行，实际读到{fm.rows_read}行，文件可能不完整")


def _write_table(table: Table, smap: SourceMap, writer: RawWriter, fm: FileManifest) -> None:
    name = fm.file_name.rsplit("/", 1)[-1]
    if table.header is None:
        fm.fail(f"{name}是空文件（没有表头）")
        return
    fm.header_row = table.header_row
    match = record_header_problems(fm, smap, table.header)
    for batch in table.batches:
        counts = writer.write(batch, match, fm.file_name)
        fm.rows_read += counts.rows
        fm.read_errors += counts.read_errors
        fm.summary_rows += counts.summary_rows


def _read_csv(path: Path, smap: SourceMap, writer: RawWriter, fm: FileManifest) -> None:
    layout = sniff(path, lambda rows: find_header(rows, smap))
    fm.encoding = layout.encoding
    fm.delimiter = "tab" if layout.sep == "\t" else "comma"
    hasher = hashlib.sha256()
    with open(path, "rb") as fh:
        if layout.header_line == 0:
            while block := fh.read(8 << 20):
                hasher.update(block)
            fm.sha256 = hasher.hexdigest()
            _write_table(Table(None, None, iter(())), smap, writer, fm)
            return
        chunks = prefetch(iter_chunks(fh, layout.encoding, hasher))
        try:
            batches = (parse_chunk(chunk, len(layout.header), layout.sep, layout.header_line) for chunk in chunks)
            _write_table(Table(layout.header, layout.header_line, batches), smap, writer, fm)
        finally:
            chunks.close()  # stops the decoding thread before the file closes
    fm.sha256 = hasher.hexdigest()


def _read_file(path: Path, fmt: str, smap: SourceMap, writer: RawWriter, fm: FileManifest) -> None:
    if fmt == "csv":
        _read_csv(path, smap, writer, fm)
        return
    import fastexcel
    import pyarrow as pa

    fm.sha256 = _sha256(path)
    reader = read_xlsx if fmt == "xlsx" else read_parquet
    try:
        table = reader(path, smap)
        _write_table(table, smap, writer, fm)
    except (fastexcel.FastExcelError, pa.ArrowException, OSError) as exc:
        # a corrupt workbook or Parquet file: the file is unusable, the run goes on
        log.warning("cannot read %s: %s", fm.file_name, type(exc).__name__)
        fm.fail(f"{path.name}无法读取（{type(exc).__name__}），文件可能已损坏；{_REDELIVER}")


def read_delivery(source_map: SourceMap, folder: Path, inbox_root: Path, out_parquet: Path,
                  delivery_date: str) -> DeliveryManifest:
    """Read every data file of ``folder`` into ``out_parquet``; return the manifest.

    ``out_parquet`` is always written (empty, with the schema, when nothing
    was delivered) and replaced atomically.  Nothing about the delivery's
    content raises: problems are recorded in the manifest.  Raises
    ``OSError`` only when the output cannot be written.
    """
    folder = Path(folder)
    inbox_root = Path(inbox_root)
    manifest = DeliveryManifest(source=source_map.source, delivery_date=str(delivery_date),
                                location=_relative(folder, inbox_root), raw_parquet=str(out_parquet))
    with RawWriter(source_map, out_parquet, str(delivery_date)) as writer:
        if not folder.is_dir():
            manifest.status = MISSING
            manifest.problems.append(f"没有找到交付目录{manifest.location}")
            return manifest.finish(source_map.title_zh)
        entries = sorted(p for p in folder.iterdir()
                         if p.is_file() and not p.name.startswith((".", "~$")) and not p.name.endswith(".tmp"))
        data_files = [p for p in entries if not p.name.endswith(MARKER_SUFFIX)]
        if not data_files:
            manifest.status = MISSING
            manifest.problems.append(f"交付目录{manifest.location}中没有数据文件")
            return manifest.finish(source_map.title_zh)
        names = {p.name for p in data_files}
        for marker in entries:
            if marker.name.endswith(MARKER_SUFFIX) and marker.name[: -len(MARKER_SUFFIX)] not in names:
                manifest.problems.append(
                    f"完成标记{marker.name}没有对应的数据文件{marker.name[: -len(MARKER_SUFFIX)]}，数据文件可能未传完")
        for path in data_files:
            fmt, problem = classify(path)
            fm = FileManifest(file_name=_relative(path, inbox_root), format=fmt or (path.suffix.lstrip(".") or "unknown"),
                              size_bytes=path.stat().st_size)
            manifest.files.append(fm)
            if fmt is None:
                fm.sha256 = _sha256(path)
                fm.fail(problem)
                continue
            _read_file(path, fmt, source_map, writer, fm)
            if fm.complete or fm.rows_read or fm.header_row is not None:
                _check_marker(path, fm)
            log.info("read %s: %d rows (%d with read errors), complete=%s",
                     fm.file_name, fm.rows_read, fm.read_errors, fm.complete)
    return manifest.finish(source_map.title_zh)
