"""File-drop deliveries: ``<inbox>/<source>/<YYYYMMDD>/`` → raw Parquet + manifest.

Every data file of the folder (``.csv`` comma or tab, ``.xlsx`` first sheet, ``.parquet``) is read into one raw
Parquet file (docs/internals.md).  Files are read in name order.  A file is complete only when ``<file>.ok`` stands
beside it and its count equals the data rows read; the source is ``missing`` when there is no folder or no data file,
``incomplete`` when any file is incomplete or of a format that cannot be read, else ``delivered``.  OS litter and
documents beside the data are listed, not read, and do not count against the delivery (:mod:`connectors.litter` says
which and why).  Rows are never dropped: undecodable bytes and wrong field counts become rows with a ``read_error``;
only blank lines, title rows, the header (and its lines of units or field codes) and 合计 rows are not data.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import stat
from pathlib import Path

from connectors.above_header import records_above, records_above_problem, reordered_header_problem
from connectors.header_lines import unit_line
from connectors.headerless import headerless, record_headerless
from connectors.limits import (
    MAX_COLUMNS,
    NAME_MAX,
    PATH_DIGITS,
    InputLimits,
    cap,
    human_bytes,
    mask_long_numbers,
    open_regular,
    shown_name,
)
from connectors.litter import is_os_litter, near_date_folder, packed_or_partial, suffix_of, wrong_format_data
from connectors.manifest import MISSING, DeliveryManifest, FileManifest, marker_text, parse_count
from connectors.maps import SourceMap
from connectors.marker_hint import mismatch_reason, pasted_bom
from connectors.raw import RawWriter, find_header, note_footers, record_header_problems
from connectors.second_header import (
    OtherColumns,
    csv_fields,
    other_column_headers,
    other_columns_problem,
    without_code_line,
    xlsx_fields,
)
from connectors.sheets import Table, hidden_sheet_holding_data, read_parquet, read_xlsx, sheet_holding_header
from connectors.textfile import cr_only, iter_chunks, parse_chunk, prefetch, sniff

log = logging.getLogger(__name__)

MARKER_SUFFIX = ".ok"
FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
_REDELIVER = "请部门按约定格式（.csv、.xlsx 或 .parquet）重新导出后交付"


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` as written (links are not followed: none is ever read)."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(root))).as_posix()


def _shown_path(relative: str, taken: set[str] | None = None) -> str:
    """A delivered path as it is recorded (manifest, ``file_name`` of every row, reports): an ID or
    account number in a name (``bank_360102199001011234.csv``) masked; two names that mask alike
    stay apart (``…#2``)."""
    shown = mask_long_numbers(relative, PATH_DIGITS)
    if taken is not None:
        if shown != relative and shown in taken:
            shown = next(f"{shown}#{n}" for n in itertools.count(2) if f"{shown}#{n}" not in taken)
        taken.add(shown)
    return shown


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open_regular(path) as fh:
        while block := fh.read(8 << 20):
            h.update(block)
    return h.hexdigest()


def classify(path: Path) -> tuple[str | None, str]:
    """``(format, "")`` for a readable data file, else ``(None, problem in Chinese)``."""
    name = _shown_path(path.name)
    suffix = path.suffix.lower()
    with open_regular(path) as fh:
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


_MARKER_FIX = "请部门在完成标记中只写该文件的数据行数（不含表头和合计行），例如“12”，然后重新交付"


def _marker_path(path: Path) -> Path:
    """``<file>.ok`` beside ``path``; a marker whose suffix differs only in case (``.OK``) counts too."""
    marker = path.with_name(path.name + MARKER_SUFFIX)
    if marker.is_symlink() or not marker.is_file():
        for suffix in (".OK", ".Ok", ".oK"):
            other = path.with_name(path.name + suffix)
            if not other.is_symlink() and other.is_file():
                return other
    return marker


def _near_marker_hint(path: Path) -> str:
    """A marker beside `path` named after it but for letter case or its extension: say which, and what to do."""
    wanted = (path.name + MARKER_SUFFIX).casefold()
    try:
        near = sorted(p.name for p in path.parent.iterdir() if p.name != path.name + MARKER_SUFFIX
                      and p.name.casefold() in (wanted, (path.stem + MARKER_SUFFIX).casefold()))
    except OSError:
        return ""
    if not near:
        return ""
    return (f"（目录中有{_shown_path(near[0])}，与数据文件名不一致（大小写或扩展名不同）：请部门将完成标记命名为"
            f"{_shown_path(path.name + MARKER_SUFFIX)}后重新交付）")


def _check_marker(path: Path, fm: FileManifest) -> None:
    marker = _marker_path(path)
    name = _shown_path(path.name)
    if marker.is_symlink() or not marker.is_file():
        fm.fail(f"{name}缺少完成标记{_shown_path(marker.name)}，文件可能尚未传完{_near_marker_hint(path)}")
        return
    try:
        with open_regular(marker) as fh:
            text = marker_text(fh.read(130))
    except OSError:
        fm.fail(f"{name}的完成标记{_shown_path(marker.name)}无法读取")
        return
    count = parse_count(text)  # a row count, never a huge or odd number
    if count is None:
        fm.fail(f"{name}的完成标记{_shown_path(marker.name)}内容“{shown_name(text, 20)}”不是行数；{_MARKER_FIX}")
        return
    fm.marker_count = count
    if fm.marker_count != fm.rows_read:
        footer = f"（另有{fm.footer_rows}行表尾，如制表人、审核人、备注，不是数据行，不计入）" if fm.footer_rows else ""
        fm.fail(mismatch_reason(path, fm, name) or f"{name}的完成标记写明{fm.marker_count}行，实际读到{fm.rows_read}行"
                f"{footer}，文件可能不完整，请部门核对后重新交付该文件及其完成标记")


def _write_table(table: Table, smap: SourceMap, writer: RawWriter, fm: FileManifest, fields_of=None) -> None:
    name = fm.file_name.rsplit("/", 1)[-1]
    if table.header is None:
        fm.fail(f"{name}是空文件（没有表头）；没有数据时请部门交付只有表头的文件、完成标记写0，有数据时重新导出后交付")
        return
    if len(table.header) > MAX_COLUMNS:
        fm.fail(f"{name}的表头有{len(table.header)}列，超过上限{MAX_COLUMNS}列，文件无法使用；请部门按约定表头重新导出")
        return
    fm.header_row = table.header_row
    table = unit_line(table, smap, fm)  # 万元 under 余额: part of the header, no data row
    if table.above:  # records skipped as title rows: two exports pasted into one file
        fm.fail(records_above_problem(name, table.above, table.header_row or 0, table.pasted))
    if no_header := table.header_row is not None and headerless(smap, table.header):  # a data row taken for it
        match = record_headerless(fm, smap, table.header)
    else:
        match = record_header_problems(fm, smap, table.header)
    reordered: list[tuple[int, int, str]] = []
    others: list[OtherColumns] = []  # a second header naming other columns (connectors.second_header)
    for k, batch in enumerate(table.batches):
        if k == 0 and table.header_row is not None and not no_header:  # ORG_NAME, ID_NO… under the header: no row
            batch, code_line = without_code_line(batch, table.header)
            fm.header_rows += code_line
        if not others and table.header_row is not None and not no_header:
            others += other_column_headers(batch, table.header, match, smap, fields_of)
        counts = writer.write(batch, match, fm.file_name)
        reordered += counts.reordered
        fm.rows_read += counts.rows
        fm.read_errors += counts.read_errors
        fm.summary_rows += counts.summary_rows
        fm.footer_rows += counts.footer_rows
        fm.header_rows += counts.header_rows
    note_footers(fm, smap, match, writer.footer_units.pop(fm.file_name, set()))
    if others:
        fm.fail(other_columns_problem(name, others, table.header_row or 1))
    elif reordered:  # a second header in another column order: the rows below it cannot be read by the first
        fm.fail(reordered_header_problem(name, reordered, table.header, table.header_row or 1))


def _read_csv(path: Path, smap: SourceMap, writer: RawWriter, fm: FileManifest, limits: InputLimits) -> None:
    if cr_only(path):
        fm.sha256 = _sha256(path)
        fm.fail(f"{_shown_path(path.name)}的换行符是单独的CR（旧版Mac Excel导出的“CSV (Macintosh)”格式），无法按行读取；"
                "请部门另存为“CSV UTF-8”或Windows格式的.csv后重新交付")
        return
    layout = sniff(path, lambda rows: find_header(rows, smap), limits.line_bytes)
    fm.encoding = layout.encoding
    fm.delimiter = "tab" if layout.sep == "\t" else "comma"
    hasher = hashlib.sha256()
    with open_regular(path) as fh:
        if layout.header_line == 0:
            while block := fh.read(8 << 20):
                hasher.update(block)
            fm.sha256 = hasher.hexdigest()
            if layout.long_line:
                fm.fail(f"{_shown_path(path.name)}第{layout.long_line}行长度超过单行上限{human_bytes(limits.line_bytes)}，"
                        "在它之前没有找到表头，文件无法读取；请部门检查换行符和表头后重新交付")
                return
            _write_table(Table(None, None, iter(())), smap, writer, fm)
            return
        chunks = prefetch(iter_chunks(fh, layout.encoding, hasher, max_line_bytes=limits.line_bytes))
        try:
            batches = (parse_chunk(chunk, len(layout.header), layout.sep, layout.header_line, layout.width) for chunk in chunks)
            header = smap.with_title_unit(layout.title, layout.header)  # 单位：万元 above the header
            above = records_above(layout.title, 1, smap, layout.header)  # two exports pasted: a BOM inside says where the second starts
            table = Table(header, layout.header_line, batches, above, pasted_bom(path) if above else None)
            _write_table(table, smap, writer, fm, csv_fields(path, layout.encoding, layout.sep))
        finally:
            chunks.close()  # stops the decoding thread before the file closes
    fm.sha256 = hasher.hexdigest()


XLSX_UNZIPPED_MAX = 2 << 30  # a workbook's sheets are held in memory once unpacked


def _xlsx_too_big(path: Path, limits: InputLimits) -> str:
    """A problem when the workbook unpacks to more than the limit (a zip bomb), else ``""``."""
    import zipfile

    limit = min(limits.file_bytes, XLSX_UNZIPPED_MAX)
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError):
        return f"{_shown_path(path.name)}不是有效的.xlsx文件（文件已损坏或格式不对）；{_REDELIVER}"
    if unpacked > limit:
        return (f"{_shown_path(path.name)}解压后大小{human_bytes(unpacked)}，超过上限{human_bytes(limit)}，未读取；"
                "请部门拆分为多个文件或导出为.csv后交付")
    return ""


def _parquet_too_big(path: Path, limits: InputLimits) -> str:
    """A problem when the Parquet file decompresses to more than the limits allow, else ``""``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(str(path)).metadata
    except (pa.ArrowException, OSError):
        return ""  # reported as unreadable by the reader
    groups = [meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)]
    total, largest = sum(groups), max(groups, default=0)
    if meta.num_columns > MAX_COLUMNS:
        return f"{_shown_path(path.name)}有{meta.num_columns}列，超过上限{MAX_COLUMNS}列，文件无法使用；请部门按约定表头重新导出"
    if total > limits.file_bytes or largest > XLSX_UNZIPPED_MAX:
        return (f"{_shown_path(path.name)}解压后大小{human_bytes(total)}（最大的行组{human_bytes(largest)}），超过上限，未读取；"
                "请部门拆分为多个文件或减小行组后交付")
    return ""


def _read_file(path: Path, fmt: str, smap: SourceMap, writer: RawWriter, fm: FileManifest,
               limits: InputLimits) -> None:
    if fmt == "csv":
        _read_csv(path, smap, writer, fm, limits)
        return
    import fastexcel
    import pyarrow as pa

    fm.sha256 = _sha256(path)
    if fmt == "xlsx" and (problem := _xlsx_too_big(path, limits)):
        fm.fail(problem)
        return
    if fmt == "parquet" and (problem := _parquet_too_big(path, limits)):
        fm.fail(problem)
        return
    reader = read_xlsx if fmt == "xlsx" else read_parquet
    try:
        if fmt == "xlsx" and (hidden := hidden_sheet_holding_data(path, smap)):
            fm.fail(f"{_shown_path(path.name)}中排在前面的隐藏工作表“{shown_name(hidden)}”也有约定的表头和数据，"
                    "无法确定哪个工作表是本次交付的数据，文件未采用；请部门删除隐藏的工作表或取消隐藏后重新交付")
            return
        table = reader(path, smap)
        _write_table(table, smap, writer, fm, xlsx_fields(path) if fmt == "xlsx" else None)
        if fmt == "xlsx" and not fm.complete and fm.rows_read == 0 and (other := sheet_holding_header(path, smap)):
            fm.problems.append(f"{_shown_path(path.name)}的第一个工作表中没有约定的表头，数据似乎在工作表“{shown_name(other)}”中；"
                               "按约定只读第一个工作表，请部门把数据放在第一个工作表后重新交付")
    except (fastexcel.FastExcelError, pa.ArrowException, OSError) as exc:
        # a corrupt workbook or Parquet file: the file is unusable, the run goes on
        log.warning("cannot read %s: %s", fm.file_name, type(exc).__name__)
        fm.fail(f"{_shown_path(path.name)}无法读取（{type(exc).__name__}），文件可能已损坏；{_REDELIVER}")


# ------------------------------------------------------------------ the folder, read as untrusted


def _entry_problem(name: str, st: os.stat_result) -> str:
    """Why a folder entry is not read and makes the delivery incomplete (in Chinese), or ``""`` for a plain
    file, whose kind :func:`_entry_kind` decides (connectors.litter: OS litter, documents, data)."""
    shown = cap(name, NAME_MAX)
    if not name.replace("\u3000", " ").replace("\xa0", " ").isprintable():  # an IME's full-width space is a space
        return (f"交付目录中有文件名含控制字符或无法识别字符的条目“{shown}”，未读取；"
                "请部门改用正常的文件名重新交付")
    if len(name.encode("utf-8", "surrogateescape")) > 200:
        return f"文件名“{shown}”过长（超过200字节），未读取；请部门改用较短的文件名重新交付"
    if stat.S_ISLNK(st.st_mode):
        return f"{shown}是符号链接，出于安全不读取（链接可能指向交付目录以外的文件）；请部门交付文件本身"
    if stat.S_ISDIR(st.st_mode):
        return f"交付目录中有子目录{shown}，其中的文件未读取；数据文件请直接放在交付目录下"
    if not stat.S_ISREG(st.st_mode):
        return f"{shown}不是普通文件（管道、套接字或设备），未读取；请部门交付普通文件"
    return ""


def _file_problem(name: str, st: os.stat_result) -> str:
    """Why a plain file that is no OS litter makes the delivery incomplete, or ``""``."""
    shown = cap(name, NAME_MAX)
    if name.startswith("."):
        return (f"{shown}是隐藏文件，未读取；如是传输中的临时文件请待传完后重跑，"
                "如不是数据文件请从交付目录中删除后重跑")
    if name.lower().endswith(".tmp"):
        return f"{shown}是临时文件（.tmp），文件可能尚未传完，未读取；请待传完后重跑"
    if not name.lower().endswith(MARKER_SUFFIX) and (problem := packed_or_partial(name, shown)):
        return problem
    if st.st_nlink > 1:
        return (f"{shown}有多个硬链接，可能与交付目录以外的文件是同一文件，出于安全不读取；"
                "请部门交付文件的独立副本")
    return ""


def _entry_kind(path: Path, st: os.stat_result, marked: set[str], smap: SourceMap) -> tuple[str, str]:
    """``(kind, problem)`` of a folder entry: kind ``problem`` (the delivery is incomplete), ``ignored``
    (OS litter or a document: connectors.litter says why each is what it is), ``marker`` or ``data``."""
    name = path.name
    if name == "Icon\r" and stat.S_ISREG(st.st_mode):  # macOS's custom folder icon: the one litter with a CR
        return "ignored", ""
    if problem := _entry_problem(name, st):
        return "problem", problem
    if is_os_litter(path, name, st.st_size):
        return "ignored", ""
    if problem := _file_problem(name, st):
        return "problem", problem
    if name.lower().endswith(MARKER_SUFFIX):
        return "marker", ""
    if suffix_of(name) in FORMATS or name in marked:
        return "data", ""  # a data format (bank.csv, Bank.CSV, bank.csv with a stray blank), or marked as data
    if problem := wrong_format_data(path, cap(_shown_path(name), NAME_MAX), smap):
        return "problem", problem
    return "ignored", ""


def _folder_problem(folder: Path, inbox_root: Path, location: str) -> str:
    """A problem with the delivery folder itself: a link anywhere below the inbox, or outside it."""
    root = inbox_root.resolve()
    try:
        rel = folder.absolute().relative_to(inbox_root.absolute())
    except ValueError:
        return f"交付目录{cap(location, NAME_MAX)}不在收件目录之内，出于安全不读取"
    here = inbox_root.absolute()
    for part in rel.parts:
        here = here / part
        if part in ("..", ".") or here.is_symlink():
            return (f"交付目录{cap(location, NAME_MAX)}（或其上级的{cap(part, NAME_MAX)}）是符号链接，出于安全不读取；"
                    "请把交付文件直接放在收件目录下")
    try:
        folder.resolve().relative_to(root)
    except ValueError:
        return f"交付目录{cap(location, NAME_MAX)}实际位于收件目录之外，出于安全不读取"
    return ""


def _identity(st: os.stat_result) -> tuple:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _scan(folder: Path, manifest: DeliveryManifest,
          smap: SourceMap) -> tuple[list[tuple[Path, os.stat_result]], list[Path]]:
    """The folder's data files (with their stat) and markers; OS litter and documents are listed in
    ``manifest.ignored``; every other entry is a problem of the delivery."""
    data_files, markers = [], []
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    marked = {e.name[: -len(MARKER_SUFFIX)] for e in entries if e.name.lower().endswith(MARKER_SUFFIX)}
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
            kind, problem = _entry_kind(folder / entry.name, st, marked, smap)
        except OSError:
            manifest.problems.append(f"{cap(entry.name, NAME_MAX)}无法读取（文件在读取时消失或无权限）")
            continue
        if kind == "problem":
            manifest.problems.append(problem)
            log.warning("delivery %s: not read: %s", manifest.location, problem)
        elif kind == "ignored":
            manifest.ignored.append(cap(_shown_path(entry.name), NAME_MAX))
            log.info("delivery %s: not data, not read: %s", manifest.location, manifest.ignored[-1])
        elif kind == "marker":
            markers.append(folder / entry.name)
        else:
            data_files.append((folder / entry.name, st))
    return data_files, markers


def delivery_ready(source_map: SourceMap, folder: Path) -> bool:
    """True when ``folder`` holds a delivery :func:`read_delivery` can take whole: at least one data file,
    each with its ``.ok`` marker, and nothing it would refuse (a hidden or temporary file, a partial
    download, a link, a subfolder…: a transfer may still be writing it).  OS litter and documents do not
    count, as they do not when it is read (``Thumbs.db`` beside the data waited for a ``Thumbs.db.ok``
    that never comes).  What a delivery sensor polls; the folder's data is not read."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return False
    manifest = DeliveryManifest(source=source_map.source, delivery_date=folder.name,
                                location=_shown_path(f"{folder.parent.name}/{folder.name}"))
    try:
        data_files, _ = _scan(folder, manifest, source_map)
        return bool(data_files) and not manifest.problems and all(
            not (m := _marker_path(path)).is_symlink() and m.is_file() for path, _ in data_files)
    except OSError:  # the folder changed while it was looked at: not ready yet
        return False


def read_delivery(source_map: SourceMap, folder: Path, inbox_root: Path, out_parquet: Path,
                  delivery_date: str, limits: InputLimits | None = None) -> DeliveryManifest:
    """Read every data file of ``folder`` into ``out_parquet``; return the manifest.

    ``out_parquet`` is always written (empty, with the schema, when nothing
    was delivered) and replaced atomically.  Nothing about the delivery's
    content raises: problems are recorded in the manifest.  The folder is
    read as untrusted: links, hidden, temporary and special files are never
    read and each makes the delivery incomplete; OS litter (``Thumbs.db``,
    ``~$x.xlsx``…) and documents without a marker (``readme.txt``) are not
    read and only listed (:mod:`connectors.litter`); a file over
    ``limits.file_bytes`` is not read, a line or field over its limit is a
    row with a read error (``limits`` default: :meth:`InputLimits.from_env`).
    Raises ``OSError`` only when the output cannot be written.
    """
    folder = Path(folder)
    inbox_root = Path(inbox_root)
    limits = limits or InputLimits.from_env()
    manifest = DeliveryManifest(source=source_map.source, delivery_date=str(delivery_date),
                                location=_shown_path(_relative(folder, inbox_root)), raw_parquet=str(out_parquet))
    with RawWriter(source_map, out_parquet, str(delivery_date), field_bytes=limits.field_bytes) as writer:
        problem = _folder_problem(folder, inbox_root, manifest.location)
        if problem:
            manifest.status = MISSING
            manifest.problems.append(problem)
            return manifest.finish(source_map.title_zh)
        if not folder.is_dir():
            manifest.status = MISSING
            manifest.problems.append(f"没有找到交付目录{manifest.location}{near_date_folder(folder)}")
            return manifest.finish(source_map.title_zh)
        data_files, markers = _scan(folder, manifest, source_map)
        if not data_files:
            if not manifest.problems:
                manifest.status = MISSING
                manifest.problems.append(f"交付目录{manifest.location}中没有数据文件")
            return manifest.finish(source_map.title_zh)
        names = {p.name for p, _ in data_files}
        for marker in markers:
            if marker.name[: -len(MARKER_SUFFIX)] not in names:
                manifest.problems.append(
                    f"完成标记{cap(marker.name, NAME_MAX)}没有对应的数据文件，数据文件可能未传完")
        shown_names: set[str] = set()
        for path, st in data_files:
            fm = FileManifest(file_name=_shown_path(_relative(path, inbox_root), shown_names), format=(path.suffix.lstrip(".") or "unknown")[:20],
                              size_bytes=st.st_size)
            manifest.files.append(fm)
            if st.st_size > limits.file_bytes:
                fm.fail(f"{_shown_path(path.name)}大小{human_bytes(st.st_size)}，超过单个文件上限{human_bytes(limits.file_bytes)}，"
                        "未读取；请部门拆分为多个文件后交付")
                continue
            try:
                fmt, problem = classify(path)
                fm.format = fmt or fm.format
                if fmt is None:
                    fm.sha256 = _sha256(path)
                    fm.fail(problem)
                    continue
                _read_file(path, fmt, source_map, writer, fm, limits)
                if fm.complete or fm.rows_read or fm.header_row is not None:
                    _check_marker(path, fm)
                if _identity(os.stat(path, follow_symlinks=False)) != _identity(st):
                    fm.fail(f"{_shown_path(path.name)}在读取过程中被替换或修改，可能仍在传输；请待传完后重跑")
            except OSError as exc:
                log.warning("cannot read %s: %s", fm.file_name, type(exc).__name__)
                fm.fail(f"{_shown_path(path.name)}无法读取（文件在读取时被替换、消失或无权限）；请检查交付目录后重跑")
            log.info("read %s: %d rows (%d with read errors, %d footer rows not data), complete=%s",
                     fm.file_name, fm.rows_read, fm.read_errors, fm.footer_rows, fm.complete)
    return manifest.finish(source_map.title_zh)
