"""What a delivery folder holds besides data: files nobody meant as data, and files that only look so.

The contract (docs/sources.md, "Delivery"): a delivery folder holds data files (``.csv``, ``.xlsx``,
``.parquet``), each complete when its ``<file>.ok`` marker stands beside it.  Folders as departments
really leave them hold more.  Each entry that is no data or marker file is one of:

* **OS litter** — ``Thumbs.db``, ``ehthumbs.db``, ``desktop.ini``, ``.DS_Store``, ``.localized``,
  macOS's ``Icon\r``, KDE's ``.directory``, Office owner files ``~$bank.xlsx`` and LibreOffice lock
  files ``.~lock.bank.xlsx#`` (at most 1 KiB: an owner file holds a user name; a bigger ``~$`` file is read as
  what its suffix says) and macOS AppleDouble twins ``._bank.csv`` (checked by their magic number: a
  file named ``._x`` holding anything else stays a hidden file).  The system writes them when a
  person opens the folder or a workbook; they never hold rows.  Not read, listed as ignored: they
  cannot hide a missing row, since every data file still needs its own marker and count.  An owner
  file means the workbook was open when the folder was copied: the workbook's own marker and count
  still decide whether it is complete.
* **A document** — a file whose suffix is no data format and that has no ``.ok`` marker of its own
  (``readme.txt``, ``说明.docx``, a ``.pdf``, ``bank.csv.md5``): the department's notes beside the data.
  A data suffix written with a stray blank or in full width (``bank.csv ``, ``bank．ＣＳＶ``) is data.  Not read,
  listed as ignored.  A marker is the department saying "this is data": a file *with* one is read and
  an unsupported format is a problem (``bank.xls`` + ``bank.xls.ok``).
* **Data in the wrong format** — a ``.txt``/``.tsv``/``.dat``/``.prn`` or suffix-less text file whose
  first lines hold this source's header names (the first 64 KiB looked at as UTF-16 with a BOM —
  Excel's "Unicode text" —, UTF-8 or GB18030), or a workbook or HTML table of another format
  (``.xls``, ``.et``, ``.htm``, ``.xlsm``, ``.xlsb``, ``.ods``, an ``.xlsx`` misnamed ``.xls``; a
  ``.dbf``, ``.json`` or ``.xml`` export) whose
  strings name two of its columns, an essential one (the ID column) among them: rows the department
  meant to deliver.  Ignoring it would read the night as delivered without those rows — a missing
  record never counts as "no income/assets" — so it makes the delivery incomplete and the message
  says to deliver it as ``.csv``.
* **A partial, temporary or packed copy** — ``bank.csv.part``, ``bank.xlsx.filepart`` (WinSCP),
  ``.crdownload``, ``bank.csv.gz``, an archive (``.zip``, ``.rar``, ``.7z``…): rows may be in it or on
  their way.  A problem, as ``.tmp`` is.  A checksum beside a data file (``bank.csv.md5``) is a document.
* Everything else in doubt stays a problem of the delivery, as before: other hidden files
  (``.bank.csv.part``: a transfer in progress), ``.tmp`` files, links, special files, subfolders,
  names with control characters (decided in :func:`connectors.filedrop._entry_problem`).

A missing source must never make a household look eligible: when an entry may hold rows, it is a
problem; only entries that cannot hold this source's rows are ignored.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from connectors.limits import open_regular, shown_name
from connectors.maps import SourceMap

#: names the operating system writes into any folder a person opens (compared casefolded)
OS_LITTER_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini", ".ds_store",
                             ".localized", ".directory", "icon\r"})
#: the first bytes of a macOS AppleDouble file (``._name``: the resource fork of ``name``)
APPLEDOUBLE_MAGIC = b"\x00\x05\x16\x07"
#: suffixes of plain text a department may export its table to (or a name with no suffix)
TEXT_SUFFIXES = frozenset({"", ".txt", ".tsv", ".tab", ".dat", ".prn", ".text"})
#: an old Excel workbook, a WPS one, an HTML table (what "导出Excel" of many systems writes) or another
#: workbook format (zip containers: their strings are looked for in the parts that hold them)
TABLE_SUFFIXES = frozenset({".xls", ".et", ".htm", ".html", ".xlsm", ".xlsb", ".xltx", ".ods", ".dbf", ".json", ".xml"})
_STRING_PARTS = ("xl/sharedStrings.xml", "xl/sharedStrings.bin", "content.xml")
#: a transfer in progress (browsers, WinSCP, rsync's --partial-dir names) or a packed file
PARTIAL_SUFFIXES = frozenset({".part", ".filepart", ".partial", ".crdownload", ".download", ".!ut"})
ARCHIVE_SUFFIXES = frozenset({".zip", ".rar", ".7z", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".z", ".cab", ".arj"})
CHECKSUM_SUFFIXES = frozenset({".md5", ".sha1", ".sha256", ".sha512", ".sm3", ".asc", ".sig", ".sign"})
DATA_SUFFIXES = frozenset({".csv", ".xlsx", ".parquet"})
SNIFF_BYTES = 64 << 10
TABLE_SNIFF_BYTES = 1 << 20  # an old workbook's strings follow its fonts and styles
OWNER_FILE_MAX = 1024  # an Office owner file (~$x.xlsx) holds a user name: 162 or 165 bytes
_LINES_LOOKED_AT = 5  # a title row or two may stand above the header
_FIELD_SEP = re.compile(r"[,\t|;，；]")


def suffix_of(name: str) -> str:
    """A name's suffix as meant: lower case, full-width ``．ＣＳＶ`` and stray blanks (``bank.csv ``) folded."""
    return Path(unicodedata.normalize("NFKC", name).strip()).suffix.lower().strip()


def is_os_litter(path: Path, name: str, size: int) -> bool:
    """True for a file the operating system or Office left in the folder (module docstring)."""
    if name.casefold() in OS_LITTER_NAMES:
        return True
    if name.startswith("~$"):  # Office's owner file of an open document (~$WRL1234.tmp is a temporary file)
        return size <= OWNER_FILE_MAX and not name.lower().endswith(".tmp")
    if name.startswith(".~lock.") and name.endswith("#"):  # LibreOffice's and WPS's lock file: the same
        return size <= OWNER_FILE_MAX
    if name.startswith("._") and len(name) > 2:
        with open_regular(path) as fh:
            return fh.read(4) == APPLEDOUBLE_MAGIC
    return False


def packed_or_partial(name: str, shown: str) -> str:
    """A problem (in Chinese) when ``name`` is a partial, temporary or packed copy of data, else ``""``."""
    suffixes = [s.lower().strip() for s in Path(unicodedata.normalize("NFKC", name).strip()).suffixes]
    last = suffixes[-1] if suffixes else ""
    if last in PARTIAL_SUFFIXES:
        return f"{shown}是未传完或临时的文件（{last}），未读取；请待传完后重跑，如不是数据文件请从交付目录中删除后重跑"
    if last in ARCHIVE_SUFFIXES:
        return (f"{shown}是压缩文件（{last}），其中的文件未读取；请部门解压后将数据文件连同完成标记直接交付，"
                "如不是数据请从交付目录中删除后重跑")
    if last not in CHECKSUM_SUFFIXES and any(s in DATA_SUFFIXES for s in suffixes[:-1]):
        return (f"{shown}像是数据文件的副本或未传完的文件（扩展名{last}），未读取；"
                "请部门以.csv、.xlsx或.parquet交付并附完成标记，如不是数据文件请从交付目录中删除后重跑")
    return ""


def _decode(head: bytes) -> str | None:
    """The head of a text file: UTF-16 with a BOM (Excel's "Unicode text"), UTF-8 (BOM or not; a character
    cut at the end is dropped), else GB18030; None when it holds NUL bytes (no text)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head[: len(head) // 2 * 2].decode("utf-16", "replace")
    if b"\x00" in head[:4096]:
        return None
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return head.decode("gb18030", "replace")


def _needed(smap: SourceMap) -> int:
    """Header names a line must hold to be taken as this source's header."""
    return min(2, len(smap.columns))


def _header_line(text: str, smap: SourceMap) -> bool:
    """True when one of the first non-empty lines of ``text`` is a header of ``smap``."""
    seen = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        seen += 1
        if seen > _LINES_LOOKED_AT:
            break
        fields = [f.strip().strip("\"'") for f in _FIELD_SEP.split(line)]
        if len(fields) < 2:
            fields = line.split()  # space-aligned text (Excel's "Formatted Text (Space delimited)")
        if smap.match_headers(fields).score >= _needed(smap):
            return True
    return False


def _names_table(head: bytes, smap: SourceMap) -> bool:
    """True when the bytes of a workbook or HTML table name at least two of ``smap``'s columns (an
    essential one among them): as UTF-8, GB18030 or UTF-16 (how old Excel stores its strings)."""
    texts = [head.decode("utf-8", "ignore"), head.decode("gb18030", "ignore"),
             head.decode("utf-16-le", "ignore"), head[1:].decode("utf-16-le", "ignore")]
    named = [spec for spec in smap.columns
             if any(h and h in t for h in (spec.header, *spec.aliases) for t in texts)]
    return len(named) >= _needed(smap) and any(spec.essential for spec in named)


def _table_head(path: Path) -> bytes:
    """The first bytes of a workbook's strings: the file's own (old Excel, HTML), or of the zip part
    holding them (``.xlsx`` misnamed ``.xls``, ``.xlsm``, ``.xlsb``, ``.ods``)."""
    import zipfile

    with open_regular(path) as fh:
        head = fh.read(TABLE_SNIFF_BYTES)
    if not head.startswith(b"PK"):
        return head
    parts = b""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            for part in (p for p in _STRING_PARTS if p in names):
                with zf.open(part) as fh:
                    parts += fh.read(TABLE_SNIFF_BYTES)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        return head
    return parts


def wrong_format_data(path: Path, shown: str, smap: SourceMap) -> str:
    """A problem (in Chinese) when a file without a marker holds this source's rows in a format that is
    not delivered (module docstring), else ``""``: the file is a document and ignored.  ``shown`` is
    its name as messages show it."""
    suffix = suffix_of(path.name)
    if suffix not in TEXT_SUFFIXES and suffix not in TABLE_SUFFIXES:
        return ""
    if suffix in TEXT_SUFFIXES:
        with open_regular(path) as fh:
            text = _decode(fh.read(SNIFF_BYTES))
        if text is not None and _header_line(text, smap):
            return (f"{shown}的前几行是{smap.title_zh}的表头，像是数据文件，但格式{suffix or '（无扩展名）'}不是约定的交付格式，"
                    "且没有完成标记，未读取；请部门另存为.csv（或.xlsx）并附完成标记后重新交付；如不是数据请从交付目录中删除后重跑")
        return ""
    if _names_table(_table_head(path), smap):  # a table suffix (the first test)
        return (f"{shown}是含{smap.title_zh}表头的表格文件（{suffix}），像是数据文件，但格式不受支持，"
                "且没有完成标记，未读取；请部门在Excel中另存为.xlsx或导出.csv并附完成标记后重新交付；"
                "如不是数据请从交付目录中删除后重跑")
    return ""


def near_date_folder(folder: Path) -> str:
    """When ``<source>/<date>`` is missing but a folder beside it names the same date in another way
    (``２０２６１１２８`` in full-width digits, ``2026-11-28``, ``20261128 `` with a blank): a note saying which, and
    what to do (``""`` when there is none).  The run does not take it for the delivery: a folder that only looks like
    the date is no delivery of it, and without the note the operator sees an "identical" folder and a source missing."""
    try:
        near = sorted(p.name for p in folder.parent.iterdir() if p.is_dir() and p.name != folder.name
                      and "".join(c for c in unicodedata.normalize("NFKC", p.name) if c in "0123456789") == folder.name)
    except OSError:
        return ""
    if not near:
        return ""
    return (f"（{folder.parent.name}下有目录“{shown_name(near[0], 40)}”，名称不是8位半角数字{folder.name}（全角数字、分隔符或空格），"
            f"不作为该日的交付；请部门将目录改名为{folder.name}后重新交付）")
